"""One layer for one method: run the method, then measure the saved images (the cross-activation).

Each generated image is fed back as the user sees it (8-bit) through the float32
network: its target map's mean, its rank among the layer's maps, the maps that
reach it, and the share of its energy at high frequencies.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Callable

import numpy as np

from ..architecture import CHANNELS
from ..config import LayerJob
from ..methods.registry import method
from .cross import cross_activation, feature_means, high_frequency_share
from .views import measure_views
from .results import FilterResult, LayerResult


def compute_layer(
    vgg,
    job: LayerJob,
    weights: dict[str, str],
    batch_size: int,
    environment: dict[str, str],
    on_steps: Callable[[int], None] | None = None,
    optimized=None,
) -> tuple[LayerResult, np.ndarray, dict[tuple[int, int], np.ndarray], dict[str, np.ndarray]]:
    """Run the method for one layer and analyse the saved images.

    `optimized` is the network the images are optimized with (a bfloat16 copy under
    `mixed`); the images are always measured with `vgg` in float32, exactly.
    Returns (result, uint8 images, snapshots by (filter, step), further views by name).
    """
    from ..network.extractors import truncated, with_precision

    settings, plugin = job.settings, method(job.settings.method)
    started = time.perf_counter()
    if optimized is None:
        optimized = with_precision(vgg, environment.get("precision", "float32"))
    output = plugin.run(optimized, job.layer, settings, batch_size, on_steps)
    means = feature_means(truncated(vgg, job.layer), output.images, settings.preprocess, batch_size)
    views = measure_views(vgg, job.layer, output.views, [run.index for run in output.runs], settings.preprocess,
                          batch_size)
    filters = []
    for row, run in enumerate(output.runs):
        cross = cross_activation(means[row], run.index)
        result = FilterResult.from_run(run, settings.max_steps, cross, plugin.status(run, cross.activation),
                                       high_frequency_share(output.images[row]))
        filters.append(replace(result, views=views[row]) if views[row] else result)
    result = LayerResult(layer=job.layer, method=settings.method, channels=CHANNELS[job.layer],
                         settings=settings.public(), weights=weights, filters=tuple(filters),
                         seconds=round(time.perf_counter() - started, 3), environment=environment)
    return result, output.images, output.snapshots, output.views
