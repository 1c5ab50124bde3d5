"""The manifest loader: the shipped manifests, merging, and a table of bad manifests with their errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from generator.architecture import CONV_LAYER_NAMES
from generator.config import load_manifest, parse_manifest
from generator.methods.natural import ReviveSpec
from generator.errors import ConfigError

from conftest import REPO, write_manifest

SEED_TABLE = {  # the original write-up's per-layer lr, iterations, threshold
    "block1_conv1": (2.5, 20, None), "block1_conv2": (2.5, 20, None),
    "block2_conv1": (52.5, 50, 30000), "block2_conv2": (52.5, 50, 30000),
    "block3_conv1": (22.5, 30, 18000), "block3_conv2": (22.5, 30, 18000), "block3_conv3": (22.5, 30, 18000),
    "block4_conv1": (15.5, 50, 6000), "block4_conv2": (15.5, 50, 6000), "block4_conv3": (15.5, 50, 6000),
    "block5_conv1": (25.5, 30, 6000), "block5_conv2": (25.5, 30, 6000), "block5_conv3": (25.5, 30, 6000),
}


def test_shipped_gallery_has_all_13_layers_with_the_seed_settings():
    manifest = load_manifest(REPO / "gallery.yaml")
    pixel = [job for job in manifest.jobs if job.settings.method == "pixel"]
    assert [job.layer for job in pixel] == list(CONV_LAYER_NAMES)
    for job in pixel:
        s = job.settings
        assert (s.lr, s.iterations, s.threshold) == SEED_TABLE[job.layer]
        assert s.filters == tuple(range(64))
        assert (s.image_size, s.seed, s.init, s.preprocess, s.method) == (224, 42, (128.0, 148.0), "none", "pixel")
    assert manifest.site_dir == REPO / "site"


def test_preview_manifest_loads():
    manifest = load_manifest(REPO / "preview.yaml")
    assert len(manifest.jobs) >= 3
    assert manifest.site_dir != load_manifest(REPO / "gallery.yaml").site_dir


def test_layer_overrides_defaults_and_paths_are_relative_to_the_manifest(tmp_path):
    path = write_manifest(tmp_path, """
model: {weights: random, random_seed: 5}
output: {site: out/site, cache: out/cache}
defaults: {lr: 3, filters: [4, 2], batch_size: 8}
layers:
  block5_conv1: {lr: 1.5, threshold: 10, filters: 3}
  block1_conv1:
""")
    manifest = load_manifest(path)
    first, second = manifest.jobs  # network order, not file order
    assert first.layer == "block1_conv1" and first.settings.lr == 3.0 and first.settings.filters == (4, 2)
    assert second.settings.lr == 1.5 and second.settings.threshold == 10.0 and second.settings.filters == (0, 1, 2)
    assert first.settings.batch_size == 8
    assert manifest.site_dir == tmp_path / "out" / "site"
    assert manifest.weights.source == "random" and manifest.weights.random_seed == 5


def test_methods_and_natural_settings(tmp_path):
    path = write_manifest(tmp_path, """
defaults:
  methods: [pixel, natural]
  natural: {steps: 64, snapshots: [8, 64], transforms: {rotate: 5}}
layers:
  block1_conv1: {}
  block2_conv1: {method: natural, natural: {lr: 0.1, transforms: false, objective: post_relu}}
""")
    jobs = load_manifest(path).jobs
    assert [(j.layer, j.settings.method) for j in jobs] == [
        ("block1_conv1", "pixel"), ("block1_conv1", "natural"), ("block2_conv1", "natural")]
    first, second = jobs[1].settings, jobs[2].settings
    assert first.steps == 64 and first.snapshots == (8, 64) and first.transforms.rotate == 5
    assert first.transforms.pad == 12 and first.lr == 0.05 and first.preprocess == "caffe"
    assert second.lr == 0.1 and second.transforms is None and second.objective == "post_relu"
    assert second.filters == tuple(range(64))
    # revive: by default a quarter of the steps, the strongest 2 %, grid shifts, maps closed on average
    assert first.revive == ReviveSpec(at=16, top=0.02, grid_jitter=True, when="closed_on_average")


def test_revive_settings(tmp_path):
    path = write_manifest(tmp_path, """
defaults: {method: natural, natural: {steps: 40, revive: {at: 10, top: 0.5}}}
layers:
  block1_conv1: {}
  block2_conv1: {natural: {revive: false}}
  block3_conv1: {natural: {steps: 2, revive: true}}
  block4_conv1: {natural: {revive: {when: closed}}}
