"""Pixels to PNG bytes: full images and grid thumbnails, deterministic byte for byte."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

THUMBNAIL_SIZE = 96  # grid cells: small enough that a 64-image layer page stays light


def encode_png(pixels: np.ndarray) -> bytes:
    """uint8 (H, W, 3) -> PNG bytes; fixed settings and no metadata, so equal input gives equal bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def encode_jpeg(pixels: np.ndarray, quality: int = 85) -> bytes:
    """Grid thumbnails as JPEG: a fifth of a PNG's weight for these noisy images, and still deterministic."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).save(
        buffer, format="JPEG", quality=quality, optimize=True, subsampling=0)
    return buffer.getvalue()


def encode_gif(frames: list[np.ndarray], frame_ms: int = 600) -> bytes:
    """Frames -> a looping animated GIF (the last frame held longer)."""
    images = [Image.fromarray(np.ascontiguousarray(f, dtype=np.uint8)).convert("P", palette=Image.Palette.ADAPTIVE)
              for f in frames]
    durations = [frame_ms] * (len(images) - 1) + [frame_ms * 3]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return buffer.getvalue()


def thumbnail(pixels: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """A downscaled copy for grids (never upscaled)."""
    if pixels.shape[0] <= size:
        return pixels
    image = Image.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8)).resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(image)


def decode_png(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))
