"""Dataset examples: receptive-field crops, the streaming top-k, known-content photos, the build and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generator.architecture import CONV_LAYER_NAMES, receptive_box, receptive_field
from generator.config import load_manifest
from generator.errors import ConfigError
from generator.examples.compute import caffe_input, compute_examples
from generator.examples.photos import fed_size, scan
from generator.examples.topk import StreamingTopK, photo_picks, suppression_radius

from conftest import write_manifest

GREY = (128, 128, 128)


def _photo(path: Path, size: tuple[int, int], patch: tuple[int, int, int, int] | None = None,
           colour: tuple[int, int, int] = (255, 0, 0)) -> Path:
    """A grey photo, optionally with one saturated rectangle [x0, y0, x1, y1)."""
    pixels = np.full((size[1], size[0], 3), GREY, np.uint8)
    if patch:
        x0, y0, x1, y1 = patch
        pixels[y0:y1, x0:x1] = colour
    Image.fromarray(pixels).save(path)
    return path


def _tiny_vgg():
    """block1_conv1 (4 maps) -> block1_conv2 -> block1_pool -> block2_conv1, VGG16's names; filter 0 of
    block1_conv1 is a red detector: +1 on R, -1 on G and B (caffe input is BGR), bias 0."""
    import keras

    x = inputs = keras.Input((None, None, 3))
    for name, maps in (("block1_conv1", 4), ("block1_conv2", 4), ("block1_pool", 0), ("block2_conv1", 3)):
        layer = keras.layers.Conv2D(maps, 3, padding="same", activation="relu", name=name) if maps else \
            keras.layers.MaxPooling2D(2, name=name)
        x = layer(x)
    model = keras.Model(inputs, x)
    rng = np.random.default_rng(5)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel, bias = layer.get_weights()
            layer.set_weights([rng.normal(0, 0.2, kernel.shape).astype(np.float32), np.zeros_like(bias)])
    kernel, bias = model.get_layer("block1_conv1").get_weights()
    kernel[:, :, :, 0] = np.array([-1.0, -1.0, 1.0])  # B, G, R
    model.get_layer("block1_conv1").set_weights([kernel, bias])
    return model


def _settings(tmp_path: Path, **keys):
    from generator.examples.settings import EXAMPLES_SECTION

    return EXAMPLES_SECTION("examples", {"images": "photos", **keys}, {"base": tmp_path})


def test_receptive_box_is_the_support_of_the_gradient():
    """The crop is exactly the set of input pixels a map position depends on (then clamped at the border)."""
    import tensorflow as tf

    model = _tiny_vgg()
    x = tf.constant(np.random.default_rng(0).normal(0, 50, (1, 40, 36, 3)).astype(np.float32))
    for layer in ("block1_conv1", "block1_conv2", "block2_conv1"):
        maps = tf.keras.Model(model.inputs, model.get_layer(layer).input if layer == "block2_conv1" else
                              model.get_layer(layer).output)
        for y, x_ in [(0, 0), (5, 7), (9, 8)]:
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = _pre_relu(model, layer, x)
                value = tf.reduce_sum(out[0, y, x_])
            support = np.argwhere(np.abs(tape.gradient(value, x).numpy()[0]).sum(axis=2) > 0)
            (y0, x0), (y1, x1) = support.min(axis=0), support.max(axis=0) + 1
            assert receptive_box(layer, y, x_, 40, 36) == (x0, y0, x1, y1), (layer, y, x_)
        del maps


def _pre_relu(model, layer: str, x):
    """The layer's map before its ReLU, computed directly from the Keras layers."""
    import tensorflow as tf

    for keras_layer in model.layers[1:]:
        if keras_layer.name == layer:
            return tf.nn.conv2d(x, keras_layer.kernel, 1, "SAME") + keras_layer.bias
        x = keras_layer(x)
    raise AssertionError(layer)


def test_receptive_field_centres_match_the_pooling_grid():
    for layer in CONV_LAYER_NAMES:
        stride = 2 ** (int(layer[5]) - 1)
        x0, y0, x1, y1 = receptive_box(layer, 20, 30, 10_000, 10_000)
        assert x1 - x0 == y1 - y0 == receptive_field(layer)
        assert (x0 + x1 - 1) / 2 == stride * 30 + (stride - 1) / 2
        assert (y0 + y1 - 1) / 2 == stride * 20 + (stride - 1) / 2


