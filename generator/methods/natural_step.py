"""The natural method's compiled functions: one optimization step, the rendering, revive's check.

Objective (Olah et al.): the target map's mean *before* the ReLU, so filters that are
closed on a grey image still get a gradient; for revived filters the mean of the map's
strongest positions ("fire somewhere" instead of "fire everywhere").

A step is almost all network (docs/PERFORMANCE.md): `target_model` computes only the target
channels of the last conv and gives the convs below a cheaper backward pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from . import transforms as tr
from .adam import adam_update
from .spectral import caffe_from_bgr, frequency_scale, spectrum_shape, spectrum_to_linear, to_rgb

if TYPE_CHECKING:
    from .natural import NaturalSettings


def objective_model(vgg, layer: str, objective: str) -> Callable:
    """A callable image -> all of the target layer's maps, pre-ReLU (default) or post-ReLU."""
    import keras
    import tensorflow as tf

    conv = vgg.get_layer(layer)
    if objective == "post_relu":
        return keras.Model(vgg.inputs, conv.output)
    below = _below(vgg, layer)

    def pre_relu(x, training=False):
        features = below(x, training=training)
        kernel, bias = (tf.cast(w, features.dtype) for w in (conv.kernel, conv.bias))  # bfloat16 under `mixed`
        return tf.nn.conv2d(features, kernel, strides=1, padding="SAME") + bias

    return pre_relu


def target_model(vgg, layer: str, objective: str) -> Callable:
    """A callable (images, targets) -> (B, H, W) float32: each image's own map of `layer`.

    The layer's convolution computes only the channels the batch asks for (the distinct
    targets), not all of its maps: the others would be computed only to be thrown away. The
    layers below run from their weights (`_rebuilt_below`), with a cheaper backward pass.
    """
    import tensorflow as tf

    conv, below = vgg.get_layer(layer), _rebuilt_below(vgg, layer)

    def own_maps(x, targets):
        features = below(x)
        wanted, column = tf.unique(targets)  # several images of one filter share its channel
        kernel, bias = (tf.gather(tf.cast(w, features.dtype), wanted, axis=-1) for w in (conv.kernel, conv.bias))
        maps = tf.nn.conv2d(features, kernel, strides=1, padding="SAME") + bias
        if objective == "post_relu":
            maps = tf.nn.relu(maps)
        return tf.cast(tf.gather(maps, column, axis=3, batch_dims=1), tf.float32)

    return own_maps


def _below(vgg, layer: str) -> Callable:
    """The Keras network from the image to the input of `layer` (identity for the first layer)."""
    import keras

    conv = vgg.get_layer(layer)
    return keras.Model(vgg.inputs, conv.input) if layer != "block1_conv1" else (lambda x, training=False: x)


def _rebuilt_below(vgg, layer: str) -> Callable:
    """The same network as `_below`, run from its layers' weights (conv + bias + ReLU, max-pooling).

    The forward pass is the Keras model's, op for op. In the backward pass each conv but the first
    takes its gradient with respect to its input as a *forward* convolution with the kernel flipped
    and its channels swapped (the same sum): oneDNN computes it so anyway (bit for bit), and
    TensorFlow's own kernels, which CPUs without AVX512-VNNI/BF16 or AMX get, run it 20-40 % faster
    so than as a backward convolution (docs/PERFORMANCE.md). The first conv's gradient has only 3
    channels, which the backward convolution does faster.
    """
    import keras
    import tensorflow as tf

    layers = vgg.layers[1:vgg.layers.index(vgg.get_layer(layer))]
    convs = [lay for lay in layers if isinstance(lay, keras.layers.Conv2D)]
    assert all(lay.activation.__name__ == "relu" for lay in convs), "VGG16's convs all end in a ReLU"
    flipped = {lay.name: tf.constant(np.transpose(lay.get_weights()[0][::-1, ::-1], (0, 1, 3, 2)))
               for lay in convs[1:] if _flippable(lay)}

    def below(x, training=False):
        x = tf.cast(x, layers[0].compute_dtype) if layers else x
        for lay in layers:
            if not isinstance(lay, keras.layers.Conv2D):
                x = tf.nn.max_pool2d(x, lay.pool_size, lay.strides, lay.padding.upper())
                continue
            kernel, bias = (tf.cast(w, x.dtype) for w in (lay.kernel, lay.bias))
            if lay.name in flipped:
                x = _conv_relu(x, kernel, bias, tf.cast(flipped[lay.name], x.dtype))
            else:
                x = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + bias)
        return x

    return below


