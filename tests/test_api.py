"""The public Python API: `sneakergan.load_pipeline`, the README's snippet, and pixel-for-pixel agreement
with `sneakergan generate` at the same settings."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sneakergan
from sneakergan.cli import main
from sneakergan.inference.bundle import bundle_folder

README = Path(__file__).resolve().parents[1] / "README.md"
pytestmark = pytest.mark.skipif(not (bundle_folder() / "manifest.json").exists(), reason="no bundled models")


def test_the_package_exports_its_api():
    assert {"load_pipeline", "Pipeline", "__version__"} <= set(sneakergan.__all__)
    assert sneakergan.Pipeline is sneakergan.load_pipeline(device="cpu").__class__


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_generate_from_python_equals_the_command_pixel_for_pixel(tmp_path, precision):
    pipeline = sneakergan.load_pipeline(device="cpu", precision=precision)
    images = pipeline.generate(5, seed=3, sr_seed=2)
    assert images.shape == (5, 112, 112, 3) and images.dtype == np.uint8 and pipeline.z_dim == 32
    assert main(["generate", "-n", "5", "--seed", "3", "--sr-seed", "2", "--format", "files", "--device", "cpu",
                 "--precision", precision, "--out", str(tmp_path / "files")]) == 0
    written = np.stack([np.asarray(Image.open(path)) for path in sorted((tmp_path / "files").glob("*.png"))])
    assert np.array_equal(images, written)


def test_the_stages_run_one_at_a_time_as_generate_runs_them():
    pipeline = sneakergan.load_pipeline(device="cpu", precision="fp32")
    lr = pipeline.sample_lr(3, seed=7)
    assert lr.shape == (3, 28, 28, 3) and np.array_equal(pipeline.upscale(lr), pipeline.generate(3, seed=7))
    assert isinstance(pipeline.stage1, __import__("torch").nn.Module) and pipeline.image_size == 112


def test_the_readmes_python_snippet_runs(tmp_path, monkeypatch, capsys):
    section = README.read_text().split("## Use from Python", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    assert "(8, 112, 112, 3) 32" in capsys.readouterr().out
