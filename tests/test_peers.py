"""The peer benchmark (bench/peers/): scoring, the table, the weights file, the venv specs.

Fast tests only run numpy and the scorer's arithmetic; the ones that build Keras' VGG16 are
marked slow. Nothing here creates a peer venv or runs a peer.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO

PEERS = REPO / "bench" / "peers"
sys.path.insert(0, str(PEERS))

import common  # noqa: E402
import envs  # noqa: E402
import score  # noqa: E402


def _load(name: str, file: str):
    spec = importlib.util.spec_from_file_location(name, PEERS / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checkerboard(size: int = 32) -> np.ndarray:
    board = (np.indices((size, size)).sum(axis=0) % 2) * 255
    return np.repeat(board[:, :, None], 3, axis=2).astype(np.uint8)


def test_flat_and_checkerboard_images_score_as_expected():
    flat = np.full((32, 32, 3), 128, np.uint8)
    images = np.stack([flat, _checkerboard()])
    means = np.array([[0.0, 2.0, 1.0], [3.0, 1.0, 5.0]])  # image 0 targets map 0, image 1 map 1
    flat_score, board_score = score.score_images(images, [0, 1], means)
    assert flat_score.hf_share == 0.0 and flat_score.grey_spread == 0.0
    assert flat_score.rank == 3 and not flat_score.alive  # 0.0 is not alive: the map is closed
    assert board_score.hf_share == pytest.approx(1.0)  # all its energy is at the Nyquist frequency
    assert board_score.grey_spread == pytest.approx(127.5)
    assert board_score.rank == 3 and board_score.activation == 1.0 and board_score.alive


def test_summary_takes_medians_and_counts_the_living():
    scores = [score.ImageScore(a, r, h, g) for a, r, h, g in
              [(1.0, 1, 0.1, 10.0), (0.0, 9, 0.3, 30.0), (5.0, 3, 0.2, 20.0)]]
    summary = score.summary(scores)
    assert summary == {"images": 3, "alive": 2, "activation": 1.0, "rank": 3.0, "hf_share": 0.2,
                       "grey_spread": 20.0}


def _record(rate: float) -> dict:
    return {"image_steps_per_second": rate,
            "summary": {"images": 8, "alive": 7, "activation": 12.345, "rank": 1.5, "hf_share": 0.0421,
                        "grey_spread": 33.33}}


def test_table_gives_ratios_against_this_project_and_the_reasons_of_failures():
    rows = score.table_rows({"ours": _record(10.0), "lucent": _record(2.5)},
                            {"xplique": "not installable: pip install failed"})
    assert rows[0] == ["this project (natural)", "10.00", "1.00×", "7/8", "12.3", "1.5", "0.042", "33.3"]
    assert rows[1][:3] == ["Lucent", "2.50", "0.25×"]
    assert rows[2][:2] == ["Xplique", "not installable: pip install failed"]
    table = score.markdown_table(rows).splitlines()
    assert table[0].startswith("| tool | image-steps/s | ratio vs this project |")
    assert all(line.count("|") == len(score.COLUMNS) + 1 for line in table)


def test_without_this_project_the_ratio_is_left_out():
    assert score.table_rows({"lucent": _record(2.5)}, {})[0][2] == "–"


def test_weights_file_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    weights = {name: (rng.normal(size=(3, 3, 4, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32))
               for name in ("block1_conv1", "block1_conv2")}
    common.save_weights(tmp_path / common.WEIGHTS_FILE, weights)
    loaded = common.conv_weights(tmp_path)
    assert list(loaded) == list(weights)  # network order is kept
    for name, (kernel, bias) in weights.items():
        np.testing.assert_array_equal(loaded[name][0], kernel)
        np.testing.assert_array_equal(loaded[name][1], bias)


def test_unit_to_uint8_rounds_and_clips():
    np.testing.assert_array_equal(common.unit_to_uint8(np.array([-0.1, 0.0, 0.5, 1.0, 1.2, np.nan])),
                                  [0, 0, 128, 255, 255, 128])


def test_lucent_stack_names_the_layers_as_keras_does():
    from generator.architecture import CONV_LAYER_NAMES

    lucent = _load("peers_tool_lucent", "tool_lucent.py")  # imports no torch until it runs
    assert tuple(lucent.layer_names()) == CONV_LAYER_NAMES


def test_peer_venvs_are_pinned_and_their_stamp_follows_the_spec():
    for tool, spec in envs.SPECS.items():
        assert all("==" in name for name in spec.packages[:2] + spec.no_deps), tool
    assert envs.SPECS["xplique"].no_deps == ("xplique==2.0.2",)
    assert "tf-keras-vis==0.8.7" in envs.SPECS["tf-keras-vis"].packages
    assert envs.SPECS["lucent"].no_deps == ("torch-lucent==0.1.8",)
    assert envs.run_env("tf-keras-vis")["TF_CPP_MIN_LOG_LEVEL"]
    assert "VIRTUAL_ENV" not in envs.run_env("lucent")
    digests = {spec.digest() for spec in envs.SPECS.values()}
    assert len(digests) == len(envs.SPECS) and envs.SPECS["lucent"].digest() == envs.SPECS["lucent"].digest()


def test_tools_are_ordered_with_this_project_first_and_unknown_ones_refused(capsys):
    run = _load("peers_run", "run.py")
    assert run.parse_args(["--tools", "lucent,ours"]).tools == ["ours", "lucent"]
    with pytest.raises(SystemExit):
        run.parse_args(["--tools", "lucid"])
    assert "unknown tool" in capsys.readouterr().err


def test_lucent_runs_twice_in_one_venv_the_variant_at_a_128_px_model_input(tmp_path, monkeypatch):
    run = _load("peers_run_variant", "run.py")
    assert run.parse_args([]).tools[-2:] == ["lucent", "lucent-128"]
    commands, venvs_asked = [], []
    monkeypatch.setattr(run.envs, "ensure", lambda tool, rebuild=False: venvs_asked.append(tool) or Path("py"))

    def fake_run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 1)

    monkeypatch.setattr(run.subprocess, "run", fake_run)
    args = run.parse_args(["--tools", "lucent-128", "--work", str(tmp_path)])
    assert run.run_tool("lucent-128", args).startswith("failed")
    assert venvs_asked == ["lucent"]
    command = commands[0]
    assert command[1].endswith("tool_lucent.py") and command[-2:] == ["--model-size", "128"]
    assert command[command.index("--tool") + 1] == "lucent-128"
    assert score.LABELS["lucent-128"].startswith("Lucent")


def test_a_runner_saves_under_the_name_it_is_given(tmp_path):
    args = common.parse_args("", ["--work", str(tmp_path), "--filters", "1", "--size", "4", "--tool", "lucent-128"])
    folder = common.save_result(args, "lucent", np.zeros((1, 4, 4, 3), np.uint8), 2.0, 1.0, {}, [])
    assert folder == tmp_path / "lucent-128" and json.loads((folder / "result.json").read_text())["tool"] == "lucent-128"


@pytest.mark.slow
def test_weights_npz_round_trips_into_keras_vgg16_with_caffe_in_front(tmp_path, random_vgg):
    import keras
    import tensorflow as tf

    from generator.architecture import CONV_LAYER_NAMES
    from generator.methods.spectral import caffe_from_unit
    from generator.network.weights import weights_sha256

    vgg, info = random_vgg
    common.save_weights(tmp_path / common.WEIGHTS_FILE,
                        {name: tuple(vgg.get_layer(name).get_weights()) for name in CONV_LAYER_NAMES})
    free = common.keras_vgg(keras, tmp_path, None, caffe_from=None)
    assert weights_sha256(free) == info.sha256
    fixed = common.keras_vgg(keras, tmp_path, 32, caffe_from="unit")
    assert weights_sha256(fixed) == info.sha256 and fixed.input_shape == (None, 32, 32, 3)
    rgb = tf.random.uniform((2, 32, 32, 3), seed=1)
    np.testing.assert_allclose(fixed(rgb).numpy(), free(caffe_from_unit(rgb)).numpy(), rtol=1e-4, atol=1e-3)


@pytest.mark.slow
def test_scorer_reads_a_tools_folder(tmp_path, random_vgg):
    from PIL import Image

    from generator.architecture import CONV_LAYER_NAMES

    vgg, _ = random_vgg
    common.save_weights(tmp_path / common.WEIGHTS_FILE,
                        {name: tuple(vgg.get_layer(name).get_weights()) for name in CONV_LAYER_NAMES})
    folder = tmp_path / "ours"
    folder.mkdir()
    for index in range(2):
        Image.fromarray(_checkerboard(), "RGB").save(folder / f"f{index:03d}.png")
    (folder / "result.json").write_text(json.dumps({"filters": [0, 1], "image_steps_per_second": 1.0}))
    record = score.score_tool(score.extractor_from(tmp_path, "block1_conv2"), folder)
    assert record["summary"]["images"] == 2 and len(record["scores"]) == 2
    assert 1 <= record["summary"]["rank"] <= 64


def test_a_tool_that_cannot_be_installed_becomes_a_row_not_an_error(tmp_path, monkeypatch):
    run = _load("peers_run_install", "run.py")

    def refuse(tool, rebuild=False):
        raise envs.NotInstallable("pip install torch==2.13.0 failed (exit 1): no matching distribution")

    monkeypatch.setattr(run.envs, "ensure", refuse)
    args = run.parse_args(["--tools", "lucent", "--work", str(tmp_path)])
    reason = run.run_tool("lucent", args)
    assert reason.startswith("not installable: pip install torch==2.13.0 failed")
    row = score.table_rows({}, {"lucent": reason})[0]
    assert row[:2] == ["Lucent", reason]
