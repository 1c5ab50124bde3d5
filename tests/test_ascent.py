"""The batched pixel method against the original write-up's one-filter-at-a-time loop."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from generator.methods.base import FilterRun
from generator.methods.pixel import pixel_ascent, start_image, to_uint8
from generator.methods.pixel import PixelSettings

from conftest import with_bias


def settings(**overrides) -> PixelSettings:
    base = dict(lr=2.5, iterations=6, threshold=None, filters=(0, 1, 2),
                image_size=32, seed=42, init=(128.0, 148.0), preprocess="none", batch_size=None)
    base.update(overrides)
    return PixelSettings(**base)


def seed_loop(extractor, s: PixelSettings):
    """The original notebook's loop, as written: eager, one filter at a time, Keras' Adam."""
    import tensorflow as tf
    import keras

    from generator.network.inputs import preprocess_fn

    prep = preprocess_fn(s.preprocess)
    out = []
    for k in s.filters:
        np.random.seed(s.seed)
        low, high = s.init
        x = tf.Variable(np.random.random((1, s.image_size, s.image_size, 3)) * (high - low) + low,
                        dtype=tf.float32)
        optimizer = keras.optimizers.Adam(learning_rate=s.lr)
        losses = []
        for _ in range(s.iterations):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_mean(extractor(prep(x))[:, :, :, k])
            grad = tape.gradient(loss, x)
            optimizer.apply_gradients([(-grad, x)])
            losses.append(float(loss.numpy()))
            if s.threshold is not None and loss >= s.threshold:
                break
        out.append((losses, x.numpy()[0]))
    return out


def test_start_image_is_the_seeds():
    np.random.seed(42)
    expected = (np.random.random((1, 40, 40, 3)) * 20 + 128).astype(np.float32)
    assert np.array_equal(start_image(40, 42, (128.0, 148.0)), expected)


def test_objective_rises_on_a_tiny_model(tiny_extractor):
    from generator.network.extractors import truncated

    runs = pixel_ascent(truncated(tiny_extractor, "block1_conv2"), settings(filters=(0, 1, 2, 3, 4, 5)), 4)
    alive = [run for run in runs if run.status == "ok"]
    assert alive, "every filter of the tiny model was dead"
    for run in alive:
        assert run.history[-1] > run.history[0]
        assert run.steps == 6


def test_batch_size_does_not_change_results(tiny_extractor):
    from generator.network.extractors import truncated

    extractor = truncated(tiny_extractor, "block1_conv2")
    s = settings(filters=(5, 0, 3, 1), threshold=None)
    one = pixel_ascent(extractor, s, 1)
    many = pixel_ascent(extractor, s, 3)
    for a, b in zip(one, many):
        assert a.index == b.index
        np.testing.assert_allclose(a.history, b.history, rtol=1e-5)
        np.testing.assert_allclose(a.image, b.image, rtol=1e-5, atol=1e-3)


@pytest.mark.slow
@pytest.mark.parametrize("layer,preprocess", [("block2_conv1", "none"), ("block3_conv2", "caffe")])
def test_batched_equals_the_seed_loop_on_vgg16(random_vgg, layer, preprocess):
    from generator.network.extractors import truncated

    vgg, _ = random_vgg
    extractor = truncated(vgg, layer)
    free = settings(filters=(0, 3, 5, 7, 9), iterations=5, lr=4.0, preprocess=preprocess)
    reference = seed_loop(extractor, free)
    # A threshold between the filters' final losses: some stop early, some run to the end.
    finals = sorted(losses[-1] for losses, _ in reference)
    threshold = (finals[1] + finals[2]) / 2
    capped = dataclasses.replace(free, threshold=threshold)
    for s in (free, capped):
        expected = seed_loop(extractor, s) if s is capped else reference
        runs = pixel_ascent(extractor, s, batch_size=2)  # < filters: exercises the refill queue
        for run, (losses, image) in zip(runs, expected):
            assert run.steps == len(losses)
            np.testing.assert_allclose(run.history, losses, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(run.image, image, rtol=1e-4, atol=1e-2)
            assert np.abs(to_uint8(run.image).astype(int) - to_uint8(image).astype(int)).max() <= 1
        if s is capped:
            stopped = [run for run in runs if run.reached_threshold]
            assert 0 < len(stopped) < len(runs)
            assert all(run.steps < s.iterations for run in stopped)


def test_status_of_runs():
    ok = FilterRun(index=0, history=[0.0, 1.0], max_abs_grad=0.5, image=np.zeros((2, 2, 3)))
    dead = FilterRun(index=1, history=[0.0, 0.0], max_abs_grad=0.0, image=np.zeros((2, 2, 3)))
    nan = FilterRun(index=2, history=[1.0, float("nan")], max_abs_grad=1.0, image=np.zeros((2, 2, 3)))
    inf_image = FilterRun(index=3, history=[1.0, 2.0], max_abs_grad=1.0, image=np.full((2, 2, 3), np.inf))
    assert [r.status for r in (ok, dead, nan, inf_image)] == ["ok", "dead", "diverged", "diverged"]


def test_dead_filter_is_detected(tiny_extractor):
    """A map whose bias is hugely negative never opens: loss 0 and zero gradient throughout."""
    from generator.network.extractors import truncated

    clone = with_bias(tiny_extractor, "block1_conv1", 2, -1e6)
    runs = pixel_ascent(truncated(clone, "block1_conv1"), settings(filters=(2, 0)), 2)
    assert runs[0].status == "dead" and runs[0].history == [0.0] * 6
    assert np.array_equal(runs[0].image, start_image(32, 42, (128.0, 148.0))[0])


def test_absurd_lr_diverges_and_stops(tiny_extractor):
    from generator.network.extractors import truncated

    runs = pixel_ascent(truncated(tiny_extractor, "block1_conv2"), settings(lr=1e38, iterations=8,
                                                                            filters=(0, 1, 2, 3, 4, 5)), 6)
    assert any(run.status == "diverged" for run in runs)
    for run in runs:
        if run.status == "diverged":
            assert run.steps <= 8
            assert to_uint8(run.image).dtype == np.uint8


def test_pixel_snapshots_are_recorded_without_changing_the_result(tiny_extractor):
    from generator.network.extractors import truncated

    runs = pixel_ascent(truncated(tiny_extractor, "block1_conv2"), settings(iterations=12, filters=(0, 1)), 2)
    for run in runs:
        assert sorted(run.snapshots) == [1, 3, 10]
        assert run.snapshots[10].dtype == np.uint8 and run.snapshots[10].shape == (32, 32, 3)
