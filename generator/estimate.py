"""How long a build will take: the planned work in FLOPs, at this machine's measured rates.

The model, and why it is honest enough (within a factor 1.5 on the preview and on one 224 px layer):

- Work is convolutions. Per filter and step the network runs forward up to the target layer and
  back to the input image: the backward pass of a conv with respect to its input costs as many
  multiply-adds as its forward pass, and no weight gradient is ever computed, so a step is
  GRADIENT_FACTOR = 2 forward passes (`architecture.conv_flops_per_image`, 2 FLOPs per
  multiply-add). ReLUs, poolings, Adam, the natural method's FFT and transforms are
  element-wise and left out: a few per cent of a step from block2 on, up to a third on block1.
- Each saved image is fed forward once more, to measure it (the cross-activation).
- The pixel method counts all `iterations`: a threshold only stops filters earlier, so the
  estimate is an upper bound there (with the offline hed weights the thresholds rarely fire).
- Two rates, because one would be 5x off on block1_conv1: with 3 input channels (and its
  gradient back to 3 channels) it is memory-bound and runs at about a fifth of the rate of the
  convolutions after it, which run near the CPU's fp32 peak. Its FLOPs are a few per cent of a
  deep layer's but all of block1_conv1's own: `Cost.first` keeps them apart.
- The rates are measured, not assumed (`calibrate`): the same kind of work (forward + gradient
  to the input), on the network the build will optimize with (bfloat16 under `precision:
  mixed`), under whatever else is running on the machine right now.
- Fixed costs are measured constants (2-core development CPU): TensorFlow's start and the model
  build once per build, the calibration, tracing, analysis and writing once per computed
  work unit, rendering per layer-method in the site. A faster machine makes them smaller:
  they only make the estimate more cautious there.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Iterable

from .architecture import conv_flops_per_image

GRADIENT_FACTOR = 2.0  # forward + gradient with respect to the input (see above)
FIRST_LAYER = "block1_conv1"  # 3 input channels: memory-bound, timed apart (about a fifth of the rate)
# importing TensorFlow (4.5 s) and building VGG16 with its weights (0.5 s: the hed weights come from the
# Keras cache folder, see network/weights_cache.py; their first extraction adds a second, once)
STARTUP_SECONDS = 5.0
JOB_SECONDS = 1.0  # per computed work unit: tracing its step and the analysis model
# per million pixels of saved images (finals and snapshots): PNGs into the cache, then the site's
# thumbnails and animations from them (64 filters x 4 images at 224 px: 3 s + 4 s)
SECONDS_PER_MEGAPIXEL = 0.5
RENDER_SECONDS = 0.3  # per layer-method in the site: its pages and charts (857 pages: 8 s)

CALIBRATION_LAYER = "block3_conv1"
CALIBRATION_SIZE = 112  # px: between the preview's and the gallery's sizes
CALIBRATION_BATCH = 4
CALIBRATION_SECONDS = 1.0  # shared by the two workloads
CALIBRATION_WARM_UP = 0.7  # their first calls (tracing, oneDNN's kernel choice): waited for, not timed


@dataclass(frozen=True)
class Cost:
    """A work unit's work: FLOPs (`first` of them in block1_conv1, at its own rate), pixels saved."""

    flops: float
    first: float
    pixels: float

    def seconds(self, rates: "Rates") -> float:
        convolutions = self.first / rates.first + (self.flops - self.first) / rates.rest
        return convolutions + self.pixels / 1e6 * SECONDS_PER_MEGAPIXEL + JOB_SECONDS


@dataclass(frozen=True)
class Rates:
    """FLOP/s of this machine, measured: in block1_conv1, and in the convolutions after it."""

    first: float
    rest: float


def ascent_flops(layer: str, image_size: int, steps: int, filters: int) -> float:
    """FLOPs of `steps` gradient steps on `filters` images of `image_size` px, up to `layer`."""
    return filters * steps * GRADIENT_FACTOR * conv_flops_per_image(layer, image_size)


def analysis_flops(layer: str, image_size: int, filters: int) -> float:
    """FLOPs of feeding each saved image forward once (the cross-activation)."""
    return filters * conv_flops_per_image(layer, image_size)


def method_cost(layer: str, filters: int, steps: int, canvas: int, saved: int, images: int) -> Cost:
    """A work unit's work: `steps` on the `canvas` the network sees, then one pass per `saved` image
    (side in px); `images` per filter are written (the final one and the snapshots)."""
    def work(up_to: str) -> float:
        return ascent_flops(up_to, canvas, steps, filters) + analysis_flops(up_to, saved, filters)

    return Cost(work(layer), work(FIRST_LAYER), float(filters * images * saved * saved))