def _flippable(conv) -> bool:
    """VGG16's convs all are: odd square kernel, stride 1, `same` padding, ReLU."""
    return (conv.strides == (1, 1) and conv.padding == "same" and conv.dilation_rate == (1, 1)
            and all(k % 2 for k in conv.kernel_size))


def _conv_relu(x, kernel, bias, flipped):
    """relu(conv(x) + bias), whose gradient is the flipped kernel's forward convolution (_rebuilt_below)."""
    import tensorflow as tf

    @tf.custom_gradient
    def forward(x):
        y = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + bias)

        def backward(dy):
            return tf.nn.conv2d(tf.raw_ops.ReluGrad(gradients=dy, features=y), flipped, strides=1, padding="SAME")

        return y, backward

    return forward(x)


class NaturalStep:
    """`step`, `render` and `closed`, each traced once for a layer's settings (free batch dimension)."""

    def __init__(self, model: Callable, settings: "NaturalSettings"):
        """`model`: (images, targets) -> each image's own map (`target_model`)."""
        import tensorflow as tf

        self.model, self.settings = model, settings
        # under caffe the image is flipped to BGR as rendered (a reverse at the image's size, before the
        # transform pads it), not as the network's input: the same values, a cheaper flip and gradient
        self.bgr = settings.preprocess == "caffe"
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
        self.render = tf.function(self._rgb, input_signature=[spectrum])
        self.closed = tf.function(self._closed, input_signature=[spectrum, batch])

    def _model_input(self, unit):
        """The rendered image in [0, 1] (BGR under caffe: see `bgr`) -> the network's input."""
        return caffe_from_bgr(unit) if self.bgr else unit * 255.0

    def _target_maps(self, unit, targets):
        """(B, H*W): each image's own target map, flattened."""
        import tensorflow as tf

        own = self.model(self._model_input(unit), targets)
        return tf.reshape(own, [-1, own.shape[1] * own.shape[2]])  # static: the canvas size is fixed

    def _seen(self, spectrum, params):
        """What the network sees this step: the image, in its channel order, through this step's transform."""
        unit = self._render(spectrum, self.bgr)
        return tr.apply(unit, params, self.out_size) if self.settings.transforms is not None else unit

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
            loss = self._objective(self._target_maps(self._seen(spectrum, params), targets), revived)
            total = tf.reduce_sum(loss)
        grad = -tape.gradient(total, spectrum)
        spectrum, m, v = self._update(spectrum, m, v, grad, t)
        return spectrum, m, v, loss, tf.reduce_max(tf.abs(grad), axis=[1, 2, 3, 4])

    def _update(self, spectrum, m, v, grad, t):
        return adam_update(spectrum, m, v, grad, self.lr, t)

    def _render(self, spectrum, bgr: bool = False):
        import tensorflow as tf

        rgb = to_rgb(spectrum_to_linear(spectrum, self.scale, self.size), self.settings.decorrelate)
        return tf.reverse(rgb, axis=[-1]) if bgr else rgb

    def _rgb(self, spectrum):
        return self._render(spectrum)

    def _closed(self, spectrum, targets):
        """Whether each image, as it would be saved (8-bit), leaves its map closed (see ReviveSpec.when)."""
        import tensorflow as tf

        saved = tf.round(tf.clip_by_value(self._render(spectrum, self.bgr), 0.0, 1.0) * 255.0) / 255.0
        flat = self._target_maps(saved, targets)
        revive = self.settings.revive
        if revive is not None and revive.when == "closed_on_average":
            return tf.reduce_mean(flat, axis=1) <= 0.0
        return tf.reduce_max(flat, axis=1) <= 0.0
