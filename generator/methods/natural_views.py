"""More views of a filter with the natural method: the negative image and a set of diverse images.

The same spectral image, colour and transformation robustness as the main image (natural.py),
with another objective:
- negative: the map's pre-ReLU mean, minimized (what the filter suppresses most);
- diverse: N images of one filter optimized together, each maximizing the map's pre-ReLU mean,
  minus `diversity_weight` times the mean pairwise cosine similarity of their Gram matrices at a
  lower layer (Lucid's diversity objective: the images are pushed apart in "style").
Each image draws its start spectrum and transforms from its own stream, seeded by
(seed, filter, view, image), so views never change the main image and batching changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from ..architecture import CONV_LAYER_NAMES, block_of
from . import transforms as tr
from .adam import adam_update
from .spectral import caffe_from_unit, frequency_scale, spectrum_shape, spectrum_to_linear, start_spectra, to_rgb

if TYPE_CHECKING:
    from .natural import NaturalSettings

VIEW_IDS = {"negative": 1, "diverse": 2}  # the third number of each view image's random stream


def style_layer(layer: str, choice: str = "auto") -> str:
    """The layer whose Gram matrices the diversity penalty compares: `auto` = the last conv before
    the target's block (block1: block1_conv1), where textures and colours, not objects, live."""
    if choice != "auto":
        return choice
    block = block_of(layer)
    if block == 1:
        return "block1_conv1"
    return [name for name in CONV_LAYER_NAMES if block_of(name) == block - 1][-1]


def view_model(vgg, layer: str, style: str | None) -> Callable:
    """caffe input -> (style layer's post-ReLU maps or None, target layer's pre-ReLU maps)."""
    import keras
    import tensorflow as tf

    conv = vgg.get_layer(layer)
    outputs = [conv.input] + ([vgg.get_layer(style).output] if style else [])
    below = keras.Model(vgg.inputs, outputs)

    def maps(x):
        found = below(x, training=False)
        found = found if isinstance(found, (list, tuple)) else [found]
        kernel, bias = (tf.cast(w, found[0].dtype) for w in (conv.kernel, conv.bias))
        target = tf.cast(tf.nn.conv2d(found[0], kernel, strides=1, padding="SAME") + bias, tf.float32)
        return (tf.cast(found[1], tf.float32) if style else None), target

    return maps


def gram_similarity(style_maps, group: int):
    """(B, h, w, c) maps of B = G x group images -> (G,) mean pairwise cosine similarity of their Gram matrices."""
    import tensorflow as tf

    channels = style_maps.shape[-1]
    flat = tf.reshape(style_maps, [tf.shape(style_maps)[0], -1, channels])
    gram = tf.reshape(tf.matmul(flat, flat, transpose_a=True), [-1, group, channels * channels])
    gram = tf.math.l2_normalize(gram, axis=2)
    cosine = tf.matmul(gram, gram, transpose_b=True)  # (G, group, group), 1 on the diagonal
    return (tf.reduce_sum(cosine, axis=[1, 2]) - group) / (group * (group - 1))


class ViewStep:
    """One compiled step for a batch of view images: `sign` (+1 maximize, -1 minimize) and `group`
    images per filter (1: no diversity penalty)."""

    def __init__(self, vgg, layer: str, settings: "NaturalSettings", sign: float, group: int):
        import tensorflow as tf

        self.settings, self.sign, self.group = settings, sign, group
        style = style_layer(layer, settings.diversity_layer) if group > 1 else None
        self.model = view_model(vgg, layer, style)
        self.size = settings.image_size
        self.scale = tf.constant(frequency_scale(self.size, settings.decay_power))
        spec = settings.transforms
        self.out_size = spec.output_size(self.size) if spec is not None else self.size
        spectrum = tf.TensorSpec([None, *spectrum_shape(self.size)], tf.float32)
        self.step = tf.function(self._step, input_signature=[
            spectrum, spectrum, spectrum, tf.TensorSpec([None], tf.int32), tf.TensorSpec([], tf.float32),
            tf.TensorSpec([None, 8], tf.float32)])
        self.render = tf.function(self._render, input_signature=[spectrum])

    def _render(self, spectrum):
        return to_rgb(spectrum_to_linear(spectrum, self.scale, self.size), self.settings.decorrelate)

    def _step(self, spectrum, m, v, targets, t, params):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(spectrum)
            rgb = self._render(spectrum)
            if self.settings.transforms is not None:
                rgb = tr.apply(rgb, params, self.out_size)
            style, maps = self.model(caffe_from_unit(rgb))
            own = tf.reduce_mean(tf.gather(maps, targets, axis=3, batch_dims=1), axis=[1, 2])
            total = self.sign * tf.reduce_sum(own)
            if self.group > 1:
                total -= self.settings.diversity_weight * tf.reduce_sum(gram_similarity(style, self.group))
        grad = -tape.gradient(total, spectrum)
        return (*adam_update(spectrum, m, v, grad, tf.constant(self.settings.lr), t), own)


def render_views(vgg, layer: str, settings: "NaturalSettings", view: str, count: int, batch_size: int,
                 on_steps: Callable[[int], None] | None = None) -> np.ndarray:
    """(filters, count, H, W, 3) RGB in [0, 1]: `count` images per filter of the `view` ("negative", "diverse")."""
    compiled = ViewStep(vgg, layer, settings, -1.0 if view == "negative" else 1.0, count)
    filters = list(settings.filters)
    per_batch = max(1, batch_size // count)  # whole groups only: the penalty compares a filter's images
    out = []
    for begin in range(0, len(filters), per_batch):
        chunk = filters[begin:begin + per_batch]
        images = _optimize(compiled, chunk, settings, VIEW_IDS[view], count, on_steps)
        out.append(images.reshape(len(chunk), count, *images.shape[1:]))
    return np.concatenate(out)


def _optimize(compiled: ViewStep, chunk: list[int], settings: "NaturalSettings", view_id: int, count: int,
              on_steps: Callable[[int], None] | None) -> np.ndarray:
    import tensorflow as tf

    rngs = [np.random.default_rng([settings.seed, index, view_id, j]) for index in chunk for j in range(count)]
    spectrum = tf.constant(start_spectra(rngs, settings.image_size))
    m = v = tf.zeros_like(spectrum)
    targets = tf.constant(np.repeat(chunk, count), tf.int32)
    for number in range(1, settings.steps + 1):
        params = np.stack([tr.draw(rng, settings.transforms, settings.image_size) if settings.transforms is not None
                           else np.array(tr.IDENTITY, np.float32) for rng in rngs])
        spectrum, m, v, _ = compiled.step(spectrum, m, v, targets, tf.constant(float(number)), tf.constant(params))
        if on_steps:
            on_steps(len(rngs))
    return compiled.render(spectrum).numpy()
