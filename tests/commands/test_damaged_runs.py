"""Fuzz-style: every command that reads a run folder, on run folders damaged in every way we could think
of (truncated, garbage, missing, empty or non-UTF-8 files, bad JSON, wrong types and shapes, a folder
where a file belongs). Each must end with exit status 0 or 2, never a traceback; on 2 with exactly one
error line, having written nothing; and nothing outside the run folder may change."""

import json
import shutil

import numpy as np
import torch

from sneakergan.cli import main
from sneakergan.inference.checkpoint import load_checkpoint, save_checkpoint
from tests.commands.test_train_safety import TINY, trained  # noqa: F401  (the module-scoped fixture)
from tests.metrics.test_evaluate import _ColourFeatures


def _rewrite(name, change):
    def damage(path):
        target = path / name
        target.write_bytes(change(target.read_bytes()))
    return damage


def _replace_with(name, data):
    return _rewrite(name, lambda _: data)


def _remove(name):
    return lambda path: (path / name).unlink()


def _folder_instead(name):
    def damage(path):
        (path / name).unlink()
        (path / name).mkdir()
        (path / name / "x").write_text("x")
    return damage


def _config_change(**changes):
    def change(raw):
        return json.dumps({**json.loads(raw), **changes}).encode()
    return _rewrite("config.json", change)


def _checkpoint_change(change):
    def damage(path):
        state = load_checkpoint(path / "checkpoint.safetensors")
        save_checkpoint(path / "checkpoint.safetensors", change(state))
    return damage


def _reshaped(state):
    first = next(iter(state["model"]["generator"]))
    state["model"]["generator"][first] = torch.zeros(3, 5)
    return state


def _nan_weights(state):
    state["model"]["generator"] = {k: torch.full_like(v, float("nan")) for k, v in state["model"]["generator"].items()}
    return state


def _garbage(raw):
    return np.random.default_rng(len(raw)).integers(0, 256, max(len(raw), 64), dtype=np.uint8).tobytes()


