"""The original write-up's "pixel" method, batched: gradient ascent on raw pixels with Adam.

Semantics (the original write-up's, reproduced exactly), per filter k:
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
from dataclasses import dataclass
from typing import Callable, ClassVar

import numpy as np

from ..config import checks
from ..config.schema import MethodSettings, key
from ..estimate import Cost, method_cost
from ..network.inputs import preprocess_fn
from .adam import adam_update
from .base import FilterRun, MethodOutput


@dataclass(frozen=True)
class PixelSettings(MethodSettings):
    """The pixel method's keys: they sit at the layer level of the manifest, as in the original."""

    lr: float = key(2.5, checks.positive_number, "Adam's learning rate", "number > 0")
    iterations: int = key(20, checks.integer_in(1, None, "a positive integer"),
                          "steps per filter (at most, with a threshold)", "integer ≥ 1")
    threshold: float | None = key(
        None, checks.positive_number_or_null,
        "stop a filter after the step whose loss (before that step's update) reaches it; "
        "its reported loss is that step's", "number > 0 or `null`")
    image_size: int = key(224, checks.image_size, "side of the square image in pixels "
                          "(32 = the least VGG16's five poolings allow)", "32 … 1024")
    seed: int = key(42, checks.seed, "`np.random.seed(seed)` before drawing the start image; "
                    "every filter starts from the same image", "integer")
    init: tuple[float, float] = key(
        [128, 148], checks.init_range,
        "start image = uniform noise in [low, high) (the original: `random * 20 + 128`)", "`[low, high]`")
    preprocess: str = key(
        "none", checks.preprocess, "`none` feeds raw 0–255 pixels, as the original does; `caffe` applies "
        "VGG16's own preprocessing (RGB→BGR, minus the ImageNet mean)", "`none` or `caffe`")

    method: ClassVar[str] = "pixel"

    @property
    def max_steps(self) -> int:
        return self.iterations


# Steps after which the picture is kept, to show how it forms (recorded only, never changes the result).
SNAPSHOT_STEPS = (1, 3, 10)


def start_image(size: int, seed: int, init: tuple[float, float]) -> np.ndarray:
    """The original write-up's start image, bit for bit: float64 draw, scaled, then cast to float32."""
    rng = np.random.RandomState(seed)  # the legacy global generator np.random.seed() drives
    low, high = init
    return (rng.random_sample((1, size, size, 3)) * (high - low) + low).astype(np.float32)


def to_uint8(image: np.ndarray) -> np.ndarray:
    """What the user sees: clip to [0, 255] and truncate, as the original write-up's proc_img does."""
    return np.clip(np.nan_to_num(image, nan=0.0, posinf=255.0, neginf=0.0), 0, 255).astype(np.uint8)


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
    settings: PixelSettings,
    batch_size: int,
    on_steps: Callable[[int], None] | None = None,
) -> list[FilterRun]:
    """Optimize one image per selected filter; returns the runs in `settings.filters` order."""
    import tensorflow as tf

    step = make_pixel_step(extractor, settings.preprocess, settings.lr, settings.image_size)
    start = tf.constant(start_image(settings.image_size, settings.seed, settings.init))
    pending = deque(FilterRun(index=index) for index in settings.filters)
    finished: dict[int, FilterRun] = {}
    batch = Batch()
    while pending or batch.runs:
        batch.add(start, [pending.popleft() for _ in range(min(batch_size - len(batch.runs), len(pending)))])
        loss, max_abs_grad = batch.step(step)
        keep, done_steps = [], 0
        for slot, run in enumerate(batch.runs):
            done_steps += 1
            if _record(run, float(loss[slot]), float(max_abs_grad[slot]), batch.x[slot], settings):
                finished[run.index] = run
                done_steps += settings.iterations - run.steps  # the progress bar counts skipped steps too
            else:
                keep.append(slot)
        if on_steps:
            on_steps(done_steps)
        batch.keep(keep)
    return [finished[index] for index in settings.filters]


class Batch:
    """The images being optimized, with their Adam moments: filters join when there is room and
    leave when they stop, so the batch is a work queue."""

    def __init__(self) -> None:
        self.runs: list[FilterRun] = []
        self.x = self.m = self.v = None

    def add(self, start, fresh: list[FilterRun]) -> None:
        import tensorflow as tf

        if not fresh:
            return
        new_x = tf.repeat(start, len(fresh), axis=0)
        zeros = tf.zeros_like(new_x)
        self.x = new_x if self.x is None else tf.concat([self.x, new_x], axis=0)
        self.m = zeros if self.m is None else tf.concat([self.m, zeros], axis=0)
        self.v = zeros if self.v is None else tf.concat([self.v, zeros], axis=0)
        self.runs.extend(fresh)

    def step(self, step) -> tuple[np.ndarray, np.ndarray]:
        """One step for every image, each with its own target and Adam clock."""
        import tensorflow as tf

        targets = tf.constant([run.index for run in self.runs], tf.int32)
        clocks = tf.constant([run.steps + 1 for run in self.runs], tf.float32)
        self.x, self.m, self.v, loss, max_abs_grad = step(self.x, self.m, self.v, targets, clocks)
        return loss.numpy(), max_abs_grad.numpy()

    def keep(self, slots: list[int]) -> None:
        import tensorflow as tf

        if len(slots) == len(self.runs):
            return
        self.runs = [self.runs[slot] for slot in slots]
        if not self.runs:
            self.x = self.m = self.v = None
            return
        index = tf.constant(slots, tf.int32)
        self.x, self.m, self.v = (tf.gather(a, index) for a in (self.x, self.m, self.v))


def _record(run: FilterRun, value: float, max_abs_grad: float, x, settings: PixelSettings) -> bool:
    """Note one step of a filter; True if it stops here (its image is then kept)."""
    run.history.append(value)
    if run.steps in SNAPSHOT_STEPS and run.steps < settings.iterations:
        run.snapshots[run.steps] = to_uint8(x.numpy())
    run.max_abs_grad = max(run.max_abs_grad, max_abs_grad)
    if not np.isfinite(value):
        stop = True  # diverged: more steps cannot bring it back
    elif settings.threshold is not None and value >= settings.threshold:
        run.reached_threshold = stop = True
    else:
        stop = run.steps >= settings.iterations
    if stop:
        run.image = x.numpy()
    return stop


class PixelMethod:
    """The original write-up's method: Adam on raw pixels from a grey noise image."""

    name = "pixel"
    title = "pixel (the original)"
    section = None  # its keys (lr, iterations, ...) sit at the layer level, as in the original manifest
    settings_class = PixelSettings
    loss_name = "loss"
    steps_key = "iterations"

    def run(self, vgg, layer: str, settings: PixelSettings, batch_size: int,
            on_steps: Callable[[int], None] | None = None) -> MethodOutput:
        from ..network.extractors import truncated

        runs = pixel_ascent(truncated(vgg, layer), settings, batch_size, on_steps)
        images = np.stack([to_uint8(run.image) for run in runs])
        snapshots = {(run.index, step): image for run in runs for step, image in run.snapshots.items()}
        return MethodOutput(runs, images, snapshots)

    def status(self, run: FilterRun, activation: float) -> str:
        return run.status  # dead = loss 0 and zero gradient throughout: the ReLU never opened

    def cost(self, layer: str, settings: PixelSettings) -> Cost:
        # every filter runs all its iterations: a threshold can only make the real work smaller
        images = 1 + sum(step < settings.iterations for step in SNAPSHOT_STEPS)
        return method_cost(layer, len(settings.filters), settings.iterations, settings.image_size,
                           settings.image_size, images)


PIXEL = PixelMethod()
