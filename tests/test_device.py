"""`batch_size: auto`: on a GPU sized from its memory (faked here), on a CPU as before; nvidia-smi's answer read."""

from __future__ import annotations

import subprocess

import pytest

from generator.network import device
from generator.network.device import (CPU_MAX_BATCH, CPU_MEMORY_BUDGET, GPU_MEMORY_SHARE,
                                      activation_bytes_per_image, auto_batch_size, conv_weights_bytes)

GiB = 1024**3
ASK_DRIVER = device.gpu_memory_bytes  # the real one, some tests replace it


@pytest.fixture(autouse=True)
def fresh_memory_answer(monkeypatch):
    """gpu_memory_bytes keeps its answer for the process: each test asks afresh, with a known environment."""
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    ASK_DRIVER.cache_clear()
    yield
    ASK_DRIVER.cache_clear()


def test_the_weights_are_vgg16s_conv_stack():
    assert conv_weights_bytes() == 14_714_688 * 4  # Keras' VGG16(include_top=False): 14,714,688 parameters


def test_one_gib_gives_the_batch_of_the_formula():
    per_image = activation_bytes_per_image("block1_conv1", 224)
    assert per_image == 3 * 224 * 224 * 64 * 4
    expected = (int(GiB * GPU_MEMORY_SHARE) - conv_weights_bytes()) // per_image
    assert expected == 17
    assert auto_batch_size("block1_conv1", 224, 64, True, memory_bytes=GiB) == expected


def test_deeper_layers_and_larger_images_get_smaller_batches():
    memory = 16 * GiB
    sizes = [auto_batch_size(layer, 224, 512, True, memory_bytes=memory)
             for layer in ("block1_conv1", "block2_conv1", "block3_conv1", "block5_conv3")]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    assert auto_batch_size("block3_conv1", 448, 256, True, memory_bytes=memory) < sizes[2]


def test_a_huge_memory_gives_all_filters():
    assert auto_batch_size("block5_conv3", 224, 512, True, memory_bytes=1024 * GiB) == 512
    assert auto_batch_size("block1_conv1", 224, 64, True, memory_bytes=139 * GiB) == 64


def test_a_memory_below_the_weights_still_gives_one():
    assert auto_batch_size("block5_conv3", 1024, 512, True, memory_bytes=64 * 1024**2) == 1


def test_an_unknown_memory_gives_all_filters(monkeypatch):
    monkeypatch.setattr(device, "gpu_memory_bytes", lambda: None)
    assert auto_batch_size("block5_conv3", 224, 512, True) == 512
    assert auto_batch_size("block1_conv1", 224, 7, True) == 7


def test_on_a_gpu_without_memory_given_the_driver_is_asked(monkeypatch):
    monkeypatch.setattr(device, "gpu_memory_bytes", lambda: GiB)
    assert auto_batch_size("block1_conv1", 224, 64, True) == 17  # the four-argument call of the build
    two = (int(2 * GiB * GPU_MEMORY_SHARE) - conv_weights_bytes()) // activation_bytes_per_image("block1_conv1", 224)
    assert auto_batch_size("block1_conv1", 224, 64, True, memory_bytes=2 * GiB) == two == 37  # given wins


@pytest.mark.parametrize("layer, size, filters", [("block1_conv1", 224, 64), ("block4_conv3", 224, 512),
                                                  ("block5_conv3", 1024, 512), ("block2_conv1", 64, 5)])
def test_the_cpu_rule_is_unchanged(monkeypatch, layer, size, filters):
    def never():
        raise AssertionError("a CPU build must not ask for GPU memory")

    monkeypatch.setattr(device, "gpu_memory_bytes", never)
    by_memory = max(1, CPU_MEMORY_BUDGET // activation_bytes_per_image(layer, size))
    expected = max(1, min(filters, CPU_MAX_BATCH, by_memory))
    assert auto_batch_size(layer, size, filters, False) == expected
    assert auto_batch_size(layer, size, filters, False, memory_bytes=GiB) == expected


# -- gpu_memory_bytes: nvidia-smi's answer --------------------------------------------


def _fake_smi(monkeypatch, answer="143771\n", error: Exception | None = None) -> list:
    calls: list = []

    def run(command, **options):
        calls.append((command, options))
        if error is not None:
            raise error
        return subprocess.CompletedProcess(command, 0, stdout=answer, stderr="")

    monkeypatch.setattr(device.subprocess, "run", run)
    return calls


def test_the_total_memory_of_gpu_0_in_bytes(monkeypatch):
    calls = _fake_smi(monkeypatch, "143771\n")
    assert device.gpu_memory_bytes() == 143771 * 1024**2
    ((command, options),) = calls
    assert command[0] == "nvidia-smi" and "--id=0" in command
    assert "--query-gpu=memory.total" in command and "--format=csv,noheader,nounits" in command
    assert 0 < options["timeout"] <= 10
    assert device.gpu_memory_bytes() == 143771 * 1024**2 and len(calls) == 1  # asked once per process


@pytest.mark.parametrize("error", [FileNotFoundError("nvidia-smi"), PermissionError("nvidia-smi"),
                                   subprocess.TimeoutExpired("nvidia-smi", 5),
                                   subprocess.CalledProcessError(9, "nvidia-smi")], ids=type)
def test_no_driver_no_answer_or_a_failure_is_unknown(monkeypatch, error):
    _fake_smi(monkeypatch, error=error)
    assert device.gpu_memory_bytes() is None


@pytest.mark.parametrize("answer", ["", "[N/A]\n", "0\n", "Insufficient Permissions\n"])
def test_an_answer_that_is_no_size_is_unknown(monkeypatch, answer):
    _fake_smi(monkeypatch, answer)
    assert device.gpu_memory_bytes() is None


def test_the_first_visible_device_is_the_one_asked(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    calls = _fake_smi(monkeypatch, "81559\n")
    assert device.gpu_memory_bytes() == 81559 * 1024**2
    assert "--id=2" in calls[0][0]


@pytest.mark.parametrize("visible", ["", "-1", "MIG-5bd7c1a4-7d3e-5f0e-9d5b-2a6f1c3e4b77"])
def test_no_visible_gpu_or_a_mig_slice_is_unknown_without_asking(monkeypatch, visible):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    calls = _fake_smi(monkeypatch)
    assert device.gpu_memory_bytes() is None and calls == []
