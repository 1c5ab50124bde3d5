"""The natural method's image: a 2-D Fourier spectrum per image, decorrelated colour, a sigmoid into RGB.

Optimizing the spectrum, scaled so that low frequencies dominate, instead of the
pixels keeps the images free of the high-frequency noise that pixel ascent
produces (Olah et al., Distill 2017; Lucid's `fft_image` and `to_valid_rgb`).
"""

from __future__ import annotations

import numpy as np

from ..network.inputs import CAFFE_MEAN_BGR

# ImageNet colour correlation, square root (Lucid's color_correlation_svd_sqrt)
COLOR_CORRELATION_SVD_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
COLOR_CORRELATION_NORMALIZED = (
    COLOR_CORRELATION_SVD_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0)))
SPECTRUM_INIT_STD = 0.01


def frequency_scale(size: int, decay_power: float) -> np.ndarray:
    """1 / max(f, 1/size)^decay_power * sqrt(size*size) for the rfft2d grid (size, size//2 + 1)."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    freqs = np.sqrt(fx * fx + fy * fy)
    scale = 1.0 / np.maximum(freqs, 1.0 / size) ** decay_power
    return (scale * np.sqrt(size * size)).astype(np.float32)


def spectrum_shape(size: int) -> tuple[int, int, int, int]:
    """Per image: 3 channels x rfft2d grid x (real, imaginary)."""
    return (3, size, size // 2 + 1, 2)


def start_spectra(rngs, size: int) -> np.ndarray:
    """(B, ...) float32 start spectra, one per random stream: normal noise of std SPECTRUM_INIT_STD."""
    return np.stack([(rng.standard_normal(spectrum_shape(size)) * SPECTRUM_INIT_STD).astype(np.float32)
                     for rng in rngs])


def spectrum_to_linear(spectrum, scale, size: int):
    """(B, 3, size, size//2+1, 2) spectrum -> (B, size, size, 3) image before colour and sigmoid."""
    import tensorflow as tf

    real, imaginary = tf.unstack(spectrum, axis=-1)  # its gradient is one stack, not two zero-padded slices
    complex_spectrum = tf.complex(real, imaginary) * tf.cast(scale, tf.complex64)
    image = tf.signal.irfft2d(complex_spectrum, fft_length=[size, size])  # (B, 3, size, size)
    image = tf.transpose(image, [0, 2, 3, 1])
    return image / 4.0


def to_rgb(linear, decorrelate: bool):
    """Decorrelated colour (optional) then sigmoid: RGB in [0, 1]; zero maps to mid-grey."""
    import tensorflow as tf

    if decorrelate:
        linear = tf.einsum("bhwc,dc->bhwd", linear, tf.constant(COLOR_CORRELATION_NORMALIZED))
    return tf.sigmoid(linear)


def caffe_from_unit(rgb):
    """RGB in [0, 1] -> VGG16's caffe input (0-255, BGR, ImageNet mean removed)."""
    import tensorflow as tf

    return rgb[..., ::-1] * 255.0 - tf.constant(CAFFE_MEAN_BGR, tf.float32)


def caffe_from_bgr(bgr):
    """BGR in [0, 1] -> VGG16's caffe input (0-255, ImageNet mean removed)."""
    import tensorflow as tf

    return bgr * 255.0 - tf.constant(CAFFE_MEAN_BGR, tf.float32)


def unit_to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(rgb, nan=0.5) * 255.0 + 0.5, 0, 255).astype(np.uint8)
