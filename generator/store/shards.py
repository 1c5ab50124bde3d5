"""Shard records: what a `--shard K/N` build put into its cache, so that `merge` can check it.

A record names the plan it was made from (a fingerprint of every unit of the manifest:
layer, method, settings, chunk of filters, and the precision), the weights it used, and
the cache keys of its units. Merging shards of another manifest, or made with other
weights, is refused.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..config import Manifest
from ..plan.units import Unit, manifest_units
from .cache import ResultStore
from .files import dumps, read_json, write_atomic
from .jobs import unit_key
from .names import SHARDS, shard_record_name


def plan_fingerprint(manifest: Manifest) -> str:
    """The same for two manifests exactly when they plan the same units with the same settings."""
    units = [[unit.layer, unit.settings.fingerprint()] for unit in manifest_units(manifest)]
    weights = [manifest.weights.source, manifest.weights.path.name if manifest.weights.path else None,
               manifest.weights.random_seed]
    text = json.dumps([units, manifest.precision, weights], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_shard_record(store: ResultStore, manifest: Manifest, shard: tuple[int, int], weights: dict[str, str],
                       units: tuple[Unit, ...]) -> None:
    """This shard's record; records of other shardings left in the same cache are removed (they are stale)."""
    folder = store.root / SHARDS
    name = shard_record_name(*shard)
    for stale in folder.glob("*.json") if folder.is_dir() else ():
        if stale.name != name:
            stale.unlink()
    record = {"plan": plan_fingerprint(manifest), "shard": list(shard), "weights": weights,
              "units": [{"layer": u.layer, "method": u.method, "name": u.name,
                         "key": unit_key(u, weights["sha256"], manifest.precision)} for u in units]}
    write_atomic(folder / name, dumps(record))


def shard_records(cache: Path) -> list[dict[str, Any]]:
    """The shard records a cache holds (none: it was not built with --shard)."""
    folder = cache / SHARDS
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return [record for record in (read_json(path) for path in paths) if isinstance(record, dict)]
