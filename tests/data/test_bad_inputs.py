"""Bad inputs next to good images: each bad file is skipped with exactly one warning line naming it and
the reason (convertible ones, 16-bit and CMYK, are kept), and the good images are all kept."""

import errno
import io
import logging
import os
import re
import signal
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sneakergan.data import PreprocessSettings, load_dataset
from sneakergan.data import sources as sources_module
from sneakergan.errors import DataError

SETTINGS = PreprocessSettings(hr_size=32, lr_size=8)  # min_size stays the default 28
GOOD = ("good/a.png", "good/b.jpg", "good/c.webp")
needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
as_root = hasattr(os, "geteuid") and os.geteuid() == 0


def image_bytes(size=(40, 36), seed=0, fmt="PNG", mode="RGB") -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, format=fmt)
    return buffer.getvalue()


def png_bytes(width: int, height: int, bit_depth: int, colour_type: int, row: bytes) -> bytes:
    """A PNG written by hand, for what PIL cannot write: 16-bit colour, huge sizes. `row` is one
    scanline without its filter byte, repeated `height` times."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    pixels = zlib.compress((b"\0" + row) * height, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


@pytest.fixture
def root(tmp_path) -> Path:
    """A dataset folder holding three good images, in good/."""
    folder = tmp_path / "shoes"
    (folder / "good").mkdir(parents=True)
    for seed, (relpath, fmt) in enumerate(zip(GOOD, ("PNG", "JPEG", "WEBP"))):
        (folder / relpath).write_bytes(image_bytes(seed=seed, fmt=fmt))
    return folder


def load(root: Path, caplog) -> tuple:
    """(dataset, its warning lines)."""
    caplog.set_level(logging.INFO, logger="sneakergan.data")
    data = load_dataset(root, SETTINGS, cache_dir=False, workers=1)
    return data, [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def assert_skipped(root: Path, caplog, relpath: str, reason: str, kept=GOOD) -> None:
    """Only the good images are kept, and the one warning names `relpath` with `reason` (a regex)."""
    data, warnings = load(root, caplog)
    assert data.relpaths == tuple(sorted(kept))
    assert len(warnings) == 1, warnings
    assert re.fullmatch(f"skipping {re.escape(relpath)}: {reason}", warnings[0]), warnings[0]


def test_truncated_jpeg(root, caplog):
    whole = image_bytes(size=(64, 64), seed=9, fmt="JPEG")
    (root / "cut.jpg").write_bytes(whole[: len(whole) // 2])
    assert_skipped(root, caplog, "cut.jpg", r"truncated or corrupt image data")


def test_zero_byte_file(root, caplog):
    (root / "empty.png").touch()
    assert_skipped(root, caplog, "empty.png", r"empty file")


@pytest.mark.parametrize("side", [
    pytest.param(14_000, id="over-2x-limit"),  # PIL raises DecompressionBombError itself
    pytest.param(10_000, id="over-limit"),  # PIL only warns here; we refuse it all the same
])
def test_png_decompression_bomb(root, caplog, side):
    # A real bomb: a valid 1-bit PNG of `side` x `side` zeros, a few kB on disk.
    (root / "bomb.png").write_bytes(png_bytes(side, side, 1, 0, b"\0" * (side // 8)))
    assert (root / "bomb.png").stat().st_size < 100_000
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # PIL's default limit is kept, not raised
    assert_skipped(root, caplog, "bomb.png",
                   rf"decompression bomb: {side * side} pixels exceeds PIL's limit of 89478485")


@pytest.mark.parametrize("name, content", [
    ("notes.jpg", b"just some text\n"),
    ("page.png", b"<!DOCTYPE html><html><body>404 Not Found</body></html>"),
    ("doc.webp", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"),
])
def test_non_image_with_image_extension(root, caplog, name, content):
    (root / name).write_bytes(content)
    assert_skipped(root, caplog, name, r"not an image")


@needs_symlinks
@pytest.mark.parametrize("target, first", [("good", "good/"), (".", "./")])
def test_folder_symlink_loop(root, caplog, target, first):
    # good/loop -> good (the folder holding the link), or -> the dataset root.
    os.symlink(root / target, root / "good" / "loop", target_is_directory=True)
    assert_skipped(root, caplog, "good/loop/", rf"symlink loop \(leads back to {re.escape(first)}\)")


@needs_symlinks
def test_file_symlink_loop(root, caplog):
    os.symlink(root / "b", root / "x.jpg")
    os.symlink(root / "x.jpg", root / "b")
    assert_skipped(root, caplog, "x.jpg", rf"cannot read file \({os.strerror(errno.ELOOP)}\)")


@needs_symlinks
def test_symlinked_folder_is_followed_once(root, tmp_path, caplog):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "d.png").write_bytes(image_bytes(seed=7))
    os.symlink(tmp_path / "elsewhere", root / "linked", target_is_directory=True)
    os.symlink(tmp_path / "elsewhere", root / "linked_again", target_is_directory=True)
    assert_skipped(root, caplog, "linked_again/", r"same folder as linked/ \(reached through a symlink\)",
                   kept=(*GOOD, "linked/d.png"))


@pytest.mark.parametrize("size", [(27, 40), (40, 27), (1, 1)])
def test_image_smaller_than_28_px(root, caplog, size):
    (root / "tiny.png").write_bytes(image_bytes(size=size))
    assert_skipped(root, caplog, "tiny.png", rf"too small \({size[0]}x{size[1]} px, need >= 28\)")


@pytest.mark.parametrize("size", [(161, 40), (40, 161), (2000, 100)])
def test_extreme_aspect_ratio(root, caplog, size):
    (root / "banner.png").write_bytes(image_bytes(size=size))
    (root / "wide.png").write_bytes(image_bytes(size=(160, 40), seed=5))  # exactly 4:1 is padded and kept
    assert_skipped(root, caplog, "banner.png",
                   rf"extreme aspect ratio \({size[0]}x{size[1]} px, more than 4:1\)", kept=(*GOOD, "wide.png"))


@pytest.mark.parametrize("colour_type, channels", [(0, 1), (4, 2), (2, 3), (6, 4)],
                         ids=["gray", "gray-alpha", "rgb", "rgba"])
def test_sixteen_bit_png_is_kept_and_scaled(root, caplog, colour_type, channels):
    value = struct.pack(">H", 257 * 100)  # 100 in 8 bits; alpha (the last channel) fully opaque
    pixel = value * (channels - 1) + (b"\xff\xff" if colour_type in (4, 6) else value)
    (root / "deep.png").write_bytes(png_bytes(40, 40, 16, colour_type, pixel * 40))
    data, warnings = load(root, caplog)
    assert warnings == [] and data.relpaths == tuple(sorted((*GOOD, "deep.png")))
    assert (data.hr[0] == 100).all() and (data.lr[0] == 100).all()


def test_cmyk_jpeg_is_kept_and_converted(root, caplog):
    buffer = io.BytesIO()
    Image.new("CMYK", (40, 40), (0, 255, 255, 0)).save(buffer, format="JPEG", quality=95)  # pure red
    (root / "print.jpg").write_bytes(buffer.getvalue())
    data, warnings = load(root, caplog)
    assert warnings == [] and data.relpaths == tuple(sorted((*GOOD, "print.jpg")))
    assert np.abs(data.hr[-1].astype(int) - (255, 0, 0)).max() <= 3


def test_unreadable_file(root, caplog, monkeypatch):
    # Tests run as root here, where chmod 000 stops nothing: make the read itself fail.
    (root / "locked.png").write_bytes(image_bytes(seed=8))
    real_read = sources_module.ImageSource.read_bytes

    def read_bytes(source):
        if source.relpath == "locked.png":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(root / source.relpath))
        return real_read(source)

    monkeypatch.setattr(sources_module.ImageSource, "read_bytes", read_bytes)
    assert_skipped(root, caplog, "locked.png", rf"cannot read file \({os.strerror(errno.EACCES)}\)")


@pytest.mark.skipif(as_root or not hasattr(os, "geteuid"), reason="root reads anything")
def test_unreadable_file_chmod(root, caplog):
    (root / "locked.png").write_bytes(image_bytes(seed=8))
    os.chmod(root / "locked.png", 0)
    try:
        assert_skipped(root, caplog, "locked.png", rf"cannot read file \({os.strerror(errno.EACCES)}\)")
    finally:
        os.chmod(root / "locked.png", 0o644)


def test_unreadable_folder(root, caplog, monkeypatch):
    (root / "locked").mkdir()
    (root / "locked" / "d.png").write_bytes(image_bytes(seed=8))
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == root / "locked":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert_skipped(root, caplog, "locked/", rf"cannot list folder \({os.strerror(errno.EACCES)}\)")


@pytest.mark.skipif(as_root or not hasattr(os, "geteuid"), reason="root reads anything")
def test_unreadable_folder_chmod(root, caplog):
    (root / "locked").mkdir()
    (root / "locked" / "d.png").write_bytes(image_bytes(seed=8))
    os.chmod(root / "locked", 0)
    try:
        assert_skipped(root, caplog, "locked/", rf"cannot list folder \({os.strerror(errno.EACCES)}\)")
    finally:
        os.chmod(root / "locked", 0o755)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_with_an_image_name_is_not_read(root, caplog):
    os.mkfifo(root / "pipe.jpg")

    def hung(signum, frame):
        raise AssertionError("load_dataset blocked reading a named pipe")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        assert_skipped(root, caplog, "pipe.jpg", r"not a regular file")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@needs_symlinks
def test_nothing_usable_left_is_a_data_error_counting_the_reasons(tmp_path, caplog):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "a.jpg").write_text("not an image")
    (root / "b.png").write_text("nor this")
    (root / "c.png").touch()
    (root / "d.png").write_bytes(image_bytes(size=(20, 20)))
    os.symlink(root, root / "loop", target_is_directory=True)
    with pytest.raises(DataError) as raised:
        load_dataset(root, SETTINGS, cache_dir=False, workers=1)
    assert str(raised.value) == (
        f"no usable images in {root} (searched recursively for .jpg, .jpeg, .png, .webp, .bmp; 4 files skipped "
        "(2 not an image, 1 empty file, 1 too small), 1 folder skipped (1 symlink loop))"
    )
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 5  # one line each


def test_empty_folder_is_a_data_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no usable images in .*empty .*; 0 files skipped\)$"):
        load_dataset(tmp_path / "empty", SETTINGS, cache_dir=False)
