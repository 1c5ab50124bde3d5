"""The numbers the lessons quote, read off this gallery's own layer records.

One function per lesson, so each lesson speaks of the images the student is looking at.
Lessons that compare methods use the layer's method order: the first method is the
reference (the original experiment), later ones are compared with it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .examples import examples_lesson
from .records import (DepthGroup, Example, FieldRow, FilterView, LayerView, LessonRow, LessonsView, Pair, Rival)

LESSONS = (
    ("01-activation-maximization", "What activation maximization is"),
    ("02-cross-activation", "Reading the cross-activation table"),
    ("03-dead-filters", "Dead filters, and how the natural method revives them"),
    ("04-pixel-versus-natural", "Pixel versus natural images"),
    ("05-receptive-fields", "How receptive fields grow with depth"),
    ("06-what-layers-see", "What early, middle and deep layers respond to"),
    ("07-dataset-examples", "Reading a filter with real photos beside its image"),
)
INPUT_SIZE = 224  # the ImageNet input side that lesson 5 measures receptive fields against


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def _ok(filters: Sequence[FilterView]) -> list[FilterView]:
    return [f for f in filters if f.status == "ok"]


def layer_rows(built: Sequence[LayerView]) -> tuple[LessonRow, ...]:
    """Lessons 2 to 4's table: per layer and method, its counts and medians over the filters that opened."""
    return tuple(LessonRow(
        layer=layer.name, method=m.method, page=layer.page, filters=len(m.filters), strongest=m.strongest,
        dead=m.counts.dead, ok=m.counts.ok,
        median_rank=_median([f.rank for f in _ok(m.filters)]),
        median_reaching=_median([len(f.reaching) for f in _ok(m.filters)]),
        high_frequency=_median([f.high_frequency for f in _ok(m.filters) if f.high_frequency is not None]),
        receptive_field=layer.receptive_field, revived=m.revived,
    ) for layer in built for m in layer.methods)


def activation_maximization(built: Sequence[LayerView]) -> Example | None:
    """Lesson 1: the strongest filter of the first built layer, and how far its loss climbed."""
    if not built:
        return None
    m = built[0].methods[0]
    ok = [f for f in _ok(m.filters) if f.loss is not None]
    if not ok:
        return None
    f = max(ok, key=lambda f: f.loss)
    return Example(layer=built[0].name, method=m.method, settings=m.settings, filter=f,
                   first=f.history[0], last=f.history[-1])


def cross_activation(built: Sequence[LayerView]) -> tuple[tuple[Rival, ...], tuple[Rival, ...]]:
    """Lesson 2: the most and the least specific images (fewest and most rival maps)."""
    rivals = []
    for layer in built:
        ok = [f for f in _ok(layer.methods[0].filters) if (f.activation or 0) > 0]
        # only images that really drive their map: a barely-opened filter has "rivals" by default
        typical = _median([f.activation for f in ok]) or 0.0
        rivals += [Rival(layer.name, layer.channels, f) for f in ok if f.activation >= typical]
    rivals.sort(key=lambda r: (len(r.filter.reaching), r.filter.rank))
    return tuple(rivals[:4]), tuple(rivals[::-1][:4])


def _pairs(built: Sequence[LayerView]) -> list[Pair]:
    """Each filter with the reference method beside the same filter with each later method."""
    pairs = []
    for layer in built:
        reference = layer.methods[0]
        for compared in layer.methods[1:]:
            pairs += [Pair(layer.name, index, reference.method, compared.method, f, compared.by_index[index])
                      for index, f in reference.by_index.items() if index in compared.by_index]
    return pairs


def dead_filters(built: Sequence[LayerView]) -> list[Pair]:
    """Lesson 3: filters dead with the reference method and alive with a later one."""
    return [p for p in _pairs(built) if p.reference.status == "dead" and p.compared.status == "ok"]


def pixel_versus_natural(built: Sequence[LayerView]) -> tuple[Pair, ...]:
    """Lesson 4: the first few filters side by side."""
    return tuple(_pairs(built)[:6])


def receptive_fields(layers: Sequence[LayerView]) -> tuple[FieldRow, ...]:
    """Lesson 5: every layer's receptive field and its share of the input."""
    return tuple(FieldRow(layer.name, layer.page if layer.built else None, layer.receptive_field,
                          100 * min(layer.receptive_field, INPUT_SIZE) / INPUT_SIZE) for layer in layers)


def what_layers_see(built: Sequence[LayerView]) -> dict[str, tuple[DepthGroup, ...]]:
    """Lesson 6: per depth, each layer's most selective images, from its last method (the most readable)."""
    by_depth: dict[str, list[DepthGroup]] = {"early": [], "middle": [], "deep": []}
    for layer in built:
        block = int(layer.name[5])  # blockN_convM
        depth = "early" if block <= 2 else ("middle" if block <= 3 else "deep")
        m = layer.methods[-1]
        ok = [f for f in _ok(m.filters) if f.selectivity is not None]
        best = sorted(ok, key=lambda f: -f.selectivity)[:4]
        if best:
            by_depth[depth].append(DepthGroup(layer.name, layer.page, m.method, tuple(best), layer.receptive_field))
    return {depth: tuple(groups) for depth, groups in by_depth.items()}


def lessons_context(layers: Sequence[LayerView]) -> LessonsView:
    """The numbers the lessons quote, read off this gallery's own results."""
    built = [layer for layer in layers if layer.built]
    specific, unspecific = cross_activation(built)
    revived = dead_filters(built)
    return LessonsView(
        rows=layer_rows(built),
        example=activation_maximization(built),
        specific=specific,
        unspecific=unspecific,
        revived=tuple(revived[:8]),
        revived_count=len(revived),
        pairs=pixel_versus_natural(built),
        receptive_fields=receptive_fields(layers),
        depths=what_layers_see(built),
        layers_built=len(built),
        examples=examples_lesson(built),
    )
