"""Teaching material: kernel patches, weight statistics, sample images' feature maps, lessons' numbers."""

from __future__ import annotations


import numpy as np
import pytest
from PIL import Image

from generator.config import load_manifest
from generator.errors import ConfigError
from generator.site.lessons import lessons_context
from generator.analysis.teaching import kernel_patch, map_sheet, most_similar, sample_summary

from conftest import write_manifest


def test_kernel_patch_is_min_max_scaled_rgb_and_enlarged():
    kernel = np.zeros((3, 3, 3))
    kernel[0, 0] = [1.0, 0.0, -1.0]  # B, G, R in the network's order
    patch = kernel_patch(kernel, scale=4)
    assert patch.shape == (12, 12, 3) and patch.dtype == np.uint8
    assert tuple(patch[0, 0]) == (0, 128, 255)  # shown as RGB: R = -1 -> 0, B = 1 -> 255
    assert tuple(patch[11, 11]) == (128, 128, 128)


def test_map_sheet_scales_each_map_to_its_own_maximum():
    maps = np.zeros((14, 14, 70))
    maps[..., 1] = 5.0
    maps[3, 3, 2] = 0.5
    sheet = map_sheet(maps, cell=14, gap=2)
    assert sheet.shape == (8 * 16 - 2, 8 * 16 - 2, 3)  # 64 of the 70 maps, 8 per row
    assert sheet[0:14, 16:30].min() == 255  # map 1: constant, scaled to white
    assert sheet[0:14, 0:14].max() == 0  # map 0: all zero stays black
    assert sheet[3, 32 + 3].max() == 255  # map 2's single peak


def test_sample_summary_and_similarity():
    maps = np.zeros((2, 2, 4))
    maps[..., 2] = 3.0
    maps[..., 0] = 1.0
    summary = sample_summary(maps)
    assert summary["strongest"] == [2, 0] and summary["means"] == [1.0, 0.0, 3.0, 0.0]
    filters = [{"index": 5, "cross": [0, 0, 1, 0]}, {"index": 6, "cross": [1, 0, 3, 0]}, {"index": 7, "cross": [0, 1, 0, 0]}]
    assert most_similar(summary["means"], filters) == [6, 5]


def test_sample_images_in_the_manifest(tmp_path):
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(tmp_path / "cat.png")
    manifest = load_manifest(write_manifest(tmp_path, "sample_images: [cat.png]\nlayers: {block1_conv1: {}}\n"))
    assert manifest.samples == (tmp_path / "cat.png",)
    with pytest.raises(ConfigError, match="sample_images: no such file 'dog.png'"):
        load_manifest(write_manifest(tmp_path, "sample_images: [dog.png]\nlayers: {block1_conv1: {}}\n"))
    with pytest.raises(ConfigError, match="sample_images: expected a list of image file paths"):
        load_manifest(write_manifest(tmp_path, "sample_images: cat.png\nlayers: {block1_conv1: {}}\n"))


@pytest.mark.slow
def test_sample_feature_maps_and_weights_reach_the_site(tmp_path):
    from generator.build import build

    pixels = np.zeros((64, 96, 3), np.uint8)
    pixels[:, 48:] = (255, 0, 0)
    Image.fromarray(pixels).save(tmp_path / "half.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    text = """
model: {weights: random}
output: {site: site, cache: cache}
sample_images: [half.png]
defaults: {filters: 3, image_size: 32, iterations: 2}
layers: {block1_conv1: {}, block2_conv1: {}}
"""
    build(load_manifest(write_manifest(tmp_path, text)), progress=False)
    page = (tmp_path / "site" / "samples" / "half.html").read_text()
    assert "block1_conv1" in page and "block2_conv1" in page
    sheet = Image.open(tmp_path / "site" / "samples" / "half" / "block1_conv1.png")
    assert sheet.size == (8 * 58 - 2, 8 * 58 - 2)
    weights = (tmp_path / "site" / "weights.html").read_text()
    assert weights.count('alt="kernel of block1_conv1 filter') == 64
    assert (tmp_path / "site" / "images" / "weights" / "k63.png").is_file()

    bad = text.replace("[half.png]", "[broken.png]")
    with pytest.raises(ConfigError, match="cannot read broken.png as an image"):
        build(load_manifest(write_manifest(tmp_path, bad)), progress=False)


def test_lessons_numbers_come_from_the_results():
    from generator.site.records import Counts, FilterView, LayerView, MethodView

    def f(index, status, rank, loss):
        return FilterView(index=index, loss=loss, loss_text=str(loss), steps=2, stopped_early=False, status=status,
                          activation=loss, activation_text=str(loss), rank=rank, reaching=(1,) * (rank - 1),
                          image=f"i{index}", thumbnail=f"t{index}", page=f"p{index}", selectivity=0.5,
                          history=(1.0, loss), cross=(), snapshots=(), animation=None, high_frequency=0.4,
                          revived_at=None, reaching_links=())

    def m(name, filters, counts, lr):
        return MethodView(method=name, title=name, loss_name="loss", pre_relu=False, steps=2, threshold=None,
                          settings={"lr": lr}, image_size=32, counts=counts, revived=None, mean_loss=None,
                          mean_loss_text="", seconds=0.0, seconds_text="", filters=tuple(filters),
                          by_index={x.index: x for x in filters}, strongest=1, data_json="", data_csv="",
                          environment={}, heatmap="", heatmap_data={})

    pixel = m("pixel", [f(0, "dead", 3, 0.0), f(1, "ok", 1, 9.0)], Counts(ok=1, dead=1, diverged=0), 2.5)
    natural = m("natural", [f(0, "ok", 2, 4.0), f(1, "ok", 1, 5.0)], Counts(ok=2, dead=0, diverged=0), 0.05)
    layer = LayerView(name="block1_conv1", planned=("pixel", "natural"), built=True, receptive_field=3, channels=64,
                      page="layers/block1_conv1.html", methods=(pixel, natural))
    lessons = lessons_context([layer])
    assert [(r.method, r.dead, r.strongest) for r in lessons.rows] == [("pixel", 1, 1), ("natural", 0, 1)]
    assert lessons.example.filter.index == 1 and lessons.example.last == 9.0
    assert lessons.revived_count == 1 and lessons.revived[0].index == 0
    assert lessons.depths["early"][0].layer == "block1_conv1"
