"""The "natural" method (Olah et al., Distill 2017; Lucid): images people can read.

What is optimized is not pixels but each image's 2-D Fourier spectrum, scaled so
that low frequencies dominate (spectral parameterization), mapped through the
ImageNet colour-correlation square root (decorrelated colour) and a sigmoid into
RGB in [0, 1] (spectral.py). Every step sees the image through a fresh random
pad/jitter/scale/rotate (transforms.py), and the objective is the target map's
mean *before* the ReLU (natural_step.py).

Some maps rise evenly and stall below zero: the mean objective rewards making
the whole map less negative, not opening it anywhere; others open only a faint
trace. A filter whose map is still closed (by default: on average) at the
revive step switches to the mean of the map's strongest positions (and, by
default, to shifts on the layer's pooling grid): see ReviveSpec.

Batched like the pixel method: filters are the batch, one compiled step, Adam
per element. Each filter draws its start spectrum and its transforms from its
own generator seeded by (seed, filter index), so a batch gives exactly the
images that single runs give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Mapping

import numpy as np

from ..architecture import pools_before
from ..errors import ConfigError
from ..estimate import Cost, method_cost
from ..config import checks
from ..config.schema import MethodSettings, key, section
from . import transforms as tr
from .base import FilterRun, MethodOutput
from .natural_step import NaturalStep, target_model
from .spectral import start_spectra, unit_to_uint8


def _revive_at(where: str, value: Any, context: Mapping[str, Any]) -> int:
    steps = context["steps"]
    at = max(1, steps // 4) if value == "auto" else value
    return checks.integer(where, at, low=1, high=steps, what=f"auto or a step number from 1 to steps ({steps})")


def _share(where: str, value: Any, context: Mapping[str, Any]) -> float:
    if not checks.is_number(value) or not 0 < value <= 1:
        raise ConfigError(
            f"{where}: expected a share of the map's positions, 0 < top <= 1, got {checks.show(value)}")
    return float(value)


@dataclass(frozen=True)
class ReviveSpec:
    """A second chance for filters whose map is still closed at step `at` (see `when`).

    Their objective becomes the mean of the strongest `top` share of the map's
    positions (pre-ReLU): "fire somewhere" instead of "fire everywhere", which a
    closed map cannot reach by rising evenly. With `grid_jitter` they are only
    shifted by multiples of the layer's stride (no scale, no rotation): such
    filters tend to need a pattern in one phase of the pooling grid.
    """

    at: int = key("auto", _revive_at, "the step after which closed maps are revived; `auto` = a quarter "
                  "of the steps", "`auto` or a step number")
    top: float = key(0.02, _share, "revived maps maximize the mean of their strongest `top` share of positions",
                     "0 < top ≤ 1", python_default=0.02)
    grid_jitter: bool = key(True, checks.boolean, "revived maps are shifted only by whole steps of the "
                            "layer's pooling grid (2ⁿ px after n poolings), without scale or rotation",
                            "`true` / `false`", python_default=True)
    # closed: the map is closed at every position; closed_on_average: its pre-ReLU mean is <= 0,
    # which also catches maps that opened only a faint trace (in block2, barely visible gratings)
    when: str = key("closed_on_average", checks.one_of("closed", "closed_on_average"),
                    "which maps count as closed, judged on the 8-bit image: `closed_on_average` (pre-ReLU "
                    "mean ≤ 0, which also catches maps that opened only a faint trace) or `closed` "
                    "(≤ 0 at every position)", "`closed_on_average` or `closed`", python_default="closed_on_average")


def _snapshots(where: str, value: Any, context: Mapping[str, Any]) -> tuple[int, ...]:
    steps = context["steps"]
    if value == "auto":
        value = [max(1, steps // 8), max(1, steps // 2), steps]
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected auto or a list of step numbers, got {checks.show(value)}")
    for step in value:
        checks.integer(where, step, low=1, high=steps, what=f"step numbers from 1 to steps ({steps})")
    return tuple(sorted(set(value)))


def _diversity(where: str, value: Any, context: Mapping[str, Any]) -> int | None:
    if value is False or value is None:
        return None
    if value == 1 and value is not True:
        raise ConfigError(f"{where}: 1 image is the main image already; use 2 or more images, or false")
    return checks.integer(where, value, low=2, high=16, what="false or an integer from 2 to 16")


def _conv_layer(where: str, value: Any, context: Mapping[str, Any]) -> str:
    from ..architecture import CONV_LAYER_NAMES

    if value == "auto" or value in CONV_LAYER_NAMES:
        return value
    raise ConfigError(f"{where}: expected auto or a conv layer name (block1_conv1 … block5_conv3), "
                      f"got {checks.show(value)}")


@dataclass(frozen=True)
class NaturalSettings(MethodSettings):
    """The natural method's keys, under `natural:` in `defaults` or a layer (merged key by key)."""

    lr: float = key(0.05, checks.positive_number, "Adam's learning rate on the spectrum (the literature: 0.05)",
                    "number > 0")
    steps: int = key(256, checks.integer_in(1, 100000, "a positive integer"),
                     "optimization steps (no loss threshold in this method)", "integer ≥ 1")
    image_size: int = key(128, checks.image_size, "side of the image in pixels", "32 … 1024")
    decay_power: float = key(1.0, checks.nonnegative_number, "spectral parameterization: coefficient of "
                             "frequency f scaled by 1/max(f, 1/size)^decay_power", "number ≥ 0")
    decorrelate: bool = key(True, checks.boolean, "map the 3 optimized channels to RGB through the ImageNet "
                            "colour-correlation square root", "`true` / `false`")
    transforms: tr.TransformSpec | None = key(
        True, section(tr.TransformSpec), "transformation robustness, a fresh random draw per image per step "
        "(keys below)", "`false`, `true` or a mapping")
    snapshots: tuple[int, ...] = key(
        "auto", _snapshots, "intermediate images kept, to show how the picture forms; `auto` = after an "
        "eighth, half and all of the steps", "`auto` or a list of step numbers")
    seed: int = key(0, checks.seed, "start spectrum and transforms; each filter draws from its own stream "
                    "seeded by (seed, filter)", "integer")
    objective: str = key("pre_relu", checks.one_of("pre_relu", "post_relu"), "maximize the map's mean before "
                         "the ReLU (keeps filters that are closed on grey alive) or after it",
                         "`pre_relu` or `post_relu`")
    preprocess: str = key("caffe", checks.preprocess, "the model input (VGG16 expects `caffe`)",
                          "`caffe` or `none`")
    revive: ReviveSpec | None = key(
        True, section(ReviveSpec), "a second chance for filters whose map is still closed at step `at` "
        "(keys below)", "`false`, `true` or a mapping", python_default=None)

    negative: bool = key(False, checks.boolean, "also render the image that minimizes the map (the same "
                         "machinery, the objective negated): what the filter suppresses", "`true` / `false`",
                         python_default=False)
    diversity: int | None = key(False, _diversity, "also render N images of each filter optimized together, "
                                "pushed apart in style (Lucid's diversity objective); N times the cost",
                                "`false` or an integer ≥ 2", python_default=None)
    diversity_weight: float = key(100.0, checks.positive_number, "the weight of the diversity penalty: the mean "
                                  "pairwise cosine similarity of the images' Gram matrices", "number > 0",
                                  python_default=100.0)
    diversity_layer: str = key("auto", _conv_layer, "where the Gram matrices are taken; `auto` = the last conv "
                               "before the target's block (block1: block1_conv1)", "`auto` or a conv layer name",
                               python_default="auto")

    method: ClassVar[str] = "natural"

    @property
    def max_steps(self) -> int:
        return self.steps

    @property
    def views(self) -> dict[str, int]:
        """The extra views to render, with their images per filter."""
        return {name: count for name, count in (("negative", 1 if self.negative else 0),
                                                ("diverse", self.diversity or 0)) if count}


