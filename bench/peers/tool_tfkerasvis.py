"""tf-keras-vis's runner (0.8.7, its own venv, TensorFlow 2.21's tf.keras = Keras 3): ActivationMaximization.

It maximizes a score of the model's output: the model is the caffe preprocessing (its default
input_range is RGB in [0, 255]: -> BGR -> minus the ImageNet mean), VGG16 up to the target
layer (weights by layer name from weights.npz) and GlobalAveragePooling2D, so the score
CategoricalScore(filters) is each image's own map's mean (after VGG16's ReLU). Defaults
otherwise: pixel parameterization, RMSprop(1.0, 0.999), Jitter(4) and Rotate2D(1),
TotalVariation2D(1.0) and Norm(0.3, p=1), a uniform [0, 255] start (drawn here for the batch,
as its default draws it for one image). Timed: the ActivationMaximization call (eager).
"""

from __future__ import annotations

import common  # first: the set-up clock starts at its import


def main(argv: list[str] | None = None) -> int:
    args = common.parse_args(__doc__, argv)
    from importlib import metadata

    import numpy as np
    import tensorflow as tf
    import tf_keras_vis
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.utils.scores import CategoricalScore

    keras = tf.keras  # what tf-keras-vis itself calls: Keras 3 under TensorFlow 2.21
    tf.random.set_seed(args.seed)
    np.random.seed(args.seed)
    vgg = common.keras_vgg(keras, args.work, args.size, caffe_from="255")
    pooled = keras.layers.GlobalAveragePooling2D()(vgg.get_layer(args.layer).output)
    model = keras.Model(vgg.inputs, pooled)
    maximize = ActivationMaximization(model)
    seed_input = tf.random.uniform((args.filters, args.size, args.size, 3), 0, 255)
    filters = list(range(args.filters))
    setup = common.setup_seconds()
    images, seconds = common.timed(
        lambda: maximize(CategoricalScore(filters), seed_input=seed_input, steps=args.steps))
    final = np.clip(np.asarray(images, np.float64) + 0.5, 0, 255).astype(np.uint8)
    notes = ["pixels, RMSprop 1.0, jitter 4 + rotate 1, TV 1.0 + L1 0.3, post-ReLU map mean; "
             f"model input {args.size} px"]
    versions = {"tf-keras-vis": tf_keras_vis.__version__, "tensorflow": tf.__version__,
                "keras": metadata.version("keras")}
    common.save_result(args, "tf-keras-vis", final, seconds, setup, versions, notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
