"""A real browser (Debian's Chromium driven by Playwright) visits every page of a small gallery."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import statistics
import threading
import time
from collections import deque
from contextlib import contextmanager
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
examples: {images: photos, top: 4}
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
# every map of block5_conv1 with both methods, as small and short as VGG16 allows: the page budget at 512 filters
BIG = """
title: 512-filter gallery
model: {weights: random, random_seed: 11}
output: {site: site, cache: cache}
defaults: {methods: [pixel, natural], image_size: 32, iterations: 2, natural: {steps: 2, image_size: 32, snapshots: [2]}}
layers:
  block5_conv1: {filters: 512}
"""
BUDGET = 2.5e6  # bytes a layer page may fetch before any scrolling
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


@contextmanager
def _serving(folder: Path):
    """`folder` over http:// from a thread of this process; yields its base URL."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = LocalServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    _make_sample(folder / "sample.png")
    _make_photos(folder / "photos")
    manifest = load_manifest(write_manifest(folder, GALLERY))
    build(manifest, progress=False)
    # a GitHub Pages-like project sub-path is not needed: every link is relative, checked below
    with _serving(manifest.site_dir) as base:
        yield base, manifest


@pytest.fixture(scope="module")
def served_512(tmp_path_factory):
    """One build for every 512-filter test: block5_conv1's 512 maps, both methods."""
    folder = tmp_path_factory.mktemp("browser512")
    manifest = load_manifest(write_manifest(folder, BIG))
    build(manifest, progress=False)
    with _serving(manifest.site_dir) as base:
        yield base, manifest


def _make_photos(folder: Path) -> None:
    """Photos made here for the dataset examples: noise of different sizes and colour casts."""
    import numpy as np
    from PIL import Image

    folder.mkdir()
    rng = np.random.default_rng(12)
    for name, (height, width), cast in (("warm", (60, 80), (40, 0, -40)), ("cool", (72, 56), (-40, 0, 40)),
                                        ("grey", (64, 64), (0, 0, 0))):
        pixels = rng.integers(60, 196, (height, width, 3)) + np.array(cast)
        Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(folder / f"{name}.png")


def _make_sample(path: Path) -> None:
    """A test image made here: a colour ramp with a bright square (no stock pictures)."""
    import numpy as np
    from PIL import Image

    ramp = np.linspace(0, 255, 160)
    pixels = np.stack([np.tile(ramp, (120, 1)), np.tile(ramp[::-1], (120, 1)), np.full((120, 160), 80.0)], axis=2)
    pixels[30:90, 50:110] = (250, 240, 20)
    Image.fromarray(pixels.astype(np.uint8)).save(path)


def _load_lazy_images(page) -> None:
    """Load every lazy image now (those of the hidden method and below the fold too), so all can be checked."""
    page.evaluate("""() => Promise.all(Array.from(document.images, img => {
        img.loading = "eager";
        return img.complete ? null : new Promise(done => { img.onload = img.onerror = done; });
    }))""")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class LocalServer(http.server.ThreadingHTTPServer):
    # socketserver's backlog of 5 drops connections when a page asks for hundreds of lazy thumbnails on a busy
    # machine, and a dropped connection is retried by the kernel only after seconds
    request_queue_size = 128
    daemon_threads = True


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
        _load_lazy_images(page)
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
    assert len([p for p in pages if p.startswith("/lessons/")]) == 8
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


