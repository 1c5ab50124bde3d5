"""The examples stage of a build: photos checked before TensorFlow starts, missing layers computed after.

`check_photos` runs with the manifest's other checks (exit 2, nothing touched); `prepare_examples`
runs once the network is loaded, computes only the layers the cache lacks, in one pass over
the photos, and stores them. `cached_examples` is what the site reads, without TensorFlow.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Manifest
from ..errors import ConfigError
from ..store.files import warn
from ..store.examples import ExamplesStore, examples_key
from .photos import Photo, content_hash, scan


@dataclass(frozen=True)
class PhotoPlan:
    """The photos to feed and the cache key of their examples under these weights."""

    photos: tuple[Photo, ...]
    photos_hash: str

    def key(self, manifest: Manifest, weights_sha256: str) -> str:
        from ..config.schema import plain

        # every key but `images`, which the photos' content hash stands for
        settings = {name: value for name, value in plain(manifest.examples).items() if name != "images"}
        return examples_key(self.photos_hash, weights_sha256, settings)


def check_photos(manifest: Manifest) -> PhotoPlan | None:
    """The manifest's photos, every one readable and large enough; None when it asks for no examples."""
    if manifest.examples is None:
        return None
    photos = scan(manifest.examples, manifest.layers, f"{manifest.path.name}: examples.images")
    return PhotoPlan(photos, content_hash(photos))


def examples_cost(manifest: Manifest, plan: PhotoPlan | None, cache_dir: Path, weights_sha256: str) -> list:
    """The estimate's share: one forward pass per photo up to the deepest layer the cache lacks."""
    from ..architecture import CONV_LAYER_NAMES, conv_flops_per_image
    from ..estimate import FIRST_LAYER, Cost

    if plan is None:
        return []
    missing = ExamplesStore(cache_dir).missing(plan.key(manifest, weights_sha256), manifest.layers)
    if not missing:
        return []
    deepest = max(missing, key=CONV_LAYER_NAMES.index)
    sides = [(photo.width * photo.height) ** 0.5 for photo in plan.photos]  # FLOPs go with the area
    return [Cost(sum(conv_flops_per_image(deepest, round(side)) for side in sides),
                 sum(conv_flops_per_image(FIRST_LAYER, round(side)) for side in sides), 0.0)]


def prepare_examples(vgg, manifest: Manifest, plan: PhotoPlan | None, cache_dir: Path, weights_sha256: str) -> None:
    """Compute and store the examples of every manifest layer the cache lacks (one pass over the photos)."""
    from .compute import compute_examples

    if plan is None:
        return
    store, key = ExamplesStore(cache_dir), plan.key(manifest, weights_sha256)
    missing = store.missing(key, manifest.layers)
    if not missing:
        return
    print(f"computing dataset examples: {len(plan.photos)} photos, {len(missing)} layers",
          file=sys.stderr, flush=True)
    started = time.perf_counter()
    examples, used = compute_examples(vgg, plan.photos, missing, manifest.examples,
                                      on_photo=lambda photo, pixels: store.save_photo(key, photo.name, pixels))
    store.save_photos(key, [photo_record(photo) for photo in used])
    for layer, filters in examples.items():
        store.save_layer(key, layer, filters)
    print(f"dataset examples: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)


def photo_record(photo: Photo) -> dict[str, Any]:
    return {"name": photo.name, "width": photo.width, "height": photo.height, "scale": photo.scale}


@dataclass(frozen=True)
class CachedExamples:
    """What the site shows: the photos, each layer's filters, and where the photos are in the cache."""

    key: str
    photos: tuple[dict[str, Any], ...]
    layers: dict[str, list[dict[str, Any]]]  # layer -> every filter's examples (all the layer's maps)
    store: ExamplesStore
    builtin: bool
    label: str


def cached_examples(manifest: Manifest, cache_dir: Path, weights_sha256: str | None,
                    plan: PhotoPlan | None = None) -> CachedExamples | None:
    """The examples of the manifest's layers that are in the cache (None: none asked for, or none computed).

    `plan`: the photos a build has just checked; without it (`site`) they are scanned and hashed here."""
    if manifest.examples is None or weights_sha256 is None:
        return None
    if plan is None:
        try:
            plan = check_photos(manifest)
        except ConfigError as error:  # re-rendering must not fail for photos moved since the build
            warn(f"dataset examples left out: {error}")
            return None
    store, key = ExamplesStore(cache_dir), plan.key(manifest, weights_sha256)
    photos = store.photos(key)
    layers = {layer: found for layer in manifest.layers if (found := store.layer(key, layer)) is not None}
    if photos is None or not layers:
        return None
    return CachedExamples(key, tuple(photos), layers, store, manifest.examples.images.builtin,
                          manifest.examples.images.label)
