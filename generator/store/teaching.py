"""The teaching pages' cached material: sample images' feature maps, and kernel statistics per weights.

Both are keyed by the weights (and a sample by its image's bytes), so they are computed once
per set of weights; the site copies them into its sample and weights pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .files import dumps, new_folder, read_json, remove_temporary, write_atomic
from .images import encode_png
from .keys import CACHE_FORMAT
from .names import SAMPLE_DATA, SAMPLE_IMAGE, SAMPLES, WEIGHTS_SUMMARIES, sheet_name, weights_summary_name


class TeachingStore:
    """Sample entries under <cache>/samples/ and weight summaries under <cache>/weights/."""

    def __init__(self, root: Path):
        self.root = root

    # -- kernel statistics of one set of weights ------------------------------

    def weights_summary_path(self, sha256: str) -> Path:
        return self.root / WEIGHTS_SUMMARIES / weights_summary_name(sha256)

    def save_weights_summary(self, sha256: str, summary: dict[str, Any]) -> None:
        write_atomic(self.weights_summary_path(sha256), dumps(summary))

    def load_weights_summary(self, sha256: str) -> dict[str, Any] | None:
        """The summary, or None if missing or unreadable (it is then computed again)."""
        return read_json(self.weights_summary_path(sha256))

    # -- sample images: the image, one feature-map sheet per layer, their data --

    def sample_dir(self, key: str) -> Path:
        return self.root / SAMPLES / key

    def save_sample(self, key: str, pixels: np.ndarray, sheets: dict[str, np.ndarray], data: dict[str, Any]) -> None:
        """Write a sample entry whole or not at all (see `new_folder`)."""
        with new_folder(self.sample_dir(key)) as temp:
            (temp / SAMPLE_IMAGE).write_bytes(encode_png(pixels))
            for layer, sheet in sheets.items():
                (temp / sheet_name(layer)).write_bytes(encode_png(sheet))
            (temp / SAMPLE_DATA).write_bytes(dumps({"cache_format": CACHE_FORMAT, **data}))

    def load_sample(self, key: str, layers: tuple[str, ...]) -> dict[str, Any] | None:
        """A sample's data if its entry is whole, of this format and covers `layers`, else None (recomputed).

        The sample key does not hash the cache format, so the format is checked here.
        """
        folder = self.sample_dir(key)
        data = read_json(folder / SAMPLE_DATA)
        if not data or data.get("cache_format") != CACHE_FORMAT or not (folder / SAMPLE_IMAGE).is_file():
            return None
        covered = data.get("layers", {})
        if any(layer not in covered or not (folder / sheet_name(layer)).is_file() for layer in layers):
            return None
        return data

    def remove_leftovers(self) -> None:
        """Sample entries that killed builds left half written."""
        remove_temporary(SAMPLES, self.root)
