"""Every file of the site that is not a page: images, public data, teaching material, the build record.

Everything under data/ and images/ depends only on the cached results, so two clean builds of
one manifest give the same bytes; what varies from run to run (timings, library versions,
device) goes into the one build record at the site root instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .. import __version__
from ..analysis.results import LayerResult
from ..store import ResultStore
from ..store import names
from ..store.files import dumps
from ..store.images import encode_png
from .charts import heatmap_pixels

# public data fields that differ between two runs of the same computation: kept in the build record
RUN_FIELDS = ("seconds", "environment")


def link_or_copy(source: Path, target: Path) -> None:
    """Hard links make `make site` fast and the site small on disk; copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def site_file(temp: Path, url: str) -> Path:
    """The file in the site being assembled that `url` (relative to the site root) names."""
    target = temp / url
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def public_record(result: LayerResult) -> dict[str, Any]:
    """The public data of one result: what it computed, not how long or where."""
    layer, method = result.layer, result.method
    public = result.public(
        lambda i: names.images_url(layer, method, names.image_name(i)),
        lambda i: names.images_url(layer, method, names.thumb_name(i)),
        lambda i, step: names.images_url(layer, method, names.snapshot_name(i, step)),
    )
    for key in RUN_FIELDS:
        public.pop(key, None)
    return public


def write_layer_files(temp: Path, store: ResultStore, parts: tuple[tuple[str, LayerResult], ...],
                      result: LayerResult) -> None:
    """Images (linked from each work unit's cache entry), the public JSON and CSV, and the heatmap of one result."""
    layer, method = result.layer, result.method
    for key, part in parts:
        for name in names.entry_files(part):
            link_or_copy(store.image_path(layer, method, key, name), site_file(temp, names.images_url(layer, method, name)))
        for f in part.filters:
            if f.snapshots:  # optimization in motion: the snapshots and the final image, animated
                gif = store.animation(layer, method, key, f.index, f.snapshots)
                link_or_copy(gif, site_file(temp, names.images_url(layer, method, names.animation_name(f.index))))
    site_file(temp, names.data_url(layer, method, "json")).write_bytes(dumps(public_record(result)))
    site_file(temp, names.data_url(layer, method, "csv")).write_text(result.csv_table(), encoding="utf-8")
    heatmap = heatmap_pixels([list(f.cross) for f in result.filters])
    site_file(temp, names.images_url(layer, method, names.HEATMAP)).write_bytes(encode_png(heatmap))


def write_kernels(temp: Path, summary: dict | None) -> None:
    """block1_conv1's kernels as RGB patches, for the weights page."""
    from ..analysis.teaching import kernel_patch

    for k, kernel in enumerate(summary["block1_conv1"] if summary else ()):
        site_file(temp, names.kernel_url(k)).write_bytes(encode_png(kernel_patch(np.asarray(kernel))))


def write_samples(temp: Path, store: ResultStore, samples: Iterable[tuple[str, dict]]) -> None:
    """Each sample's image and feature-map sheets, linked from its cache entry; `samples`: (key, data)."""
    for key, data in samples:
        for file in [names.SAMPLE_IMAGE] + [names.sheet_name(layer) for layer in data["layers"]]:
            link_or_copy(store.sample_dir(key) / file, site_file(temp, names.sample_url(data["name"], file)))


def build_record(results: Iterable[LayerResult]) -> bytes:
    """site/build.json: how each result was computed (seconds, libraries, device) and which generator rendered it."""
    layers: dict[str, dict[str, Any]] = {}
    for result in results:
        layers.setdefault(result.layer, {})[result.method] = {
            "seconds": result.seconds,
            "environment": result.environment,
            "generator_version": result.generator_version,
        }
    return dumps({"generator_version": __version__, "layers": layers})
