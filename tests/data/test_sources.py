import os
import zipfile

import pytest
from PIL import Image

from sneakergan.data.sources import list_image_sources, read_all
from sneakergan.errors import DataError


def write_png(path, colour=(10, 20, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 32), colour).save(path, format="PNG")


def test_folder_is_listed_recursively_with_labels(tmp_path):
    write_png(tmp_path / "top.png")
    write_png(tmp_path / "cheap" / "a.JPG")  # extension match is case-insensitive
    write_png(tmp_path / "expensive" / "deep" / "b.webp")
    (tmp_path / "cheap" / "notes.txt").write_text("not an image")

    sources = list_image_sources(tmp_path)

    assert [s.relpath for s in sources] == ["cheap/a.JPG", "expensive/deep/b.webp", "top.png"]
    assert [s.label for s in sources] == ["cheap", "expensive", ""]
    assert all(s.size > 0 and s.mtime > 0 for s in sources)
    assert sources[0].read_bytes() == (tmp_path / "cheap" / "a.JPG").read_bytes()


def test_zip_is_listed_with_labels(tmp_path):
    write_png(tmp_path / "img.png")
    data = (tmp_path / "img.png").read_bytes()
    archive_path = tmp_path / "data.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("cheap/", b"")  # a directory entry
        archive.writestr("cheap/a.png", data)
        archive.writestr("expensive/b.jpeg", data)
        archive.writestr("root.bmp", data)
        archive.writestr("__MACOSX/cheap/._a.png", b"resource fork")
        archive.writestr("readme.txt", b"hi")

    sources = list_image_sources(archive_path)

    assert [(s.relpath, s.label) for s in sources] == [
        ("cheap/a.png", "cheap"),
        ("expensive/b.jpeg", "expensive"),
        ("root.bmp", ""),
    ]
    assert all(s.size == len(data) for s in sources)
    assert sources[0].read_bytes() == data
    assert [blob for _, blob in read_all(sources)] == [data] * 3


def test_zipped_folder_keeps_the_labels_of_the_folder(tmp_path):
    # `zip -r train.zip train/` puts everything under train/: labels come from the level below.
    with zipfile.ZipFile(tmp_path / "train.zip", "w") as archive:
        archive.writestr("train/cheap/a.png", b"x")
        archive.writestr("train/expensive/b.png", b"y")
        archive.writestr("train/c.png", b"z")
    sources = list_image_sources(tmp_path / "train.zip")
    assert [(s.relpath, s.label) for s in sources] == [
        ("train/c.png", ""),
        ("train/cheap/a.png", "cheap"),
        ("train/expensive/b.png", "expensive"),
    ]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlink_loop_does_not_hang(tmp_path):
    write_png(tmp_path / "a" / "x.png")
    try:
        os.symlink(tmp_path, tmp_path / "a" / "loop", target_is_directory=True)
    except OSError:
        pytest.skip("cannot create symlinks here")
    assert [s.relpath for s in list_image_sources(tmp_path)] == ["a/x.png"]


def test_missing_path_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="nowhere"):
        list_image_sources(tmp_path / "nowhere")


def test_non_zip_file_is_a_data_error(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="data.csv"):
        list_image_sources(tmp_path / "data.csv")


def test_broken_zip_is_a_data_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "data.zip", "w") as archive:
        archive.writestr("a.png", b"x" * 100)
    blob = (tmp_path / "data.zip").read_bytes()
    # Keep the end-of-archive record (so it still looks like a zip) but wreck the central directory.
    broken = blob[:-60] + b"\0" * 38 + blob[-22:]
    (tmp_path / "broken.zip").write_bytes(broken)
    with pytest.raises(DataError, match="broken.zip"):
        list_image_sources(tmp_path / "broken.zip")


def test_file_named_zip_that_is_not_one_is_a_data_error(tmp_path):
    (tmp_path / "fake.zip").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match="fake.zip: not a valid zip"):
        list_image_sources(tmp_path / "fake.zip")
