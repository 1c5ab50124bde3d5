"""Benchmark: the original notebook's loop vs the generator, against the machine's attainable fp32 rate.

In one run, on the same layer, filters, steps and weights:
  1. attainable fp32 rate: a large matmul, best of several runs (GFLOP/s);
  2. the original loop as written: eager, one filter at a time, batch of one, Keras' Adam;
  3. the generator (generator.methods.pixel.pixel_ascent) on the same work.
For 2 and 3: wall time, image-steps per second, achieved GFLOP/s from the FLOPs counted from the
layer shapes (forward to the target layer plus the gradient with respect to the input: twice the
forward convolutions), and the share of the attainable rate. Ratios are the result; absolute
times are noisy on a shared CPU.

    python bench/bench.py                         # the default cases: an early, a middle, a deep layer
    python bench/bench.py --layer block3_conv3 --filters 8 --steps 5 --image-size 224 --batch-size 8
    python bench/bench.py --threshold-case        # early stopping: half the filters stop after step 1
    python bench/bench.py --whole-process         # the original loop vs the whole `vgg-gallery build`
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from generator.architecture import conv_flops_per_image  # noqa: E402
from generator.network.device import auto_batch_size, on_gpu  # noqa: E402
from generator.config import WeightsSpec  # noqa: E402
from generator.machine import describe_cpu  # noqa: E402
from generator.methods.pixel import PixelSettings  # noqa: E402

DEFAULT_CASES = ("block1_conv2", "block3_conv3", "block5_conv3")


def attainable_gflops(size: int = 4096, repeats: int = 5) -> float:
    """Best fp32 matmul rate: the ceiling any convolution here could reach."""
    import tensorflow as tf

    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    matmul = tf.function(lambda x, y: tf.matmul(x, y))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def seed_loop(extractor, settings: PixelSettings) -> list[int]:
    """The original notebook's activation_max_images(_th), as written (eager, batch of one)."""
    import keras
    import tensorflow as tf

    def loss_function(model, input_image, feature_map_num):
        activations = model(input_image)
        return tf.reduce_mean(activations[:, :, :, feature_map_num])

    def gradient_function(model, image, feature_map_num):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = loss_function(model, image, feature_map_num)
        return loss, tape.gradient(loss, image)

    steps = []
    size = settings.image_size
    for feature_map_num in settings.filters:
        np.random.seed(settings.seed)
        image = tf.Variable(np.random.random((1, size, size, 3)) * 20 + 128, dtype=tf.float32)
        optimizer = keras.optimizers.Adam(learning_rate=settings.lr)
        for i in range(settings.iterations):
            loss, gradients = gradient_function(extractor, image, feature_map_num)
            optimizer.apply_gradients([(-gradients, image)])
            if settings.threshold is not None and loss >= settings.threshold:
                break
        steps.append(i + 1)
        np.clip(image.numpy().squeeze(), 0, 255).astype("uint8")
    return steps


def measure(name: str, run, flops_per_step: float, peak: float) -> dict:
    start = time.perf_counter()
    image_steps = run()
    seconds = time.perf_counter() - start
    rate = image_steps / seconds
    achieved = rate * flops_per_step / 1e9
    return {"name": name, "seconds": seconds, "image_steps": image_steps, "rate": rate,
            "gflops": achieved, "share": achieved / peak}


def bench_case(vgg, layer: str, args, peak: float, threshold: float | None = None) -> list[dict]:
    from generator.methods.pixel import pixel_ascent
    from generator.network.extractors import truncated

    settings = PixelSettings(
        lr=args.lr, iterations=args.steps, threshold=threshold,
        filters=tuple(range(args.filters)), image_size=args.image_size, seed=42,
        init=(128.0, 148.0), preprocess="none", batch_size=None,
    )
    extractor = truncated(vgg, layer)
    batch = args.batch_size or auto_batch_size(layer, args.image_size, args.filters, on_gpu())
    flops = 2 * conv_flops_per_image(layer, args.image_size)

    # warm-up: compile the generator's step and let the eager path build its kernels
    warm = replace(settings, iterations=1, filters=settings.filters[:batch])
    pixel_ascent(extractor, warm, batch)
    seed_loop(extractor, replace(settings, iterations=1, filters=(0,)))

    rows = []
    if not args.skip_seed:
        rows.append(measure("original loop", lambda: sum(seed_loop(extractor, settings)), flops, peak))
    rows.append(measure(f"generator (batch {batch})",
                        lambda: sum(r.steps for r in pixel_ascent(extractor, settings, batch)), flops, peak))
    if args.mixed:
        from generator.network.extractors import with_precision

        mixed = truncated(with_precision(vgg, "mixed"), layer)
        pixel_ascent(mixed, warm, batch)
        rows.append(measure("generator, mixed bf16",
                            lambda: sum(r.steps for r in pixel_ascent(mixed, settings, batch)), flops, peak))
    for row in rows:
        row["layer"] = layer
    return rows


