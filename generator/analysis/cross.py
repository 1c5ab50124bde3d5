"""Cross-activation: feed each saved image back and compare all of the layer's maps.

The original write-up's section 8: maximizing one feature map does not suppress the others;
often several maps end up larger than the target. For every image we keep the
mean of each of the C maps, the target's value, its rank among the C, and the
maps that reach at least the target's value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..network.inputs import preprocess_fn


@dataclass(frozen=True)
class CrossActivation:
    activation: float  # the target map's mean on the saved image
    rank: int  # 1 = the target map is the largest of the C
    reaching: tuple[int, ...]  # other maps whose mean >= the target's, strongest first
    means: tuple[float, ...]  # all C map means


def feature_means(extractor, images: np.ndarray, preprocess: str, batch_size: int) -> np.ndarray:
    """Mean of every feature map for each uint8 image: shape (N, C), float64."""
    import tensorflow as tf

    prep = preprocess_fn(preprocess)
    rows = []
    for begin in range(0, len(images), batch_size):
        batch = tf.constant(images[begin : begin + batch_size], dtype=tf.float32)
        means = tf.reduce_mean(extractor(prep(batch), training=False), axis=[1, 2])  # one pass: eager is fine
        rows.append(means.numpy().astype(np.float64))
    return np.concatenate(rows, axis=0)


def cross_activation(means: np.ndarray, target: int) -> CrossActivation:
    """Rank and rivals of the target map among one image's C map means."""
    value = float(means[target])
    stronger = int(np.sum(means > value))
    order = np.argsort(-means, kind="stable")
    reaching = tuple(int(k) for k in order if k != target and means[k] >= value)
    return CrossActivation(
        activation=value,
        rank=stronger + 1,
        reaching=reaching,
        means=tuple(float(x) for x in means),
    )


def high_frequency_share(image: np.ndarray) -> float:
    """Share of the spectral energy (mean removed, grey) above half the Nyquist frequency."""
    grey = image.astype(np.float64).mean(axis=2)
    grey -= grey.mean()
    power = np.abs(np.fft.fft2(grey)) ** 2
    fy = np.fft.fftfreq(grey.shape[0])[:, None]
    fx = np.fft.fftfreq(grey.shape[1])[None, :]
    radius = np.sqrt(fx * fx + fy * fy)  # cycles per pixel; Nyquist = 0.5
    total = power.sum()
    return float(power[radius > 0.25].sum() / total) if total > 0 else 0.0
