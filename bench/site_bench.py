"""Benchmark: does `vgg-gallery site` (render only) grow linearly with the number of filters per layer?

Two random-weight galleries with the smallest settings VGG16 allows (32 px, 2 steps, both methods)
on layers with 512 maps (block4_conv1, block5_conv1): one with 64 filters per layer, one with 512.
Both are built once to fill a shared cache (the 512-filter one takes a few minutes on 2 cores; a
second run finds it cached), then `vgg-gallery site` re-renders each, best of a few runs, and the
site's total size is measured. Printed: both times and sizes and their ratios for 8x the filters;
linear growth means ratios of about 8 or less.

    python bench/site_bench.py                 # make bench-site
    python bench/site_bench.py --repeats 5 --work /tmp/my-site-bench
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from generator.machine import describe_cpu  # noqa: E402

LAYERS = ("block4_conv1", "block5_conv1")  # 512 maps each, so both sizes fit
MANIFEST = """title: Site benchmark, {filters} filters per layer
model: {{weights: random, random_seed: 0}}
output: {{site: site-{filters}, cache: cache}}
defaults:
  methods: [pixel, natural]
  image_size: 32
  iterations: 2
  natural: {{steps: 2, image_size: 32, snapshots: [2]}}
layers:
{layers}
"""


@dataclass(frozen=True)
class Case:
    filters: int  # per layer
    seconds: float  # the best `vgg-gallery site` wall time
    runs: tuple[float, ...]  # every run's wall time
    pages: int  # HTML pages in the site
    bytes: int  # every file of the site (images hard-linked from the cache counted at full size)


def command() -> list[str]:
    """`vgg-gallery` beside this interpreter (the project's venv), else the same as a module."""
    script = Path(sys.executable).with_name("vgg-gallery")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "generator"]


def write_manifest(work: Path, filters: int, layers: tuple[str, ...]) -> Path:
    path = work / f"gallery-{filters}.yaml"
    body = "\n".join(f"  {layer}: {{filters: {filters}}}" for layer in layers)
    path.write_text(MANIFEST.format(filters=filters, layers=body), encoding="utf-8")
    return path


def run(args: list[str], quiet: bool) -> float:
    """Wall seconds of one vgg-gallery command; its output is shown unless `quiet`."""
    start = time.perf_counter()
    result = subprocess.run(command() + args, capture_output=quiet, text=True)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"vgg-gallery {' '.join(args)} failed ({result.returncode}):\n{result.stderr or ''}")
    return seconds


def measure(work: Path, filters: int, layers: tuple[str, ...], repeats: int) -> Case:
    """Fill the cache (computing only what is missing), then time the render-only command."""
    manifest = write_manifest(work, filters, layers)
    print(f"\n== {filters} filters per layer: filling the cache (vgg-gallery build)", flush=True)
    run(["build", str(manifest), "--no-progress"], quiet=False)
    runs = tuple(run(["site", str(manifest)], quiet=True) for _ in range(repeats))
    site = work / f"site-{filters}"
    files = [path for path in site.rglob("*") if path.is_file()]
    return Case(filters, min(runs), runs, sum(path.suffix == ".html" for path in files),
                sum(path.stat().st_size for path in files))


def report(small: Case, large: Case, layers: tuple[str, ...]) -> None:
    factor = large.filters / small.filters
    print(f"\nvgg-gallery site (render only), {len(layers)} layers ({', '.join(layers)}) x 2 methods, "
          "random weights, 32 px, 2 steps")
    print(f"{'filters/layer':>13}  {'pages':>6}  {'site MB':>8}  {'site s (best)':>13}  runs")
    for case in (small, large):
        runs = " ".join(f"{seconds:.2f}" for seconds in case.runs)
        print(f"{case.filters:>13}  {case.pages:>6}  {case.bytes / 1e6:>8.1f}  {case.seconds:>13.2f}  {runs}")
    time_ratio, size_ratio = large.seconds / small.seconds, large.bytes / small.bytes
    print(f"\n{factor:g}x the filters: time x{time_ratio:.2f}, size x{size_ratio:.2f}")
    for name, ratio in (("time", time_ratio), ("size", size_ratio)):
        verdict = "at most linear" if ratio <= factor * 1.1 else "GROWS FASTER THAN LINEARLY"
        print(f"  {name}: {verdict} (x{ratio:.2f} for x{factor:g} the filters)")
    print("  (the command's fixed start-up, and pages that do not depend on the filter count, "
          "pull both ratios below the factor)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "vgg-gallery-site-bench",
                        help="folder for the manifests, the shared cache and the two sites (kept between runs)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of `vgg-gallery site` per size (best counts)")
    parser.add_argument("--filters", type=int, nargs=2, default=(64, 512), metavar=("SMALL", "LARGE"))
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    print("site benchmark: render time and site size against filters per layer")
    print(f"machine: {describe_cpu()}")
    print(f"work folder: {args.work}")
    small, large = (measure(args.work, filters, LAYERS, args.repeats) for filters in args.filters)
    report(small, large, LAYERS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
