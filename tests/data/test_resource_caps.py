"""Inputs that would cost far more than their size on disk (zip bombs, huge files) are skipped with one
warning naming them, and file names reach the log escaped, so a name cannot break a log line."""

import errno
import logging
import os
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from sneakergan.data import load_dataset
from sneakergan.data import sources as sources_module
from sneakergan.data.sources import list_image_sources, read_all
from sneakergan.errors import DataError
from tests.data.test_bad_inputs import GOOD, SETTINGS, image_bytes, load

BOMB_BYTES = 100_000_000  # zeros: about 100 KB once deflated


def good_images() -> dict[str, bytes]:
    return {relpath: image_bytes(seed=seed, fmt=fmt) for seed, (relpath, fmt)
            in enumerate(zip(GOOD, ("PNG", "JPEG", "WEBP")))}


def write_zip(path: Path, bomb_header_size: int | None = None) -> Path:
    """The good images plus bomb.png, BOMB_BYTES of zeros streamed in (never whole in memory).
    bomb_header_size: the size the central directory claims for bomb.png instead of the true one."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for relpath, data in good_images().items():
            archive.writestr(relpath, data)
        with archive.open("bomb.png", "w") as entry:
            for _ in range(BOMB_BYTES // 10**6):
                entry.write(bytes(10**6))
        if bomb_header_size is not None:
            archive.getinfo("bomb.png").file_size = bomb_header_size  # written into the directory on close
    assert path.stat().st_size < 300_000
    return path


def load_measured(path: Path, caplog) -> tuple:
    """(dataset, warning lines, peak traced memory in bytes, seconds)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        data, warnings = load(path, caplog)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return data, warnings, peak, time.perf_counter() - started


def test_zip_entry_over_the_image_limit_is_skipped_unread(tmp_path, caplog):
    data, warnings, peak, seconds = load_measured(write_zip(tmp_path / "shoes.zip"), caplog)
    assert data.relpaths == GOOD
    assert warnings == ["skipping bomb.png: too large (zip entry expands to 100,000,000 bytes, "
                        "over the 64 MB limit per image)"]
    assert peak < 10_000_000 and seconds < 3, (peak, seconds)


def test_zip_entry_whose_header_understates_its_size_is_read_no_further(tmp_path, caplog):
    # The directory says 1,000 bytes; the data inflates to 100 MB. Reading stops at the claimed size
    # and the CRC check then fails: the entry costs kilobytes, not the 100 MB it holds.
    data, warnings, peak, seconds = load_measured(write_zip(tmp_path / "shoes.zip", 1_000), caplog)
    assert data.relpaths == GOOD
    assert warnings == ["skipping bomb.png: cannot read file (BadZipFile: Bad CRC-32 for file 'bomb.png')"]
    assert peak < 10_000_000 and seconds < 3, (peak, seconds)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_zip_entry_compressed_with_a_method_that_cannot_be_bounded_is_skipped(tmp_path, caplog, method):
    # zipfile inflates bzip2 and LZMA data a whole read at a time: a 300-byte bzip2 entry whose header
    # lies costs hundreds of MB however little is asked for, so only stored and deflate are read.
    path = tmp_path / "shoes.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for relpath, blob in good_images().items():
            archive.writestr(relpath, blob)
        archive.writestr("packed.png", image_bytes(seed=5), compress_type=method)
    name = "bzip2" if method == zipfile.ZIP_BZIP2 else "LZMA"
    data, warnings = load(path, caplog)
    assert data.relpaths == GOOD
    assert warnings == [f"skipping packed.png: unsupported zip compression ({name}; only stored and deflate are read)"]


def test_zip_over_the_archive_limit_is_a_data_error(tmp_path, monkeypatch):
    path = tmp_path / "shoes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for relpath, blob in good_images().items():
            archive.writestr(relpath, blob)
    total = sum(len(blob) for blob in good_images().values())
    monkeypatch.setattr(sources_module, "MAX_ARCHIVE_BYTES", total - 1, raising=False)
    with pytest.raises(DataError, match=rf"shoes.zip expands to {total:,} bytes, over the .* limit per archive"):
        load_dataset(path, SETTINGS, cache_dir=False, workers=1)
    monkeypatch.setattr(sources_module, "MAX_ARCHIVE_BYTES", total)
    assert len(load_dataset(path, SETTINGS, cache_dir=False, workers=1)) == 3


def test_zip_that_grows_past_the_archive_limit_after_listing_is_stopped(tmp_path, monkeypatch):
    # Whatever the listing saw, the bytes actually inflated are counted too.
    path = tmp_path / "shoes.zip"
    images = good_images()
    with zipfile.ZipFile(path, "w") as archive:
        for relpath, blob in images.items():
            archive.writestr(relpath, blob)
    sources = list_image_sources(path)
    with zipfile.ZipFile(path, "w") as archive:
        for relpath, blob in images.items():
            archive.writestr(relpath, blob * 2)
    monkeypatch.setattr(sources_module, "MAX_ARCHIVE_BYTES", sum(map(len, images.values())) + 10, raising=False)
    with pytest.raises(DataError, match=r"shoes.zip expands to more than .* limit per archive"):
        list(read_all(sources))


