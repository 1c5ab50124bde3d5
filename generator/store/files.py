"""Safe writes: atomic files, atomic folders and canonical JSON, so readers never see half of anything."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from .names import TEMPORARY_PREFIX


def write_atomic(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def new_folder(final: Path) -> Iterator[Path]:
    """A temporary folder to fill; when the block ends without error it is renamed onto `final`.

    A reader sees a whole folder or none. A build killed inside the block leaves only a
    TEMPORARY_PREFIX folder beside `final`, which readers ignore and the next build removes.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=final.parent, prefix=TEMPORARY_PREFIX))
    try:
        yield temp
        if final.exists():  # a damaged or outdated entry being replaced
            shutil.rmtree(final)
        os.replace(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def remove_temporary(pattern: str, root: Path) -> None:
    """Delete the TEMPORARY_PREFIX folders of killed builds that `pattern` (a glob below `root`) names."""
    for temp in root.glob(f"{pattern}/{TEMPORARY_PREFIX}*") if root.exists() else ():
        shutil.rmtree(temp, ignore_errors=True)


def dumps(data: Any) -> bytes:
    """Canonical JSON: sorted keys, no NaN (the results replace them by null first)."""
    return (json.dumps(data, sort_keys=True, indent=1, allow_nan=False) + "\n").encode()


def read_json(path: Path) -> Any:
    """The JSON in `path`, or None when it is missing or unreadable: such a file is rewritten, not fatal."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)
