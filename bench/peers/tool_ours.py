"""This project's runner: the natural method (generator.methods.natural.natural_ascent), in our venv.

NaturalSettings at the project's defaults (the same parse a manifest's `natural:` block gets),
except the bench's filters (one batch), steps and image size. The network is Keras' VGG16
with the work folder's weights (weights.npz: the `hed` weights), free input size, as
load_vgg16 builds it, on the CPU kernels the `vgg-gallery` command picks (machine.prefer_onednn).
Timed: the natural_ascent call (its one-time tracing included, as each peer's first call
includes its own).
"""

from __future__ import annotations

import sys
from pathlib import Path

import common  # first: the set-up clock starts at its import
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def settings_for(args):
    """NaturalSettings at the project's defaults with the bench's filters, steps, size and batch."""
    from generator.architecture import CHANNELS
    from generator.config.schema import parse, sourced_defaults
    from generator.methods.natural import NaturalSettings

    values = sourced_defaults(NaturalSettings, "natural.")
    values.update({"filters": (list(range(args.filters)), "bench"), "steps": (args.steps, "bench"),
                   "image_size": (args.size, "bench"), "batch_size": (args.filters, "bench")})
    return parse(NaturalSettings, values, {"layer": args.layer, "channels": CHANNELS[args.layer]})


def describe(settings, runs, size: int) -> str:
    spec = settings.transforms
    canvas = spec.output_size(size) if spec is not None else size
    text = (f"spectral (decay {settings.decay_power}), decorrelate {settings.decorrelate}, Adam lr {settings.lr}, "
            f"{settings.objective} objective; model input {canvas} px")
    if settings.revive is not None:
        revived = sum(run.revived_at is not None for run in runs)
        text += f"; revived {revived} of {len(runs)} closed maps after step {settings.revive.at}"
    return text


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args(__doc__, argv)
    from generator.machine import prefer_onednn

    prefer_onednn()  # the CPU kernels `vgg-gallery` asks for, before TensorFlow is imported
    import keras
    import tensorflow as tf

    import generator
    from generator.methods.natural import natural_ascent
    from generator.methods.spectral import unit_to_uint8

    vgg = common.keras_vgg(keras, args.work, None, caffe_from=None)  # the method applies caffe itself
    settings = settings_for(args)
    setup = common.setup_seconds()
    runs, seconds = common.timed(lambda: natural_ascent(vgg, args.layer, settings, settings.batch_size))
    images = np.stack([unit_to_uint8(run.image) for run in runs])
    notes = [describe(settings, runs, args.size)]
    versions = {"vgg16-gallery": generator.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}
    common.save_result(args, "ours", images, seconds, setup, versions, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
