"""Where a natural step's time goes: its pieces timed on their own, and the loop with a piece removed.

The work: gallery.yaml's natural settings for one layer (block4_conv1), filters 0-7 in one batch,
128 px (the transforms make it a 140 px canvas), offline hed weights. In one run it measures:

  parts      each piece compiled on its own, ms per step: Python's random draws, the render (inverse
             FFT + colour), the transform, the forward and the backward pass, the objective, Adam,
             revive's extra pass (`closed`, once per run, spread over its steps), the host round trips,
             and the last conv's maps that are not the targets' (which the step computed before);
  ablations  the loop with one piece removed (or replaced by a trivial one), and the loop as it was
             before the speed-up (`before`): ms per step and what removing the piece saves.

Times are minima: of a loop, its fastest step over --rounds interleaved loops of --steps steps; of a
part, its fastest of 3 x --rounds calls. On a shared CPU the minimum is the least disturbed; `cpu` is
the process's CPU time then (about the wall time: another program held the second core).

    python bench/natural_profile.py [--threads 1] [--whole]  # --whole: also the whole run, before vs now
    python bench/natural_profile.py --layer block3_conv1 --mixed --rounds 8
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import NamedTuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from generator.config import WeightsSpec, load_manifest  # noqa: E402
from generator.machine import describe_cpu, prefer_onednn  # noqa: E402

prefer_onednn()  # the CPU kernels `vgg-gallery` picks (TF_ENABLE_ONEDNN_OPTS=0: TensorFlow's own)

SWITCHES = ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA")  # what decides TensorFlow's CPU kernels


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", default="block4_conv1")
    parser.add_argument("--filters", type=int, default=8, help="filters 0..N-1, in one batch")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=4, help="steps per timed loop (its fastest step counts)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--weights", default="hed")
    parser.add_argument("--mixed", action="store_true", help="precision: mixed (bfloat16 network)")
    parser.add_argument("--threads", type=int, default=None,
                        help="TensorFlow's intra-op threads (1: CPU times that other programs barely change)")
    parser.add_argument("--whole", action="store_true", help="also time the whole run (all steps), before vs now")
    return parser.parse_args(argv)


def setup(args) -> dict:
    """The network, the settings and the inputs every measurement shares."""
    import tensorflow as tf

    from generator.network.extractors import with_precision
    from generator.network.weights import load_vgg16
    from generator.methods.natural import _draw, filter_rng
    from generator.methods.natural_step import NaturalStep
    from generator.methods.spectral import SPECTRUM_INIT_STD, spectrum_shape

    job = next(j for j in load_manifest(ROOT / "gallery.yaml").jobs
               if j.layer == args.layer and j.settings.method == "natural")
    settings = dataclasses.replace(job.settings, filters=tuple(range(args.filters)), image_size=args.image_size)
    vgg = with_precision(load_vgg16(WeightsSpec(source=args.weights))[0], "mixed" if args.mixed else "float32")
    rngs, shape = [filter_rng(settings.seed, i) for i in settings.filters], spectrum_shape(settings.image_size)
    spectrum = tf.constant(np.stack([rng.standard_normal(shape) * SPECTRUM_INIT_STD for rng in rngs]), tf.float32)
    params = tf.constant(np.stack([_draw(rng, settings, 8, False) for rng in rngs]))
    return {"vgg": vgg, "layer": args.layer, "settings": settings, "spectrum": spectrum, "params": params,
            "rngs": rngs, "targets": tf.constant(settings.filters, tf.int32),
            "revived": tf.zeros([args.filters], tf.bool), "step": build(NaturalStep, vgg, args.layer, settings)}


def build(cls, vgg, layer: str, settings):
    from generator.methods.natural_step import target_model  # a NaturalStep (or a variant) as the method builds it
    return cls(target_model(vgg, layer, settings.objective), settings)


Fastest = NamedTuple("Fastest", [("wall", float), ("cpu", float)])  # what a loop reports: its fastest step


def fastest(calls: dict, rounds: int, warm: dict | None = None) -> dict:
    """name -> (wall, cpu) seconds of its fastest call, the calls interleaved over `rounds` rounds.

    A call that returns its own (wall, cpu) (a loop: its fastest step) is judged by that instead.
    """
    for name in calls:
        (warm or calls)[name]()
    best, names = {name: (float("inf"), float("inf")) for name in calls}, list(calls)
    for number in range(rounds):
        for name in names[number % len(names):] + names[:number % len(names)]:  # each round starts elsewhere
            wall, cpu = time.perf_counter(), time.process_time()
            own = calls[name]()
            took = own if isinstance(own, Fastest) else (time.perf_counter() - wall, time.process_time() - cpu)
            best[name] = min(best[name], took)
    return best


def gradient_of(fn):
    """A compiled x -> d sum(fn(x)^2 / 2) / dx: the piece's forward and backward pass."""
    import tensorflow as tf

    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            total = tf.reduce_sum(tf.square(tf.cast(fn(x), tf.float32))) / 2.0
        return tape.gradient(total, x)

    return tf.function(run)


