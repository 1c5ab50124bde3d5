"""End to end on the real VGG16 architecture with random weights and tiny settings."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from generator.build import build, render_only
from generator.cli import main
from generator.config import load_manifest
from generator.errors import OutputError
from generator.site.output import MARKER

from conftest import REPO, write_manifest

pytestmark = pytest.mark.slow

TINY = """
title: Tiny <test> gallery
model: {weights: random, random_seed: 3}
output: {site: site, cache: cache}
defaults: {filters: 4, image_size: 32, iterations: 3, lr: 4.0}
layers:
  block1_conv1: {}
  block2_conv2: {threshold: 0.5, iterations: 6}
  block5_conv1: {filters: [7, 2, 300]}
"""

FILTER_KEYS = {"index", "loss", "steps", "stopped_early", "reached_threshold", "status", "history",
               "image", "thumbnail", "activation", "rank", "reaching", "cross"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gallery")
    manifest = load_manifest(write_manifest(folder, TINY))
    report = build(manifest, progress=False)
    return folder, manifest, report


def test_public_data_files_follow_the_schema(built):
    folder, manifest, report = built
    assert [r.cached for r in report.layers] == [False, False, False]
    for job in manifest.jobs:
        data = json.loads((folder / "site" / "data" / job.layer / "pixel.json").read_text())
        assert {"layer", "method", "channels", "settings", "weights", "filters"} <= set(data)
        # how long and where it was computed vary between runs: the build record has them, not the public data
        assert not {"seconds", "environment"} & set(data)
        run = json.loads((folder / "site" / "build.json").read_text())["layers"][job.layer]["pixel"]
        assert run["seconds"] >= 0 and {"tensorflow", "keras", "numpy", "device"} <= set(run["environment"])
        assert data["layer"] == job.layer and data["method"] == "pixel"
        assert data["weights"]["source"] == "random" and len(data["weights"]["sha256"]) == 64
        assert [f["index"] for f in data["filters"]] == list(job.settings.filters)
        for f in data["filters"]:
            assert FILTER_KEYS <= set(f)
            assert len(f["cross"]) == data["channels"]
            assert f["steps"] == len(f["history"])
            assert f["status"] in ("ok", "dead", "diverged")
            # the target's own value, its rank and its rivals are read off the same C means
            assert f["activation"] == f["cross"][f["index"]]
            assert f["rank"] == 1 + sum(value > f["activation"] for value in f["cross"])
            assert all(f["cross"][k] >= f["activation"] for k in f["reaching"])
            image = Image.open(folder / "site" / f["image"])
            assert image.size == (32, 32) and image.mode == "RGB"
        rows = list(csv.DictReader((folder / "site" / "data" / job.layer / "pixel.csv").open()))
        assert [int(r["filter"]) for r in rows] == list(job.settings.filters)


def test_threshold_stops_filters_early(built):
    folder, _, _ = built
    data = json.loads((folder / "site" / "data" / "block2_conv2" / "pixel.json").read_text())
    for f in data["filters"]:
        if f["reached_threshold"]:
            assert f["loss"] >= 0.5 and f["loss"] == f["history"][-1]
        else:
            assert f["steps"] == 6 and all(value < 0.5 for value in f["history"])


def test_cross_activation_is_recomputed_from_the_saved_png(built, random_vgg):
    """The numbers on the page are those of the picture the user sees, not of the float image."""
    import tensorflow as tf

    from generator.network.extractors import truncated

    folder, _, _ = built
    vgg, _ = random_vgg
    data = json.loads((folder / "site" / "data" / "block1_conv1" / "pixel.json").read_text())
    f = data["filters"][1]
    pixels = np.asarray(Image.open(folder / "site" / f["image"]), dtype=np.float32)[None]
    means = tf.reduce_mean(truncated(vgg, "block1_conv1")(pixels), axis=[1, 2]).numpy()[0]
    np.testing.assert_allclose(f["cross"], means, rtol=1e-5, atol=1e-5)


def test_pages_show_grid_and_loss_table(built):
    folder, manifest, _ = built
    index = (folder / "site" / "index.html").read_text()
    assert "Tiny &lt;test&gt; gallery" in index  # autoescaped
    assert "Not Keras' ImageNet weights" in index
    for job in manifest.jobs:
        assert f'href="layers/{job.layer}.html"' in index
        page = (folder / "site" / "layers" / f"{job.layer}.html").read_text()
        assert page.count('class="cell ') == len(job.settings.filters)
        assert page.count("Loss=") == len(job.settings.filters)
        for index_ in job.settings.filters:
            assert (folder / "site" / "filters" / job.layer / f"{index_:03d}.html").is_file()
        assert 'href="../static/style.css"' in page
    assert (folder / "site" / ".nojekyll").is_file() and (folder / "site" / MARKER).is_file()


def test_rebuild_uses_cache_and_recomputes_only_the_changed_layer(built, tmp_path):
    folder, manifest, _ = built
    again = build(manifest, progress=False)
    assert [r.cached for r in again.layers] == [True, True, True]
    text = TINY.replace("block2_conv2: {threshold: 0.5, iterations: 6}",
                        "block2_conv2: {threshold: 0.5, iterations: 6, lr: 3.0}")
    changed = build(load_manifest(write_manifest(folder, text)), progress=False)
    assert [r.cached for r in changed.layers] == [True, False, True]
    write_manifest(folder, TINY)


def test_layer_selection_builds_only_those_and_site_keeps_the_rest(built, tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, TINY))
    report = build(manifest, ["block5_conv1"], progress=False)
    assert [r.layer for r in report.layers] == ["block5_conv1"]
    assert report.site.layers_missing == ("block1_conv1", "block2_conv2")
    assert "not built yet" in (tmp_path / "site" / "index.html").read_text()


def test_site_rerenders_without_recomputing(built):
    folder, manifest, _ = built
    before = (folder / "site" / "data" / "block1_conv1" / "pixel.json").read_bytes()
    (folder / "site" / "index.html").unlink()
    report = render_only(manifest)
    assert report.layers_built == 3
    assert (folder / "site" / "index.html").is_file()
    assert (folder / "site" / "data" / "block1_conv1" / "pixel.json").read_bytes() == before


SMALL = """
model: {weights: random, random_seed: 3}
output: {site: site, cache: cache}
defaults: {filters: 3, image_size: 32, iterations: 3, methods: [pixel, natural], natural: {steps: 4, image_size: 32}}
layers:
  block1_conv1: {}
  block2_conv2: {threshold: 0.5, iterations: 6}
