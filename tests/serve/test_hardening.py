"""The studio under load and against other sites: work for clients that left is dropped, the queue for
the models is bounded, only the bound host names are served, and every response has the safety headers."""

import asyncio
import socket
import threading
import time
import urllib.parse
import urllib.request

import pytest

import sneakergan.serve
from sneakergan.cli import main
from sneakergan.errors import ConfigError
from sneakergan.serve import app as app_module
from sneakergan.serve import create_app
from sneakergan.serve import studio as studio_module
from tests.serve.conftest import TestClient
from tests.serve.test_page import serving

LOOPBACK = ["localhost", "127.0.0.1", "[::1]"]


def _until(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def test_queued_work_of_a_client_that_left_is_dropped(bundled_app):
    studio = bundled_app.state.studio
    release, ran = threading.Event(), []

    async def scenario():
        gone = False

        async def disconnected():
            return gone

        busy = asyncio.create_task(studio.run(lambda should_stop: release.wait(5), 10))
        deadline = time.monotonic() + 5
        while not studio._lock.locked():
            assert not busy.done() and time.monotonic() < deadline, "the first request did not get the models"
            await asyncio.sleep(0.01)
        left = [asyncio.create_task(studio.run(lambda should_stop: ran.append(1), 10, disconnected))
                for _ in range(5)]
        await asyncio.sleep(0.2)  # the five wait for the models ...
        gone = True  # ... and their clients leave
        results = await asyncio.wait_for(asyncio.gather(*left, return_exceptions=True), 2)
        assert all(isinstance(result, studio_module.Abandoned) for result in results), results
        release.set()
        assert await busy is True
        started = time.monotonic()
        assert await studio.run(lambda should_stop: "fresh", 10) == "fresh"
        assert time.monotonic() - started < 1

    asyncio.run(scenario())  # returns once the worker threads have ended
    assert ran == []


@pytest.mark.parametrize("make", [lambda studio, stop: studio.sneakers(0, 10, "sr", None, stop),
                                  lambda studio, stop: studio.morph([0, 1], 10, "sr", None, stop)],
                         ids=["sneakers", "morph"])
def test_long_work_stops_between_sneakers_once_abandoned(bundled_app, monkeypatch, make):
    studio = bundled_app.state.studio
    real, calls = studio.pipeline.upscale, []
    monkeypatch.setattr(studio.pipeline, "upscale", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    with pytest.raises(studio_module.Abandoned):
        make(studio, lambda: len(calls) >= 3)
    assert len(calls) == 3


def test_the_studio_stops_working_for_clients_that_left(bundled_app, monkeypatch):
    studio, real, stopped = bundled_app.state.studio, bundled_app.state.studio.sneakers, []

    def slow(seed, n, stage, label=None, should_stop=lambda: False, sr_seed=0):
        if n == 1:
            return real(seed, n, stage, label)
        deadline = time.monotonic() + 5
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(0.01)
        stopped.append(should_stop())
        return []

    monkeypatch.setattr(studio, "sneakers", slow)
    with serving(bundled_app) as url:
        port = urllib.parse.urlsplit(url).port
        for _ in range(3):  # as `curl -m 1`: ask for many sneakers, then hang up
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"GET /api/generate?n=64 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        time.sleep(0.3)
        started = time.monotonic()
        with urllib.request.urlopen(f"{url}api/generate?n=1", timeout=30) as response:
            assert response.status == 200
        assert time.monotonic() - started < 3
    assert all(stopped), stopped  # whatever had started stopped early; the rest never ran


def test_requests_beyond_the_queue_are_refused_at_once(bundled_app, monkeypatch):
    studio, release, codes = bundled_app.state.studio, threading.Event(), []
    monkeypatch.setattr(studio, "sneakers", lambda *args: release.wait(10) and [])
    with TestClient(bundled_app) as client:
        def ask():
            codes.append(client.get("/api/generate", params={"n": 1}).status_code)

        threads = [threading.Thread(target=ask) for _ in range(studio_module.MAX_WAITING + 1)]
        for thread in threads:
            thread.start()
        try:
            _until(lambda: studio.waiting == studio_module.MAX_WAITING)  # one generating, the rest waiting
            started = time.monotonic()
            response = client.get("/api/generate", params={"n": 1})
            elapsed = time.monotonic() - started
        finally:
            release.set()
            for thread in threads:
                thread.join()
    assert response.status_code == 503 and elapsed < 1 and response.headers["retry-after"] == "5"
    assert response.json()["detail"] == (f"the server is busy: {studio_module.MAX_WAITING} requests are already "
                                         "waiting for the models; try again in a few seconds")
    assert codes == [200] * (studio_module.MAX_WAITING + 1) and studio.waiting == 0


@pytest.mark.parametrize("host, status", [
    ("localhost", 200), ("localhost:8000", 200), ("127.0.0.1:8000", 200), ("[::1]:8000", 200), ("[::1]", 200),
    ("evil.example", 400), ("evil.example:8000", 400), ("localhost.evil.example", 400), ("testserver", 400),
])
def test_only_the_loopback_host_names_are_served(client, host, status):
    # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1 still sends Host: evil.example
    assert client.get("/api/health", headers={"Host": host}).status_code == status


def test_an_app_serves_the_host_names_it_is_given():
    with TestClient(create_app(device="cpu", precision="fp32", allowed_hosts=["studio.example"]),
                    base_url="http://studio.example:8000") as client:
        assert client.get("/api/health").status_code == 200
        assert client.get("/api/health", headers={"Host": "localhost"}).status_code == 400


@pytest.mark.parametrize("bound, names", [
    ("127.0.0.1", LOOPBACK), ("localhost", LOOPBACK), ("::1", LOOPBACK), ("127.0.0.2", LOOPBACK + ["127.0.0.2"]),
    ("192.168.1.5", ["192.168.1.5"]), ("fe80::1", ["[fe80::1]"]), ("studio.lan", ["studio.lan"]),
    ("0.0.0.0", ["*"]), ("::", ["*"]),
])
def test_the_host_names_of_a_bound_address(bound, names):
    assert app_module.host_names(bound) == names


def test_serve_passes_the_host_names_of_its_host(monkeypatch):
    seen = {}

    def fake_create_app(*args, **kwargs):
        seen.update(kwargs)
        raise ConfigError("stop here")

    monkeypatch.setattr(sneakergan.serve, "create_app", fake_create_app)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["serve", "--port", str(port), "--device", "cpu"]) == 2
    assert seen["allowed_hosts"] == LOOPBACK


@pytest.mark.parametrize("path, host, status", [
    ("/", "localhost", 200), ("/api/health", "localhost", 200), ("/openapi.json", "127.0.0.1:8000", 200),
    ("/docs", "localhost", 200), ("/no/such/page", "localhost", 404), ("/api/generate?n=0", "localhost", 422),
    ("/api/health", "evil.example", 400),
])
def test_every_response_carries_the_safety_headers(client, path, host, status):
    response = client.get(path, headers={"Host": host})
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
