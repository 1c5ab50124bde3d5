"""The manifest (`gallery.yaml`): read, validated, and turned into a frozen Manifest.

Validation happens once, here: everything downstream can trust the values. Every
problem is a ConfigError whose one-line message names the manifest, the key path,
the offending value and what would be valid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from ..architecture import CONV_LAYER_NAMES
from ..errors import ConfigError
from ..methods.registry import METHODS
from . import checks
from .layers import LayerJob, layer_jobs, layer_level_keys, layer_problem
from .schema import key, keys, parse, sourced, sourced_defaults
from .yaml_loader import parse_yaml

WEIGHT_SOURCES = ("imagenet", "hed", "random", "auto")
TOP_KEYS = ("title", "model", "output", "defaults", "layers", "sample_images", "examples")


@dataclass(frozen=True)
class WeightsSpec:
    source: str  # imagenet | hed | random | auto | file
    path: Path | None = None
    random_seed: int = 0


def _weights_source(where: str, value: Any, context: Mapping[str, Any]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: expected one of {', '.join(WEIGHT_SOURCES)} "
                          f"or a path to a weights file, got {checks.show(value)}")
    if value not in WEIGHT_SOURCES and not (context["base"] / value).resolve().is_file():
        raise ConfigError(f"{where}: no such file {value!r} (expected {', '.join(WEIGHT_SOURCES)} "
                          "or the path of an existing .h5 weights file)")
    return value


@dataclass(frozen=True)
class ModelKeys:
    """`model:`"""

    weights: str = key("auto", _weights_source, "which VGG16 weights (next section)",
                       "`imagenet`, `hed`, `random`, `auto`, or a file path")
    random_seed: int = key(0, checks.integer_in(0, None, "a non-negative integer"),
                           "seed of the `random` weights", "integer ≥ 0")
    precision: str = key("float32", checks.one_of("float32", "mixed"),
                         "`mixed` computes the network in bfloat16 (float32 weights, gradients and Adam): about 2× "
                         "faster on CPUs with AVX512-BF16 and on GPUs, numbers close to but not equal to the "
                         "original's; cached apart", "`float32` (default) or `mixed`")


@dataclass(frozen=True)
class OutputKeys:
    """`output:` (folders relative to the manifest)."""

    site: str = key("site", checks.folder, "the site; a folder holding anything but a gallery is refused, "
                    "never overwritten", "folder")
    cache: str = key(".cache/gallery", checks.folder, "the result cache (must be outside the site)", "folder")


def _sample_images(where: str, value: Any, context: Mapping[str, Any]) -> tuple[Path, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: expected a list of image file paths, got {checks.show(value)}")
    paths: list[Path] = []
    for item in value:
        path = (context["base"] / item).resolve()
        if not path.is_file():
            raise ConfigError(f"{where}: no such file {item!r}; give paths of PNG or JPEG images")
        if path in paths:
            raise ConfigError(f"{where}: {item!r} is listed twice")
        paths.append(path)
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        raise ConfigError(f"{where}: two images share the name {checks.show(stems)}; rename one")
    return tuple(paths)


@dataclass(frozen=True)
class GalleryKeys:
    """The manifest's own keys (besides `model`, `output`, `defaults` and `layers`)."""

    title: str = key("VGG16 filter gallery", checks.text, "shown on every page", "text")
    sample_images: tuple[Path, ...] = key(
        None, _sample_images, "for each, the site shows the feature maps it produces at every layer, their "
        "means, and the generated images they resemble", "list of image paths")


@dataclass(frozen=True)
class Manifest:
    path: Path
    title: str
    weights: WeightsSpec
    site_dir: Path
    cache_dir: Path
    jobs: tuple[LayerJob, ...] = field(default_factory=tuple)
    precision: str = "float32"  # mixed = bfloat16 compute, float32 weights and Adam
    samples: tuple[Path, ...] = ()  # input images whose feature maps the site shows
    examples: Any = None  # examples.settings.ExamplesSettings; None: no dataset examples

    @property
    def layers(self) -> tuple[str, ...]:
        """The manifest's conv layers, in network order, each once."""
        return tuple(dict.fromkeys(job.layer for job in self.jobs))

    def select(self, layers: list[str] | None, methods: list[str] | None = None) -> tuple[LayerJob, ...]:
        """The jobs for a layer and method selection (None = all), in network order."""
        for method in methods or ():
            if method not in METHODS:
                raise ConfigError(f"--methods: expected {', '.join(METHODS)}, got {method!r}")
        jobs = tuple(job for job in self.jobs if not methods or job.settings.method in methods)
        if not layers:
            return jobs
        for name in layers:
            if name not in CONV_LAYER_NAMES:
                raise ConfigError(f"--layers: {layer_problem(name)}")
            if name not in self.layers:
                raise ConfigError(f"--layers: {name} is not in {self.path.name}'s layers; "
                                  f"it has: {', '.join(job.layer for job in self.jobs)}")
        return tuple(job for job in jobs if job.layer in layers)

    def methods_of(self, layer: str) -> tuple[str, ...]:
        return tuple(job.settings.method for job in self.jobs if job.layer == layer)


