"""Transformation robustness (Lucid's standard transforms), one fresh random draw per image per step.

pad (constant 0.5) -> jitter -> scale -> rotate -> jitter, composed into one projective
transform per image, so a whole batch is transformed by a single op and each image
still gets its own draw. The canvas keeps a fixed size (scaling zooms about the
centre instead of resizing), which lets every image of a batch share one shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import checks
from ..config.schema import key

PIXELS = checks.integer_in(0, 64, "an integer from 0 to 64 pixels")


def _scale_range(where: str, value, context) -> tuple[float, float]:
    return checks.pair(where, value, lambda low, high: 0 < low <= high <= 4,
                       "[low, high] with 0 < low <= high <= 4")


@dataclass(frozen=True)
class TransformSpec:
    """The natural method's `transforms:` keys."""

    pad: int = key(12, PIXELS, "pad with grey 0.5 (px)", "0 … 64", python_default=12)
    jitter: int = key(8, PIXELS, "random shift (px)", "0 … 64", python_default=8)
    scale: tuple[float, float] = key([0.9, 1.1], _scale_range, "random zoom, drawn in steps of 0.02",
                                     "`[low, high]`", python_default=(0.9, 1.1))
    rotate: int = key(10, checks.integer_in(0, 180, "an integer from 0 to 180 degrees"),
                      "random rotation, ± degrees (0 drawn more often, as in Lucid)", "0 … 180", python_default=10)
    jitter_after: int = key(4, PIXELS, "a second random shift (px)", "0 … 64", python_default=4)

    def output_size(self, image_size: int) -> int:
        return image_size + 2 * self.pad - self.jitter - self.jitter_after


IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)


def _scales(spec: TransformSpec) -> list[float]:
    low, high = spec.scale
    count = int(round((high - low) / 0.02))
    return [round(low + 0.02 * i, 6) for i in range(count + 1)] or [1.0]


def _angles(spec: TransformSpec) -> list[int]:
    return list(range(-spec.rotate, spec.rotate + 1)) + 5 * [0]


def draw(rng: np.random.Generator, spec: TransformSpec, image_size: int) -> np.ndarray:
    """One random transform as TensorFlow's 8 projective parameters (output pixel -> input pixel)."""
    dx1, dy1 = rng.integers(0, spec.jitter + 1, size=2)
    scale = float(rng.choice(_scales(spec)))
    theta = math.radians(float(rng.choice(_angles(spec))))
    dx2, dy2 = rng.integers(0, spec.jitter_after + 1, size=2)
    return compose(image_size, spec, (dx1, dy1), scale, theta, (dx2, dy2))


def draw_on_grid(rng: np.random.Generator, spec: TransformSpec, image_size: int, stride: int) -> np.ndarray:
    """A random shift only, by which the image moves a multiple of `stride` pixels against the network.

    A layer after n poolings sees the image on a grid of 2**n pixels; shifting by
    anything else changes which pixels pool together. Shifts come from the same
    range as the full draw (both jitters), but no scale and no rotation.
    """
    shifts = [s for s in range(spec.jitter + spec.jitter_after + 1) if (spec.pad - s) % stride == 0] or [0]
    dx, dy = (int(rng.choice(shifts)) for _ in range(2))
    return compose(image_size, spec, (dx, dy), 1.0, 0.0, (0, 0))


def compose(image_size: int, spec: TransformSpec, shift1, scale: float, theta: float, shift2) -> np.ndarray:
    """The inverse map of pad -> crop(shift1) -> zoom(scale) -> rotate(theta) -> crop(shift2)."""
    canvas = image_size + 2 * spec.pad - spec.jitter  # after the first crop
    centre = (canvas - 1) / 2.0
    cos, sin = math.cos(theta), math.sin(theta)
    # undo rotation and zoom about the canvas centre: A = R(-theta) / scale
    a = np.array([[cos, sin], [-sin, cos]]) / scale
    offset = np.array(shift2, dtype=np.float64) - centre
    b = a @ offset + centre + np.array(shift1, dtype=np.float64) - spec.pad
    return np.array([a[0, 0], a[0, 1], b[0], a[1, 0], a[1, 1], b[1], 0.0, 0.0], dtype=np.float32)


def apply(images, params, output_size: int):
    """Transform a batch (B, H, W, 3) with per-image parameters (B, 8); outside pixels are 0.5 grey."""
    import tensorflow as tf

    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=params,
        output_shape=tf.constant([output_size, output_size], tf.int32),
        fill_value=tf.constant(0.5, tf.float32),
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
