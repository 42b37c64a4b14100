"""`sneakergan report`: one self-contained HTML page about a run folder.

Sections: the run and its resolved config, training curves drawn fresh from metrics.jsonl, the per-epoch
sample grids and D-output histograms (scrubbable), quick evaluations over training time, and the reports
of `sneakergan evaluate` and `eval-sr` found in eval/. A section without data says what is missing and
which command produces it; the page is written atomically.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

from sneakergan import __version__
from sneakergan.errors import SneakerganError
from sneakergan.io import atomic_write_text
from sneakergan.losses import get_loss
from sneakergan.report.data import Frame, RunData, read_run
from sneakergan.report.evals import evaluations_section, super_resolution_section
from sneakergan.report.figures import histogram_overlay, score_curve, training_curves
from sneakergan.report.html import esc, figure, missing, page, read_png, scrubber, table
from sneakergan.viz.plots import score_name, training_seconds_at_evaluations

TASKS = {"gan": "stage 1: images from noise", "sr": "stage 2: 4x super-resolution"}
TRAIN_COMMANDS = {"gan": "train", "sr": "train-sr"}


def write_report(root: str | Path, out: str | Path) -> Path:
    """Read the run folder `root` and write its report to `out` (replacing any file there)."""
    html = render_report(read_run(root))
    atomic_write_text(out, html)
    return Path(out)


def render_report(run: RunData, now: datetime | None = None) -> str:
    sections = [
        ("summary", "Run", _summary(run)),
        ("config", "Config", _config(run)),
        ("training", "Training curves", _training(run)),
        ("samples", "Samples per epoch", _samples(run)),
        ("histograms", "D outputs per epoch", _histograms(run)),
        ("scores", "Scores during training", _scores(run)),
        ("evaluations", "Evaluations", evaluations_section(run)),
        ("super-resolution", "Super-resolution", super_resolution_section(run)),
    ]
    when = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    footer = f"written by sneakergan {__version__} on {when} from {run.root.resolve()}"
    return page(f"sneakergan report: {run.name}", sections, footer)


def _command(run: RunData) -> str:
    return f"sneakergan {TRAIN_COMMANDS.get(run.task, 'train')}"


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.1f} min" if minutes < 120 else f"{int(minutes // 60)} h {minutes % 60:.0f} min"


def _summary(run: RunData) -> str:
    cfg = run.config
    task = run.task
    precision = str(cfg.get("precision", "?"))
    if precision == "auto":
        precision += " (bf16 where the hardware runs it fast, else fp32; chosen when training starts)"
    rows = [("run", run.name), ("preset", cfg.get("preset", "?")), ("description", cfg.get("description", "")),
            ("task", f"{task} ({TASKS.get(task, 'unknown task')})"), ("architecture", cfg.get("architecture", "?")),
            ("loss", cfg.get("loss", "?"))]
    if cfg.get("condition"):
        rows.append(("conditioned on", f"{cfg['condition']}: {', '.join(map(str, cfg.get('class_names', [])))}"))
    seconds, rate = run.training_seconds, run.median_images_per_second
    rows += [
        ("epochs done", f"{_or_none(run.epochs_done)} of {cfg.get('epochs', '?')}"
         + (f" ({cfg.get('pretrain_epochs', '?')} of pixel-loss pre-training)" if task == "sr" else "")),
        ("steps done", _or_none(run.steps_done)),
        ("training time", f"{duration(seconds)} (summed over the logged intervals: figures and evaluations "
                          "not included)" if seconds is not None else "not recorded"),
        ("throughput", f"{rate:,.0f} img/s (median of the logged intervals)" if rate else "not recorded"),
        ("precision", precision), ("device", cfg.get("device", "?")), ("batch size", cfg.get("batch_size", "?")),
        ("data", cfg.get("data", "?")),
        ("skipped steps", sum(r["skipped_steps"] for r in run.training if isinstance(r.get("skipped_steps"), int))),
        ("rollbacks", len(run.rollbacks)),
    ]
    return table(rows, testid="summary", align_numbers=False)


def _or_none(value: object) -> str:
    return "none yet" if value is None else str(value)


def _config(run: RunData) -> str:
    rows = [(key, value if isinstance(value, str) else json.dumps(value)) for key, value in sorted(run.config.items())]
    return "<p>The resolved config (preset + overrides), as config.json holds it.</p>" + table(
        rows, ("field", "value"), testid="config", align_numbers=False)


def _training(run: RunData) -> str:
    if not run.training:
        return missing(f"no training lines in metrics.jsonl ({_command(run)} writes one every log_every steps)")
    keys = set().union(*run.training)
    losses = [k for k in ("d_loss", "g_loss") if k in keys] + sorted(
        k for k in keys if k.endswith("_loss") and k not in ("d_loss", "g_loss"))
    d_outputs = [k for k in ("d_real", "d_fake") if k in keys]
    caption = (f"{len(run.training)} logged intervals up to step {run.training[-1]['step']}, each the mean over "
               "its steps; d_real / d_fake: D's mean output on the real and generated images of each batch")
    parts = [figure(training_curves(run.training, losses, d_outputs), caption, "training-curves")]
    if run.rollbacks:
        rows = [(r["step"], r["rollback"].get("from_step", "?"), r["rollback"].get("lr_scale", "?"))
                for r in run.rollbacks]
        parts.append("<p>Rollbacks after non-finite losses:</p>"
                     + table(rows, ("back to step", "from step", "learning-rate scale"), "rollbacks"))
    return "".join(parts)


def _frames(frames: list[Frame], what: str) -> tuple[list[tuple[int, bytes]], str]:
    """The frames' PNG bytes, and a note naming any unreadable file."""
    loaded = [(frame.epoch, read_png(frame.path)) for frame in frames]
    bad = [frame.path.name for frame, (_, data) in zip(frames, loaded) if data is None]
    note = missing(f"{len(bad)} {what} file(s) are not readable PNGs: {', '.join(bad)}") if bad else ""
    return [(epoch, data) for epoch, data in loaded if data is not None], note


