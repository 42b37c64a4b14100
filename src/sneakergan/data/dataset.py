"""Load a folder or zip of images into HR/LR uint8 arrays, with an on-disk cache.

Decoding thousands of JPEGs takes a while, so the result is cached under
``<cache_dir>/datasets/<key>/`` as plain .npy files (no pickle). The key covers the resolved
source path, every file's (relpath, size, mtime), the preprocessing settings and max_images,
so any change to the data or the settings selects a different entry.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import re
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sneakergan.errors import DataError

from .cache import cache_key, cache_root, read_cache, write_cache
from .image_dataset import ImageDataset
from .preprocess import PreprocessSettings, UnusableImage, preprocess
from .sources import IMAGE_EXTENSIONS, ImageSource, RefusedFile, list_image_sources, printable, read_all

log = logging.getLogger("sneakergan.data")

# Below this many files a process pool costs more to start than it saves.
PARALLEL_MIN_IMAGES = 200
MAX_DEFAULT_WORKERS = 8


def load_dataset(
    path: str | os.PathLike,
    settings: PreprocessSettings = PreprocessSettings(),
    cache_dir: str | os.PathLike | None | bool = None,
    max_images: int | None = None,
    workers: int | None = None,
    drop_duplicates: bool = True,
) -> ImageDataset:
    """Decode (or load from cache) every usable image under ``path``.

    cache_dir: None uses $SNEAKERGAN_CACHE or ~/.cache/sneakergan; False disables the cache.
    max_images: a deterministic random subset (seed 0) of the files when there are more.
    workers: decoding processes; default min(CPU count, 8); 1 decodes in this process.
    drop_duplicates: False keeps byte-identical files (scoring generated images, where copies
        are a symptom to measure, not noise to remove).
    """
    started = time.perf_counter()
    if max_images is not None and (not isinstance(max_images, int) or max_images < 1):
        raise ValueError(f"max_images must be a positive integer or None, got {max_images!r}")
    if workers is None:
        workers = min(_cpu_count(), MAX_DEFAULT_WORKERS)
    elif not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer or None, got {workers!r}")

    counts = _Counts()
    unlisted: list[tuple[str, str]] = []
    sources = _subset(list_image_sources(path, unlisted), max_images)
    for relpath, reason in unlisted:
        counts.skip(relpath, reason)
    if not sources:
        raise _no_usable_images(path, counts)

    source_path = str(Path(path).expanduser().resolve())
    cache_folder = cache_root(cache_dir)
    entry = key = None
    entry_is_corrupt = False
    if cache_folder is not None:
        key = cache_key(source_path, sources, settings, max_images, drop_duplicates)
        entry = cache_folder / "datasets" / key[:16]
        dataset, entry_is_corrupt = read_cache(entry, key, settings)
        if dataset is not None:
            log.info(
                "loaded %d images (%d classes) from cache %s in %.2f s",
                len(dataset), len(dataset.class_names), printable(str(entry)), time.perf_counter() - started,
            )
            return dataset

    dataset = _decode_all(sources, settings, workers, source_path, drop_duplicates, counts)
    if dataset is None:
        raise _no_usable_images(path, counts)
    if entry is not None:
        write_cache(entry, key, dataset, replace_existing=entry_is_corrupt)
    log.info(
        "decoded %d images (%d classes) from %s in %.1f s (%d skipped, %d duplicates, %d worker%s)",
        len(dataset), len(dataset.class_names), printable(str(path)), time.perf_counter() - started,
        dataset.skipped, dataset.duplicates, workers, "" if workers == 1 else "s",
    )
    return dataset



def _no_usable_images(path, counts: _Counts) -> DataError:
    extensions = ", ".join(IMAGE_EXTENSIONS)
    left_out = [_tally(counts.file_reasons, "file")]
    if counts.folder_reasons:
        left_out.append(_tally(counts.folder_reasons, "folder"))
    if counts.duplicates:
        left_out.append(f"{counts.duplicates} exact duplicates")
    return DataError(f"no usable images in {printable(str(path))} "
                     f"(searched recursively for {extensions}; {', '.join(left_out)})")


def _tally(reasons: Counter, noun: str) -> str:
    """E.g. '3 files skipped (2 not an image, 1 empty file)'."""
    total = sum(reasons.values())
    text = f"{total} {noun}{'' if total == 1 else 's'} skipped"
    if total:
        text += " (" + ", ".join(f"{count} {kind}" for kind, count in reasons.most_common()) + ")"
    return text


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # respects container / taskset limits
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _subset(sources: list[ImageSource], max_images: int | None) -> list[ImageSource]:
    if max_images is None or max_images >= len(sources):
        return sources
    chosen = np.random.default_rng(0).choice(len(sources), size=max_images, replace=False)
    return [sources[i] for i in sorted(chosen)]


# ---------------------------------------------------------------- decoding


def _preprocess_chunk(blobs: list[bytes], settings: PreprocessSettings):
    """Worker side: (hr stack, lr stack, per-blob skip reason or None). Arrays only cross back."""
    hrs, lrs, reasons = [], [], []
    for data in blobs:
        try:
            hr, lr = preprocess(data, settings)
        except UnusableImage as exc:
            reasons.append(exc.reason)
            continue
        except Exception as exc:  # noqa: BLE001 - one odd file must not abort the whole load
            reasons.append(f"unexpected error: {type(exc).__name__}: {exc}")
            continue
        hrs.append(hr)
        lrs.append(lr)
        reasons.append(None)
    hr_shape, lr_shape = (settings.hr_size,) * 2 + (3,), (settings.lr_size,) * 2 + (3,)
    hr_stack = np.stack(hrs) if hrs else np.empty((0, *hr_shape), np.uint8)
    lr_stack = np.stack(lrs) if lrs else np.empty((0, *lr_shape), np.uint8)
    return hr_stack, lr_stack, reasons


@dataclass
class _Counts:
    skipped: int = 0  # files
    duplicates: int = 0
    file_reasons: Counter = field(default_factory=Counter)  # kind of reason -> files
    folder_reasons: Counter = field(default_factory=Counter)

    def skip(self, relpath: str, reason: str) -> None:
        """One warning line per skipped file or folder (folders' relpaths end in '/')."""
        # Escaped: a newline or a terminal escape in a file name must not break the line or reach the terminal.
        log.warning("skipping %s: %s", printable(relpath), printable(reason))
        # The kind is the reason without its details: "too small (20x30 px, ...)" -> "too small".
        kind = re.split(r" \(|: ", reason, maxsplit=1)[0]
        if relpath.endswith("/"):
            self.folder_reasons[kind] += 1
        else:
            self.skipped += 1
            self.file_reasons[kind] += 1


def _chunks_to_decode(sources: list[ImageSource], chunk_size: int, counts: _Counts, drop_duplicates: bool
                      ) -> Iterator[tuple[list[ImageSource], list[bytes]]]:
    """Read files in order, skipping unreadable ones and exact duplicates (first one wins)."""
    seen_digests: dict[bytes, str] = {}
    chunk_sources, chunk_blobs = [], []
    for source, data in read_all(sources):
        if isinstance(data, RefusedFile):
            counts.skip(source.relpath, str(data))
            continue
        if isinstance(data, OSError):
            counts.skip(source.relpath, f"cannot read file ({data.strerror or data})")
            continue
        digest = hashlib.sha1(data).digest()
        if drop_duplicates and digest in seen_digests:
            counts.duplicates += 1
            log.debug("%s is an exact duplicate of %s", printable(source.relpath), printable(seen_digests[digest]))
            continue
        seen_digests[digest] = source.relpath
        chunk_sources.append(source)
        chunk_blobs.append(data)
        if len(chunk_sources) == chunk_size:
            yield chunk_sources, chunk_blobs
            chunk_sources, chunk_blobs = [], []
    if chunk_sources:
        yield chunk_sources, chunk_blobs


def _decode_all(sources: list[ImageSource], settings: PreprocessSettings, workers: int,
                source_path: str, drop_duplicates: bool, counts: _Counts) -> ImageDataset | None:
    parallel = workers > 1 and len(sources) > PARALLEL_MIN_IMAGES
    # Chunks big enough that pickling overhead is small, small enough to keep all workers busy.
    chunk_size = max(8, min(128, len(sources) // (workers * 4))) if parallel else 64
    chunks = _chunks_to_decode(sources, chunk_size, counts, drop_duplicates)

    hr = np.empty((len(sources), settings.hr_size, settings.hr_size, 3), np.uint8)
    lr = np.empty((len(sources), settings.lr_size, settings.lr_size, 3), np.uint8)
    kept: list[ImageSource] = []
    for chunk_sources, (hr_stack, lr_stack, reasons) in _map_chunks(chunks, settings, workers, parallel):
        start = len(kept)
        hr[start:start + len(hr_stack)] = hr_stack
        lr[start:start + len(lr_stack)] = lr_stack
        for source, reason in zip(chunk_sources, reasons):
            if reason is None:
                kept.append(source)
            else:
                counts.skip(source.relpath, reason)

    if counts.duplicates:
        log.info("dropped %d exact duplicates", counts.duplicates)
    if not kept:
        return None
    class_names = tuple(sorted({source.label for source in kept}))
    class_index = {name: i for i, name in enumerate(class_names)}
    return ImageDataset(
        # Leading-axis slices of C-contiguous arrays stay contiguous: no copy.
        hr=hr[:len(kept)],
        lr=lr[:len(kept)],
        labels=np.array([class_index[source.label] for source in kept], dtype=np.int64),
        class_names=class_names,
        relpaths=tuple(source.relpath for source in kept),
        source=source_path,
        skipped=counts.skipped,
        duplicates=counts.duplicates,
    )


def _map_chunks(chunks: Iterable[tuple[list[ImageSource], list[bytes]]], settings: PreprocessSettings,
                workers: int, parallel: bool):
    """Yield (chunk_sources, worker result) in input order."""
    if not parallel:
        for chunk_sources, blobs in chunks:
            yield chunk_sources, _preprocess_chunk(blobs, settings)
        return

    # forkserver/spawn rather than fork: the parent may hold torch/OpenMP threads, and forking a
    # threaded process can deadlock the children.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    max_in_flight = workers * 3  # bounds memory: only this many chunks of raw bytes are held
    pending: deque = deque()
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        for chunk_sources, blobs in chunks:
            pending.append((chunk_sources, executor.submit(_preprocess_chunk, blobs, settings)))
            if len(pending) >= max_in_flight:
                chunk_sources, future = pending.popleft()
                yield chunk_sources, future.result()
        while pending:
            chunk_sources, future = pending.popleft()
            yield chunk_sources, future.result()
    except BrokenProcessPool as exc:
        raise DataError(
            f"an image decoding worker process died ({exc}); scripts must guard their entry point "
            "with `if __name__ == '__main__':`, or retry with workers=1"
        ) from exc
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
