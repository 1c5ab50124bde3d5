"""The dataset examples on the pages: typed records from the cached examples, and their files.

Records (no disk): each filter's patches with their activation, the photo they came from and
their crop's URL. Files (writer side): the public `data/<layer>/examples.json`, one JPEG tile
per patch cropped from the photo as fed, and each photo a patch comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from ..architecture import receptive_field
from ..examples.builtin import BUILTIN
from ..examples.stage import CachedExamples
from ..store import names
from ..store.files import dumps
from ..store.images import decode_png, encode_jpeg
from .assets import site_file

TILE = 64  # the side a patch is shown at, in CSS px; tiles are written at most this large


@dataclass(frozen=True)
class Patch:
    """One example: a crop of a photo and its map's value there."""

    photo: str  # the photo's name
    photo_url: str  # the photo as fed (the patch links to it)
    box: tuple[int, int, int, int]  # [x0, y0, x1, y1) in the photo's pixels as fed
    activation: float  # post-ReLU for the top patches, pre-ReLU for the bottom ones
    tile: str  # URL of the crop
    pixelated: bool  # the crop is smaller than the tile: shown with visible pixels, not blurred


@dataclass(frozen=True)
class FilterExamples:
    index: int
    top: tuple[Patch, ...]  # strongest first; empty: the map is closed on every photo
    bottom: tuple[Patch, ...]  # most negative first; empty when `bottom: false`

    @property
    def strongest(self) -> float | None:
        return self.top[0].activation if self.top else None


@dataclass(frozen=True)
class LayerExamples:
    data_json: str  # URL of the layer's public examples
    photos: int  # how many photos were searched
    label: str  # the photo set as the manifest names it
    receptive_field: int
    by_index: dict[int, FilterExamples]


@dataclass(frozen=True)
class PhotoCredit:
    name: str
    subject: str
    source: str
    licence: str


def _patch(layer: str, index: int, kind: str, rank: int, entry: dict[str, Any]) -> Patch:
    x0, y0, x1, y1 = entry["box"]
    return Patch(photo=entry["image"], photo_url=quote(names.photo_url(entry["image"])), box=(x0, y0, x1, y1),
                 activation=entry["activation"], tile=names.example_tile_url(layer, index, kind, rank),
                 pixelated=max(x1 - x0, y1 - y0) < TILE)


def filter_examples(layer: str, entry: dict[str, Any]) -> FilterExamples:
    index = entry["index"]
    return FilterExamples(index, tuple(_patch(layer, index, "top", r, e) for r, e in enumerate(entry["top"])),
                          tuple(_patch(layer, index, "bottom", r, e) for r, e in enumerate(entry["bottom"])))


def layer_examples(layer: str, found: CachedExamples | None, indices: list[int]) -> LayerExamples | None:
    """The examples of a layer's shown filters; None when the layer has none cached."""
    if found is None or layer not in found.layers:
        return None
    filters = {entry["index"]: entry for entry in found.layers[layer]}
    return LayerExamples(data_json=names.examples_data_url(layer), photos=len(found.photos), label=found.label,
                         receptive_field=receptive_field(layer),
                         by_index={i: filter_examples(layer, filters[i]) for i in indices if i in filters})


def photo_credits(found: CachedExamples | None) -> tuple[PhotoCredit, ...]:
    """Sources and licences of the built-in photos, for the about page (empty for the user's own)."""
    if found is None or not found.builtin:
        return ()
    return tuple(PhotoCredit(Path(p.file).stem, p.subject, p.source, p.licence) for p in BUILTIN)


def public_examples(layer: str, found: CachedExamples, indices: list[int], top: int) -> dict[str, Any]:
    """The layer's public data: every photo fed, and each shown filter's top and bottom positions."""
    filters = [entry for entry in found.layers[layer] if entry["index"] in set(indices)]
    return {"layer": layer, "receptive_field": receptive_field(layer), "top": top, "photos": found.label,
            "images": list(found.photos), "filters": sorted(filters, key=lambda entry: entry["index"])}


