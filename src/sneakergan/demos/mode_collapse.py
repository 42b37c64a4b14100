"""Mode collapse on a ring of 8 Gaussians: a standard GAN vs an unrolled GAN (Metz et al. 2016).

The data is the paper's toy: 8 Gaussians of standard deviation 0.02 on a circle of radius 2. G and D
are small MLPs (two hidden ReLU layers: G 128 wide from a 64-d z, D 64 wide). Both models use the
non-saturating BCE loss and the same Adam settings, G 10x faster than D as in the paper's reference
notebook (there 1e-3 / 1e-4, batch 512, 25,000 steps; here 3e-3 / 3e-4, batch 256, 1,500 steps so
that the demo runs in seconds). G's learning rate falls linearly to 0 over the second half, so its
samples settle where they are heading. The two differ only in G's loss:

- standard: G climbs the current D's output on its samples;
- unrolled: G climbs the output of D *after k more Adam steps of D*, with G's gradient flowing
  through those k steps (torch.func.functional_call on D's parameters, each step's gradient taken
  with create_graph=True). G then pays for samples that D would learn to reject next, which is what
  stops it from hopping from mode to mode.

The unrolled steps are a hand-written Adam (`adam_step`) that continues D's own moment estimates;
D's real update uses the same function, so the surrogate is exactly the D that k more real steps on
this fake batch would give. A mode is covered when at least `MIN_SHARE` of the generated samples lie
within 3 sigma of its centre; "high quality" samples lie within 3 sigma of any centre (the paper's
measures).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call
from torch.nn.functional import binary_cross_entropy_with_logits as bce

from sneakergan.demos.threads import one_thread

MODES, RADIUS, SIGMA = 8, 2.0, 0.02
MIN_SHARE = 0.01  # a mode holding under 1% of the samples is not covered (a few strays are not coverage)
EVAL_SAMPLES = 2000


@dataclass(frozen=True)
class RingSettings:
    steps: int = 1500
    unroll: int = 5  # the paper's notebook unrolls 5 steps; its figures also show 10
    batch: int = 256
    z_dim: int = 64
    g_width: int = 128
    d_width: int = 64  # the paper's 128 about doubles the unrolled model's time
    lr_g: float = 3e-3
    lr_d: float = 3e-4
    beta1: float = 0.5
    beta2: float = 0.999
    decay_from: float = 0.5  # G's learning rate falls linearly to 0 from this share of the steps on
    seed: int = 0
    snapshots: int = 6  # scatter plots per model, evenly spaced, the last at the end


@dataclass(frozen=True)
class Coverage:
    covered: int
    high_quality: float  # share of samples within 3 sigma of some centre
    per_mode: tuple[int, ...]  # samples within 3 sigma of each centre


@dataclass(frozen=True)
class RingRun:
    name: str
    snapshot_steps: tuple[int, ...]
    snapshots: tuple[np.ndarray, ...]  # [n, 2] samples at each snapshot step
    coverage: tuple[Coverage, ...]  # at each snapshot step
    seconds: float


def ring_centres() -> Tensor:
    angles = torch.arange(MODES, dtype=torch.float32) * (2 * math.pi / MODES)
    return RADIUS * torch.stack([angles.cos(), angles.sin()], dim=1)


def sample_ring(count: int, generator: torch.Generator) -> Tensor:
    mode = torch.randint(MODES, (count,), generator=generator)
    return ring_centres()[mode] + SIGMA * torch.randn(count, 2, generator=generator)


def measure_coverage(samples: np.ndarray) -> Coverage:
    distances = np.linalg.norm(samples[:, None, :] - ring_centres().numpy()[None], axis=2)
    near = distances < 3 * SIGMA
    per_mode = near.sum(axis=0)
    covered = int((per_mode >= MIN_SHARE * len(samples)).sum())
    return Coverage(covered, float(near.any(axis=1).mean()), tuple(int(n) for n in per_mode))


def make_mlp(inputs: int, width: int, outputs: int, generator: torch.Generator) -> nn.Sequential:
    """Two hidden ReLU layers, initialised like nn.Linear's default but from `generator` (no global RNG)."""
    net = nn.Sequential(nn.Linear(inputs, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                        nn.Linear(width, outputs))
    for layer in net:
        if isinstance(layer, nn.Linear):
            bound = 1 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.weight, -bound, bound, generator=generator)
            nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return net