def threshold_case(vgg, layer: str, args, peak: float) -> None:
    """Early stopping pays: a threshold that stops half the filters after their first step."""
    from generator.methods.pixel import pixel_ascent
    from generator.network.extractors import truncated

    extractor = truncated(vgg, layer)
    steps = max(args.steps, 10)
    probe = PixelSettings(lr=args.lr, iterations=1, threshold=None, filters=tuple(range(4 * args.filters)),
                          image_size=args.image_size, seed=42, init=(128.0, 148.0), preprocess="none",
                          batch_size=None)
    batch = args.batch_size or auto_batch_size(layer, args.image_size, args.filters, on_gpu())
    first = {r.index: r.history[0] for r in pixel_ascent(extractor, probe, batch)}
    alive = [index for index, loss in first.items() if loss > 0][: args.filters]  # dead ones never stop
    losses = sorted(first[index] for index in alive)
    threshold = losses[len(losses) // 2]  # the upper half reaches it at step 1
    base = replace(probe, iterations=steps, filters=tuple(alive))
    capped = replace(base, threshold=threshold)
    free_time = _time(lambda: pixel_ascent(extractor, base, batch))
    capped_runs = []
    capped_time = _time(lambda: capped_runs.extend(pixel_ascent(extractor, capped, batch)))
    stopped = sum(r.steps == 1 for r in capped_runs)
    work = sum(r.steps for r in capped_runs) / (len(capped_runs) * steps)
    print(f"\nearly stopping on {layer}, {len(alive)} filters x {steps} steps: threshold {threshold:.4g} "
          f"stops {stopped} of {len(capped_runs)} after step 1 (the rest when their loss reaches it, "
          f"steps {[r.steps for r in capped_runs]}); {capped_time:.1f} s vs {free_time:.1f} s without "
          f"threshold = {capped_time / free_time:.2f}x the time for {work:.2f}x the image-steps")


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


WHOLE_JOB = """title: whole-process benchmark
model: {{weights: {weights}}}
output: {{site: site, cache: cache}}
defaults: {{methods: [pixel], filters: {filters}, iterations: {steps}, image_size: {size}, lr: {lr}}}
layers: {{{layer}: {{}}}}
"""


def whole_process(args) -> int:
    """The original loop here (warm, as above), then the whole `vgg-gallery build` of the same job as a
    command, command to exit, with a fresh site and cache: first with an empty Keras cache, then with the
    hed weights extracted there by that first run. `--repeat N` alternates loop and build N times."""
    import statistics
    import tempfile

    from generator.network.extractors import truncated
    from generator.network.weights import load_vgg16

    layer, filters, steps = (args.layer or ["block4_conv3"])[0], args.filters or 16, args.steps or 10
    print(f"machine: {describe_cpu()}; ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'not set')}")
    print(f"job: {layer}, {filters} filters x {steps} iterations at {args.image_size} px, pixel, "
          f"weights {args.weights}\n", flush=True)
    settings = PixelSettings(lr=args.lr, iterations=steps, threshold=None, filters=tuple(range(filters)),
                             image_size=args.image_size, seed=42, init=(128.0, 148.0), preprocess="none",
                             batch_size=None)
    extractor = truncated(load_vgg16(WeightsSpec(source=args.weights))[0], layer)
    seed_loop(extractor, replace(settings, iterations=1, filters=(0,)))  # warm-up, as bench_case does
    ratios = []
    with tempfile.TemporaryDirectory(prefix="bench-whole-") as folder:
        work = Path(folder)
        (work / "gallery.yaml").write_text(WHOLE_JOB.format(weights=args.weights, filters=filters, steps=steps,
                                                            size=args.image_size, lr=args.lr, layer=layer))
        for round_ in range(args.repeat):
            cpu = time.process_time()
            original = _time(lambda: seed_loop(extractor, settings))
            _row("original loop (warm, in this process)", original, time.process_time() - cpu, "")
            first = ["whole build, first run: empty Keras cache"] if round_ == 0 else []
            for name in first + ["whole build, hed weights in Keras cache"]:
                seconds, cpu, took = _whole_build(work)  # the first run extracts the hed weights into work/keras
                _row(name, seconds, cpu, f"ratio {original / seconds:.2f}x  ({took})")
            ratios.append(original / seconds)
    if len(ratios) > 1:
        print(f"\nmedian ratio with the hed weights in the Keras cache, {len(ratios)} rounds: "
              f"{statistics.median(ratios):.2f}x")
    return 0


def _row(name: str, seconds: float, cpu: float, rest: str) -> None:
    """Wall and CPU seconds, and the 1-minute load average (about 2 with 2 cores busy; more: shared)."""
    load = os.getloadavg()[0]
    print(f"{name:<44} {seconds:>6.1f} s (cpu {cpu:>5.1f} s, load {load:.1f})  {rest}".rstrip(), flush=True)


def _whole_build(work: Path) -> tuple[float, float, str]:
    """`vgg-gallery build` of work/gallery.yaml into a fresh site and cache, timed from command to exit."""
    for name in ("site", "cache"):
        shutil.rmtree(work / name, ignore_errors=True)
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "KERAS_HOME": str(work / "keras"),
           "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "generator", "build", str(work / "gallery.yaml"), "--no-progress"]
    start, used = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"vgg-gallery build failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds, cpu, next(line for line in done.stdout.splitlines() if line.startswith("took "))


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layer", action="append", help="layer(s) to measure (default: an early, middle, deep one)")
    parser.add_argument("--filters", type=int, default=None, help="default 8 (16 with --whole-process)")
    parser.add_argument("--steps", type=int, default=None, help="default 4 (10 with --whole-process)")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--lr", type=float, default=2.5)
    parser.add_argument("--batch-size", type=int, default=None, help="default: what batch_size: auto picks")
    parser.add_argument("--method", choices=["pixel"], default="pixel")
    parser.add_argument("--weights", default="hed", help="hed (default), random or imagenet")
    parser.add_argument("--skip-seed", action="store_true", help="measure only the generator")
    parser.add_argument("--mixed", action="store_true", help="also measure precision: mixed (bfloat16 compute)")
    parser.add_argument("--threshold-case", action="store_true", help="also measure early stopping")
    parser.add_argument("--repeat", type=int, default=1, help="with --whole-process: rounds of loop and build")
    parser.add_argument("--whole-process", action="store_true",
                        help="the original loop vs the whole `vgg-gallery build` command (default block4_conv3)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.whole_process:
        return whole_process(args)
    args.filters, args.steps = args.filters or 8, args.steps or 4

    import tensorflow as tf

    from generator.network.weights import load_vgg16

    vgg, info = load_vgg16(WeightsSpec(source=args.weights))
    peak = attainable_gflops()
    # ratios travel between machines, absolute rates do not: the header says which CPU made them
    print(f"machine: {describe_cpu()}{'; computing on the GPU' if on_gpu() else ''}")
    print(f"TensorFlow {tf.__version__}; weights {info.source}; "
          f"{args.filters} filters x {args.steps} steps at {args.image_size} px")
    print(f"attainable fp32 rate (4096^2 matmul, best of 5): {peak:,.1f} GFLOP/s\n")
    header = f"{'layer':<13} {'run':<22} {'seconds':>8} {'img-steps/s':>12} {'GFLOP/s':>9} {'of peak':>8}"
    print(header)
    print("-" * len(header))
    for layer in args.layer or DEFAULT_CASES:
        rows = bench_case(vgg, layer, args, peak)
        for row in rows:
            print(f"{row['layer']:<13} {row['name']:<22} {row['seconds']:>8.2f} {row['rate']:>12.2f} "
                  f"{row['gflops']:>9.1f} {row['share']:>7.0%}")
        if not args.skip_seed:
            for row in rows[1:]:
                print(f"{'':<13} {'speed-up, ' + row['name'].split(' (')[0]:<22} "
                      f"{rows[0]['seconds'] / row['seconds']:>7.2f}x")
        sys.stdout.flush()
    if args.threshold_case:
        threshold_case(vgg, (args.layer or ["block3_conv3"])[0], args, peak)
    print(f"\npeak resident memory of this process: {peak_memory_mb():,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