def tile_pixels(photo: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The crop, scaled to fit TILE: larger crops downscaled (Lanczos), smaller ones enlarged by whole pixels."""
    from PIL import Image

    x0, y0, x1, y1 = box
    crop = Image.fromarray(np.ascontiguousarray(photo[y0:y1, x0:x1]))
    longer = max(crop.size)
    if longer > TILE:
        size = (max(1, round(crop.width * TILE / longer)), max(1, round(crop.height * TILE / longer)))
        return np.asarray(crop.resize(size, Image.Resampling.LANCZOS))
    factor = TILE // longer
    return np.asarray(crop.resize((crop.width * factor, crop.height * factor), Image.Resampling.NEAREST))


def write_examples(temp: Path, found: CachedExamples, shown: dict[str, list[int]], top: int) -> None:
    """Each layer's public examples, its patches' tiles, and the photos they come from.

    Tiles are gathered by photo first, so each photo is decoded once and only one is in memory."""
    tiles: dict[str, list[tuple[str, tuple[int, ...]]]] = {}
    for layer, indices in shown.items():
        if layer not in found.layers:
            continue
        record = public_examples(layer, found, indices, top)
        site_file(temp, names.examples_data_url(layer)).write_bytes(dumps(record))
        for entry in record["filters"]:
            for kind in ("top", "bottom"):
                for rank, patch in enumerate(entry[kind]):
                    url = names.example_tile_url(layer, entry["index"], kind, rank)
                    tiles.setdefault(patch["image"], []).append((url, tuple(patch["box"])))
    for name, wanted in sorted(tiles.items()):
        pixels = decode_png(found.store.photo_path(found.key, name).read_bytes())
        for url, box in wanted:
            site_file(temp, url).write_bytes(encode_jpeg(tile_pixels(pixels, box), 90))
        site_file(temp, names.photo_url(name)).write_bytes(encode_jpeg(pixels, 90))


# --------------------------------------------------------------------------- lesson 7's numbers


@dataclass(frozen=True)
class Reading:
    """One filter read two ways: its optimized image and its strongest real patches."""

    layer: str
    layer_page: str
    method: str  # the method whose image is compared (the layer's last fed with caffe preprocessing)
    filter: Any  # records.FilterView
    examples: FilterExamples
    ratio: float  # the image's map mean / the strongest photo position
    relative: float = 1.0  # that ratio / its layer's median ratio (early layers' ratios are smaller)


@dataclass(frozen=True)
class ExamplesRow:
    layer: str
    page: str
    method: str
    compared: int  # filters with an ok image and at least one open photo position
    median_ratio: float
    photos_win: int  # of those, how many the photos drive harder than the optimized image
    closed: int  # filters whose map is closed on every photo


@dataclass(frozen=True)
class ExamplesLesson:
    rows: tuple[ExamplesRow, ...]
    beyond: Reading | None  # the largest ratio to its layer's median: the image exaggerates what the photos show
    missed: Reading | None  # the smallest: next to its layer's others, the photos beat its image the most


def _compared(layer: Any) -> Any:
    """The layer's last method whose images are fed as the photos are (caffe preprocessing), or None."""
    fed_alike = [m for m in layer.methods if m.settings.get("preprocess") == "caffe"]
    return fed_alike[-1] if fed_alike else None


def _readings(layer: Any) -> tuple[list[Reading], int]:
    m = _compared(layer)
    readings, closed = [], 0
    for f in m.filters:
        ex = layer.examples.by_index.get(f.index)
        if ex is None:
            continue
        closed += not ex.top
        if ex.strongest and f.status == "ok" and f.activation is not None:
            readings.append(Reading(layer.name, layer.page, m.method, f, ex, f.activation / ex.strongest))
    return readings, closed


def examples_lesson(built: list[Any]) -> ExamplesLesson | None:
    """Per layer, how the optimized images compare with the photos; the two filters that differ most."""
    rows, everything = [], []
    for layer in built:
        if layer.examples is None or _compared(layer) is None:
            continue
        readings, closed = _readings(layer)
        ratios = [r.ratio for r in readings]
        median = float(np.median(ratios)) if ratios else float("nan")
        # a map's mean is far below its peak in early layers: compare filters with their own layer
        everything += [replace(r, relative=r.ratio / median) for r in readings if median > 0]
        rows.append(ExamplesRow(layer.name, layer.page, _compared(layer).method, len(readings), median,
                                sum(ratio < 1 for ratio in ratios), closed))
    if not rows:
        return None
    ordered = sorted(everything, key=lambda r: r.relative)
    return ExamplesLesson(tuple(rows), ordered[-1] if ordered else None,
                          ordered[0] if len(ordered) > 1 else None)