def parameter_views(module: nn.Module, flat: Tensor) -> dict[str, Tensor]:
    """`module`'s parameters as views into one flat vector: functional_call runs the module on them,
    and an optimizer step on the vector is a handful of tensor ops instead of a handful per layer
    (on these tiny nets the per-op overhead, not the arithmetic, is the cost)."""
    views, offset = {}, 0
    for name, parameter in module.named_parameters():
        views[name] = flat[offset:offset + parameter.numel()].view_as(parameter)
        offset += parameter.numel()
    return views


def adam_step(params: Tensor, grad: Tensor, state: dict, lr: float, betas: tuple[float, float]
              ) -> tuple[Tensor, dict]:
    """One Adam step as a pure function, differentiable through when `grad` carries a graph. The
    denominator is sqrt(v_hat + eps^2) rather than sqrt(v_hat) + eps: the same size, but its
    derivative stays finite where a gradient is exactly zero (a dead ReLU unit)."""
    beta1, beta2 = betas
    step = state["step"] + 1
    m = beta1 * state["m"] + (1 - beta1) * grad
    v = beta2 * state["v"] + (1 - beta2) * grad * grad
    scale = lr * math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step)
    return params - scale * m / torch.sqrt(v + 1e-16), {"step": step, "m": m, "v": v}


def d_loss(d: nn.Module, params: Tensor, real: Tensor, fake: Tensor) -> Tensor:
    logits = functional_call(d, parameter_views(d, params), (torch.cat([real, fake]),))
    real_logits, fake_logits = logits.split(len(real))
    return bce(real_logits, torch.ones_like(real_logits)) + bce(fake_logits, torch.zeros_like(fake_logits))


def lr_factor(step: int, settings: RingSettings) -> float:
    """G's learning rate factor: 1 until `decay_from` of the run, then linearly down to 0 at its end, so
    the samples settle on the modes they found instead of circling them at full step size. D keeps its
    rate (decaying it too shrinks the unrolled look-ahead just when G is settling)."""
    start = settings.decay_from * settings.steps
    return min(1.0, (settings.steps - step + 1) / max(settings.steps - start, 1))


def unrolled_d(d: nn.Module, params: Tensor, state: dict, fake: Tensor, lr: float, settings: RingSettings,
               data: torch.Generator) -> Tensor:
    """D's parameters after `settings.unroll` Adam steps against `fake`, differentiable w.r.t. `fake`."""
    params = params.detach().requires_grad_()
    for _ in range(settings.unroll):
        loss = d_loss(d, params, sample_ring(settings.batch, data), fake)
        (grad,) = torch.autograd.grad(loss, params, create_graph=True)
        params, state = adam_step(params, grad, state, lr, (settings.beta1, settings.beta2))
    return params


def train_ring_gan(settings: RingSettings, unrolled: bool) -> RingRun:
    """Train one model; snapshots of its samples (fixed noise) along the way."""
    with one_thread():
        return _train(settings, unrolled)


