import pytest

from sneakergan.viz.plots import plot_score_over_time, training_seconds_at_evaluations


def test_training_time_at_each_evaluation_counts_training_intervals_only():
    records = [
        {"step": 10, "img_per_s": 100.0},  # 10 steps x 64 images at 100 img/s: 6.4 s
        {"step": 20, "img_per_s": 200.0},  # 3.2 s
        {"step": 20, "epoch": 1, "eval": {"eval_seconds": 60.0, "fid1000": 90.0}},  # not training time
        {"step": 30, "img_per_s": 64.0},  # 10 s
        {"step": 30, "epoch": 2, "eval": {"eval_seconds": 60.0, "fid1000": 70.0}},  # sorted keys, as logged
    ]
    points = training_seconds_at_evaluations(records, batch_size=64)
    assert [p[1] for p in points] == [90.0, 70.0]
    assert points[0][0] == pytest.approx(9.6) and points[1][0] == pytest.approx(19.6)


def test_score_plot_writes_a_png(tmp_path):
    out = tmp_path / "fid.png"
    plot_score_over_time([("a", [(60.0, 100.0), (120.0, 80.0)]), ("empty", [])], out)
    assert out.read_bytes()[:4] == b"\x89PNG"