def _brute(maps: np.ndarray, k: int, r: int, lowest: bool) -> list[list[tuple[float, int, int]]]:
    """Greedy picking written the slow, obvious way: whole map, one filter at a time."""
    out = []
    for channel in maps:
        scores = (-channel if lowest else channel).astype(np.float64)
        picks = []
        for _ in range(k):
            y, x = np.unravel_index(int(np.argmax(scores)), scores.shape)
            if not np.isfinite(scores[y, x]):
                break
            picks.append((float(channel[y, x]), int(y), int(x)))
            scores[max(0, y - r + 1):y + r, max(0, x - r + 1):x + r] = -np.inf
        out.append(picks)
    return out


@pytest.mark.parametrize("lowest", [False, True])
def test_photo_picks_equal_the_obvious_greedy_search(lowest):
    rng = np.random.default_rng(1)
    for _ in range(40):
        c, h, w = rng.integers(1, 5), rng.integers(2, 50), rng.integers(2, 50)
        k, r = int(rng.integers(1, 10)), int(rng.integers(1, 6))
        maps = rng.normal(size=(c, h, w)).astype(np.float32)
        scores, ys, xs = photo_picks(maps, k, r, lowest)
        sign = -1 if lowest else 1
        got = [[(sign * float(s), int(y), int(x)) for s, y, x in zip(*row) if np.isfinite(s)]
               for row in zip(scores, ys, xs)]
        assert got == _brute(maps, k, r, lowest)


def test_streaming_top_k_keeps_the_best_of_all_photos_in_fixed_memory():
    rng = np.random.default_rng(2)
    photos = [rng.normal(size=(3, 20, 30)).astype(np.float32) for _ in range(12)]
    ranker = StreamingTopK("block1_conv1", 3, 5)
    for index, maps in enumerate(photos):
        ranker.add(maps, index)
        assert ranker.ranked.values.shape == (3, 5)
    radius = suppression_radius("block1_conv1")
    for channel in range(3):
        every = sorted(((value, image, y, x) for image, maps in enumerate(photos)
                        for value, y, x in _brute(maps[channel:channel + 1], 5, radius, False)[0]),
                       key=lambda e: (-e[0], e[1]))
        assert [(i, y, x, v) for v, i, y, x in every[:5]] == \
            [(i, y, x, pytest.approx(v)) for i, y, x, v in ranker.entries(channel)]


def test_per_photo_limits_how_many_patches_one_photo_gives():
    maps = np.random.default_rng(3).normal(size=(2, 30, 30)).astype(np.float32)
    ranker = StreamingTopK("block1_conv1", 2, 6, per_photo=2)
    for image in range(3):
        ranker.add(maps + image, image)  # the last photo is the strongest everywhere
    images = [image for image, *_ in ranker.entries(0)]
    assert images == [2, 2, 1, 1, 0, 0]


def test_a_red_patch_is_the_red_filters_first_example_with_its_exact_crop(tmp_path):
    (tmp_path / "photos").mkdir()
    _photo(tmp_path / "photos" / "a-grey.png", (48, 40))
    _photo(tmp_path / "photos" / "b-green.png", (48, 40), (5, 6, 25, 20), (0, 255, 0))
    _photo(tmp_path / "photos" / "c-red.png", (48, 40), (20, 10, 32, 30))
    settings = _settings(tmp_path, top=3)
    photos = scan(settings, ("block1_conv1",))
    examples, used = compute_examples(_tiny_vgg(), photos, ("block1_conv1",), settings)
    first = examples["block1_conv1"][0]["top"][0]
    # every inner position of the patch gives the same value; the first in raster order is listed first
    assert first["image"] == "c-red" and (first["x"], first["y"]) == (21, 11)
    assert first["box"] == [20, 10, 23, 13]  # the 3x3 crop it sees, inside the red patch
    expected = 9 * (255 - 123.68 - (0 - 116.779) - (0 - 103.939))
    assert first["activation"] == pytest.approx(expected, rel=1e-5)
    assert all(e["image"] == "c-red" for e in examples["block1_conv1"][0]["top"])
    assert examples["block1_conv1"][0]["bottom"][0]["image"] == "b-green"  # the opposite colour
    assert [p.name for p in used] == ["a-grey", "b-green", "c-red"]


