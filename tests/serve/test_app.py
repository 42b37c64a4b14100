"""The studio's JSON API with FastAPI's TestClient: sizes, PNGs, seeds, bounds, labels, time limits."""

import threading
import time

import numpy as np
import pytest

from sneakergan.cli import main
from sneakergan.config import MAX_PAGE_SEED
from sneakergan.data.colour import COLOUR_NAMES
from sneakergan.errors import ConfigError
from sneakergan.inference.pipeline import apply_stage2, generate_images
from sneakergan.serve import create_app
from sneakergan.serve.app import MAX_STEPS, MAX_TILES
from tests.serve.conftest import TestClient, decode_png


def _get(client, path, **params):
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _tiles(body, key="png"):
    return [decode_png(sneaker[key]) for sneaker in body["sneakers"]]


def test_health_describes_the_models_and_the_limits(client):
    health = _get(client, "/api/health")
    assert health["status"] == "ok" and health["device"] == "cpu" and health["precision"] == "fp32"
    assert health["stage1"] == health["stage2"] == "bundled"
    assert health["conditional"] is False and health["class_names"] == [] and health["condition"] == ""
    assert (health["lr_size"], health["sr_size"]) == (28, 112)
    assert (health["max_n"], health["max_steps"], health["max_seed"]) == (MAX_TILES, MAX_STEPS, MAX_PAGE_SEED)


def test_generate_gives_one_sneaker_per_seed_as_png_of_both_stages(client):
    body = _get(client, "/api/generate", seed=5, n=3)
    assert (body["seed"], body["n"], body["stage"], body["label"], body["size"]) == (5, 3, "sr", None, 112)
    assert [sneaker["seed"] for sneaker in body["sneakers"]] == [5, 6, 7]
    sr, lr = _tiles(body), _tiles(body, "lr_png")
    assert all(image.shape == (112, 112, 3) for image in sr) and all(image.shape == (28, 28, 3) for image in lr)
    for offset in range(3):  # each tile is seed 5 + offset's own sneaker, as generate -n 1 makes it
        expected_lr = generate_images(None, 1, 5 + offset, "cpu")
        assert np.array_equal(lr[offset], expected_lr[0])
        assert np.array_equal(sr[offset], apply_stage2(None, expected_lr, "cpu")[0])
    small = _get(client, "/api/generate", seed=5, n=2, stage="lr")
    assert small["size"] == 28 and all(np.array_equal(a, b) for a, b in zip(_tiles(small), lr))


def test_more_continues_the_seeds_with_the_same_sneakers(client):
    first, more = _get(client, "/api/generate", seed=0, n=4), _get(client, "/api/generate", seed=2, n=2)
    assert [s["seed"] for s in more["sneakers"]] == [2, 3]
    assert first["sneakers"][2:] == more["sneakers"]  # byte-identical PNGs


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_a_tile_is_the_first_sneaker_of_the_generate_command(precision, tmp_path):
    # The same --precision on both sides (auto is bf16 on CPUs with fast bf16): tile i of seed s is
    # exactly `sneakergan generate --seed s+i -n 1`.
    with TestClient(create_app(device="cpu", precision=precision)) as client:
        body = _get(client, "/api/generate", seed=40, n=2)
    for offset, tile in enumerate(_tiles(body)):
        out = tmp_path / f"{precision}-{offset}"
        assert main(["generate", "--seed", str(40 + offset), "-n", "1", "--device", "cpu", "--precision", precision,
                     "--format", "files", "--out", str(out)]) == 0
        assert np.array_equal(tile, decode_png((out / f"seed{40 + offset:04d}-00000.png").read_bytes()))


def test_interpolate_runs_from_the_first_seeds_sneaker_to_the_seconds(client):
    body = _get(client, "/api/interpolate", a=3, b=9, steps=5)
    assert (body["seeds"], body["steps"], body["stage"], body["size"]) == ([3, 9], 5, "sr", 112)
    frames = [decode_png(frame) for frame in body["frames"]]
    assert len(frames) == 5 and all(frame.shape == (112, 112, 3) for frame in frames)
    tiles = {s["seed"]: decode_png(s["png"]) for s in _get(client, "/api/generate", seed=3, n=7)["sneakers"]}
    assert np.array_equal(frames[0], tiles[3]) and np.array_equal(frames[-1], tiles[9])
    assert not np.array_equal(frames[2], frames[0])
    small = _get(client, "/api/interpolate", a=3, b=9, steps=2, stage="lr")
    assert [decode_png(frame).shape for frame in small["frames"]] == [(28, 28, 3)] * 2


