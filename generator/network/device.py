"""The machine the network runs on: CPU or GPU, the batch size that fits, what to record about it."""

from __future__ import annotations

import functools
import os
import platform
import subprocess

import numpy as np

from ..architecture import CONV_LAYERS, feature_map_size, layer_index

# Batch size on a CPU: large enough to keep the cores busy, small enough that
# the activations kept for the backward pass stay in a few GB.
CPU_MEMORY_BUDGET = 3 * 1024**3
CPU_MAX_BATCH = 16

# Batch size on a GPU: as many images as the activations of the forward and backward pass fit
# in this share of the device's memory, less the weights. The rest is left to what the estimate
# does not count: cuDNN's workspaces, the allocator's fragmentation, Adam's moments, the images and
# their snapshots. A batch that does not fit after all is halved by the build (out of memory).
GPU_MEMORY_SHARE = 0.7
NVIDIA_SMI_TIMEOUT = 5  # seconds: a hung driver must not hold up the build


def on_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def activation_bytes_per_image(layer: str, image_size: int) -> int:
    """Rough float32 memory the forward+backward pass keeps per image up to `layer`."""
    total = 0
    for name, channels in CONV_LAYERS[: layer_index(layer) + 1]:
        size = feature_map_size(name, image_size)
        total += size * size * channels * 4
    return 3 * total  # conv output, ReLU output and its gradient


def conv_weights_bytes() -> int:
    """float32 bytes of the kernels and biases of VGG16's 13 conv layers (14.7 M parameters, 59 MB)."""
    total, inputs = 0, 3
    for _, channels in CONV_LAYERS:
        total += (3 * 3 * inputs + 1) * channels
        inputs = channels
    return 4 * total


def _visible_gpu() -> str | None:
    """The nvidia-smi id of TensorFlow's GPU 0: the first of CUDA_VISIBLE_DEVICES, else "0"; None if hidden."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return "0"
    first = visible.split(",")[0].strip()
    # none visible ("" or "-1"), or a MIG slice: its memory is not the whole GPU's memory.total
    if not first or first.startswith("-") or first.upper().startswith("MIG"):
        return None
    return first


@functools.lru_cache(maxsize=1)
def gpu_memory_bytes() -> int | None:
    """Total memory of GPU 0 in bytes, from nvidia-smi; None when it cannot be told (no driver, no answer)."""
    gpu = _visible_gpu()
    if gpu is None:
        return None
    command = ["nvidia-smi", f"--id={gpu}", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    try:
        answer = subprocess.run(command, capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT, check=True)
        mebibytes = int(answer.stdout.split()[0])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return mebibytes * 1024**2 if mebibytes > 0 else None


def gpu_batch_size(layer: str, image_size: int, filters: int, memory_bytes: int | None) -> int:
    """As many of `filters` as fit in GPU_MEMORY_SHARE of `memory_bytes` less the weights; all if it is unknown."""
    if memory_bytes is None:
        return filters
    usable = int(memory_bytes * GPU_MEMORY_SHARE) - conv_weights_bytes()
    return int(max(1, min(filters, usable // activation_bytes_per_image(layer, image_size))))


def auto_batch_size(layer: str, image_size: int, filters: int, gpu: bool, memory_bytes: int | None = None) -> int:
    """`batch_size: auto`: on a GPU as many filters as its memory holds (`memory_bytes`, else asked of the
    driver; all filters when it is unknown); on a CPU memory-bounded chunks of at most CPU_MAX_BATCH."""
    if gpu:
        return gpu_batch_size(layer, image_size, filters, gpu_memory_bytes() if memory_bytes is None else memory_bytes)
    by_memory = max(1, CPU_MEMORY_BUDGET // activation_bytes_per_image(layer, image_size))
    return int(max(1, min(filters, CPU_MAX_BATCH, by_memory)))


def environment_info(precision: str = "float32") -> dict[str, str]:
    """Library versions and the device, recorded with every result."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "device": f"GPU ({len(gpus)})" if gpus else "CPU",
        "precision": precision,
    }
