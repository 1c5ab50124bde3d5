"""A build: every work unit of the selected layers and methods from the cache or computed, then the site.

Order matters for the user's safety: the manifest is validated and the output
folders are checked before TensorFlow starts; each finished unit is stored at once,
so an interrupted build loses at most the unit it was computing. A shard
(`--shard K/N`) computes exactly its units into its cache and renders nothing;
`merge` (store/merge.py) gathers the shards' caches, and `site` renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .announce import announce, is_cached, say, weights_line
from .compute import Network, build_unit, load_network, prepare_teaching_material
from .analysis.results import LayerResult
from .config import LayerJob, Manifest
from .errors import ConfigError, GalleryError
from .estimate import Estimate
from .examples.stage import PhotoPlan, check_photos, examples_cost, prepare_examples
from .plan.shards import shard_units
from .plan.units import Unit, job_units, manifest_units
from .site import SiteReport, check_output_dir, render_site, site_lock
from .store import BuildLock, ResultStore
from .store.names import CACHE_LOCK
from .store.shards import write_shard_record


@dataclass(frozen=True)
class LayerReport:
    layer: str
    method: str
    filters: int
    dead: int
    diverged: int
    mean_loss: float | None
    seconds: float
    cached: bool  # every one of its units came from the cache


@dataclass(frozen=True)
class BuildReport:
    layers: tuple[LayerReport, ...]
    site: SiteReport
    weights: dict[str, str]
    estimate: Estimate | None = None  # what was announced before computing (build(..., estimate=True))
    first_step: float | None = None  # perf_counter at the end of the first optimization step; None: all cached


@dataclass(frozen=True)
class ShardReport:
    shard: tuple[int, int]  # (K, N)
    cache_dir: Path
    computed: tuple[str, ...]  # the units' names
    cached: tuple[str, ...]
    estimate: Estimate | None = None


def build(manifest: Manifest, layers: list[str] | None = None, *, methods: list[str] | None = None,
          progress: bool = True, estimate: bool = False) -> BuildReport:
    """Compute what is missing for the selected layers and methods, then render the whole site.

    With `estimate`, a second of calibration first, and one line saying how long it will take.
    """
    jobs = manifest.select(layers, methods)
    photos = check_photos(manifest)  # every photo opened before anything is written or TensorFlow starts
    store = ResultStore(manifest.cache_dir)
    check_output_dir(manifest.site_dir)
    store.ensure_writable()
    units = manifest_units(manifest, jobs)
    with site_lock(manifest.site_dir), cache_lock(manifest.cache_dir):
        network, announced = start(manifest, store, units, estimate, photos=photos)
        built = compute(network, store, units, manifest.precision, progress)
        reports = tuple(report(job, built) for job in jobs)
        site = render_site(manifest, store, network.weights, photos)  # the photos checked once
    return BuildReport(reports, site, network.weights, announced, network.first_step.at)


def build_shard(manifest: Manifest, shard: tuple[int, int], cache_dir: Path | None = None, *,
                progress: bool = True, estimate: bool = False) -> ShardReport:
    """Shard K of N: exactly its units, into its cache (the manifest's, or `cache_dir`); no site."""
    units = shard_units(manifest_units(manifest), *shard)
    cache_dir = cache_dir or manifest.cache_dir
    if cache_dir == manifest.site_dir or cache_dir.is_relative_to(manifest.site_dir):
        raise ConfigError(f"--cache: {cache_dir} is inside the site folder, which every render replaces; "
                          "choose a folder outside output.site")
    photos = check_photos(manifest) if shard[0] == 1 else None  # the first shard computes the examples
    store = ResultStore(cache_dir)
    store.ensure_writable()
    with cache_lock(store.root):
        network, announced = start(manifest, store, units, estimate, rendered=0, photos=photos)
        built = compute(network, store, units, manifest.precision, progress)
        write_shard_record(store, manifest, shard, network.weights, units)
    names = [unit.name for unit in units]
    return ShardReport(shard, store.root, tuple(n for n in names if not built[n][1]),
                       tuple(n for n in names if built[n][1]), announced)


def start(manifest: Manifest, store: ResultStore, units: tuple[Unit, ...], estimate: bool,
          rendered: int | None = None, photos: PhotoPlan | None = None) -> tuple[Network, Estimate | None]:
    """TensorFlow, the weights, what the build will do; the teaching material and dataset examples (cached)."""
    store.remove_leftovers()
    network = load_network(manifest)
    store.remember_weights(manifest.weights, network.weights)
    say(weights_line(network.weights))
    rendered = len(manifest.jobs) if rendered is None else rendered  # a shard renders nothing
    extra = tuple(examples_cost(manifest, photos, store.root, network.weights["sha256"]))
    announced = announce(store, units, rendered, network, manifest.precision, extra) if estimate else None
    prepare_teaching_material(network.vgg, manifest, store, network.weights["sha256"])
    prepare_examples(network.vgg, manifest, photos, store.root, network.weights["sha256"])
    return network, announced


def compute(network: Network, store: ResultStore, units: tuple[Unit, ...], precision: str,
            progress: bool) -> dict[str, tuple[LayerResult, bool]]:
    """Every unit, in order: its result and whether it was cached, by unit name. Ctrl-C says how much is kept."""
    built: dict[str, tuple[LayerResult, bool]] = {}
    try:
        for unit in units:
            built[unit.name] = build_unit(network, store, unit, precision, progress)
    except KeyboardInterrupt as interrupt:
        kept = sum(is_cached(store, unit, network.weights["sha256"], precision) for unit in units)
        interrupt.kept = (kept, len(units))  # type: ignore[attr-defined]  # the CLI says how much
        raise
    return built


def report(job: LayerJob, built: dict[str, tuple[LayerResult, bool]]) -> LayerReport:
    """A layer-method's line of the summary, from its units' results as the build just had them."""
    parts = [built[unit.name] for unit in job_units(job)]
    result = LayerResult.assemble([part for part, _ in parts], job.settings.public())
    counts = result.counts()
    return LayerReport(result.layer, result.method, len(result.filters), counts["dead"], counts["diverged"],
                       result.mean_loss(), result.seconds, cached=all(cached for _, cached in parts))


def render_only(manifest: Manifest) -> SiteReport:
    """`make site`: re-render every page from the cache, without TensorFlow."""
    store = ResultStore(manifest.cache_dir)
    weights = store.recall_weights(manifest.weights)
    if weights is None:
        raise GalleryError(
            f"nothing built yet for weights '{manifest.weights.source}' in {manifest.cache_dir}; "
            "run 'make gallery' (or 'vgg-gallery build') first"
        )
    with site_lock(manifest.site_dir), cache_lock(manifest.cache_dir):
        return render_site(manifest, store, weights)


def cache_lock(cache_dir: Path) -> BuildLock:
    return BuildLock(cache_dir / CACHE_LOCK, f"the cache {cache_dir}")
