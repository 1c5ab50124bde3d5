"""Keras' Adam update, element-wise, shared by every method's step."""

from __future__ import annotations

# Keras' Adam defaults, which the original write-up uses.
BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7


def adam_update(x, m, v, grad, lr, t):
    """Keras Adam's update_step, element-wise; `t` is the 1-based step (a scalar or per image).

    (1 - beta) is computed in Python floats and then cast, exactly as Keras does it, so the
    results match Keras' optimizer to the last bit on the same gradients.
    """
    import tensorflow as tf

    beta_1 = tf.constant(BETA_1, tf.float32)
    beta_2 = tf.constant(BETA_2, tf.float32)
    alpha = lr * tf.sqrt(1 - tf.pow(beta_2, t)) / (1 - tf.pow(beta_1, t))
    m = m + (grad - m) * (1 - BETA_1)
    v = v + (tf.square(grad) - v) * (1 - BETA_2)
    return x - (m * alpha) / (tf.sqrt(v) + EPSILON), m, v
