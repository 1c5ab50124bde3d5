"""The built-in photo set: the colour photographs that ship inside the scikit-image package.

Only photographs (no test patterns, no stereo duplicates), each with its source and
licence as scikit-image's own documentation states them; the about page lists them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BuiltinPhoto:
    file: str  # its name in skimage/data
    subject: str
    source: str
    licence: str


BUILTIN: tuple[BuiltinPhoto, ...] = (
    BuiltinPhoto("astronaut.png", "the astronaut Eileen Collins", "NASA Great Images database",
                 "no known copyright restrictions, released into the public domain"),
    BuiltinPhoto("chelsea.png", "Chelsea the cat", "photograph by Stefan van der Walt", "CC0"),
    BuiltinPhoto("coffee.png", "a coffee cup, courtesy of Pikolo Espresso Bar", "photograph by Rachel Michetti",
                 "CC0"),
    BuiltinPhoto("hubble_deep_field.jpg", "the Hubble eXtreme Deep Field", "NASA, HubbleSite",
                 "public domain (NASA)"),
    BuiltinPhoto("ihc.png", "immunohistochemical staining of colonic glands",
                 "Center for Microscopy And Molecular Imaging (CMMI)", "no known copyright restrictions"),
    BuiltinPhoto("retina.jpg", "a human retina (fundus photograph)", "Mikael Häggström, Wikimedia Commons",
                 "CC0 1.0"),
    BuiltinPhoto("rocket.jpg", "the launch of DSCOVR on a Falcon 9", "SpaceX", "public domain (SpaceX)"),
)


def data_folder() -> Path:
    """skimage/data, found without importing scikit-image (which takes a second)."""
    from importlib.util import find_spec

    spec = find_spec("skimage")
    if spec is None or spec.origin is None:
        from ..errors import ConfigError

        raise ConfigError("examples.images: `builtin` needs the scikit-image package (pip install scikit-image), "
                          "or give a folder of photos")
    return Path(spec.origin).parent / "data"


def builtin_paths() -> tuple[Path, ...]:
    folder = data_folder()
    return tuple(folder / photo.file for photo in BUILTIN)