def test_top_activation_equals_an_independent_recomputation(tmp_path):
    """Each listed value is the Keras model's own map at that position of that photo, as fed."""
    import keras

    (tmp_path / "photos").mkdir()
    rng = np.random.default_rng(4)
    for name in ("p", "q"):
        Image.fromarray(rng.integers(0, 256, (37, 45, 3), dtype=np.uint8)).save(tmp_path / "photos" / f"{name}.png")
    model = _tiny_vgg()
    settings = _settings(tmp_path, top=4)
    photos = scan(settings, ("block2_conv1",))
    examples, _ = compute_examples(model, photos, ("block1_conv2", "block2_conv1"), settings)
    for layer in ("block1_conv2", "block2_conv1"):
        truth = keras.Model(model.inputs, model.get_layer(layer).output)
        maps = {p.name: truth(caffe_input(np.asarray(Image.open(p.path).convert("RGB")))).numpy()[0] for p in photos}
        for entry in examples[layer]:
            for e in entry["top"]:
                assert e["activation"] == pytest.approx(float(maps[e["image"]][e["y"], e["x"], entry["index"]]),
                                                         rel=1e-5, abs=1e-4)
                assert e["box"] == list(receptive_box(layer, e["y"], e["x"], 37, 45))


def test_the_build_path_picks_what_the_numpy_reference_picks(tmp_path):
    """TensorFlow's top_k candidates (the build) and the whole-map numpy search agree, ties included."""
    from generator.examples.compute import stream_photos

    (tmp_path / "photos").mkdir()
    rng = np.random.default_rng(6)
    for name in ("p", "q", "r"):  # few grey levels: many equal values
        Image.fromarray((rng.integers(0, 3, (30, 34, 3)) * 100).astype(np.uint8)).save(tmp_path / "photos" / f"{name}.png")
    model = _tiny_vgg()
    settings = _settings(tmp_path, top=5, per_photo=3)
    photos = scan(settings, ("block2_conv1",))
    top, bottom, _ = stream_photos(model, photos, ("block1_conv1", "block2_conv1"), settings)
    for layer in ("block1_conv1", "block2_conv1"):
        reference = [StreamingTopK(layer, top[layer].channels, 5, 3, lowest=lowest) for lowest in (False, True)]
        for index, photo in enumerate(photos):
            maps = _pre_relu(model, layer, caffe_input(np.asarray(Image.open(photo.path).convert("RGB")))).numpy()[0]
            for ranker in reference:
                ranker.add(maps.transpose(2, 0, 1), index)
        for built, expected in zip((top[layer], bottom[layer]), reference):
            for channel in range(built.channels):
                assert [e[:3] for e in built.entries(channel)] == [e[:3] for e in expected.entries(channel)]


def test_large_photos_are_resized_and_the_factor_recorded():
    assert fed_size(1000, 500, 512) == (512, 256, 0.512)
    assert fed_size(300, 200, 512) == (300, 200, 1.0)


BAD = [
    ("examples: {images: nowhere}", "no such folder 'nowhere'"),
    ("examples: {images: empty}", "the folder 'empty' is empty"),
    ("examples: {images: texts}", "none of the 2 files is an image (the first: a.txt)"),
    ("examples: {images: small}", "smaller than block2_conv1's receptive field (10 px)"),
    ("examples: {images: photos, top: 0}", "examples.top: expected an integer from 1 to 100, got 0"),
    ("examples: {images: [photos/missing.png]}", "no such file 'photos/missing.png'"),
    ("examples: {imgs: photos}", "did you mean 'images'"),
]


