"""The result cache on disk: keyed entries of layer results, checked when read, written whole.

Layout (cache folder, outside the site):
  <cache>/<layer>/<method>/<key>/result.json   the LayerResult, with its key, cache format and image checksums
  <cache>/<layer>/<method>/<key>/images/f007.png, t007.jpg, s007-00010.png
                                               filter 7's image, thumbnail and snapshots (a007.gif, its
                                               animation, is added when the site first needs it)
  <cache>/samples/<sample key>/sample.png, data.json, <layer>.png
                                               a sample image, its summaries and its feature-map sheets
  <cache>/weights/<sha256>.json                 kernel statistics of one set of weights
  <cache>/weights.json                          weights fingerprint of the last build per source
  <cache>/.lock                                 held by the running build

The key (keys.py) hashes everything that changes a layer's result, the cache format
included. An entry is written into a temporary folder and renamed into place, so a
reader sees either a whole entry or none; a build killed mid-layer leaves only a
temporary folder that the next build ignores and removes. Every name is in names.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..analysis.results import LayerResult
from ..config import WeightsSpec
from . import locks
from .files import dumps, new_folder, remove_temporary, write_atomic
from .fingerprints import WeightsMemory
from .images import decode_png, encode_gif, encode_jpeg, encode_png, thumbnail
from .keys import CACHE_FORMAT, cache_key
from .names import (ENTRY_IMAGES, RESULT_FILE, WEIGHTS_FILE, animation_name, entry_files, image_name,
                    snapshot_name, thumb_name, view_name)
from .teaching import TeachingStore

# Names others still import from here; their home is names.py and keys.py.
__all__ = ["CACHE_FORMAT", "CorruptEntry", "ResultStore", "cache_key", "entry_files", "image_name",
           "snapshot_name", "thumb_name"]


class CorruptEntry(Exception):
    """A cache entry exists but cannot be trusted; it is recomputed."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _outdated(record: Any) -> bool:
    """Whether a record says an earlier cache format: outdated, not damaged, so recomputed without a warning.

    The key hashes the format, so a lookup normally misses earlier entries altogether; this
    covers an old record found at a current key (a cache restored or copied by hand). A format
    this version never wrote, or none, can only come from damage and raises CorruptEntry.
    """
    number = record.get("cache_format")
    return type(number) is int and number < CACHE_FORMAT


def _checked_result(record: dict[str, Any], layer: str, method: str, key: str) -> LayerResult:
    """The record's result, if the record is the one this layer, method and key should find."""
    if record.get("cache_format") != CACHE_FORMAT or record.get("key") != key:
        raise CorruptEntry("wrong cache format or key")
    result = LayerResult.from_dict(record["result"])
    if result.layer != layer or result.method != method:
        raise CorruptEntry("entry is for another layer or method")
    return result


def _check_images(folder: Path, result: LayerResult, checksums: dict[str, str]) -> None:
    """Every image the result names is present and unchanged since it was written."""
    for name in entry_files(result):
        path = folder / name
        if not path.is_file():
            raise CorruptEntry(f"missing image {name}")
        if _sha256(path.read_bytes()) != checksums[name]:
            raise CorruptEntry(f"image {name} does not match its checksum")


