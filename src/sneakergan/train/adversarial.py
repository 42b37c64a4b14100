"""What every adversarial training model shares: G, D, their Adam optimisers, D's update, state.

The task-specific models (gan_model.UnconditionalGAN, sr_model.SuperResolutionGAN) add their
generator update and `train_step(batch, noise, epoch)`; the trainer only ever calls those.

Under torchrun (train/distributed.py) `g_train` and `d_train` are G and D wrapped in
DistributedDataParallel, batch norm is synchronised across ranks, and the forward passes whose
gradients update a player go through its wrapper; `generator` and `discriminator` stay the plain
modules (checkpoints, EMA, sampling). In one process the wrappers are the modules themselves.

Never train on NaNs: every update checks its loss and gradients first and is skipped when one is
not finite; `train_step` reports that as "skipped" and the trainer counts, rolls back or stops.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

import torch

from sneakergan.config import TrainConfig
from sneakergan.inference.device import needs_loss_scaling
from sneakergan.losses import get_loss
from sneakergan.train.distributed import SINGLE_PROCESS, Distributed

Labels = tuple[torch.Tensor, torch.Tensor] | None  # (real, fake) class labels of a class-conditional step


@contextlib.contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[torch.nn.Module]:
    """Eval mode (BN running statistics) for a moment, then the previous mode again."""
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


class AdversarialModel:
    def __init__(self, cfg: TrainConfig, device: torch.device, generator: torch.nn.Module,
                 discriminator: torch.nn.Module, dist: Distributed = SINGLE_PROCESS):
        self.cfg = cfg
        self.device = device
        self.dist = dist
        self.loss = get_loss(cfg.loss)
        self.generator = dist.sync_batch_norm(generator.to(device))
        penalised = cfg.r1_gamma > 0 or cfg.gp_weight > 0  # D's input gradient is differentiated again
        self.discriminator = dist.sync_batch_norm(discriminator.to(device), twice_differentiable=penalised)
        self._g_ddp, self._d_ddp = dist.wrap(self.generator), dist.wrap(self.discriminator)
        betas = (cfg.beta1, cfg.beta2)
        # fused: one kernel per step instead of ~10 elementwise passes per tensor; the profile of
        # the MLP preset spent about a third of its step in the unfused update.
        self.opt_g = torch.optim.Adam(self.generator.parameters(), lr=cfg.lr_g, betas=betas, fused=True)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=cfg.lr_d, betas=betas, fused=True)
        # fp16 only: one loss scaler per optimiser, since G's and D's updates alternate (each loss
        # is scaled, unscaled and stepped before the other's forward pass).
        self.scalers = ({self.opt_g: torch.amp.GradScaler(device.type), self.opt_d: torch.amp.GradScaler(device.type)}
                        if needs_loss_scaling(cfg.precision) else {})

    @property
    def g_train(self) -> torch.nn.Module:
        """G for the forward pass of its update: in DDP under torchrun, else G itself."""
        return self.generator if self._g_ddp is None else self._g_ddp

    @property
    def d_train(self) -> torch.nn.Module:
        """D for the forward passes of its update: in DDP under torchrun, else D itself."""
        return self.discriminator if self._d_ddp is None else self._d_ddp

    def d_step(self, real: torch.Tensor, fake: torch.Tensor, labels: Labels = None) -> dict[str, torch.Tensor]:
        """One discriminator update on a real batch and a (detached) generated batch, plus the
        penalties a subclass adds (`d_penalties`). `labels`: (real's, fake's) class labels for a
        class-conditional D; None for an unconditional one."""
        real_labels, fake_labels = labels if labels is not None else (None, None)
        real_in, fake_in = self.d_inputs(real), self.d_inputs(fake.detach())
        real_in.requires_grad_(self.needs_real_gradient())
        real_logits = self.d_logits(real_in, real_labels, self.d_train)
        fake_logits = self.d_logits(fake_in, fake_labels, self.d_train)
        d_loss = self.loss.d_loss(real_logits, fake_logits)
        penalties = self.d_penalties(real_in, real_logits, fake_in, real_labels)
        skipped = self.update(self.opt_d, self.discriminator, d_loss + sum(penalties.values()))
        return {
            "d_loss": d_loss.detach(),
            **{name: value.detach() for name, value in penalties.items()},
            "d_real": self.loss.d_output(real_logits.detach()).mean(),
            "d_fake": self.loss.d_output(fake_logits.detach()).mean(),
            "d_skipped": skipped,
        }

    def d_logits(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                 discriminator: torch.nn.Module | None = None) -> torch.Tensor:
        """D's logits; a class-conditional D also gets the images' class labels. D's own update passes
        `d_train` (its gradients are averaged across ranks); G's update and sampling use the plain D:
        the D gradients G's backward leaves are zeroed before D's next update, so need no all-reduce."""
        discriminator = self.discriminator if discriminator is None else discriminator
        return discriminator(images) if labels is None else discriminator(images, labels)

    # Hooks for the recipes (stage 1 overrides them): what D sees, and penalties on D.
    def d_inputs(self, images: torch.Tensor) -> torch.Tensor:
        return images

    def needs_real_gradient(self) -> bool:
        return False

    def d_penalties(self, real: torch.Tensor, real_logits: torch.Tensor, fake: torch.Tensor,
                    labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Penalty terms of D's loss by name; `labels` are the real images' (class-conditional D)."""
        return {}

    def update(self, optimizer: torch.optim.Optimizer, module: torch.nn.Module, loss: torch.Tensor) -> torch.Tensor:
        """Backpropagate `loss` and step `optimizer` unless the loss or a gradient of `module` is
        not finite; then parameters and optimizer state stay as they were. 1.0 when skipped, else 0.0."""
        optimizer.zero_grad(set_to_none=True)
        scaler = self.scalers.get(optimizer)
        if scaler is None:
            loss.backward()
            finite = is_finite(loss, module, self.dist)
            if finite:
                optimizer.step()
            return torch.tensor(0.0 if finite else 1.0)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        finite = is_finite(loss, module, self.dist)
        if finite:
            scaler.step(optimizer)
        # An overflow at a large scale is the scaler's routine (it halves the scale and the next
        # step goes on); only one that no scale explains counts as a bad step.
        overflow_expected = self.dist.all_finite(loss.detach()) and scaler.get_scale() >= 1.0
        scaler.update()
        return torch.tensor(0.0 if finite or overflow_expected else 1.0)

    def snapshot_buffers(self) -> list[torch.Tensor]:
        """Copies of G's and D's buffers (BN running statistics): a forward pass updates them even
        when the step's updates are then skipped, so `finish_step` puts them back."""
        return [buffer.clone() for module in (self.generator, self.discriminator) for buffer in module.buffers()]

    def finish_step(self, metrics: dict[str, torch.Tensor], snapshot: list[torch.Tensor]) -> dict[str, Any]:
        """The step's metrics, its updates' skip flags folded into "skipped" (bool); a skipped step
        also has G's and D's buffers restored, so no NaN enters a running statistic."""
        flags = [metrics.pop(key) for key in ("d_skipped", "g_skipped") if key in metrics]
        skipped = any(bool(flag) for flag in flags)
        if skipped:
            current = [b for module in (self.generator, self.discriminator) for b in module.buffers()]
            with torch.no_grad():
                for buffer, saved in zip(current, snapshot):
                    buffer.copy_(saved)
        return {**metrics, "skipped": skipped}

    def scale_learning_rates(self, scale: float) -> None:
        """Both learning rates set to the config's times `scale` (lowered by rollbacks)."""
        for optimizer, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = lr * scale

    def checkpoint_bytes(self) -> int:
        """About this model's share of a checkpoint: G's and D's tensors plus Adam's two moments per
        parameter, counted before the first step creates them."""
        tensors = [*self.generator.state_dict().values(), *self.discriminator.state_dict().values()]
        params = [*self.generator.parameters(), *self.discriminator.parameters()]
        moments = 2 * sum(p.numel() * p.element_size() for p in params)
        return sum(t.numel() * t.element_size() for t in tensors) + moments

    @torch.no_grad()
    def d_outputs(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's human-readable outputs (probabilities for BCE) on a batch, in eval mode."""
        with eval_mode(self.discriminator):
            return self.loss.d_output(self.d_logits(images, labels)).float()

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            **{f"scaler_{name}": self.scalers[opt].state_dict() for name, opt in self._named_optimizers()
               if opt in self.scalers},
        }

    def _named_optimizers(self) -> tuple[tuple[str, torch.optim.Optimizer], ...]:
        return ("g", self.opt_g), ("d", self.opt_d)

    def load_weights(self, state: dict[str, Any]) -> None:
        """G's and D's weights from another run's checkpoint (`--init-from`; the bundled model gives G
        alone, D then starts afresh); the optimizers start afresh. G's noise inputs (models/srgan.py) may
        be missing: they start at zero, which is the noise-free model those weights came from."""
        missing, unexpected = self.generator.load_state_dict(state["generator"], strict=False)
        missing = [key for key in missing if not re.fullmatch(r"noise\.\d+\.scale", key)]
        if missing or unexpected:
            raise RuntimeError(f"generator weights: missing {missing}, unexpected {unexpected}")
        if "discriminator" in state:
            self.discriminator.load_state_dict(state["discriminator"])

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_weights(state)
        for name, optimizer in self._named_optimizers():
            optimizer.load_state_dict(state[f"opt_{name}"])
            match_parameter_layouts(optimizer)
            if optimizer in self.scalers and f"scaler_{name}" in state:  # absent when resumed from fp32/bf16
                self.scalers[optimizer].load_state_dict(state[f"scaler_{name}"])


