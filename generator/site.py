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
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from . import __version__
from .architecture import CHANNELS, CONV_LAYER_NAMES, receptive_field
from .charts import bar_chart, heatmap_pixels, line_chart
from .images import encode_png
from .config import Manifest
from .errors import OutputError
from .results import LayerResult
from .store import (BuildLock, CorruptEntry, ResultStore, cache_key, dumps, entry_files, image_name,
                    snapshot_name, thumb_name, warn)

MARKER = ".vgg16-gallery"


def templates_dir() -> Path:
    """Templates ship inside the wheel (generator/templates); a checkout has them at the top."""
    packaged = Path(__file__).parent / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[1] / "templates"


@dataclass(frozen=True)
class SiteReport:
    site_dir: Path
    layers_built: int
    layers_missing: tuple[str, ...]
    pages: int
    bytes: int


# --------------------------------------------------------------------------- output folder checks


def check_output_dir(site_dir: Path) -> None:
    """Refuse an output that is a file, someone else's folder, or not writable."""
    if site_dir.exists() and not site_dir.is_dir():
        raise OutputError(f"output.site: {site_dir} is a file, not a folder; choose another output.site")
    if site_dir.is_dir() and any(site_dir.iterdir()) and not (site_dir / MARKER).is_file():
        raise OutputError(
            f"output.site: {site_dir} holds files that are not a gallery (no {MARKER} marker); "
            "refusing to replace them: choose an empty or new folder in output.site"
        )
    parent = site_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"output.site: cannot create {parent} ({error.strerror})") from None
    if not os.access(parent, os.W_OK | os.X_OK) or (site_dir.is_dir() and not os.access(site_dir, os.W_OK)):
        raise OutputError(f"output.site: {site_dir} is not writable; choose a writable folder in output.site")


def _swap_in(temp: Path, site_dir: Path) -> None:
    """Replace site_dir by temp with two renames; the old site is removed only afterwards.

    Ctrl-C and SIGTERM are held back between the two renames, so an interrupt
    cannot leave the output without a site; they take effect right after.
    """
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        old = None
        if site_dir.exists():
            old = Path(tempfile.mkdtemp(dir=site_dir.parent, prefix=f".{site_dir.name}.old-"))
            os.rename(site_dir, old / "site")
        try:
            os.rename(temp, site_dir)
        except BaseException:
            if old is not None:
                os.rename(old / "site", site_dir)
            raise
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(site_dir: Path) -> None:
    """Clean up after a render that was killed: restore the previous site if only its copy is left."""
    olds = sorted(site_dir.parent.glob(f".{site_dir.name}.old-*"))
    if not site_dir.exists():
        for old in olds:
            if (old / "site").is_dir():
                os.rename(old / "site", site_dir)
                break
    for path in [*site_dir.parent.glob(f".{site_dir.name}.tmp-*"), *olds]:
        shutil.rmtree(path, ignore_errors=True)


def site_lock(site_dir: Path) -> BuildLock:
    """Two builds into one output folder: the second is told the folder is busy."""
    return BuildLock(site_dir.parent / f".{site_dir.name}.lock", f"the output folder {site_dir}")


# --------------------------------------------------------------------------- context


def _fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def image_url(layer: str, method: str, index: int) -> str:
    return f"images/{layer}/{method}/{image_name(index)}"


def thumb_url(layer: str, method: str, index: int) -> str:
    return f"images/{layer}/{method}/{thumb_name(index)}"


def filter_page(layer: str, index: int) -> str:
    return f"filters/{layer}/{index:03d}.html"


def selectivity(cross: tuple[float | None, ...], target: int) -> float | None:
    """(own - mean of others) / (own + mean of others): 1 = only its own map responds, 0 = no preference."""
    values = [0.0 if v is None else v for v in cross]
    own = values[target]
    others = (sum(values) - own) / max(len(values) - 1, 1)
    return None if own + others <= 0 else (own - others) / (own + others)