@dataclass(frozen=True)
class Estimate:
    seconds: float
    to_compute: int  # work units not in the cache
    cached: int
    rates: Rates | None  # measured; None when there was nothing to compute


def estimate_build(costs: Iterable[Cost], cached: int, rendered: int, rates: Rates | None,
                   units: int | None = None) -> Estimate:
    """The whole command's seconds: fixed costs, then each uncached work unit's work at `rates`
    (`units`: how many of `costs` are work units, when others follow them; default all)."""
    costs = list(costs)
    compute = 0.0
    if costs:
        if rates is None:
            raise ValueError("rates are needed to estimate work")
        compute = CALIBRATION_SECONDS + CALIBRATION_WARM_UP + sum(cost.seconds(rates) for cost in costs)
    return Estimate(STARTUP_SECONDS + compute + RENDER_SECONDS * rendered,
                    len(costs) if units is None else units, cached, rates)


def about(seconds: float) -> str:
    """'about 40 seconds' under 90 s, 'about 4 minutes' under 2 hours, 'about 3.5 hours' above."""
    if seconds < 90:
        value = round(seconds) if seconds < 10 else 5 * round(seconds / 5)
        return f"about {plural(max(1, value), 'second')}"
    minutes = math.floor(seconds / 60 + 0.5)  # halves up, not to even: 150 s is about 3 minutes
    if minutes < 120:
        return f"about {minutes} minutes"
    hours = math.floor(seconds / 1800 + 0.5) / 2
    return f"about {hours:g} hours"


def duration(seconds: float) -> str:
    """A measured time: '42 s', '3 min 40 s', '2 h 5 min'."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def estimate_line(estimate: Estimate, machine: str, weights: str) -> str:
    rate = f", {estimate.rates.rest / 1e9:,.0f} GFLOP/s" if estimate.rates else ""
    return (f"estimate: {about(estimate.seconds)} on this machine ({machine}{rate}): "
            f"{plural(estimate.to_compute, 'work unit')} to compute, {estimate.cached} cached; {weights} weights")


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def took_line(seconds: float, estimate: Estimate | None, first_step: float | None = None) -> str:
    """The summary's last line; `first_step`: seconds from the command's start to its first optimization
    step (None when nothing was computed: then it says nothing about it)."""
    took = f"took {duration(seconds)}" + (f" (estimated {about(estimate.seconds)})" if estimate else "")
    if first_step is None:
        return took
    return f"{took}; first step after {f'{first_step:.1f} s' if first_step < 60 else duration(first_step)}"


class FirstStep:
    """A progress callback that notes when the build's first optimization step finished (perf_counter)."""

    def __init__(self) -> None:
        self.at: float | None = None  # None: no step yet (everything came from the cache)

    def __call__(self, steps: int) -> None:
        if self.at is None:
            self.at = time.perf_counter()


def calibrate(model: Any, seconds: float = CALIBRATION_SECONDS) -> Rates:
    """This machine's rates on step-like work (forward + gradient to the input), about `seconds` in all.

    `model` is the network the build optimizes with. block1_conv1 alone gives its own rate; the
    network up to CALIBRATION_LAYER, less block1_conv1's share at that rate, gives the others'.
    """
    first_flops = ascent_flops(FIRST_LAYER, CALIBRATION_SIZE, 1, CALIBRATION_BATCH)
    deep_flops = ascent_flops(CALIBRATION_LAYER, CALIBRATION_SIZE, 1, CALIBRATION_BATCH)
    first = first_flops / seconds_per_step(model, FIRST_LAYER, seconds / 2)
    deep = seconds_per_step(model, CALIBRATION_LAYER, seconds / 2)
    # noise can make block1_conv1's share look like all of the deep step: count at least a tenth for the rest
    rest_seconds = max(deep - first_flops / first, 0.1 * deep)
    return Rates(first=first, rest=(deep_flops - first_flops) / rest_seconds)


def seconds_per_step(model: Any, layer: str, budget: float) -> float:
    """Seconds of one forward + input-gradient pass of the network up to `layer`, after one warm-up."""
    import tensorflow as tf

    from .network.extractors import truncated

    extractor = truncated(model, layer)

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(tf.cast(extractor(x, training=False), tf.float32))
        return tape.gradient(total, x)

    x = tf.random.stateless_uniform([CALIBRATION_BATCH, CALIBRATION_SIZE, CALIBRATION_SIZE, 3], (0, 0)) * 255
    step(x).numpy()  # traces, and lets oneDNN pick its kernels: real steps pay that once per layer
    calls, started = 0, time.perf_counter()
    while calls == 0 or time.perf_counter() - started < budget:
        step(x).numpy()
        calls += 1
    return (time.perf_counter() - started) / calls
