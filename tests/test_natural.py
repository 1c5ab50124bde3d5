"""The natural method: parameterization, colour, transforms, objective, batching."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from generator.methods import transforms as tr
from generator.analysis.cross import high_frequency_share
from generator.network.inputs import CAFFE_MEAN_BGR
from generator.methods.natural import NaturalSettings, ReviveSpec, natural_ascent
from generator.methods.natural_step import objective_model
from generator.methods.spectral import (
    COLOR_CORRELATION_NORMALIZED,
    spectrum_shape,
    spectrum_to_linear,
    to_rgb,
    frequency_scale,
)

from conftest import with_bias


def natural(**overrides) -> NaturalSettings:
    base = dict(lr=0.05, steps=6, image_size=32, decay_power=1.0, decorrelate=True,
                transforms=tr.TransformSpec(), snapshots=(2, 6), seed=3, objective="pre_relu",
                preprocess="caffe", filters=(0, 1, 2, 3), batch_size=None)
    base.update(overrides)
    return NaturalSettings(**base)


def test_zero_spectrum_gives_mid_grey():
    import tensorflow as tf

    spectrum = tf.zeros([2, *spectrum_shape(16)])
    rgb = to_rgb(spectrum_to_linear(spectrum, frequency_scale(16, 1.0), 16), decorrelate=True).numpy()
    assert rgb.shape == (2, 16, 16, 3)
    np.testing.assert_allclose(rgb, 0.5)


def test_colour_transform_is_the_documented_matrix():
    import tensorflow as tf

    matrix = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
    expected = matrix / np.max(np.linalg.norm(matrix, axis=0))
    np.testing.assert_allclose(COLOR_CORRELATION_NORMALIZED, expected, rtol=1e-6)
    pixel = np.array([0.3, -0.2, 0.7], dtype=np.float32)
    out = to_rgb(tf.constant(pixel.reshape(1, 1, 1, 3)), decorrelate=True).numpy().ravel()
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(expected @ pixel))), rtol=1e-5)


def test_frequency_scale_favours_low_frequencies():
    scale = frequency_scale(32, 1.0)
    assert scale.shape == (32, 17)
    assert scale[0, 0] == scale.max()  # the DC term is capped at 1/size, the largest weight
    assert scale[0, 1] > scale[0, 16]


def test_transforms_keep_shape_and_are_seeded():
    import tensorflow as tf

    spec = tr.TransformSpec()
    a = [tr.draw(np.random.default_rng(5), spec, 32) for _ in range(1)]
    b = [tr.draw(np.random.default_rng(5), spec, 32) for _ in range(1)]
    np.testing.assert_array_equal(a, b)
    images = tf.random.uniform([3, 32, 32, 3])
    params = tf.constant(np.stack([tr.draw(np.random.default_rng(i), spec, 32) for i in range(3)]))
    out = tr.apply(images, params, spec.output_size(32))
    assert out.shape == (3, 32 + 12, 32 + 12, 3)
    # with no jitter, scale or rotation the image sits in the middle of its grey padding
    still = tr.TransformSpec(pad=6, jitter=0, scale=(1.0, 1.0), rotate=0, jitter_after=0)
    centred = tr.apply(images, tf.constant(np.stack([tr.draw(np.random.default_rng(0), still, 32)] * 3)),
                       still.output_size(32)).numpy()
    np.testing.assert_allclose(centred[:, 6:38, 6:38], images.numpy(), atol=1e-5)
    np.testing.assert_allclose(centred[:, :6], 0.5)


def test_objective_rises_on_a_tiny_model(tiny_extractor):
    runs = natural_ascent(tiny_extractor, "block1_conv2", natural(steps=12, lr=0.1), batch_size=4)
    for run in runs:
        assert run.history[-1] > run.history[0]
        assert sorted(run.snapshots) == [2, 6] and run.image.shape == (32, 32, 3)
        assert 0 <= run.image.min() and run.image.max() <= 1


def test_pre_relu_objective_moves_a_closed_filter(tiny_extractor):
    """A map that is 0 after the ReLU everywhere still has a pre-ReLU gradient."""
    clone = with_bias(tiny_extractor, "block1_conv2", 1, -3.0)
    pre = natural_ascent(clone, "block1_conv2", natural(filters=(1,), steps=5), 1)[0]
    post = natural_ascent(clone, "block1_conv2", natural(filters=(1,), steps=5, objective="post_relu"), 1)[0]
    assert pre.history[-1] > pre.history[0] and pre.max_abs_grad > 0
    assert post.max_abs_grad == 0.0


def test_batch_equals_single_runs(tiny_extractor):
    """No image in a batch sees another: each run is its single run, up to float rounding.

    Rounding is all that may differ: some CPU kernels (oneDNN's AVX2 ones) sum a convolution in an order
    that depends on the batch size, and Adam's first step is lr * sign(gradient) per coefficient, so a
    coefficient whose gradient is at rounding level can step either way (measured: one filter of four,
    loss within 3e-4 relative, pixels within 0.004 on average). Cross-talk would move every run by far more.
    """
    s = natural(filters=(3, 0, 5, 1))
    together = natural_ascent(tiny_extractor, "block1_conv2", s, batch_size=4)
    for run in together:
        alone = natural_ascent(tiny_extractor, "block1_conv2", dataclasses.replace(s, filters=(run.index,)), 1)[0]
        np.testing.assert_allclose(run.history, alone.history, rtol=2e-3, atol=1e-6)
        difference = np.abs(run.image - alone.image)
        assert difference.mean() < 0.02 and difference.max() < 0.1, (run.index, difference.mean(), difference.max())


def test_grid_shifts_keep_the_pooling_phase():
    """A revived filter's shift moves the image by whole strides against the network, nothing else."""
    spec = tr.TransformSpec()  # pad 12, jitter 8 + 4
    for stride in (1, 4, 8, 16):
        rng = np.random.default_rng(stride)
        offsets = set()
        for _ in range(60):
            a, b, tx, c, d, ty, _, _ = tr.draw_on_grid(rng, spec, 64, stride)
            assert (a, b, c, d) == (1.0, 0.0, 0.0, 1.0)  # no scale, no rotation
            assert tx % stride == 0 and ty % stride == 0  # output pixel 0 reads input pixel tx
            offsets.add((tx, ty))
        # still a random shift where the 12 px of jitter span more than one stride
        assert (len(offsets) > 1) == (stride <= 12)


def revive_settings(**overrides) -> NaturalSettings:
    base = dict(filters=(3, 1, 0), steps=8, snapshots=(3, 8), revive=ReviveSpec(at=3, top=0.1))
    return natural(**{**base, **overrides})


def saved_map(model, image: np.ndarray, channel: int) -> np.ndarray:
    """The pre-ReLU map that the 8-bit version of a [0, 1] image gives."""
    saved = np.round(np.clip(image, 0, 1) * 255.0) / 255.0
    caffe = saved[None, ..., ::-1] * 255.0 - np.array(CAFFE_MEAN_BGR)
    return objective_model(model, "block1_conv2", "pre_relu")(caffe.astype(np.float32)).numpy()[0, ..., channel]


@pytest.mark.parametrize("when", ["closed", "closed_on_average"])
def test_revive_switches_only_closed_filters(tiny_extractor, when):
    # map 3 is closed everywhere; with its bias raised, map 1 opens in places but stays closed on average
    clone = with_bias(tiny_extractor, "block1_conv2", 1, 0.6)
    settings = revive_settings(revive=ReviveSpec(at=3, top=0.1, when=when))
    revived = {run.index: run for run in natural_ascent(clone, "block1_conv2", settings, batch_size=3)}
    plain = {run.index: run for run in natural_ascent(clone, "block1_conv2", revive_settings(revive=None), 3)}
    maps = {k: saved_map(clone, run.snapshots[3], k) for k, run in plain.items()}
    everywhere = {k for k, z in maps.items() if z.max() <= 0}
    on_average = {k for k, z in maps.items() if z.mean() <= 0}
    assert everywhere and everywhere < on_average < set(maps)  # the case tells the two criteria apart
    closed = everywhere if when == "closed" else on_average
    for k, run in revived.items():
        assert plain[k].revived_at is None
        assert run.revived_at == (3 if k in closed else None)
        # the same first steps; a revived filter then maximizes its strongest 10 %, above the plain mean
        np.testing.assert_allclose(run.history[:3], plain[k].history[:3], rtol=1e-5)
        if k in closed:
            assert all(r > p for r, p in zip(run.history[3:], plain[k].history[3:]))
        else:
            np.testing.assert_allclose(run.history, plain[k].history, rtol=1e-5)


def test_revive_batch_equals_single_runs(tiny_extractor):
    clone = with_bias(tiny_extractor, "block1_conv2", 1, -3.0)
    s = revive_settings()
    together = natural_ascent(clone, "block1_conv2", s, batch_size=3)
    for run in together:
        alone = natural_ascent(clone, "block1_conv2", dataclasses.replace(s, filters=(run.index,)), 1)[0]
        assert alone.revived_at == run.revived_at
        np.testing.assert_allclose(run.history, alone.history, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(run.image, alone.image, atol=1e-4)


def test_high_frequency_share():
    x = np.arange(64)
    smooth = np.repeat(np.sin(2 * np.pi * x / 64)[None, :, None], 64, 0).repeat(3, 2)
    noisy = np.repeat(((x % 2) * 2 - 1.0)[None, :, None], 64, 0).repeat(3, 2)
    assert high_frequency_share(smooth) < 0.01 and high_frequency_share(noisy) > 0.99


def three_convs():
    """Three 3x3 convs and a pooling with VGG16's names, so that one conv below the target is not the first."""
    import keras

    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="block1_conv1")(inputs)
    x = keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="block1_conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="block1_pool")(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="block2_conv1")(x)
    model = keras.Model(inputs, x)
    rng = np.random.default_rng(11)
    for layer in model.layers:
        if layer.get_weights():
            kernel, bias = layer.get_weights()
            layer.set_weights([rng.normal(0, 0.3, kernel.shape).astype(np.float32),
                               rng.normal(0, 0.3, bias.shape).astype(np.float32)])
    return model


@pytest.mark.parametrize("objective", ["pre_relu", "post_relu"])
def test_target_model_is_the_layers_own_maps_and_their_gradient(objective):
    """Only the targets' channels of the last conv, the layers below from their weights: the same maps
    and the same gradient as the Keras model's maps of every channel, then each image's own."""
    import tensorflow as tf

    from generator.methods.natural_step import target_model

    model = three_convs()
    images = tf.constant(np.random.default_rng(2).normal(0, 40, (4, 18, 18, 3)), tf.float32)
    targets = tf.constant([3, 0, 3, 5])  # two images of one filter share its channel

    def mean_and_gradient(maps):
        with tf.GradientTape() as tape:
            tape.watch(images)
            own = maps(images)
            total = tf.reduce_sum(own * own)
        return own.numpy(), tape.gradient(total, images).numpy()

    every = objective_model(model, "block2_conv1", objective)
    keras_own, keras_grad = mean_and_gradient(lambda x: tf.gather(every(x), targets, axis=3, batch_dims=1))
    own, grad = mean_and_gradient(lambda x: target_model(model, "block2_conv1", objective)(x, targets))
    assert own.shape == (4, 9, 9)
    np.testing.assert_allclose(own, keras_own, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(grad, keras_grad, rtol=1e-4, atol=1e-4 * np.abs(keras_grad).max())


def test_the_network_sees_the_caffe_input_of_the_transformed_rgb_image(tiny_extractor):
    """The BGR flip before the transform gives the network exactly what flipping after it gave."""
    import tensorflow as tf

    from generator.methods.natural_step import NaturalStep, target_model
    from generator.methods.spectral import caffe_from_unit

    s = natural()
    step = NaturalStep(target_model(tiny_extractor, "block1_conv2", s.objective), s)
    spectrum = tf.constant(np.random.default_rng(4).normal(0, 0.3, (2, *spectrum_shape(32))), tf.float32)
    params = tf.constant(np.stack([tr.draw(np.random.default_rng(i), s.transforms, 32) for i in range(2)]))
    expected = caffe_from_unit(tr.apply(step._render(spectrum), params, step.out_size))
    np.testing.assert_array_equal(step._model_input(step._seen(spectrum, params)).numpy(), expected.numpy())


def test_the_same_settings_give_the_same_images(tiny_extractor):
    first = natural_ascent(tiny_extractor, "block1_conv2", revive_settings(), batch_size=3)
    again = natural_ascent(tiny_extractor, "block1_conv2", revive_settings(), batch_size=3)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a.image, b.image)
        assert a.history == b.history
