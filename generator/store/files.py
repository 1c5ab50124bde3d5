"""Safe writes: atomic files and canonical JSON, so readers never see half a file."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


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


def dumps(data: Any) -> bytes:
    """Canonical JSON: sorted keys, no NaN (the results replace them by null first)."""
    return (json.dumps(data, sort_keys=True, indent=1, allow_nan=False) + "\n").encode()


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)
