"""Tiny real runs for the report tests: trained like tests/train's, plus evaluation reports written by hand
(with the keys `sneakergan evaluate` and `eval-sr` write) so the report has every section to show."""

import json

import numpy as np
import pytest
from PIL import Image

from sneakergan.inference.run_dir import RunDir
from sneakergan.train.loop import Trainer
from tests.train import test_sr_loop
from tests.train.test_loop import _config, _images

# Text a report must escape: in the run's name, its config and an evaluation report's label.
RUN_NAME = "mlp <b>&amp; 'run'"
DESCRIPTION = '<script>alert("config")</script> & more'
LABEL = "<img src=x onerror=alert(1)>"
GAN_EPOCHS = 3


def _png(path, width, height, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def write_eval_report(eval_folder, name="res28_n2000"):
    report = {
        "label": LABEL, "sneakergan_version": "0.1.0", "resolution": 28, "n_generated": 2000, "n_reference": 40,
        "run": "/somewhere/run", "seed": 0, "reference": "/somewhere/train",
        "fid": 12.3456, "kid_mean": 0.005589, "kid_std": 0.000708, "prd_f8": 0.9705, "prd_f1_8": 0.9818,
        "precision": 0.6125, "recall": 0.3609, "density": 0.686, "coverage": 0.7481,
        "memorization": {"fake_to_real_median": 10.1, "real_to_real_median": 9.5, "ratio": 1.0621},
        "prd_curve": {"precision": [1.0, 0.9, 0.0], "recall": [0.0, 0.8, 1.0]},
        "feature_seconds": 700.0, "total_seconds": 758.7,
        "plots": {"prd": f"{name}_prd.png", "nearest": f"{name}_nearest.png"},
    }
    eval_folder.mkdir(parents=True, exist_ok=True)
    (eval_folder / f"{name}.json").write_text(json.dumps(report, indent=1))
    _png(eval_folder / f"{name}_prd.png", 50, 50, 1)
    _png(eval_folder / f"{name}_nearest.png", 40, 60, 2)
    return report


def write_sr_report(eval_folder, name="sr_test"):
    report = {
        "sr_run": "/somewhere/sr", "data": "/somewhere/test", "images": 812,
        "metric": "Y channel (BT.601), 4-pixel border crop, mean over images",
        "psnr_y": {"sr": 26.7379, "bicubic": 24.4309}, "ssim_y": {"sr": 0.86747, "bicubic": 0.81331},
        "lr_consistency_psnr_y": {"sr": 36.1576, "bicubic": 36.0454}, "sr_beats_bicubic_psnr": 0.9692,
        "figure": f"elsewhere/{name}.png", "figure_columns": ["LR (nearest)", "bicubic", "SR", "original"],
        "seconds": 55.0,
    }
    eval_folder.mkdir(parents=True, exist_ok=True)
    (eval_folder / f"{name}.json").write_text(json.dumps(report, indent=2))
    _png(eval_folder / f"{name}.png", 30, 70, 3)
    return report


@pytest.fixture(scope="session")
def gan_run(tmp_path_factory):
    """seed-mlp, 3 epochs on 40 random images with a (fake) quick FID after each, an evaluation report and a
    JSON file in eval/ that is not a report."""
    root = tmp_path_factory.mktemp("report-runs") / RUN_NAME
    cfg = _config("seed-mlp", epochs=GAN_EPOCHS, eval_every=1, precision="fp32", description=DESCRIPTION)
    scores = iter([30.0, 20.0, 25.0])
    Trainer(cfg, RunDir.create(root, cfg), _images(), progress=False,
            evaluator=lambda model: {"fid2000": next(scores), "eval_seconds": 0.5}).fit()
    write_eval_report(root / "eval")
    (root / "eval" / "notes.json").write_text('{"note": "not a report"}')
    return root


@pytest.fixture(scope="session")
def sr_run(tmp_path_factory):
    """A tiny stage-2 run (8 -> 32 pixels, 2 epochs) as tests/train/test_sr_loop.py trains it, plus an eval-sr
    report."""
    root = tmp_path_factory.mktemp("report-runs") / "sr"
    test_sr_loop._train(root, test_sr_loop._config(2))
    write_sr_report(root / "eval")
    return root
