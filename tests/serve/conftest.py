import base64
import io
import warnings

import numpy as np
import pytest
from PIL import Image

with warnings.catch_warnings():  # starlette 1.x prefers httpx2 for its TestClient; httpx still works
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient` is deprecated")
    from fastapi.testclient import TestClient as _TestClient

from sneakergan.inference.bundle import bundle_folder
from sneakergan.serve import create_app
from tests.train.test_loop import _train_tiny_cgan

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class TestClient(_TestClient):
    """FastAPI's TestClient as a browser on this machine calls the studio (Host: localhost; the studio
    refuses other host names, such as the TestClient's default `testserver`)."""

    def __init__(self, app, base_url: str = "http://localhost", **kwargs) -> None:
        super().__init__(app, base_url=base_url, **kwargs)


def decode_png(data: str | bytes) -> np.ndarray:
    """A base64 PNG (or its bytes) as a uint8 HxWx3 array, after checking it really is a PNG."""
    raw = base64.b64decode(data, validate=True) if isinstance(data, str) else data
    assert raw.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(raw)) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        return np.asarray(image)


@pytest.fixture(scope="session")
def bundled_app():
    if not (bundle_folder() / "manifest.json").exists():
        pytest.skip("no bundled models")
    return create_app(device="cpu", precision="fp32")


@pytest.fixture(scope="session")
def client(bundled_app):
    with TestClient(bundled_app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def cgan_run(tmp_path_factory):
    """A tiny colour-conditional stage-1 run (one epoch on 40 random images)."""
    return _train_tiny_cgan(tmp_path_factory.mktemp("serve-runs"))


@pytest.fixture(scope="session")
def cgan_client(cgan_run):
    with TestClient(create_app(lr_run=cgan_run, device="cpu", precision="fp32")) as test_client:
        yield test_client
