import numpy as np

from sneakergan.metrics.prd import compute_prd
from sneakergan.viz.prd_plot import plot_prd_curves


def test_writes_a_png(tmp_path):
    good = compute_prd(np.array([0.5, 0.5]), np.array([0.5, 0.5]), num_angles=101)
    worse = compute_prd(np.array([0.9, 0.1]), np.array([0.5, 0.5]), num_angles=101)
    path = tmp_path / "plots" / "prd.png"
    plot_prd_curves([("model a", *good), ("model b", *worse)], path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in path.parent.iterdir()] == ["prd.png"]  # no temporary left behind