@pytest.mark.parametrize("path, params, where, message", [
    ("/api/generate", {"n": MAX_TILES + 1}, "n", "less than or equal to 64"),
    ("/api/generate", {"n": 0}, "n", "greater than or equal to 1"),
    ("/api/generate", {"seed": -1}, "seed", "greater than or equal to 0"),
    ("/api/generate", {"seed": MAX_PAGE_SEED + 1}, "seed", f"less than or equal to {MAX_PAGE_SEED}"),
    ("/api/generate", {"seed": MAX_PAGE_SEED, "n": 2}, "seed", f"seed + n - 1 must be at most {MAX_PAGE_SEED}"),
    ("/api/generate", {"seed": "x"}, "seed", "valid integer"),
    ("/api/generate", {"stage": "hr"}, "stage", "'lr' or 'sr'"),
    ("/api/generate", {"label": "red"}, "label",
     "label 'red' needs a class-conditional stage-1 model; the bundled stage-1 model is unconditional"),
    ("/api/interpolate", {"a": 1}, "b", "Field required"),
    ("/api/interpolate", {"a": 1, "b": 2, "steps": 1}, "steps", "greater than or equal to 2"),
    ("/api/interpolate", {"a": 1, "b": 2, "steps": MAX_STEPS + 1}, "steps", "less than or equal to 32"),
    ("/api/interpolate", {"a": 1, "b": MAX_PAGE_SEED + 1}, "b", "less than or equal to"),
])
def test_bad_requests_are_422_naming_the_field(client, path, params, where, message):
    response = client.get(path, params=params)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", where] and message in error["msg"]


def test_a_conditional_model_offers_its_labels(cgan_client, cgan_run):
    health = _get(cgan_client, "/api/health")
    assert health["conditional"] is True and health["condition"] == "colour"
    assert health["class_names"] == list(COLOUR_NAMES) and health["stage1"] == str(cgan_run)
    red = _get(cgan_client, "/api/generate", seed=3, n=2, stage="lr", label="red")
    for offset, tile in enumerate(_tiles(red)):
        assert np.array_equal(tile, generate_images(cgan_run, 1, 3 + offset, "cpu", label="red")[0])
    mixed = _get(cgan_client, "/api/generate", seed=3, n=2, stage="lr")  # classes drawn from each seed
    assert np.array_equal(_tiles(mixed)[1], generate_images(cgan_run, 1, 4, "cpu")[0])
    morph = _get(cgan_client, "/api/interpolate", a=3, b=4, steps=3, stage="lr", label="red")
    assert np.array_equal(decode_png(morph["frames"][-1]), _tiles(red)[1])


@pytest.mark.parametrize("path, params, message", [
    ("/api/generate", {"label": "purple"}, "unknown label 'purple'; the stage-1 run {run} knows "
                                           + ", ".join(COLOUR_NAMES)),
    ("/api/generate", {"label": "Red"}, "unknown label 'Red'"),
    ("/api/interpolate", {"a": 1, "b": 2}, "is class-conditional: label must be one of black, white"),
])
def test_bad_labels_are_422_naming_the_known_labels(cgan_client, cgan_run, path, params, message):
    response = cgan_client.get(path, params=params)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "label"] and message.format(run=cgan_run) in error["msg"]


def test_the_openapi_schema_documents_the_three_endpoints_and_their_bounds(client):
    schema = _get(client, "/openapi.json")
    assert {"/api/generate", "/api/interpolate", "/api/health"} <= set(schema["paths"])
    params = {p["name"]: p["schema"] for p in schema["paths"]["/api/generate"]["get"]["parameters"]}
    assert params["n"]["maximum"] == MAX_TILES and params["seed"]["maximum"] == MAX_PAGE_SEED
    assert {"422", "503", "504"} <= set(schema["paths"]["/api/generate"]["get"]["responses"])
    assert "/" not in schema["paths"]


def test_the_page_is_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    page = response.text
    for testid in ("grid", "more", "seed-input", "stage-toggle", "label-picker", "interpolation-strip"):
        assert f'data-testid="{testid}"' in page
    assert "http://" not in page and "https://" not in page and "<script src" not in page


