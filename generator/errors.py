"""The project's own exceptions: each carries a one-line message for the user.

The CLI prints `error: <message>` and exits with code 2 for any GalleryError;
anything else is a bug and keeps its traceback.
"""


class GalleryError(Exception):
    """A problem the user can fix (bad manifest, missing weights, busy folder)."""


class ConfigError(GalleryError):
    """The manifest is invalid; the message names the key, the value and what is valid."""


class WeightsError(GalleryError):
    """The requested weights cannot be loaded."""


class OutputError(GalleryError):
    """The output or cache folder cannot be used."""
