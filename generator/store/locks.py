"""Exclusive locks: a second build on the same cache or output folder is refused, not queued."""

from __future__ import annotations

import errno
import fcntl
from pathlib import Path

from ..errors import OutputError


class BuildLock:
    """An exclusive lock (flock on a file): a second build on the same folder is refused, not queued.

    The kernel drops the lock when the process dies, so a killed build never leaves a stale lock.
    """

    def __init__(self, path: Path, what: str):
        self.path = path
        self.what = what
        self.handle = None

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