def test_slow_generation_is_a_504_and_busy_models_a_503(monkeypatch):
    app = create_app(device="cpu", precision="fp32", timeout=0.3)
    studio = app.state.studio
    with TestClient(app) as client:
        monkeypatch.setattr(studio, "sneakers", lambda *args: time.sleep(1.0) or [])
        started = time.monotonic()
        response = client.get("/api/generate", params={"n": 1})
        assert response.status_code == 504 and time.monotonic() - started < 0.9
        assert "generating took longer than the server's limit of 0.3 s" in response.json()["detail"]
        time.sleep(0.8)  # the abandoned job finishes in its thread and frees the models
        monkeypatch.undo()
        with studio._lock:  # the models are busy for longer than the limit
            response = client.get("/api/generate", params={"n": 1})
        assert response.status_code == 503 and response.headers["retry-after"] == "5"
        assert "the models stayed busy" in response.json()["detail"]
        # ... and then it is free again (a stub: a real generation may take over 0.3 s on a busy machine)
        monkeypatch.setattr(studio, "sneakers", lambda *args: [])
        assert client.get("/api/generate", params={"n": 1}).status_code == 200


def test_requests_share_the_models_one_at_a_time(bundled_app):
    studio = bundled_app.state.studio
    inside, overlaps = [0], []
    real = studio.sneakers

    def counting(*args):
        inside[0] += 1
        overlaps.append(inside[0])
        try:
            return real(*args)
        finally:
            inside[0] -= 1

    studio.sneakers = counting
    try:
        with TestClient(bundled_app) as client:
            threads = [threading.Thread(target=client.get, args=("/api/generate",), kwargs={"params": {"n": 2}})
                       for _ in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        del studio.sneakers
    assert overlaps == [1, 1, 1, 1]


def test_a_stage2_with_noise_inputs_rerolls_its_details_with_sr_seed():
    import torch

    from sneakergan.inference.bundle import load_bundled
    from sneakergan.inference.pipeline import super_resolve_images
    from sneakergan.models.build import build_sr_generator

    app = create_app(device="cpu", precision="fp32")
    weights, cfg = load_bundled("stage2")
    noisy = build_sr_generator(cfg.replace(sr_noise=True)).eval()
    noisy.load_state_dict(weights, strict=False)
    with torch.no_grad():
        for inject in noisy.noise:
            inject.scale.fill_(0.3)  # as if trained
    app.state.studio.pipeline.stage2 = noisy
    with TestClient(app) as client:
        assert client.get("/api/health").json()["stochastic_details"] is True
        first, again, other = (client.get("/api/generate", params={"seed": 5, "n": 1, "sr_seed": s}).json()
                               for s in (0, 0, 1))
    assert first["sr_seed"] == 0 and other["sr_seed"] == 1
    assert first["sneakers"][0]["lr_png"] == other["sneakers"][0]["lr_png"]  # the same 28x28 sneaker
    assert first["sneakers"][0]["png"] == again["sneakers"][0]["png"] != other["sneakers"][0]["png"]
    lr = generate_images(None, 1, 5, "cpu")  # the tile is `generate --seed 5 -n 1 --sr-seed 1`
    expected = super_resolve_images(noisy, lr, torch.device("cpu"), seed=1)[0]
    assert np.array_equal(decode_png(other["sneakers"][0]["png"]), expected)


def test_the_bundled_stage2_has_no_details_to_reroll(client):
    assert client.get("/api/health").json()["stochastic_details"] is False


def test_the_studio_serves_a_single_stage_run_at_its_own_size(tiny_image_folder, tmp_path):
    """A full-size stage 1 (preset sngan-112) has no stage 2: the studio neither super-resolves its
    112x112 sneakers to 448 nor reports that size."""
    from tests.metrics.test_evaluate import _tiny_run

    run = _tiny_run(tiny_image_folder, tmp_path / "big", "sngan-112", "g_width=2", "d_width=2")
    client = TestClient(create_app(str(run), None, "cpu", "fp32"))
    health = client.get("/api/health").json()
    assert (health["lr_size"], health["sr_size"], health["stage2"]) == (112, 112, "none")
    for stage in ("lr", "sr"):
        made = client.get("/api/generate", params={"n": 1, "stage": stage}).json()
        assert made["size"] == 112 and decode_png(made["sneakers"][0]["png"]).shape == (112, 112, 3)
    frames = client.get("/api/interpolate", params={"a": 0, "b": 1, "steps": 2}).json()
    assert frames["size"] == 112 and decode_png(frames["frames"][0]).shape == (112, 112, 3)
    with pytest.raises(ConfigError, match="in one stage: sr_run does not apply"):
        create_app(str(run), str(run), "cpu", "fp32")
