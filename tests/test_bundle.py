import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from sneakergan.cli import main
from sneakergan.config import load_preset
from sneakergan.errors import RunDirError
from sneakergan.inference.bundle import bundle_folder, export_generator, load_bundled, update_bundle
from sneakergan.models.build import build_generator


def _tiny_bundle(folder):
    cfg = load_preset("seed-dcgan").replace(g_width=8)
    torch.manual_seed(0)
    generator = build_generator(cfg)
    sha = export_generator(generator, cfg, folder / "stage1.safetensors")
    (folder / "manifest.json").write_text(json.dumps({"stage1": {"file": "stage1.safetensors", "sha256": sha}}))
    return generator, cfg


def test_export_and_load_round_trip_in_fp16(tmp_path):
    generator, cfg = _tiny_bundle(tmp_path)
    state, loaded_cfg = load_bundled("stage1", tmp_path)
    assert loaded_cfg == cfg
    for key, value in generator.state_dict().items():
        assert state[key].dtype == value.dtype
        assert torch.allclose(state[key], value, atol=1e-3, rtol=1e-3)  # fp16 storage


def test_a_tampered_or_missing_bundle_is_a_clear_error(tmp_path):
    _tiny_bundle(tmp_path)
    data = bytearray((tmp_path / "stage1.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / "stage1.safetensors").write_bytes(bytes(data))
    with pytest.raises(RunDirError, match="altered"):
        load_bundled("stage1", tmp_path)
    with pytest.raises(RunDirError, match="no bundled stage2"):
        load_bundled("stage2", tmp_path)


def test_update_bundle_replaces_one_stage_and_keeps_the_other(tmp_path):
    stage1, cfg = _tiny_bundle(tmp_path)
    kept = (tmp_path / "stage1.safetensors").read_bytes()
    sr_cfg = cfg.replace(g_width=4, description="stands in for a stage 2")  # any module + config will do
    stage2 = build_generator(sr_cfg)
    manifest = update_bundle({"stage2": (stage2, sr_cfg, "my-sr-run")}, tmp_path)
    assert list(manifest) == ["stage1", "stage2"] and manifest["stage2"]["run"] == "my-sr-run"
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert (tmp_path / "stage1.safetensors").read_bytes() == kept
    assert load_bundled("stage1", tmp_path)[1] == cfg and load_bundled("stage2", tmp_path)[1] == sr_cfg

    torch.manual_seed(1)
    manifest = update_bundle({"stage1": (build_generator(cfg), cfg, "better-stage1")}, tmp_path)
    assert manifest["stage1"]["run"] == "better-stage1" and (tmp_path / "stage1.safetensors").read_bytes() != kept
    assert load_bundled("stage2", tmp_path)[1] == sr_cfg  # still matches its sha256

    (tmp_path / "stage2.safetensors").write_bytes(b"altered")  # a kept stage that no longer matches is refused
    with pytest.raises(RunDirError, match="altered"):
        update_bundle({"stage1": (stage1, cfg, "x")}, tmp_path)
    with pytest.raises(ValueError, match="stages to export"):
        update_bundle({"stage3": (stage1, cfg, "x")}, tmp_path)


@pytest.mark.skipif(not (bundle_folder() / "manifest.json").exists(), reason="no bundled models in this checkout")
def test_generate_works_out_of_the_box(tmp_path):
    assert main(["generate", "-n", "4", "--seed", "0", "--out", str(tmp_path / "s.png")]) == 0
    with Image.open(tmp_path / "s.png") as grid:
        assert grid.size == (2 * 114 + 2, 2 * 114 + 2)  # 112x112 sneakers through both bundled stages
    assert main(["generate", "-n", "4", "--stage", "lr", "--out", str(tmp_path / "lr.png")]) == 0
    with Image.open(tmp_path / "lr.png") as grid:
        assert grid.size == (2 * 30 + 2, 2 * 30 + 2)
    copy = tmp_path / "bundle"
    shutil.copytree(bundle_folder(), copy)
    assert load_bundled("stage2", copy)[1].task == "sr"


@pytest.mark.skipif(not (bundle_folder() / "manifest.json").exists(), reason="no bundled models in this checkout")
def test_generate_precision_bf16_stays_close_to_fp32(tmp_path):
    grids = {}
    for precision in ("fp32", "bf16"):
        out = tmp_path / f"{precision}.png"
        assert main(["generate", "-n", "4", "--seed", "0", "--precision", precision, "--out", str(out)]) == 0
        with Image.open(out) as grid:
            grids[precision] = np.asarray(grid, dtype=int)
    diff = np.abs(grids["fp32"] - grids["bf16"])
    assert 0 < diff.max() <= 16 and diff.mean() < 0.5  # bf16 really ran, and moved pixels only slightly
