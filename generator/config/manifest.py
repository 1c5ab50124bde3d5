"""Load and validate `gallery.yaml` into frozen dataclasses.

Validation happens once, here: everything downstream can trust the values.
Every problem is a ConfigError whose one-line message names the manifest, the
key path, the offending value and what would be valid.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from ..architecture import (
    CHANNELS,
    CONV_LAYER_NAMES,
    MAX_IMAGE_SIZE,
    MIN_IMAGE_SIZE,
    NON_CONV_LAYERS,
)
from ..errors import ConfigError
from ..methods.transforms import TransformSpec

METHODS = ("pixel", "natural")
OBJECTIVES = ("pre_relu", "post_relu")
PREPROCESS = ("none", "caffe")
WEIGHT_SOURCES = ("imagenet", "hed", "random", "auto")

TOP_KEYS = ("title", "model", "output", "defaults", "layers", "sample_images")
MODEL_KEYS = ("weights", "random_seed", "precision")
PRECISIONS = ("float32", "mixed")
OUTPUT_KEYS = ("site", "cache")
LAYER_KEYS = (
    "method",
    "methods",
    "natural",
    "lr",
    "iterations",
    "threshold",
    "filters",
    "image_size",
    "seed",
    "init",
    "preprocess",
    "batch_size",
)

# The seed's settings for block1 (DESIGN.md §1), used where the manifest is silent.
BUILTIN_DEFAULTS: dict[str, Any] = {
    "method": "pixel",
    "lr": 2.5,
    "iterations": 20,
    "threshold": None,
    "filters": 64,
    "image_size": 224,
    "seed": 42,
    "init": [128.0, 148.0],
    "preprocess": "none",
    "batch_size": "auto",
}

NATURAL_KEYS = ("lr", "steps", "image_size", "decay_power", "decorrelate", "transforms",
                "snapshots", "seed", "objective", "preprocess", "revive")
TRANSFORM_KEYS = ("pad", "jitter", "scale", "rotate", "jitter_after")
REVIVE_KEYS = ("at", "top", "grid_jitter", "when")
REVIVE_WHEN = ("closed", "closed_on_average")

# The literature's settings (DESIGN.md §2), at a size and length a CPU can afford.
NATURAL_DEFAULTS: dict[str, Any] = {
    "lr": 0.05,
    "steps": 256,
    "image_size": 128,
    "decay_power": 1.0,
    "decorrelate": True,
    "transforms": {"pad": 12, "jitter": 8, "scale": [0.9, 1.1], "rotate": 10, "jitter_after": 4},
    "snapshots": "auto",  # auto: after an eighth, half and all of the steps
    "seed": 0,
    "objective": "pre_relu",
    "preprocess": "caffe",
    "revive": {"at": "auto", "top": 0.02, "grid_jitter": True, "when": "closed_on_average"},  # auto: a quarter of the steps
}


@dataclass(frozen=True)
class LayerSettings:
    """Everything that determines one layer's result for one method."""

    method: str
    lr: float
    iterations: int
    threshold: float | None
    filters: tuple[int, ...]
    image_size: int
    seed: int
    init: tuple[float, float]
    preprocess: str
    batch_size: int | None  # None = auto

    def fingerprint(self) -> dict[str, Any]:
        """The settings that change the result (batch size does not: batching is exact)."""
        return {
            "method": self.method,
            "lr": self.lr,
            "iterations": self.iterations,
            "threshold": self.threshold,
            "filters": list(self.filters),
            "image_size": self.image_size,
            "seed": self.seed,
            "init": list(self.init),
            "preprocess": self.preprocess,
        }

    def public(self) -> dict[str, Any]:
        """Settings as written into the public data files."""
        data = self.fingerprint()
        data["batch_size"] = "auto" if self.batch_size is None else self.batch_size
        return data

    @property
    def max_steps(self) -> int:
        return self.iterations


