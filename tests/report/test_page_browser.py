"""The report page in a real browser (Playwright driving the system's headless Chromium, as
tests/serve/test_page.py does; skipped, with the reason shown, when either is missing): it loads from a
file:// URL with no errors and no requests elsewhere, every image decodes, and the sliders switch epochs."""

from sneakergan.report.page import write_report
from tests.report.conftest import GAN_EPOCHS
from tests.serve.test_page import browser  # noqa: F401  (the fixture: skips without playwright or chromium)


def _shown(page, testid):
    """(epoch, src) of the frames of a scrubber that are visible."""
    return page.eval_on_selector_all(f"[data-testid={testid}-frame]",
                                     "frames => frames.filter(f => f.offsetParent !== null)"
                                     ".map(f => [Number(f.dataset.epoch), f.src])")


def test_the_report_page_loads_everything_and_its_sliders_switch_epochs(browser, gan_run, tmp_path):  # noqa: F811
    out = write_report(gan_run, tmp_path / "report.html")
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems, requests = [], []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(out.as_uri(), wait_until="load")

    sizes = page.eval_on_selector_all("img", "images => images.map(i => [i.complete, i.naturalWidth])")
    assert len(sizes) == 2 * GAN_EPOCHS + 5  # samples, histograms, 3 drawn figures, PRD curve, nearest panel
    assert all(complete and width > 0 for complete, width in sizes), sizes
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []

    last = _shown(page, "samples")
    assert [epoch for epoch, _ in last] == [GAN_EPOCHS]
    slider = page.get_by_test_id("samples").locator("input[type=range]")
    slider.fill("0")
    first = _shown(page, "samples")
    assert [epoch for epoch, _ in first] == [1] and first[0][1] != last[0][1]
    assert page.get_by_test_id("samples-epoch").inner_text() == "1"
    assert [epoch for epoch, _ in _shown(page, "histograms")] == [GAN_EPOCHS]  # each slider has its own frames
    slider.press("ArrowRight")  # the keyboard moves it too
    assert [epoch for epoch, _ in _shown(page, "samples")] == [2]
    assert page.get_by_test_id("samples-epoch").inner_text() == "2"
    assert problems == []
    page.close()
