"""Dataset examples computed: one forward pass per photo gives every requested layer's maps at once.

The maps are taken before the ReLU (the bottom examples need the negative values; the top
ones are their ReLU). Photos are fed one at a time, each at its own size, with VGG16's
caffe preprocessing, and folded into each layer's streaming top-k: memory holds one
photo's maps, never the whole set's.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..architecture import CONV_LAYER_NAMES, receptive_box
from ..store.files import warn
from .photos import Photo, read
from .settings import ExamplesSettings
from .topk import StreamingTopK


def candidates_fn(vgg, layers: tuple[str, ...], counts: dict[str, int], bottom: bool) -> Callable:
    """A compiled function: caffe input (1, H, W, 3) -> per layer, each filter's `counts[layer]` highest
    pre-ReLU values and flat positions (and, with `bottom`, its lowest), and the map's width.

    top_k orders equal values by position, as topk.photo_picks does, and only these few
    values per filter leave TensorFlow, never the maps themselves."""
    import tensorflow as tf

    deepest = max(CONV_LAYER_NAMES.index(layer) for layer in layers)
    stack = [layer for layer in vgg.layers if layer.name in CONV_LAYER_NAMES[: deepest + 1] or "pool" in layer.name]

    def best(flat, count):
        found = tf.math.top_k(flat, tf.minimum(count, tf.shape(flat)[1]))
        return found.values, found.indices

    def forward(x):
        out = []
        for layer in stack:
            if layer.name not in CONV_LAYER_NAMES:
                x = layer(x)
                continue
            pre = tf.nn.conv2d(x, layer.kernel, strides=1, padding="SAME") + layer.bias
            if layer.name in layers:
                flat = tf.reshape(tf.transpose(pre[0], [2, 0, 1]), [tf.shape(pre)[3], -1])  # (C, H*W)
                out.append((*best(flat, counts[layer.name]), *(best(-flat, counts[layer.name]) if bottom else ()),
                            tf.shape(pre)[2]))
            if layer.name == CONV_LAYER_NAMES[deepest]:
                break
            x = tf.nn.relu(pre)
        return out

    return tf.function(forward, input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])


def caffe_input(pixels: np.ndarray) -> np.ndarray:
    """uint8 RGB -> VGG16's input: BGR, 0-255, ImageNet mean removed (network/inputs.py's constants)."""
    from ..network.inputs import CAFFE_MEAN_BGR

    return (pixels[..., ::-1].astype(np.float32) - np.array(CAFFE_MEAN_BGR, np.float32))[None]


def stream_photos(vgg, photos: tuple[Photo, ...], layers: tuple[str, ...], settings: ExamplesSettings,
                  on_photo: Callable[[Photo, np.ndarray], None] | None = None):
    """Every photo through the network once; each layer's (top, bottom) rankers, and the photos kept.

    `on_photo` sees each photo as fed (the store keeps it for the site's crops). A photo whose
    content cannot be decoded is skipped with a warning.
    """
    channels = {layer: vgg.get_layer(layer).filters for layer in layers}
    top = {layer: StreamingTopK(layer, channels[layer], settings.top, settings.per_photo) for layer in layers}
    bottom = {layer: StreamingTopK(layer, channels[layer], settings.top, settings.per_photo, lowest=True)
              for layer in layers} if settings.bottom else {}
    # ranked by the value before the ReLU: the same order where the map is open, and no ties
    # among the closed positions (their post-ReLU 0s are left out of the top list)
    forward = candidates_fn(vgg, layers, {layer: top[layer].candidates for layer in layers}, settings.bottom)
    used: list[Photo] = []
    for photo in photos:
        try:
            pixels = read(photo)
        except (OSError, ValueError) as error:
            warn(f"examples.images: skipped {photo.path.name}, which cannot be decoded ({error})")
            continue
        for layer, found in zip(layers, forward(caffe_input(pixels))):
            found = [tensor.numpy() for tensor in found]
            top[layer].add_candidates(found[0], found[1], int(found[-1]), len(used))
            if settings.bottom:
                bottom[layer].add_candidates(found[2], found[3], int(found[-1]), len(used))
        used.append(photo)
        if on_photo:
            on_photo(photo, pixels)
    return top, bottom, tuple(used)


def _entries(ranker: StreamingTopK | None, channel: int, layer: str, photos: tuple[Photo, ...],
             positive: bool) -> list[dict]:
    if ranker is None:
        return []
    entries = []
    for image, y, x, value in ranker.entries(channel):
        if positive and not value > 0:
            continue  # a closed position (post-ReLU 0) is not an example of what the filter likes
        photo = photos[image]
        entries.append({"image": photo.name, "x": x, "y": y, "activation": float(f"{value:.7g}"),
                        "box": list(receptive_box(layer, y, x, photo.height, photo.width))})
    return entries


def layer_examples(layer: str, top: StreamingTopK, bottom: StreamingTopK | None,
                   photos: tuple[Photo, ...]) -> list[dict]:
    """Every filter of the layer: its top (post-ReLU) and bottom (pre-ReLU) entries, strongest first."""
    return [{"index": channel, "top": _entries(top, channel, layer, photos, True),
             "bottom": _entries(bottom, channel, layer, photos, False)} for channel in range(top.channels)]


def compute_examples(vgg, photos: tuple[Photo, ...], layers: tuple[str, ...], settings: ExamplesSettings,
                     on_photo: Callable[[Photo, np.ndarray], None] | None = None) -> tuple[dict[str, list[dict]], tuple[Photo, ...]]:
    """{layer: every filter's examples} and the photos that were used, for the given layers."""
    top, bottom, used = stream_photos(vgg, photos, layers, settings, on_photo)
    return {layer: layer_examples(layer, top[layer], bottom.get(layer), used) for layer in layers}, used
