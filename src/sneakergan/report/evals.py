"""The report's evaluation sections: `sneakergan evaluate` and `eval-sr` reports found in a run's eval/."""

from __future__ import annotations

from typing import Any

from sneakergan.report.data import Report, RunData
from sneakergan.report.html import esc, file_figure, missing, table


def _value(data: dict[str, Any], key: str, spec: str) -> str:
    value = data.get(key)
    return format(value, spec) if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def _pair(data: dict[str, Any], first: str, second: str, spec: str = ".3f", between: str = " / ") -> str:
    return f"{_value(data, first, spec)}{between}{_value(data, second, spec)}"


def evaluations_section(run: RunData) -> str:
    parts = [_eval_report(report) for report in run.eval_reports]
    if not parts:
        if run.task == "sr":
            how = (f"a stage-2 run is scored through a stage-1 run: `sneakergan evaluate --run STAGE1_RUN --sr-run "
                   f"{run.root} --res 112 --data TRAIN_IMAGES --out REPORT.json`")
        else:
            how = f"`sneakergan evaluate --run {run.root} --data TRAIN_IMAGES` writes one"
        parts.append(missing(f"no evaluation reports in eval/ ({how})"))
    parts += [missing(f"eval/{report.path.name} {report.error}") for report in run.other_reports]
    return "".join(parts)


def _eval_report(report: Report) -> str:
    data = report.data
    memorization = data.get("memorization") if isinstance(data.get("memorization"), dict) else {}
    rows = [
        ("FID", _value(data, "fid", ".2f")),
        ("KID (mean ± std)", _pair(data, "kid_mean", "kid_std", ".4f", " ± ")),
        ("PRD F_8 / F_1/8 (recall / precision weighted)", _pair(data, "prd_f8", "prd_f1_8")),
        ("precision / recall (k = 3)", _pair(data, "precision", "recall")),
        ("density / coverage (k = 5)", _pair(data, "density", "coverage")),
        ("memorisation ratio (generated-to-train over train-to-train median distance; well under 1: copying)",
         _value(memorization, "ratio", ".2f")),
        ("images generated / reference", f"{data.get('n_generated', '?')} / {data.get('n_reference', '?')}"),
    ]
    for key, name in (("upscale", "upscaling"), ("sr_run", "stage-2 run"), ("run", "stage-1 run"),
                      ("reference", "reference images"), ("seed", "noise seed")):
        if data.get(key) is not None:
            rows.append((name, data[key]))
    if "lr_consistency_psnr_y" in data:
        rows.append(("LR-consistency (PSNR-Y, dB)", _value(data, "lr_consistency_psnr_y", ".2f")))
    rows.append(("seconds (features + metrics)", _value(data, "total_seconds", ".0f")))
    plots = data.get("plots") if isinstance(data.get("plots"), dict) else {}
    label, resolution = data.get("label", "?"), data.get("resolution", "?")
    prd = file_figure(report.beside(plots.get("prd")), "PRD curve (recall on x, precision on y)", "prd-curve",
                      f"the PRD curve of eval/{report.path.name} is missing (`sneakergan evaluate` writes it beside "
                      "the report)")
    nearest = file_figure(report.beside(plots.get("nearest")),
                          "memorisation check: generated samples (first column) and their 3 nearest training "
                          "images in Inception feature space", "nearest-panel",
                          f"the nearest-neighbour panel of eval/{report.path.name} is missing (`sneakergan "
                          "evaluate` writes it beside the report)", pixels=True)
    heading = f"eval/{report.path.name}: {label} at {resolution}x{resolution}"
    metrics = table(rows, ("metric", "value"), "eval-metrics", align_numbers=False)
    return (f'<div class="report" data-testid="eval-report"><h3>{esc(heading)}</h3>{metrics}'
            f'<div class="pair">{prd}{nearest}</div></div>')


def super_resolution_section(run: RunData) -> str:
    if run.task != "sr" and not run.sr_reports:
        return missing(f"{run.name} is a stage-1 run (task {run.task}); `sneakergan eval-sr --sr-run STAGE2_RUN "
                       "--data HELD_OUT_IMAGES` scores stage-2 (super-resolution) runs")
    if not run.sr_reports:
        return missing(f"no eval/sr_*.json (`sneakergan eval-sr --sr-run {run.root} --data HELD_OUT_IMAGES` "
                       "writes one, e.g. with the test split)")
    return "".join(_sr_report(report) for report in run.sr_reports)


def _sr_report(report: Report) -> str:
    data = report.data
    rows = []
    for key, name, spec in (("psnr_y", "PSNR-Y (dB)", ".2f"), ("ssim_y", "SSIM-Y", ".4f"),
                            ("lr_consistency_psnr_y", "LR-consistency (PSNR-Y, dB)", ".2f")):
        scores = data.get(key) if isinstance(data.get(key), dict) else {}
        sr, bicubic = scores.get("sr"), scores.get("bicubic")
        numbers = all(isinstance(v, (int, float)) for v in (sr, bicubic))
        rows.append((name, _value(scores, "sr", spec), _value(scores, "bicubic", spec),
                     format(sr - bicubic, "+" + spec) if numbers else "?"))
    beats = data.get("sr_beats_bicubic_psnr")
    share = f"SR beats bicubic on PSNR for {beats:.1%} of the images. " if isinstance(beats, (int, float)) else ""
    columns = data.get("figure_columns") or ["LR (nearest)", "bicubic", "SR", "original"]
    about = (f"{data.get('images', '?')} held-out images from {data.get('data', '?')}; "
             f"{data.get('metric', '')}. {share}")
    comparison = file_figure(report.path.with_suffix(".png"), "each row one held-out image: "
                             + " | ".join(map(str, columns)), "sr-comparison",
                             f"the comparison figure {report.path.with_suffix('.png').name} is missing "
                             "(`sneakergan eval-sr` writes it beside the report)", pixels=True)
    return (f'<div class="report" data-testid="sr-report"><h3>eval/{esc(report.path.name)}</h3>'
            f"<p>{esc(about)}</p>" + table(rows, ("metric", "SR", "bicubic", "SR − bicubic"), "sr-metrics")
            + comparison + "</div>")
