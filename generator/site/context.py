"""The templates' context: every number and URL a page shows, as plain data.

Built from the cached results only (no TensorFlow, no disk): the site writer hands it to Jinja.
All URLs are relative to the site root; templates prefix them with `root` (../ per folder level)
so the site works from file://, from `make serve` and under a GitHub Pages project sub-path.
"""

from __future__ import annotations

from typing import Any

from .. import __version__
from ..analysis.results import LayerResult
from ..architecture import CHANNELS, CONV_LAYER_NAMES, receptive_field
from ..config import Manifest
from ..store.cache import image_name, snapshot_name, thumb_name

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


CLOSED_AS = {"closed": "closed everywhere",
             "closed_on_average": "closed on average (pre-ReLU mean at most 0)"}


def revived_counts(result: LayerResult) -> dict[str, Any] | None:
    """How many filters the natural method revived, and how many of those opened (None: no revive)."""
    revive = result.settings.get("revive")
    if not revive:
        return None
    revived = [f for f in result.filters if f.revived_at is not None]
    # results made before `when` existed have no such key: they all revived maps closed everywhere
    closed = CLOSED_AS[revive.get("when", "closed")]
    return {"at": revive["at"], "top_percent": f"{100 * revive['top']:g}", "grid_jitter": revive["grid_jitter"],
            "closed": closed, "count": len(revived), "opened": sum(1 for f in revived if f.status == "ok")}


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
            "revived_at": f.revived_at,
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
        "revived": revived_counts(result),
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