def test_folder_file_over_the_image_limit_is_skipped_unread(tmp_path, caplog):
    folder = tmp_path / "shoes"
    for relpath, blob in good_images().items():
        (folder / relpath).parent.mkdir(parents=True, exist_ok=True)
        (folder / relpath).write_bytes(blob)
    with open(folder / "huge.png", "wb") as file:
        file.truncate(BOMB_BYTES)  # sparse: no disk space used
    data, warnings, peak, seconds = load_measured(folder, caplog)
    assert data.relpaths == GOOD
    assert warnings == ["skipping huge.png: too large (100,000,000 bytes, over the 64 MB limit per image)"]
    assert peak < 10_000_000 and seconds < 3, (peak, seconds)


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_file_that_grows_past_the_image_limit_after_listing_is_not_read_whole(tmp_path, monkeypatch, kind):
    # Reads are bounded, so a file that grew between listing and reading (or a lying size) is refused.
    monkeypatch.setattr(sources_module, "MAX_IMAGE_BYTES", 50_000, raising=False)
    small, big = image_bytes(seed=1), bytes(60_000)
    if kind == "folder":
        path = tmp_path / "shoes"
        path.mkdir()
        (path / "a.png").write_bytes(small)
        sources = list_image_sources(path)
        (path / "a.png").write_bytes(big)
    else:
        path = tmp_path / "shoes.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.png", small)
        sources = list_image_sources(path)
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("a.png", big)
    [(_, result)] = list(read_all(sources))
    assert isinstance(result, OSError) and str(result).startswith("too large ("), result
    with pytest.raises(OSError, match=r"^too large \("):
        sources[0].read_bytes()


# ---------------------------------------------------------------- names in log lines

EVIL = "evil\n\x1b[31mred.png"
ESCAPED = r"evil\n\x1b[31mred.png"


def assert_clean(caplog) -> None:
    for record in caplog.records:
        message = record.getMessage()
        assert "\n" not in message and "\x1b" not in message, message


@pytest.mark.parametrize("kind", ["folder", "zip"])
def test_file_names_in_warnings_are_escaped(tmp_path, caplog, kind):
    files = {**good_images(), EVIL: b"not an image", "caf\u00e9 ok.png": b"nor this"}
    if kind == "folder":
        path = tmp_path / "shoes"
        for relpath, blob in files.items():
            (path / relpath).parent.mkdir(parents=True, exist_ok=True)
            (path / relpath).write_bytes(blob)
    else:
        path = tmp_path / "shoes.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for relpath, blob in files.items():
                archive.writestr(relpath, blob)
    data, warnings = load(path, caplog)
    assert data.relpaths == GOOD
    # Printable names (accented letters, spaces) are left as they are.
    assert sorted(warnings) == ["skipping caf\u00e9 ok.png: not an image", f"skipping {ESCAPED}: not an image"]
    assert_clean(caplog)


def test_folder_names_in_warnings_are_escaped(tmp_path, caplog, monkeypatch):
    path = tmp_path / "shoes"
    for relpath, blob in good_images().items():
        (path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (path / relpath).write_bytes(blob)
    (path / "bad\x1bdir").mkdir()
    real_scandir = os.scandir

    def scandir(folder="."):
        if Path(folder).name == "bad\x1bdir":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), folder)
        return real_scandir(folder)

    monkeypatch.setattr(os, "scandir", scandir)
    data, warnings = load(path, caplog)
    assert warnings == [rf"skipping bad\x1bdir/: cannot list folder ({os.strerror(errno.EACCES)})"]
    assert_clean(caplog)


def test_paths_in_errors_and_cache_messages_are_escaped(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="sneakergan.data")
    with pytest.raises(DataError) as raised:
        load_dataset(tmp_path / "no\nsuch", SETTINGS, cache_dir=False)
    assert "\n" not in str(raised.value) and r"no\nsuch" in str(raised.value)

    folder = tmp_path / "sho\x1bes"
    (folder / "good").mkdir(parents=True)
    for relpath, blob in good_images().items():
        (folder / relpath).write_bytes(blob)
    cache = tmp_path / "cache\n"
    load_dataset(folder, SETTINGS, cache_dir=cache, workers=1)
    [entry] = (cache / "datasets").iterdir()
    (entry / "hr.npy").write_bytes(b"broken")
    load_dataset(folder, SETTINGS, cache_dir=cache, workers=1)  # warns about the entry, rebuilds it
    load_dataset(folder, SETTINGS, cache_dir=cache, workers=1)  # from the cache
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("ignoring unreadable dataset cache") and r"cache\n/datasets" in m for m in messages)
    assert any("from cache" in m for m in messages)
    assert_clean(caplog)


def test_an_encrypted_zip_entry_is_skipped_with_one_line(tmp_path, caplog):
    """zipfile raises RuntimeError for an encrypted member: that member is skipped, the load goes on."""
    path = tmp_path / "shoes.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for relpath, data in good_images().items():
            archive.writestr(relpath, data)
        archive.writestr("locked.png", image_bytes(seed=9, fmt="PNG"))
    raw = bytearray(path.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # local header, central directory
        at = raw.rfind(signature)  # locked.png's headers are the last of each kind
        raw[at + flag_offset] |= 0x01  # the "encrypted" bit
    path.write_bytes(bytes(raw))
    data, warnings = load(path, caplog)
    assert data.relpaths == GOOD
    assert len(warnings) == 1 and warnings[0].startswith("skipping locked.png: ") and "encrypted" in warnings[0]
