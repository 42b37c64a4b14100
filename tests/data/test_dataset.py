import logging
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sneakergan.data import ImageDataset, PreprocessSettings, load_dataset
from sneakergan.data import cache as cache_module
from sneakergan.data import dataset as dataset_module
from sneakergan.errors import DataError

SMALL = PreprocessSettings(hr_size=16, lr_size=4, min_size=8)
RAW_SAMPLE = Path(__file__).parents[3] / "shared/data/raw-sample"


def write_image(path: Path, seed: int, size=(24, 20), fmt="PNG"):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format=fmt)


def no_preprocess(*args, **kwargs):
    raise AssertionError("preprocess must not run on a cache hit")


def count_preprocess_calls(monkeypatch) -> list:
    calls = []
    real = dataset_module.preprocess

    def spy(data, settings):
        calls.append(1)
        return real(data, settings)

    monkeypatch.setattr(dataset_module, "preprocess", spy)
    return calls


@pytest.fixture
def mixed_folder(tmp_path):
    root = tmp_path / "shoes"
    write_image(root / "cheap" / "a.png", 1)
    write_image(root / "cheap" / "b.jpg", 2, fmt="JPEG")
    write_image(root / "expensive" / "c.png", 3)
    (root / "expensive" / "copy_of_a.png").write_bytes((root / "cheap" / "a.png").read_bytes())
    (root / "expensive" / "broken.jpg").write_bytes((root / "cheap" / "b.jpg").read_bytes()[:200])
    (root / "notes.jpg").write_text("just text")
    (root / "readme.md").write_text("ignored: not an image extension")
    return root


def test_mixed_folder_counts_and_warnings(mixed_folder, caplog):
    caplog.set_level(logging.INFO, logger="sneakergan.data")
    data = load_dataset(mixed_folder, SMALL, cache_dir=False, workers=1)

    assert isinstance(data, ImageDataset)
    assert len(data) == 3
    assert data.relpaths == ("cheap/a.png", "cheap/b.jpg", "expensive/c.png")
    assert data.class_names == ("cheap", "expensive")
    assert data.labels.tolist() == [0, 0, 1] and data.labels.dtype == np.int64
    assert data.hr.shape == (3, 16, 16, 3) and data.hr.dtype == np.uint8
    assert data.lr.shape == (3, 4, 4, 3) and data.lr.dtype == np.uint8
    assert (data.skipped, data.duplicates) == (2, 1)
    assert data.source == str(mixed_folder.resolve())

    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sorted(warnings) == [
        "skipping expensive/broken.jpg: truncated or corrupt image data",
        "skipping notes.jpg: not an image",
    ]
    assert "dropped 1 exact duplicates" in caplog.text


def test_empty_folder_is_a_data_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no usable images in .*empty.*0 files skipped"):
        load_dataset(tmp_path / "empty", SMALL, cache_dir=False)