@dataclass(frozen=True)
class ReviveSpec:
    """A second chance for filters whose map is still closed at step `at` (see `when`).

    Their objective becomes the mean of the strongest `top` share of the map's
    positions (pre-ReLU): "fire somewhere" instead of "fire everywhere", which a
    closed map cannot reach by rising evenly. With `grid_jitter` they are only
    shifted by multiples of the layer's stride (no scale, no rotation): such
    filters tend to need a pattern in one phase of the pooling grid.
    """

    at: int
    top: float = 0.02
    grid_jitter: bool = True
    # closed: the map is closed at every position; closed_on_average: its pre-ReLU mean is <= 0,
    # which also catches maps that opened only a faint trace (in block2, barely visible gratings)
    when: str = "closed_on_average"


@dataclass(frozen=True)
class NaturalSettings:
    """The "natural" method: spectral image, decorrelated colour, transformation robustness."""

    lr: float
    steps: int
    image_size: int
    decay_power: float
    decorrelate: bool
    transforms: TransformSpec | None
    snapshots: tuple[int, ...]
    seed: int
    objective: str
    preprocess: str
    filters: tuple[int, ...]
    batch_size: int | None
    revive: ReviveSpec | None = None
    method: str = "natural"
    threshold: None = None  # the natural method has no loss threshold (snapshots are steps)

    @property
    def max_steps(self) -> int:
        return self.steps

    @property
    def iterations(self) -> int:
        return self.steps

    def fingerprint(self) -> dict[str, Any]:
        t = self.transforms
        return {
            "method": "natural",
            "lr": self.lr,
            "steps": self.steps,
            "image_size": self.image_size,
            "decay_power": self.decay_power,
            "decorrelate": self.decorrelate,
            "transforms": None if t is None else {
                "pad": t.pad, "jitter": t.jitter, "scale": list(t.scale), "rotate": t.rotate,
                "jitter_after": t.jitter_after},
            "snapshots": list(self.snapshots),
            "seed": self.seed,
            "objective": self.objective,
            "preprocess": self.preprocess,
            "revive": None if self.revive is None else self._revive_fingerprint(),
            "filters": list(self.filters),
        }

    def _revive_fingerprint(self) -> dict[str, Any]:
        r = self.revive
        data: dict[str, Any] = {"at": r.at, "top": r.top, "grid_jitter": r.grid_jitter}
        if r.when != "closed":  # `closed` was the only behaviour before `when`: its earlier cache keys stay valid
            data["when"] = r.when
        return data

    def public(self) -> dict[str, Any]:
        data = self.fingerprint()
        data["batch_size"] = "auto" if self.batch_size is None else self.batch_size
        data["threshold"] = None
        data["iterations"] = self.steps
        return data


Settings = LayerSettings | NaturalSettings


@dataclass(frozen=True)
class LayerJob:
    layer: str
    settings: Settings


@dataclass(frozen=True)
class WeightsSpec:
    source: str  # imagenet | hed | random | auto | file
    path: Path | None = None
    random_seed: int = 0


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
        known = {job.layer for job in self.jobs}
        for name in layers:
            if name not in CONV_LAYER_NAMES:
                raise ConfigError(f"--layers: {_layer_problem(name)}")
            if name not in known:
                raise ConfigError(
                    f"--layers: {name} is not in {self.path.name}'s layers; "
                    f"it has: {', '.join(job.layer for job in self.jobs)}"
                )
        return tuple(job for job in jobs if job.layer in layers)

    def methods_of(self, layer: str) -> tuple[str, ...]:
        return tuple(job.settings.method for job in self.jobs if job.layer == layer)


