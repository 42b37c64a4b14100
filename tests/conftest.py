import logging
import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _inception_network() -> Path | None:
    from sneakergan.errors import SneakerganError
    from sneakergan.metrics.inception_file import locate_inception

    try:
        return locate_inception()
    except SneakerganError:
        return None


INCEPTION = _inception_network()  # found in the user's cache before the tests isolate theirs


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Tests never read or write the user's dataset cache; the FID network (read only) is linked in.
    cache = tmp_path_factory.mktemp("cache")
    if INCEPTION is not None:
        from sneakergan.metrics.inception_file import cached_path

        cached_path(cache).parent.mkdir(parents=True)
        cached_path(cache).symlink_to(INCEPTION)
    monkeypatch.setenv("SNEAKERGAN_CACHE", str(cache))


@pytest.fixture(autouse=True)
def _reset_cli_logging():
    # `main()` points the "sneakergan" logger at the current sys.stderr, which pytest closes after
    # each test; later tests must not log into a closed stream.
    yield
    logger = logging.getLogger("sneakergan")
    logger.handlers.clear()
    logger.propagate = True


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED / "sneakers" / "train").is_dir():
        pytest.skip("../shared/data is not present on this machine")
    return SHARED


@pytest.fixture
def tiny_image_folder(tmp_path) -> Path:
    """48 small distinct RGB JPEGs in two class folders."""
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    for label in ("cheap", "expensive"):
        (root / label).mkdir(parents=True)
        for index in range(24):
            pixels = rng.integers(0, 256, size=(36, 36, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / label / f"{index:03d}.png")
    return root


os.environ.setdefault("MPLBACKEND", "Agg")
