"""Stage 4: the result cache on disk, its locks, and the names of every file the cache and the site hold."""

from .cache import CorruptEntry, ResultStore, cache_key
from .files import warn
from .locks import BuildLock

__all__ = ["BuildLock", "CorruptEntry", "ResultStore", "cache_key", "warn"]