def part_functions(env, step) -> dict:
    """name -> a callable that does one step's worth of that piece of `step` (the network: on its canvas)."""
    import tensorflow as tf

    from generator.methods import transforms as tr
    from generator.methods.adam import adam_update
    from generator.methods.natural import _draw

    s, targets, revived = env["settings"], env["targets"], env["revived"]
    spectrum, params = env["spectrum"], env["params"]
    unit, seen = step._render(spectrum, step.bgr), step._seen(spectrum, params)
    pieces = {
        "render": (gradient_of(lambda x: step._render(x, step.bgr)), spectrum),
        "transform": (gradient_of(lambda x: tr.apply(x, params, step.out_size)), unit),
        "forward": (tf.function(lambda x: tf.reduce_sum(step._target_maps(x, targets))), seen),
        "forward+backward": (gradient_of(lambda x: step._target_maps(x, targets)), seen),
        "objective": (gradient_of(lambda x: step._objective(x, revived)), step._target_maps(seen, targets)),
        "adam": (tf.function(lambda x: adam_update(x, x, x, x, step.lr, tf.constant(3.0))[0]), spectrum),
    }
    out = step.step(spectrum, spectrum, spectrum, targets, tf.constant(1.0), params, revived)
    calls = {name: (lambda f=f, x=x: f(x).numpy()) for name, (f, x) in pieces.items()}
    calls["draws"] = lambda: tf.constant(np.stack([_draw(rng, s, 8, False) for rng in env["rngs"]]))
    calls["closed"] = lambda: step.closed(spectrum, targets).numpy()
    calls["host round trips"] = lambda: (out[3].numpy(), out[4].numpy())
    return calls


