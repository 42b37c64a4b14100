"""The studio page in a real browser: Playwright for Python driving the system's headless Chromium.

Skipped, with the reason shown, when playwright or /usr/bin/chromium is missing (`.ci/run` installs
Debian's chromium when it can). Playwright's own browser download is never used.
"""

import contextlib
import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from sneakergan.serve import create_app
from tests.serve.conftest import decode_png

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[dev]')")
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM} (apt-get install chromium): the browser test needs the system's Chromium")
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            yield browser
            browser.close()
    except sync_api.Error as exc:
        pytest.skip(f"playwright cannot drive {CHROMIUM}: {str(exc).splitlines()[0]}")


@contextlib.contextmanager
def serving(app):
    """`app` served by uvicorn on a free loopback port, in a thread; yields its URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _screenshot(page, tmp_path, name):
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("SNEAKERGAN_ARTEFACTS"):
        folder = Path(os.environ["SNEAKERGAN_ARTEFACTS"])
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / name)
    return path


def _sources(page, testid):
    return page.eval_on_selector_all(f"[data-testid={testid}]", "images => images.map(i => i.src)")


def _natural_sizes(page, testid):
    return page.eval_on_selector_all(f"[data-testid={testid}]",
                                     "images => images.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")


def _png_of(url):
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return decode_png(url[len(prefix):])


def test_the_studio_page_generates_selects_morphs_and_downloads(browser, tmp_path):
    from playwright.sync_api import expect

    with serving(create_app(device="cpu", precision="fp32")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
        problems = []
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(url)
        tiles = page.get_by_test_id("tile")
        expect(tiles).to_have_count(16, timeout=60_000)
        expect(page.get_by_test_id("label-picker")).to_be_hidden()  # the bundled stage 1 is unconditional
        expect(page.get_by_test_id("model-info")).to_contain_text("stage 1: bundled")

        page.get_by_test_id("more").click()
        expect(tiles).to_have_count(32, timeout=60_000)
        seeds = page.eval_on_selector_all("[data-testid=tile]", "tiles => tiles.map(t => Number(t.dataset.seed))")
        assert seeds == list(range(32))
        expect(page.get_by_test_id("status")).to_contain_text("seeds 0 to 31")
        assert all(entry == [True, 112, 112] for entry in _natural_sizes(page, "tile-image"))
        first = _png_of(_sources(page, "tile-image")[0])
        assert first.shape == (112, 112, 3) and first.std() > 0  # a real picture, not a blank

        page.get_by_test_id("stage-toggle").click()  # stage 1's 28x28 sneakers
        expect(page.get_by_test_id("stage-toggle")).to_have_attribute("aria-pressed", "true")
        assert all(entry == [True, 28, 28] for entry in _natural_sizes(page, "tile-image"))
        page.get_by_test_id("stage-toggle").click()
        assert _natural_sizes(page, "tile-image")[0] == [True, 112, 112]

        tiles.nth(3).click()
        tiles.nth(20).click()
        expect(tiles.nth(3)).to_have_attribute("aria-pressed", "true")
        expect(page.get_by_test_id("pick")).to_have_count(2)
        frames = page.get_by_test_id("frame")
        expect(frames).to_have_count(8, timeout=60_000)  # the default 8 steps
        expect(page.get_by_test_id("interpolation-hint")).to_contain_text("seed 3 to seed 20, 8 frames at 112x112")
        strip = [_png_of(src) for src in _sources(page, "frame")]
        assert all(frame.shape == (112, 112, 3) for frame in strip)
        tile_pngs = _sources(page, "tile-image")
        assert (strip[0] == _png_of(tile_pngs[3])).all() and (strip[-1] == _png_of(tile_pngs[20])).all()

        with page.expect_download() as download:
            page.get_by_test_id("download-sr").first.click()
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.name == "sneaker-seed3-112.png" and decode_png(saved.read_bytes()).shape == (112, 112, 3)

        shot = _screenshot(page, tmp_path, "studio.png")
        assert decode_png(shot.read_bytes()).shape[1] == 1280
        assert problems == []
        page.close()


def test_a_conditional_model_gets_a_label_picker(browser, cgan_run, tmp_path):
    from playwright.sync_api import expect

    with serving(create_app(lr_run=cgan_run, device="cpu", precision="fp32")) as url:
        page = browser.new_page()
        page.goto(url)
        tiles = page.get_by_test_id("tile")
        expect(tiles).to_have_count(16, timeout=60_000)
        expect(page.get_by_test_id("label-picker")).to_be_visible()
        tiles.nth(0).click()
        tiles.nth(1).click()
        expect(page.get_by_test_id("interpolation-hint")).to_contain_text("choose a class")
        page.get_by_test_id("label-select").select_option("red")
        expect(page.get_by_test_id("status")).to_contain_text("(class red)", timeout=60_000)
        tiles.nth(0).click()
        tiles.nth(5).click()
        expect(page.get_by_test_id("frame")).to_have_count(8, timeout=60_000)
        _screenshot(page, tmp_path, "studio-conditional.png")
        page.close()