def _write_images(folder: Path, result: LayerResult, images: np.ndarray,
                  snapshots: dict[tuple[int, int], np.ndarray], views: dict[str, np.ndarray]) -> dict[str, str]:
    """Each filter's image, thumbnail and snapshots into `folder`; their checksums by name.

    The checksums let a reader tell a truncated or edited image from a good one.
    """
    folder.mkdir()
    checksums: dict[str, str] = {}

    def put(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        checksums[name] = _sha256(data)

    for f, pixels in zip(result.filters, images):
        put(image_name(f.index), encode_png(pixels))
        put(thumb_name(f.index), encode_jpeg(thumbnail(pixels)))
    for (index, step), pixels in sorted(snapshots.items()):
        put(snapshot_name(index, step), encode_png(pixels))
    for view, per_filter in sorted(views.items()):
        for f, pixels in zip(result.filters, per_filter):
            for j, image in enumerate(pixels):
                put(view_name(f.index, view, j), encode_png(image))
    return checksums


class ResultStore:
    """The cache folder. Layer-result entries are kept here; the rest is delegated:
    samples and weight summaries to TeachingStore, weights fingerprints to WeightsMemory,
    the write probe to locks.py (build.py takes the lock on <cache>/.lock itself).
    """

    def __init__(self, cache_dir: Path):
        self.root = cache_dir
        self.teaching = TeachingStore(cache_dir)
        self.fingerprints = WeightsMemory(cache_dir / WEIGHTS_FILE)

    # -- layer entries ------------------------------------------------------

    def entry_dir(self, layer: str, method: str, key: str) -> Path:
        return self.root / layer / method / key

    def image_path(self, layer: str, method: str, key: str, name: str) -> Path:
        return self.entry_dir(layer, method, key) / ENTRY_IMAGES / name

    def load(self, layer: str, method: str, key: str) -> LayerResult | None:
        """The cached result; None if absent or outdated; raises CorruptEntry if present but damaged."""
        entry = self.entry_dir(layer, method, key)
        if not entry.exists():
            return None
        try:
            record = json.loads((entry / RESULT_FILE).read_text(encoding="utf-8"))
            if _outdated(record):
                return None
            result = _checked_result(record, layer, method, key)
            _check_images(entry / ENTRY_IMAGES, result, record["files"])
            return result
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise CorruptEntry(f"{type(error).__name__}: {error}") from None

    def load_images(self, layer: str, method: str, key: str, result: LayerResult) -> np.ndarray:
        """The saved uint8 images of an entry, in filter order (for checks and analysis)."""
        return np.stack([
            decode_png(self.image_path(layer, method, key, image_name(f.index)).read_bytes())
            for f in result.filters
        ])

    def save(self, key: str, result: LayerResult, images: np.ndarray,
             snapshots: dict[tuple[int, int], np.ndarray] | None = None,
             views: dict[str, np.ndarray] | None = None) -> Path:
        """Write an entry whole or not at all (see `new_folder`), replacing one that was damaged or outdated.

        `snapshots` maps (filter index, step) to an intermediate uint8 image; `views` a view's name
        to its (filters, images, H, W, 3) uint8 images.
        """
        final = self.entry_dir(result.layer, result.method, key)
        with new_folder(final) as temp:
            checksums = _write_images(temp / ENTRY_IMAGES, result, images, snapshots or {}, views or {})
            record = {"cache_format": CACHE_FORMAT, "key": key, "files": checksums, "result": result.to_dict()}
            (temp / RESULT_FILE).write_bytes(dumps(record))
        return final

    def animation(self, layer: str, method: str, key: str, index: int, steps: tuple[int, ...]) -> Path:
        """An animated GIF of a filter's snapshots and final image, made once and kept in the entry."""
        path = self.image_path(layer, method, key, animation_name(index))
        if not path.is_file():
            names = [snapshot_name(index, step) for step in steps] + [image_name(index)]
            frames = [decode_png(self.image_path(layer, method, key, name).read_bytes()) for name in names]
            write_atomic(path, encode_gif([thumbnail(frame) for frame in frames]))
        return path

    def discard(self, layer: str, method: str, key: str) -> None:
        shutil.rmtree(self.entry_dir(layer, method, key), ignore_errors=True)

    def remove_leftovers(self) -> None:
        """Temporary folders of builds that were killed mid-write."""
        remove_temporary("*/*", self.root)
        self.teaching.remove_leftovers()

    # -- the folder's write probe (locks.py) --------------------------

    def ensure_writable(self) -> None:
        locks.ensure_writable(self.root, "output.cache")

    # -- weights fingerprints (fingerprints.py) -------------------------------

    def remember_weights(self, spec: WeightsSpec, weights: dict[str, str]) -> None:
        self.fingerprints.remember(spec, weights)

    def recall_weights(self, spec: WeightsSpec) -> dict[str, str] | None:
        """The weights the last build with this source used (lets `site` skip TensorFlow)."""
        return self.fingerprints.recall(spec)

    # -- teaching material (teaching.py) --------------------------------------

    def save_weights_summary(self, sha256: str, summary: dict[str, Any]) -> None:
        self.teaching.save_weights_summary(sha256, summary)

    def load_weights_summary(self, sha256: str) -> dict[str, Any] | None:
        return self.teaching.load_weights_summary(sha256)

    def sample_dir(self, key: str) -> Path:
        return self.teaching.sample_dir(key)

    def save_sample(self, key: str, pixels: np.ndarray, sheets: dict[str, np.ndarray], data: dict[str, Any]) -> None:
        self.teaching.save_sample(key, pixels, sheets, data)

    def load_sample(self, key: str, layers: tuple[str, ...]) -> dict[str, Any] | None:
        return self.teaching.load_sample(key, layers)