@pytest.mark.parametrize("line,message", BAD, ids=[m for _, m in BAD])
def test_bad_examples_exit_2_with_one_line_and_touch_nothing(tmp_path, capsys, line, message):
    from generator.cli import main
    from generator.site.output import MARKER

    for folder in ("photos", "empty", "texts", "small", "site"):
        (tmp_path / folder).mkdir()
    _photo(tmp_path / "photos" / "p.png", (40, 40))
    _photo(tmp_path / "small" / "s.png", (9, 40))
    for name in ("a.txt", "b.txt"):
        (tmp_path / "texts" / name).write_text("not a photo")
    (tmp_path / "site" / MARKER).write_text("{}")
    (tmp_path / "site" / "index.html").write_text("previous gallery")
    write_manifest(tmp_path, f"model: {{weights: random}}\noutput: {{site: site, cache: cache}}\n{line}\n"
                             "layers: {block1_conv1: {filters: 2}, block2_conv1: {filters: 2}}\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["build", str(tmp_path / "gallery.yaml"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: gallery.yaml: examples") and message in err, err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (tmp_path / "site" / "index.html").read_text() == "previous gallery"


def test_unreadable_files_in_a_folder_are_skipped_with_one_warning(tmp_path, capsys):
    (tmp_path / "photos").mkdir()
    for index in range(3):
        _photo(tmp_path / "photos" / f"p{index}.png", (40, 40))
    for name in ("notes.txt", "broken.jpg", "z.csv"):
        (tmp_path / "photos" / name).write_text("not an image")
    photos = scan(_settings(tmp_path), ("block1_conv1",))
    assert [p.name for p in photos] == ["p0", "p1", "p2"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "skipped 3 file(s) that are not images, the first: broken.jpg" in err


def test_two_photos_with_one_name_are_refused(tmp_path):
    (tmp_path / "photos").mkdir()
    _photo(tmp_path / "photos" / "a.png", (40, 40))
    _photo(tmp_path / "photos" / "a.jpg", (40, 40))
    with pytest.raises(ConfigError, match="share the name 'a'; rename one"):
        scan(_settings(tmp_path), ("block1_conv1",))


@pytest.mark.slow
def test_build_publishes_examples_caches_them_and_repeats_bytes(tmp_path, capsys):
    from generator.build import build

    (tmp_path / "photos").mkdir()
    _photo(tmp_path / "photos" / "red.png", (64, 48), (10, 10, 40, 30))
    _photo(tmp_path / "photos" / "blue.png", (48, 64), (5, 20, 30, 50), (0, 0, 255))
    text = """
model: {weights: random, random_seed: 3}
output: {site: site, cache: cache}
examples: {images: photos, top: 3}
defaults: {filters: [0, 3], image_size: 32, iterations: 2}
layers: {block1_conv1: {}, block2_conv1: {methods: [pixel, natural], natural: {steps: 2, image_size: 32}}}
"""
    manifest = load_manifest(write_manifest(tmp_path, text))
    build(manifest, progress=False)
    assert "computing dataset examples: 2 photos, 2 layers" in capsys.readouterr().err
    data = json.loads((tmp_path / "site" / "data" / "block2_conv1" / "examples.json").read_text())
    assert data["images"] == [{"name": "blue", "width": 48, "height": 64, "scale": 1.0},
                              {"name": "red", "width": 64, "height": 48, "scale": 1.0}]
    assert [f["index"] for f in data["filters"]] == [0, 3]
    for f in data["filters"]:
        assert len(f["top"]) <= 3 and len(f["bottom"]) == 3
        for e in f["top"]:
            assert set(e) == {"image", "x", "y", "box", "activation"} and e["activation"] > 0
        assert [e["activation"] for e in f["bottom"]] == sorted(e["activation"] for e in f["bottom"])
    page = (tmp_path / "site" / "filters" / "block2_conv1" / "003.html").read_text()
    assert 'id="examples"' in page and "images/photos/" in page
    assert 'data-method="examples"' in (tmp_path / "site" / "layers" / "block2_conv1.html").read_text()
    first = {p.relative_to(tmp_path / "site"): p.read_bytes() for p in (tmp_path / "site").rglob("*")
             if p.is_file() and p.parts[-2:][0] in ("examples", "photos") or p.name == "examples.json"}
    build(manifest, progress=False)
    assert "dataset examples" not in capsys.readouterr().err  # cached
    again = {p.relative_to(tmp_path / "site"): p.read_bytes() for p in (tmp_path / "site").rglob("*")
             if p.is_file() and p.parts[-2:][0] in ("examples", "photos") or p.name == "examples.json"}
    assert first and again == first
