"""The `vgg-gallery` command: build, site, serve.

A GalleryError (bad manifest, missing weights, busy or foreign output folder)
is printed as one line and exits with code 2; Ctrl-C and SIGTERM exit with 130
and 143 after the finished layers have been kept.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import time
from pathlib import Path

from . import __version__
from .errors import GalleryError
from .machine import prefer_onednn
from .printing import plan_json, plan_table, site_line, summary_table

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
    build.add_argument("--shard", default=None, metavar="K/N",
                       help="compute only shard K of N (see 'plan') into the cache, and render nothing")
    build.add_argument("--cache", type=Path, default=None, metavar="DIR",
                       help="with --shard: the cache to compute into (default: the manifest's)")
    build.add_argument("--no-progress", action="store_true",
                       help="no progress bars (they are shown only when stderr is a terminal)")

    plan = commands.add_parser("plan", help="the work units, their cost and a balanced assignment to N shards")
    plan.add_argument("manifest", nargs="?", default="gallery.yaml")
    plan.add_argument("--shards", type=int, default=1, metavar="N", help="how many shards (default 1)")
    plan.add_argument("--json", action="store_true", help="the plan as JSON")

    merge = commands.add_parser("merge", help="gather shard caches into the manifest's cache (then: site)")
    merge.add_argument("paths", nargs="+", type=Path, metavar="[MANIFEST] CACHE",
                       help="the manifest the shards were built from (default gallery.yaml), then the shards' caches")

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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    args = _parser().parse_args(argv)
    if args.command == "merge":  # `merge [MANIFEST] CACHE...`: a first path that is a folder is a cache
        first_is_cache = args.paths[0].is_dir() or len(args.paths) == 1
        args.manifest = Path("gallery.yaml") if first_is_cache else args.paths[0]
        args.caches = args.paths if first_is_cache else args.paths[1:]
    return args


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()  # the estimate counts TensorFlow's start, so the measured times do too
    prefer_onednn()  # before anything imports TensorFlow
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(args, started)
    except GalleryError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        kept = getattr(interrupt, "kept", None)  # (finished, planned) work units, set by the build
        what = f"{kept[0]} of {kept[1]} work units are" if kept else "finished work units are"
        print(f"\ninterrupted: {what} kept in the cache (the one in flight is lost) and the previous site "
              "is unchanged; run the same command to resume", file=sys.stderr)
        return 128 + (signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT)
    finally:
        if argv is None:  # the command itself, about to exit (a test calling main(argv) goes on)
            # Python's last garbage collections walk TensorFlow's millions of objects: 1-2 s at exit on
            # 2 cores. Frozen, they are skipped; atexit handlers and the flushing of output still run.
            gc.freeze()


def _run(args: argparse.Namespace, started: float) -> int:
    from .config import load_manifest

    manifest = load_manifest(args.manifest)
    if args.command == "build":
        return _shard(args, manifest, started) if args.shard is not None else _build(args, manifest, started)
    if args.command == "plan":
        return _plan(args, manifest)
    if args.command == "merge":
        return _merge(args, manifest)
    if args.command == "site":
        from .build import render_only

        print(site_line(render_only(manifest)))
        return 0
    return _serve(manifest.site_dir, args.port)


def _progress_bars(args: argparse.Namespace) -> bool:
    # a bar redrawn with carriage returns fills a log file or a CI log with thousands of lines; there the
    # "computing <unit>" lines tell the progress
    return not args.no_progress and sys.stderr.isatty()


def _build(args: argparse.Namespace, manifest, started: float) -> int:
    if args.cache is not None:
        raise GalleryError("--cache: only with --shard K/N; a whole build uses the manifest's output.cache")
    _quiet_tensorflow()
    from .build import build
    from .estimate import took_line

    report = build(manifest, args.layers, methods=args.methods, progress=_progress_bars(args), estimate=True)
    print(summary_table(report.layers))
    first_step = None if report.first_step is None else report.first_step - started
    print(took_line(time.perf_counter() - started, report.estimate, first_step))
    print(site_line(report.site))
    return 0


def _shard(args: argparse.Namespace, manifest, started: float) -> int:
    from .plan.shards import parse_shard

    shard = parse_shard(args.shard)  # checked before TensorFlow starts
    if args.layers or args.methods:
        raise GalleryError("--shard: a shard covers its part of the whole manifest; drop --layers and --methods")
    _quiet_tensorflow()
    from .build import build_shard
    from .estimate import took_line

    report = build_shard(manifest, shard, args.cache.resolve() if args.cache else None,
                         progress=_progress_bars(args), estimate=True)
    print(f"shard {shard[0]}/{shard[1]}: {len(report.computed) + len(report.cached)} units "
          f"({len(report.computed)} computed, {len(report.cached)} cached) in {report.cache_dir}")
    print(took_line(time.perf_counter() - started, report.estimate))
    return 0


def _plan(args: argparse.Namespace, manifest) -> int:
    from .plan.shards import assign
    from .plan.units import manifest_units

    assign([], float, args.shards)  # a one-line error for --shards 0
    units = manifest_units(manifest)
    print(plan_json(units, args.shards) if args.json else plan_table(units, args.shards))
    return 0


def _merge(args: argparse.Namespace, manifest) -> int:
    from .store.merge import merge

    report = merge(manifest, [cache.resolve() for cache in args.caches])
    print(f"merged shards {', '.join(report.shards)} into {manifest.cache_dir}: "
          f"{report.copied} units copied, {report.present} already there; now run 'vgg-gallery site'")
    if report.missing:
        print(f"warning: {len(report.missing)} units of {manifest.path.name} are in no cache given, e.g. "
              f"{report.missing[0]}; their layers stay unbuilt until their shards are merged", file=sys.stderr)
    return 0


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