# --------------------------------------------------------------------------- YAML


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicated mapping keys (PyYAML silently keeps the last)."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in seen
        except TypeError:  # unhashable key: let the normal constructor report it
            break
        if duplicate:
            mark = key_node.start_mark
            raise ConfigError(
                f"duplicated key {key!r} at line {mark.line + 1}, column {mark.column + 1}: "
                "each key may appear once; merge the two entries"
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _parse_yaml(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - SafeLoader subclass
    except ConfigError as error:
        raise ConfigError(f"{name}: {error}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        raise ConfigError(f"{name}: YAML syntax error{where}: {problem}") from None
    except yaml.YAMLError as error:
        detail = " ".join(str(error).split())
        raise ConfigError(f"{name}: YAML error: {detail}") from None


# --------------------------------------------------------------------------- helpers


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _unknown_key(where: str, key: Any, valid: tuple[str, ...]) -> ConfigError:
    guess = difflib.get_close_matches(str(key), valid, n=1)
    hint = f"did you mean '{guess[0]}'? " if guess else ""
    return ConfigError(f"{where}{key}: unknown key; {hint}valid keys: {', '.join(valid)}")


def _check_keys(where: str, mapping: dict, valid: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in valid:
            raise _unknown_key(where, key, valid)


def _mapping(where: str, value: Any, *, allow_none: bool = True) -> dict:
    if value is None and allow_none:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of keys to values, got {_show(value)}")
    return value


def _layer_problem(name: Any) -> str:
    if name in NON_CONV_LAYERS:
        return (
            f"{name} is not a conv layer (only conv layers have filters to visualize); "
            f"valid layers: {', '.join(CONV_LAYER_NAMES)}"
        )
    guess = difflib.get_close_matches(str(name), CONV_LAYER_NAMES, n=1)
    hint = f"did you mean '{guess[0]}'? " if guess else ""
    return f"no such layer {_show(name)}; {hint}valid layers: {', '.join(CONV_LAYER_NAMES)}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_number(key: str, value: Any) -> float:
    if not _is_number(value) or not value > 0 or value != value or value == float("inf"):
        raise ConfigError(f"{key}: expected a positive number, got {_show(value)}")
    return float(value)


def _int(key: str, value: Any, *, low: int | None = None, high: int | None = None,
         what: str = "an integer") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected {what}, got {_show(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ConfigError(f"{key}: expected {what}, got {value}")
    return value


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(f"{key}: expected one of {', '.join(choices)}, got {_show(value)}")
    return value


# --------------------------------------------------------------------------- layer settings


def _filters(key: str, value: Any, channels: int, layer: str) -> tuple[int, ...]:
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{key}: expected a non-empty list of filter indices, got []")
        seen: set[int] = set()
        for index in value:
            _int(key, index, low=0, high=channels - 1,
                 what=f"filter indices from 0 to {channels - 1} ({layer} has {channels} filters)")
            if index in seen:
                raise ConfigError(f"{key}: filter {index} is listed twice; list each filter once")
            seen.add(index)
        return tuple(value)
    count = _int(key, value, low=1, high=channels,
                 what=f"a count from 1 to {channels} or a list of indices ({layer} has {channels} filters)")
    return tuple(range(count))


def _init(key: str, value: Any) -> tuple[float, float]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(_is_number(v) for v in value)
        or not value[0] < value[1]
    ):
        raise ConfigError(f"{key}: expected [low, high] with low < high (e.g. [128, 148]), got {_show(value)}")
    return float(value[0]), float(value[1])


def _batch_size(key: str, value: Any) -> int | None:
    if value == "auto":
        return None
    return _int(key, value, low=1, what="'auto' or a positive integer")


def _threshold(key: str, value: Any) -> float | None:
    if value is None:
        return None
    return _positive_number(key, value)


_VALIDATORS: dict[str, Callable[[str, Any], Any]] = {
    "lr": _positive_number,
    "iterations": lambda key, value: _int(key, value, low=1, what="a positive integer"),
    "threshold": _threshold,
    "image_size": lambda key, value: _int(
        key, value, low=MIN_IMAGE_SIZE, high=MAX_IMAGE_SIZE,
        what=f"an integer from {MIN_IMAGE_SIZE} (VGG16's five poolings) to {MAX_IMAGE_SIZE} pixels",
    ),
    "seed": lambda key, value: _int(key, value, low=0, high=2**32 - 1,
                                    what="an integer from 0 to 4294967295"),
    "init": _init,
    "preprocess": lambda key, value: _choice(key, value, PREPROCESS),
    "batch_size": _batch_size,
}


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {_show(value)}")
    return value


def _switch_mapping(key: str, value: Any, name: str, valid: tuple[str, ...]) -> dict[str, Any] | None:
    """A natural sub-setting that is false/null (off), true (the defaults) or a mapping merged onto them."""
    if value is False or value is None:
        return None
    if value is True:
        value = NATURAL_DEFAULTS[name]
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected false, true or a mapping of {', '.join(valid)}, got {_show(value)}")
    _check_keys(f"{key}.", value, valid)
    return {**NATURAL_DEFAULTS[name], **value}


def _transforms(key: str, value: Any) -> TransformSpec | None:
    merged = _switch_mapping(key, value, "transforms", TRANSFORM_KEYS)
    if merged is None:
        return None
    pixels = {name: _int(f"{key}.{name}", merged[name], low=0, high=64, what="an integer from 0 to 64 pixels")
              for name in ("pad", "jitter", "jitter_after")}
    rotate = _int(f"{key}.rotate", merged["rotate"], low=0, high=180, what="an integer from 0 to 180 degrees")
    scale = merged["scale"]
    if (not isinstance(scale, list) or len(scale) != 2 or not all(_is_number(v) for v in scale)
            or not 0 < scale[0] <= scale[1] <= 4):
        raise ConfigError(f"{key}.scale: expected [low, high] with 0 < low <= high <= 4, got {_show(scale)}")
    return TransformSpec(scale=(float(scale[0]), float(scale[1])), rotate=rotate, **pixels)


def _natural(layer: str, merged: dict[str, tuple[Any, str]], filters: tuple[int, ...],
             batch_size: int | None) -> NaturalSettings:
    v = {key: value for key, (value, _) in merged.items()}
    where = {key: place for key, (_, place) in merged.items()}
    steps = _int(where["steps"], v["steps"], low=1, high=100000, what="a positive integer")
    snapshots = v["snapshots"]
    if snapshots == "auto":
        snapshots = [max(1, steps // 8), max(1, steps // 2), steps]
    if not isinstance(snapshots, list):
        raise ConfigError(f"{where['snapshots']}: expected auto or a list of step numbers, got {_show(snapshots)}")
    for step in snapshots:
        _int(where["snapshots"], step, low=1, high=steps, what=f"step numbers from 1 to steps ({steps})")
    return NaturalSettings(
        lr=_positive_number(where["lr"], v["lr"]),
        steps=steps,
        image_size=_VALIDATORS["image_size"](where["image_size"], v["image_size"]),
        decay_power=_nonnegative(where["decay_power"], v["decay_power"]),
        decorrelate=_bool(where["decorrelate"], v["decorrelate"]),
        transforms=_transforms(where["transforms"], v["transforms"]),
        snapshots=tuple(sorted(set(snapshots))),
        seed=_VALIDATORS["seed"](where["seed"], v["seed"]),
        objective=_choice(where["objective"], v["objective"], OBJECTIVES),
        preprocess=_choice(where["preprocess"], v["preprocess"], PREPROCESS),
        filters=filters,
        batch_size=batch_size,
        revive=_revive(where["revive"], v["revive"], steps),
    )


def _revive(key: str, value: Any, steps: int) -> ReviveSpec | None:
    merged = _switch_mapping(key, value, "revive", REVIVE_KEYS)
    if merged is None:
        return None
    at = merged["at"]
    if at == "auto":
        at = max(1, steps // 4)
    at = _int(f"{key}.at", at, low=1, high=steps, what=f"auto or a step number from 1 to steps ({steps})")
    top = merged["top"]
    if not _is_number(top) or not 0 < top <= 1:
        raise ConfigError(f"{key}.top: expected a share of the map's positions, 0 < top <= 1, got {_show(top)}")
    return ReviveSpec(at=at, top=float(top), grid_jitter=_bool(f"{key}.grid_jitter", merged["grid_jitter"]),
                      when=_choice(f"{key}.when", merged["when"], REVIVE_WHEN))


def _nonnegative(key: str, value: Any) -> float:
    if not _is_number(value) or not value >= 0 or value == float("inf"):
        raise ConfigError(f"{key}: expected a number >= 0, got {_show(value)}")
    return float(value)


def _methods(merged: dict[str, tuple[Any, str]]) -> tuple[str, ...]:
    if "methods" in merged:
        value, where = merged["methods"]
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where}: expected a non-empty list of {', '.join(METHODS)}, got {_show(value)}")
        for method in value:
            _choice(where, method, METHODS)
        if len(set(value)) != len(value):
            raise ConfigError(f"{where}: a method is listed twice in {_show(value)}")
        return tuple(value)
    value, where = merged["method"]
    return (_choice(where, value, METHODS),)


def _layer_jobs(layer: str, merged: dict[str, tuple[Any, str]],
                natural: dict[str, tuple[Any, str]]) -> list["LayerJob"]:
    methods = _methods(merged)
    values: dict[str, Any] = {}
    for key, (value, where) in merged.items():
        if key in ("method", "methods"):
            continue
        if key == "filters":
            values[key] = _filters(where, value, CHANNELS[layer], layer)
        else:
            values[key] = _VALIDATORS[key](where, value)
    # validated even when unused, so a typo in a natural: block is caught before it matters
    natural_settings = _natural(layer, natural, values["filters"], values["batch_size"])
    return [
        LayerJob(layer, LayerSettings(method="pixel", **values) if method == "pixel" else natural_settings)
        for method in methods
    ]


def _natural_overrides(where: str, value: Any) -> dict[str, tuple[Any, str]]:
    mapping = _mapping(where, value)
    _check_keys(f"{where}.", mapping, NATURAL_KEYS)
    return {key: (item, f"{where}.{key}") for key, item in mapping.items()}


# --------------------------------------------------------------------------- manifest


def _weights(name: str, model: dict, base: Path) -> WeightsSpec:
    _check_keys(f"{name}: model.", model, MODEL_KEYS)
    source = model.get("weights", "auto")
    random_seed = _int(f"{name}: model.random_seed", model.get("random_seed", 0), low=0,
                       what="a non-negative integer")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(
            f"{name}: model.weights: expected one of {', '.join(WEIGHT_SOURCES)} "
            f"or a path to a weights file, got {_show(source)}"
        )
    if source in WEIGHT_SOURCES:
        return WeightsSpec(source=source, random_seed=random_seed)
    path = (base / source).resolve()
    if not path.is_file():
        raise ConfigError(
            f"{name}: model.weights: no such file {source!r} "
            f"(expected {', '.join(WEIGHT_SOURCES)} or the path of an existing .h5 weights file)"
        )
    return WeightsSpec(source="file", path=path, random_seed=random_seed)


def _output_dir(name: str, output: dict, key: str, default: str, base: Path) -> Path:
    value = output.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{name}: output.{key}: expected a folder path, got {_show(value)}")
    return (base / value).resolve()


def parse_manifest(data: Any, name: str = "gallery.yaml", base: Path | None = None) -> Manifest:
    """Validate parsed YAML data into a Manifest (paths relative to `base`)."""
    base = base or Path.cwd()
    if data is None:
        raise ConfigError(f"{name}: the manifest is empty; it needs at least a 'layers:' mapping")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{name}: the manifest must be a mapping with keys {', '.join(TOP_KEYS)}, "
            f"got a {type(data).__name__}"
        )
    _check_keys(f"{name}: ", data, TOP_KEYS)

    title = data.get("title", "VGG16 filter gallery")
    if not isinstance(title, str):
        raise ConfigError(f"{name}: title: expected text, got {_show(title)}")

    model = _mapping(f"{name}: model", data.get("model"))
    weights = _weights(name, model, base)
    precision = _choice(f"{name}: model.precision", model.get("precision", "float32"), PRECISIONS)
    output = _mapping(f"{name}: output", data.get("output"))
    _check_keys(f"{name}: output.", output, OUTPUT_KEYS)
    site_dir = _output_dir(name, output, "site", "site", base)
    cache_dir = _output_dir(name, output, "cache", ".cache/gallery", base)
    if site_dir == cache_dir or cache_dir.is_relative_to(site_dir):
        raise ConfigError(
            f"{name}: output.cache: the cache must live outside the site folder, got {cache_dir}"
        )

    defaults = _mapping(f"{name}: defaults", data.get("defaults"))
    _check_keys(f"{name}: defaults.", defaults, LAYER_KEYS)

    layers = _mapping(f"{name}: layers", data.get("layers"), allow_none=False) \
        if "layers" in data else None
    if not layers:
        raise ConfigError(
            f"{name}: layers: expected a mapping of conv layer names to settings "
            f"(at least one of {', '.join(CONV_LAYER_NAMES)})"
        )

    jobs: list[LayerJob] = []
    for layer, overrides in layers.items():
        if layer not in CONV_LAYER_NAMES:
            raise ConfigError(f"{name}: layers.{layer}: {_layer_problem(layer)}")
        overrides = _mapping(f"{name}: layers.{layer}", overrides)
        _check_keys(f"{name}: layers.{layer}.", overrides, LAYER_KEYS)
        merged = {key: (value, f"{name}: (built-in default) {key}") for key, value in BUILTIN_DEFAULTS.items()}
        merged.update({key: (value, f"{name}: defaults.{key}") for key, value in defaults.items()})
        merged.update({key: (value, f"{name}: layers.{layer}.{key}") for key, value in overrides.items()})
        if "methods" in overrides:  # a layer's own `method:` or `methods:` wins over the defaults'
            merged.pop("method", None)
        elif "method" in overrides:
            merged.pop("methods", None)
        natural = {key: (value, f"{name}: (built-in default) natural.{key}")
                   for key, value in NATURAL_DEFAULTS.items()}
        merged.pop("natural", None)
        natural.update(_natural_overrides(f"{name}: defaults.natural", defaults.get("natural")))
        natural.update(_natural_overrides(f"{name}: layers.{layer}.natural", overrides.get("natural")))
        jobs.extend(_layer_jobs(layer, merged, natural))

    jobs.sort(key=lambda job: (CONV_LAYER_NAMES.index(job.layer), METHODS.index(job.settings.method)))
    samples = _samples(name, data.get("sample_images"), base)
    return Manifest(
        path=base / name,
        title=title,
        weights=weights,
        site_dir=site_dir,
        cache_dir=cache_dir,
        jobs=tuple(jobs),
        samples=samples,
        precision=precision,
    )


def _samples(name: str, value: Any, base: Path) -> tuple[Path, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{name}: sample_images: expected a list of image file paths, got {_show(value)}")
    paths = []
    for item in value:
        path = (base / item).resolve()
        if not path.is_file():
            raise ConfigError(f"{name}: sample_images: no such file {item!r}; give paths of PNG or JPEG images")
        if path in paths:
            raise ConfigError(f"{name}: sample_images: {item!r} is listed twice")
        paths.append(path)
    stems = [p.stem for p in paths]
    if len(set(stems)) != len(stems):
        raise ConfigError(f"{name}: sample_images: two images share the name {_show(stems)}; rename one")
    return tuple(paths)


def load_manifest(path: str | Path) -> Manifest:
    """Read and validate a manifest file; raises ConfigError with a one-line message."""
    path = Path(path)
    name = path.name
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
    data = _parse_yaml(text, name)
    return parse_manifest(data, name=name, base=path.resolve().parent)