def _keys(cls: type, name: str, where: str, value: Any, base: Path) -> Any:
    """A mapping of the manifest checked against a settings class (unknown keys refused)."""
    mapping = checks.mapping(f"{name}: {where}", value)
    checks.check_keys(f"{name}: {where}.", mapping, tuple(keys(cls)))
    values = {**sourced_defaults(cls, f"{name}: {where}."), **sourced(mapping, f"{name}: {where}.")}
    return parse(cls, values, {"base": base})


def _folders(name: str, output: OutputKeys, base: Path) -> tuple[Path, Path]:
    site_dir, cache_dir = (base / output.site).resolve(), (base / output.cache).resolve()
    if site_dir == cache_dir or cache_dir.is_relative_to(site_dir):
        raise ConfigError(f"{name}: output.cache: the cache must live outside the site folder, got {cache_dir}")
    return site_dir, cache_dir


def _jobs(name: str, data: dict) -> tuple[LayerJob, ...]:
    defaults = checks.mapping(f"{name}: defaults", data.get("defaults"))
    checks.check_keys(f"{name}: defaults.", defaults, layer_level_keys())
    layers = checks.mapping(f"{name}: layers", data.get("layers"), allow_none=False) if "layers" in data else None
    if not layers:
        raise ConfigError(f"{name}: layers: expected a mapping of conv layer names to settings "
                          f"(at least one of {', '.join(CONV_LAYER_NAMES)})")
    jobs: list[LayerJob] = []
    for layer, overrides in layers.items():
        if layer not in CONV_LAYER_NAMES:
            raise ConfigError(f"{name}: layers.{layer}: {layer_problem(layer)}")
        overrides = checks.mapping(f"{name}: layers.{layer}", overrides)
        checks.check_keys(f"{name}: layers.{layer}.", overrides, layer_level_keys())
        jobs.extend(layer_jobs(name, layer, defaults, overrides))
    order = list(METHODS)
    return tuple(sorted(jobs, key=lambda job: (CONV_LAYER_NAMES.index(job.layer), order.index(job.settings.method))))


def parse_manifest(data: Any, name: str = "gallery.yaml", base: Path | None = None) -> Manifest:
    """Validate parsed YAML data into a Manifest (paths relative to `base`)."""
    base = base or Path.cwd()
    if data is None:
        raise ConfigError(f"{name}: the manifest is empty; it needs at least a 'layers:' mapping")
    if not isinstance(data, dict):
        raise ConfigError(f"{name}: the manifest must be a mapping with keys {', '.join(TOP_KEYS)}, "
                          f"got a {type(data).__name__}")
    checks.check_keys(f"{name}: ", data, TOP_KEYS)
    top = {key: value for key, value in data.items() if key in ("title", "sample_images")}
    gallery = parse(GalleryKeys, {**sourced_defaults(GalleryKeys, f"{name}: "), **sourced(top, f"{name}: ")},
                    {"base": base})
    model = _keys(ModelKeys, name, "model", data.get("model"), base)
    site_dir, cache_dir = _folders(name, _keys(OutputKeys, name, "output", data.get("output"), base), base)
    source = model.weights if model.weights in WEIGHT_SOURCES else "file"
    path = (base / model.weights).resolve() if source == "file" else None
    return Manifest(path=base / name, title=gallery.title, site_dir=site_dir, cache_dir=cache_dir,
                    weights=WeightsSpec(source=source, path=path, random_seed=model.random_seed),
                    jobs=_jobs(name, data), samples=gallery.sample_images, precision=model.precision,
                    examples=_examples(name, data.get("examples"), base))


def _examples(name: str, value: Any, base: Path) -> Any:
    """`examples:`: absent or false = none, true = the defaults, a mapping = merged onto them."""
    from ..examples.settings import EXAMPLES_SECTION

    return EXAMPLES_SECTION(f"{name}: examples", value, {"base": base})


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file; raises ConfigError with a one-line message."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such manifest file; pass the path of a gallery.yaml") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, expected a manifest file such as gallery.yaml") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file; a manifest is YAML text") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the manifest: {error.strerror}") from None
    return parse_manifest(parse_yaml(text, path.name), name=path.name, base=path.resolve().parent)
