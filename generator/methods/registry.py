"""Every method the manifest may name. Adding a method: its module here, and one line below."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Method
from .natural import NATURAL
from .pixel import PIXEL

METHODS: dict[str, Method] = {method.name: method for method in (PIXEL, NATURAL)}


def method(name: str) -> Method:
    """The method of that name; a one-line error names the valid ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise ConfigError(f"no such method {name!r}; valid methods: {', '.join(METHODS)}") from None
