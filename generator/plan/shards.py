"""Shards: a balanced, deterministic assignment of the units to N shards, for any engine that runs N jobs.

Longest processing time first: units sorted by estimated cost (largest first, ties in
plan order) each go to the shard with the least work so far (ties: the lowest number).
The same manifest always gives the same assignment, every unit lands in exactly one
shard, and no shard exceeds the mean by more than the largest unit.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence, TypeVar

from ..errors import ConfigError
from ..methods.registry import method
from .units import Unit

T = TypeVar("T")
MAX_SHARDS = 10000  # far beyond any engine's job array, and a plan of this size stays instant


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` with 1 <= K <= N, as given to --shard."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match:
        raise ConfigError(f"--shard: expected K/N with whole numbers, e.g. 2/8, got {text!r}")
    k, n = int(match.group(1)), int(match.group(2))
    if not 1 <= n <= MAX_SHARDS or not 1 <= k <= n:
        raise ConfigError(f"--shard: expected K/N with 1 <= K <= N (shards count from 1), got {text!r}")
    return k, n


def assign(items: Sequence[T], cost: Callable[[T], float], shards: int) -> list[list[T]]:
    """The items of each shard (shard k at position k-1), each list in plan order."""
    if not 1 <= shards <= MAX_SHARDS:
        raise ConfigError(f"--shards: expected a number of shards from 1 to {MAX_SHARDS}, got {shards}")
    loads = [0.0] * shards
    chosen: list[list[int]] = [[] for _ in range(shards)]
    for position in sorted(range(len(items)), key=lambda i: (-cost(items[i]), i)):
        lightest = min(range(shards), key=lambda k: (loads[k], k))
        loads[lightest] += cost(items[position])
        chosen[lightest].append(position)
    return [[items[i] for i in sorted(positions)] for positions in chosen]


def balance(shards: list[list[T]], cost: Callable[[T], float]) -> float:
    """Longest shard / mean shard (1.0 = perfectly even)."""
    loads = [sum(cost(item) for item in shard) for shard in shards]
    mean = sum(loads) / len(loads) if loads else 0.0
    return max(loads) / mean if mean > 0 else 1.0


def unit_flops(unit: Unit) -> float:
    """A unit's estimated cost: its method's FLOPs (every step's forward and input gradient, the analysis)."""
    return method(unit.method).cost(unit.layer, unit.settings).flops


def shard_units(units: Sequence[Unit], shard: int, shards: int) -> tuple[Unit, ...]:
    """Shard `shard` (from 1) of `shards`: its units, in plan order."""
    return tuple(assign(units, unit_flops, shards)[shard - 1])
