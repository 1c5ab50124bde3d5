"""A build: for each selected layer and method, reuse the cached result or compute it, then render the site.

Order matters for the user's safety: the manifest is validated and the output
folders are checked before TensorFlow starts; each finished layer is stored at
once, so an interrupted build loses at most the layer it was computing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from .analysis.results import LayerResult
from .config import LayerJob, Manifest
from .errors import ConfigError, GalleryError
from .estimate import Estimate, Rates, calibrate, estimate_build, estimate_line
from .methods.registry import method
from .site import SiteReport, check_output_dir, render_site, site_lock
from .store import BuildLock, CorruptEntry, ResultStore, cache_key, warn
from .store.names import CACHE_LOCK


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
    estimate: Estimate | None = None  # what was announced before computing (build(..., estimate=True))


@dataclass(frozen=True)
class Network:
    """What every job of one build shares: the network, how it is computed, what is recorded about it."""

    vgg: Any  # float32: the saved images are measured with it
    optimized: Any  # the network the images are optimized with (bfloat16 under `mixed`)
    weights: dict[str, str]  # the public weights record (source, sha256, ...)
    environment: dict[str, str]
    gpu: bool


@dataclass(frozen=True)
class PlannedJob:
    job: LayerJob
    key: str
    cached: bool  # its entry folder exists; whether it is whole is checked when it is loaded


def build(manifest: Manifest, layers: list[str] | None = None, *, methods: list[str] | None = None,
          progress: bool = True, estimate: bool = False) -> BuildReport:
    """Compute what is missing for the selected layers and methods, then render the whole site.

    With `estimate`, a second of calibration first, and one line saying how long it will take.
    """
    jobs = manifest.select(layers, methods)
    store = ResultStore(manifest.cache_dir)
    check_output_dir(manifest.site_dir)
    store.ensure_writable()
    with site_lock(manifest.site_dir), cache_lock(manifest):
        store.remove_leftovers()
        network = load_network(manifest)
        store.remember_weights(manifest.weights, network.weights)
        say(weights_line(network.weights))
        announced = announce(manifest, store, jobs, network) if estimate else None
        prepare_teaching_material(network.vgg, manifest, store, network.weights["sha256"])
        reports: list[LayerReport] = []
        try:
            for job in jobs:
                reports.append(build_job(network, store, job, manifest.precision, progress))
        except KeyboardInterrupt as interrupt:
            interrupt.kept = (len(reports), len(jobs))  # type: ignore[attr-defined]  # the CLI says how much
            raise
        site = render_site(manifest, store, network.weights)
    return BuildReport(tuple(reports), site, network.weights, announced)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def weights_line(weights: dict[str, str]) -> str:
    """Which weights the build uses, as loaded (under `auto`, after the warning when it fell back)."""
    fell_back = weights["requested"] == "auto" and weights["source"] != "imagenet"
    why = "; ImageNet's could not be had" if fell_back else ""
    return f"weights: {weights['source']} ({weights['description']}{why})"


def announce(manifest: Manifest, store: ResultStore, jobs: tuple[LayerJob, ...], network: Network) -> Estimate:
    """Plan, calibrate (only if there is work) and say how long the build will take."""
    planned = plan(store, jobs, network.weights["sha256"], manifest.precision)
    rates = calibrate(network.optimized) if any(not p.cached for p in planned) else None
    estimate = estimate_plan(planned, len(manifest.jobs), rates)
    say(estimate_line(estimate, machine_words(network), network.weights["source"]))
    return estimate


def plan(store: ResultStore, jobs: tuple[LayerJob, ...], weights_sha256: str, precision: str) -> list[PlannedJob]:
    """Each job's cache key and whether it is in the cache, without reading the entry (build_job does)."""
    planned = []
    for job in jobs:
        key = cache_key(job.layer, job.settings, weights_sha256, precision)
        planned.append(PlannedJob(job, key, store.entry_dir(job.layer, job.settings.method, key).is_dir()))
    return planned


