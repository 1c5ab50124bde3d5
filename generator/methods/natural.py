"""The "natural" method (Olah et al., Distill 2017; Lucid): images people can read.

What is optimized is not pixels but each image's 2-D Fourier spectrum, scaled so
that low frequencies dominate (spectral parameterization), mapped through the
ImageNet colour-correlation square root (decorrelated colour) and a sigmoid into
RGB in [0, 1]. Every step sees the image through a fresh random pad/jitter/scale/
rotate (transformation robustness), and the objective is the target map's mean
*before* the ReLU, so filters that are closed on a grey image still get a gradient.

Some maps rise evenly and stall below zero: the mean objective rewards making
the whole map less negative, not opening it anywhere; others open only a faint
trace. A filter whose map is still closed (by default: on average) at the
revive step switches to the mean of the map's strongest positions (and, by
default, to shifts on the layer's pooling grid): see ReviveSpec.

Batched like the pixel method: filters are the batch, one compiled step, Adam
per element. Each filter draws its start spectrum and its transforms from its
own generator seeded by (seed, filter index), so a batch gives exactly the
images that single runs give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..architecture import pools_before
from ..network.inputs import CAFFE_MEAN_BGR
from . import transforms as tr
from .adam import adam_update
from .base import FilterRun, MethodOutput

if TYPE_CHECKING:
    from ..config import NaturalSettings

# ImageNet colour correlation, square root (Lucid's color_correlation_svd_sqrt)
COLOR_CORRELATION_SVD_SQRT = np.array(
    [[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
COLOR_CORRELATION_NORMALIZED = (
    COLOR_CORRELATION_SVD_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SVD_SQRT, axis=0)))
SPECTRUM_INIT_STD = 0.01


@dataclass
class NaturalRun(FilterRun):
    """A FilterRun whose history is the objective, image and snapshots RGB in [0, 1]; no threshold."""

    revived_at: int | None = None  # the step after which it maximized its map's strongest positions

    @property
    def status(self) -> str:
        if not np.all(np.isfinite(self.history)) or (self.image is not None and not np.all(np.isfinite(self.image))):
            return "diverged"
        return "ok"  # whether the real map opened is decided on the saved image (analysis)


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


def spectrum_to_linear(spectrum, scale, size: int):
    """(B, 3, size, size//2+1, 2) spectrum -> (B, size, size, 3) image before colour and sigmoid."""
    import tensorflow as tf

    complex_spectrum = tf.complex(spectrum[..., 0], spectrum[..., 1]) * tf.cast(scale, tf.complex64)
    image = tf.signal.irfft2d(complex_spectrum, fft_length=[size, size])  # (B, 3, size, size)
    image = tf.transpose(image, [0, 2, 3, 1])
    return image / 4.0


def to_rgb(linear, decorrelate: bool):
    """Decorrelated colour (optional) then sigmoid: RGB in [0, 1]; zero maps to mid-grey."""
    import tensorflow as tf

    if decorrelate:
        linear = tf.einsum("bhwc,dc->bhwd", linear, tf.constant(COLOR_CORRELATION_NORMALIZED))
    return tf.sigmoid(linear)


def objective_model(vgg, layer: str, objective: str) -> Callable:
    """A callable image -> the target layer's maps, pre-ReLU (default) or post-ReLU."""
    import keras
    import tensorflow as tf

    conv = vgg.get_layer(layer)
    if objective == "post_relu":
        return keras.Model(vgg.inputs, conv.output)
    below = keras.Model(vgg.inputs, conv.input) if layer != "block1_conv1" else (lambda x, training=False: x)

    def pre_relu(x, training=False):
        features = below(x, training=training)
        kernel, bias = (tf.cast(w, features.dtype) for w in (conv.kernel, conv.bias))  # bfloat16 under `mixed`
        return tf.nn.conv2d(features, kernel, strides=1, padding="SAME") + bias

    return pre_relu


def caffe_from_unit(rgb):
    """RGB in [0, 1] -> VGG16's caffe input (0-255, BGR, ImageNet mean removed)."""
    import tensorflow as tf

    return rgb[..., ::-1] * 255.0 - tf.constant(CAFFE_MEAN_BGR, tf.float32)


def make_natural_step(model, settings: NaturalSettings):
    import tensorflow as tf

    size = settings.image_size
    scale = tf.constant(frequency_scale(size, settings.decay_power))
    spec = settings.transforms
    out_size = spec.output_size(size) if spec is not None else size
    lr = tf.constant(settings.lr, tf.float32)
    spectrum_spec = tf.TensorSpec([None, *spectrum_shape(size)], tf.float32)
    batch_spec = tf.TensorSpec([None], tf.int32)

    def model_input(rgb):
        return caffe_from_unit(rgb) if settings.preprocess == "caffe" else rgb * 255.0

    def target_maps(rgb, targets):
        """(B, H*W): each image's own target map, flattened."""
        maps = tf.cast(model(model_input(rgb), training=False), tf.float32)
        own = tf.gather(maps, targets, axis=3, batch_dims=1)
        return tf.reshape(own, [-1, own.shape[1] * own.shape[2]])  # static: the canvas size is fixed

    def objective(flat, revived):
        """The map's mean; for revived filters the mean of its strongest `top` share of positions."""
        mean = tf.reduce_mean(flat, axis=1)
        if settings.revive is None:
            return mean
        k = max(1, round(settings.revive.top * flat.shape[1]))
        strongest = tf.reduce_mean(tf.math.top_k(flat, k).values, axis=1)
        return tf.where(revived, strongest, mean)

    @tf.function(input_signature=[spectrum_spec, spectrum_spec, spectrum_spec, batch_spec,
                                  tf.TensorSpec([], tf.float32), tf.TensorSpec([None, 8], tf.float32),
                                  tf.TensorSpec([None], tf.bool)],
                 reduce_retracing=True)
    def step(spectrum, m, v, targets, t, params, revived):
        with tf.GradientTape() as tape:
            tape.watch(spectrum)
            rgb = to_rgb(spectrum_to_linear(spectrum, scale, size), settings.decorrelate)
            if spec is not None:
                rgb = tr.apply(rgb, params, out_size)
            loss = objective(target_maps(rgb, targets), revived)
            total = tf.reduce_sum(loss)
        grad = -tape.gradient(total, spectrum)
        spectrum, m, v = adam_update(spectrum, m, v, grad, lr, t)
        return spectrum, m, v, loss, tf.reduce_max(tf.abs(grad), axis=[1, 2, 3, 4])

    @tf.function(input_signature=[spectrum_spec])
    def render(spectrum):
        return to_rgb(spectrum_to_linear(spectrum, scale, size), settings.decorrelate)

    @tf.function(input_signature=[spectrum_spec, batch_spec])
    def closed(spectrum, targets):
        """Whether each image, as it would be saved (8-bit), leaves its map closed (see ReviveSpec.when)."""
        saved = tf.round(tf.clip_by_value(render(spectrum), 0.0, 1.0) * 255.0) / 255.0
        flat = target_maps(saved, targets)
        if settings.revive is not None and settings.revive.when == "closed_on_average":
            return tf.reduce_mean(flat, axis=1) <= 0.0
        return tf.reduce_max(flat, axis=1) <= 0.0

    return step, render, closed


def filter_rng(seed: int, index: int) -> np.random.Generator:
    """Each filter's own random stream: the same whatever batch it is optimized in."""
    return np.random.default_rng([seed, index])


def natural_ascent(vgg, layer: str, settings: NaturalSettings, batch_size: int,
                   on_steps: Callable[[int], None] | None = None) -> list[NaturalRun]:
    """Optimize one image per filter; all filters run `settings.steps` steps (no threshold)."""
    import tensorflow as tf

    model = objective_model(vgg, layer, settings.objective)
    step, render, closed = make_natural_step(model, settings)
    size = settings.image_size
    revive = settings.revive
    stride = 2 ** pools_before(layer)
    runs = []
    filters = list(settings.filters)
    for begin in range(0, len(filters), batch_size):
        chunk = [NaturalRun(index=i) for i in filters[begin:begin + batch_size]]
        rngs = [filter_rng(settings.seed, run.index) for run in chunk]
        spectrum = tf.constant(np.stack([
            (rng.standard_normal(spectrum_shape(size)) * SPECTRUM_INIT_STD).astype(np.float32) for rng in rngs]))
        m = tf.zeros_like(spectrum)
        v = tf.zeros_like(spectrum)
        targets = tf.constant([run.index for run in chunk], tf.int32)
        revived = np.zeros(len(chunk), bool)
        for number in range(1, settings.steps + 1):
            params = np.stack([_draw(rng, settings, size, stride, on_grid) for rng, on_grid in zip(rngs, revived)])
            spectrum, m, v, loss, max_abs_grad = step(spectrum, m, v, targets, tf.constant(float(number)),
                                                      tf.constant(params), tf.constant(revived))
            if revive is not None and number == revive.at and number < settings.steps:
                revived = closed(spectrum, targets).numpy()
                for slot, run in enumerate(chunk):
                    if revived[slot]:
                        run.revived_at = number
            loss, max_abs_grad = loss.numpy(), max_abs_grad.numpy()
            for slot, run in enumerate(chunk):
                run.history.append(float(loss[slot]))
                run.max_abs_grad = max(run.max_abs_grad, float(max_abs_grad[slot]))
            if number in settings.snapshots or number == settings.steps:
                images = render(spectrum).numpy()
                for slot, run in enumerate(chunk):
                    if number in settings.snapshots:
                        run.snapshots[number] = images[slot]
                    if number == settings.steps:
                        run.image = images[slot]
            if on_steps:
                on_steps(len(chunk))
        runs.extend(chunk)
    return runs


def _draw(rng: np.random.Generator, settings: NaturalSettings, size: int, stride: int, revived: bool) -> np.ndarray:
    """This step's transform for one image: the full random draw, or a grid shift once revived."""
    if settings.transforms is None:
        return np.array(tr.IDENTITY, np.float32)
    if revived and settings.revive is not None and settings.revive.grid_jitter:
        return tr.draw_on_grid(rng, settings.transforms, size, stride)
    return tr.draw(rng, settings.transforms, size)


def unit_to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(rgb, nan=0.5) * 255.0 + 0.5, 0, 255).astype(np.uint8)


class NaturalMethod:
    """Olah et al.'s feature visualization: spectral image, decorrelated colour, transformation robustness."""

    name = "natural"
    title = "natural (spectral, robust)"
    section = "natural"
    loss_name = "objective"
    steps_key = "steps"

    @property
    def settings_class(self) -> type:
        from ..config import NaturalSettings

        return NaturalSettings

    def run(self, vgg, layer: str, settings: "NaturalSettings", batch_size: int,
            on_steps: Callable[[int], None] | None = None) -> MethodOutput:
        runs = natural_ascent(vgg, layer, settings, batch_size, on_steps)
        images = np.stack([unit_to_uint8(run.image) for run in runs])
        snapshots = {(run.index, step): unit_to_uint8(image)
                     for run in runs for step, image in run.snapshots.items()}
        return MethodOutput(runs, images, snapshots)

    def status(self, run: FilterRun, activation: float) -> str:
        if run.status == "ok" and not activation > 0:
            return "dead"  # the objective rose, but the real (post-ReLU) map stayed closed
        return run.status


NATURAL = NaturalMethod()
