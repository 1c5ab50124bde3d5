"""Scoring every tool's saved 8-bit images in one network, and the table (runs in this project's venv).

The one network: this project's float32 VGG16 with the work folder's weights (the `hed`
weights), up to the target layer, post-ReLU, fed with caffe preprocessing. Per image:
  activation  the target map's post-ReLU mean
  rank        its rank among the layer's maps by mean (1 = largest)
  HF share    high-frequency share of the grey image (generator/analysis/cross.py)
  grey spread std of the grey image (channel mean), 0-255
  alive       activation > 0
Per tool: medians over its images, the count alive, and the speed from its result.json
with its ratio to this project's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REFERENCE = "ours"
LABELS = {"ours": "this project (natural)", "xplique": "Xplique", "tf-keras-vis": "tf-keras-vis", "lucent": "Lucent",
          "lucent-128": "Lucent, 128 px model input"}


@dataclass(frozen=True)
class ImageScore:
    activation: float
    rank: int
    hf_share: float
    grey_spread: float

    @property
    def alive(self) -> bool:
        return self.activation > 0


def grey_spread(image: np.ndarray) -> float:
    return float(image.astype(np.float64).mean(axis=2).std())


def score_images(images: np.ndarray, filters: list[int], means: np.ndarray) -> list[ImageScore]:
    """Scores of uint8 images (N, H, W, 3) whose map means (N, C) the network gave."""
    from generator.analysis.cross import cross_activation, high_frequency_share

    scores = []
    for image, target, row in zip(images, filters, means):
        cross = cross_activation(row, target)
        scores.append(ImageScore(cross.activation, cross.rank, high_frequency_share(image), grey_spread(image)))
    return scores


def summary(scores: list[ImageScore]) -> dict:
    return {"images": len(scores), "alive": sum(s.alive for s in scores),
            "activation": float(np.median([s.activation for s in scores])),
            "rank": float(np.median([s.rank for s in scores])),
            "hf_share": float(np.median([s.hf_share for s in scores])),
            "grey_spread": float(np.median([s.grey_spread for s in scores]))}


def load_images(folder: Path, filters: list[int]) -> np.ndarray:
    from PIL import Image

    return np.stack([np.asarray(Image.open(folder / f"f{index:03d}.png").convert("RGB")) for index in filters])


def extractor_from(work: Path, layer: str):
    """Our float32 VGG16 (free input size) with the work folder's weights, up to `layer` (post-ReLU)."""
    import keras

    import common
    from generator.network.extractors import truncated

    return truncated(common.keras_vgg(keras, work, None, caffe_from=None), layer)


def score_tool(extractor, folder: Path) -> dict:
    """result.json of a tool's folder, with its images' summary added."""
    from generator.analysis.cross import feature_means

    record = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    images = load_images(folder, record["filters"])
    means = feature_means(extractor, images, "caffe", batch_size=len(images))
    scores = score_images(images, record["filters"], means)
    record["scores"] = [score.__dict__ | {"alive": score.alive} for score in scores]
    record["summary"] = summary(scores)
    return record


COLUMNS = ("tool", "image-steps/s", "ratio vs this project", "filters alive", "median activation",
           "median rank", "median HF share", "median grey spread")


def table_rows(records: dict[str, dict], failures: dict[str, str]) -> list[list[str]]:
    """One row per tool, in the order given; a failed tool's row says why instead of numbers."""
    reference = records.get(REFERENCE, {}).get("image_steps_per_second")
    rows = []
    for tool, record in records.items():
        rate, s = record["image_steps_per_second"], record["summary"]
        ratio = f"{rate / reference:.2f}×" if reference else "–"
        rows.append([LABELS.get(tool, tool), f"{rate:.2f}", ratio, f"{s['alive']}/{s['images']}",
                     f"{s['activation']:.3g}", f"{s['rank']:g}", f"{s['hf_share']:.3f}", f"{s['grey_spread']:.1f}"])
    for tool, reason in failures.items():
        rows.append([LABELS.get(tool, tool), reason] + [""] * (len(COLUMNS) - 2))
    return rows


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * (len(COLUMNS) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