def _compact(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")


METHOD_NAMES = {"pixel": "pixel (the original)", "natural": "natural (spectral, robust)"}


def snapshot_url(layer: str, method: str, index: int, step: int) -> str:
    return f"images/{layer}/{method}/{snapshot_name(index, step)}"


def method_context(result: LayerResult, image_size: int) -> dict[str, Any]:
    """One method's results on one layer, as plain data for the templates."""
    layer, method = result.layer, result.method
    present = {f.index for f in result.filters}
    filters = []
    for f in result.filters:
        filters.append({
            "index": f.index,
            "loss": f.loss,
            "loss_text": "NaN" if f.loss is None else f"{f.loss:.2f}",
            "steps": f.steps,
            "stopped_early": f.stopped_early,
            "status": f.status,
            "activation": f.activation,
            "activation_text": _fmt(f.activation),
            "rank": f.rank,
            "reaching": list(f.reaching),
            "image": image_url(layer, method, f.index),
            "thumbnail": thumb_url(layer, method, f.index),
            "page": filter_page(layer, f.index),
            "selectivity": selectivity(f.cross, f.index),
            "history": list(f.history),
            "cross": list(f.cross),
            "snapshots": [{"step": step, "image": snapshot_url(layer, method, f.index, step)}
                          for step in f.snapshots],
            "reaching_links": [
                {"index": k, "page": filter_page(layer, k) if k in present else None} for k in f.reaching
            ],
        })
    return {
        "method": method,
        "method_name": METHOD_NAMES.get(method, method),
        "settings": result.settings,
        "image_size": image_size,
        "counts": result.counts(),
        "mean_loss": result.mean_loss(),
        "mean_loss_text": _fmt(result.mean_loss()),
        "seconds": result.seconds,
        "seconds_text": f"{result.seconds:,.1f}",
        "filters": filters,
        "by_index": {f["index"]: f for f in filters},
        "strongest": result.strongest_count(),
        "data_json": f"data/{layer}/{method}.json",
        "data_csv": f"data/{layer}/{method}.csv",
        "environment": result.environment,
        "heatmap": f"images/{layer}/{method}/cross.png",
        "heatmap_data": {
            "maps": result.channels,
            "rows": [{"index": f.index, "page": filter_page(layer, f.index),
                      "values": [_compact(v) for v in f.cross]} for f in result.filters],
        },
    }


def layer_context(layer: str, methods: list[dict[str, Any]], channels: int) -> dict[str, Any]:
    """A layer with the results of each of its methods; filter pages cover every filter of any method."""
    indices: list[int] = []
    for method in methods:
        indices += [f["index"] for f in method["filters"] if f["index"] not in indices]
    pages = [filter_page(layer, index) for index in indices]
    filter_pages = []
    for position, index in enumerate(indices):
        filter_pages.append({
            "index": index,
            "page": pages[position],
            "previous": pages[position - 1] if position > 0 else None,
            "next": pages[position + 1] if position + 1 < len(pages) else None,
            "methods": [(m, m["by_index"][index]) for m in methods if index in m["by_index"]],
        })
    return {
        "name": layer,
        "channels": channels,
        "receptive_field": receptive_field(layer),
        "methods": methods,
        "primary": methods[0],
        "filter_pages": filter_pages,
        "page": f"layers/{layer}.html",
    }


def build_context(manifest: Manifest, results: dict[tuple[str, str], LayerResult],
                  weights: dict[str, str] | None) -> dict:
    layers = []
    seen: list[str] = []
    for job in manifest.jobs:
        if job.layer not in seen:
            seen.append(job.layer)
    for name in seen:
        jobs = [job for job in manifest.jobs if job.layer == name]
        built = [method_context(results[(name, job.settings.method)], job.settings.image_size)
                 for job in jobs if (name, job.settings.method) in results]
        entry = {
            "name": name,
            "settings": jobs[0].settings.public(),
            "planned": [job.settings.method for job in jobs],
            "built": bool(built),
            "receptive_field": receptive_field(name),
        }
        if built:
            entry.update(layer_context(name, built, CHANNELS[name]))
        layers.append(entry)
    built_layers = [layer for layer in layers if layer["built"]]
    for position, layer in enumerate(built_layers):
        layer["previous"] = built_layers[position - 1]["name"] if position > 0 else None
        layer["next"] = built_layers[position + 1]["name"] if position + 1 < len(built_layers) else None
    environment = built_layers[0]["primary"]["environment"] if built_layers else {}
    return {
        "title": manifest.title,
        "layers": layers,
        "weights": weights,
        "environment": environment,
        "generator_version": __version__,
        "all_layers": CONV_LAYER_NAMES,
    }


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
                 weights_sha256: str | None) -> dict[tuple[str, str], LayerResult]:
    """The cached result of each manifest job under the current settings and weights."""
    results: dict[tuple[str, str], LayerResult] = {}
    if weights_sha256 is None:
        return results
    for job in manifest.jobs:
        key = cache_key(job.layer, job.settings, weights_sha256)
        try:
            result = store.load(job.layer, job.settings.method, key)
        except CorruptEntry as error:
            warn(f"{job.layer} {job.settings.method}: cached result is damaged ({error}); "
                 "it is left out and will be recomputed")
            continue
        if result is not None:
            results[(job.layer, job.settings.method)] = result
    return results


def render_site(manifest: Manifest, store: ResultStore, weights: dict[str, str] | None) -> SiteReport:
    """Write the whole site for the manifest from the cache, then swap it into output.site."""
    site_dir = manifest.site_dir
    check_output_dir(site_dir)
    remove_leftovers(site_dir)
    results = load_results(manifest, store, weights["sha256"] if weights else None)
    context = build_context(manifest, results, weights)
    env = _environment()

    temp = Path(tempfile.mkdtemp(dir=site_dir.parent, prefix=f".{site_dir.name}.tmp-"))
    pages = 0
    try:
        shutil.copytree(templates_dir() / "static", temp / "static")
        for job in manifest.jobs:
            result = results.get((job.layer, job.settings.method))
            if result is not None:
                _write_layer_files(temp, store, cache_key(job.layer, job.settings, weights["sha256"]), result)

        def page(template: str, path: str, **extra: Any) -> None:
            nonlocal pages
            depth = path.count("/")
            html = env.get_template(template).render(root="../" * depth, **context, **extra)
            target = temp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(html, encoding="utf-8")
            pages += 1

        page("index.html", "index.html")
        page("about.html", "about.html")
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
        _swap_in(temp, site_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    built = {layer for layer, _ in results}
    missing = tuple(dict.fromkeys(job.layer for job in manifest.jobs if job.layer not in built))
    return SiteReport(site_dir, len(built), missing, pages, size)


def _write_layer_files(temp: Path, store: ResultStore, key: str, result: LayerResult) -> None:
    """Images (linked from the cache), the public JSON and CSV, and the heatmap of one result."""
    layer, method = result.layer, result.method
    images = temp / "images" / layer / method
    images.mkdir(parents=True)
    for name in entry_files(result):
        _link_or_copy(store.image_path(layer, method, key, name), images / name)
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
                               threshold=method["settings"].get("threshold")),
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