def test_folder_of_bad_files_is_a_data_error(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.jpg").write_bytes(b"")
    (tmp_path / "bad" / "b.png").write_text("nope")
    with pytest.raises(DataError, match=r"no usable images in .*bad .*\.jpg.*2 files skipped"):
        load_dataset(tmp_path / "bad", SMALL, cache_dir=False)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_is_skipped(tmp_path, caplog):
    write_image(tmp_path / "ok.png", 1)
    write_image(tmp_path / "locked.png", 2)
    os.chmod(tmp_path / "locked.png", 0)
    try:
        data = load_dataset(tmp_path, SMALL, cache_dir=False)
    finally:
        os.chmod(tmp_path / "locked.png", 0o644)
    assert data.relpaths == ("ok.png",) and data.skipped == 1
    assert "skipping locked.png: cannot read file" in caplog.text


def test_zip_dataset(tmp_path):
    write_image(tmp_path / "a.png", 1)
    with zipfile.ZipFile(tmp_path / "shoes.zip", "w") as archive:
        archive.write(tmp_path / "a.png", "cheap/a.png")
        archive.writestr("expensive/b.png", (tmp_path / "a.png").read_bytes()[::-1])  # corrupt
        write_image(tmp_path / "c.png", 3)
        archive.write(tmp_path / "c.png", "expensive/c.png")
    data = load_dataset(tmp_path / "shoes.zip", SMALL, cache_dir=False)
    assert data.relpaths == ("cheap/a.png", "expensive/c.png")
    assert data.class_names == ("cheap", "expensive") and data.skipped == 1


def test_cache_is_reused(mixed_folder, tmp_path, monkeypatch, caplog):
    cache = tmp_path / "cache"
    first = load_dataset(mixed_folder, SMALL, cache_dir=cache)
    entries = list((cache / "datasets").iterdir())
    assert len(entries) == 1
    assert sorted(p.name for p in entries[0].iterdir()) == ["hr.npy", "labels.npy", "lr.npy", "meta.json"]

    monkeypatch.setattr(dataset_module, "preprocess", no_preprocess)
    caplog.set_level(logging.INFO, logger="sneakergan.data")
    second = load_dataset(mixed_folder, SMALL, cache_dir=cache)

    assert "from cache" in caplog.text
    np.testing.assert_array_equal(first.hr, second.hr)
    np.testing.assert_array_equal(first.lr, second.lr)
    np.testing.assert_array_equal(first.labels, second.labels)
    for field in ("class_names", "relpaths", "source", "skipped", "duplicates"):
        assert getattr(first, field) == getattr(second, field)


def test_default_cache_dir_comes_from_the_environment(mixed_folder, tmp_path, monkeypatch):
    monkeypatch.setenv("SNEAKERGAN_CACHE", str(tmp_path / "envcache"))
    load_dataset(mixed_folder, SMALL)
    assert len(list((tmp_path / "envcache" / "datasets").iterdir())) == 1


def test_cache_is_invalidated_by_a_changed_file(mixed_folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = load_dataset(mixed_folder, SMALL, cache_dir=cache)
    target = mixed_folder / "expensive" / "c.png"
    write_image(target, 99)
    stat = target.stat()
    os.utime(target, (stat.st_atime, stat.st_mtime + 10))

    calls = count_preprocess_calls(monkeypatch)
    second = load_dataset(mixed_folder, SMALL, cache_dir=cache)
    assert calls, "a changed file must be decoded again"
    assert not np.array_equal(first.hr[2], second.hr[2])
    np.testing.assert_array_equal(first.hr[:2], second.hr[:2])


def test_cache_is_invalidated_by_added_file_and_by_settings(mixed_folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    load_dataset(mixed_folder, SMALL, cache_dir=cache)
    calls = count_preprocess_calls(monkeypatch)

    bigger = load_dataset(mixed_folder, PreprocessSettings(hr_size=20, lr_size=5, min_size=8), cache_dir=cache)
    assert calls and bigger.hr.shape == (3, 20, 20, 3)

    calls.clear()
    write_image(mixed_folder / "new.png", 7)
    assert len(load_dataset(mixed_folder, SMALL, cache_dir=cache)) == 4
    assert calls


def test_corrupt_cache_entry_is_rebuilt(mixed_folder, tmp_path, caplog):
    cache = tmp_path / "cache"
    first = load_dataset(mixed_folder, SMALL, cache_dir=cache)
    (entry,) = (cache / "datasets").iterdir()
    (entry / "hr.npy").write_bytes((entry / "hr.npy").read_bytes()[:100])  # truncated

    second = load_dataset(mixed_folder, SMALL, cache_dir=cache)
    assert "ignoring unreadable dataset cache" in caplog.text
    np.testing.assert_array_equal(first.hr, second.hr)
    np.load(entry / "hr.npy", allow_pickle=False)  # the entry was replaced by a good one


def test_losing_the_cache_race_keeps_the_existing_entry(mixed_folder, tmp_path):
    cache = tmp_path / "cache"
    data = load_dataset(mixed_folder, SMALL, cache_dir=cache)
    (entry,) = (cache / "datasets").iterdir()
    key = cache_module._entry_key(entry)
    cache_module.write_cache(entry, key, data, replace_existing=False)  # a second writer
    assert [p.name for p in (cache / "datasets").iterdir()] == [entry.name]  # no temp leftovers


def test_max_images_is_a_deterministic_subset(tmp_path):
    for i in range(10):
        write_image(tmp_path / f"{i:02d}.png", i)
    first = load_dataset(tmp_path, SMALL, cache_dir=False, max_images=4)
    second = load_dataset(tmp_path, SMALL, cache_dir=False, max_images=4)
    assert len(first) == 4 and first.relpaths == second.relpaths
    assert list(first.relpaths) == sorted(first.relpaths)
    assert len(load_dataset(tmp_path, SMALL, cache_dir=False, max_images=50)) == 10


def test_parallel_decoding_matches_serial(tmp_path, monkeypatch):
    for i in range(40):
        write_image(tmp_path / ("cheap" if i % 2 else "expensive") / f"{i:02d}.png", i)
    (tmp_path / "cheap" / "zz_bad.png").write_text("bad")
    monkeypatch.setattr(dataset_module, "PARALLEL_MIN_IMAGES", 10)

    serial = load_dataset(tmp_path, SMALL, cache_dir=False, workers=1)
    parallel = load_dataset(tmp_path, SMALL, cache_dir=False, workers=2)

    np.testing.assert_array_equal(serial.hr, parallel.hr)
    np.testing.assert_array_equal(serial.lr, parallel.lr)
    np.testing.assert_array_equal(serial.labels, parallel.labels)
    assert serial.relpaths == parallel.relpaths and parallel.skipped == 1


@pytest.mark.shared_data
def test_raw_sample_from_shared_data(tmp_path):
    if not RAW_SAMPLE.is_dir():
        pytest.skip(f"{RAW_SAMPLE} is absent")
    data = load_dataset(RAW_SAMPLE, cache_dir=False)
    assert len(data) == 44 and data.skipped == 0
    assert data.hr.shape == (44, 112, 112, 3) and data.lr.shape == (44, 28, 28, 3)
    assert data.hr.dtype == np.uint8 and data.lr.dtype == np.uint8


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_dangling_symlink_is_skipped_as_unreadable(tmp_path, caplog):
    write_image(tmp_path / "ok.png", 1)
    try:
        os.symlink(tmp_path / "gone.png", tmp_path / "dangling.png")
    except OSError:
        pytest.skip("cannot create symlinks here")
    data = load_dataset(tmp_path, SMALL, cache_dir=False)
    assert data.relpaths == ("ok.png",) and data.skipped == 1
    assert "skipping dangling.png: cannot read file" in caplog.text
