"""Validators of manifest values: each turns a YAML value into a checked Python value or raises a ConfigError.

A check is called as `check(where, value, context)`: `where` is the key path for the
message ("gallery.yaml: layers.block1_conv1.lr"), `context` holds what the value may
depend on (the layer, its channels, the keys of the same section parsed before it).
Every message reads "<where>: expected <what is valid>, got <the value>".
"""

from __future__ import annotations

import difflib
from typing import Any, Callable, Mapping

from ..architecture import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from ..errors import ConfigError

Check = Callable[[str, Any, Mapping[str, Any]], Any]


def show(value: Any) -> str:
    """A value as the user wrote it, cut to a readable length."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def unknown_key(where: str, key: Any, valid: tuple[str, ...]) -> ConfigError:
    guess = difflib.get_close_matches(str(key), valid, n=1)
    hint = f"did you mean '{guess[0]}'? " if guess else ""
    return ConfigError(f"{where}{key}: unknown key; {hint}valid keys: {', '.join(valid)}")


def check_keys(where: str, mapping: dict, valid: tuple[str, ...]) -> None:
    """`where` ends with the separator ("gallery.yaml: layers.block1_conv1.")."""
    for key in mapping:
        if key not in valid:
            raise unknown_key(where, key, valid)


def mapping(where: str, value: Any, *, allow_none: bool = True) -> dict:
    if value is None and allow_none:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {show(value)}")
    return value


# --------------------------------------------------------------------------- scalar checks


def integer(where: str, value: Any, *, low: int | None = None, high: int | None = None,
            what: str = "an integer") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected {what}, got {show(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{where}: expected {what}, got {value}")
    return value


def integer_in(low: int | None, high: int | None, what: str) -> Check:
    return lambda where, value, context: integer(where, value, low=low, high=high, what=what)


def positive_number(where: str, value: Any, context: Mapping[str, Any] | None = None) -> float:
    if not is_number(value) or not value > 0 or value != value or value == float("inf"):
        raise ConfigError(f"{where}: expected a positive number, got {show(value)}")
    return float(value)


def positive_number_or_null(where: str, value: Any, context: Mapping[str, Any]) -> float | None:
    return None if value is None else positive_number(where, value)


def nonnegative_number(where: str, value: Any, context: Mapping[str, Any]) -> float:
    if not is_number(value) or not value >= 0 or value == float("inf"):
        raise ConfigError(f"{where}: expected a number >= 0, got {show(value)}")
    return float(value)


def boolean(where: str, value: Any, context: Mapping[str, Any] | None = None) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {show(value)}")
    return value


def choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{where}: expected one of {', '.join(choices)}, got {show(value)}")
    return value


def one_of(*choices: str) -> Check:
    return lambda where, value, context: choice(where, value, choices)


def text(where: str, value: Any, context: Mapping[str, Any]) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected text, got {show(value)}")
    return value


def folder(where: str, value: Any, context: Mapping[str, Any]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected a folder path, got {show(value)}")
    return value


# --------------------------------------------------------------------------- shared keys

image_size = integer_in(MIN_IMAGE_SIZE, MAX_IMAGE_SIZE,
                        f"an integer from {MIN_IMAGE_SIZE} (VGG16's five poolings) to {MAX_IMAGE_SIZE} pixels")
seed = integer_in(0, 2**32 - 1, "an integer from 0 to 4294967295")
preprocess = one_of("none", "caffe")


def pair(where: str, value: Any, ordered: Callable[[float, float], bool], example: str) -> tuple[float, float]:
    """A [low, high] list of two numbers that `ordered(low, high)` accepts."""
    if (not isinstance(value, list) or len(value) != 2 or not all(is_number(v) for v in value)
            or not ordered(value[0], value[1])):
        raise ConfigError(f"{where}: expected {example}, got {show(value)}")
    return float(value[0]), float(value[1])


def init_range(where: str, value: Any, context: Mapping[str, Any]) -> tuple[float, float]:
    return pair(where, value, lambda low, high: low < high, "[low, high] with low < high (e.g. [128, 148])")


def filters(where: str, value: Any, context: Mapping[str, Any]) -> tuple[int, ...]:
    """`all`, a count N (the first N maps) or a list of distinct indices, within the layer's channels."""
    layer, channels = context["layer"], context["channels"]
    if value == "all":
        return tuple(range(channels))
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{where}: expected a non-empty list of filter indices, got []")
        what = f"filter indices from 0 to {channels - 1} ({layer} has {channels} filters)"
        seen: set[int] = set()
        for index in value:
            integer(where, index, low=0, high=channels - 1, what=what)
            if index in seen:
                raise ConfigError(f"{where}: filter {index} is listed twice; list each filter once")
            seen.add(index)
        return tuple(value)
    what = f"all, a count from 1 to {channels} or a list of indices ({layer} has {channels} filters)"
    return tuple(range(integer(where, value, low=1, high=channels, what=what)))


def batch_size(where: str, value: Any, context: Mapping[str, Any]) -> int | None:
    """None stands for `auto`."""
    if value == "auto":
        return None
    return integer(where, value, low=1, what="'auto' or a positive integer")