@pytest.mark.parametrize("width", [1280, 375])
def test_examples_toggle_and_filter_page_sections(served, browser, width):
    """The layer page's third toggle fills the grid with each filter's strongest patch; the filter page shows
    its top and bottom patches, each linked to its photo, beside the optimized images."""
    base, manifest = served
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(base + "layers/block3_conv1.html")
    page.wait_for_load_state("load")
    assert not page.is_visible("#grid-examples")
    page.click(".toggle button[data-method=examples]")
    assert page.is_visible("#grid-examples") and not page.is_visible("#grid-pixel")
    assert page.get_attribute(".toggle button[data-method=examples]", "aria-pressed") == "true"
    cells = page.locator("#grid-examples .cell")
    assert cells.count() == len(manifest.jobs[1].settings.filters)
    _load_lazy_images(page)
    assert page.eval_on_selector_all("#grid-examples img", "imgs => imgs.every(i => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=str(OUTPUT / f"layer-examples-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.locator("#grid-examples .cell a").first.click()
    page.wait_for_load_state("load")
    assert "/filters/block3_conv1/" in page.url
    section = page.locator("section#examples")
    section.scroll_into_view_if_needed()
    _load_lazy_images(page)
    top, bottom = section.locator("ol.patches").nth(0), section.locator("ol.patches").nth(1)
    assert 1 <= top.locator("li").count() <= 4 and bottom.locator("li").count() == 4
    photo = top.locator("a").first.get_attribute("href")
    assert "images/photos/" in photo and page.request.get(urljoin(page.url, photo)).status == 200
    assert "the strongest single position in the photos" in section.inner_text()
    page.screenshot(path=str(OUTPUT / f"filter-examples-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1


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
        _load_lazy_images(page)  # a full-page screenshot does not scroll: lazy images below the fold would be blank
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


# --------------------------------------------------------------------------- 512 filters per layer


def _initial_load(page, url: str, quiet_ms: float = 1000, limit_s: float = 120) -> list[tuple[str, int]]:
    """(URL, bytes) of every response of a fresh visit to `url`, until the network is quiet, before any scrolling.

    Quiet: after the load event, no request open and none started or ended for `quiet_ms`. Playwright's own
    "networkidle" waits the same way but only 30 s and without saying which requests were still open."""
    responses: list[tuple[str, int]] = []
    pending: set = set()  # the Request objects themselves: one URL may be asked for twice at once
    last_change = [time.monotonic()]

    def opened(request):
        pending.add(request)
        last_change[0] = time.monotonic()

    def closed(request):
        pending.discard(request)
        last_change[0] = time.monotonic()

    page.on("request", opened)
    page.on("requestfinished", closed)
    page.on("requestfailed", closed)
    page.on("response", lambda response: responses.append(
        (response.url, int(response.headers.get("content-length", "0")))))
    page.goto(url, wait_until="load", timeout=limit_s * 1000)
    deadline = time.monotonic() + limit_s
    while pending or time.monotonic() - last_change[0] < quiet_ms / 1000:
        assert time.monotonic() < deadline, f"still loading after {limit_s} s: {sorted(r.url for r in pending)[:5]}"
        page.wait_for_timeout(100)  # lets Playwright deliver the request events meanwhile
    return responses


@pytest.mark.parametrize("width", [1280, 375])
def test_512_filter_layer_page_stays_within_budget(served_512, browser, width):
    base, manifest = served_512
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    _watch(page, problems)
    responses = _initial_load(page, base + "layers/block5_conv1.html")
    weight = sum(size for _, size in responses)
    thumbnails = [url for url, _ in responses if url.endswith(".jpg")]
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / f"weight-512-{width}.json").write_text(json.dumps(
        {"bytes": weight, "requests": len(responses), "thumbnails": len(thumbnails)}) + "\n")
    page.screenshot(path=str(OUTPUT / f"layer512-{width}.png"))
    assert not problems, problems
    for job in manifest.jobs:
        assert page.locator(f"#grid-{job.settings.method} .cell").count() == 512
    assert weight <= BUDGET, f"{weight} bytes on first load at {width}px"
    assert 0 < len(thumbnails) < 256, "thumbnails are not lazy-loaded"
    assert not [url for url, _ in responses if "/data/" in url], "the heatmap's values were fetched before a hover"
    assert page.eval_on_selector_all(".grid img", "imgs => imgs.every(i => i.loading === 'lazy' && i.width && i.height)")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the 512-filter layer page scrolls sideways by {overflow}px at {width}px"


def test_512_filter_heatmap_zooms_and_tells_values(served_512, browser):
    base, manifest = served_512
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "layers/block5_conv1.html")
    box, frame = "#method-pixel .heatmap-box", "#method-pixel .heatmap-scroll"
    page.locator(box).scroll_into_view_if_needed()
    width = page.eval_on_selector(box, "b => b.getBoundingClientRect().width")
    page.click("#method-pixel [data-zoom=in]")
    page.click("#method-pixel [data-zoom=in]")
    zoomed = page.eval_on_selector(box, "b => b.getBoundingClientRect().width")
    assert zoomed >= 3.9 * width, (width, zoomed)
    page.eval_on_selector(frame, "f => { f.scrollLeft = 0; f.scrollTop = 0; }")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1

    row, col = 3, 5
    rect = page.eval_on_selector(box, "b => { const r = b.getBoundingClientRect(); return [r.width, r.height]; }")
    page.hover(box, position={"x": (col + 0.5) * rect[0] / 512, "y": (row + 0.5) * rect[1] / 512})
    page.wait_for_function("document.querySelector('#method-pixel .heatmap-value').textContent.includes(' map ')")
    text = page.text_content("#method-pixel .heatmap-value")
    data = json.loads((manifest.site_dir / "data" / "block5_conv1" / "pixel.json").read_text())
    f = data["filters"][row]
    shown = re.fullmatch(r"image of filter (\d+), map (\d+): (\S+) \(own map: (\S+)\)", text)
    assert shown, text
    assert (int(shown[1]), int(shown[2])) == (f["index"], col)
    assert float(shown[3]) == pytest.approx(float(f"{f['cross'][col]:.4g}"), rel=1e-9)
    assert float(shown[4]) == pytest.approx(float(f"{f['cross'][f['index']]:.4g}"), rel=1e-9)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.locator("#method-pixel figure.heatmap").screenshot(path=str(OUTPUT / "heatmap512-zoomed.png"))


def _sort_click(page, table: str, column: int) -> float:
    """Milliseconds from a click on a heading until the next frame after it is drawn."""
    return page.evaluate("""([table, column]) => new Promise(done => {
        const th = document.querySelector(table + " thead th:nth-child(" + column + ")");
        const start = performance.now();
        th.click();
        requestAnimationFrame(() => setTimeout(() => done(performance.now() - start), 0));
    })""", [table, column])


def test_512_row_loss_table_sorts_without_a_stall(served_512, browser):
    base, _ = served_512
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + "layers/block5_conv1.html")
    page.wait_for_load_state("load")
    table = "#loss-table-pixel"
    assert page.locator(f"{table} tbody tr").count() == 512
    page.locator(f"{table} thead").scroll_into_view_if_needed()  # as a reader clicks it: on screen, drawn

    def column(n: int) -> list[float]:
        return page.eval_on_selector_all(f"{table} tbody tr > :nth-child({n})", "cells => cells.map(c => "
                                         "c.dataset.value === '' ? -Infinity : +c.dataset.value)")

    times = []
    for n, direction in [(2, 1), (2, -1), (6, 1), (6, -1), (1, 1)]:
        times.append(_sort_click(page, table, n))
        values = column(n)
        assert values == sorted(values, reverse=direction < 0), (n, direction)
    assert page.get_attribute(f"{table} thead th:nth-child(1)", "aria-sort") == "ascending"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    (OUTPUT / "sort-512.json").write_text(json.dumps({"milliseconds": times}) + "\n")
    assert statistics.median(times) < 500, times  # no visible stall; the median: one click may meet a busy CPU


