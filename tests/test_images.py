import numpy as np
import torch
from PIL import Image

from sneakergan.images import make_grid, save_grid, to_uint8


def test_to_uint8_uses_the_fid_convention():
    values = torch.tensor([-1.0, -0.5, 0.0, 0.999, 1.0]).view(1, 1, 1, 5).expand(1, 3, 1, 5)
    # (g * 127.5 + 128) clamped to [0, 255], then truncated
    assert to_uint8(values)[0, 0, :, 0].tolist() == [0, 64, 128, 255, 255]


def test_grid_layout():
    images = np.zeros((5, 4, 4, 3), dtype=np.uint8)
    images[4] = 7
    grid = make_grid(images, nrow=3, padding=1)
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 1, 3)
    assert (grid[6:10, 6:10] == 7).all() and grid[0, 0, 0] == 255


def test_save_grid_writes_a_png(tmp_path):
    save_grid(torch.zeros(4, 3, 28, 28), tmp_path / "g.png", scale=2)
    with Image.open(tmp_path / "g.png") as picture:
        assert picture.format == "PNG" and picture.size == (2 * (2 * 30 + 2),) * 2
