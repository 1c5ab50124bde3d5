"""The README's key tables, written from the schema: `python -m generator.config.docs README.md`.

Each table sits between `<!-- keys: NAME -->` and `<!-- /keys -->` in the README;
the command rewrites what is between the markers, and a test checks that the
README is up to date, so the tables can never drift from the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from ..methods.registry import METHODS
from .manifest import GalleryKeys, ModelKeys, OutputKeys
from .schema import MethodSettings, keys, section_keys

Row = tuple[str, str, str]


def rows(cls: type, prefix: str = "", only: tuple[str, ...] | None = None) -> list[Row]:
    """One row per key (a nested section's keys follow it, as `section.key`)."""
    out: list[Row] = []
    for name, spec in keys(cls).items():
        if only is not None and name not in only:
            continue
        out.append((f"`{prefix}{name}`", spec.values, spec.doc))
        nested = getattr(spec.check, "settings_class", None)
        if nested is not None:
            out += rows(nested, f"{prefix}{name}.")
    return out


def _method_rows() -> list[Row]:
    names = " or ".join(f"`{name}`" for name in METHODS)
    example = ", ".join(METHODS)
    return [("`method`", names, "one method for the layer"),
            ("`methods`", f"a list, e.g. `[{example}]`", "several methods, shown side by side (overrides `method`)")]


def tables() -> dict[str, list[Row]]:
    """The README's tables by marker name: the manifest's own keys, a layer's keys, each method section's."""
    gallery = rows(GalleryKeys, only=("title",)) + rows(ModelKeys, "model.") + \
        rows(GalleryKeys, only=("sample_images",)) + rows(OutputKeys, "output.")
    layer = _method_rows() + rows(MethodSettings)
    from ..examples.settings import ExamplesSettings

    out = {"manifest": gallery, "examples": rows(ExamplesSettings, "examples.")}
    for method in METHODS.values():
        own = rows(method.settings_class, only=section_keys(method.settings_class))
        if method.section:
            out[method.section] = [(f"`{method.section}.{cell[1:]}", values, doc) for cell, values, doc in own]
        else:
            layer += own
    out["layer"] = layer
    return out


def markdown(table: list[Row]) -> str:
    lines = ["| key | values | meaning |", "|---|---|---|"]
    lines += [f"| {key} | {values} | {doc} |" for key, values, doc in table]
    return "\n".join(lines)


def rewrite(text: str) -> str:
    """`text` with every marked table replaced by the schema's."""
    for name, table in tables().items():
        pattern = re.compile(rf"(<!-- keys: {name} -->\n).*?(<!-- /keys -->)", re.S)
        text = pattern.sub(lambda match: match.group(1) + markdown(table) + "\n" + match.group(2), text)
    return text


def main(argv: list[str]) -> int:
    path = Path(argv[0] if argv else "README.md")
    path.write_text(rewrite(path.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
