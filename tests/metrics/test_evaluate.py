import json

import numpy as np
import pytest

from sneakergan.metrics.evaluate import MetricSettings, score_features
from sneakergan.metrics.fid import feature_statistics
from sneakergan.metrics.reference import ReferenceStats

FAST = MetricSettings(kid_subsets=10, kid_subset_size=100, prd_runs=2, prd_angles=101)


def _reference(features):
    mu, sigma = feature_statistics(features)
    return ReferenceStats(features=features, mu=mu, sigma=sigma, images=np.zeros((len(features), 4, 4, 3), np.uint8),
                          key="k")


def test_scores_separate_a_good_model_from_a_bad_one():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(400, 16)).astype(np.float32)
    reference = _reference(real)
    good = score_features(rng.normal(size=(400, 16)).astype(np.float32), reference, FAST)
    bad = score_features(rng.normal(2.0, 0.3, size=(400, 16)).astype(np.float32), reference, FAST)
    assert good["fid"] < 1 < bad["fid"]
    assert good["kid_mean"] < bad["kid_mean"]
    assert good["prd_f8"] > bad["prd_f8"] and good["prd_f1_8"] > bad["prd_f1_8"]
    assert good["recall"] > bad["recall"] and good["coverage"] > bad["coverage"]
    assert len(good["prd_curve"]["precision"]) == 101
    json.dumps(good)  # the report is plain JSON


def test_copies_of_the_training_set_are_flagged():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(300, 16)).astype(np.float32)
    copies = score_features(real[:200] + 1e-3, _reference(real), FAST)["memorization"]
    fresh = score_features(rng.normal(size=(300, 16)).astype(np.float32), _reference(real), FAST)["memorization"]
    assert copies["ratio"] < 0.01 < 0.5 < fresh["ratio"]


def test_the_evaluate_command_scores_a_run(tiny_image_folder, tmp_path, capsys):
    pytest.importorskip("sneakergan.metrics.features")
    from sneakergan.cli import main
    from sneakergan.errors import SneakerganError
    from sneakergan.metrics.features import locate_inception

    try:
        locate_inception()
    except SneakerganError as exc:
        pytest.skip(f"feature network not installed: {exc}")
    run = tmp_path / "run"
    assert main(["train", "--preset", "seed-mlp", "--data", str(tiny_image_folder), "--out", str(run), "--epochs", "1",
                 "--batch-size", "16", "--set", "g_width=32", "--set", "d_width=32", "--device", "cpu"]) == 0
    args = ["evaluate", "--run", str(run), "--data", str(tiny_image_folder), "--n", "40", "--device", "cpu"]
    assert main(args) == 0
    assert "fid" in capsys.readouterr().out
    report = json.loads((run / "eval" / "res28_n40.json").read_text())
    assert report["n_generated"] == 40 and report["n_reference"] == 48 and report["resolution"] == 28
    network = report["feature_network"]
    assert network["resize"] == "tf1-legacy-bilinear" and len(network["sha256"]) == 64
    for key in ("fid", "kid_mean", "prd_f8", "prd_f1_8", "precision", "recall", "density", "coverage"):
        assert np.isfinite(report[key]), key
    assert (run / "eval" / "res28_n40_prd.png").exists() and (run / "eval" / "res28_n40_nearest.png").exists()
    assert main(args) == 2  # the report exists: no silent overwrite
    # the same images scored as a folder agree with themselves: FID of the reference against itself ~ 0
    assert main(["evaluate", "--images", str(tiny_image_folder), "--data", str(tiny_image_folder),
                 "--out", str(tmp_path / "self.json"), "--device", "cpu"]) == 0
    assert json.loads((tmp_path / "self.json").read_text())["fid"] == pytest.approx(0, abs=1e-3)


def test_pipeline_images_at_both_resolutions():
    from sneakergan.bundle import bundle_folder
    from sneakergan.metrics.protocol import pipeline_images

    if not (bundle_folder() / "manifest.json").exists():
        pytest.skip("no bundled models in this checkout")
    lr, same = pipeline_images(None, None, "sr", 28, 3, 0, "cpu")
    sr, sr_input = pipeline_images(None, None, "sr", 112, 3, 0, "cpu")
    bicubic, bicubic_input = pipeline_images(None, None, "bicubic", 112, 3, 0, "cpu")
    assert lr.shape == (3, 28, 28, 3) and sr.shape == bicubic.shape == (3, 112, 112, 3)
    assert np.array_equal(lr, same) and np.array_equal(lr, sr_input) and np.array_equal(lr, bicubic_input)
    assert not np.array_equal(sr, bicubic)
