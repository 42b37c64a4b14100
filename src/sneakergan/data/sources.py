"""Find the image files of a dataset: a folder (searched recursively) or a .zip archive.

Listing only looks at names and sizes; nothing is decoded here. Labels come from the folder
layout: an image in ``<root>/<label>/...`` gets ``label``, an image directly in the root gets "".
"""

from __future__ import annotations

import calendar
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from stat import S_ISREG

from sneakergan.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


@dataclass(frozen=True)
class ImageSource:
    """One image file, identified by its path relative to the dataset root (or inside the zip)."""

    relpath: str
    label: str
    size: int
    mtime: float
    # Where the bytes live: a folder root, or the zip file together with the member name.
    root: str = field(repr=False)
    zip_member: str | None = field(default=None, repr=False)

    def read_bytes(self) -> bytes:
        """The file's raw bytes; raises OSError (or zipfile.BadZipFile) when they cannot be read."""
        if self.zip_member is None:
            return (Path(self.root) / self.relpath).read_bytes()
        # Opening the zip per read keeps the object picklable and free of shared handles;
        # read_all() opens each archive once for bulk reads.
        with zipfile.ZipFile(self.root) as archive:
            return archive.read(self.zip_member)


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def list_image_sources(path: str | os.PathLike, skipped: list[tuple[str, str]] | None = None) -> list[ImageSource]:
    """All image files under ``path`` (a folder or a .zip file), sorted by relpath.

    skipped: if given, receives (relpath, reason) for each entry of a folder that is not listed
    (a symlink loop, a folder that cannot be read, a special file with an image name).
    """
    root = Path(path).expanduser()
    skipped = [] if skipped is None else skipped
    if root.is_dir():
        sources = _list_folder(root.absolute(), skipped)
    elif root.is_file():
        if not zipfile.is_zipfile(root):
            if root.suffix.lower() == ".zip":
                raise DataError(f"cannot read zip file {path}: not a valid zip archive")
            raise DataError(f"{path} is neither a folder nor a .zip file of images")
        sources = _list_zip(root.absolute())
    else:
        raise DataError(f"dataset path {path} does not exist")
    return sorted(sources, key=lambda source: source.relpath)


def read_all(sources: Sequence[ImageSource]) -> Iterator[tuple[ImageSource, bytes | OSError]]:
    """Yield each source with its bytes, or with the OSError that reading it raised.

    Zip members are read through one open handle per archive instead of reopening it per file.
    """
    open_archives: dict[str, zipfile.ZipFile] = {}
    try:
        for source in sources:
            try:
                if source.zip_member is None:
                    data: bytes | OSError = source.read_bytes()
                else:
                    archive = open_archives.get(source.root)
                    if archive is None:
                        archive = open_archives[source.root] = zipfile.ZipFile(source.root)
                    data = archive.read(source.zip_member)
            except OSError as exc:
                data = exc
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
                # A damaged member (bad CRC, unsupported compression) should skip only that file.
                data = OSError(f"{type(exc).__name__}: {exc}")
            yield source, data
    finally:
        for archive in open_archives.values():
            archive.close()


def _label_of(parts: tuple[str, ...]) -> str:
    return parts[0] if len(parts) > 1 else ""


def _list_folder(root: Path, skipped: list[tuple[str, str]]) -> list[ImageSource]:
    sources = []

    def cannot_list(error: OSError) -> None:
        rel = Path(error.filename).relative_to(root).as_posix()
        skipped.append((f"{rel}/", f"cannot list folder ({error.strerror or error})"))

    # Symlinked folders are followed, but each real folder is searched once (see _enter), so a
    # symlink loop cannot make the walk endless.
    searched = {_identity(root): "."}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True, onerror=cannot_list):
        folder = Path(dirpath)
        # Real folders claim their identity before symlinks do: a link, not the folder, is skipped.
        dirnames.sort(key=lambda name: (os.path.islink(folder / name), name))
        dirnames[:] = sorted(name for name in dirnames if _enter(folder / name, root, searched, skipped))
        for name in filenames:
            if not is_image_name(name):
                continue
            full = folder / name
            rel = full.relative_to(root)
            try:
                stat = full.stat()
                size, mtime = stat.st_size, stat.st_mtime
            except OSError:
                # A dangling symlink or a vanished file: list it anyway so that loading reports it
                # as skipped instead of silently ignoring it.
                size, mtime = -1, 0.0
            else:
                if not S_ISREG(stat.st_mode):
                    # Reading a FIFO or a device would block or never end.
                    skipped.append((rel.as_posix(), "not a regular file"))
                    continue
            sources.append(
                ImageSource(
                    relpath=rel.as_posix(),
                    label=_label_of(rel.parts),
                    size=size,
                    mtime=mtime,
                    root=str(root),
                )
            )
    return sources


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()  # follows symlinks: the folder a link leads to
    return stat.st_dev, stat.st_ino


def _enter(folder: Path, root: Path, searched: dict[tuple[int, int], str], skipped: list[tuple[str, str]]) -> bool:
    """Whether the walk should go into `folder`; records why not in `skipped`."""
    rel = folder.relative_to(root).as_posix()
    try:
        identity = _identity(folder)
    except OSError as exc:
        skipped.append((f"{rel}/", f"cannot list folder ({exc.strerror or exc})"))
        return False
    first = searched.setdefault(identity, rel)
    if first == rel:
        return True
    if first == "." or rel.startswith(f"{first}/"):
        skipped.append((f"{rel}/", f"symlink loop (leads back to {first}/)"))
    else:
        skipped.append((f"{rel}/", f"same folder as {first}/ (reached through a symlink)"))
    return False


def _member_parts(name: str) -> tuple[str, ...]:
    # Some Windows tools write backslashes; leading "/" or "./" parts carry no folder meaning.
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return tuple(part for part in parts if part not in ("/", ".", ".."))


def _list_zip(zip_path: Path) -> list[ImageSource]:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = [
                info
                for info in archive.infolist()
                if not info.is_dir()
                and is_image_name(info.filename)
                and "__MACOSX" not in _member_parts(info.filename)
            ]
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"cannot read zip file {zip_path}: {exc}") from exc

    # `zip -r data.zip data/` puts everything under one top-level folder: that folder is the
    # dataset root, so labels match those of the unzipped folder.
    member_parts = [_member_parts(info.filename) for info in members]
    top_folders = {parts[0] for parts in member_parts if len(parts) > 1}
    strip = 1 if len(top_folders) == 1 and all(len(parts) > 1 for parts in member_parts) else 0

    sources = []
    for info, parts in zip(members, member_parts):
        sources.append(
            ImageSource(
                relpath=PurePosixPath(*parts).as_posix(),
                label=_label_of(parts[strip:]),
                size=info.file_size,
                # date_time has no time zone; read it as UTC so the value is the same everywhere.
                mtime=float(calendar.timegm((*info.date_time, 0, 0, 0))),
                root=str(zip_path),
                zip_member=info.filename,
            )
        )
    return sources
