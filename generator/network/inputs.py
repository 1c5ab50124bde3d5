"""The network's input: VGG16's caffe preprocessing (RGB -> BGR, ImageNet mean removed)."""

from __future__ import annotations

from typing import Callable

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def preprocess_fn(kind: str) -> Callable:
    """The model input for pixel values: 'none' (the original write-up's) or Keras' caffe preprocessing."""
    import tensorflow as tf

    if kind == "none":
        return lambda x: x
    mean = tf.constant(CAFFE_MEAN_BGR, dtype=tf.float32)
    return lambda x: x[..., ::-1] - mean
