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

from .. import __version__
from ..config import Manifest
from ..plan.units import Unit, manifest_units
from .cache import ResultStore
from .files import dumps, read_json, write_atomic
from .jobs import unit_key
from .keys import CACHE_FORMAT
from .names import SHARDS, shard_record_name


def plan_fingerprint(manifest: Manifest) -> str:
    """The same for two manifests exactly when they plan the same units with the same settings."""
    units = [[unit.layer, unit.settings.fingerprint()] for unit in manifest_units(manifest)]
    weights = [manifest.weights.source, manifest.weights.path.name if manifest.weights.path else None,
               manifest.weights.random_seed]
    text = json.dumps([units, manifest.precision, weights, __version__, CACHE_FORMAT], sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def write_shard_record(store: ResultStore, manifest: Manifest, shard: tuple[int, int], weights: dict[str, str],
                       units: tuple[Unit, ...]) -> None:
    """This shard's record. Records of another plan or another N in the same cache are stale (a cache
    restored from an earlier run) and removed; other shards of this plan and N may share the folder."""
    folder, plan = store.root / SHARDS, plan_fingerprint(manifest)
    for record, path in zip(shard_records(store.root), _record_paths(store.root)):
        if record.get("plan") != plan or list(record.get("shard", []))[1:] != [shard[1]]:
            path.unlink()
    record = {"plan": plan, "shard": list(shard), "weights": weights,
              "units": [{"layer": u.layer, "method": u.method, "name": u.name,
                         "key": unit_key(u, weights["sha256"], manifest.precision)} for u in units]}
    write_atomic(folder / shard_record_name(*shard), dumps(record))


def _record_paths(cache: Path) -> list[Path]:
    folder = cache / SHARDS
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def shard_records(cache: Path) -> list[dict[str, Any]]:
    """The shard records a cache holds (none: it was not built with --shard); unreadable ones as {}."""
    return [record if isinstance(record, dict) else {} for record in map(read_json, _record_paths(cache))]
