"""Views of the loaded network that the methods optimize: truncated models and precision copies."""

from __future__ import annotations


def truncated(vgg, layer: str):
    """The model from VGG16's input to `layer`'s (post-ReLU) output."""
    import keras

    return keras.Model(inputs=vgg.inputs, outputs=vgg.get_layer(layer).output, name=f"to_{layer}")


def with_precision(vgg, precision: str):
    """The network to optimize with: itself for float32; a bfloat16-compute copy for `mixed`.

    bfloat16 keeps float32's range, so large activations cannot overflow as they can in
    float16; weights, gradients with respect to the image and Adam stay float32. The results
    are close to, not equal to, the float32 ones (the cache keeps them apart).
    """
    if precision == "float32":
        return vgg
    import keras
    from keras.applications import VGG16

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        copy = VGG16(weights=None, include_top=False)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    copy.set_weights(vgg.get_weights())
    return copy