def is_finite(loss: torch.Tensor, module: torch.nn.Module, dist: Distributed = SINGLE_PROCESS) -> bool:
    """Whether `loss` and all of `module`'s gradients are finite (no NaN, no inf), on every rank of
    `dist`: the ranks skip an update together or not at all.

    The cheapest complete check: the gradients' total 2-norm is non-finite as soon as one element
    is (or when gradients beyond ~1e19 overflow it, which no update should see either). It reads
    each gradient once, with foreach kernels where the device has them: a seventh of the memory
    traffic of the fused Adam step (param, grad, two moments read; three written). The verdict
    costs one host sync per update; on a GPU the trainer's blocking copies of batch indices and
    noise already sync every step, on the CPU a sync is free.
    """
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    total = loss.detach().float()
    if grads:
        total = total + torch.nn.utils.get_total_norm(grads).float()
    return dist.all_finite(total)


def match_parameter_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give each per-parameter state tensor its parameter's memory layout.

    Checkpoints store tensors contiguous; a channels_last parameter's moments come back NCHW, and
    the fused Adam kernel walks parameter, gradient and moments as if their memory were laid out
    alike (measured: a max error of 5.5 after one step), so the layouts must match again.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            state = optimizer.state.get(param, {})
            for name, value in state.items():
                if torch.is_tensor(value) and value.shape == param.shape and value.stride() != param.stride():
                    state[name] = torch.empty_like(param, dtype=value.dtype).copy_(value)
