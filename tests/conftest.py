"""Shared fixtures: a tiny VGG-style model for fast tests, the real VGG16 with random weights for slow ones."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from generator.machine import prefer_onednn  # noqa: E402

prefer_onednn()  # the kernels `vgg-gallery` picks, for this process and the builds it starts alike

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def tiny_extractor():
    """Two 3x3 conv layers (8 and 6 maps) with VGG16's naming; seeded, so results repeat."""
    import keras

    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="block1_conv1")(inputs)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="block1_conv2")(x)
    model = keras.Model(inputs, x)
    rng = np.random.default_rng(7)
    for layer in model.layers[1:]:
        kernel, bias = layer.get_weights()
        layer.set_weights([
            rng.normal(0, 0.05, kernel.shape).astype(np.float32),
            rng.normal(0, 0.5, bias.shape).astype(np.float32),
        ])
    return model


@pytest.fixture(scope="session")
def random_vgg():
    """The real VGG16 architecture with the project's seeded random weights."""
    from generator.config import WeightsSpec
    from generator.network.weights import load_vgg16

    vgg, info = load_vgg16(WeightsSpec(source="random", random_seed=3))
    return vgg, info


def with_bias(model, layer: str, channel: int, value: float):
    """A copy of `model` whose `layer` has channel `channel`'s bias set to `value` (to close a filter)."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    kernel, bias = clone.get_layer(layer).get_weights()
    bias[channel] = value
    clone.get_layer(layer).set_weights([kernel, bias])
    return clone


def as_from_a_terminal() -> None:
    """Popen's preexec_fn: Ctrl-C's signal handled as a terminal would deliver it.

    A shell that starts a command in the background (`make test &`, a CI runner) makes it ignore
    SIGINT, and children inherit that: the interrupt tests would then test nothing.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def write_manifest(folder: Path, text: str) -> Path:
    path = folder / "gallery.yaml"
    path.write_text(text, encoding="utf-8")
    return path
