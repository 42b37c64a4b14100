import numpy as np
import pytest
import torch
from PIL import Image

from sneakergan.cli import main
from sneakergan.inference.bundle import bundle_folder
from sneakergan.inference.interpolate import latent_path, slerp
from sneakergan.inference.pipeline import generate_images

needs_bundle = pytest.mark.skipif(not (bundle_folder() / "manifest.json").exists(), reason="no bundled models")


def test_slerp_keeps_the_norm_between_equal_norm_vectors_and_hits_the_ends():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = slerp(a, b, torch.linspace(0, 1, 5))
    assert torch.allclose(path[0], a) and torch.allclose(path[-1], b, atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.ones(5))  # a straight line would dip to 0.71
    assert torch.allclose(slerp(a, a, torch.tensor([0.5])), a.unsqueeze(0))  # parallel: no division by 0


def test_latent_path_shares_endpoints_and_starts_at_the_seeds_first_latent():
    path = latent_path([3, 7, 11], z_dim=32, steps=5)
    assert path.shape == (2 * 4 + 1, 32)
    first = torch.randn(1, 32, generator=torch.Generator().manual_seed(3))[0]
    assert torch.equal(path[0], first)


@needs_bundle
def test_interpolate_writes_a_strip_and_a_gif_from_the_seeds_sneakers(tmp_path):
    strip = tmp_path / "strip.png"
    assert main(["interpolate", "--seeds", "0", "1", "--steps", "4", "--stage", "lr", "--precision", "fp32",
                 "--out", str(strip)]) == 0
    with Image.open(strip) as image:
        assert image.size == (4 * 30 + 2, 30 + 2)
        first = np.asarray(image)[2:30, 2:30]
    assert np.array_equal(first, generate_images(None, 1, 0, "cpu")[0])  # the seed's own sneaker
    gif = tmp_path / "morph.gif"
    assert main(["interpolate", "--seeds", "0", "1", "2", "--steps", "3", "--out", str(gif)]) == 0
    with Image.open(gif) as image:
        assert image.size == (112, 112) and image.n_frames == 2 * 5 - 2  # 5 frames there and back


@pytest.mark.parametrize("args, message", [
    (["--seeds", "1"], "--seeds needs at least two seeds"),
    (["--seeds", "1", "2", "--steps", "1"], "--frames must be"),  # --steps: the earlier spelling
    (["--seeds", "1", "2", "--out", "x.tiff"], "must end in .png, .jpg, .jpeg (a strip) or .gif, .webp"),
    (["--seeds", "1", "2", "--stage", "lr", "--sr-run", "r"], "--sr-run needs --stage sr"),
])
def test_interpolate_mistakes_are_one_line_errors(tmp_path, capsys, args, message):
    out = ["--out", str(tmp_path / "s.png")] if "--out" not in args else []
    assert main(["interpolate", *args, *out]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
