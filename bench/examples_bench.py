"""Benchmark: dataset examples over many photos, in time that grows linearly and memory that does not grow.

In one process, with the offline trained weights (`hed`; `--weights random` for a quick look), every
one of VGG16's 13 conv layers and all 4,224 filters:
  1. the built-in photos (scikit-image's colour photographs, at most 512 px): wall time;
  2. N synthetic photos of 500 x 375 px (smoothed noise, made here, written as PNG): wall time, photos
     per second, and the process's peak resident memory after a tenth of them and after all of them.
The ratio of the two peaks is the result: about 1 means the streaming top-k holds no more for 1,000
photos than for 100. Photo making and reading are timed apart from the network.

    python bench/examples_bench.py                   # make bench-examples (1,000 photos: many minutes on 2 cores)
    python bench/examples_bench.py --photos 100 --weights random
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from generator.architecture import CONV_LAYER_NAMES  # noqa: E402
from generator.machine import describe_cpu  # noqa: E402


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_photos(folder: Path, count: int, size: tuple[int, int] = (500, 375)) -> None:
    """Smoothed colour noise: structure at several scales, so every layer finds something."""
    from PIL import Image, ImageFilter

    rng = np.random.default_rng(0)
    for index in range(count):
        noise = rng.integers(0, 256, (size[1] // 4, size[0] // 4, 3), dtype=np.uint8)
        image = Image.fromarray(noise).resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(1))
        image.save(folder / f"photo{index:04d}.png")


def settings_for(images: str, base: Path):
    from generator.examples.settings import EXAMPLES_SECTION

    return EXAMPLES_SECTION("examples", {"images": images}, {"base": base})


def run(vgg, settings, checkpoint: int | None = None) -> tuple[float, int, float | None]:
    """Seconds, photos used, and the peak memory (MiB) seen after `checkpoint` photos."""
    from generator.examples.compute import compute_examples
    from generator.examples.photos import scan

    photos = scan(settings, CONV_LAYER_NAMES)
    seen: dict[str, float] = {}

    def on_photo(photo, pixels):
        seen["count"] = seen.get("count", 0) + 1
        if seen["count"] == checkpoint:
            seen["peak"] = peak_mib()

    started = time.perf_counter()
    _, used = compute_examples(vgg, photos, CONV_LAYER_NAMES, settings, on_photo=on_photo)
    return time.perf_counter() - started, len(used), seen.get("peak")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--weights", default="hed", choices=("hed", "random"))
    args = parser.parse_args()
    from generator.config import WeightsSpec
    from generator.network.weights import load_vgg16

    print(f"CPU: {describe_cpu()}")
    vgg, _ = load_vgg16(WeightsSpec(source=args.weights))
    seconds, used, _ = run(vgg, settings_for("builtin", Path.cwd()))
    print(f"built-in photos: {used} photos, 13 layers, 4,224 filters: {seconds:.1f} s")
    with tempfile.TemporaryDirectory() as work:
        started = time.perf_counter()
        make_photos(Path(work), args.photos)
        print(f"made {args.photos} photos of 500x375 px in {time.perf_counter() - started:.1f} s")
        seconds, used, early = run(vgg, settings_for(work, Path(work)), checkpoint=max(1, args.photos // 10))
    final = peak_mib()
    print(f"{used} photos of 500x375 px, 13 layers, 4,224 filters: {seconds:.1f} s ({used / seconds:.2f} photos/s)")
    print(f"peak memory: {early:.0f} MiB after {max(1, args.photos // 10)} photos, {final:.0f} MiB after {used} "
          f"(ratio {final / early:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
