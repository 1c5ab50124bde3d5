"""Material for the lessons: the conv weights themselves, and the feature maps a real image produces.

The original author's two companion pieces showed VGG16's filter weights and the feature maps
of one input image; these functions compute the same views as plain data and pixels, so the
site can put them beside the maximizing images. Compute only: the store writes, the site reads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image

from ..architecture import CONV_LAYER_NAMES

SAMPLE_SIZE = 224
MAP_CELL = 56  # pixels per feature map in a sample's 8x8 sheet
SHOWN_MAPS = 64


def summarize_weights(vgg) -> dict:
    """Per-layer, per-output-channel statistics of the kernels, and block1_conv1's 64 kernels."""
    layers = {}
    for name in CONV_LAYER_NAMES:
        kernel, bias = vgg.get_layer(name).get_weights()  # (3, 3, in, out)
        flat = kernel.reshape(-1, kernel.shape[-1]).astype(np.float64)
        layers[name] = {
            "in_channels": int(kernel.shape[2]),
            "channels": int(kernel.shape[3]),
            "norm": [round(float(v), 5) for v in np.linalg.norm(flat, axis=0)],
            "mean": [round(float(v), 6) for v in flat.mean(axis=0)],
            "std": [round(float(v), 6) for v in flat.std(axis=0)],
            "bias": [round(float(v), 5) for v in bias],
        }
    first = vgg.get_layer("block1_conv1").get_weights()[0]  # (3, 3, 3, 64)
    return {"layers": layers, "block1_conv1": np.transpose(first, (3, 0, 1, 2)).round(6).tolist()}


def kernel_patch(kernel: np.ndarray, scale: int = 16) -> np.ndarray:
    """One 3x3x3 kernel as an RGB patch, min-max scaled to 0..255 and enlarged (nearest neighbour).

    VGG16's first layer reads BGR input (caffe order), so the channels are reversed to show RGB.
    """
    rgb = np.asarray(kernel, dtype=np.float64)[..., ::-1]
    low, high = rgb.min(), rgb.max()
    scaled = (rgb - low) / (high - low) if high > low else np.full_like(rgb, 0.5)
    pixels = (scaled * 255).round().astype(np.uint8)
    return pixels.repeat(scale, axis=0).repeat(scale, axis=1)


def sample_key(path: Path, weights_sha256: str) -> str:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return f"{digest[:16]}-{weights_sha256[:16]}"


def load_sample(path: Path) -> np.ndarray:
    """An input image as 224x224 RGB uint8 (centre-cropped to a square, then resized)."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        side = min(image.size)
        left, top = (image.width - side) // 2, (image.height - side) // 2
        image = image.crop((left, top, left + side, top + side)).resize((SAMPLE_SIZE, SAMPLE_SIZE),
                                                                        Image.Resampling.LANCZOS)
        return np.asarray(image)


def sample_feature_maps(vgg, pixels: np.ndarray, layers: list[str]) -> dict[str, np.ndarray]:
    """The feature maps of one image at each layer (caffe preprocessing, as the network expects)."""
    import keras
    import tensorflow as tf

    from ..network.inputs import preprocess_fn

    model = keras.Model(vgg.inputs, [vgg.get_layer(name).output for name in layers])
    outputs = model(preprocess_fn("caffe")(tf.constant(pixels[None], tf.float32)), training=False)
    if len(layers) == 1:
        outputs = [outputs]
    return {name: out.numpy()[0] for name, out in zip(layers, outputs)}


def map_sheet(maps: np.ndarray, count: int = SHOWN_MAPS, cell: int = MAP_CELL, gap: int = 2) -> np.ndarray:
    """The first `count` maps of a layer as an 8-column greyscale sheet, each scaled to its own max."""
    count = min(count, maps.shape[-1])
    rows = (count + 7) // 8
    sheet = np.full((rows * (cell + gap) - gap, 8 * (cell + gap) - gap), 255, dtype=np.uint8)
    for k in range(count):
        single = maps[..., k].astype(np.float64)
        peak = single.max()
        scaled = (single / peak * 255).clip(0, 255).astype(np.uint8) if peak > 0 else np.zeros_like(single, np.uint8)
        tile = np.asarray(Image.fromarray(scaled).resize((cell, cell), Image.Resampling.NEAREST
                                                         if single.shape[0] < cell else Image.Resampling.BOX))
        r, c = divmod(k, 8)
        sheet[r * (cell + gap): r * (cell + gap) + cell, c * (cell + gap): c * (cell + gap) + cell] = tile
    return np.repeat(sheet[..., None], 3, axis=2)


def sample_summary(maps: np.ndarray, top: int = 5) -> dict:
    """Means of the shown maps and of all maps, and the strongest maps among the shown ones."""
    means = maps.reshape(-1, maps.shape[-1]).mean(axis=0).astype(np.float64)
    shown = means[:SHOWN_MAPS]
    strongest = [int(k) for k in np.argsort(-shown, kind="stable")[:top] if shown[k] > 0]
    return {"means": [round(float(v), 5) for v in means], "strongest": strongest}


def most_similar(sample_means: list[float], filters: list[dict], top: int = 3) -> list[int]:
    """Filters whose generated image drives the layer's maps most like the sample does (cosine)."""
    a = np.asarray(sample_means, dtype=np.float64)
    scores = []
    for f in filters:
        b = np.asarray([0.0 if v is None else v for v in f["cross"]], dtype=np.float64)
        denominator = np.linalg.norm(a) * np.linalg.norm(b)
        scores.append((float(a @ b / denominator) if denominator > 0 else -1.0, f["index"]))
    return [index for score, index in sorted(scores, key=lambda item: (-item[0], item[1]))[:top] if score > 0]
