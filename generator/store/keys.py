"""Cache keys: one hash of everything that changes a layer's result, so a changed input misses the cache."""

from __future__ import annotations

import hashlib
import json

from .. import __version__
from ..config.schema import MethodSettings

# The layout and meaning of an entry. Bump it when they change: every key changes with it,
# so entries of the previous format are no longer found and are recomputed.
CACHE_FORMAT = 2


def cache_key(layer: str, settings: MethodSettings, weights_sha256: str, precision: str = "float32") -> str:
    """24 hex digits of the sha256 of the layer, its settings that matter, the weights, precision and versions."""
    payload = {
        "cache_format": CACHE_FORMAT,
        "generator_version": __version__,
        "layer": layer,
        "precision": precision,
        "settings": settings.fingerprint(),
        "weights_sha256": weights_sha256,
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]
