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

import numpy as np

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
            "animation": f"images/{layer}/{method}/a{f.index:03d}.gif" if f.snapshots else None,
            "high_frequency": f.high_frequency,
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


# --------------------------------------------------------------------------- teaching pages


def weights_context(summary: dict | None, layers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """block1_conv1's kernels (linked to their filters) and per-layer kernel statistics."""
    if summary is None:
        return None
    first = next((layer for layer in layers if layer["name"] == "block1_conv1" and layer["built"]), None)
    shown = {item["index"] for item in first["filter_pages"]} if first else set()
    kernels = [{
        "index": k,
        "image": f"images/weights/k{k:02d}.png",
        "page": filter_page("block1_conv1", k) if k in shown else None,
        "thumbnails": [m["by_index"][k]["thumbnail"] for m in first["methods"] if k in m["by_index"]] if first else [],
    } for k in range(len(summary["block1_conv1"]))]
    stats = []
    for name, data in summary["layers"].items():
        norms = np.asarray(data["norm"])
        bias = np.asarray(data["bias"])
        stats.append({
            "name": name,
            "in_channels": data["in_channels"],
            "channels": data["channels"],
            "norm_min": float(norms.min()), "norm_median": float(np.median(norms)), "norm_max": float(norms.max()),
            "bias_mean": float(bias.mean()), "bias_negative": int((bias < 0).sum()),
            "chart": bar_chart(data["norm"], -1, f"L2 norm of each of the {data['channels']} kernels of {name}",
                               x_label="output channel (filter)", y_label="kernel norm"),
        })
    return {"kernels": kernels, "stats": stats}


def samples_context(samples: list[dict], layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each sample image: per layer its 64 feature maps, their means, the strongest maps and the
    generated images whose cross-activation profile is closest to the sample's."""
    from .teaching import most_similar

    by_name = {layer["name"]: layer for layer in layers}
    out = []
    for sample in samples:
        entry = {"name": sample["name"], "page": f"samples/{sample['name']}.html",
                 "image": f"samples/{sample['name']}/sample.png", "layers": []}
        for name, data in sample["layers"].items():
            layer = by_name.get(name)
            primary = layer["primary"] if layer and layer["built"] else None
            def link(k: int) -> dict[str, Any]:
                f = primary["by_index"].get(k) if primary else None
                return {"index": k, "mean": data["means"][k], "page": f["page"] if f else None,
                        "thumbnail": f["thumbnail"] if f else None}
            similar = most_similar(data["means"], primary["filters"]) if primary else []
            entry["layers"].append({
                "name": name,
                "sheet": f"samples/{sample['name']}/{name}.png",
                "shown": min(64, len(data["means"])),
                "means": [round(v, 2) for v in data["means"][:64]],
                "strongest": [link(k) for k in data["strongest"]],
                "similar": [link(k) for k in similar],
            })
        out.append(entry)
    return out


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def lessons_context(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """The numbers the lessons quote, read off this gallery's own results."""
    built = [layer for layer in layers if layer["built"]]
    rows = []
    for layer in built:
        for m in layer["methods"]:
            ok = [f for f in m["filters"] if f["status"] == "ok"]
            rows.append({
                "layer": layer["name"], "method": m["method"], "page": layer["page"], "filters": len(m["filters"]),
                "strongest": m["strongest"], "dead": m["counts"]["dead"], "ok": m["counts"]["ok"],
                "median_rank": _median([f["rank"] for f in ok]),
                "median_reaching": _median([len(f["reaching"]) for f in ok]),
                "high_frequency": _median([f["high_frequency"] for f in ok if f["high_frequency"] is not None]),
                "receptive_field": layer["receptive_field"],
            })
    example = None  # lesson 1: the strongest filter of the first built layer
    if built:
        m = built[0]["primary"]
        ok = [f for f in m["filters"] if f["status"] == "ok" and f["loss"] is not None]
        if ok:
            f = max(ok, key=lambda f: f["loss"])
            example = {"layer": built[0]["name"], "method": m["method"], "settings": m["settings"], "filter": f,
                       "first": f["history"][0], "last": f["history"][-1]}
    rivals = []  # lesson 2: the most and the least specific images
    for layer in built:
        m = layer["primary"]
        ok = [f for f in m["filters"] if f["status"] == "ok" and (f["activation"] or 0) > 0]
        # only images that really drive their map: a barely-opened filter has "rivals" by default
        typical = _median([f["activation"] for f in ok]) or 0.0
        for f in ok:
            if f["activation"] >= typical:
                rivals.append({"layer": layer["name"], "channels": layer["channels"], **f})
    revived = []  # lessons 3 and 4: dead (or noisy) with pixels, alive with the natural method
    pairs = []
    for layer in built:
        methods = {m["method"]: m for m in layer["methods"]}
        if "pixel" in methods and "natural" in methods:
            for index, f in methods["pixel"]["by_index"].items():
                g = methods["natural"]["by_index"].get(index)
                if g is None:
                    continue
                pair = {"layer": layer["name"], "index": index, "pixel": f, "natural": g}
                pairs.append(pair)
                if f["status"] == "dead" and g["status"] == "ok":
                    revived.append(pair)
    by_block: dict[str, list] = {"early": [], "middle": [], "deep": []}
    for layer in built:
        block = int(layer["name"][5])
        depth = "early" if block <= 2 else ("middle" if block <= 3 else "deep")
        m = next((m for m in layer["methods"] if m["method"] == "natural"), layer["primary"])
        ok = [f for f in m["filters"] if f["status"] == "ok" and f["selectivity"] is not None]
        best = sorted(ok, key=lambda f: -f["selectivity"])[:4]
        if best:
            by_block[depth].append({"layer": layer["name"], "method": m["method"], "filters": best,
                                    "receptive_field": layer["receptive_field"]})
    rivals.sort(key=lambda f: (len(f["reaching"]), f["rank"]))
    return {
        "rows": rows,
        "example": example,
        "specific": rivals[:4],
        "unspecific": rivals[::-1][:4],
        "revived": revived[:8],
        "revived_count": len(revived),
        "pairs": pairs[:6],
        "depths": by_block,
        "layers_built": len(built),
    }


LESSONS = (
    ("01-activation-maximization", "What activation maximization is"),
    ("02-cross-activation", "Reading the cross-activation table"),
    ("03-dead-filters", "Dead filters, and how the natural method revives them"),
    ("04-pixel-versus-natural", "Pixel versus natural images"),
    ("05-receptive-fields", "How receptive fields grow with depth"),
    ("06-what-layers-see", "What early, middle and deep layers respond to"),
)


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
        key = cache_key(job.layer, job.settings, weights_sha256, manifest.precision)
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
                _write_layer_files(temp, store, cache_key(job.layer, job.settings, weights["sha256"],
                                                          manifest.precision), result)

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
        _swap_in(temp, site_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    built = {layer for layer, _ in results}
    missing = tuple(dict.fromkeys(job.layer for job in manifest.jobs if job.layer not in built))
    return SiteReport(site_dir, len(built), missing, pages, size)


def _write_teaching_files(temp: Path, store: ResultStore, manifest: Manifest, weights: dict[str, str] | None,
                          context: dict[str, Any]) -> dict[str, Any]:
    """Kernel patches and sample sheets into the site; the contexts of the teaching pages."""
    from .teaching import kernel_patch, sample_key

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
