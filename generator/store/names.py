"""Every file and URL name the cache and the site use, spelled once.

File names are those inside a cache entry's `images/` folder and inside the
site's `images/<layer>/<method>/` folder (the site links them from the cache).
URLs are relative to the site root; pages prefix them with `root` (../ per
folder level), so the site works from file://, a local server or a sub-path.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names only: no import of the results at run time
    from ..analysis.results import LayerResult

# --------------------------------------------------------------------------- cache entries

RESULT_FILE = "result.json"  # an entry's record: the result, its key, the images' checksums
ENTRY_IMAGES = "images"  # the folder of an entry's images
WEIGHTS_FILE = "weights.json"  # the weights fingerprint of the last build per source
WEIGHTS_SUMMARIES = "weights"  # folder of per-weights kernel statistics
SAMPLES = "samples"  # folder of sample images' feature maps
SAMPLE_DATA = "data.json"
SAMPLE_IMAGE = "sample.png"
CACHE_LOCK = ".lock"
TEMPORARY_PREFIX = ".tmp-"  # folders being written; removed after a killed build
WRITE_PROBE = ".probe-"  # the empty file that proves a folder writable before a build starts


def image_name(index: int) -> str:
    """Filter `index`'s saved image (PNG, full size)."""
    return f"f{index:03d}.png"


def thumb_name(index: int) -> str:
    """Filter `index`'s grid thumbnail (JPEG)."""
    return f"t{index:03d}.jpg"


def snapshot_name(index: int, step: int) -> str:
    """Filter `index`'s image after `step` steps."""
    return f"s{index:03d}-{step:05d}.png"


def animation_name(index: int) -> str:
    """Filter `index`'s snapshots and final image as an animated GIF."""
    return f"a{index:03d}.gif"


def entry_files(result: LayerResult) -> list[str]:
    """Every image file a layer entry holds (its animations are made later, on demand)."""
    names = []
    for f in result.filters:
        names += [image_name(f.index), thumb_name(f.index)] + [snapshot_name(f.index, s) for s in f.snapshots]
    return names


def weights_summary_name(sha256: str) -> str:
    """The kernel statistics of the weights with this sha256, inside WEIGHTS_SUMMARIES."""
    return f"{sha256}.json"


def sheet_name(layer: str) -> str:
    """A sample image's feature-map sheet for one layer."""
    return f"{layer}.png"


def kernel_name(index: int) -> str:
    """block1_conv1's kernel `index` as an RGB patch."""
    return f"k{index:02d}.png"


HEATMAP = "cross.png"  # a layer-method's cross-activation heatmap

# --------------------------------------------------------------------------- site URLs


def images_url(layer: str, method: str, name: str) -> str:
    return f"images/{layer}/{method}/{name}"


def image_url(layer: str, method: str, index: int) -> str:
    return images_url(layer, method, image_name(index))


def thumb_url(layer: str, method: str, index: int) -> str:
    return images_url(layer, method, thumb_name(index))


def snapshot_url(layer: str, method: str, index: int, step: int) -> str:
    return images_url(layer, method, snapshot_name(index, step))


def animation_url(layer: str, method: str, index: int) -> str:
    return images_url(layer, method, animation_name(index))


def heatmap_url(layer: str, method: str) -> str:
    return images_url(layer, method, HEATMAP)


def data_url(layer: str, method: str, suffix: str) -> str:
    """The public data of a layer-method: suffix `json` or `csv`."""
    return f"data/{layer}/{method}.{suffix}"


def layer_page(layer: str) -> str:
    return f"layers/{layer}.html"


def filter_page(layer: str, index: int) -> str:
    return f"filters/{layer}/{index:03d}.html"


def sample_page(name: str) -> str:
    return f"samples/{name}.html"


def sample_url(name: str, file: str) -> str:
    """A file of sample `name` (its image or one of its sheets)."""
    return f"samples/{name}/{file}"


def kernel_url(index: int) -> str:
    return f"images/weights/{kernel_name(index)}"


def lesson_page(slug: str) -> str:
    return f"lessons/{slug}.html"


BUILD_RECORD = "build.json"  # the site's build record: timings and environment (not public data)
