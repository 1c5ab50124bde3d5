"""Render the static site from the cached results: records -> Jinja pages, plus the site's other files.

The site is assembled in a temporary folder beside the output and swapped in
whole, so a reader (or a browser) never sees a half-written site, and an
interrupted render leaves the previous site as it was. A marker file identifies
our own output: a folder without it that holds files is refused, never deleted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .. import __version__
from ..analysis.results import LayerResult
from ..config import Manifest
from ..store import CorruptEntry, ResultStore, names, warn
from ..store.jobs import CachedJob, load_job
from .assets import build_record, write_kernels, write_layer_files, write_samples
from .charts import bar_chart, line_chart
from .context import fmt, gallery_view
from ..examples.stage import cached_examples
from .examples import write_examples
from .lessons import LESSONS
from .output import MARKER, check_output_dir, remove_leftovers, swap_in
from .records import GalleryView


def templates_dir() -> Path:
    """Templates ship inside the wheel (generator/templates); a checkout has them at the top."""
    packaged = Path(__file__).parents[1] / "templates"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class SiteReport:
    site_dir: Path
    layers_built: int
    layers_missing: tuple[str, ...]
    pages: int
    bytes: int


def jinja_environment() -> Environment:
    """The pages' Jinja setup; the charts are template functions, so their captions stay in the templates."""
    env = Environment(
        loader=FileSystemLoader(str(templates_dir())),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = fmt
    env.globals.update(line_chart=line_chart, bar_chart=bar_chart)
    return env


def load_results(manifest: Manifest, store: ResultStore, weights_sha256: str | None) -> dict[tuple[str, str], CachedJob]:
    """Each manifest layer-method whose every work unit is cached under the current settings and weights."""
    results: dict[tuple[str, str], CachedJob] = {}
    if weights_sha256 is None:
        return results
    for job in manifest.jobs:
        try:
            cached = load_job(store, job, weights_sha256, manifest.precision)
        except CorruptEntry as error:
            warn(f"{job.layer} {job.settings.method}: cached result is damaged ({error}); "
                 "it is left out and will be recomputed")
            continue
        if cached is not None:
            results[(job.layer, job.settings.method)] = cached
    return results


def load_samples(manifest: Manifest, store: ResultStore, weights: dict[str, str] | None) -> list[tuple[str, dict]]:
    """(cache key, data) of each sample image whose feature maps are cached for these weights."""
    from ..analysis.teaching import sample_key

    samples = []
    for path in manifest.samples if weights else ():
        key = sample_key(path, weights["sha256"])
        data = store.load_sample(key, manifest.layers)
        if data is None:
            warn(f"sample image {path.name}: not computed yet; run 'make gallery' to add it")
            continue
        samples.append((key, data))
    return samples


def render_site(manifest: Manifest, store: ResultStore, weights: dict[str, str] | None,
                photos: Any = None) -> SiteReport:
    """Write the whole site for the manifest from the cache, then swap it into output.site.

    `photos`: the examples' PhotoPlan a build has already checked (None: read it again)."""
    site_dir = manifest.site_dir
    check_output_dir(site_dir)
    remove_leftovers(site_dir)
    cached = load_results(manifest, store, weights["sha256"] if weights else None)
    results = {job: entry.result for job, entry in cached.items()}
    summary = store.load_weights_summary(weights["sha256"]) if weights else None
    samples = load_samples(manifest, store, weights)
    examples = cached_examples(manifest, store.root, weights["sha256"] if weights else None, photos)
    gallery = gallery_view(manifest, results, weights, summary, [data for _, data in samples], examples)

    temp = Path(tempfile.mkdtemp(dir=site_dir.parent, prefix=f".{site_dir.name}.tmp-"))
    try:
        shutil.copytree(templates_dir() / "static", temp / "static")
        for entry in cached.values():
            write_layer_files(temp, store, entry.parts, entry.result)
        write_kernels(temp, summary)
        write_samples(temp, store, samples)
        if examples is not None:
            shown = {layer.name: [p.index for p in layer.filter_pages] for layer in gallery.layers if layer.examples}
            write_examples(temp, examples, shown, manifest.examples.top)
        (temp / names.BUILD_RECORD).write_bytes(build_record(results.values()))
        pages = write_pages(temp, gallery)
        (temp / ".nojekyll").write_bytes(b"")
        (temp / MARKER).write_text(json.dumps({"generator_version": __version__}) + "\n")
        size = sum(p.stat().st_size for p in temp.rglob("*") if p.is_file())
        os.chmod(temp, 0o755)  # mkdtemp makes 0700; a served site must be readable
        swap_in(temp, site_dir)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    built = {layer for layer, _ in results}
    missing = tuple(dict.fromkeys(job.layer for job in manifest.jobs if job.layer not in built))
    return SiteReport(site_dir, len(built), missing, pages, size)


def _pages(gallery: GalleryView) -> list[tuple[str, str, dict[str, Any]]]:
    """(template, path, extra names) of every page of the site.

    The templates folder mirrors the site, so a single page's template has that page's path;
    layer, filter and sample pages share one template each.
    """
    pages: list[tuple[str, str, dict[str, Any]]] = [
        (page, page, {}) for page in ("index.html", "about.html", "atlas.html", "handout.html", "lessons/index.html")]
    pages += [(names.lesson_page(slug), names.lesson_page(slug), {"slug": slug}) for slug, _ in LESSONS]
    if gallery.weights_info:
        pages.append(("weights.html", "weights.html", {}))
    pages += [("sample.html", sample.page, {"sample": sample}) for sample in gallery.samples]
    for layer in gallery.layers:
        if layer.built:
            pages.append(("layer.html", layer.page, {"layer": layer}))
            pages += [("filter.html", item.page, {"layer": layer, "item": item}) for item in layer.filter_pages]
    return pages


def write_pages(temp: Path, gallery: GalleryView) -> int:
    """Render every page into the site being assembled; the number of pages."""
    env = jinja_environment()
    pages = _pages(gallery)
    for template, path, extra in pages:
        html = env.get_template(template).render(root="../" * path.count("/"), **gallery.names(), **extra)
        target = temp / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    return len(pages)
