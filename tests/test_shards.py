"""Work units and shards: the plan covers every filter once, shards + merge = one build, bad input is refused."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from generator.cli import main
from generator.config import load_manifest
from generator.plan.shards import assign, balance, parse_shard, shard_units, unit_flops
from generator.plan.units import manifest_units

from conftest import REPO, as_from_a_terminal, write_manifest

SMALL = """
model: {weights: random, random_seed: 2}
output: {site: site, cache: cache}
defaults: {methods: [pixel, natural], filters: 5, chunk: 2, image_size: 32, iterations: 2,
           natural: {steps: 2, image_size: 32, snapshots: [1, 2]}}
layers:
  block1_conv1: {}
  block2_conv1: {filters: [9, 3, 7]}
  block3_conv1: {chunk: 5}
"""


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_units_cover_every_filter_of_every_layer_method_exactly_once(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, SMALL))
    units = manifest_units(manifest)
    for job in manifest.jobs:
        mine = [u for u in units if (u.layer, u.method) == (job.layer, job.settings.method)]
        assert [i for u in mine for i in u.settings.filters] == list(job.settings.filters)
        assert all(len(u.settings.filters) <= job.settings.chunk for u in mine)
    assert len(units) == 2 * (3 + 2 + 1)
    for shards in (1, 2, 3, 7, 20):
        assigned = assign(units, unit_flops, shards)
        assert sorted(u.name for shard in assigned for u in shard) == sorted(u.name for u in units)
        assert [list(shard_units(units, k, shards)) for k in range(1, shards + 1)] == assigned
        assert assign(units, unit_flops, shards) == assigned  # deterministic


def test_the_assignment_is_balanced_on_the_full_gallery():
    units = manifest_units(load_manifest(REPO / "gallery-all.yaml")) if (REPO / "gallery-all.yaml").exists() \
        else manifest_units(load_manifest(REPO / "gallery.yaml"))
    assigned = assign(units, unit_flops, 20)
    largest = max(map(unit_flops, units))
    mean = sum(map(unit_flops, units)) / 20
    assert balance(assigned, unit_flops) <= 1 + largest / mean


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "3", "1/0", ""])
def test_bad_shards_are_one_line_errors_before_anything_is_written(tmp_path, capsys, text):
    path = write_manifest(tmp_path, SMALL)
    assert main(["build", str(path), "--shard", text, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --shard: ") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gallery.yaml"]


def test_plan_prints_units_costs_and_the_balance(tmp_path, capsys):
    path = write_manifest(tmp_path, SMALL)
    assert main(["plan", str(path), "--shards", "3"]) == 0
    out = capsys.readouterr().out
    assert "block2_conv1 natural 3-3/3" in out and "longest / mean = " in out and "3/3" in out
    assert main(["plan", str(path), "--shards", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["shards"] == 3 and len(data["units"]) == 12 and {u["shard"] for u in data["units"]} == {1, 2, 3}
    assert main(["plan", str(path), "--shards", "0"]) == 2


@pytest.mark.slow
def _photos(folder: Path) -> None:
    """Two small photos for the dataset examples, which the first shard computes."""
    import numpy as np
    from PIL import Image

    (folder / "photos").mkdir()
    rng = np.random.default_rng(8)
    for name in ("one", "two"):
        Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(folder / "photos" / f"{name}.png")


def test_three_shards_merged_give_the_bytes_of_one_build(tmp_path, capsys):
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    for folder in (whole, sharded):
        folder.mkdir()
        _photos(folder)
        write_manifest(folder, SMALL + "examples: {images: photos, top: 2}\n")
    assert main(["build", str(whole / "gallery.yaml"), "--no-progress"]) == 0
    for k in (1, 2, 3):
        assert main(["build", str(sharded / "gallery.yaml"), "--shard", f"{k}/3", "--cache",
                     str(sharded / f"shard-{k}"), "--no-progress"]) == 0
    assert not (sharded / "site").exists() and not (sharded / "cache").exists()  # shards render nothing
    caches = [str(sharded / f"shard-{k}") for k in (1, 2, 3)]
    assert main(["merge", str(sharded / "gallery.yaml"), *caches]) == 0
    assert main(["site", str(sharded / "gallery.yaml")]) == 0
    for part in ("data", "images"):
        assert _files(sharded / "site" / part) == _files(whole / "site" / part)
    assert (sharded / "site" / "data" / "block3_conv1" / "examples.json").is_file()
    capsys.readouterr()
    # merging again changes nothing; merging another manifest's shards is refused, and writes nothing
    assert main(["merge", str(sharded / "gallery.yaml"), *caches]) == 0
    assert "0 units copied" in capsys.readouterr().out
    other = write_manifest(tmp_path, SMALL.replace("iterations: 2", "iterations: 3"))
    assert main(["merge", str(other), *caches]) == 2
    err = capsys.readouterr().err
    assert "built from another manifest" in err and err.count("\n") == 1
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_merge_refuses_missing_caches_other_weights_and_a_busy_target(tmp_path, capsys):
    from generator.store import BuildLock

    path = write_manifest(tmp_path, SMALL)
    assert main(["build", str(path), "--shard", "1/2", "--cache", str(tmp_path / "s1"), "--no-progress"]) == 0
    other = tmp_path / "other"
    other.mkdir()
    write_manifest(other, SMALL.replace("random_seed: 2", "random_seed: 5"))
    capsys.readouterr()
    assert main(["merge", str(path), str(tmp_path / "nope")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    with BuildLock(tmp_path / "cache" / ".lock", "the cache"):
        assert main(["merge", str(path), str(tmp_path / "s1")]) == 2
    assert "is busy" in capsys.readouterr().err
    assert main(["build", str(other / "gallery.yaml"), "--shard", "2/2", "--cache", str(tmp_path / "s2"),
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["merge", str(path), str(tmp_path / "s1"), str(tmp_path / "s2")]) == 2
    assert "another manifest" in capsys.readouterr().err  # another random seed: other weights, other plan
    assert not [p for p in (tmp_path / "cache").rglob("result.json")]


@pytest.mark.slow
def test_changing_only_filters_recomputes_only_the_changed_units(tmp_path, capsys):
    path = write_manifest(tmp_path, SMALL)
    assert main(["build", str(path), "--no-progress"]) == 0
    capsys.readouterr()
    write_manifest(tmp_path, SMALL.replace("filters: [9, 3, 7]", "filters: [9, 3, 7, 8]"))
    assert main(["build", str(path), "--no-progress"]) == 0
    computing = [line for line in capsys.readouterr().err.splitlines() if line.startswith("computing ")]
    # block2_conv1's chunks were [9, 3] and [7]; now [9, 3] and [7, 8]: only the second is new
    assert computing == ["computing block2_conv1 pixel 3-4/4: 2 filters, batch 2",
                         "computing block2_conv1 natural 3-4/4: 2 filters, batch 2"]


@pytest.mark.slow
def test_a_killed_shard_resumes_at_its_unfinished_unit(tmp_path):
    slow = SMALL.replace("block3_conv1: {chunk: 5}", "block3_conv1: {chunk: 5}\n  block5_conv1: "
                         "{filters: 8, chunk: 8, image_size: 64, iterations: 60, batch_size: 2, methods: [pixel]}")
    path = write_manifest(tmp_path, slow)
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "generator", "build", str(path), "--shard", "1/1", "--cache",
               str(tmp_path / "s"), "--no-progress"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=as_from_a_terminal)
    try:
        for line in process.stderr:
            if line.startswith("computing block5_conv1"):
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130 and "12 of 13 work units are kept" in err, err
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    computing = [line for line in again.stderr.splitlines() if line.startswith("computing ")]
    assert computing == ["computing block5_conv1 pixel 1-8/8: 8 filters, batch 2"]
    assert "13 units (1 computed, 12 cached)" in again.stdout


@pytest.mark.slow
def test_shards_sharing_one_cache_merge_to_the_whole_builds_bytes_and_chunk_size_only_rounds(tmp_path, capsys):
    whole, sharded, unchunked = tmp_path / "whole", tmp_path / "sharded", tmp_path / "unchunked"
    for folder, text in ((whole, SMALL), (sharded, SMALL),
                         (unchunked, SMALL.replace(" chunk: 2,", "").replace("{chunk: 5}", "{}"))):
        folder.mkdir()
        write_manifest(folder, text)
    assert main(["build", str(whole / "gallery.yaml"), "--no-progress"]) == 0
    assert main(["build", str(unchunked / "gallery.yaml"), "--no-progress"]) == 0  # chunk 64: one unit a layer
    for k in (1, 2):  # two shards of one plan in one folder: both records stay
        assert main(["build", str(sharded / "gallery.yaml"), "--shard", f"{k}/2", "--cache",
                     str(sharded / "shared"), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["merge", str(sharded / "gallery.yaml"), str(sharded / "shared")]) == 0
    captured = capsys.readouterr()
    assert "12 units copied" in captured.out and "warning" not in captured.err
    assert main(["site", str(sharded / "gallery.yaml")]) == 0
    for part in ("data", "images"):
        assert _files(sharded / "site" / part) == _files(whole / "site" / part)
    _assert_same_but_rounding(_files(unchunked / "site" / "images"), _files(whole / "site" / "images"))


def _assert_same_but_rounding(these: dict[str, bytes], those: dict[str, bytes]) -> None:
    """The same images, up to float rounding: other batches, on kernels whose sums follow the batch size
    (oneDNN's AVX2 ones), round differently, and a few steps amplify that into a few grey levels."""
    import io

    from PIL import Image

    assert set(these) == set(those)
    for name in (name for name in these if name.endswith(".png")):
        a, b = (np.asarray(Image.open(io.BytesIO(files[name])), np.int16) for files in (these, those))
        assert a.shape == b.shape and np.abs(a - b).mean() < 0.5, (name, np.abs(a - b).mean())


def test_a_shard_cache_inside_the_site_is_refused(tmp_path, capsys):
    path = write_manifest(tmp_path, SMALL)
    assert main(["build", str(path), "--shard", "1/2", "--cache", str(tmp_path / "site" / "c"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --cache: ") and "inside the site folder" in err
    assert not (tmp_path / "site").exists()


def test_merge_takes_gallery_yaml_when_the_manifest_is_left_out(tmp_path, monkeypatch, capsys):
    from generator.cli import parse_args

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path)
    args = parse_args(["merge", "a", "b"])
    assert (str(args.manifest), [str(c) for c in args.caches]) == ("gallery.yaml", ["a", "b"])
    args = parse_args(["merge", "other.yaml", "a"])
    assert (str(args.manifest), [str(c) for c in args.caches]) == ("other.yaml", ["a"])
