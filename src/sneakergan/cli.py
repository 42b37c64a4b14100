"""The `sneakergan` command line: train, train-sr, generate, evaluate, eval-sr, plot-prd, presets."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from sneakergan.errors import ConfigError, SneakerganError

log = logging.getLogger("sneakergan")


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


def _setup_logging(verbose: bool, quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter())
    root = logging.getLogger("sneakergan")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO)
    root.propagate = False


# --- train ---------------------------------------------------------------------------------
# CLI flags that map one-to-one onto config fields (flag dest -> field).
_TRAIN_FLAGS = {"epochs": "epochs", "steps": "max_steps", "batch_size": "batch_size", "lr_g": "lr_g",
                "lr_d": "lr_d", "seed": "seed", "device": "device", "sample_every": "sample_every",
                "max_images": "max_images", "eval_every": "eval_every"}
_RESUMABLE_FIELDS = {"epochs", "max_steps", "device", "data"}


_TRAIN_COMMANDS = {  # command -> (task it trains, help)
    "train": ("gan", "train a stage-1 GAN (28x28) from a preset"),
    "train-sr": ("sr", "train a stage-2 4x super-resolution GAN (28x28 -> 112x112) from a preset"),
}


def _add_train_parser(sub: argparse._SubParsersAction, command: str) -> None:
    task, summary = _TRAIN_COMMANDS[command]
    p = sub.add_parser(command, help=summary,
                       description=f"{summary[0].upper()}{summary[1:]} on a folder (or .zip) of images.")
    p.add_argument("--preset", help="preset name (see `sneakergan presets`)")
    p.add_argument("--data", help="folder of images (searched recursively) or a .zip of them")
    p.add_argument("--out", help="run folder to create")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its checkpoint")
    p.add_argument("--replace", action="store_true", help="delete an existing run folder at --out first")
    p.add_argument("--epochs", type=int)
    p.add_argument("--steps", type=int, help="stop after this many steps in total")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr-g", type=float)
    p.add_argument("--lr-d", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help="auto (default), cpu, cuda, cuda:N")
    p.add_argument("--sample-every", type=int, help="epochs between sample grids / histograms")
    p.add_argument("--max-images", type=int, help="train on a fixed random subset of this size")
    p.add_argument("--eval-every", type=int, help="epochs between quick FIDs (eval_samples samples, default "
                   "2000) logged to metrics.jsonl; keeps checkpoint-best.safetensors")
    p.add_argument("--inception", help="your own copy of the FID Inception TorchScript file (with --eval-every)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field (repeatable), e.g. --set g_width=512")
    p.add_argument("--cache-dir", help="dataset cache folder (default $SNEAKERGAN_CACHE or ~/.cache/sneakergan)")
    p.add_argument("--no-cache", action="store_true", help="decode the images without reading/writing the cache")
    p.add_argument("--workers", type=int, help="processes for decoding images (default: CPU count)")
    p.set_defaults(handler=cmd_train, task=task)


def _flag_overrides(args: argparse.Namespace) -> dict:
    return {field: getattr(args, flag) for flag, field in _TRAIN_FLAGS.items() if getattr(args, flag) is not None}


def _resolve_train_config(args: argparse.Namespace):
    from sneakergan.config import load_preset
    from sneakergan.train.run_dir import RunDir

    changes = _flag_overrides(args)
    if args.data is not None:
        changes["data"] = str(Path(args.data).expanduser().resolve())
    if args.resume:
        if args.preset or args.out or args.set:
            raise ConfigError("--resume continues a run with its saved config; --preset, --out and --set "
                              "cannot be combined with it")
        run = RunDir.open(args.resume)
        fixed = sorted(set(changes) - _RESUMABLE_FIELDS)
        if fixed:
            raise ConfigError(f"cannot change {', '.join(fixed)} when resuming (only epochs, steps, device, data)")
        return run.read_config().replace(**changes), run
    if not args.preset or not args.data or not args.out:
        raise ConfigError(f"{args.command} needs --preset, --data and --out (or --resume RUN_DIR)")
    return load_preset(args.preset).replace(**changes).with_overrides(args.set), None


def cmd_train(args: argparse.Namespace) -> int:
    from sneakergan.data import load_dataset
    from sneakergan.train.loop import Trainer, TrainingInterrupted
    from sneakergan.train.run_dir import RunDir
    from sneakergan.train.tasks import get_task

    cfg, run = _resolve_train_config(args)
    task = get_task(cfg.task)
    if cfg.task != args.task:
        raise ConfigError(f"{cfg.preset} is a task {cfg.task!r} config; train it with `sneakergan {task.command}`")
    cache_dir = False if args.no_cache else (Path(args.cache_dir) if args.cache_dir else None)
    dataset = load_dataset(cfg.data, cache_dir=cache_dir, max_images=cfg.max_images or None, workers=args.workers)
    data = {key: _images_at(dataset, size) for key, size in task.data_sizes(cfg).items()}
    if run is None:  # created only once the data loaded, so a bad --data leaves nothing behind
        run = RunDir.create(args.out, cfg, replace=args.replace)
    else:
        run.write_config(cfg)
    trainer = Trainer(cfg, run, data, evaluator=_quick_fid(cfg, args, data.get("image"), cache_dir))
    if args.resume:
        trainer.resume()
    log.info("training %s on %d images (%s) -> %s, %d steps of %d on %s", cfg.preset, trainer.count, cfg.data,
             run.root, trainer.schedule.total_steps, trainer.schedule.batch_size, trainer.device)
    try:
        trainer.fit()
    except TrainingInterrupted as stop:
        log.warning("interrupted: checkpoint saved at step %d; continue with: sneakergan %s --resume %s",
                    stop.step, task.command, run.root)
        return 130
    log.info("done: %s (samples/, histograms/, metrics.jsonl, checkpoint.safetensors)", run.root)
    return 0


def _quick_fid(cfg, args: argparse.Namespace, images, cache_dir):
    """The --eval-every evaluator: FID against the training images themselves (cached statistics)."""
    if not cfg.eval_every:
        return None
    from sneakergan.metrics.features import InceptionFeatureExtractor
    from sneakergan.metrics.reference import reference_stats
    from sneakergan.train.evaluation import QuickFID
    from sneakergan.train.loop import resolve_device

    extractor = InceptionFeatureExtractor(args.inception, device=resolve_device(cfg.device))
    return QuickFID(reference_stats(images, extractor, cache_dir), extractor, samples=cfg.eval_samples)


def _images_at(dataset, size: int):
    for images in (dataset.lr, dataset.hr):
        if images.shape[1] == size:
            return images
    raise ConfigError(f"image_size {size} is not produced by the data pipeline "
                      f"({dataset.lr.shape[1]} or {dataset.hr.shape[1]})")


# --- generate ------------------------------------------------------------------------------
def _add_generate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="generate sneakers from a trained run",
                       description="Write generated images from a run's checkpoint as a grid or one PNG each.")
    p.add_argument("--run", required=True, help="stage-1 run folder (with checkpoint.safetensors)")
    p.add_argument("--sr-run", help="stage-2 run folder: super-resolve the 28x28 images to 112x112")
    p.add_argument("--show-lr", action="store_true",
                   help="with --sr-run: put each 28x28 input (nearest-upscaled) beside its 112x112 output")
    p.add_argument("-n", type=int, default=64, help="number of images (default 64)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="grid PNG path, or a folder with --format files")
    p.add_argument("--format", choices=("grid", "files"), default="grid")
    p.add_argument("--nrow", type=int, help="images per grid row (default: square)")
    p.add_argument("--scale", type=int, default=1, help="enlarge the grid (nearest neighbour)")
    p.add_argument("--device", default="auto")
    p.add_argument("--replace", action="store_true", help="overwrite an existing --out")
    p.set_defaults(handler=cmd_generate)


def cmd_generate(args: argparse.Namespace) -> int:
    from sneakergan.generate import generate_images, write_files, write_grid
    from sneakergan.pipeline import apply_stage2

    if not 1 <= args.n <= 100_000:
        raise ConfigError(f"-n must be between 1 and 100000, got {args.n}")
    if args.scale < 1:
        raise ConfigError(f"--scale must be >= 1, got {args.scale}")
    if args.show_lr and not args.sr_run:
        raise ConfigError("--show-lr needs --sr-run (it shows stage 2's input beside its output)")
    images = generate_images(args.run, args.n, args.seed, args.device)
    if args.sr_run:
        images = apply_stage2(args.sr_run, images, args.device, show_lr=args.show_lr)
    out = Path(args.out)
    if args.format == "grid":
        write_grid(images, out, nrow=args.nrow, scale=args.scale, replace=args.replace)
    else:
        write_files(images, out, replace=args.replace)
    log.info("wrote %d images to %s", len(images), out)
    return 0


# --- evaluate ------------------------------------------------------------------------------
def _add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="FID, KID, PRD, precision/recall of a run or a folder of images",
                       description="Score generated images against a reference dataset under the standard "
                                   "protocol (Inception pool3 features, TF1 bilinear resize to 299).")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--run", help="run folder: generate --n samples from its checkpoint")
    source.add_argument("--images", help="folder of images to score (e.g. another tool's samples)")
    p.add_argument("--data", required=True, help="reference images (the train split for reported numbers)")
    p.add_argument("--n", type=int, default=10_000, help="generated samples (default 10000, the standard)")
    p.add_argument("--res", type=int, default=28, help="resolution to evaluate at: 28 or 112")
    p.add_argument("--out", help="report JSON (default RUN_DIR/eval/res{RES}_n{N}.json for --run)")
    p.add_argument("--seed", type=int, default=0, help="noise seed for the generated samples")
    p.add_argument("--inception", help="path to your own copy of the FID Inception TorchScript file")
    p.add_argument("--device", default="auto")
    p.add_argument("--cache-dir", help="cache for datasets and reference statistics")
    p.add_argument("--workers", type=int)
    p.add_argument("--replace", action="store_true", help="overwrite an existing report")
    p.set_defaults(handler=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sneakergan.generate import generate_images
    from sneakergan.metrics.evaluate import evaluate_images, summary_line
    from sneakergan.metrics.features import InceptionFeatureExtractor
    from sneakergan.metrics.protocol import check_resolution, folder_images, load_reference
    from sneakergan.train.loop import resolve_device

    check_resolution(args.res)
    if args.run is None and args.out is None:
        raise ConfigError("--images needs --out REPORT.json")
    if args.n < 2:
        raise ConfigError(f"--n must be at least 2, got {args.n}")
    out = Path(args.out) if args.out else Path(args.run) / "eval" / f"res{args.res}_n{args.n}.json"
    if out.exists() and not args.replace:
        raise ConfigError(f"{out} already exists; pass --replace to overwrite it")
    device = resolve_device(args.device)
    # fp32 only: bf16 features moved a measured FID by 0.78% (benchmarks/inception_features.py),
    # above the 0.5% a preview mode may cost, so the CLI does not offer it.
    extractor = InceptionFeatureExtractor(args.inception, device=device)
    cache_dir = Path(args.cache_dir) if args.cache_dir else None
    if args.run:
        fake = generate_images(args.run, args.n, args.seed, args.device)
        provenance = {"run": str(Path(args.run).resolve()), "seed": args.seed}
    else:
        fake = folder_images(args.images, args.res, args.workers)
        provenance = {"images": str(Path(args.images).resolve())}
    reference = load_reference(args.data, args.res, extractor, cache_dir, args.workers)
    provenance["reference"] = str(Path(args.data).resolve())
    label = Path(args.run or args.images).name
    report = evaluate_images(fake, reference, extractor, out, label, provenance)
    print(summary_line(report))
    log.info("report: %s (PRD curve %s, nearest neighbours %s)", out, report["plots"]["prd"],
             report["plots"]["nearest"])
    return 0


def _add_eval_sr_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval-sr", help="PSNR / SSIM (Y channel) of a stage-2 run vs bicubic on real images",
                       description="Super-resolve each image's 28x28 version and score it against its 112x112 "
                                   "version (PSNR and SSIM on Y, 4-pixel border crop), beside bicubic upscaling.")
    p.add_argument("--sr-run", required=True, help="stage-2 run folder")
    p.add_argument("--data", required=True, help="held-out images, e.g. ../shared/data/sneakers/test")
    p.add_argument("--out", help="report JSON (default SR_RUN/eval/sr_<data folder name>.json); the "
                   "comparison figure is written beside it as .png")
    p.add_argument("--rows", type=int, default=8, help="images in the comparison figure (default 8)")
    p.add_argument("--device", default="auto")
    p.add_argument("--cache-dir", help="dataset cache folder")
    p.add_argument("--workers", type=int)
    p.add_argument("--replace", action="store_true", help="overwrite an existing report")
    p.set_defaults(handler=cmd_eval_sr)


def cmd_eval_sr(args: argparse.Namespace) -> int:
    from sneakergan.metrics.sr_eval import evaluate_sr

    out = Path(args.out) if args.out else Path(args.sr_run) / "eval" / f"sr_{Path(args.data).resolve().name}.json"
    if out.suffix.lower() != ".json":
        raise ConfigError(f"--out {out} must end in .json")
    if (out.exists() or out.with_suffix(".png").exists()) and not args.replace:
        raise ConfigError(f"{out} (or its .png) already exists; pass --replace to overwrite it")
    if args.rows < 1:
        raise ConfigError(f"--rows must be >= 1, got {args.rows}")
    cache_dir = Path(args.cache_dir) if args.cache_dir else None
    report = evaluate_sr(args.sr_run, args.data, out, args.device, args.rows, cache_dir, args.workers)
    print(f"{report['images']} images: PSNR-Y {report['psnr_y']['sr']:.2f} dB (bicubic "
          f"{report['psnr_y']['bicubic']:.2f}), SSIM-Y {report['ssim_y']['sr']:.4f} (bicubic "
          f"{report['ssim_y']['bicubic']:.4f})")
    log.info("report: %s, figure: %s", out, report["figure"])
    return 0


def _add_plot_prd_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("plot-prd", help="several evaluation reports' PRD curves on one plot")
    p.add_argument("reports", nargs="+", help="report JSON files written by `sneakergan evaluate`")
    p.add_argument("--out", required=True, help="PNG to write")
    p.add_argument("--replace", action="store_true")
    p.set_defaults(handler=cmd_plot_prd)


def cmd_plot_prd(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from sneakergan.viz.prd_plot import plot_prd_curves

    out = Path(args.out)
    if out.exists() and not args.replace:
        raise ConfigError(f"{out} already exists; pass --replace to overwrite it")
    curves = []
    for path in args.reports:
        try:
            report = json.loads(Path(path).read_text())
            curve = report["prd_curve"]
            curves.append((f"{report['label']} @ {report['resolution']}", np.array(curve["precision"]),
                           np.array(curve["recall"])))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} is not a sneakergan evaluation report ({exc})") from None
    plot_prd_curves(curves, out)
    log.info("wrote %s", out)
    return 0


# --- presets -------------------------------------------------------------------------------
def cmd_presets(args: argparse.Namespace) -> int:
    from sneakergan.config import load_preset, preset_names

    for name in preset_names():
        print(f"{name:16s} {load_preset(name).description}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from sneakergan import __version__

    parser = argparse.ArgumentParser(prog="sneakergan", description="Train and evaluate GANs that generate sneakers.")
    parser.add_argument("--version", action="version", version=f"sneakergan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("-q", "--quiet", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in _TRAIN_COMMANDS:
        _add_train_parser(sub, command)
    _add_generate_parser(sub)
    _add_evaluate_parser(sub)
    _add_eval_sr_parser(sub)
    _add_plot_prd_parser(sub)
    sub.add_parser("presets", help="list the training presets").set_defaults(handler=cmd_presets)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    try:
        return args.handler(args)
    except SneakerganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
