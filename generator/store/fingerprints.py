"""The weights each weights source gave at its last build, so `site` renders without loading TensorFlow."""

from __future__ import annotations

from pathlib import Path

from ..config import WeightsSpec
from .files import dumps, read_json, write_atomic


def _source_key(spec: WeightsSpec) -> str:
    """One name per weights source: a file's path and a random seed give different weights."""
    return f"{spec.source}|{spec.path or ''}|{spec.random_seed}"


class WeightsMemory:
    """A JSON file mapping each weights source to the public fingerprint of its weights."""

    def __init__(self, path: Path):
        self.path = path

    def remember(self, spec: WeightsSpec, weights: dict[str, str]) -> None:
        known = read_json(self.path) or {}
        known[_source_key(spec)] = weights
        write_atomic(self.path, dumps(known))

    def recall(self, spec: WeightsSpec) -> dict[str, str] | None:
        """The weights the last build with this source used; None if it never built (or the file is unreadable)."""
        known = read_json(self.path) or {}
        return known.get(_source_key(spec))
