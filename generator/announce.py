"""What a build says before it computes: which weights it uses, and how long it will take.

The estimate counts only the work units that are not in the cache (an entry folder is
enough to count one as cached here; whether it is whole is checked when it is loaded).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from .compute import Network
from .estimate import Estimate, Rates, calibrate, estimate_build, estimate_line
from .methods.registry import method
from .plan.units import Unit
from .store import ResultStore
from .store.jobs import unit_key


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def weights_line(weights: dict[str, str]) -> str:
    """Which weights the build uses, as loaded (under `auto`, after the warning when it fell back)."""
    fell_back = weights["requested"] == "auto" and weights["source"] != "imagenet"
    why = "; ImageNet's could not be had" if fell_back else ""
    return f"weights: {weights['source']} ({weights['description']}{why})"


@dataclass(frozen=True)
class PlannedUnit:
    unit: Unit
    key: str
    cached: bool  # its entry folder exists


def is_cached(store: ResultStore, unit: Unit, weights_sha256: str, precision: str) -> bool:
    """Whether the unit's entry folder exists (whether it is whole is checked when it is loaded)."""
    return plan(store, (unit,), weights_sha256, precision)[0].cached


def plan(store: ResultStore, units: tuple[Unit, ...], weights_sha256: str, precision: str) -> list[PlannedUnit]:
    """Each unit's cache key and whether it is in the cache, without reading the entry (the build does)."""
    keys = [unit_key(unit, weights_sha256, precision) for unit in units]
    return [PlannedUnit(unit, key, store.entry_dir(unit.layer, unit.method, key).is_dir())
            for unit, key in zip(units, keys)]


def estimate_plan(planned: list[PlannedUnit], rendered: int, rates: Rates | None, extra: tuple = ()) -> Estimate:
    """The build's seconds at these rates: each uncached unit's cost, as its method counts it, and `extra`
    work (the dataset examples' forward passes)."""
    costs = [method(p.unit.method).cost(p.unit.layer, p.unit.settings) for p in planned if not p.cached]
    return estimate_build(costs + list(extra), cached=len(planned) - len(costs), rendered=rendered, rates=rates,
                          units=len(costs))


def announce(store: ResultStore, units: tuple[Unit, ...], rendered: int, network: Network,
             precision: str, extra: tuple = ()) -> Estimate:
    """Calibrate (only if there is work) and say how long the build will take."""
    planned = plan(store, units, network.weights["sha256"], precision)
    rates = calibrate(network.optimized) if extra or any(not p.cached for p in planned) else None
    estimate = estimate_plan(planned, rendered, rates, extra)
    say(estimate_line(estimate, machine_words(network), network.weights["source"]))
    return estimate


def machine_words(network: Network) -> str:
    from .machine import cpu_info

    return network.environment["device"] if network.gpu else cpu_info().brief()
