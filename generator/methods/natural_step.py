"""The natural method's compiled functions: one optimization step, the rendering, revive's check.

Objective (Olah et al.): the target map's mean *before* the ReLU, so filters that are
closed on a grey image still get a gradient; for revived filters the mean of the map's
strongest positions ("fire somewhere" instead of "fire everywhere").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from . import transforms as tr
from .adam import adam_update
from .spectral import caffe_from_unit, frequency_scale, spectrum_shape, spectrum_to_linear, to_rgb

if TYPE_CHECKING:
    from .natural import NaturalSettings


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


class NaturalStep:
    """`step`, `render` and `closed`, each traced once for a layer's settings (free batch dimension)."""

    def __init__(self, model: Callable, settings: "NaturalSettings"):
        import tensorflow as tf

        self.model, self.settings = model, settings
        self.size = settings.image_size
        self.scale = tf.constant(frequency_scale(self.size, settings.decay_power))
        spec = settings.transforms
        self.out_size = spec.output_size(self.size) if spec is not None else self.size
        self.lr = tf.constant(settings.lr, tf.float32)
        spectrum = tf.TensorSpec([None, *spectrum_shape(self.size)], tf.float32)
        batch = tf.TensorSpec([None], tf.int32)
        self.step = tf.function(self._step, reduce_retracing=True, input_signature=[
            spectrum, spectrum, spectrum, batch, tf.TensorSpec([], tf.float32),
            tf.TensorSpec([None, 8], tf.float32), tf.TensorSpec([None], tf.bool)])
        self.render = tf.function(self._render, input_signature=[spectrum])
        self.closed = tf.function(self._closed, input_signature=[spectrum, batch])

    def _model_input(self, rgb):
        return caffe_from_unit(rgb) if self.settings.preprocess == "caffe" else rgb * 255.0

    def _target_maps(self, rgb, targets):
        """(B, H*W): each image's own target map, flattened."""
        import tensorflow as tf

        maps = tf.cast(self.model(self._model_input(rgb), training=False), tf.float32)
        own = tf.gather(maps, targets, axis=3, batch_dims=1)
        return tf.reshape(own, [-1, own.shape[1] * own.shape[2]])  # static: the canvas size is fixed

    def _objective(self, flat, revived):
        """The map's mean; for revived filters the mean of its strongest `top` share of positions."""
        import tensorflow as tf

        mean = tf.reduce_mean(flat, axis=1)
        revive = self.settings.revive
        if revive is None:
            return mean
        k = max(1, round(revive.top * flat.shape[1]))
        strongest = tf.reduce_mean(tf.math.top_k(flat, k).values, axis=1)
        return tf.where(revived, strongest, mean)

    def _step(self, spectrum, m, v, targets, t, params, revived):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(spectrum)
            rgb = self._render(spectrum)
            if self.settings.transforms is not None:
                rgb = tr.apply(rgb, params, self.out_size)
            loss = self._objective(self._target_maps(rgb, targets), revived)
            total = tf.reduce_sum(loss)
        grad = -tape.gradient(total, spectrum)
        spectrum, m, v = adam_update(spectrum, m, v, grad, self.lr, t)
        return spectrum, m, v, loss, tf.reduce_max(tf.abs(grad), axis=[1, 2, 3, 4])

    def _render(self, spectrum):
        return to_rgb(spectrum_to_linear(spectrum, self.scale, self.size), self.settings.decorrelate)

    def _closed(self, spectrum, targets):
        """Whether each image, as it would be saved (8-bit), leaves its map closed (see ReviveSpec.when)."""
        import tensorflow as tf

        saved = tf.round(tf.clip_by_value(self._render(spectrum), 0.0, 1.0) * 255.0) / 255.0
        flat = self._target_maps(saved, targets)
        revive = self.settings.revive
        if revive is not None and revive.when == "closed_on_average":
            return tf.reduce_mean(flat, axis=1) <= 0.0
        return tf.reduce_max(flat, axis=1) <= 0.0
