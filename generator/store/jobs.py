"""A layer-method in the cache: found through its work units' entries, and put back together.

The cache holds one entry per work unit (plan/units.py); the site and the build's
report need the whole layer-method. A layer-method counts as cached only when every
one of its units is: a half-built layer is not shown, it is finished by the next build.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.results import LayerResult
from ..config import LayerJob
from ..plan.units import Unit, job_units
from .cache import ResultStore
from .keys import cache_key


@dataclass(frozen=True)
class CachedJob:
    result: LayerResult  # the whole layer-method, assembled from its units
    parts: tuple[tuple[str, LayerResult], ...]  # (cache key, result) of each unit, in filter order


def unit_key(unit: Unit, weights_sha256: str, precision: str) -> str:
    return cache_key(unit.layer, unit.settings, weights_sha256, precision)


def load_job(store: ResultStore, job: LayerJob, weights_sha256: str, precision: str) -> CachedJob | None:
    """The cached layer-method, None unless all its units are cached; a damaged unit raises CorruptEntry."""
    parts = []
    for unit in job_units(job):
        key = unit_key(unit, weights_sha256, precision)
        result = store.load(unit.layer, unit.method, key)
        if result is None:
            return None
        parts.append((key, result))
    return CachedJob(LayerResult.assemble([result for _, result in parts], job.settings.public()), tuple(parts))
