"""The `vgg-gallery` command: build, site, serve.

A GalleryError (bad manifest, missing weights, busy or foreign output folder)
is printed as one line and exits with code 2; Ctrl-C and SIGTERM exit with 130
and 143 after the finished layers have been kept.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from . import __version__
from .errors import GalleryError

EXIT_USAGE = 2


def _quiet_tensorflow() -> None:
    # TensorFlow's C++ start-up chatter (CUDA probes, CPU features) buries the progress bars.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").addFilter(_not_retracing)  # adding it twice is a no-op


def _not_retracing(record: logging.LogRecord) -> bool:
    # Each layer compiles its own step functions once; TensorFlow counts those traces across layers
    # and warns about "retracing" from the fifth layer on, though nothing is traced twice.
    return "triggered tf.function retracing" not in record.getMessage()


def _layers_arg(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vgg-gallery",
        description="Activation-maximization images for VGG16's conv layers, as a static site.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="compute what is missing (cached otherwise) and render the site")
    build.add_argument("manifest", nargs="?", default="gallery.yaml", help="the manifest (default gallery.yaml)")
    build.add_argument("--layers", type=_layers_arg, default=None,
                       help="comma-separated conv layers to compute, e.g. block1_conv1,block5_conv1")
    build.add_argument("--methods", type=_layers_arg, default=None,
                       help="comma-separated methods to compute (pixel, natural); default: the manifest's")
    build.add_argument("--no-progress", action="store_true", help="no progress bars")

    site = commands.add_parser("site", help="re-render every page from the cached results, computing nothing")
    site.add_argument("manifest", nargs="?", default="gallery.yaml")

    serve = commands.add_parser("serve", help="serve the built site on http://127.0.0.1:PORT")
    serve.add_argument("manifest", nargs="?", default="gallery.yaml")
    serve.add_argument("--port", type=int, default=8000)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM, unwound like Ctrl-C so that finished layers are kept and temporary files removed."""


def _terminate(signum, frame):
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(args)
    except GalleryError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        kept = getattr(interrupt, "kept", None)  # (finished, planned) layer-methods, set by the build
        what = f"{kept[0]} of {kept[1]} layer-methods are" if kept else "finished layers are"
        print(f"\ninterrupted: {what} kept in the cache (the one in flight is lost) and the previous site "
              "is unchanged; run the same command to resume", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)


def _run(args: argparse.Namespace) -> int:
    from .config import load_manifest

    started = time.perf_counter()  # the estimate counts TensorFlow's start, so the measured time does too
    manifest = load_manifest(args.manifest)
    if args.command == "build":
        _quiet_tensorflow()
        from .build import build
        from .estimate import took_line

        report = build(manifest, args.layers, methods=args.methods, progress=not args.no_progress,
                       estimate=True)
        print(summary_table(report.layers))
        print(took_line(time.perf_counter() - started, report.estimate))
        _print_site(report.site)
        return 0
    if args.command == "site":
        from .build import render_only

        _print_site(render_only(manifest))
        return 0
    return _serve(manifest.site_dir, args.port)


def summary_table(reports) -> str:
    """The build's summary: one row per layer and method, numbers right-aligned."""
    rows = [("layer", "method", "filters", "dead", "diverged", "mean loss", "seconds", "")]
    for r in reports:
        rows.append((r.layer, r.method, str(r.filters), str(r.dead), str(r.diverged),
                     "—" if r.mean_loss is None else f"{r.mean_loss:,.2f}",
                     f"{r.seconds:,.1f}", "(cached)" if r.cached else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) if i in (0, 1, 7) else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w if row[i] else " " * w for i, w in enumerate(widths)).rstrip())
    return "\n".join(lines)


def _print_site(report) -> None:
    missing = f"; not built yet: {', '.join(report.layers_missing)}" if report.layers_missing else ""
    print(f"site: {report.site_dir}/index.html ({report.layers_built} layers, {report.pages} pages, "
          f"{report.bytes / 1e6:.1f} MB{missing})")


def _serve(site_dir: Path, port: int) -> int:
    import functools
    import http.server

    if not (site_dir / "index.html").is_file():
        raise GalleryError(f"no site in {site_dir}; run 'make gallery' or 'make preview' first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site_dir))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        print(f"serving {site_dir} at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        server.serve_forever()
    return 0
