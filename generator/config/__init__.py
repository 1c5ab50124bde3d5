"""Stage 1: the manifest (`gallery.yaml`) read, validated and turned into frozen settings."""

from .manifest import LayerJob, LayerSettings, Manifest, NaturalSettings, ReviveSpec, WeightsSpec, load_manifest, parse_manifest

__all__ = ["LayerJob", "LayerSettings", "Manifest", "NaturalSettings", "ReviveSpec", "WeightsSpec", "load_manifest", "parse_manifest"]
