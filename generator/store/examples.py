"""Dataset examples in the cache: one folder per photo set, weights and settings.

  <cache>/examples/<key>/photos.json         the photos used: name, size as fed, scale
  <cache>/examples/<key>/photos/<name>.png   each photo as fed (the site crops its patches from these)
  <cache>/examples/<key>/<layer>.json        every filter's top and bottom positions on that layer

The key hashes the photos' content, the weights' sha256 and the settings that change
the result, so a new photo, other weights or another `top` miss the cache. Every
file is written atomically; a layer file is written last, so its presence means the
photos it refers to are there. Adding a layer computes only that layer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from .files import dumps, read_json, write_atomic
from .images import encode_png

EXAMPLES = "examples"
EXAMPLES_FORMAT = 1
PHOTOS_FILE = "photos.json"


def examples_key(photos_hash: str, weights_sha256: str, settings: dict[str, Any]) -> str:
    """24 hex digits: the photos' content, the weights, the settings (top, bottom, max_size) and versions."""
    payload = {"format": EXAMPLES_FORMAT, "generator_version": __version__, "photos": photos_hash,
               "settings": settings, "weights_sha256": weights_sha256}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


class ExamplesStore:
    """The examples folder of one cache."""

    def __init__(self, cache_dir: Path):
        self.root = cache_dir / EXAMPLES

    def folder(self, key: str) -> Path:
        return self.root / key

    def photo_path(self, key: str, name: str) -> Path:
        return self.folder(key) / "photos" / f"{name}.png"

    def save_photo(self, key: str, name: str, pixels: np.ndarray) -> None:
        path = self.photo_path(key, name)
        if not path.is_file():
            write_atomic(path, encode_png(pixels))

    def save_photos(self, key: str, photos: list[dict[str, Any]]) -> None:
        write_atomic(self.folder(key) / PHOTOS_FILE, dumps(photos))

    def photos(self, key: str) -> list[dict[str, Any]] | None:
        data = read_json(self.folder(key) / PHOTOS_FILE)
        return data if isinstance(data, list) else None

    def save_layer(self, key: str, layer: str, filters: list[dict[str, Any]]) -> None:
        record = {"format": EXAMPLES_FORMAT, "key": key, "layer": layer, "filters": filters}
        write_atomic(self.folder(key) / f"{layer}.json", dumps(record))

    def layer(self, key: str, layer: str) -> list[dict[str, Any]] | None:
        """Every filter's examples on `layer`; None when absent, damaged or of another key."""
        record = read_json(self.folder(key) / f"{layer}.json")
        if not isinstance(record, dict) or record.get("key") != key or record.get("layer") != layer:
            return None
        if self.photos(key) is None:
            return None
        return record.get("filters")

    def missing(self, key: str, layers: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(layer for layer in layers if self.layer(key, layer) is None)
