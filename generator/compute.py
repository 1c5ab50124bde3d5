"""Computing one work unit: the network loaded once per build, each unit cached or computed and stored.

A unit is stored the moment it is finished, so an interrupted build loses at most the
unit in flight. Out of memory (mostly on a GPU), a unit starts again with half the
batch: batching never changes the results, so a smaller batch gives the same images.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from .analysis.results import LayerResult
from .config import LayerJob, Manifest
from .errors import ConfigError, GalleryError
from .estimate import FirstStep
from .plan.units import Unit
from .store import CorruptEntry, ResultStore, warn
from .store.jobs import unit_key


@dataclass(frozen=True)
class Network:
    """What every unit of one build shares: the network, how it is computed, what is recorded about it."""

    vgg: Any  # float32: the saved images are measured with it
    optimized: Any  # the network the images are optimized with (bfloat16 under `mixed`)
    weights: dict[str, str]  # the public weights record (source, sha256, ...)
    environment: dict[str, str]
    gpu: bool
    first_step: FirstStep = field(default_factory=FirstStep, compare=False)  # `took ...; first step after`


def load_network(manifest: Manifest) -> Network:
    from .machine import cpu_kernels, describe_cpu
    from .network.device import environment_info, on_gpu
    from .network.extractors import with_precision
    from .network.weights import load_vgg16

    vgg, info = load_vgg16(manifest.weights)
    environment = {**environment_info(manifest.precision), "cpu": describe_cpu(),  # the build record names it
                   "cpu_kernels": cpu_kernels()}
    return Network(vgg, with_precision(vgg, manifest.precision), info.public(), environment, on_gpu())


def build_unit(network: Network, store: ResultStore, unit: Unit, precision: str,
               progress: bool) -> tuple[LayerResult, bool]:
    """One unit: from the cache if it is there and whole, else computed and stored at once.

    Returns its result and whether it came from the cache."""
    from .network.device import auto_batch_size

    key = unit_key(unit, network.weights["sha256"], precision)
    found = cached(store, unit, key)
    if found is not None:
        return found, True
    settings = unit.settings
    batch = settings.batch_size or auto_batch_size(unit.layer, settings.image_size, len(settings.filters), network.gpu)
    # one line as each unit starts: the user (and the fault tests) see what is in flight
    print(f"computing {unit.name}: {len(settings.filters)} filters, batch {batch}", file=sys.stderr, flush=True)
    result, images, snapshots, views = _compute_halving_on_oom(network, LayerJob(unit.layer, settings), batch, progress)
    store.save(key, result, images, snapshots, views)
    return result, False


def cached(store: ResultStore, unit: Unit, key: str) -> LayerResult | None:
    try:
        return store.load(unit.layer, unit.method, key)
    except CorruptEntry as error:
        warn(f"{unit.name}: cached result is damaged ({error}); recomputing it")
        store.discard(unit.layer, unit.method, key)
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


def _compute_halving_on_oom(network: Network, job: LayerJob, batch: int, progress: bool):
    import tensorflow as tf

    while True:
        try:
            return _compute_with_progress(network.vgg, job, network.weights, batch, network.environment,
                                          progress, network.optimized, network.first_step)
        except tf.errors.ResourceExhaustedError:
            if batch == 1:
                raise GalleryError(f"{job.layer}: out of memory even with one image at a time; "
                                   "lower image_size for this layer") from None
            batch = max(1, batch // 2)
            warn(f"{job.layer}: out of memory; retrying with batch_size {batch}")


def _compute_with_progress(vgg, job, weights, batch, environment, progress, optimized=None, first_step=None):
    from .analysis.layer import compute_layer

    noted = first_step or (lambda steps: None)
    if not progress:
        return compute_layer(vgg, job, weights, batch, environment, noted, optimized)
    from tqdm import tqdm

    total = len(job.settings.filters) * job.settings.max_steps
    with tqdm(total=total, desc=f"{job.layer} {job.settings.method} (batch {batch})", unit="img-step",
              file=sys.stderr, dynamic_ncols=True, leave=True) as bar:
        def on_steps(steps: int) -> None:
            noted(steps)
            bar.update(steps)

        return compute_layer(vgg, job, weights, batch, environment, on_steps, optimized)
