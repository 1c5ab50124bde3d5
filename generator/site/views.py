"""A filter's further views on its page (the natural method's negative and diverse images), as records."""

from __future__ import annotations

from dataclasses import dataclass

from ..analysis.results import FilterResult
from ..store import names

ORDER = ("negative", "diverse")  # how the filter page lists them; any other view follows, by name


@dataclass(frozen=True)
class ViewImage:
    image: str  # URL of the PNG
    activation: float | None  # its own map's mean on the saved image (post-ReLU)


@dataclass(frozen=True)
class ViewImages:
    name: str  # negative | diverse: the templates word it
    images: tuple[ViewImage, ...]
    similarity: float | None  # several images: mean pairwise cosine similarity of their Gram matrices


def view_images(layer: str, method: str, f: FilterResult) -> tuple[ViewImages, ...]:
    ordered = sorted(f.views, key=lambda name: (ORDER.index(name) if name in ORDER else len(ORDER), name))
    return tuple(ViewImages(name, tuple(
        ViewImage(names.images_url(layer, method, names.view_name(f.index, name, j)), activation)
        for j, activation in enumerate(f.views[name]["activation"])), f.views[name].get("similarity"))
        for name in ordered)
