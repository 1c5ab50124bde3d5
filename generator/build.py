"""A build: for each selected layer, reuse the cached result or compute it, then render the site.

Order matters for the user's safety: the manifest is validated and the output
folders are checked before TensorFlow starts; each finished layer is stored at
once, so an interrupted build loses at most the layer it was computing.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .architecture import CHANNELS, feature_map_size
from .analysis.results import FilterResult, LayerResult
from .config import LayerJob, Manifest
from .errors import GalleryError
from .site import SiteReport, check_output_dir, render_site, site_lock
from .store import BuildLock, CorruptEntry, ResultStore, cache_key, warn

# Batch size on a CPU: large enough to keep the cores busy, small enough that
# the activations kept for the backward pass stay in a few GB.
CPU_MEMORY_BUDGET = 3 * 1024**3
CPU_MAX_BATCH = 16


@dataclass(frozen=True)
class LayerReport:
    layer: str
    method: str
    filters: int
    dead: int
    diverged: int
    mean_loss: float | None
    seconds: float
    cached: bool


@dataclass(frozen=True)
class BuildReport:
    layers: tuple[LayerReport, ...]
    site: SiteReport
    weights: dict[str, str]


def on_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def activation_bytes_per_image(layer: str, image_size: int) -> int:
    """Rough float32 memory the forward+backward pass keeps per image up to `layer`."""
    from .architecture import CONV_LAYERS, layer_index

    total = 0
    for name, channels in CONV_LAYERS[: layer_index(layer) + 1]:
        size = feature_map_size(name, image_size)
        total += size * size * channels * 4
    return 3 * total  # conv output, ReLU output and its gradient


def auto_batch_size(layer: str, image_size: int, filters: int, gpu: bool) -> int:
    """`batch_size: auto`: all filters at once on a GPU; memory-bounded chunks on a CPU."""
    if gpu:
        return filters
    by_memory = max(1, CPU_MEMORY_BUDGET // activation_bytes_per_image(layer, image_size))
    return int(max(1, min(filters, CPU_MAX_BATCH, by_memory)))


def environment_info(precision: str = "float32") -> dict[str, str]:
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": f"GPU ({len(gpus)})" if gpus else "CPU",
        "precision": precision,
    }


def compute_layer(
    vgg,
    job: LayerJob,
    weights: dict[str, str],
    batch_size: int,
    environment: dict[str, str],
    on_steps: Callable[[int], None] | None = None,
    optimized=None,
) -> tuple[LayerResult, np.ndarray, dict[tuple[int, int], np.ndarray]]:
    """Run the method for one layer and analyse the saved images.

    Returns (result, uint8 images, snapshots by (filter, step)).
    """
    from .analysis.cross import cross_activation, feature_means, high_frequency_share
    from .methods.registry import method
    from .network.extractors import truncated, with_precision

    settings = job.settings
    plugin = method(settings.method)
    started = time.perf_counter()
    extractor = truncated(vgg, job.layer)  # float32: the saved images are measured exactly
    if optimized is None:  # the network the images are optimized with (bfloat16 under `mixed`)
        optimized = with_precision(vgg, environment.get("precision", "float32"))
    output = plugin.run(optimized, job.layer, settings, batch_size, on_steps)
    images = output.images
    means = feature_means(extractor, images, settings.preprocess, batch_size)
    filters = []
    for row, run in enumerate(output.runs):
        cross = cross_activation(means[row], run.index)
        filters.append(FilterResult.from_run(run, settings.max_steps, cross, plugin.status(run, cross.activation),
                                             high_frequency_share(images[row])))
    filters = tuple(filters)
    result = LayerResult(
        layer=job.layer,
        method=settings.method,
        channels=CHANNELS[job.layer],
        settings=settings.public(),
        weights=weights,
        seconds=round(time.perf_counter() - started, 3),
        filters=filters,
        environment=environment,
    )
    return result, images, output.snapshots


def prepare_teaching_material(vgg, manifest: Manifest, store: ResultStore, weights_sha256: str) -> None:
    """Weight statistics and the feature maps of the manifest's sample images (cached: seconds once)."""
    from .errors import ConfigError
    from .analysis.teaching import load_sample, map_sheet, sample_feature_maps, sample_key, sample_summary, summarize_weights

    if store.load_weights_summary(weights_sha256) is None:
        store.save_weights_summary(weights_sha256, summarize_weights(vgg))
    layers = manifest.layers
    for path in manifest.samples:
        key = sample_key(path, weights_sha256)
        if store.load_sample(key, layers) is not None:
            continue
        try:
            pixels = load_sample(path)
        except (OSError, ValueError) as error:
            raise ConfigError(f"sample_images: cannot read {path.name} as an image ({error}); "
                              "give PNG or JPEG files") from None
        maps = sample_feature_maps(vgg, pixels, list(layers))
        store.save_sample(key, pixels, {layer: map_sheet(maps[layer]) for layer in layers}, {
            "name": path.stem,
            "layers": {layer: sample_summary(maps[layer]) for layer in layers},
        })