def _atlas_layers(thumb: Path, site: Path) -> list:
    """Every map of all 13 layers, both methods, as the atlas template reads them; each thumbnail links `thumb`."""
    from types import SimpleNamespace as Record

    from generator.architecture import CHANNELS, receptive_field
    from generator.store import names

    layers = []
    for name, channels in CHANNELS.items():
        methods = tuple(Record(method=method, title=method, filters=tuple(Record(
            index=k, page=names.filter_page(name, k), status="dead" if k % 9 == 0 else "ok", loss_text=f"{k / 3:.2f}",
            thumbnail=names.images_url(name, method, names.thumb_name(k))) for k in range(channels)))
            for method in ("pixel", "natural"))
        for m in methods:
            for f in m.filters:
                (site / f.thumbnail).parent.mkdir(parents=True, exist_ok=True)
                os.link(thumb, site / f.thumbnail)
        layers.append(Record(name=name, built=True, page=names.layer_page(name), channels=channels,
                             receptive_field=receptive_field(name), methods=methods))
    return layers


def test_atlas_of_4224_filters_loads_its_thumbnails_lazily(browser, tmp_path):
    from PIL import Image

    from generator.site.writer import jinja_environment, templates_dir

    site = tmp_path / "site"
    shutil.copytree(templates_dir() / "static", site / "static")
    Image.new("RGB", (96, 96), (90, 120, 200)).save(tmp_path / "t.jpg")
    layers = _atlas_layers(tmp_path / "t.jpg", site)
    html = jinja_environment().get_template("atlas.html").render(
        root="", title="Atlas", layers=layers, weights=None, environment={}, generator_version="test")
    (site / "atlas.html").write_text(html, encoding="utf-8")
    with _serving(site) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        responses = _initial_load(page, base + "atlas.html")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(OUTPUT / "atlas4224-1280.png"))
        assert page.locator(".atlas-row img").count() == 2 * 4224
        assert page.eval_on_selector_all(".atlas-row img", "imgs => imgs.every(i => i.loading === 'lazy' && i.width && i.height)")
        fetched = [url for url, _ in responses if url.endswith(".jpg")]
        (OUTPUT / "atlas-4224.json").write_text(json.dumps(
            {"html_bytes": len(html.encode()), "bytes": sum(size for _, size in responses), "thumbnails": len(fetched)}) + "\n")
        assert 0 < len(fetched) < 1500, f"{len(fetched)} of 8448 thumbnails fetched up front"