def loop(step, env, steps: int, draws: bool = True, fetch: bool = True) -> Fastest:
    """`steps` steps of one batch, as natural._optimize runs them (its per-step draws and fetches);
    (wall, cpu) seconds of the fastest step, draws and fetches included (the least disturbed)."""
    import tensorflow as tf

    from generator.methods.natural import _draw, filter_rng

    s = env["settings"]
    rngs = [filter_rng(s.seed, i) for i in s.filters]
    spectrum, targets, revived = env["spectrum"], env["targets"], np.zeros(len(s.filters), bool)
    m = v = tf.zeros_like(spectrum)
    best = (float("inf"), float("inf"))
    for number in range(1, steps + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        params = tf.constant(np.stack([_draw(rng, s, 8, False) for rng in rngs])) if draws else env["params"]
        spectrum, m, v, loss, grad = step.step(spectrum, m, v, targets, tf.constant(float(number)), params,
                                               tf.constant(revived))
        if fetch:  # without, the step has still run: TensorFlow's eager calls are synchronous
            loss.numpy(), grad.numpy()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    spectrum.numpy()
    return Fastest(*best)


def ablations(env) -> dict:
    """name -> (step object, loop options): the loop with one piece removed, and the loop before."""
    import tensorflow as tf

    from generator.methods.natural_step import NaturalStep

    vgg, layer, s = env["vgg"], env["layer"], env["settings"]

    def variant(**methods):
        return build(type("Variant", (NaturalStep,), methods), vgg, layer, s)

    def crop(self, spectrum, params):
        return tf.image.resize_with_crop_or_pad(self._render(spectrum, self.bgr), self.out_size, self.out_size)

    def plain(self, x, m, v, grad, t):
        return x + self.lr * grad, m, v

    def reshape(self, spectrum, bgr=False):
        flat = tf.reshape(spectrum, [tf.shape(spectrum)[0], -1])[:, : 3 * self.size ** 2]
        return tf.sigmoid(tf.reshape(flat, [-1, self.size, self.size, 3]))

    return {
        "now": (env["step"], {}),
        "no per-step random draws": (env["step"], {"draws": False}),
        "no per-step host round trips": (env["step"], {"fetch": False}),
        "no transform (a centred crop)": (variant(_seen=crop), {}),
        "no render (a reshape + sigmoid)": (variant(_render=reshape), {}),
        "no Adam (x + lr * grad)": (variant(_update=plain), {}),
        "no revive objective (mean only)": (build(NaturalStep, vgg, layer, dataclasses.replace(s, revive=None)), {}),
        "before": (before(env), {}),
    }


def before(env):
    """The step as it was before the speed-up: every map of the last conv computed, then each image's own
    picked; the image rendered in RGB and flipped to caffe's BGR; the spectrum split by two slices."""
    import tensorflow as tf

    from generator.methods.natural_step import NaturalStep, objective_model
    from generator.methods.spectral import caffe_from_unit, to_rgb

    class Before(NaturalStep):
        def _target_maps(self, unit, targets):
            x = caffe_from_unit(unit) if self.settings.preprocess == "caffe" else unit * 255.0
            own = tf.gather(tf.cast(self.model(x, training=False), tf.float32), targets, axis=3, batch_dims=1)
            return tf.reshape(own, [-1, own.shape[1] * own.shape[2]])

        def _render(self, spectrum, bgr=False):
            linear = tf.complex(spectrum[..., 0], spectrum[..., 1]) * tf.cast(self.scale, tf.complex64)
            image = tf.transpose(tf.signal.irfft2d(linear, fft_length=[self.size, self.size]), [0, 2, 3, 1])
            return to_rgb(image / 4.0, self.settings.decorrelate)

    step = Before(objective_model(env["vgg"], env["layer"], env["settings"].objective), env["settings"])
    step.bgr = False
    return step


def whole(env, old) -> dict:
    """The method's own loop (natural._optimize) over all the settings' steps, before and now."""
    from generator.architecture import pools_before
    from generator.methods.natural import NaturalRun, _optimize

    s, stride = env["settings"], 2 ** pools_before(env["layer"])
    runs = {name: (lambda st=st: _optimize(st, [NaturalRun(index=i) for i in s.filters], s, stride, None))
            for name, st in (("before", old), ("now", env["step"]))}
    return fastest(runs, 1, warm={"before": lambda: 0, "now": lambda: 0})


def print_parts(parts: dict, steps: dict, s) -> None:
    """parts: (before|now, name) -> (wall, cpu); steps: before|now -> the measured step's ms."""
    ms = {key: wall * 1000 for key, (wall, cpu) in parts.items()}
    rows = [("Python random draws (_draw per filter)", "draws", 1), ("render: inverse FFT + colour", "render", 1),
            ("transform (one projective resampling)", "transform", 1),
            ("forward pass (caffe input to target maps)", "forward", 1),
            ("backward pass (to the canvas)", "forward+backward", 1), ("objective (mean; top-k)", "objective", 1),
            ("Adam", "adam", 1), (f"revive's extra pass (closed), 1 per {s.steps} steps", "closed", s.steps),
            ("host round trips (.numpy() of loss, max |grad|)", "host round trips", 1)]
    print("\nparts, each compiled alone, fwd+bwd where it has a gradient (ms per step; share of the step)")
    print(f"  {'':<50} {'before':>8} {'':>6}  {'now':>8}")
    total = {"before": 0.0, "now": 0.0}
    for label, name, per in rows:
        value = {k: (ms[k, name] - (ms[k, "forward"] if name == "forward+backward" else 0)) / per for k in total}
        print(f"  {label:<50} " + "  ".join(f"{value[k]:8.1f} {value[k] / steps[k]:6.1%}" for k in total))
        total = {k: total[k] + value[k] for k in total}
    print(f"  {'sum of the parts':<50} " + "  ".join(f"{total[k]:8.1f} {total[k] / steps[k]:6.1%}" for k in total))
    print(f"  {'the step, measured (ablations)':<50} " + "  ".join(f"{steps[k]:8.1f} {1:6.1%}" for k in total))


def print_ablations(loops: dict, steps: int, images: int) -> None:
    now = loops["now"][0] * 1000
    print(f"\nablations: the fastest step of {steps}-step loops, a piece removed (ms; saved against now)")
    for name, (wall, cpu) in loops.items():
        print(f"  {name:<40} {wall * 1000:8.1f} ms  cpu {cpu * 1000:7.1f} ms  saved {now - wall * 1000:7.1f} "
              f"({1 - wall * 1000 / now:6.1%})  {images / wall:5.2f} image-steps/s")
    print(f"  speed-up of the step, before / now: {loops['before'][0] / loops['now'][0]:.2f}x")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    env = setup(args)
    s, flags = env["settings"], "; ".join(f"{n}={os.environ.get(n, 'not set')}" for n in SWITCHES)
    print(f"machine: {describe_cpu()}; TensorFlow {tf.__version__}; {flags}")
    print(f"work: {args.layer}, filters 0-{args.filters - 1} in one batch, {s.image_size} px (canvas "
          f"{env['step'].out_size} px), {'mixed' if args.mixed else 'float32'}, {args.weights} weights; "
          f"minimum of {args.rounds} interleaved rounds; threads: {args.threads or 'default'}")
    options = ablations(env)
    loops = {name: (lambda st=st, o=o: loop(st, env, args.steps, **o)) for name, (st, o) in options.items()}
    warm = {name: (lambda st=st, o=o: loop(st, env, 2, **o)) for name, (st, o) in options.items()}
    measured = fastest(loops, args.rounds, warm)
    print_ablations(measured, args.steps, args.filters)
    parts = {(k, name): call for k in ("before", "now") for name, call in part_functions(env, options[k][0]).items()}
    print_parts(fastest(parts, 3 * args.rounds), {k: measured[k][0] * 1000 for k in ("before", "now")}, s)
    if args.whole:
        runs = whole(env, options["before"][0])
        for name, (wall, cpu) in runs.items():
            print(f"whole run, {name}: {wall:.1f} s, {args.filters * s.steps / wall:.2f} image-steps/s")
        print(f"speed-up, whole run: {runs['before'][0] / runs['now'][0]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
