"""Training throughput: the project's trainer vs a plain PyTorch loop, side by side in one process.

    python benchmarks/train_throughput.py --data ../shared/data/sneakers/train [--presets seed-dcgan ...]
        [--seconds 30] [--precision auto] [--compile] [--device cpu|cuda] [--out results.jsonl]

For each preset, in this order and in this one process:
(a) the plain reference loop, written the obvious way: fp32, NCHW, a DataLoader over a Dataset that
    opens and decodes the JPEGs (and resizes them) on every access, the same architecture, loss,
    batch size and optimiser, one generated batch for both updates;
(b) the project's `Trainer.fit` on the in-memory uint8 data, at `--precision` (default auto),
    img/s read from its own metrics.jsonl (the figures at the end of the run excluded).
It prints images/s of each, their ratio, and the achieved FLOP/s as a fraction of the bf16 matmul
peak measured here (model FLOPs of one training step counted with torch's FlopCounterMode:
forward and backward of every conv/matmul; elementwise work not counted). SR presets are timed in
their adversarial phase (pretrain_epochs=0), the expensive one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode

from sneakergan.config import TrainConfig, load_preset
from sneakergan.data import list_image_sources, load_dataset
from sneakergan.inference.run_dir import RunDir
from sneakergan.io import read_jsonl
from sneakergan.losses import get_loss
from sneakergan.train.loop import Trainer
from sneakergan.train.setup import training_data
from sneakergan.train.tasks import get_task


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(dtype: torch.dtype, device: torch.device, repeats: int = 8) -> float:
    """Best FLOP/s of a square matmul in `dtype` (the machine's practical peak for that type)."""
    size = 8192 if device.type == "cuda" else 2048
    a, b = (torch.randn(size, size, dtype=dtype, device=device) for _ in range(2))
    a @ b
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size ** 3 / best


class DecodingDataset(Dataset):
    """The obvious data path: open, decode, convert and resize each JPEG whenever it is used."""

    def __init__(self, paths: list[Path], sizes: dict[str, int]):
        self.paths, self.sizes = paths, sizes

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        with Image.open(self.paths[index]) as image:
            rgb = image.convert("RGB")
        return {key: torch.from_numpy(np.asarray(rgb.resize((size, size), Image.Resampling.BICUBIC)).copy())
                .permute(2, 0, 1).float().div(127.5).sub(1.0) for key, size in self.sizes.items()}


def plain_models(cfg: TrainConfig, device: torch.device):
    """Fresh G and D of the preset's architecture (NCHW, fp32) on `device`, and their Adam optimisers. A
    perception-first stage 2 (sr-perceptual) gets the plain SRGAN networks of the same sizes: its
    noise inputs, LR-seeing D, spectral norm and stage-1 samples are the recipe the trainer side pays for."""
    from sneakergan.models.build import build_discriminator, build_generator, build_sr_discriminator, build_sr_generator

    torch.manual_seed(cfg.seed)
    if cfg.task == "sr":
        cfg = cfg.replace(sr_noise=False, d_sees_lr=False, spectral_norm=False, stage1_run="", stage1_share=0.0,
                          r1_gamma=0.0, augment="", ema_decay=0.0)
    if cfg.task == "sr":
        generator, discriminator = build_sr_generator(cfg), build_sr_discriminator(cfg)
    else:
        generator, discriminator = build_generator(cfg), build_discriminator(cfg)
    generator, discriminator = generator.to(device), discriminator.to(device)
    betas = (cfg.beta1, cfg.beta2)
    return (generator, discriminator, torch.optim.Adam(generator.parameters(), cfg.lr_g, betas=betas),
            torch.optim.Adam(discriminator.parameters(), cfg.lr_d, betas=betas))


def plain_step(cfg: TrainConfig, models, batch: dict[str, torch.Tensor]) -> None:
    """One D and one G update, the way a tutorial writes them (same losses as the project's step)."""
    generator, discriminator, opt_g, opt_d = models
    device = next(generator.parameters()).device
    batch = {key: images.to(device) for key, images in batch.items()}
    loss = get_loss(cfg.loss)
    if cfg.task == "sr":
        real, fake = batch["hr"], generator(batch["lr"])
    else:
        real = batch["image"]
        fake = generator(torch.randn(real.shape[0], cfg.z_dim, device=device))
    d_loss = loss.d_loss(discriminator(real), discriminator(fake.detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    if cfg.task == "sr":
        with torch.no_grad():
            _, real_taps = discriminator(real, features=True)
        logits, fake_taps = discriminator(fake, features=True)
        feature = torch.stack([F.l1_loss(f, r) for f, r in zip(fake_taps, real_taps)]).mean()
        pixel = F.l1_loss(fake, real) if cfg.pixel_loss == "l1" else F.mse_loss(fake, real)
        g_loss = cfg.pixel_weight * pixel + cfg.feature_weight * feature + cfg.adv_weight * loss.g_loss(logits)
    else:
        g_loss = loss.g_loss(discriminator(fake))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()


def plain_images_per_second(cfg: TrainConfig, paths: list[Path], seconds: float, device: torch.device) -> float:
    """(a): fp32 NCHW models fed by a decoding DataLoader, for about `seconds` after 2 warm-up steps."""
    models = plain_models(cfg, device)
    loader = DataLoader(DecodingDataset(paths, get_task(cfg.task).data_sizes(cfg)), batch_size=cfg.batch_size,
                        shuffle=True, drop_last=True)
    if len(loader) == 0:
        raise SystemExit(f"{cfg.preset}: fewer images ({len(paths)}) than one batch ({cfg.batch_size})")
    images, started, warm = 0, 0.0, 2
    while True:
        for batch in loader:
            plain_step(cfg, models, batch)
            if warm:
                warm -= 1
                synchronize(device)
                started = time.perf_counter()
                continue
            images += cfg.batch_size
            if time.perf_counter() - started > seconds:
                synchronize(device)
                return images / (time.perf_counter() - started)


def project_images_per_second(cfg: TrainConfig, data: dict[str, np.ndarray], seconds: float,
                              rate_guess: float) -> float:
    """(b): Trainer.fit for about `seconds`; the median img/s over its metrics.jsonl lines."""
    steps = max(20, int(seconds * rate_guess / cfg.batch_size))
    run_cfg = cfg.replace(epochs=10_000, max_steps=steps, log_every=10, sample_every=10_000, checkpoint_every=10_000,
                          n_samples=8)
    with tempfile.TemporaryDirectory() as tmp:
        run = RunDir.create(Path(tmp) / "run", run_cfg)
        Trainer(run_cfg, run, data, progress=False).fit()
        rates = [r["img_per_s"] for r in read_jsonl(run.metrics) if "img_per_s" in r]
    return statistics.median(rates[1:] or rates)  # the first interval includes oneDNN's warm-up


def flops_per_image(cfg: TrainConfig, data: dict[str, np.ndarray]) -> float:
    task = get_task(cfg.task)
    model = task.model(cfg, torch.device("cpu"))
    batch = {key: torch.from_numpy(images[:cfg.batch_size]).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
             for key, images in data.items()}
    with FlopCounterMode(display=False) as counter:
        model.train_step(batch, torch.Generator().manual_seed(0), epoch=cfg.pretrain_epochs)
    return counter.get_total_flops() / cfg.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the JPEG folder (the train split)")
    parser.add_argument("--presets", nargs="+", default=["seed-mlp", "seed-dcgan", "seed-srgan"])
    parser.add_argument("--seconds", type=float, default=30.0, help="timed seconds per side and preset")
    parser.add_argument("--precision", default="auto", choices=("fp32", "bf16", "auto"))
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument("--compile", action="store_true", help="the trainer side with torch.compile (after a warm-up)")
    parser.add_argument("--out", help="append one JSON line per preset here")
    args = parser.parse_args()

    device = torch.device(args.device)
    peak_bf16, peak_fp32 = matmul_peak(torch.bfloat16, device), matmul_peak(torch.float32, device)
    machine = (torch.cuda.get_device_name(device) if device.type == "cuda"
               else f"{torch.get_num_threads()} threads, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"machine: {machine}, torch {torch.__version__}; matmul peak bf16 {peak_bf16 / 1e12:.2f} TFLOP/s, "
          f"fp32 {peak_fp32 / 1e12:.2f} TFLOP/s")
    paths = [Path(source.root) / source.relpath for source in list_image_sources(args.data)]
    dataset = load_dataset(args.data)
    print("| preset | plain img/s | sneakergan img/s | ratio | GFLOP/img | % of bf16 peak |")
    print("|---|---|---|---|---|---|")
    for name in args.presets:
        cfg = load_preset(name).replace(data=args.data, device=args.device, precision=args.precision,
                                        pretrain_epochs=0, compile=args.compile, init_from="")
        data, cfg = training_data(cfg, dataset)
        flops = flops_per_image(cfg, data)
        plain = plain_images_per_second(cfg, paths, args.seconds, device)
        ours = project_images_per_second(cfg, data, args.seconds, rate_guess=3 * plain)
        fraction = flops * ours / peak_bf16
        row = {"preset": name, "plain_img_s": plain, "sneakergan_img_s": ours, "ratio": ours / plain,
               "gflop_per_image": flops / 1e9, "fraction_of_bf16_peak": fraction, "precision": args.precision,
               "compile": args.compile,
               "peak_bf16_tflops": peak_bf16 / 1e12, "peak_fp32_tflops": peak_fp32 / 1e12, "machine": machine,
               "date": time.strftime("%Y-%m-%d")}
        print(f"| {name} | {plain:.0f} | {ours:.0f} | {ours / plain:.1f}x | {flops / 1e9:.3f} "
              f"| {100 * fraction:.1f}% |", flush=True)
        if args.out:
            with open(args.out, "a") as handle:
                handle.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
