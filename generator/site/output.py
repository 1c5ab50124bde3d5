"""The output folder: checks before a build, the whole-site swap, and clean-up after a killed render.

The site is assembled in a temporary folder beside the output and swapped in
whole, so a reader never sees a half-written site and an interrupted render
leaves the previous site as it was. A marker file identifies our own output:
a folder without it that holds files is refused, never deleted.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

from ..errors import OutputError
from ..store.locks import BuildLock

MARKER = ".vgg16-gallery"


def check_output_dir(site_dir: Path) -> None:
    """Refuse an output that is a file, someone else's folder, or not writable."""
    if site_dir.exists() and not site_dir.is_dir():
        raise OutputError(f"output.site: {site_dir} is a file, not a folder; choose another output.site")
    if site_dir.is_dir() and any(site_dir.iterdir()) and not (site_dir / MARKER).is_file():
        raise OutputError(
            f"output.site: {site_dir} holds files that are not a gallery (no {MARKER} marker); "
            "refusing to replace them: choose an empty or new folder in output.site"
        )
    parent = site_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"output.site: cannot create {parent} ({error.strerror})") from None
    if not os.access(parent, os.W_OK | os.X_OK) or (site_dir.is_dir() and not os.access(site_dir, os.W_OK)):
        raise OutputError(f"output.site: {site_dir} is not writable; choose a writable folder in output.site")


def swap_in(temp: Path, site_dir: Path) -> None:
    """Replace site_dir by temp with two renames; the old site is removed only afterwards.

    Ctrl-C and SIGTERM are held back between the two renames, so an interrupt
    cannot leave the output without a site; they take effect right after.
    """
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        old = None
        if site_dir.exists():
            old = Path(tempfile.mkdtemp(dir=site_dir.parent, prefix=f".{site_dir.name}.old-"))
            os.rename(site_dir, old / "site")
        try:
            os.rename(temp, site_dir)
        except BaseException:
            if old is not None:
                os.rename(old / "site", site_dir)
            raise
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def remove_leftovers(site_dir: Path) -> None:
    """Clean up after a render that was killed: restore the previous site if only its copy is left."""
    olds = sorted(site_dir.parent.glob(f".{site_dir.name}.old-*"))
    if not site_dir.exists():
        for old in olds:
            if (old / "site").is_dir():
                os.rename(old / "site", site_dir)
                break
    for path in [*site_dir.parent.glob(f".{site_dir.name}.tmp-*"), *olds]:
        shutil.rmtree(path, ignore_errors=True)


def site_lock(site_dir: Path) -> BuildLock:
    """Two builds into one output folder: the second is told the folder is busy."""
    return BuildLock(site_dir.parent / f".{site_dir.name}.lock", f"the output folder {site_dir}")
