"""Stage 1: the manifest (`gallery.yaml`) read, validated and turned into frozen settings.

schema.py declares keys, checks.py validates values, layers.py merges a layer's
settings, manifest.py reads the whole file, docs.py writes the README's tables.
The methods declare their own settings classes with schema.py, so the manifest
is imported lazily here: `from generator.config import load_manifest` works,
and a method importing `generator.config.schema` does not load the manifest first.
"""

from typing import Any

_FROM_MANIFEST = ("LayerJob", "Manifest", "WeightsSpec", "load_manifest", "parse_manifest")

__all__ = list(_FROM_MANIFEST)


def __getattr__(name: str) -> Any:
    if name in _FROM_MANIFEST:
        from . import manifest

        return getattr(manifest, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
