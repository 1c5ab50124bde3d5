"""What every runner shares, in whatever venv it runs: arguments, the weights file, the result files.

Only numpy and Pillow at import time (every peer venv has them); Keras is passed in by the
runner that needs it (Keras 3 for Xplique, tf-keras for tf-keras-vis), so the same
`keras_vgg` builds the model in both.

A runner writes into <work>/<tool>/: f000.png ... (8-bit RGB, one per filter, named by the
filter index) and result.json: seconds of the optimization loop, seconds of the set-up
(imports and model build), the image-steps, versions and notes.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
WEIGHTS_FILE = "weights.npz"  # in the work folder: kernel and bias of each conv layer, by name
STARTED = time.perf_counter()  # the runner's start: set-up seconds are counted from here


def parse_args(description: str, argv: list[str] | None = None, extend=None) -> argparse.Namespace:
    """The arguments every runner takes; extend(parser) adds a runner's own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--work", type=Path, required=True, help="the bench's work folder")
    parser.add_argument("--layer", default="block4_conv1")
    parser.add_argument("--filters", type=int, default=8, help="the first N filters, one batch")
    parser.add_argument("--steps", type=int, default=128)
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tool", default=None, help="the name its results go under (default: the runner's)")
    if extend is not None:
        extend(parser)
    return parser.parse_args(argv)


def conv_weights(work: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{layer name: (kernel (3, 3, in, out), bias (out,))}, float32, in network order."""
    with np.load(work / WEIGHTS_FILE) as data:
        names = [str(name) for name in data["names"]]
        return {name: (data[f"{name}/kernel"], data[f"{name}/bias"]) for name in names}


def save_weights(path: Path, weights: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    arrays = {"names": np.array(list(weights))}
    for name, (kernel, bias) in weights.items():
        arrays[f"{name}/kernel"] = np.asarray(kernel, np.float32)
        arrays[f"{name}/bias"] = np.asarray(bias, np.float32)
    np.savez(path, **arrays)


def keras_vgg(keras, work: Path, size: int | None, caffe_from: str | None):
    """Keras' VGG16(weights=None, include_top=False) with the work folder's weights, set by layer name.

    size: a fixed square input (static shapes, which Xplique needs), or None for a free size.
    caffe_from: 'unit' (RGB in [0, 1]), '255' (RGB in [0, 255]) or None: the caffe preprocessing
    (x 255 for 'unit', RGB -> BGR, ImageNet mean removed) as a layer in front of the network.
    """
    import tensorflow as tf

    class Caffe(keras.layers.Layer):
        def call(self, x):
            scale = 255.0 if caffe_from == "unit" else 1.0
            return tf.reverse(x, axis=[-1]) * scale - tf.constant(CAFFE_MEAN_BGR, x.dtype)

    inputs = keras.Input((size, size, 3), name="rgb")
    net_input = Caffe(name="caffe")(inputs) if caffe_from else inputs
    vgg = keras.applications.VGG16(weights=None, include_top=False, input_tensor=net_input)
    for name, (kernel, bias) in conv_weights(work).items():
        vgg.get_layer(name).set_weights([kernel, bias])
    return vgg


def unit_to_uint8(images: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] -> 8-bit, rounded (the rounding this project's own images get)."""
    return np.clip(np.nan_to_num(np.asarray(images, np.float64), nan=0.5) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def timed(run):
    """(result, seconds) of run()."""
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def save_result(args, tool: str, images: np.ndarray, seconds: float, setup_seconds: float,
                versions: dict[str, str], notes: list[str]) -> Path:
    """Write the 8-bit images and result.json into <work>/<tool>/."""
    from PIL import Image

    tool = args.tool or tool
    folder = args.work / tool
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("f*.png"):
        old.unlink()
    filters = list(range(args.filters))
    assert images.shape == (len(filters), args.size, args.size, 3) and images.dtype == np.uint8, images.shape
    for index, image in zip(filters, images):
        Image.fromarray(image, "RGB").save(folder / f"f{index:03d}.png")
    record = {"tool": tool, "layer": args.layer, "filters": filters, "steps": args.steps, "size": args.size,
              "seconds": seconds, "setup_seconds": setup_seconds,
              "image_steps_per_second": len(filters) * args.steps / seconds,
              "versions": versions, "notes": notes}
    (folder / "result.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    print(f"{tool}: {len(filters)} x {args.steps} steps in {seconds:.1f} s "
          f"({record['image_steps_per_second']:.2f} image-steps/s); set-up {setup_seconds:.1f} s", flush=True)
    return folder


def setup_seconds() -> float:
    return time.perf_counter() - STARTED
