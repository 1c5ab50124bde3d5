"""The teaching pages' records: block1_conv1's kernels and weight statistics, and the sample images.

Both link to this gallery's own generated images, so a student can go from a kernel or a
feature map of a photo to the picture that maximizes that filter.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from ..store import names
from .records import KernelStats, KernelView, LayerView, SampleLayer, SampleMap, SampleView, WeightsView

FIRST_LAYER = "block1_conv1"  # the only layer whose kernels are pictures (3x3 RGB)
SHEET_MAPS = 64  # a sample's sheet shows its first 64 maps


def _built(layers: Iterable[LayerView], name: str) -> LayerView | None:
    return next((layer for layer in layers if layer.name == name and layer.built), None)


def _kernel_stats(name: str, data: dict[str, Any]) -> KernelStats:
    norms = np.asarray(data["norm"])
    bias = np.asarray(data["bias"])
    return KernelStats(
        name=name, in_channels=data["in_channels"], channels=data["channels"], norms=tuple(data["norm"]),
        norm_min=float(norms.min()), norm_median=float(np.median(norms)), norm_max=float(norms.max()),
        bias_mean=float(bias.mean()), bias_negative=int((bias < 0).sum()),
    )


def weights_view(summary: dict | None, layers: Sequence[LayerView]) -> WeightsView | None:
    """block1_conv1's kernels (linked to their filters) and per-layer kernel statistics."""
    if summary is None:
        return None
    first = _built(layers, FIRST_LAYER)
    shown = {item.index for item in first.filter_pages} if first else set()
    kernels = tuple(KernelView(
        index=k,
        image=names.kernel_url(k),
        page=names.filter_page(FIRST_LAYER, k) if k in shown else None,
        thumbnails=tuple(m.by_index[k].thumbnail for m in first.methods if k in m.by_index) if first else (),
    ) for k in range(len(summary[FIRST_LAYER])))
    stats = tuple(_kernel_stats(name, data) for name, data in summary["layers"].items())
    return WeightsView(kernels, stats)


def _sample_layer(sample: str, name: str, data: dict[str, Any], layer: LayerView | None) -> SampleLayer:
    """One layer's feature maps of a sample, linked to that layer's reference images."""
    from ..analysis.teaching import most_similar

    primary = layer.primary if layer else None

    def link(k: int) -> SampleMap:
        f = primary.by_index.get(k) if primary else None
        return SampleMap(k, data["means"][k], f.page if f else None, f.thumbnail if f else None)

    profiles = [{"index": f.index, "cross": f.cross} for f in primary.filters] if primary else []
    return SampleLayer(
        name=name,
        sheet=names.sample_url(sample, names.sheet_name(name)),
        shown=min(SHEET_MAPS, len(data["means"])),
        means=tuple(round(v, 2) for v in data["means"][:SHEET_MAPS]),
        strongest=tuple(link(k) for k in data["strongest"]),
        similar=tuple(link(k) for k in most_similar(data["means"], profiles)) if primary else (),
    )


def sample_views(samples: Iterable[dict], layers: Sequence[LayerView]) -> tuple[SampleView, ...]:
    """Each sample image: per layer its feature maps, their means, the strongest maps and the
    generated images whose cross-activation profile is closest to the sample's."""
    return tuple(SampleView(
        name=sample["name"],
        page=names.sample_page(sample["name"]),
        image=names.sample_url(sample["name"], names.SAMPLE_IMAGE),
        layers=tuple(_sample_layer(sample["name"], name, data, _built(layers, name))
                     for name, data in sample["layers"].items()),
    ) for sample in samples)