"""


def test_same_manifest_gives_identical_files(tmp_path):
    """Two clean builds in two fresh folders: every file under data/ and images/ has the same bytes."""
    sites = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        build(load_manifest(write_manifest(tmp_path / name, SMALL)), progress=False)
        sites.append(tmp_path / name / "site")
    for folder in ("data", "images"):
        files = [sorted(p.relative_to(site) for p in (site / folder).rglob("*") if p.is_file()) for site in sites]
        assert files[0] == files[1]
        assert {p.suffix for p in files[0]} >= ({".json", ".csv"} if folder == "data" else {".png", ".jpg", ".gif"})
        for path in files[0]:
            assert (sites[0] / path).read_bytes() == (sites[1] / path).read_bytes(), path
    assert all((site / "build.json").is_file() for site in sites)


def test_damaged_cache_entry_is_recomputed(built, capsys):
    folder, manifest, _ = built
    entry = next((folder / "cache" / "block1_conv1" / "pixel").iterdir())
    (entry / "result.json").write_text('{"truncated": ')
    report = build(manifest, progress=False)
    assert [r.cached for r in report.layers] == [False, True, True]
    assert "damaged" in capsys.readouterr().err


def test_refuses_a_foreign_output_folder(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "thesis.tex").write_text("precious")
    manifest = load_manifest(write_manifest(tmp_path, TINY))
    with pytest.raises(OutputError, match="holds files that are not a gallery"):
        build(manifest, progress=False)
    assert (tmp_path / "site" / "thesis.tex").read_text() == "precious"


def test_output_that_is_a_file(tmp_path):
    (tmp_path / "site").write_text("x")
    manifest = load_manifest(write_manifest(tmp_path, TINY))
    with pytest.raises(OutputError, match="is a file"):
        build(manifest, progress=False)


def test_cli_bad_manifest_exits_2_with_one_line_and_keeps_the_site(built):
    folder, _, _ = built
    before = (folder / "site" / "index.html").read_bytes()
    bad = folder / "bad.yaml"
    bad.write_text("output: {site: site, cache: cache}\nlayers: {block1_conv1: {lr: -2}}\n")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "generator", "build", str(bad)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip() == "error: bad.yaml: layers.block1_conv1.lr: expected a positive number, got -2"
    assert "Traceback" not in done.stderr
    assert (folder / "site" / "index.html").read_bytes() == before


def test_cli_build_prints_the_summary_table_and_no_bars_into_a_log(tmp_path, capsys):
    path = write_manifest(tmp_path, TINY.replace("block5_conv1: {filters: [7, 2, 300]}", ""))
    assert main(["build", str(path)]) == 0  # stderr captured, as in a log file: not a terminal
    out, err = capsys.readouterr()
    assert "layer" in out and "mean loss" in out and "block2_conv2" in out
    assert "computing block2_conv2" in err and "img-step" not in err and "\r" not in err
    assert main(["site", str(path)]) == 0


def test_cli_build_says_when_the_first_step_came_unless_all_was_cached(tmp_path, capsys):
    path = write_manifest(tmp_path, TINY.replace("block5_conv1: {filters: [7, 2, 300]}", ""))
    assert main(["build", str(path), "--no-progress"]) == 0
    took = [line for line in capsys.readouterr().out.splitlines() if line.startswith("took ")]
    assert len(took) == 1 and re.fullmatch(r"took .*\(estimated .*\); first step after \d+\.\d s", took[0])
    assert main(["build", str(path), "--no-progress"]) == 0  # everything cached: nothing about a first step
    took = [line for line in capsys.readouterr().out.splitlines() if line.startswith("took ")]
    assert len(took) == 1 and "first step" not in took[0]


def test_mixed_precision_is_cached_apart_and_close_to_float32(built, tmp_path):
    folder, _, _ = built
    text = TINY.replace("model: {weights: random, random_seed: 3}",
                        "model: {weights: random, random_seed: 3, precision: mixed}")
    report = build(load_manifest(write_manifest(tmp_path, text)), progress=False)
    assert not any(r.cached for r in report.layers)
    exact = json.loads((folder / "site" / "data" / "block1_conv1" / "pixel.json").read_text())
    mixed = json.loads((tmp_path / "site" / "data" / "block1_conv1" / "pixel.json").read_text())
    record = json.loads((tmp_path / "site" / "build.json").read_text())
    assert record["layers"]["block1_conv1"]["pixel"]["environment"]["precision"] == "mixed"
    for a, b in zip(exact["filters"], mixed["filters"]):
        assert b["loss"] == pytest.approx(a["loss"], rel=0.05, abs=0.05)


def test_serve_without_a_site_says_what_to_run(tmp_path, capsys):
    path = write_manifest(tmp_path, TINY)
    assert main(["serve", str(path), "--port", "0"]) == 2
    assert "no site in" in capsys.readouterr().err


def test_site_before_any_build_says_what_to_run(tmp_path, capsys):
    path = write_manifest(tmp_path, TINY)
    assert main(["site", str(path)]) == 2
    assert "nothing built yet" in capsys.readouterr().err


def test_revived_filters_are_recorded_and_shown(random_vgg, tmp_path, capsys):
    """A filter closed at the revive step is marked on its layer page, filter page and data."""
    from conftest import with_bias

    vgg, _ = random_vgg
    weights = tmp_path / "closed.weights.h5"
    with_bias(vgg, "block1_conv1", 1, -1000.0).save_weights(weights)  # map 1 can never open
    path = write_manifest(tmp_path, f"""
