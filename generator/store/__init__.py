"""Stage 5: the result cache on disk, its locks, and the names of every file the cache and the site hold.

  cache.py         ResultStore: layer-result entries, and the door to the parts below
  teaching.py      sample-image entries and per-weights kernel summaries
  fingerprints.py  the weights each source gave at its last build
  keys.py          cache keys and the cache format
  locks.py         the build lock and the write probe
  files.py         atomic files and folders, canonical JSON
  images.py        PNG, JPEG and GIF codecs, thumbnails
  names.py         every file and URL name
"""

from .cache import CorruptEntry, ResultStore, cache_key
from .files import warn
from .locks import BuildLock

__all__ = ["BuildLock", "CorruptEntry", "ResultStore", "cache_key", "warn"]
