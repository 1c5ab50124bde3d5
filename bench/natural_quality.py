"""Pixel vs natural method: how many filters they really activate, and how noisy their images are.

For a sample of filters from blocks 2-5, on the offline trained weights (hed), it prints per layer
and method:
  active   the share of filters whose real post-ReLU mean on the final (8-bit) image is > 0
  HF       the median share of spectral energy above half the Nyquist frequency (grey, mean removed),
           over the images of the active filters (a dead filter's image is its start image)
  revived  natural: filters still closed at the revive step that switched to their map's strongest
           positions, and (in brackets) how many of them ended active

The pixel method runs with the original write-up's per-layer settings (gallery.yaml), the natural
method with gallery.yaml's natural settings (steps can be lowered with --steps to save time).

    python bench/natural_quality.py                       # 16 filters of one layer per block
    python bench/natural_quality.py --filters 64 --layers block2_conv1,block4_conv3
    python bench/natural_quality.py --from-site site      # read a built gallery instead of computing
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from generator.config import WeightsSpec, load_manifest  # noqa: E402

DEFAULT_LAYERS = "block2_conv1,block3_conv1,block4_conv1,block5_conv1"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", default=DEFAULT_LAYERS)
    parser.add_argument("--filters", type=int, default=16, help="the first N filters of each layer")
    parser.add_argument("--steps", type=int, default=None, help="natural steps (default: gallery.yaml's)")
    parser.add_argument("--methods", default="pixel,natural", help="which methods to run (default both)")
    parser.add_argument("--weights", default="hed")
    parser.add_argument("--from-site", type=Path, default=None,
                        help="measure the images and data of a built site (every layer and method in it)")
    args = parser.parse_args(argv)
    if args.from_site:
        return from_site(args.from_site)

    from generator.analysis.cross import feature_means
    from generator.methods.pixel import pixel_ascent, to_uint8
    from generator.network.device import auto_batch_size, on_gpu
    from generator.network.extractors import truncated
    from generator.network.weights import load_vgg16
    from generator.analysis.cross import high_frequency_share
    from generator.methods.natural import natural_ascent, unit_to_uint8

    manifest = load_manifest(ROOT / "gallery.yaml")
    vgg, info = load_vgg16(WeightsSpec(source=args.weights))
    print(f"weights: {info.source} (sha256 {info.sha256[:16]}...); first {args.filters} filters per layer")
    print(HEADER)
    for layer in args.layers.split(","):
        for job in (j for j in manifest.jobs if j.layer == layer and j.settings.method in args.methods.split(",")):
            settings = dataclasses.replace(job.settings, filters=tuple(range(args.filters)))
            if settings.method == "natural" and args.steps:
                settings = dataclasses.replace(settings, steps=args.steps,
                                               snapshots=tuple(s for s in settings.snapshots if s <= args.steps))
            batch = auto_batch_size(layer, settings.image_size, args.filters, on_gpu())
            extractor = truncated(vgg, layer)
            start = time.perf_counter()
            if settings.method == "pixel":
                runs = pixel_ascent(extractor, settings, batch)
                images = np.stack([to_uint8(r.image) for r in runs])
            else:
                runs = natural_ascent(vgg, layer, settings, batch)
                images = np.stack([unit_to_uint8(r.image) for r in runs])
            seconds = time.perf_counter() - start
            means = feature_means(extractor, images, settings.preprocess, batch)
            opened = [bool(means[row, k] > 0) for row, k in enumerate(settings.filters)]
            hf = _median_or_nan([high_frequency_share(image) for image, is_open in zip(images, opened) if is_open])
            revived = [is_open for run, is_open in zip(runs, opened) if getattr(run, "revived_at", None)]
            print(_row(layer, settings.method, sum(opened), len(images), hf, seconds,
                       revived if settings.method == "natural" else None), flush=True)
    return 0


HEADER = f"{'layer':<13} {'method':<8} {'active':>9} {'HF share':>9} {'revived':>12} {'seconds':>8}"


def _row(layer: str, method: str, active: int, total: int, hf: float, seconds: float,
         revived: list[bool] | None) -> str:
    """One line of the table; `revived` holds, per revived filter, whether it ended active."""
    revived_text = "-" if revived is None else f"{len(revived)} ({sum(revived)})"
    return f"{layer:<13} {method:<8} {active:>4}/{total:<4} {hf:>9.3f} {revived_text:>12} {seconds:>8.1f}"


def _median_or_nan(values: list[float]) -> float:
    return float(np.median(values)) if values else float("nan")


def from_site(site: Path) -> int:
    """The same table from a built gallery's public data and images."""
    import json

    from PIL import Image

    from generator.architecture import CONV_LAYER_NAMES
    from generator.analysis.cross import high_frequency_share

    print(f"gallery: {site}")
    print(HEADER)
    runs = json.loads((site / "build.json").read_text())["layers"]  # timings are in the build record, not the data
    for layer in CONV_LAYER_NAMES:
        for method in ("pixel", "natural"):
            path = site / "data" / layer / f"{method}.json"
            if not path.is_file():
                continue
            data = json.loads(path.read_text())
            filters = data["filters"]
            opened = [(f["activation"] or 0) > 0 for f in filters]
            hf = _median_or_nan([high_frequency_share(np.asarray(Image.open(site / f["image"]).convert("RGB")))
                               for f, is_open in zip(filters, opened) if is_open])
            revived = ([is_open for f, is_open in zip(filters, opened) if f.get("revived_at")]
                       if data["settings"].get("revive") else None)
            print(_row(layer, method, sum(opened), len(filters), hf, runs[layer][method]["seconds"], revived))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
