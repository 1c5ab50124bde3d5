"""The photos as the network sees them: checked, read as RGB, resized to the size limit, hashed.

`scan` opens every file's header before TensorFlow starts: unreadable files are skipped
with one warning (how many, and the first), and a set with no image left, or with an
image smaller than the deepest layer's receptive field, is a one-line ConfigError.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..architecture import receptive_field
from ..errors import ConfigError
from ..store.files import warn
from .settings import ExamplesSettings


@dataclass(frozen=True)
class Photo:
    name: str  # the file's stem: the public data and the site's photo URL use it
    path: Path
    width: int  # as fed: after resizing
    height: int
    scale: float  # fed size / file size (1.0: not resized)


def fed_size(width: int, height: int, max_size: int) -> tuple[int, int, float]:
    """The size a photo is fed at: its longer side at most `max_size`, the aspect ratio kept."""
    longer = max(width, height)
    if longer <= max_size:
        return width, height, 1.0
    scale = max_size / longer
    return max(1, round(width * scale)), max(1, round(height * scale)), round(scale, 6)


def _header(path: Path) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, UnidentifiedImageError, ValueError):
        return None


def scan(settings: ExamplesSettings, layers: tuple[str, ...], where: str = "examples.images") -> tuple[Photo, ...]:
    """The readable photos, each at its fed size; every problem named (at `where`) before anything is computed."""
    photos, unreadable = [], []
    for path in settings.images.paths:
        size = _header(path)
        if size is None:
            unreadable.append(path.name)
            continue
        photos.append(Photo(path.stem, path, *fed_size(*size, settings.max_size)))
    if not photos:
        raise ConfigError(f"{where}: none of the {len(unreadable)} files is an image (the first: {unreadable[0]}); "
                          "give PNG or JPEG photos")
    if unreadable:
        warn(f"{where}: skipped {len(unreadable)} file(s) that are not images, the first: {unreadable[0]}")
    _check_names(photos, where)
    _check_sizes(photos, layers, where)
    return tuple(photos)


def _check_names(photos: list[Photo], where: str) -> None:
    seen: dict[str, Path] = {}
    for photo in photos:
        if photo.name in seen:
            raise ConfigError(f"{where}: {seen[photo.name].name} and {photo.path.name} share the name "
                              f"{photo.name!r}; rename one")
        seen[photo.name] = photo.path


def _check_sizes(photos: list[Photo], layers: tuple[str, ...], where: str) -> None:
    deepest = max(layers, key=receptive_field)
    need = receptive_field(deepest)
    for photo in photos:
        if min(photo.width, photo.height) < need:
            raise ConfigError(f"{where}: {photo.path.name} is {photo.width}×{photo.height} px as fed, smaller than "
                              f"{deepest}'s receptive field ({need} px); use photos at least {need} px on each side "
                              "(or a larger max_size)")


def read(photo: Photo) -> np.ndarray:
    """The photo as fed: (height, width, 3) uint8 RGB, resized with Lanczos if it was too large."""
    from PIL import Image

    with Image.open(photo.path) as image:
        image = image.convert("RGB")
        if image.size != (photo.width, photo.height):
            image = image.resize((photo.width, photo.height), Image.Resampling.LANCZOS)
        return np.asarray(image, dtype=np.uint8)


def content_hash(photos: tuple[Photo, ...]) -> str:
    """What the examples depend on in the photos: each name, fed size and file content."""
    digest = hashlib.sha256()
    for photo in photos:
        digest.update(f"{photo.name}\0{photo.width}x{photo.height}\0".encode())
        digest.update(hashlib.sha256(photo.path.read_bytes()).digest())
    return digest.hexdigest()
