"""The further views of a filter measured like its main image: fed back as saved (8-bit), float32.

Each view image's own map mean (post-ReLU), and for a view of several images (the diverse set)
how alike their styles are: the mean pairwise cosine similarity of their Gram matrices at the
layer the diversity penalty uses (methods/natural_views.style_layer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .cross import feature_means


def style_similarity(vgg, layer: str, images: np.ndarray, preprocess: str) -> float:
    """(n, H, W, 3) uint8 images of one filter -> their mean pairwise Gram-matrix cosine similarity."""
    import keras
    import tensorflow as tf

    from ..methods.natural_views import gram_similarity, style_layer
    from ..network.inputs import preprocess_fn

    style = keras.Model(vgg.inputs, vgg.get_layer(style_layer(layer)).output)
    maps = style(preprocess_fn(preprocess)(tf.constant(images, tf.float32)), training=False)
    return float(gram_similarity(maps, len(images)).numpy()[0])


def measure_views(vgg, layer: str, views: dict[str, np.ndarray], indices: list[int], preprocess: str,
                  batch_size: int) -> list[dict[str, dict[str, Any]]]:
    """Per filter (in `indices` order), per view: its images' own-map means and, for several, their similarity."""
    from ..network.extractors import truncated

    measured: list[dict[str, dict[str, Any]]] = [{} for _ in indices]
    for view, images in views.items():
        count = images.shape[1]
        flat = images.reshape(-1, *images.shape[2:])
        means = feature_means(truncated(vgg, layer), flat, preprocess, batch_size).reshape(len(indices), count, -1)
        for row, index in enumerate(indices):
            record: dict[str, Any] = {"activation": [round(float(means[row, j, index]), 6) for j in range(count)]}
            if count > 1:
                record["similarity"] = round(style_similarity(vgg, layer, images[row], preprocess), 6)
            measured[row][view] = record
    return measured
