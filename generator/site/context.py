"""The templates' records, built from the cached results only (no TensorFlow, no disk).

A method is known only through its plug-in's attributes (title, loss name, step budget) and
the layer's method order (the original method first), never by testing its name.
"""

from __future__ import annotations

from typing import Any, Iterable

from .. import __version__
from ..analysis.results import FilterResult, LayerResult
from ..architecture import CHANNELS, receptive_field
from ..config import Manifest
from ..methods.registry import method as method_plugin
from ..store import names
from .examples import layer_examples, photo_credits
from .lessons import LESSONS, lessons_context
from .records import (Counts, FilterPage, FilterView, GalleryView, LayerView, MapLink, MethodView, Revived,
                      Snapshot)
from .teaching import sample_views, weights_view
from .views import view_images


# the largest cross-activation matrix embedded in its layer page: 64 images x 512 maps (about 230 kB)
EMBEDDED_CELLS = 64 * 512
# a filter page names its strongest rivals only: a list of hundreds says no more than the bar chart beside it,
# and with every map of a layer linked, its length would grow with the filter count (the site quadratically)
REACHING_LINKS = 24


def fmt(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def selectivity(cross: tuple[float | None, ...], target: int) -> float | None:
    """(own - mean of others) / (own + mean of others): 1 = only its own map responds, 0 = no preference."""
    values = [0.0 if v is None else v for v in cross]
    own = values[target]
    others = (sum(values) - own) / max(len(values) - 1, 1)
    return None if own + others <= 0 else (own - others) / (own + others)


def _compact(value: float | None) -> float | None:
    """Four significant digits: the heatmap's tooltips need no more, and the page stays small."""
    return None if value is None else float(f"{value:.4g}")


def revived_counts(result: LayerResult) -> Revived | None:
    """How many filters the method revived, and how many of those opened (None: no revive)."""
    revive = result.settings.get("revive")
    if not revive:
        return None
    revived = [f for f in result.filters if f.revived_at is not None]
    # results made before `when` existed have no such key: they all revived maps closed everywhere
    return Revived(at=revive["at"], top_percent=f"{100 * revive['top']:g}", grid_jitter=revive["grid_jitter"],
                   when=revive.get("when", "closed"), count=len(revived),
                   opened=sum(1 for f in revived if f.status == "ok"))


def filter_view(layer: str, method: str, f: FilterResult, present: set[int]) -> FilterView:
    """One filter's result; `present`: the filters of the layer that have a page."""
    return FilterView(
        index=f.index, loss=f.loss, loss_text="NaN" if f.loss is None else f"{f.loss:.2f}",
        steps=f.steps, stopped_early=f.stopped_early, status=f.status,
        activation=f.activation, activation_text=fmt(f.activation), rank=f.rank, reaching=tuple(f.reaching),
        image=names.images_url(layer, method, names.image_name(f.index)), thumbnail=names.images_url(layer, method, names.thumb_name(f.index)),
        page=names.filter_page(layer, f.index), selectivity=selectivity(f.cross, f.index),
        history=tuple(f.history), cross=tuple(f.cross),
        snapshots=tuple(Snapshot(step, names.images_url(layer, method, names.snapshot_name(f.index, step))) for step in f.snapshots),
        animation=names.images_url(layer, method, names.animation_name(f.index)) if f.snapshots else None,
        high_frequency=f.high_frequency, revived_at=f.revived_at,
        reaching_links=tuple(MapLink(k, names.filter_page(layer, k) if k in present else None)
                             for k in f.reaching[:REACHING_LINKS]),
        views=view_images(layer, method, f),
    )


def _heatmap_data(result: LayerResult) -> dict[str, Any]:
    """The numbers behind the heatmap image, for the page's hover and click handlers.

    Up to EMBEDDED_CELLS values ride in the page (it works from file:// too); a larger matrix
    would outweigh the rest of the page, so the script fetches the values from the public
    JSON (`data`) the first time the pointer reaches the heatmap.
    """
    embed = len(result.filters) * result.channels <= EMBEDDED_CELLS
    rows = [{"index": f.index, "page": names.filter_page(result.layer, f.index)} for f in result.filters]
    if embed:
        for row, f in zip(rows, result.filters):
            row["values"] = [_compact(v) for v in f.cross]
    return {"maps": result.channels, "rows": rows,
            "data": None if embed else names.data_url(result.layer, result.method, "json")}


def method_view(result: LayerResult, image_size: int) -> MethodView:
    """One method's results on one layer."""
    layer, method, settings = result.layer, result.method, result.settings
    plugin = method_plugin(method)
    present = {f.index for f in result.filters}
    filters = tuple(filter_view(layer, method, f, present) for f in result.filters)
    return MethodView(
        method=method, title=plugin.title, loss_name=plugin.loss_name,
        pre_relu=settings.get("objective") == "pre_relu",
        steps=settings[plugin.steps_key], threshold=settings.get("threshold"),
        settings=settings, image_size=image_size, counts=Counts(**result.counts()), revived=revived_counts(result),
        mean_loss=result.mean_loss(), mean_loss_text=fmt(result.mean_loss()),
        seconds=result.seconds, seconds_text=f"{result.seconds:,.1f}",
        filters=filters, by_index={f.index: f for f in filters}, strongest=result.strongest_count(),
        data_json=names.data_url(layer, method, "json"), data_csv=names.data_url(layer, method, "csv"),
        environment=result.environment,
        heatmap=names.images_url(layer, method, names.HEATMAP), heatmap_data=_heatmap_data(result),
    )


def filter_pages(layer: str, methods: tuple[MethodView, ...]) -> tuple[FilterPage, ...]:
    """One page per filter of any method, in the order the methods list them, each linked to its neighbours."""
    indices = list(dict.fromkeys(f.index for m in methods for f in m.filters))
    pages = [names.filter_page(layer, index) for index in indices]
    return tuple(FilterPage(
        index=index, page=pages[position],
        previous=pages[position - 1] if position > 0 else None,
        next=pages[position + 1] if position + 1 < len(pages) else None,
        methods=tuple((m, m.by_index[index]) for m in methods if index in m.by_index),
    ) for position, index in enumerate(indices))


def layer_views(manifest: Manifest, results: dict[tuple[str, str], LayerResult],
                examples: Any = None) -> tuple[LayerView, ...]:
    """Every manifest layer in manifest order; built ones carry their methods, neighbours and examples."""
    order = list(dict.fromkeys(job.layer for job in manifest.jobs))
    methods = {name: tuple(method_view(results[(name, job.settings.method)], job.settings.image_size)
                           for job in manifest.jobs
                           if job.layer == name and (name, job.settings.method) in results)
               for name in order}
    built = [name for name in order if methods[name]]
    views = []
    for name in order:
        position = built.index(name) if name in built else None
        pages = filter_pages(name, methods[name])
        views.append(LayerView(
            name=name, planned=tuple(job.settings.method for job in manifest.jobs if job.layer == name),
            built=position is not None, receptive_field=receptive_field(name), channels=CHANNELS[name],
            page=names.layer_page(name), methods=methods[name], filter_pages=pages,
            examples=layer_examples(name, examples, [p.index for p in pages]) if pages else None,
            previous=built[position - 1] if position else None,
            next=built[position + 1] if position is not None and position + 1 < len(built) else None,
        ))
    return tuple(views)


def gallery_view(manifest: Manifest, results: dict[tuple[str, str], LayerResult], weights: dict[str, str] | None,
                 summary: dict | None, samples: Iterable[dict], examples: Any = None) -> GalleryView:
    """Everything the pages show: the layers, the teaching pages and the lessons.

    `examples`: the cached dataset examples (examples.stage.CachedExamples), or None."""
    layers = layer_views(manifest, results, examples)
    built = [layer for layer in layers if layer.built]
    return GalleryView(
        title=manifest.title,
        layers=layers,
        weights=weights,
        environment=built[0].methods[0].environment if built else {},
        generator_version=__version__,
        weights_info=weights_view(summary, layers),
        samples=sample_views(samples, layers),
        lessons=lessons_context(layers),
        lesson_titles=LESSONS,
        photo_credits=photo_credits(examples),
    )
