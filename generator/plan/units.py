"""Work units: the unit of computation and of caching is (layer, method, chunk of filters).

A layer-method's filters are cut into chunks of `chunk` filters, in manifest order.
Every filter's result depends on its own settings only (batching is exact and each
filter draws from its own random stream), so a unit computed alone, in any shard,
gives exactly the images it gives inside the whole layer, and a layer's result is
its units' results put back together. An interrupted build loses at most the unit
in flight; changing `filters` recomputes only the chunks that changed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..architecture import CONV_LAYER_NAMES
from ..config import LayerJob, Manifest
from ..config.schema import MethodSettings


@dataclass(frozen=True)
class Unit:
    """One unit of work: a layer, a method and its settings with `filters` cut to one chunk."""

    layer: str
    settings: MethodSettings  # settings.filters is this unit's chunk
    first: int  # 1-based position of its first filter among the layer-method's filters
    of: int  # how many filters the layer-method has

    @property
    def method(self) -> str:
        return self.settings.method

    @property
    def name(self) -> str:
        """How the plan and messages name it: `block4_conv1 natural 65-128/512` (positions, not indices)."""
        return f"{self.layer} {self.method} {self.first}-{self.first + len(self.settings.filters) - 1}/{self.of}"


def job_units(job: LayerJob) -> tuple[Unit, ...]:
    """A layer-method's units, in filter order."""
    filters, size = job.settings.filters, job.settings.chunk
    return tuple(Unit(job.layer, dataclasses.replace(job.settings, filters=filters[begin:begin + size]),
                      begin + 1, len(filters))
                 for begin in range(0, len(filters), size))


def manifest_units(manifest: Manifest, jobs: tuple[LayerJob, ...] | None = None) -> tuple[Unit, ...]:
    """Every unit of the manifest's jobs (or of a selection of them), in network and method order."""
    ordered = sorted(jobs if jobs is not None else manifest.jobs,
                     key=lambda job: CONV_LAYER_NAMES.index(job.layer))
    return tuple(unit for job in ordered for unit in job_units(job))
