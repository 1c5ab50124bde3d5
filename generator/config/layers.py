"""One layer of the manifest: its settings merged from the built-in defaults, `defaults:` and its own entry,
then checked by every method's schema and turned into one job per chosen method.

Merging is key by key: a layer's key wins over `defaults:`, which wins over the
built-in default. A method with a `section` (e.g. `natural:`) has its keys merged
the same way inside that section. A layer's own `method:` or `methods:` wins over
either of the two in `defaults:`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from ..architecture import CHANNELS, CONV_LAYER_NAMES, NON_CONV_LAYERS
from ..errors import ConfigError
from ..methods.registry import METHODS
from . import checks
from .schema import SHARED_KEYS, MethodSettings, Sourced, parse, section_keys, sourced, sourced_defaults


@dataclass(frozen=True)
class LayerJob:
    layer: str
    settings: MethodSettings  # the settings class of one method


def layer_level_keys() -> tuple[str, ...]:
    """The keys a layer (or `defaults:`) may hold, in the order error messages list them."""
    sections = [m.section for m in METHODS.values() if m.section]
    own = [k for m in METHODS.values() if not m.section for k in section_keys(m.settings_class)]
    return ("method", "methods", *sections, *own, *SHARED_KEYS)


def layer_problem(name: Any) -> str:
    """Why `name` is not a conv layer, with the valid ones."""
    if name in NON_CONV_LAYERS:
        return (f"{name} is not a conv layer (only conv layers have filters to visualize); "
                f"valid layers: {', '.join(CONV_LAYER_NAMES)}")
    guess = difflib.get_close_matches(str(name), CONV_LAYER_NAMES, n=1)
    hint = f"did you mean '{guess[0]}'? " if guess else ""
    return f"no such layer {checks.show(name)}; {hint}valid layers: {', '.join(CONV_LAYER_NAMES)}"


def _builtin(name: str) -> Sourced:
    where = f"{name}: (built-in default) "
    values: Sourced = {"method": (next(iter(METHODS)), f"{where}method")}
    for method in METHODS.values():
        if not method.section:
            values.update(sourced_defaults(method.settings_class, where))
    return values


def _level(name: str, defaults: dict, overrides: dict, layer: str) -> Sourced:
    """The layer-level keys: built-in, then `defaults:`, then the layer's own."""
    sections = {m.section for m in METHODS.values() if m.section}
    merged = _builtin(name)
    merged.update(sourced({k: v for k, v in defaults.items() if k not in sections}, f"{name}: defaults."))
    merged.update(sourced({k: v for k, v in overrides.items() if k not in sections}, f"{name}: layers.{layer}."))
    if "methods" in overrides:
        merged.pop("method", None)
    elif "method" in overrides:
        merged.pop("methods", None)
    return merged


def _section(name: str, cls: type, key: str, defaults: dict, overrides: dict, layer: str) -> Sourced:
    """A method's own section (`natural:`), merged key by key like the layer level."""
    own = section_keys(cls)  # the shared keys (filters, batch_size) come from the layer level
    values = {k: v for k, v in sourced_defaults(cls, f"{name}: (built-in default) {key}.").items() if k in own}
    for where, mapping in ((f"{name}: defaults.{key}", defaults.get(key)),
                           (f"{name}: layers.{layer}.{key}", overrides.get(key))):
        mapping = checks.mapping(where, mapping)
        checks.check_keys(f"{where}.", mapping, own)
        values.update(sourced(mapping, f"{where}."))
    return values


def _chosen_methods(merged: Sourced) -> tuple[str, ...]:
    names = tuple(METHODS)
    if "methods" in merged:
        value, where = merged["methods"]
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a non-empty list of {', '.join(names)}, got {checks.show(value)}")
        for item in value:
            checks.choice(where, item, names)
        if len(set(value)) != len(value):
            raise ConfigError(f"{where}: a method is listed twice in {checks.show(value)}")
        return tuple(value)
    value, where = merged["method"]
    return (checks.choice(where, value, names),)


def layer_jobs(name: str, layer: str, defaults: dict, overrides: dict) -> list[LayerJob]:
    """The jobs of one layer: every method's settings are checked, even unused ones, so that a typo in
    a `natural:` block is caught before it matters."""
    merged = _level(name, defaults, overrides, layer)
    chosen = _chosen_methods(merged)
    context = {"layer": layer, "channels": CHANNELS[layer]}
    settings = {}
    for method in METHODS.values():
        values = dict(merged)
        if method.section:
            values.update(_section(name, method.settings_class, method.section, defaults, overrides, layer))
        settings[method.name] = parse(method.settings_class, values, context)
    return [LayerJob(layer, settings[method]) for method in chosen]
