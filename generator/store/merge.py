"""`vgg-gallery merge`: the caches of a sharded build gathered into the manifest's cache.

Everything is checked before anything is written: each source is a shard cache of
this very manifest (its shard record's plan fingerprint), all of them used the same
weights, each unit's entry is whole (checksums), and no two copies of a unit differ.
Then the entries are copied in, each into a temporary folder renamed into place, and
the weights record and the teaching material come along. A unit the target already
holds identically is left as it is.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Manifest
from ..errors import OutputError
from .cache import CorruptEntry, ResultStore
from .examples import EXAMPLES
from .files import new_folder, read_json, write_atomic
from .locks import BuildLock
from .names import CACHE_LOCK, RESULT_FILE, SAMPLES, WEIGHTS_SUMMARIES
from ..plan.units import manifest_units
from .jobs import unit_key
from .shards import plan_fingerprint, shard_records

RUN_FIELDS = ("seconds", "environment")  # differ between two runs of the same unit: not a conflict


@dataclass(frozen=True)
class Entry:
    source: Path  # the shard cache it comes from
    layer: str
    method: str
    key: str
    name: str  # the unit's name, for messages

    def folder(self) -> Path:
        return ResultStore(self.source).entry_dir(self.layer, self.method, self.key)


@dataclass(frozen=True)
class MergeReport:
    copied: int
    present: int  # already in the target, identical
    shards: tuple[str, ...]  # "2/8" of each record merged
    missing: tuple[str, ...] = ()  # units of the manifest in no cache given nor in the target


def merge(manifest: Manifest, sources: list[Path]) -> MergeReport:
    records = [(source, record) for source in sources for record in _records(source, manifest)]
    weights = _same_weights(records)
    expected = {unit_key(unit, weights["sha256"], manifest.precision): unit for unit in manifest_units(manifest)}
    entries = _checked_entries(records, expected)  # all of this reads only: a refused merge writes nothing
    target = ResultStore(manifest.cache_dir)
    target.ensure_writable()
    with BuildLock(target.root / CACHE_LOCK, f"the cache {target.root}"):
        _target_weights_agree(target, manifest, weights)
        fresh = [entry for entry in entries.values() if not _present(target, entry)]
        missing = [unit.name for key, unit in expected.items()
                   if key not in entries and not target.entry_dir(unit.layer, unit.method, key).is_dir()]
        for entry in fresh:
            _copy_entry(entry, target)
        for source in dict.fromkeys(sources):
            _copy_teaching(source, target)
        target.remember_weights(manifest.weights, weights)
    return MergeReport(len(fresh), len(entries) - len(fresh),
                       tuple(f"{r['shard'][0]}/{r['shard'][1]}" for _, r in records), tuple(missing))


def _records(source: Path, manifest: Manifest) -> list[dict[str, Any]]:
    if not source.is_dir():
        raise OutputError(f"merge: {source} is not a folder; give the caches that 'build --shard K/N --cache DIR' made")
    if source.resolve() == manifest.cache_dir.resolve():
        raise OutputError(f"merge: {source} is the manifest's own cache; give the shards' caches")
    with BuildLock(source / CACHE_LOCK, f"the cache {source}"):  # refused while a shard still writes it
        records = shard_records(source)
    if not records:
        raise OutputError(f"merge: {source} holds no shard record; build it with 'vgg-gallery build "
                          f"{manifest.path.name} --shard K/N --cache {source}'")
    expected = plan_fingerprint(manifest)
    for record in records:
        if not _well_formed(record):
            raise OutputError(f"merge: {source} holds a damaged shard record; build that shard again")
        if record.get("plan") != expected:
            raise OutputError(f"merge: {source} was built from another manifest or other settings than "
                              f"{manifest.path.name}; rebuild that shard with this manifest")
    return records


def _same_weights(records: list[tuple[Path, dict]]) -> dict[str, str]:
    weights = records[0][1]["weights"]
    for source, record in records:
        if record["weights"]["sha256"] != weights["sha256"]:
            raise OutputError(f"merge: {source} was built with other weights (sha256 "
                              f"{record['weights']['sha256'][:12]}…, not {weights['sha256'][:12]}…); "
                              "rebuild that shard so all use the same weights")
    return weights


def _target_weights_agree(target: ResultStore, manifest: Manifest, weights: dict[str, str]) -> None:
    known = target.recall_weights(manifest.weights)
    if known is not None and known["sha256"] != weights["sha256"]:
        raise OutputError(f"merge: the shards used other weights (sha256 {weights['sha256'][:12]}…) than "
                          f"{target.root} holds for '{manifest.weights.source}' ({known['sha256'][:12]}…)")


def _well_formed(record: dict) -> bool:
    units = record.get("units")
    return (isinstance(record.get("weights"), dict) and "sha256" in record["weights"]
            and isinstance(record.get("shard"), list) and len(record["shard"]) == 2 and isinstance(units, list)
            and all(isinstance(u, dict) and {"layer", "method", "key", "name"} <= set(u) for u in units))


def _checked_entries(records: list[tuple[Path, dict]], expected: dict[str, Any]) -> dict[str, Entry]:
    """Every unit entry of the records, checked whole; two copies of one unit must agree."""
    entries: dict[str, Entry] = {}
    for source, record in records:
        for unit in record["units"]:
            entry = Entry(source, unit["layer"], unit["method"], unit["key"], unit["name"])
            if entry.key not in expected:
                raise OutputError(f"merge: {source} holds {entry.name} under a key this manifest does not "
                                  "plan (another generator version or other weights); rebuild that shard")
            _check_whole(entry)
            other = entries.get(entry.key)
            if other is not None and _content(other) != _content(entry):
                raise OutputError(f"merge: conflicting results for {entry.name} in {other.source} and "
                                  f"{entry.source}; rebuild one of the two shards")
            entries.setdefault(entry.key, entry)
    return entries


def _check_whole(entry: Entry) -> None:
    try:
        result = ResultStore(entry.source).load(entry.layer, entry.method, entry.key)
    except CorruptEntry as error:
        raise OutputError(f"merge: {entry.name} in {entry.source} is damaged ({error}); rebuild that shard") from None
    if result is None:
        raise OutputError(f"merge: {entry.name} is missing from {entry.source}; its shard did not finish: "
                          "run that shard again (it resumes) and merge then")


def _content(entry: Entry) -> Any:
    """What must agree between two copies of a unit: the result without run times, and the images."""
    record = json.loads((entry.folder() / RESULT_FILE).read_text(encoding="utf-8"))
    result = {k: v for k, v in record["result"].items() if k not in RUN_FIELDS}
    return result, record["files"]


def _present(target: ResultStore, entry: Entry) -> bool:
    """The target holds this unit already: identical (nothing to do), or different (refused)."""
    if not target.entry_dir(entry.layer, entry.method, entry.key).is_dir():
        return False
    mine = Entry(target.root, entry.layer, entry.method, entry.key, entry.name)
    try:
        _check_whole(mine)
    except OutputError:
        return False  # a damaged copy in the target is replaced
    if _content(mine) != _content(entry):
        raise OutputError(f"merge: {target.root} already holds a different result for {entry.name}; "
                          "remove it from that cache or rebuild the shard")
    return True


def _copy_entry(entry: Entry, target: ResultStore) -> None:
    final = target.entry_dir(entry.layer, entry.method, entry.key)
    final.parent.mkdir(parents=True, exist_ok=True)
    with new_folder(final) as temp:
        shutil.copytree(entry.folder(), temp, dirs_exist_ok=True)


def _copy_teaching(source: Path, target: ResultStore) -> None:
    """Kernel statistics, sample images' maps and dataset examples (the first shard computes those):
    the same wherever they were made, copied where missing."""
    for folder in (WEIGHTS_SUMMARIES, SAMPLES, EXAMPLES):
        for item in sorted((source / folder).glob("*")) if (source / folder).is_dir() else ():
            destination = target.root / folder / item.name
            if item.name.startswith(".") or destination.exists():
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            if item.is_dir():
                with new_folder(destination) as temp:
                    shutil.copytree(item, temp, dirs_exist_ok=True)
            elif read_json(item) is not None:
                write_atomic(destination, item.read_bytes())
