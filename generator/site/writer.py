"""Render the static site from the cached results: context of plain data -> Jinja -> one writer.

The site is assembled in a temporary folder beside the output and swapped in
whole, so a reader (or a browser) never sees a half-written site, and an
interrupted render leaves the previous site as it was. A marker file identifies
our own output: a folder without it that holds files is refused, never deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .. import __version__
from ..analysis.results import LayerResult
from ..config import Manifest
from ..store.cache import CorruptEntry, ResultStore, cache_key, entry_files
from ..store.files import dumps, warn
from ..store.images import encode_png
from .charts import bar_chart, heatmap_pixels, line_chart
from .context import _fmt, build_context, image_url, snapshot_url, thumb_url
from .lessons import LESSONS, lessons_context, samples_context, weights_context
from .output import MARKER, check_output_dir, remove_leftovers, swap_in


def templates_dir() -> Path:
    """Templates ship inside the wheel (generator/templates); a checkout has them at the top."""
    packaged = Path(__file__).parents[1] / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class SiteReport:
    site_dir: Path
    layers_built: int
    layers_missing: tuple[str, ...]
    pages: int
    bytes: int


# --------------------------------------------------------------------------- writer


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = _fmt
    return env


def load_results(manifest: Manifest, store: ResultStore,
                 weights_sha256: str | None) -> dict[tuple[str, str], tuple[str, LayerResult]]:
    """(cache key, result) of each manifest job that is cached under the current settings and weights."""
    results: dict[tuple[str, str], tuple[str, LayerResult]] = {}
    if weights_sha256 is None:
        return results
    for job in manifest.jobs:
        key = cache_key(job.layer, job.settings, weights_sha256, manifest.precision)
        try:
            result = store.load(job.layer, job.settings.method, key)
        except CorruptEntry as error:
            warn(f"{job.layer} {job.settings.method}: cached result is damaged ({error}); "
                 "it is left out and will be recomputed")
            continue
        if result is not None:
            results[(job.layer, job.settings.method)] = (key, result)
    return results


def render_site(manifest: Manifest, store: ResultStore, weights: dict[str, str] | None) -> SiteReport:
    """Write the whole site for the manifest from the cache, then swap it into output.site."""
    site_dir = manifest.site_dir
    check_output_dir(site_dir)
    remove_leftovers(site_dir)
    cached = load_results(manifest, store, weights["sha256"] if weights else None)
    results = {job: result for job, (_, result) in cached.items()}
    context = build_context(manifest, results, weights)
    env = _environment()

    temp = Path(tempfile.mkdtemp(dir=site_dir.parent, prefix=f".{site_dir.name}.tmp-"))
    pages = 0
    try:
        shutil.copytree(templates_dir() / "static", temp / "static")
        for key, result in cached.values():
            _write_layer_files(temp, store, key, result)

        def page(template: str, path: str, **extra: Any) -> None:
            nonlocal pages
            depth = path.count("/")
            html = env.get_template(template).render(root="../" * depth, **context, **extra)
            target = temp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            pages += 1

        teaching = _write_teaching_files(temp, store, manifest, weights, context)
        context.update(teaching)
        page("index.html", "index.html")
        page("about.html", "about.html")
        page("atlas.html", "atlas.html")
        page("handout.html", "handout.html")
        page("lessons/index.html", "lessons/index.html")
        for slug, _ in LESSONS:
            page(f"lessons/{slug}.html", f"lessons/{slug}.html", slug=slug)
        if context["weights_info"]:
            page("weights.html", "weights.html")
        for sample in context["samples"]:
            page("sample.html", sample["page"], sample=sample)
        for layer in context["layers"]:
            if not layer["built"]:
                continue
            page("layer.html", layer["page"], layer=layer)
            for item in layer["filter_pages"]:
                page("filter.html", item["page"], layer=layer, item=item, charts=_filter_charts(layer, item))

        (temp / ".nojekyll").write_bytes(b"")
        (temp / MARKER).write_text(json.dumps({"generator_version": __version__}) + "\n")
        size = sum(p.stat().st_size for p in temp.rglob("*") if p.is_file())
        os.chmod(temp, 0o755)  # mkdtemp makes 0700; a served site must be readable
        swap_in(temp, site_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    built = {layer for layer, _ in results}
    missing = tuple(dict.fromkeys(job.layer for job in manifest.jobs if job.layer not in built))
    return SiteReport(site_dir, len(built), missing, pages, size)


def _write_teaching_files(temp: Path, store: ResultStore, manifest: Manifest, weights: dict[str, str] | None,
                          context: dict[str, Any]) -> dict[str, Any]:
    """Kernel patches and sample sheets into the site; the contexts of the teaching pages."""
    from ..analysis.teaching import kernel_patch, sample_key

    summary = store.load_weights_summary(weights["sha256"]) if weights else None
    if summary is not None:
        (temp / "images" / "weights").mkdir(parents=True, exist_ok=True)
        for k, kernel in enumerate(summary["block1_conv1"]):
            (temp / "images" / "weights" / f"k{k:02d}.png").write_bytes(encode_png(kernel_patch(np.asarray(kernel))))
    samples = []
    for path in manifest.samples if weights else ():
        key = sample_key(path, weights["sha256"])
        data = store.load_sample(key, manifest.layers)
        if data is None:
            warn(f"sample image {path.name}: not computed yet; run 'make gallery' to add it")
            continue
        folder = temp / "samples" / path.stem
        folder.mkdir(parents=True)
        for item in store.sample_dir(key).iterdir():
            if item.suffix == ".png":
                _link_or_copy(item, folder / item.name)
        samples.append(data)
    return {
        "weights_info": weights_context(summary, context["layers"]),
        "samples": samples_context(samples, context["layers"]),
        "lessons": lessons_context(context["layers"]),
        "lesson_titles": LESSONS,
    }


def _write_layer_files(temp: Path, store: ResultStore, key: str, result: LayerResult) -> None:
    """Images (linked from the cache), the public JSON and CSV, and the heatmap of one result."""
    layer, method = result.layer, result.method
    images = temp / "images" / layer / method
    images.mkdir(parents=True)
    for name in entry_files(result):
        _link_or_copy(store.image_path(layer, method, key, name), images / name)
    for f in result.filters:
        if f.snapshots:  # optimization in motion: the snapshots and the final image, animated
            gif = store.animation(layer, method, key, f.index, f.snapshots)
            _link_or_copy(gif, images / gif.name)
    data = temp / "data" / layer
    data.mkdir(parents=True, exist_ok=True)
    public = result.public(
        lambda i: image_url(layer, method, i),
        lambda i: thumb_url(layer, method, i),
        lambda i, step: snapshot_url(layer, method, i, step),
    )
    (data / f"{method}.json").write_bytes(dumps(public))
    (data / f"{method}.csv").write_text(result.csv_table(), encoding="utf-8")
    heatmap = heatmap_pixels([list(f.cross) for f in result.filters])
    (images / "cross.png").write_bytes(encode_png(heatmap))


def _filter_charts(layer: dict[str, Any], item: dict[str, Any]) -> list[dict[str, Any]]:
    charts = []
    for method, f in item["methods"]:
        what = "objective (pre-ReLU mean)" if method["method"] == "natural" else "loss"
        charts.append({
            "loss": line_chart(f["history"], f"{what} of {layer['name']} filter {f['index']} at each step, "
                               f"{method['method']} method", y_label=what.split(" ")[0],
                               threshold=method["settings"].get("threshold"),
                               marker=(f["revived_at"], "revived: strongest positions from here")
                               if f.get("revived_at") else None),
            "bars": bar_chart(f["cross"], f["index"],
                              f"Mean of each of the {layer['channels']} feature maps of {layer['name']} "
                              f"on the {method['method']} image of filter {f['index']}"),
        })
    return charts


def _link_or_copy(source: Path, target: Path) -> None:
    """Hard links make `make site` fast and the site small on disk; copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
