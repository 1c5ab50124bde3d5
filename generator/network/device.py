"""The machine the network runs on: CPU or GPU, the batch size that fits, what to record about it."""

from __future__ import annotations

import platform

import numpy as np

from ..architecture import CONV_LAYERS, feature_map_size, layer_index

# Batch size on a CPU: large enough to keep the cores busy, small enough that
# the activations kept for the backward pass stay in a few GB.
CPU_MEMORY_BUDGET = 3 * 1024**3
CPU_MAX_BATCH = 16


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


def auto_batch_size(layer: str, image_size: int, filters: int, gpu: bool) -> int:
    """`batch_size: auto`: all filters at once on a GPU; memory-bounded chunks on a CPU."""
    if gpu:
        return filters
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