model: {{weights: {weights}}}
output: {{site: site, cache: cache}}
defaults: {{method: natural, filters: 3, natural: {{steps: 4, image_size: 32, snapshots: [4], revive: {{at: 2}}}}}}
layers:
  block1_conv1: {{}}
""")
    build(load_manifest(path), progress=False)
    site = tmp_path / "site"
    data = json.loads((site / "data" / "block1_conv1" / "natural.json").read_text())
    revived = {f["index"]: f["revived_at"] for f in data["filters"]}
    assert revived[1] == 2 and data["filters"][1]["status"] == "dead"
    assert data["settings"]["revive"] == {"at": 2, "top": 0.02, "grid_jitter": True, "when": "closed_on_average"}
    count = sum(1 for step in revived.values() if step)
    layer_page = (site / "layers" / "block1_conv1.html").read_text()
    assert f"<strong>{count}</strong> revived at step 2" in layer_page
    assert "(revived at 2)" in layer_page
    filter_page = (site / "filters" / "block1_conv1" / "001.html").read_text()
    assert "<dt>Revived</dt><dd>at step 2 its map was still closed on average (pre-ReLU mean at most 0)" in filter_page
    assert "revived: strongest positions from here" in filter_page  # the loss chart's marker
    # the quality table reads the same site: 3 filters, the revived ones counted with how many opened
    sys.path.insert(0, str(REPO / "bench"))
    import natural_quality

    natural_quality.from_site(site)
    opened = sum(1 for f in data["filters"] if (f["activation"] or 0) > 0)
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("block1_conv1"))
    assert row.split()[:3] == ["block1_conv1", "natural", f"{opened}/3"]
    revived_opened = sum(1 for f in data["filters"] if f["revived_at"] and (f["activation"] or 0) > 0)
    assert f"{count} ({revived_opened})" in row


def test_results_from_before_revive_when_read_as_closed_everywhere():
    """Data written before `revive.when` existed revived only maps closed everywhere, and say so."""
    from types import SimpleNamespace

    from generator.site.context import revived_counts
    from generator.site.writer import jinja_environment

    closed_as = jinja_environment().get_template("captions.html").module.closed_as  # the words pages use

    filters = [SimpleNamespace(revived_at=2, status="ok"), SimpleNamespace(revived_at=None, status="ok")]
    old = SimpleNamespace(settings={"revive": {"at": 2, "top": 0.02, "grid_jitter": True}}, filters=filters)
    assert str(closed_as(revived_counts(old).when)) == "closed everywhere"
    assert revived_counts(old).count == 1 and revived_counts(old).opened == 1
    new = SimpleNamespace(settings={"revive": {**old.settings["revive"], "when": "closed_on_average"}}, filters=filters)
    assert str(closed_as(revived_counts(new).when)).startswith("closed on average")


def test_an_entry_of_the_previous_cache_format_is_recomputed_quietly(built, tmp_path, capsys):
    """An outdated entry is not damaged: no warning, the layer is computed again, the data are the same."""
    import shutil

    from generator.store.cache import CACHE_FORMAT, ResultStore

    folder, _, _ = built
    shutil.copytree(folder / "cache", tmp_path / "cache")
    entry = next((tmp_path / "cache" / "block2_conv2" / "pixel").iterdir())
    record = json.loads((entry / "result.json").read_text())
    record["cache_format"] = CACHE_FORMAT - 1
    (entry / "result.json").write_text(json.dumps(record))
    assert ResultStore(tmp_path / "cache").load("block2_conv2", "pixel", record["key"]) is None
    capsys.readouterr()
    report = build(load_manifest(write_manifest(tmp_path, TINY)), progress=False)
    assert [r.cached for r in report.layers] == [True, False, True]
    assert "damaged" not in capsys.readouterr().err
    rewritten = json.loads((entry / "result.json").read_text())
    assert rewritten["cache_format"] == CACHE_FORMAT
    for job in report.layers:
        path = Path("data") / job.layer / "pixel.json"
        before, after = (json.loads((site / path).read_text()) for site in (folder / "site", tmp_path / "site"))
        assert after == before, job.layer
