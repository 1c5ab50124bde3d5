"""The declarative schema: a settings class is a frozen dataclass whose fields are manifest keys.

Each field is declared once, with `key(default, check, doc, values)`. From that one
line come the validation (`parse`), the cache fingerprint (`fingerprint`), the public
settings (`public`) and the README's key tables (`config.docs`). Adding a manifest key
is adding one field.

Values travel as `Sourced`: key -> (value, where it was written), so an error can name
the place in the manifest ("gallery.yaml: layers.block2_conv1.lr") or say that a
built-in default was used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import MISSING, dataclass, field
from typing import Any, ClassVar, Mapping

from ..errors import ConfigError
from . import checks
from .checks import Check

Sourced = dict[str, tuple[Any, str]]


@dataclass(frozen=True)
class Key:
    default: Any  # the value when the manifest is silent, as YAML would hold it ("auto", [128, 148], ...)
    check: Check  # YAML value -> checked value, or a one-line ConfigError
    doc: str  # what it means: one line of the README's table
    values: str  # what is valid, as the README's table says it
    fingerprint: bool = True  # part of the cache key: it changes the result


def key(default: Any, check: Check, doc: str, values: str, *, fingerprint: bool = True,
        python_default: Any = MISSING) -> Any:
    """Declare a field as a manifest key; `python_default` lets code build the class without it."""
    metadata = {"key": Key(default, check, doc, values, fingerprint)}
    if python_default is MISSING:
        return field(metadata=metadata)
    return field(default=python_default, metadata=metadata)


def keys(cls: type) -> dict[str, Key]:
    """The manifest keys of a settings class, in declaration order."""
    return {f.name: f.metadata["key"] for f in dataclasses.fields(cls) if "key" in f.metadata}


def sourced_defaults(cls: type, where: str) -> Sourced:
    """Every key at its default; `where` is the prefix that names the place in messages."""
    return {name: (spec.default, f"{where}{name}") for name, spec in keys(cls).items()}


def sourced(mapping: dict, where: str) -> Sourced:
    """A manifest mapping as Sourced values; `where` is its key path with the trailing dot."""
    return {name: (value, f"{where}{name}") for name, value in mapping.items()}


def parse(cls: type, values: Sourced, context: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> Any:
    """Check every key of `cls` in declaration order (a key may depend on the ones before it)."""
    parsed: dict[str, Any] = dict(extra or {})
    for name, spec in keys(cls).items():
        value, where = values[name]
        parsed[name] = spec.check(where, value, {**context, **parsed})
    return cls(**parsed)


def section(cls: type) -> Check:
    """A key that holds a nested settings class: false or null = off (None), true = its defaults,
    a mapping = merged onto its defaults key by key."""
    names = tuple(keys(cls))

    def check(where: str, value: Any, context: Mapping[str, Any]) -> Any:
        if value is False or value is None:
            return None
        if value is True:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(
                f"{where}: expected false, true or a mapping of {', '.join(names)}, got {checks.show(value)}")
        checks.check_keys(f"{where}.", value, names)
        return parse(cls, {**sourced_defaults(cls, f"{where}."), **sourced(value, f"{where}.")}, context)

    check.settings_class = cls  # type: ignore[attr-defined]  # lets the README tables list its keys
    return check


def plain(value: Any, only_fingerprint: bool = True) -> Any:
    """Settings as JSON data: nested settings as mappings, tuples as lists."""
    if dataclasses.is_dataclass(value):
        return {name: plain(getattr(value, name), only_fingerprint)
                for name, spec in keys(type(value)).items() if spec.fingerprint or not only_fingerprint}
    if isinstance(value, (tuple, list)):
        return [plain(item, only_fingerprint) for item in value]
    return value


@dataclass(frozen=True, kw_only=True)  # keyword-only: `chunk` has a default, the methods' own keys do not
class MethodSettings:
    """What every method's settings share: the layer-level keys `filters`, `batch_size` and `chunk`.

    A method's settings class adds its own keys (see methods/); `method` names it.
    """

    filters: tuple[int, ...] = key(
        64, checks.filters, "which feature maps; a count must not exceed the layer's maps (64, 128, 256 or 512); "
        "`all` = every map of the layer", "`all`, a count *N* (the first N maps) or a list of indices")
    batch_size: int | None = key(
        "auto", checks.batch_size, "images optimized together; `auto` = as many as fit in a GPU's memory (all "
        "when it cannot be read), up to 16 (memory-bounded) on a CPU. Batching changes the results at most by "
        "float rounding", "`auto` or integer ≥ 1",
        fingerprint=False)
    chunk: int = key(
        64, checks.integer_in(1, None, "a positive integer"), "filters per work unit: the unit of computation, "
        "caching and sharding (a unit's key holds its own filters: its batches, so its images, change only by float "
        "rounding)", "integer ≥ 1",
        fingerprint=False, python_default=64)

    method: ClassVar[str] = ""

    def fingerprint(self) -> dict[str, Any]:
        """The settings that change the result: the cache key is made of these."""
        return {"method": self.method, **plain(self)}

    def public(self) -> dict[str, Any]:
        """The settings as written into the public data files."""
        return {**self.fingerprint(), "batch_size": "auto" if self.batch_size is None else self.batch_size}

    @property
    def max_steps(self) -> int:
        """The most steps a filter may take (for progress and `stopped_early`)."""
        raise NotImplementedError


SHARED_KEYS = tuple(keys(MethodSettings))


def section_keys(cls: type) -> tuple[str, ...]:
    """The keys a method's settings class adds to the shared ones."""
    return tuple(name for name in keys(cls) if name not in SHARED_KEYS)
