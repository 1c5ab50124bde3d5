"""The `examples:` section of the manifest: which photos, how many patches per filter, how large.

Checked when the manifest is read, before TensorFlow starts: the folder or files must
exist. Whether each file really is an image, and large enough, is checked by
photos.scan (it opens every header), still before TensorFlow starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..config import checks
from ..config.schema import key, section
from ..errors import ConfigError
from .builtin import BUILTIN, builtin_paths


@dataclass(frozen=True)
class PhotoSet:
    """The photos to read, in the order they are fed (sorted by name for a folder)."""

    label: str  # how pages name the set: "built-in" or the folder / files as written
    paths: tuple[Path, ...]
    builtin: bool = False  # scikit-image's photographs, whose sources and licences the about page lists


def _visible_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _folder(where: str, value: str, base: Path) -> PhotoSet:
    folder = (base / value).resolve()
    if not folder.is_dir():
        raise ConfigError(f"{where}: no such folder {value!r}; give a folder of photos, a list of image "
                          "files, or `builtin`")
    files = _visible_files(folder)
    if not files:
        raise ConfigError(f"{where}: the folder {value!r} is empty; put PNG or JPEG photos in it, "
                          "or use `builtin`")
    return PhotoSet(value, tuple(files))


def _files(where: str, value: list, base: Path) -> PhotoSet:
    if not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected `builtin`, a folder, or a non-empty list of image files, "
                          f"got {checks.show(value)}")
    paths: list[Path] = []
    for item in value:
        path = (base / item).resolve()
        if not path.is_file():
            raise ConfigError(f"{where}: no such file {item!r}; give paths of PNG or JPEG photos")
        if path in paths:
            raise ConfigError(f"{where}: {item!r} is listed twice")
        paths.append(path)
    return PhotoSet(", ".join(value), tuple(paths))


def _images(where: str, value: Any, context: Mapping[str, Any]) -> PhotoSet:
    if value == "builtin":
        return PhotoSet("built-in", builtin_paths(), builtin=True)
    if isinstance(value, str) and value.strip():
        return _folder(where, value, context["base"])
    if isinstance(value, list):
        return _files(where, value, context["base"])
    raise ConfigError(f"{where}: expected `builtin`, a folder, or a list of image files, got {checks.show(value)}")


@dataclass(frozen=True)
class ExamplesSettings:
    """`examples:` (false or absent = no dataset examples; true = these defaults)."""

    images: PhotoSet = key("builtin", _images, "the photos: `builtin` (the colour photographs that ship with "
                           f"scikit-image, {len(BUILTIN)} of them), a folder (every file in it, by name), or a "
                           "list of files", "`builtin`, a folder, or a list of paths")
    top: int = key(9, checks.integer_in(1, 100, "an integer from 1 to 100"), "patches shown per filter: the "
                   "positions with the highest values of its map over all photos", "1 … 100")
    per_photo: int = key(2, checks.integer_in(1, 100, "an integer from 1 to 100"), "at most this many of a "
                         "filter's patches come from one photo, so one large textured photo does not fill the list",
                         "1 … 100")
    bottom: bool = key(True, checks.boolean, "also the `top` most negative positions (the map's value before "
                       "the ReLU): what the filter suppresses", "`true` / `false`")
    max_size: int = key(512, checks.integer_in(64, 4096, "an integer from 64 to 4096"), "photos whose longer "
                        "side is larger are resized to it (Lanczos) before they are fed; the factor is recorded",
                        "64 … 4096")


EXAMPLES_SECTION = section(ExamplesSettings)  # the check of the manifest's `examples:` key