CONFIG, CHECKPOINT, METRICS = "config.json", "checkpoint.safetensors", "metrics.jsonl"
# (what is damaged, how, whether the run is unusable for the commands that load its networks)
DAMAGES = {
    "config missing": (_remove(CONFIG), True),
    "config empty": (_replace_with(CONFIG, b""), True),
    "config truncated": (_rewrite(CONFIG, lambda raw: raw[:len(raw) // 2]), True),
    "config garbage": (_rewrite(CONFIG, _garbage), True),
    "config non-UTF-8": (_rewrite(CONFIG, lambda raw: raw.replace(b'"seed-mlp"', b'"seed-\xff\xfemlp"')), True),
    "config not an object": (_replace_with(CONFIG, b"[1, 2, 3]"), True),
    "config deeply nested": (_replace_with(CONFIG, b"[" * 100_000 + b"]" * 100_000), True),
    "config wrong type": (_config_change(g_width="wide"), True),
    "config unknown field": (_config_change(colour="red"), True),
    "config other width": (_config_change(g_width=32), True),
    "config other architecture": (_config_change(architecture="dcgan"), True),
    "config other task": (_config_change(task="sr", architecture="srresnet", image_size=112), True),
    "config is a folder": (_folder_instead(CONFIG), True),
    "checkpoint missing": (_remove(CHECKPOINT), True),
    "checkpoint empty": (_replace_with(CHECKPOINT, b""), True),
    "checkpoint truncated": (_rewrite(CHECKPOINT, lambda raw: raw[:len(raw) // 2]), True),
    "checkpoint garbage": (_rewrite(CHECKPOINT, _garbage), True),
    "checkpoint header garbled": (_rewrite(CHECKPOINT, lambda raw: raw[:8] + b"\xff" * 40 + raw[48:]), True),
    "checkpoint pickled": (_replace_with(CHECKPOINT, b"\x80\x04\x95" + b"\x00" * 64), True),
    "checkpoint reshaped tensor": (_checkpoint_change(_reshaped), True),
    "checkpoint without model": (_checkpoint_change(lambda state: {"step": 3}), True),
    "checkpoint NaN weights": (_checkpoint_change(_nan_weights), False),  # train's rollback handles it
    "checkpoint is a folder": (_folder_instead(CHECKPOINT), True),
    "metrics garbage": (_rewrite(METRICS, _garbage), False),
    "metrics non-UTF-8 line": (_rewrite(METRICS, lambda raw: raw + b'{"step": 1, "x": "\xff"}\n'), False),
    "metrics wrong types": (_rewrite(METRICS, lambda raw: raw + b'{"step": "x", "img_per_s": "fast"}\n[]\n'), False),
    "metrics is a folder": (_folder_instead(METRICS), False),
    "histograms log wrong types": (_replace_with("d_histograms.jsonl", b'{"epoch": 1, "edges": "x"}\n7\n'), False),
    "sample grid garbage": (_rewrite("samples/epoch_0001.png", _garbage), False),
    "sample grid truncated": (_rewrite("samples/epoch_0001.png", lambda raw: raw[:100]), False),
    "histogram figure missing": (_remove("histograms/epoch_0001.png"), False),
    "loss curve is a folder": (_folder_instead("loss_curve.png"), False),
}


def _commands(run, data, out):
    return {
        "train --resume": ["train", "--resume", str(run), "--epochs", "2"],
        "generate": ["generate", "--lr-run", str(run), "--stage", "lr", "-n", "4", "--out", str(out / "g.png")],
        "report": ["report", str(run), "--out", str(out / "report.html")],
        "evaluate --run": ["evaluate", "--run", str(run), "--data", str(data), "--n", "20", "--res", "28",
                           "--out", str(out / "r.json"), "--device", "cpu", "--workers", "1"],
    }


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_damaged_run_folders_give_one_line_errors_and_lose_nothing(trained, tmp_path, capsys, monkeypatch):  # noqa: F811
    monkeypatch.setattr("sneakergan.metrics.features.InceptionFeatureExtractor", _ColourFeatures)
    data, good_run = trained
    data_before = _files(data)
    problems, tried, failed_cleanly = [], 0, 0
    for case, (damage, unusable) in DAMAGES.items():
        for command in ("train --resume", "generate", "report", "evaluate --run"):
            work = tmp_path / f"case{tried}"
            run, out = work / "run", work / "out"
            shutil.copytree(good_run, run)
            out.mkdir()
            damage(run)
            tried += 1
            try:
                status = main(_commands(run, data, out)[command])
            except BaseException as exc:  # noqa: BLE001  (the finding: a traceback)
                problems.append(f"{case} / {command}: {type(exc).__name__}: {exc}"[:300])
                capsys.readouterr()
                continue
            err = capsys.readouterr().err
            errors = [line for line in err.splitlines() if line.startswith("error: ")]
            needs_networks = command != "report" or case.startswith("config") and case not in (
                "config other width", "config other architecture", "config other task", "config unknown field",
                "config wrong type")
            if status not in (0, 2) or "Traceback" in err:
                problems.append(f"{case} / {command}: exit {status}: {err[-300:]}")
            elif status == 2:
                failed_cleanly += 1
                if len(errors) != 1:
                    problems.append(f"{case} / {command}: {len(errors)} error lines: {err[-300:]}")
                if any(out.iterdir()):
                    problems.append(f"{case} / {command}: failed but wrote {sorted(p.name for p in out.iterdir())}")
            elif unusable and needs_networks and command != "report":
                problems.append(f"{case} / {command}: exit 0 on an unusable run")
            shutil.rmtree(work)
    assert _files(data) == data_before  # the data folder outside the run is never touched
    assert not problems, f"{len(problems)} of {tried} cases:\n" + "\n".join(problems)
    print(f"\n{tried} damaged-run cases: {failed_cleanly} one-line errors, the rest completed; 0 tracebacks")