def estimate_plan(planned: list[PlannedJob], rendered: int, rates: Rates | None) -> Estimate:
    """The build's seconds at these rates: each uncached job's cost, as its method counts it."""
    costs = [method(p.job.settings.method).cost(p.job.layer, p.job.settings) for p in planned if not p.cached]
    return estimate_build(costs, cached=len(planned) - len(costs), rendered=rendered, rates=rates)


def machine_words(network: Network) -> str:
    from .machine import cpu_info

    return network.environment["device"] if network.gpu else cpu_info().brief()


def load_network(manifest: Manifest) -> Network:
    from .network.device import environment_info, on_gpu
    from .network.extractors import with_precision
    from .network.weights import load_vgg16
    from .machine import describe_cpu

    vgg, info = load_vgg16(manifest.weights)
    environment = {**environment_info(manifest.precision), "cpu": describe_cpu()}  # the build record names it
    return Network(vgg, with_precision(vgg, manifest.precision), info.public(), environment, on_gpu())


def build_job(network: Network, store: ResultStore, job: LayerJob, precision: str, progress: bool) -> LayerReport:
    """One layer-method: from the cache if it is there and whole, else computed and stored at once."""
    from .network.device import auto_batch_size

    key = cache_key(job.layer, job.settings, network.weights["sha256"], precision)
    cached = _cached(store, job, key)
    if cached is not None:
        return _report(cached, cached=True)
    batch = job.settings.batch_size or auto_batch_size(
        job.layer, job.settings.image_size, len(job.settings.filters), network.gpu)
    # one line as each unit of work starts: the user (and the fault tests) see what is in flight
    print(f"computing {job.layer} {job.settings.method}: {len(job.settings.filters)} filters, batch {batch}",
          file=sys.stderr, flush=True)
    result, images, snapshots = _compute_halving_on_oom(network, job, batch, progress)
    store.save(key, result, images, snapshots)
    return _report(result, cached=False)


def _cached(store: ResultStore, job: LayerJob, key: str) -> LayerResult | None:
    try:
        return store.load(job.layer, job.settings.method, key)
    except CorruptEntry as error:
        warn(f"{job.layer}: cached result is damaged ({error}); recomputing it")
        store.discard(job.layer, job.settings.method, key)
        return None


def prepare_teaching_material(vgg, manifest: Manifest, store: ResultStore, weights_sha256: str) -> None:
    """Weight statistics and the feature maps of the manifest's sample images (cached: seconds once)."""
    from .analysis.teaching import load_sample, map_sheet, sample_feature_maps, sample_key, sample_summary
    from .analysis.teaching import summarize_weights

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
            "name": path.stem, "layers": {layer: sample_summary(maps[layer]) for layer in layers}})


def _report(result: LayerResult, cached: bool) -> LayerReport:
    counts = result.counts()
    return LayerReport(result.layer, result.method, len(result.filters), counts["dead"], counts["diverged"],
                       result.mean_loss(), result.seconds, cached)


def _compute_halving_on_oom(network: Network, job: LayerJob, batch: int, progress: bool):
    """Out of memory (mostly on a GPU): halve the batch and start the layer again, down to 1.

    Batching never changes the results, so a smaller batch gives the same images, only later.
    """
    import tensorflow as tf

    while True:
        try:
            return _compute_with_progress(network.vgg, job, network.weights, batch, network.environment,
                                          progress, network.optimized)
        except tf.errors.ResourceExhaustedError:
            if batch == 1:
                raise GalleryError(f"{job.layer}: out of memory even with one image at a time; "
                                   "lower image_size for this layer") from None
            batch = max(1, batch // 2)
            warn(f"{job.layer}: out of memory; retrying with batch_size {batch}")


def _compute_with_progress(vgg, job, weights, batch, environment, progress, optimized=None):
    from .analysis.layer import compute_layer

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
    return BuildLock(manifest.cache_dir / CACHE_LOCK, f"the cache {manifest.cache_dir}")