def _samples(run: RunData) -> str:
    if not run.samples:
        return missing(f"no samples/epoch_*.png ({_command(run)} draws one after every sample_every epochs)")
    frames, note = _frames(run.samples, "sample grid")
    if run.task == "sr":
        about = ("Each row is one fixed training image: its low-resolution input (nearest-upscaled) | bicubic "
                 "upscaling | the SR output | the original.")
    elif run.config.get("condition"):
        about = "One row per class, in the config's class_names order; each column is one fixed noise vector."
    else:
        about = "The same fixed noise batch after each epoch (with ema_decay set: through the EMA generator)."
    return f"<p>{esc(about)}</p>" + (scrubber(frames, "sample grid", "samples") if frames else "") + note


def _histograms(run: RunData) -> str:
    parts = ["<p>The design's distribution of the discriminator's guesses: D's outputs on real vs generated "
             "images after each epoch.</p>"]
    if run.histograms:
        try:
            xlabel = get_loss(str(run.config.get("loss"))).d_output_label
        except SneakerganError:
            xlabel = "D output"
        parts.append(figure(histogram_overlay(run.histograms, xlabel),
                            "a few epochs overlaid, from early (dark) to late (light), from d_histograms.jsonl",
                            "histogram-overlay"))
    else:
        parts.append(missing(f"no d_histograms.jsonl ({_command(run)} writes a line after every sample_every "
                             "epochs)"))
    if run.histogram_images:
        frames, note = _frames(run.histogram_images, "histogram")
        parts.append((scrubber(frames, "D-output histogram", "histograms") if frames else "") + note)
    else:
        parts.append(missing(f"no histograms/epoch_*.png ({_command(run)} draws one per epoch with the samples)"))
    return "".join(parts)


def _scores(run: RunData) -> str:
    if not run.evaluations:
        return missing("no evaluation lines in metrics.jsonl (train with --eval-every N for a quick FID every N "
                       "epochs)")
    name = score_name(run.evaluations[-1]["eval"])
    batch = run.config.get("batch_size")
    times = training_seconds_at_evaluations(run.all_records, batch) if isinstance(batch, int) else []
    minutes = [seconds / 60 for seconds, _ in times] if run.training and len(times) == len(run.evaluations) else []
    rows, points = [], []
    for index, record in enumerate(run.evaluations):
        score = record["eval"].get(name)
        at = minutes[index] if minutes else record.get("epoch", index + 1)
        if isinstance(score, (int, float)):
            points.append((at, score))
        rows.append((record.get("epoch", "?"), record["step"], f"{minutes[index]:.1f}" if minutes else "?",
                     f"{score:.3f}" if isinstance(score, (int, float)) else "?", "yes" if record.get("best") else "",
                     record["eval"].get("eval_seconds", "?")))
    xlabel = "training time (minutes)" if minutes else "epoch"
    parts = [figure(score_curve(points, xlabel, name), f"{name} logged during training, against {xlabel}",
                    "score-curve")] if points else []
    header = ("epoch", "step", "training minutes", name, "best so far", "evaluation seconds")
    return "".join(parts) + table(rows, header, "scores")
