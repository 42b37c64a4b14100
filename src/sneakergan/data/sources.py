"""Find the image files of a dataset: a folder (searched recursively) or a .zip archive.

Listing only looks at names and sizes; nothing is decoded here. Labels come from the folder
layout: an image in ``<root>/<label>/...`` gets ``label``, an image directly in the root gets "".
"""

from __future__ import annotations

import calendar
import os
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from stat import S_ISREG

from sneakergan.errors import DataError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")

# A file is read whole before it is decoded, so its size bounds the memory one image can take. The
# 128x128 sneaker JPEGs are 5-20 KB and a 24-megapixel camera JPEG is ~10 MB: 64 MB is generous, and
# a larger file (a zip entry of 100 MB of zeros is 100 KB on disk) is a decompression bomb or junk.
MAX_IMAGE_BYTES = 64_000_000
# A zip is the one input whose reading cost is not bounded by its size on disk: cap what one archive
# may inflate to in all. 4 GB is 4x a 50,000-image set of 20 KB JPEGs; a bigger dataset can be
# unzipped and loaded as a folder, where each file costs only what it takes on disk.
MAX_ARCHIVE_BYTES = 4_000_000_000
# zipfile bounds how much stored and deflate data one read inflates; bzip2 and LZMA it inflates a
# whole read at a time, so a few hundred bytes whose header lies can take gigabytes.
_BOUNDED_ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class RefusedFile(OSError):
    """A file that is not read (too large, unsupported compression); its message is the skip reason."""


def printable(name: str) -> str:
    """`name` for a log line or an error: as it is when printable, else escaped like repr() (without
    the quotes), so a newline or a terminal escape sequence in a file name cannot reach the terminal."""
    return name if name.isprintable() else repr(name)[1:-1]


def _size_text(size: int) -> str:
    return f"{size / 1e9:g} GB" if size >= 10**9 else f"{size / 1e6:g} MB" if size >= 10**6 else f"{size:,} bytes"


def _too_large(size: int, what: str = "") -> str:
    return f"too large ({what}{size:,} bytes, over the {_size_text(MAX_IMAGE_BYTES)} limit per image)"


def _unreadable_member(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is not read, judged from its header alone (None: it may be read)."""
    if info.compress_type not in _BOUNDED_ZIP_METHODS:
        names = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "LZMA"}
        method = names.get(info.compress_type, f"method {info.compress_type}")
        return f"unsupported zip compression ({method}; only stored and deflate are read)"
    if info.file_size > MAX_IMAGE_BYTES:
        return _too_large(info.file_size, "zip entry expands to ")
    return None


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
        """The file's raw bytes; raises OSError (RefusedFile past MAX_IMAGE_BYTES, or
        zipfile.BadZipFile) when they cannot be read."""
        if self.zip_member is None:
            return _read_file(Path(self.root) / self.relpath)
        # Opening the zip per read keeps the object picklable and free of shared handles;
        # read_all() opens each archive once for bulk reads.
        with zipfile.ZipFile(self.root) as archive:
            return _read_member(archive, self.zip_member)


def _read_file(path: Path) -> bytes:
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > MAX_IMAGE_BYTES:
            raise RefusedFile(_too_large(size))
        # read(n) allocates n bytes up front: ask for what fstat saw, and for more only if it grew since.
        data = file.read(size + 1)
        if len(data) > size:
            data += file.read(MAX_IMAGE_BYTES + 1 - len(data))
            if len(data) > MAX_IMAGE_BYTES:
                raise RefusedFile(_too_large(MAX_IMAGE_BYTES, "more than "))
    return data


def _read_member(archive: zipfile.ZipFile, member: str) -> bytes:
    """The member's bytes, inflating no more than its header claims (at most MAX_IMAGE_BYTES)."""
    info = archive.getinfo(member)
    problem = _unreadable_member(info)
    if problem:
        raise RefusedFile(problem)
    # A bounded read rather than the header's word: zipfile stops at the claimed size (a lying
    # header then fails the CRC check); should more ever come out, it is refused here.
    with archive.open(info) as entry:
        data = entry.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise RefusedFile(f"corrupt zip entry (inflates past the {info.file_size:,} bytes its header claims)")
    return data


