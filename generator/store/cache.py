"""The result cache on disk: keyed entries, atomic writes, corruption checks, the build lock.

Layout (cache folder, outside the site):
  <cache>/<layer>/<method>/<key>/result.json   the LayerResult, with its key and format
  <cache>/<layer>/<method>/<key>/images/f007.png, t007.jpg   image and thumbnail of filter 7
  <cache>/weights.json                          weights fingerprint of the last build per source
  <cache>/.lock                                 held by the running build

The key hashes everything that changes a layer's result: the settings that
matter, the weights' sha256, the generator version and the cache format. An
entry is written into a temporary folder and renamed into place, so a reader
sees either a whole entry or none; a build killed mid-layer leaves only a
temporary folder that the next build ignores and removes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..analysis.cross import high_frequency_share
from ..analysis.results import LayerResult
from ..config import LayerSettings, WeightsSpec
from ..errors import OutputError
from .files import dumps, write_atomic
from .images import decode_png, encode_gif, encode_jpeg, encode_png, thumbnail

CACHE_FORMAT = 1


def image_name(index: int) -> str:
    return f"f{index:03d}.png"


def thumb_name(index: int) -> str:
    return f"t{index:03d}.jpg"


def snapshot_name(index: int, step: int) -> str:
    return f"s{index:03d}-{step:05d}.png"


def entry_files(result: LayerResult) -> list[str]:
    """Every image file an entry holds."""
    names = []
    for f in result.filters:
        names += [image_name(f.index), thumb_name(f.index)] + [snapshot_name(f.index, s) for s in f.snapshots]
    return names


def cache_key(layer: str, settings: LayerSettings, weights_sha256: str, precision: str = "float32") -> str:
    payload = {
        "cache_format": CACHE_FORMAT,
        "generator_version": __version__,
        "layer": layer,
        "settings": settings.fingerprint(),
        "weights_sha256": weights_sha256,
    }
    if precision != "float32":  # float32 keys stay those of earlier versions
        payload["precision"] = precision
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class CorruptEntry(Exception):
    """A cache entry exists but cannot be trusted; it is recomputed."""


class ResultStore:
    def __init__(self, cache_dir: Path):
        self.root = cache_dir

    # -- entries ------------------------------------------------------------

    def entry_dir(self, layer: str, method: str, key: str) -> Path:
        return self.root / layer / method / key

    def load(self, layer: str, method: str, key: str) -> LayerResult | None:
        """The cached result, None if absent; raises CorruptEntry if present but damaged."""
        entry = self.entry_dir(layer, method, key)
        if not entry.exists():
            return None
        try:
            record = json.loads((entry / "result.json").read_text(encoding="utf-8"))
            if record.get("cache_format") != CACHE_FORMAT or record.get("key") != key:
                raise CorruptEntry("wrong cache format or key")
            result = LayerResult.from_dict(record["result"])
            if result.layer != layer or result.method != method:
                raise CorruptEntry("entry is for another layer or method")
            files = record["files"]
            for name in entry_files(result):
                path = entry / "images" / name
                if not path.is_file():
                    raise CorruptEntry(f"missing image {name}")
                if hashlib.sha256(path.read_bytes()).hexdigest() != files[name]:
                    raise CorruptEntry(f"image {name} does not match its checksum")
            return self._fill_high_frequency(entry, result)
        except CorruptEntry:
            raise
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CorruptEntry(f"{type(error).__name__}: {error}") from None

    @staticmethod
    def _fill_high_frequency(entry: Path, result: LayerResult) -> LayerResult:
        """Entries from before the high-frequency measure get it from their saved images."""
        if all(f.high_frequency is not None for f in result.filters):
            return result
        filters = tuple(
            f if f.high_frequency is not None else dataclasses.replace(
                f, high_frequency=high_frequency_share(
                    decode_png((entry / "images" / image_name(f.index)).read_bytes())))
            for f in result.filters)
        return dataclasses.replace(result, filters=filters)

    def image_path(self, layer: str, method: str, key: str, name: str) -> Path:
        return self.entry_dir(layer, method, key) / "images" / name

    def load_images(self, layer: str, method: str, key: str, result: LayerResult) -> np.ndarray:
        """The saved uint8 images of an entry, in filter order (for checks and analysis)."""
        return np.stack([
            decode_png(self.image_path(layer, method, key, image_name(f.index)).read_bytes())
            for f in result.filters
        ])

    def save(self, key: str, result: LayerResult, images: np.ndarray,
             snapshots: dict[tuple[int, int], np.ndarray] | None = None) -> Path:
        """Write an entry atomically: a temporary folder, renamed into place when whole.

        `snapshots` maps (filter index, step) to an intermediate uint8 image.
        """
        final = self.entry_dir(result.layer, result.method, key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".tmp-"))
        try:
            (temp / "images").mkdir()
            files: dict[str, str] = {}  # checksums: a reader tells a truncated or edited image from a good one

            def put(name: str, data: bytes) -> None:
                (temp / "images" / name).write_bytes(data)
                files[name] = hashlib.sha256(data).hexdigest()

            for f, pixels in zip(result.filters, images):
                put(image_name(f.index), encode_png(pixels))
                put(thumb_name(f.index), encode_jpeg(thumbnail(pixels)))
            for (index, step), pixels in sorted((snapshots or {}).items()):
                put(snapshot_name(index, step), encode_png(pixels))
            record = {"cache_format": CACHE_FORMAT, "key": key, "files": files, "result": result.to_dict()}
            (temp / "result.json").write_bytes(dumps(record))
            if final.exists():  # a corrupt entry being replaced
                shutil.rmtree(final)
            os.replace(temp, final)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise
        return final

    def animation(self, layer: str, method: str, key: str, index: int, steps: tuple[int, ...]) -> Path:
        """An animated GIF of a filter's snapshots and final image, made once and kept in the entry."""
        path = self.image_path(layer, method, key, f"a{index:03d}.gif")
        if not path.is_file():
            frames = [decode_png(self.image_path(layer, method, key, snapshot_name(index, s)).read_bytes())
                      for s in steps]
            frames.append(decode_png(self.image_path(layer, method, key, image_name(index)).read_bytes()))
            write_atomic(path, encode_gif([thumbnail(frame) for frame in frames]))
        return path

    def discard(self, layer: str, method: str, key: str) -> None:
        shutil.rmtree(self.entry_dir(layer, method, key), ignore_errors=True)

    def remove_leftovers(self) -> None:
        """Temporary folders of builds that were killed mid-write."""
        if not self.root.exists():
            return
        for temp in [*self.root.glob("*/*/.tmp-*"), *self.root.glob("samples/.tmp-*")]:
            shutil.rmtree(temp, ignore_errors=True)

    # -- teaching material: weight statistics and sample images' feature maps --

    def weights_summary_path(self, sha256: str) -> Path:
        return self.root / "weights" / f"{sha256}.json"

    def save_weights_summary(self, sha256: str, summary: dict) -> None:
        write_atomic(self.weights_summary_path(sha256), dumps(summary))

    def load_weights_summary(self, sha256: str) -> dict | None:
        return self._read_json(self.weights_summary_path(sha256))

    def sample_dir(self, key: str) -> Path:
        return self.root / "samples" / key

    def save_sample(self, key: str, pixels: np.ndarray, sheets: dict[str, np.ndarray], data: dict) -> None:
        final = self.sample_dir(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(dir=final.parent, prefix=".tmp-"))
        try:
            (temp / "sample.png").write_bytes(encode_png(pixels))
            for layer, sheet in sheets.items():
                (temp / f"{layer}.png").write_bytes(encode_png(sheet))
            (temp / "data.json").write_bytes(dumps({"cache_format": CACHE_FORMAT, **data}))
            if final.exists():
                shutil.rmtree(final)
            os.replace(temp, final)
        except BaseException:
            shutil.rmtree(temp, ignore_errors=True)
            raise

    def load_sample(self, key: str, layers: tuple[str, ...]) -> dict | None:
        """A sample's data if its entry is whole and covers `layers`, else None (recomputed)."""
        folder = self.sample_dir(key)
        data = self._read_json(folder / "data.json")
        if not data or data.get("cache_format") != CACHE_FORMAT or not (folder / "sample.png").is_file():
            return None
        if any(layer not in data.get("layers", {}) or not (folder / f"{layer}.png").is_file() for layer in layers):
            return None
        return data

    # -- weights fingerprints ------------------------------------------------

    @staticmethod
    def _spec_key(spec: WeightsSpec) -> str:
        return f"{spec.source}|{spec.path or ''}|{spec.random_seed}"

    def remember_weights(self, spec: WeightsSpec, weights: dict[str, str]) -> None:
        path = self.root / "weights.json"
        known = self._read_json(path) or {}
        known[self._spec_key(spec)] = weights
        write_atomic(path, dumps(known))

    def recall_weights(self, spec: WeightsSpec) -> dict[str, str] | None:
        """The weights the last build with this source used (lets `site` skip TensorFlow)."""
        known = self._read_json(self.root / "weights.json") or {}
        return known.get(self._spec_key(spec))

    @staticmethod
    def _read_json(path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # -- the build lock -----------------------------------------------------

    def ensure_writable(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-")
            probe.close()
        except FileExistsError:
            raise OutputError(f"output.cache: {self.root} is a file; point output.cache at a folder") from None
        except OSError as error:
            raise OutputError(
                f"output.cache: cannot write to {self.root} ({error.strerror}); "
                "choose a writable folder in output.cache"
            ) from None


