import json

import numpy as np
import pytest
from PIL import Image

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


@pytest.fixture
def inception():
    """Skips where the FID network is not installed."""
    from sneakergan.errors import SneakerganError
    from sneakergan.metrics.features import locate_inception

    try:
        locate_inception()
    except SneakerganError as exc:
        pytest.skip(f"feature network not installed: {exc}")


def test_the_evaluate_command_scores_a_run(inception, tiny_image_folder, tmp_path, capsys):
    from sneakergan.cli import main

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


def test_pipeline_sampler_at_both_resolutions():
    from sneakergan.inference.bundle import bundle_folder
    from sneakergan.metrics.protocol import PipelineSampler

    if not (bundle_folder() / "manifest.json").exists():
        pytest.skip("no bundled models in this checkout")
    lr, same = PipelineSampler(None, None, "sr", 28, "cpu")(3, 0)
    sr, sr_input = PipelineSampler(None, None, "sr", 112, "cpu")(3, 0)
    bicubic, bicubic_input = PipelineSampler(None, None, "bicubic", 112, "cpu")(3, 0)
    assert lr.shape == (3, 28, 28, 3) and sr.shape == bicubic.shape == (3, 112, 112, 3)
    assert np.array_equal(lr, same) and np.array_equal(lr, sr_input) and np.array_equal(lr, bicubic_input)
    assert not np.array_equal(sr, bicubic)
    # what evaluate scores is what generate makes
    from sneakergan.inference.pipeline import apply_stage2, generate_images

    assert np.array_equal(lr, generate_images(None, 3, 0, "cpu")) and np.array_equal(sr, apply_stage2(None, lr, "cpu"))


class _ColourFeatures:
    """A cheap stand-in for the Inception network (the real one is tested above): colour statistics and
    a 4x4 grey thumbnail per image, 22 features. What these tests check does not depend on the network."""

    sha256, mode = "stand-in", "fp32"

    def __init__(self, path=None, device="cpu", **kwargs):
        pass

    def __call__(self, images):
        x = images.astype(np.float32)
        grey = x.mean(-1)
        size = grey.shape[1] // 4
        thumbnail = grey[:, :size * 4, :size * 4].reshape(len(x), 4, size, 4, size).mean((2, 4)).reshape(len(x), -1)
        pixels = x.reshape(len(x), -1, 3)
        return np.concatenate([pixels.mean(1), pixels.std(1), thumbnail], axis=1)


@pytest.fixture
def stand_in_features(monkeypatch):
    monkeypatch.setattr("sneakergan.metrics.features.InceptionFeatureExtractor", _ColourFeatures)


def _tiny_run(data, out, preset, *sets):
    from sneakergan.cli import main

    args = ["train", "--preset", preset, "--data", str(data), "--out", str(out), "--epochs", "1", "--batch-size",
            "16", "--eval-every", "0", "--precision", "fp32", "--device", "cpu", "--workers", "1"]
    assert main([*args, *[item for key in sets for item in ("--set", key)]]) == 0
    return out


def test_a_conditional_run_gets_label_accuracy_and_intra_class_fids(stand_in_features, tiny_image_folder, tmp_path,
                                                                     capsys, monkeypatch):
    import sneakergan.inference.pipeline
    from sneakergan.cli import main

    run = _tiny_run(tiny_image_folder, tmp_path / "cgan", "sngan-cgan-colour", "g_width=8", "d_width=8",
                    "condition=price")
    base = ["evaluate", "--run", str(run), "--data", str(tiny_image_folder), "--n", "20", "--device", "cpu"]
    loads, load = [], sneakergan.inference.pipeline.load_checkpoint
    monkeypatch.setattr(sneakergan.inference.pipeline, "load_checkpoint", lambda path: loads.append(path) or load(path))
    assert main([*base, "--per-class", "6"]) == 0
    assert len(loads) == 1  # the generator is loaded once, not once per class
    out = capsys.readouterr().out
    assert "label accuracy" in out and "intra-class FID mean" in out
    report = json.loads((run / "eval" / "res28_n20.json").read_text())
    scores = report["conditional"]
    assert report["class_prior"] == "reference proportions" and scores["per_class"] == 6
    assert [c["name"] for c in scores["classes"]] == ["cheap", "expensive"]
    assert [c["n_reference"] for c in scores["classes"]] == [24, 24]
    assert all(c["n_generated"] == 6 and np.isfinite(c["fid"]) for c in scores["classes"])
    assert scores["classifier"]["held_out_images"] == 9 and 0 <= scores["label_accuracy"] <= 1
    # the raw G weights (the EMA's ablation) go to their own report and give other images
    assert main([*base, "--no-ema", "--per-class", "0"]) == 0
    raw = json.loads((run / "eval" / "res28_n20_raw.json").read_text())
    assert raw["weights"] == "raw" and "conditional" not in raw and raw["fid"] != report["fid"]


