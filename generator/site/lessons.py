"""The teaching pages' context: weight statistics, sample images, and the numbers the lessons quote.

Read off this gallery's own results (the layer contexts of `context.py`), so each lesson speaks
of the images the student is looking at.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .charts import bar_chart
from .context import filter_page

def weights_context(summary: dict | None, layers: list[dict[str, Any]]) -> dict[str, Any] | None:
    """block1_conv1's kernels (linked to their filters) and per-layer kernel statistics."""
    if summary is None:
        return None
    first = next((layer for layer in layers if layer["name"] == "block1_conv1" and layer["built"]), None)
    shown = {item["index"] for item in first["filter_pages"]} if first else set()
    kernels = [{
        "index": k,
        "image": f"images/weights/k{k:02d}.png",
        "page": filter_page("block1_conv1", k) if k in shown else None,
        "thumbnails": [m["by_index"][k]["thumbnail"] for m in first["methods"] if k in m["by_index"]] if first else [],
    } for k in range(len(summary["block1_conv1"]))]
    stats = []
    for name, data in summary["layers"].items():
        norms = np.asarray(data["norm"])
        bias = np.asarray(data["bias"])
        stats.append({
            "name": name,
            "in_channels": data["in_channels"],
            "channels": data["channels"],
            "norm_min": float(norms.min()), "norm_median": float(np.median(norms)), "norm_max": float(norms.max()),
            "bias_mean": float(bias.mean()), "bias_negative": int((bias < 0).sum()),
            "chart": bar_chart(data["norm"], -1, f"L2 norm of each of the {data['channels']} kernels of {name}",
                               x_label="output channel (filter)", y_label="kernel norm"),
        })
    return {"kernels": kernels, "stats": stats}


def samples_context(samples: list[dict], layers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each sample image: per layer its 64 feature maps, their means, the strongest maps and the
    generated images whose cross-activation profile is closest to the sample's."""
    from ..analysis.teaching import most_similar

    by_name = {layer["name"]: layer for layer in layers}
    out = []
    for sample in samples:
        entry = {"name": sample["name"], "page": f"samples/{sample['name']}.html",
                 "image": f"samples/{sample['name']}/sample.png", "layers": []}
        for name, data in sample["layers"].items():
            layer = by_name.get(name)
            primary = layer["primary"] if layer and layer["built"] else None
            def link(k: int) -> dict[str, Any]:
                f = primary["by_index"].get(k) if primary else None
                return {"index": k, "mean": data["means"][k], "page": f["page"] if f else None,
                        "thumbnail": f["thumbnail"] if f else None}
            similar = most_similar(data["means"], primary["filters"]) if primary else []
            entry["layers"].append({
                "name": name,
                "sheet": f"samples/{sample['name']}/{name}.png",
                "shown": min(64, len(data["means"])),
                "means": [round(v, 2) for v in data["means"][:64]],
                "strongest": [link(k) for k in data["strongest"]],
                "similar": [link(k) for k in similar],
            })
        out.append(entry)
    return out


def _median(values: list[float]) -> float | None:
    return float(np.median(values)) if values else None


def lessons_context(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """The numbers the lessons quote, read off this gallery's own results."""
    built = [layer for layer in layers if layer["built"]]
    rows = []
    for layer in built:
        for m in layer["methods"]:
            ok = [f for f in m["filters"] if f["status"] == "ok"]
            rows.append({
                "layer": layer["name"], "method": m["method"], "page": layer["page"], "filters": len(m["filters"]),
                "strongest": m["strongest"], "dead": m["counts"]["dead"], "ok": m["counts"]["ok"],
                "median_rank": _median([f["rank"] for f in ok]),
                "median_reaching": _median([len(f["reaching"]) for f in ok]),
                "high_frequency": _median([f["high_frequency"] for f in ok if f["high_frequency"] is not None]),
                "receptive_field": layer["receptive_field"],
                "revived": m.get("revived"),
            })
    example = None  # lesson 1: the strongest filter of the first built layer
    if built:
        m = built[0]["primary"]
        ok = [f for f in m["filters"] if f["status"] == "ok" and f["loss"] is not None]
        if ok:
            f = max(ok, key=lambda f: f["loss"])
            example = {"layer": built[0]["name"], "method": m["method"], "settings": m["settings"], "filter": f,
                       "first": f["history"][0], "last": f["history"][-1]}
    rivals = []  # lesson 2: the most and the least specific images
    for layer in built:
        m = layer["primary"]
        ok = [f for f in m["filters"] if f["status"] == "ok" and (f["activation"] or 0) > 0]
        # only images that really drive their map: a barely-opened filter has "rivals" by default
        typical = _median([f["activation"] for f in ok]) or 0.0
        for f in ok:
            if f["activation"] >= typical:
                rivals.append({"layer": layer["name"], "channels": layer["channels"], **f})
    revived = []  # lessons 3 and 4: dead (or noisy) with pixels, alive with the natural method
    pairs = []
    for layer in built:
        methods = {m["method"]: m for m in layer["methods"]}
        if "pixel" in methods and "natural" in methods:
            for index, f in methods["pixel"]["by_index"].items():
                g = methods["natural"]["by_index"].get(index)
                if g is None:
                    continue
                pair = {"layer": layer["name"], "index": index, "pixel": f, "natural": g}
                pairs.append(pair)
                if f["status"] == "dead" and g["status"] == "ok":
                    revived.append(pair)
    by_block: dict[str, list] = {"early": [], "middle": [], "deep": []}
    for layer in built:
        block = int(layer["name"][5])
        depth = "early" if block <= 2 else ("middle" if block <= 3 else "deep")
        m = next((m for m in layer["methods"] if m["method"] == "natural"), layer["primary"])
        ok = [f for f in m["filters"] if f["status"] == "ok" and f["selectivity"] is not None]
        best = sorted(ok, key=lambda f: -f["selectivity"])[:4]
        if best:
            by_block[depth].append({"layer": layer["name"], "method": m["method"], "filters": best,
                                    "receptive_field": layer["receptive_field"]})
    rivals.sort(key=lambda f: (len(f["reaching"]), f["rank"]))
    return {
        "rows": rows,
        "example": example,
        "specific": rivals[:4],
        "unspecific": rivals[::-1][:4],
        "revived": revived[:8],
        "revived_count": len(revived),
        "pairs": pairs[:6],
        "depths": by_block,
        "layers_built": len(built),
    }


LESSONS = (
    ("01-activation-maximization", "What activation maximization is"),
    ("02-cross-activation", "Reading the cross-activation table"),
    ("03-dead-filters", "Dead filters, and how the natural method revives them"),
    ("04-pixel-versus-natural", "Pixel versus natural images"),
    ("05-receptive-fields", "How receptive fields grow with depth"),
    ("06-what-layers-see", "What early, middle and deep layers respond to"),
)
