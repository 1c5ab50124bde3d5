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
SHARDS = "shards"  # folder of shard records: which units a `--shard K/N` build put in this cache
shard_record_name = "{}-of-{}.json".format  # shard_record_name(2, 8)


# A filter's files, in a cache entry's images/ folder and in the site's images/<layer>/<method>/.
image_name = "f{:03d}.png".format  # image_name(7): its saved image (PNG, full size)
thumb_name = "t{:03d}.jpg".format  # its grid thumbnail (JPEG)
snapshot_name = "s{:03d}-{:05d}.png".format  # snapshot_name(7, 32): its image after step 32
animation_name = "a{:03d}.gif".format  # its snapshots and final image as an animated GIF
view_name = "v{:03d}-{}-{}.png".format  # view_name(7, "diverse", 2): the third image of filter 7's diverse view


def entry_files(result: LayerResult) -> list[str]:
    """Every image file a layer entry holds (its animations are made later, on demand)."""
    names = []
    for f in result.filters:
        names += [image_name(f.index), thumb_name(f.index)] + [snapshot_name(f.index, s) for s in f.snapshots]
        names += [view_name(f.index, view, j) for view, record in sorted(f.views.items())
                  for j in range(len(record["activation"]))]
    return names


weights_summary_name = "{}.json".format  # kernel statistics of the weights with this sha256
sheet_name = "{}.png".format  # sheet_name(layer): a sample image's feature-map sheet for that layer
kernel_name = "k{:02d}.png".format  # block1_conv1's kernel k as an RGB patch

HEATMAP = "cross.png"  # a layer-method's cross-activation heatmap

# --------------------------------------------------------------------------- site URLs


def images_url(layer: str, method: str, name: str) -> str:
    """A file of a layer-method's images folder, e.g. images_url(layer, method, image_name(7))."""
    return f"images/{layer}/{method}/{name}"


def data_url(layer: str, method: str, suffix: str) -> str:
    """The public data of a layer-method: suffix `json` or `csv`."""
    return f"data/{layer}/{method}.{suffix}"


def kernel_url(index: int) -> str:
    """block1_conv1's kernel patch in the site (kernel_name's file)."""
    return f"images/weights/{kernel_name(index)}"


layer_page = "layers/{}.html".format  # layer_page(layer)
filter_page = "filters/{}/{:03d}.html".format  # filter_page(layer, index)
sample_page = "samples/{}.html".format  # sample_page(name)
sample_url = "samples/{}/{}".format  # sample_url(name, file): its image or one of its sheets
lesson_page = "lessons/{}.html".format  # lesson_page(slug)

BUILD_RECORD = "build.json"  # the site's build record: timings and environment (not public data)

# --------------------------------------------------------------------------- dataset examples (site URLs)

examples_data_url = "data/{}/examples.json".format  # examples_data_url(layer): the layer's public examples
photo_url = "images/photos/{}.jpg".format  # photo_url(name): a photo as fed, which a patch links to


def example_tile_url(layer: str, index: int, kind: str, rank: int) -> str:
    """One patch of a filter's examples (kind `top` or `bottom`, rank 0 = the strongest)."""
    return f"images/{layer}/examples/f{index:03d}-{kind}-{rank}.jpg"