def is_image_name(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS)


def list_image_sources(path: str | os.PathLike, skipped: list[tuple[str, str]] | None = None) -> list[ImageSource]:
    """All image files under ``path`` (a folder or a .zip file), sorted by relpath.

    skipped: if given, receives (relpath, reason) for each entry that is not listed (a symlink
    loop, a folder that cannot be read, a special file with an image name, a file or zip entry over
    MAX_IMAGE_BYTES, a zip entry compressed with a method whose reads cannot be bounded).
    """
    root = Path(path).expanduser()
    skipped = [] if skipped is None else skipped
    shown = printable(str(path))
    if root.is_dir():
        sources = _list_folder(root.absolute(), skipped)
    elif root.is_file():
        if not zipfile.is_zipfile(root):
            if root.suffix.lower() == ".zip":
                raise DataError(f"cannot read zip file {shown}: not a valid zip archive")
            raise DataError(f"{shown} is neither a folder nor a .zip file of images")
        sources = _list_zip(root.absolute(), skipped)
    else:
        raise DataError(f"dataset path {shown} does not exist")
    return sorted(sources, key=lambda source: source.relpath)


def read_all(sources: Sequence[ImageSource]) -> Iterator[tuple[ImageSource, bytes | OSError]]:
    """Yield each source with its bytes, or with the OSError that reading it raised.

    Zip members are read through one open handle per archive instead of reopening it per file.
    Raises DataError when the members of one archive inflate to more than MAX_ARCHIVE_BYTES: as
    their headers claim (checked before reading any), or as actually read.
    """
    inflated: Counter[str] = Counter()
    for source in sources:
        if source.zip_member is not None:
            inflated[source.root] += source.size
    for root, total in inflated.items():
        if total > MAX_ARCHIVE_BYTES:
            raise _archive_too_large(root, total)
    inflated.clear()
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
                    data = _read_member(archive, source.zip_member)
                    inflated[source.root] += len(data)
                    if inflated[source.root] > MAX_ARCHIVE_BYTES:
                        raise _archive_too_large(source.root)
            except OSError as exc:
                data = exc
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, KeyError,
                    RuntimeError) as exc:
                # A damaged member (bad CRC, unsupported compression, encrypted: RuntimeError, gone from a
                # rewritten archive: KeyError) should skip only that file.
                data = OSError(f"{type(exc).__name__}: {exc}")
            yield source, data
    finally:
        for archive in open_archives.values():
            archive.close()


def _archive_too_large(root: str, total: int | None = None) -> DataError:
    limit = _size_text(MAX_ARCHIVE_BYTES)
    size = f"more than the {limit}" if total is None else f"{total:,} bytes, over the {limit}"
    return DataError(f"zip file {printable(root)} expands to {size} limit per archive; "
                     "unzip it and load the folder instead")


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
                if size > MAX_IMAGE_BYTES:
                    skipped.append((rel.as_posix(), _too_large(size)))
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


def _list_zip(zip_path: Path, skipped: list[tuple[str, str]]) -> list[ImageSource]:
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
        raise DataError(f"cannot read zip file {printable(str(zip_path))}: {printable(str(exc))}") from exc

    # `zip -r data.zip data/` puts everything under one top-level folder: that folder is the
    # dataset root, so labels match those of the unzipped folder.
    member_parts = [_member_parts(info.filename) for info in members]
    top_folders = {parts[0] for parts in member_parts if len(parts) > 1}
    strip = 1 if len(top_folders) == 1 and all(len(parts) > 1 for parts in member_parts) else 0

    sources = []
    for info, parts in zip(members, member_parts):
        relpath = PurePosixPath(*parts).as_posix()
        # Refused from the header here, before any byte is inflated; reads are bounded as well.
        problem = _unreadable_member(info)
        if problem:
            skipped.append((relpath, problem))
            continue
        sources.append(
            ImageSource(
                relpath=relpath,
                label=_label_of(parts[strip:]),
                size=info.file_size,
                # date_time has no time zone; read it as UTC so the value is the same everywhere.
                mtime=float(calendar.timegm((*info.date_time, 0, 0, 0))),
                root=str(zip_path),
                zip_member=info.filename,
            )
        )
    return sources