def _train(settings: RingSettings, unrolled: bool) -> RingRun:
    started = time.perf_counter()
    init = torch.Generator().manual_seed(settings.seed)
    g = make_mlp(settings.z_dim, settings.g_width, 2, init)
    d = make_mlp(2, settings.d_width, 1, init)
    data = torch.Generator().manual_seed(settings.seed + 1)
    fixed_z = torch.randn(EVAL_SAMPLES, settings.z_dim, generator=torch.Generator().manual_seed(settings.seed + 2))
    g_optimizer = torch.optim.Adam(g.parameters(), lr=settings.lr_g, betas=(settings.beta1, settings.beta2))
    d_params = torch.cat([p.detach().flatten() for p in d.parameters()])
    d_state = {"step": 0, "m": torch.zeros_like(d_params), "v": torch.zeros_like(d_params)}
    betas = (settings.beta1, settings.beta2)
    marks = {round(settings.steps * (i + 1) / settings.snapshots) for i in range(settings.snapshots)}
    steps, snapshots, coverage = [], [], []
    for step in range(1, settings.steps + 1):
        for group in g_optimizer.param_groups:
            group["lr"] = settings.lr_g * lr_factor(step, settings)
        # D: one Adam step on fresh real data and G's current samples.
        with torch.no_grad():
            fake = g(torch.randn(settings.batch, settings.z_dim, generator=data))
        params = d_params.requires_grad_()
        (grad,) = torch.autograd.grad(d_loss(d, params, sample_ring(settings.batch, data), fake), params)
        with torch.no_grad():
            d_params, d_state = adam_step(d_params, grad, d_state, settings.lr_d, betas)
        # G: the non-saturating loss against D now (standard) or D after `unroll` more steps.
        fake = g(torch.randn(settings.batch, settings.z_dim, generator=data))
        judge = unrolled_d(d, d_params, d_state, fake, settings.lr_d, settings, data) if unrolled else d_params
        logits = functional_call(d, parameter_views(d, judge), (fake,))
        g_optimizer.zero_grad(set_to_none=True)
        torch.autograd.backward(bce(logits, torch.ones_like(logits)), inputs=list(g.parameters()))
        g_optimizer.step()
        if step in marks:
            with torch.no_grad():
                samples = g(fixed_z).numpy()
            steps.append(step)
            snapshots.append(samples)
            coverage.append(measure_coverage(samples))
    name = f"unrolled (k={settings.unroll})" if unrolled else "standard"
    return RingRun(name, tuple(steps), tuple(snapshots), tuple(coverage), time.perf_counter() - started)


def describe(runs: list[RingRun]) -> list[str]:
    """The printed finding: modes covered and the high-quality share at the end, and along the way."""
    lines = []
    for run in runs:
        final = run.coverage[-1]
        history = ", ".join(f"{step}: {c.covered}" for step, c in zip(run.snapshot_steps, run.coverage))
        lines.append(f"{run.name:16s} modes covered {final.covered}/{MODES}, high-quality samples "
                     f"{final.high_quality:.1%}  (modes by step: {history}; {run.seconds:.0f} s)")
    lines.append(f"covered: >= {MIN_SHARE:.0%} of {EVAL_SAMPLES} samples within 3 sigma ({3 * SIGMA:g}) of the "
                 f"mode's centre; high quality: within 3 sigma of any centre")
    return lines


def plot_mode_collapse(runs: list[RingRun], path, shown: int = 1000) -> None:
    """One row per model, one scatter per snapshot: `shown` samples (fixed noise) over the 8 centres."""
    from sneakergan.viz.plots import _save, plt

    columns = len(runs[0].snapshots)
    figure, axes = plt.subplots(len(runs), columns, figsize=(2.4 * columns, 2.5 * len(runs)), squeeze=False)
    centres = ring_centres().numpy()
    for row, run in zip(axes, runs):
        for axis, step, samples, coverage in zip(row, run.snapshot_steps, run.snapshots, run.coverage):
            axis.scatter(samples[:shown, 0], samples[:shown, 1], s=2, alpha=0.5, color="tab:blue", linewidths=0)
            axis.scatter(centres[:, 0], centres[:, 1], s=14, color="tab:red", marker="x", linewidths=1)
            axis.set(xlim=(-3, 3), ylim=(-3, 3), xticks=[], yticks=[], aspect="equal")
            axis.set_title(f"step {step}: {coverage.covered}/{MODES} modes", fontsize=9)
        row[0].set_ylabel(run.name)
    figure.suptitle("8 Gaussians on a ring (sigma 0.02): generated samples (blue) and the modes (red)")
    figure.tight_layout()
    _save(figure, path)
