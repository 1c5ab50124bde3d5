"""The natural method's negative and diverse views: what they optimize, how they are checked and stored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from generator.config import load_manifest
from generator.config.manifest import parse_manifest
from generator.errors import ConfigError
from generator.methods.natural_views import style_layer

from conftest import write_manifest

LAYER = "block3_conv1"


def _settings(**natural):
    data = {"layers": {LAYER: {"method": "natural", "filters": [1, 6], "natural": {
        "steps": 24, "image_size": 64, "revive": False, **natural}}}}
    return parse_manifest(data, base=Path(".")).jobs[0].settings


def _pre_relu_mean(vgg, images: np.ndarray, index: int) -> np.ndarray:
    import keras
    import tensorflow as tf

    from generator.network.inputs import preprocess_fn

    conv = vgg.get_layer(LAYER)
    below = keras.Model(vgg.inputs, conv.input)
    x = below(preprocess_fn("caffe")(tf.constant(images, tf.float32)))
    maps = tf.nn.conv2d(x, conv.kernel, 1, "SAME") + conv.bias
    return maps.numpy()[..., index].mean(axis=(1, 2))


def test_style_layer_is_the_last_conv_before_the_block():
    assert style_layer("block1_conv2") == "block1_conv1"
    assert style_layer("block3_conv1") == "block2_conv2"
    assert style_layer("block5_conv3") == "block4_conv3"
    assert style_layer("block5_conv3", "block1_conv2") == "block1_conv2"


@pytest.mark.slow
def test_negative_image_lowers_the_map_below_the_start_image(random_vgg):
    from generator.methods.natural import NATURAL
    from generator.methods.spectral import unit_to_uint8

    vgg, _ = random_vgg
    settings = _settings(negative=True)
    output = NATURAL.run(vgg, LAYER, settings, batch_size=4)
    negative = output.views["negative"]
    assert negative.shape == (2, 1, 64, 64, 3) and negative.dtype == np.uint8
    start = unit_to_uint8(np.full((1, 64, 64, 3), 0.5))  # the start spectrum is ~0: mid-grey
    for row, index in enumerate(settings.filters):
        assert _pre_relu_mean(vgg, negative[row], index)[0] < _pre_relu_mean(vgg, start, index)[0]
        assert _pre_relu_mean(vgg, negative[row], index)[0] < _pre_relu_mean(vgg, output.images[row:row + 1], index)[0]


@pytest.mark.slow
def test_diverse_images_are_less_alike_than_independent_runs(random_vgg):
    from generator.analysis.views import style_similarity
    from generator.methods.natural import NATURAL

    vgg, _ = random_vgg
    settings = _settings(diversity=3, diversity_weight=1000.0)
    diverse = NATURAL.run(vgg, LAYER, settings, batch_size=8).views["diverse"]
    assert diverse.shape == (2, 3, 64, 64, 3)
    plain = replace(settings, diversity=None)
    independent = np.stack([NATURAL.run(vgg, LAYER, replace(plain, seed=seed), 8).images for seed in range(3)], 1)
    for row in range(2):
        assert style_similarity(vgg, LAYER, diverse[row], "caffe") < \
            style_similarity(vgg, LAYER, independent[row], "caffe")


@pytest.mark.slow
def test_views_are_stored_measured_and_shown(tmp_path):
    from generator.build import build

    manifest = load_manifest(write_manifest(tmp_path, """
model: {weights: random, random_seed: 3}
output: {site: site, cache: cache}
layers:
  block2_conv1: {method: natural, filters: [0, 2], natural: {steps: 3, image_size: 32, negative: true, diversity: 2}}
"""))
    build(manifest, progress=False)
    import json

    data = json.loads((tmp_path / "site" / "data" / "block2_conv1" / "natural.json").read_text())
    for f in data["filters"]:
        assert len(f["views"]["negative"]["activation"]) == 1
        assert len(f["views"]["diverse"]["activation"]) == 2 and 0 <= f["views"]["diverse"]["similarity"] <= 1
    images = tmp_path / "site" / "images" / "block2_conv1" / "natural"
    assert (images / "v002-negative-0.png").is_file() and (images / "v002-diverse-1.png").is_file()
    page = (tmp_path / "site" / "filters" / "block2_conv1" / "002.html").read_text()
    assert "v002-negative-0.png" in page and "v002-diverse-1.png" in page


@pytest.mark.parametrize("natural,message", [
    ({"diversity": 1}, "natural.diversity: 1 image is the main image already; use 2 or more images, or false"),
    ({"diversity": 40}, "natural.diversity: expected false or an integer from 2 to 16"),
    ({"negative": "yes"}, "natural.negative"),
    ({"diversity_layer": "block9_conv1"}, "natural.diversity_layer: expected auto or a conv layer name"),
])
def test_bad_view_keys_are_one_line_errors(natural, message):
    with pytest.raises(ConfigError, match=message) as error:
        _settings(**natural)
    assert "\n" not in str(error.value)