@dataclass
class NaturalRun(FilterRun):
    """A FilterRun whose history is the objective, image and snapshots RGB in [0, 1]; no threshold."""

    revived_at: int | None = None  # the step after which it maximized its map's strongest positions

    @property
    def status(self) -> str:
        if not np.all(np.isfinite(self.history)) or (self.image is not None and not np.all(np.isfinite(self.image))):
            return "diverged"
        return "ok"  # whether the real map opened is decided on the saved image (NaturalMethod.status)


def filter_rng(seed: int, index: int) -> np.random.Generator:
    """Each filter's own random stream: the same whatever batch it is optimized in."""
    return np.random.default_rng([seed, index])


def natural_ascent(vgg, layer: str, settings: NaturalSettings, batch_size: int,
                   on_steps: Callable[[int], None] | None = None) -> list[NaturalRun]:
    """Optimize one image per filter; all filters run `settings.steps` steps (no threshold)."""
    compiled = NaturalStep(target_model(vgg, layer, settings.objective), settings)
    stride = 2 ** pools_before(layer)
    filters = list(settings.filters)
    runs: list[NaturalRun] = []
    for begin in range(0, len(filters), batch_size):
        chunk = [NaturalRun(index=i) for i in filters[begin:begin + batch_size]]
        _optimize(compiled, chunk, settings, stride, on_steps)
        runs.extend(chunk)
    return runs


