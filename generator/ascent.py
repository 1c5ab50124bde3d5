"""The seed's "pixel" method, batched: gradient ascent on raw pixels with Adam.

Semantics (DESIGN.md §1), per filter k:
  x0   = the same start image for every filter (np.random.seed(seed); random * (high-low) + low)
  step = loss = mean(model(x)[..., k]); x <- Adam(x, -d loss/dx)
  stop = after the update of a step whose (pre-update) loss >= threshold, or after
         `iterations` steps; the reported loss is that last step's loss.

Batching is exact because Adam is element-wise and the per-image losses are
independent: with total = sum_i loss_i, d total / d x_i = d loss_i / d x_i.
The batch is a work queue: each image carries its own Adam step counter, a
filter that stops leaves the batch at once and the next pending filter takes
its place, so early stopping really shrinks the remaining work.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .config import LayerSettings

# Keras' Adam defaults, which the seed uses.
BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# Steps after which the picture is kept, to show how it forms (recorded only, never changes the result).
SNAPSHOT_STEPS = (1, 3, 10)


@dataclass
class FilterRun:
    """One filter's optimization, as it happened."""

    index: int
    history: list[float] = field(default_factory=list)
    max_abs_grad: float = 0.0
    reached_threshold: bool = False
    image: np.ndarray | None = None  # final float image (H, W, 3), unclipped
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> uint8 image after that step

    @property
    def steps(self) -> int:
        return len(self.history)

    @property
    def loss(self) -> float:
        return self.history[-1]

    @property
    def status(self) -> str:
        finite = np.all(np.isfinite(self.history)) and (
            self.image is None or bool(np.all(np.isfinite(self.image)))
        )
        if not finite:
            return "diverged"
        if self.max_abs_grad == 0.0 and all(value == 0.0 for value in self.history):
            return "dead"
        return "ok"


def start_image(size: int, seed: int, init: tuple[float, float]) -> np.ndarray:
    """The seed's start image, bit for bit: float64 draw, scaled, then cast to float32."""
    rng = np.random.RandomState(seed)  # the legacy global generator np.random.seed() drives
    low, high = init
    return (rng.random_sample((1, size, size, 3)) * (high - low) + low).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """What the user sees: clip to [0, 255] and truncate, as the seed's proc_img does."""
    return np.clip(np.nan_to_num(image, nan=0.0, posinf=255.0, neginf=0.0), 0, 255).astype(np.uint8)


def preprocess_fn(kind: str) -> Callable:
    """The model input for pixel values: 'none' (the seed) or Keras' caffe preprocessing."""
    import tensorflow as tf

    if kind == "none":
        return lambda x: x
    mean = tf.constant(CAFFE_MEAN_BGR, dtype=tf.float32)
    return lambda x: x[..., ::-1] - mean


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


def make_pixel_step(extractor, preprocess: str, lr: float, image_size: int):
    """One compiled ascent step for a batch of images, each with its own target and Adam clock."""
    import tensorflow as tf

    prep = preprocess_fn(preprocess)
    image_spec = tf.TensorSpec([None, image_size, image_size, 3], tf.float32)
    lr32 = tf.constant(lr, tf.float32)

    # One signature with a free batch dimension: the shrinking/refilled batch never retraces.
    @tf.function(
        input_signature=[image_spec, image_spec, image_spec,
                         tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.float32)],
        reduce_retracing=True,
    )
    def step(x, m, v, targets, t):
        with tf.GradientTape() as tape:
            tape.watch(x)
            maps = tf.cast(extractor(prep(x), training=False), tf.float32)  # bfloat16 under `mixed`
            means = tf.reduce_mean(maps, axis=[1, 2])  # (B, C)
            loss = tf.gather(means, targets, axis=1, batch_dims=1)  # (B,)
            total = tf.reduce_sum(loss)
        grad = -tape.gradient(total, x)  # ascent = descent on the negated gradient
        # each image has its own Adam clock: filters join the batch at different times
        x, m, v = adam_update(x, m, v, grad, lr32, tf.reshape(t, [-1, 1, 1, 1]))
        max_abs_grad = tf.reduce_max(tf.abs(grad), axis=[1, 2, 3])
        return x, m, v, loss, max_abs_grad

    return step


def pixel_ascent(
    extractor,
    settings: LayerSettings,
    batch_size: int,
    on_steps: Callable[[int], None] | None = None,
) -> list[FilterRun]:
    """Optimize one image per selected filter; returns the runs in `settings.filters` order."""
    import tensorflow as tf

    step = make_pixel_step(extractor, settings.preprocess, settings.lr, settings.image_size)
    start = tf.constant(start_image(settings.image_size, settings.seed, settings.init))
    pending = deque(FilterRun(index=index) for index in settings.filters)
    finished: dict[int, FilterRun] = {}
    active: list[FilterRun] = []
    x = m = v = None

    while pending or active:
        fresh = [pending.popleft() for _ in range(min(batch_size - len(active), len(pending)))]
        if fresh:
            new_x = tf.repeat(start, len(fresh), axis=0)
            zeros = tf.zeros_like(new_x)
            x = new_x if x is None else tf.concat([x, new_x], axis=0)
            m = zeros if m is None else tf.concat([m, zeros], axis=0)
            v = zeros if v is None else tf.concat([v, zeros], axis=0)
            active.extend(fresh)

        targets = tf.constant([run.index for run in active], tf.int32)
        clocks = tf.constant([run.steps + 1 for run in active], tf.float32)
        x, m, v, loss, max_abs_grad = step(x, m, v, targets, clocks)
        loss, max_abs_grad = loss.numpy(), max_abs_grad.numpy()

        keep: list[int] = []
        done_steps = 0
        for slot, run in enumerate(active):
            value = float(loss[slot])
            run.history.append(value)
            if run.steps in SNAPSHOT_STEPS and run.steps < settings.iterations:
                run.snapshots[run.steps] = to_uint8(x[slot].numpy())
            run.max_abs_grad = max(run.max_abs_grad, float(max_abs_grad[slot]))
            done_steps += 1
            if not np.isfinite(value):
                stop = True  # diverged: more steps cannot bring it back
            elif settings.threshold is not None and value >= settings.threshold:
                run.reached_threshold = stop = True
            else:
                stop = run.steps >= settings.iterations
            if stop:
                run.image = x[slot].numpy()
                finished[run.index] = run
                done_steps += settings.iterations - run.steps  # the progress bar counts skipped steps too
            else:
                keep.append(slot)
        if on_steps:
            on_steps(done_steps)

        active = [active[slot] for slot in keep]
        if active:
            if len(keep) < len(loss):
                index = tf.constant(keep, tf.int32)
                x, m, v = tf.gather(x, index), tf.gather(m, index), tf.gather(v, index)
        else:
            x = m = v = None

    return [finished[index] for index in settings.filters]
