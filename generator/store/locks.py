"""Folder guards, checked before a build writes: an exclusive lock per folder, and a write probe."""

from __future__ import annotations

import errno
import fcntl
import tempfile
from pathlib import Path
from typing import IO

from ..errors import OutputError
from .names import WRITE_PROBE


class BuildLock:
    """An exclusive lock (flock on a file): a second build on the same folder is refused, not queued.

    The kernel drops the lock when the process dies, so a killed build never leaves a stale lock.
    """

    def __init__(self, path: Path, what: str):
        self.path = path
        self.what = what
        self.handle: IO[str] | None = None

    def __enter__(self) -> "BuildLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            self.handle.close()
            if error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise OutputError(
                    f"{self.what} is busy: another build is running on it (lock {self.path}); "
                    "wait for it to finish"
                ) from None
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()


def ensure_writable(folder: Path, setting: str = "output.cache") -> None:
    """Create `folder` and write a probe file in it, so a bad `setting` fails before minutes of computing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=WRITE_PROBE)
        probe.close()
    except FileExistsError:
        raise OutputError(f"{setting}: {folder} is a file; point {setting} at a folder") from None
    except OSError as error:
        raise OutputError(
            f"{setting}: cannot write to {folder} ({error.strerror}); choose a writable folder in {setting}"
        ) from None
