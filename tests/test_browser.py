"""A real browser (Debian's Chromium driven by Playwright) visits every page of a small gallery."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from generator.build import build
from generator.config import load_manifest

from conftest import REPO, write_manifest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OUTPUT = REPO / "test-output" / "browser"
GALLERY = """
title: Browser test gallery
model: {weights: random, random_seed: 11}
sample_images: [sample.png]
output: {site: site, cache: cache}
defaults: {filters: 6, image_size: 32, iterations: 4, lr: 6.0}
layers:
  block1_conv1: {}
  block3_conv1:
    filters: [0, 5, 2, 9, 4, 7]
    threshold: 2.0
    methods: [pixel, natural]
    natural: {steps: 4, image_size: 32, snapshots: [2, 4]}
"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    _make_sample(folder / "sample.png")
    manifest = load_manifest(write_manifest(folder, GALLERY))
    build(manifest, progress=False)
    handler = functools.partial(QuietHandler, directory=str(manifest.site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # a GitHub Pages-like project sub-path is not needed: every link is relative, checked below
    yield f"http://127.0.0.1:{server.server_address[1]}/", manifest
    server.shutdown()


def _make_sample(path: Path) -> None:
    """A test image made here: a colour ramp with a bright square (no stock pictures)."""
    import numpy as np
    from PIL import Image

    ramp = np.linspace(0, 255, 160)
    pixels = np.stack([np.tile(ramp, (120, 1)), np.tile(ramp[::-1], (120, 1)), np.full((120, 160), 80.0)], axis=2)
    pixels[30:90, 50:110] = (250, 240, 20)
    Image.fromarray(pixels.astype(np.uint8)).save(path)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield instance
        instance.close()


def _watch(page, problems: list[str]) -> None:
    page.on("console", lambda message: message.type == "error" and problems.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"failed request: {request.url}"))
    page.on("response", lambda response: response.status >= 400 and problems.append(
        f"HTTP {response.status}: {response.url}"))


def test_every_page_loads_cleanly_and_every_link_resolves(served, browser):
    base, manifest = served
    page = browser.new_page()
    problems: list[str] = []
    _watch(page, problems)
    queue, seen, checked_files = deque([base + "index.html"]), set(), set()
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        page.goto(url)
        page.wait_for_load_state("load")
        broken = page.eval_on_selector_all(
            "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
        assert not broken, f"{url}: images not decoded: {broken}"
        assert page.eval_on_selector_all("img", "imgs => imgs.every(i => i.alt.trim().length > 0)"), url
        levels = page.eval_on_selector_all("h1, h2, h3", "hs => hs.map(h => +h.tagName[1])")
        assert levels and levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:])), url
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            assert not href.startswith("/") and "://" not in href, f"{url}: non-relative link {href}"
            target = urljoin(url, href).split("#")[0]
            if not target.startswith(base):
                continue
            if target.endswith(".html"):
                queue.append(target)
            elif target not in checked_files:
                checked_files.add(target)
                assert page.request.get(target).status == 200, f"{url}: broken link {href}"
    assert not problems, problems
    pages = {urlparse(u).path for u in seen}
    filters = len({(job.layer, index) for job in manifest.jobs for index in job.settings.filters})
    assert {"/index.html", "/about.html", "/layers/block1_conv1.html", "/layers/block3_conv1.html",
            "/atlas.html", "/handout.html", "/weights.html", "/samples/sample.html", "/lessons/index.html",
            "/lessons/01-activation-maximization.html", "/lessons/06-what-layers-see.html"} <= pages
    assert len([p for p in pages if p.startswith("/lessons/")]) == 7
    assert len([p for p in pages if p.startswith("/filters/")]) == filters
    assert checked_files, "no data downloads were linked"


def test_layer_grid_sorting_and_page_weight(served, browser):
    base, manifest = served
    page = browser.new_page()
    transferred = []
    page.on("response", lambda response: transferred.append(len(response.body())))
    page.goto(base + "layers/block3_conv1.html")
    page.wait_for_load_state("load")
    assert page.locator("#grid-pixel .cell").count() == len(manifest.jobs[1].settings.filters)
    assert page.locator("#grid-natural .cell").count() == len(manifest.jobs[2].settings.filters)
    assert page.is_visible("#grid-pixel") and not page.is_visible("#grid-natural")
    page.click(".toggle button[data-method=natural]")
    assert page.is_visible("#grid-natural") and not page.is_visible("#grid-pixel")
    page.click(".toggle button[data-method=pixel]")
    assert sum(transferred) <= 2.5e6

    def first_column():
        return page.eval_on_selector_all("#loss-table-pixel tbody tr th", "ths => ths.map(th => th.textContent.trim())")

    before = first_column()
    page.click("#loss-table-pixel thead th:nth-child(2)")  # final loss, ascending
    ascending = first_column()
    page.click("#loss-table-pixel thead th:nth-child(2)")  # descending
    descending = first_column()
    assert ascending != before or descending != before
    assert descending == ascending[::-1]
    losses = page.eval_on_selector_all("#loss-table-pixel tbody tr td:nth-child(2)", "tds => tds.map(td => +td.dataset.value)")
    assert losses == sorted(losses, reverse=True)

    page.hover("#method-pixel .heatmap-box", position={"x": 3, "y": 3})
    assert "map 0" in page.text_content("#method-pixel .heatmap-value")
    page.click("#method-pixel .heatmap-box", position={"x": 3, "y": 3})
    page.wait_for_load_state("load")
    assert page.url.endswith("/filters/block3_conv1/000.html")


def test_arrow_keys_move_between_filter_pages(served, browser):
    base, _ = served
    page = browser.new_page()
    page.goto(base + "filters/block1_conv1/000.html")
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/filters/block1_conv1/001.html")
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/filters/block1_conv1/002.html")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url("**/filters/block1_conv1/001.html")


@pytest.mark.parametrize("width", [1280, 375])
def test_screenshots_and_no_sideways_scrolling(served, browser, width):
    base, _ = served
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    for name, path in [("index", "index.html"), ("layer", "layers/block3_conv1.html"),
                       ("filter", "filters/block3_conv1/005.html"), ("about", "about.html"),
                       ("lesson3", "lessons/03-dead-filters.html"), ("weights", "weights.html"),
                       ("sample", "samples/sample.html"), ("atlas", "atlas.html")]:
        page.goto(base + path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(OUTPUT / f"{name}-{width}.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px at {width}px"


def test_handout_prints_one_page_per_layer(served, browser):
    base, manifest = served
    page = browser.new_page()
    page.goto(base + "handout.html")
    page.emulate_media(media="print")
    assert page.locator(".handout-layer").count() == len(manifest.layers)
    assert page.evaluate("getComputedStyle(document.querySelector('.handout-layer')).breakAfter") == "page"
    assert not page.is_visible("header.top")
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(OUTPUT / "handout.pdf"))