def _report(result: LayerResult, cached: bool) -> LayerReport:
    counts = result.counts()
    return LayerReport(result.layer, result.method, len(result.filters), counts["dead"], counts["diverged"],
                       result.mean_loss(), result.seconds, cached)


def build(manifest: Manifest, layers: list[str] | None = None, *, methods: list[str] | None = None,
          progress: bool = True) -> BuildReport:
    """Compute what is missing for the selected layers and methods, then render the whole site."""
    jobs = manifest.select(layers, methods)
    store = ResultStore(manifest.cache_dir)
    check_output_dir(manifest.site_dir)
    store.ensure_writable()
    with site_lock(manifest.site_dir), cache_lock(manifest):
        store.remove_leftovers()
        from .network.extractors import with_precision
        from .network.weights import load_vgg16

        vgg, info = load_vgg16(manifest.weights)
        weights = info.public()
        store.remember_weights(manifest.weights, weights)
        environment = environment_info(manifest.precision)
        optimized = with_precision(vgg, manifest.precision)
        gpu = on_gpu()
        prepare_teaching_material(vgg, manifest, store, info.sha256)
        reports = []
        for job in jobs:
            key = cache_key(job.layer, job.settings, info.sha256, manifest.precision)
            try:
                cached = store.load(job.layer, job.settings.method, key)
            except CorruptEntry as error:
                warn(f"{job.layer}: cached result is damaged ({error}); recomputing it")
                store.discard(job.layer, job.settings.method, key)
                cached = None
            if cached is not None:
                reports.append(_report(cached, cached=True))
                continue
            batch = job.settings.batch_size or auto_batch_size(
                job.layer, job.settings.image_size, len(job.settings.filters), gpu)
            result, images, snapshots = _compute_halving_on_oom(vgg, job, weights, batch, environment, progress,
                                                                optimized)
            store.save(key, result, images, snapshots)
            reports.append(_report(result, cached=False))
        site = render_site(manifest, store, weights)
    return BuildReport(tuple(reports), site, weights)


def _compute_halving_on_oom(vgg, job, weights, batch, environment, progress, optimized):
    """Out of memory (mostly on a GPU): halve the batch and start the layer again, down to 1.

    Batching never changes the results, so a smaller batch gives the same images, only later.
    """
    import tensorflow as tf

    while True:
        try:
            return _compute_with_progress(vgg, job, weights, batch, environment, progress, optimized)
        except tf.errors.ResourceExhaustedError:
            if batch == 1:
                raise GalleryError(f"{job.layer}: out of memory even with one image at a time; "
                                   "lower image_size for this layer") from None
            batch = max(1, batch // 2)
            warn(f"{job.layer}: out of memory; retrying with batch_size {batch}")


def _compute_with_progress(vgg, job, weights, batch, environment, progress, optimized=None):
    if not progress:
        return compute_layer(vgg, job, weights, batch, environment, optimized=optimized)
    from tqdm import tqdm

    total = len(job.settings.filters) * job.settings.max_steps
    with tqdm(total=total, desc=f"{job.layer} {job.settings.method} (batch {batch})", unit="img-step",
              file=sys.stderr, dynamic_ncols=True, leave=True) as bar:
        return compute_layer(vgg, job, weights, batch, environment, bar.update, optimized)


def render_only(manifest: Manifest) -> SiteReport:
    """`make site`: re-render every page from the cache, without TensorFlow."""
    store = ResultStore(manifest.cache_dir)
    weights = store.recall_weights(manifest.weights)
    if weights is None:
        raise GalleryError(
            f"nothing built yet for weights '{manifest.weights.source}' in {manifest.cache_dir}; "
            "run 'make gallery' (or 'vgg-gallery build') first"
        )
    with site_lock(manifest.site_dir), cache_lock(manifest):
        return render_site(manifest, store, weights)


def cache_lock(manifest: Manifest) -> BuildLock:
    return BuildLock(manifest.cache_dir / ".lock", f"the cache {manifest.cache_dir}")


def summary_table(reports: tuple[LayerReport, ...]) -> str:
    rows = [("layer", "method", "filters", "dead", "diverged", "mean loss", "seconds", "")]
    for r in reports:
        rows.append((
            r.layer, r.method, str(r.filters), str(r.dead), str(r.diverged),
            "—" if r.mean_loss is None else f"{r.mean_loss:,.2f}",
            f"{r.seconds:,.1f}", "(cached)" if r.cached else "",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) if i in (0, 1, 7) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w if row[i] else " " * w for i, w in enumerate(widths)).rstrip())
    return "\n".join(lines)
