"""Xplique's runner (xplique 2.0.2, its own venv): `optimize` on `Objective.channel`.

The model: caffe preprocessing (RGB in [0, 1] -> x255 -> BGR -> minus the ImageNet mean) as a
layer in front of VGG16(weights=None, include_top=False, input_tensor=...) built on a fixed
128 px input (Objective.channel needs static layer shapes), weights set by layer name from
the work folder's weights.npz. One Objective.channel with the filter list: one image per
filter, one batch. optimize at its defaults (Adam 0.05, fft with decay 0.85, its standard
transformations, sigmoid) except nb_steps and custom_shape: its default (512, 512) optimizes a
512 px image and resizes it to the model's input; the bench's images are 128 px.
Objective: the layer's Keras output, i.e. after VGG16's ReLU. Timed: the optimize call.
"""

from __future__ import annotations

import common  # first: the set-up clock starts at its import


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args(__doc__, argv)
    import keras
    import tensorflow as tf
    import xplique
    from xplique.features_visualizations import Objective, optimize

    tf.random.set_seed(args.seed)
    model = common.keras_vgg(keras, args.work, args.size, caffe_from="unit")
    objective = Objective.channel(model, args.layer, list(range(args.filters)))
    setup = common.setup_seconds()
    (images, names), seconds = common.timed(
        lambda: optimize(objective, nb_steps=args.steps, custom_shape=(args.size, args.size)))
    final = common.unit_to_uint8(images[-1].numpy())
    notes = ["spectral (fft_decay 0.85), Xplique's recorrelation + sigmoid + per-image min-max stretch, "
             f"Adam 0.05, standard transformations, post-ReLU objective; model input {args.size} px"]
    versions = {"xplique": xplique.__version__, "tensorflow": tf.__version__, "keras": keras.__version__}
    common.save_result(args, "xplique", final, seconds, setup, versions, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