@pytest.mark.parametrize("args, message", [
    (["--per-class", "5"], "--per-class needs a class-conditional stage-1 run"),
    (["--images", "{data}", "--no-ema", "--out", "x.json"], "--per-class and --no-ema apply to generated samples"),
    (["--per-class", "-1"], "--per-class"),
])
def test_conditional_options_on_the_wrong_input_are_one_line_errors(stand_in_features, tiny_image_folder, tmp_path,
                                                                    capsys, monkeypatch, args, message):
    from sneakergan.cli import main

    monkeypatch.chdir(tmp_path)
    run = _tiny_run(tiny_image_folder, tmp_path / "plain", "seed-mlp", "g_width=8", "d_width=8")
    source = [] if "--images" in args else ["--run", str(run)]
    capsys.readouterr()
    assert main(["evaluate", *source, *[a.format(data=tiny_image_folder) for a in args], "--data",
                 str(tiny_image_folder), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert not (run / "eval").exists() and not (tmp_path / "x.json").exists()


def test_a_single_stage_112_run_is_scored_at_both_resolutions_without_stage_2(stand_in_features, tiny_image_folder,
                                                                               tmp_path, capsys):
    from sneakergan.cli import main

    run = _tiny_run(tiny_image_folder, tmp_path / "big", "sngan-112", "g_width=2", "d_width=2")
    base = ["evaluate", "--run", str(run), "--data", str(tiny_image_folder), "--n", "24", "--device", "cpu"]
    for res in ("112", "28"):
        assert main([*base, "--res", res]) == 0
        report = json.loads((run / "eval" / f"res{res}_n24.json").read_text())
        assert report["single_stage"] and report["resolution"] == int(res) and report["label"] == "big"
        assert "sr_run" not in report and "lr_consistency_psnr_y" not in report
    capsys.readouterr()
    assert main([*base, "--res", "112", "--upscale", "bicubic"]) == 2
    assert "makes 112x112 images in one stage: --upscale does not apply" in capsys.readouterr().err
    # generate: 112x112 straight from stage 1, and no stage 2 to choose
    assert main(["generate", "--lr-run", str(run), "-n", "4", "--nrow", "4", "--out", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as grid:
        assert grid.size == (4 * 114 + 2, 114 + 2)
    assert main(["generate", "--lr-run", str(run), "--sr-run", str(run), "-n", "4", "--out",
                 str(tmp_path / "h.png")]) == 2
    assert "makes 112x112 images in one stage: --sr-run does not apply" in capsys.readouterr().err


def test_too_few_images_for_the_metrics_is_a_one_line_error(stand_in_features, tiny_image_folder, tmp_path, capsys,
                                                              monkeypatch):
    from sneakergan.cli import main

    # counted before the reference features (seconds to minutes at the real protocol) are computed
    monkeypatch.setattr("sneakergan.metrics.reference.reference_stats",
                        lambda *args, **kwargs: pytest.fail("reference features computed before the count check"))

    few = tmp_path / "few"
    few.mkdir()
    rng = np.random.default_rng(0)
    for index in range(12):
        Image.fromarray(rng.integers(0, 256, (28, 28, 3), dtype=np.uint8)).save(few / f"{index}.png")
    out = tmp_path / "few.json"
    assert main(["evaluate", "--images", str(few), "--data", str(tiny_image_folder), "--out", str(out),
                 "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "need at least 20 images to score (PRD's clusters); got 12" in err and "Traceback" not in err
    assert not out.exists()