def _optimize(compiled: NaturalStep, chunk: list[NaturalRun], settings: NaturalSettings, stride: int,
              on_steps: Callable[[int], None] | None) -> None:
    """Run every step for one batch of filters, recording into their runs."""
    import tensorflow as tf

    rngs = [filter_rng(settings.seed, run.index) for run in chunk]
    spectrum = tf.constant(start_spectra(rngs, settings.image_size))
    m = v = tf.zeros_like(spectrum)
    targets = tf.constant([run.index for run in chunk], tf.int32)
    revived = np.zeros(len(chunk), bool)
    for number in range(1, settings.steps + 1):
        params = np.stack([_draw(rng, settings, stride, on_grid) for rng, on_grid in zip(rngs, revived)])
        spectrum, m, v, loss, max_abs_grad = compiled.step(spectrum, m, v, targets, tf.constant(float(number)),
                                                           tf.constant(params), tf.constant(revived))
        if settings.revive is not None and number == settings.revive.at and number < settings.steps:
            revived = compiled.closed(spectrum, targets).numpy()
            for run in (run for run, closed in zip(chunk, revived) if closed):
                run.revived_at = number
        for run, value, grad in zip(chunk, loss.numpy(), max_abs_grad.numpy()):
            run.history.append(float(value))
            run.max_abs_grad = max(run.max_abs_grad, float(grad))
        if number in settings.snapshots or number == settings.steps:
            _keep_images(compiled.render(spectrum).numpy(), chunk, number, settings)
        if on_steps:
            on_steps(len(chunk))


def _keep_images(images: np.ndarray, chunk: list[NaturalRun], number: int, settings: NaturalSettings) -> None:
    for image, run in zip(images, chunk):
        if number in settings.snapshots:
            run.snapshots[number] = image
        if number == settings.steps:
            run.image = image


def _draw(rng: np.random.Generator, settings: NaturalSettings, stride: int, revived: bool) -> np.ndarray:
    """This step's transform for one image: the full random draw, or a grid shift once revived."""
    if settings.transforms is None:
        return np.array(tr.IDENTITY, np.float32)
    if revived and settings.revive is not None and settings.revive.grid_jitter:
        return tr.draw_on_grid(rng, settings.transforms, settings.image_size, stride)
    return tr.draw(rng, settings.transforms, settings.image_size)


class NaturalMethod:
    """Olah et al.'s feature visualization: spectral image, decorrelated colour, transformation robustness."""

    name = "natural"
    title = "natural (spectral, robust)"
    section = "natural"
    settings_class = NaturalSettings
    loss_name = "objective"
    steps_key = "steps"

    def run(self, vgg, layer: str, settings: NaturalSettings, batch_size: int,
            on_steps: Callable[[int], None] | None = None) -> MethodOutput:
        from .natural_views import render_views

        runs = natural_ascent(vgg, layer, settings, batch_size, on_steps)
        images = np.stack([unit_to_uint8(run.image) for run in runs])
        snapshots = {(run.index, step): unit_to_uint8(image)
                     for run in runs for step, image in run.snapshots.items()}
        views = {view: unit_to_uint8(render_views(vgg, layer, settings, view, count, batch_size, on_steps))
                 for view, count in settings.views.items()}
        return MethodOutput(runs, images, snapshots, views)

    def status(self, run: FilterRun, activation: float) -> str:
        if run.status == "ok" and not activation > 0:
            return "dead"  # the objective rose, but the real (post-ReLU) map stayed closed
        return run.status

    def cost(self, layer: str, settings: NaturalSettings) -> Cost:
        # the steps see the transformed canvas (padded, then cropped by the jitters); the analysis the saved image
        spec = settings.transforms
        canvas = spec.output_size(settings.image_size) if spec is not None else settings.image_size
        images = len(settings.filters) * (1 + sum(settings.views.values()))  # each view's images run every step
        return method_cost(layer, images, settings.steps, canvas, settings.image_size, 1 + len(settings.snapshots))


NATURAL = NaturalMethod()