""")
    a, b, c, d = (job.settings for job in load_manifest(path).jobs)
    assert a.revive == ReviveSpec(at=10, top=0.5, grid_jitter=True)
    assert b.revive is None and "revive" in b.fingerprint() and b.fingerprint() != a.fingerprint()
    assert c.revive == ReviveSpec(at=1, top=0.02, grid_jitter=True)  # true = the built-in defaults, auto at
    assert d.revive.when == "closed" and a.revive.when == "closed_on_average"
    # a layer's mapping replaces the default one (merged onto the built-in defaults, not onto defaults:)
    assert d.fingerprint()["revive"] == {"at": 10, "top": 0.02, "grid_jitter": True, "when": "closed"}
    assert a.fingerprint()["revive"]["when"] == "closed_on_average"


def test_select_methods(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, "defaults: {methods: [pixel, natural]}\n"
                                            "layers: {block1_conv1: {}, block2_conv1: {}}"))
    chosen = manifest.select(["block2_conv1"], ["natural"])
    assert [(j.layer, j.settings.method) for j in chosen] == [("block2_conv1", "natural")]
    assert len(manifest.select(None, ["pixel"])) == 2
    with pytest.raises(ConfigError, match="--methods: expected pixel, natural, got 'dream'"):
        manifest.select(None, ["dream"])


def test_shipped_gallery_builds_both_methods_everywhere():
    manifest = load_manifest(REPO / "gallery.yaml")
    for layer in CONV_LAYER_NAMES:
        assert manifest.methods_of(layer) == ("pixel", "natural")


def test_select_layers(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, "layers: {block1_conv1: {}, block2_conv1: {}}"))
    assert [j.layer for j in manifest.select(["block2_conv1"])] == ["block2_conv1"]
    with pytest.raises(ConfigError, match="block3_conv1 is not in gallery.yaml's layers"):
        manifest.select(["block3_conv1"])
    with pytest.raises(ConfigError, match="no such layer 'block9_conv1'"):
        manifest.select(["block9_conv1"])


BAD = [
    ("layers: {block1_conv1: {lr: 1}\n", "YAML syntax error at line 2, column 1"),
    ("", "the manifest is empty"),
    ("- block1_conv1\n", "must be a mapping"),
    ("42\n", "got a int"),
    ("layerz: {block1_conv1: {}}\n", "layerz: unknown key; did you mean 'layers'?"),
    ("layers: {block1_conv1: {lrr: 1}}\n", "layers.block1_conv1.lrr: unknown key; did you mean 'lr'?"),
    ("defaults: {iteration: 3}\nlayers: {block1_conv1: {}}\n", "defaults.iteration: unknown key; did you mean 'iterations'?"),
    ("model: {weight: hed}\nlayers: {block1_conv1: {}}\n", "model.weight: unknown key; did you mean 'weights'?"),
    ("layers:\n  block1_conv1: {}\n  block1_conv1: {lr: 2}\n", "duplicated key 'block1_conv1' at line 3"),
    ("layers: {block9_conv1: {}}\n", "no such layer 'block9_conv1'"),
    ("layers: {block1_pool: {}}\n", "block1_pool is not a conv layer"),
    ("layers: {input_layer: {}}\n", "input_layer is not a conv layer"),
    ("layers: {}\n", "layers: expected a mapping of conv layer names"),
    ("layers: {block1_conv1: {lr: fast}}\n", "layers.block1_conv1.lr: expected a positive number, got 'fast'"),
    ("layers: {block1_conv1: {lr: -1}}\n", "lr: expected a positive number, got -1"),
    ("layers: {block1_conv1: {lr: 0}}\n", "lr: expected a positive number, got 0"),
    ("layers: {block1_conv1: {lr: .nan}}\n", "lr: expected a positive number"),
    ("layers: {block1_conv1: {iterations: 0}}\n", "iterations: expected a positive integer, got 0"),
    ("layers: {block1_conv1: {iterations: 2.5}}\n", "iterations: expected a positive integer, got 2.5"),
    ("layers: {block1_conv1: {iterations: true}}\n", "iterations: expected a positive integer, got True"),
    ("layers: {block1_conv1: {threshold: -5}}\n", "threshold: expected a positive number, got -5"),
    ("layers: {block1_conv1: {filters: 65}}\n", "filters: expected all, a count from 1 to 64"),
    ("layers: {block1_conv1: {filters: -1}}\n", "filters: expected all, a count from 1 to 64"),
    ("layers: {block1_conv1: {filters: every}}\n", "filters: expected all, a count from 1 to 64"),
    ("layers: {block1_conv1: {filters: [1, 64]}}\n", "filters: expected filter indices from 0 to 63"),
    ("layers: {block1_conv1: {filters: [3, 3]}}\n", "filter 3 is listed twice"),
    ("layers: {block1_conv1: {filters: []}}\n", "expected a non-empty list"),
    ("defaults: {filters: 100}\nlayers: {block1_conv1: {}}\n", "defaults.filters: expected all, a count from 1 to 64"),
    ("layers: {block1_conv1: {image_size: 16}}\n", "image_size: expected an integer from 32"),
    ("layers: {block1_conv1: {image_size: 100000}}\n", "image_size: expected an integer from 32"),
    ("layers: {block1_conv1: {method: magic}}\n", "method: expected one of pixel, natural, got 'magic'"),
    ("layers: {block1_conv1: {preprocess: tf}}\n", "preprocess: expected one of none, caffe, got 'tf'"),
    ("layers: {block1_conv1: {seed: 1.5}}\n", "seed: expected an integer"),
    ("layers: {block1_conv1: {seed: '42'}}\n", "seed: expected an integer"),
    ("layers: {block1_conv1: {init: [148, 128]}}\n", "init: expected [low, high] with low < high"),
    ("layers: {block1_conv1: {methods: [pixel, magic]}}\n", "methods: expected one of pixel, natural, got 'magic'"),
    ("layers: {block1_conv1: {methods: []}}\n", "methods: expected a non-empty list"),
    ("layers: {block1_conv1: {methods: [pixel, pixel]}}\n", "methods: a method is listed twice"),
    ("layers: {block1_conv1: {natural: {stepz: 3}}}\n", "natural.stepz: unknown key; did you mean 'steps'?"),
    ("layers: {block1_conv1: {natural: {steps: 0}}}\n", "natural.steps: expected a positive integer"),
    ("layers: {block1_conv1: {natural: {steps: 10, snapshots: [20]}}}\n", "natural.snapshots: expected step numbers from 1 to steps (10)"),
    ("layers: {block1_conv1: {natural: {transforms: {spin: 3}}}}\n", "natural.transforms.spin: unknown key"),
    ("layers: {block1_conv1: {natural: {transforms: {scale: [1.2, 0.9]}}}}\n", "natural.transforms.scale: expected [low, high]"),
    ("layers: {block1_conv1: {natural: {decorrelate: maybe}}}\n", "natural.decorrelate: expected true or false"),
    ("layers: {block1_conv1: {natural: {objective: max}}}\n", "natural.objective: expected one of pre_relu, post_relu"),
    ("layers: {block1_conv1: {natural: {decay_power: -1}}}\n", "natural.decay_power: expected a number >= 0"),
    ("layers: {block1_conv1: {natural: {steps: 20, revive: {at: 30}}}}\n",
     "natural.revive.at: expected auto or a step number from 1 to steps (20), got 30"),
    ("layers: {block1_conv1: {natural: {revive: {at: soon}}}}\n", "natural.revive.at: expected auto or a step number"),
    ("layers: {block1_conv1: {natural: {revive: {top: 0}}}}\n", "natural.revive.top: expected a share of the map's positions, 0 < top <= 1, got 0"),
    ("layers: {block1_conv1: {natural: {revive: {top: 1.5}}}}\n", "natural.revive.top: expected a share"),
    ("layers: {block1_conv1: {natural: {revive: {grid_jitter: sometimes}}}}\n", "natural.revive.grid_jitter: expected true or false"),
    ("layers: {block1_conv1: {natural: {revive: {when: 3}}}}\n",
     "natural.revive.when: expected one of closed, closed_on_average, got 3"),
    ("layers: {block1_conv1: {natural: {revive: {if: closed}}}}\n", "natural.revive.if: unknown key"),
    ("layers: {block1_conv1: {natural: {revive: 3}}}\n", "natural.revive: expected false, true or a mapping of at, top, grid_jitter, when"),
    ("layers: {block1_conv1: {batch_size: 0}}\n", "batch_size: expected 'auto' or a positive integer, got 0"),
    ("layers: {block1_conv1: {batch_size: big}}\n", "batch_size: expected 'auto' or a positive integer"),
    ("layers: [block1_conv1]\n", "layers: expected a mapping"),
    ("layers: {block1_conv1: 3}\n", "layers.block1_conv1: expected a mapping"),
    ("model: {weights: no/such/file.h5}\nlayers: {block1_conv1: {}}\n", "model.weights: no such file 'no/such/file.h5'"),
    ("model: {weights: 7}\nlayers: {block1_conv1: {}}\n", "model.weights: expected one of imagenet, hed, random, auto"),
    ("output: {site: .}\noutput2: 1\n", "output2: unknown key"),
    ("output: {site: out, cache: out/cache}\nlayers: {block1_conv1: {}}\n", "the cache must live outside the site folder"),
    ("title: [1]\nlayers: {block1_conv1: {}}\n", "title: expected text"),
]


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_bad_manifest_gives_one_line_error(tmp_path, text, message):
    path = write_manifest(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_manifest(path)
    text_of_error = str(error.value)
    assert message in text_of_error
    assert text_of_error.startswith("gallery.yaml: ")
    assert "\n" not in text_of_error


def test_missing_manifest_file(tmp_path):
    with pytest.raises(ConfigError, match="no such manifest file"):
        load_manifest(tmp_path / "nope.yaml")


def test_not_utf8(tmp_path):
    path = tmp_path / "gallery.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not a UTF-8 text file"):
        load_manifest(path)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 100000) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(list(CONV_LAYER_NAMES) + ["lr", "filters", "pixel", "auto"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["lr", "iterations", "threshold", "filters", "image_size", "seed",
                                       "init", "preprocess", "batch_size", "method", "weights", "site",
                                       *CONV_LAYER_NAMES, "junk"]), children, max_size=4),
    max_leaves=12,
)
manifests = st.fixed_dictionaries({}, optional={
    "model": st.fixed_dictionaries({}, optional={"weights": st.sampled_from(["random", "hed", "auto", 3, None])}),
    "defaults": yaml_values,
    "layers": st.dictionaries(st.sampled_from(list(CONV_LAYER_NAMES) + ["block1_pool", "x"]), yaml_values,
                              max_size=3),
    "title": yaml_values,
}) | yaml_values


@settings(max_examples=300, deadline=None)
@given(manifests)
def test_fuzzed_manifests_load_or_raise_config_error(data):
    try:
        manifest = parse_manifest(data, base=Path("/nonexistent-base"))
    except ConfigError as error:
        assert "\n" not in str(error)
    else:
        assert manifest.jobs


@pytest.mark.parametrize("text,message", BAD, ids=[m for _, m in BAD])
def test_cli_exits_2_with_one_line_and_touches_nothing(tmp_path, capsys, text, message):
    from generator.cli import main
    from generator.site.output import MARKER

    site = tmp_path / "site"
    site.mkdir()
    (site / MARKER).write_text("{}")
    (site / "index.html").write_text("previous gallery")
    cache = tmp_path / ".cache" / "gallery"
    cache.mkdir(parents=True)
    (cache / "weights.json").write_text("{}")
    write_manifest(tmp_path, text)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert main(["build", str(tmp_path / "gallery.yaml"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: gallery.yaml: ") and message in err
    assert "Traceback" not in err
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert (site / "index.html").read_text() == "previous gallery"


def test_methods_share_the_layer_level_filters_and_batch_size(tmp_path):
    path = write_manifest(tmp_path, """
defaults: {methods: [pixel, natural], filters: 3, batch_size: 2}
layers:
  block1_conv1: {}
  block2_conv1: {filters: [5, 1]}
""")
    jobs = load_manifest(path).jobs
    assert [(j.settings.method, j.settings.filters, j.settings.batch_size) for j in jobs] == [
        ("pixel", (0, 1, 2), 2), ("natural", (0, 1, 2), 2), ("pixel", (5, 1), 2), ("natural", (5, 1), 2)]


def test_filters_all_is_every_map_of_each_layer(tmp_path):
    path = write_manifest(tmp_path, "defaults: {filters: all}\nlayers: {block1_conv1: {}, block4_conv1: {}}\n")
    jobs = load_manifest(path).jobs
    assert [len(job.settings.filters) for job in jobs] == [64, 512]
    assert jobs[-1].settings.filters == tuple(range(512))
