"""On-disk cache of decoded datasets, keyed by a hash of the file list and the settings.

An entry is ``<cache_dir>/datasets/<key[:16]>/`` holding hr.npy, lr.npy, labels.npy (no pickle)
and meta.json. It is built in a private folder and renamed into place, so readers never see a
half-written entry; any damage to an entry makes it a miss that is rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .image_dataset import ImageDataset
from .preprocess import PreprocessSettings
from .sources import ImageSource, printable

log = logging.getLogger("sneakergan.data")

# Bump when the cache layout changes.
CACHE_FORMAT = 1

def cache_key(source_path: str, sources: list[ImageSource], settings: PreprocessSettings,
              max_images: int | None, drop_duplicates: bool = True) -> str:
    payload = {
        "format": CACHE_FORMAT,
        "source": source_path,
        "files": [[s.relpath, s.size, s.mtime] for s in sources],
        "settings": asdict(settings),
        "max_images": max_images,
        "drop_duplicates": drop_duplicates,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()



def cache_root(cache_dir) -> Path | None:
    if cache_dir is False:
        return None
    if cache_dir is None or cache_dir is True:
        from_env = os.environ.get("SNEAKERGAN_CACHE")
        return Path(from_env).expanduser() if from_env else Path.home() / ".cache" / "sneakergan"
    return Path(cache_dir).expanduser()


def _entry_key(entry: Path) -> str | None:
    try:
        return json.loads((entry / "meta.json").read_text())["key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_cache(entry: Path, key: str, settings: PreprocessSettings) -> tuple[ImageDataset | None, bool]:
    """(dataset or None, whether an existing entry was unusable and should be replaced)."""
    from .dataset import ImageDataset

    if not entry.exists():
        return None, False
    try:
        meta = json.loads((entry / "meta.json").read_text())
        if meta.get("format") != CACHE_FORMAT or meta.get("key") != key:
            raise ValueError("it belongs to a different dataset or cache format")
        hr = np.load(entry / "hr.npy", allow_pickle=False)
        lr = np.load(entry / "lr.npy", allow_pickle=False)
        labels = np.load(entry / "labels.npy", allow_pickle=False)
        count, class_names, relpaths = meta["count"], tuple(meta["class_names"]), tuple(meta["relpaths"])
        expected = {
            "hr": (hr, np.uint8, (count, settings.hr_size, settings.hr_size, 3)),
            "lr": (lr, np.uint8, (count, settings.lr_size, settings.lr_size, 3)),
            "labels": (labels, np.int64, (count,)),
        }
        for name, (array, dtype, shape) in expected.items():
            if array.dtype != dtype or array.shape != shape:
                raise ValueError(f"{name}.npy is {array.dtype} {array.shape}, expected {np.dtype(dtype)} {shape}")
        if len(relpaths) != count or (count and not 0 <= labels.min() <= labels.max() < len(class_names)):
            raise ValueError("meta.json does not match the arrays")
        dataset = ImageDataset(
            hr=hr, lr=lr, labels=labels, class_names=class_names, relpaths=relpaths,
            source=str(meta["source"]), skipped=int(meta["skipped"]), duplicates=int(meta["duplicates"]),
        )
    except Exception as exc:  # noqa: BLE001 - any damage means: rebuild
        log.warning("ignoring unreadable dataset cache %s (%s); rebuilding it",
                    printable(str(entry)), printable(str(exc)))
        return None, True
    if dataset.skipped:
        log.info("%d files were skipped when this cache entry was built", dataset.skipped)
    return dataset, False


def write_cache(entry: Path, key: str, dataset: "ImageDataset", replace_existing: bool) -> None:
    meta = {
        "format": CACHE_FORMAT,
        "key": key,
        "source": dataset.source,
        "class_names": list(dataset.class_names),
        "relpaths": list(dataset.relpaths),
        "skipped": dataset.skipped,
        "duplicates": dataset.duplicates,
        "count": len(dataset),
    }
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        # Build the entry in a private folder and rename it into place: readers never see a
        # half-written entry, and a crash leaves only a stray temp folder.
        tmp = Path(tempfile.mkdtemp(prefix=f".{entry.name}.tmp-", dir=entry.parent))
        try:
            np.save(tmp / "hr.npy", dataset.hr, allow_pickle=False)
            np.save(tmp / "lr.npy", dataset.lr, allow_pickle=False)
            np.save(tmp / "labels.npy", dataset.labels, allow_pickle=False)
            (tmp / "meta.json").write_text(json.dumps(meta))  # last: its presence marks completion
            _publish(tmp, entry, key, replace_existing)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        log.warning("could not write dataset cache %s: %s", printable(str(entry)), printable(str(exc)))


def _publish(tmp: Path, entry: Path, key: str, replace_existing: bool) -> None:
    try:
        os.rename(tmp, entry)  # atomic; fails when another entry is already there
        return
    except OSError:
        if not entry.exists():
            raise
    if not replace_existing and _entry_key(entry) == key:
        return  # a concurrent writer won the race with an identical entry: use theirs
    shutil.rmtree(entry, ignore_errors=True)
    try:
        os.rename(tmp, entry)
    except OSError:
        if _entry_key(entry) != key:
            raise
