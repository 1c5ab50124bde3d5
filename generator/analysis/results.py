"""One layer's result for one method, and its public forms (JSON record, CSV table).

Plain data only: no TensorFlow, no disk. The store writes these, the site reads them.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np

from .. import __version__
from ..methods.base import FilterRun
from .cross import CrossActivation

STATUSES = ("ok", "dead", "diverged")


def finite_or_none(value: float) -> float | None:
    """JSON has no NaN or infinity: a diverged number is written as null."""
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class FilterResult:
    index: int
    loss: float | None
    steps: int
    stopped_early: bool  # stopped at the threshold before the last iteration
    reached_threshold: bool
    status: str  # ok | dead | diverged
    history: tuple[float | None, ...]
    activation: float | None  # target map's mean on the saved (uint8) image
    rank: int  # 1 = the target map is the largest of the layer's maps
    reaching: tuple[int, ...]  # other maps whose mean >= the target's
    cross: tuple[float | None, ...]  # all C map means on the saved image
    snapshots: tuple[int, ...] = ()  # steps at which an intermediate image was kept
    high_frequency: float | None = None  # share of the image's spectral energy above half Nyquist
    revived_at: int | None = None  # natural: step after which it maximized its map's strongest positions
    # further views (natural's negative and diverse images): per view, each image's own-map mean (post-ReLU)
    # under "activation" and, for several images, "similarity" (mean pairwise cosine of their Gram matrices)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_run(cls, run: FilterRun, iterations: int, cross: CrossActivation,
                 status: str | None = None, high_frequency: float | None = None) -> "FilterResult":
        return cls(
            index=run.index,
            loss=finite_or_none(run.loss),
            steps=run.steps,
            stopped_early=run.reached_threshold and run.steps < iterations,
            reached_threshold=run.reached_threshold,
            status=status or run.status,
            history=tuple(finite_or_none(value) for value in run.history),
            activation=finite_or_none(cross.activation),
            rank=cross.rank,
            reaching=cross.reaching,
            cross=tuple(finite_or_none(value) for value in cross.means),
            snapshots=tuple(sorted(getattr(run, "snapshots", {}))),
            high_frequency=high_frequency,
            revived_at=getattr(run, "revived_at", None),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FilterResult":
        """Every field is required: a record missing one is damaged (the cache format says which fields exist)."""
        # `views` is written only when there are some: records without views are as they always were
        fields = {key: data[key] for key in cls.__dataclass_fields__ if key != "views"}
        fields["views"] = dict(data.get("views", {}))
        for key in ("history", "reaching", "cross", "snapshots"):
            fields[key] = tuple(fields[key])
        return cls(**fields)


@dataclass(frozen=True)
class LayerResult:
    layer: str
    method: str
    channels: int
    settings: dict[str, Any]
    weights: dict[str, str]
    seconds: float
    filters: tuple[FilterResult, ...]
    environment: dict[str, str]  # library versions and device that computed it
    generator_version: str = __version__

    def counts(self) -> dict[str, int]:
        return {status: sum(1 for f in self.filters if f.status == status) for status in STATUSES}

    def mean_loss(self) -> float | None:
        values = [f.loss for f in self.filters if f.loss is not None]
        return float(np.mean(values)) if values else None

    @classmethod
    def assemble(cls, parts: list["LayerResult"], settings: dict[str, Any]) -> "LayerResult":
        """A layer-method's result from its work units' (in filter order), under the layer's own settings."""
        first = parts[0]
        return cls(layer=first.layer, method=first.method, channels=first.channels, settings=settings,
                   weights=first.weights, seconds=round(sum(part.seconds for part in parts), 3),
                   filters=tuple(f for part in parts for f in part.filters), environment=first.environment,
                   generator_version=first.generator_version)

    def strongest_count(self) -> int:
        """In how many images the target map is the largest of the layer's maps."""
        return sum(1 for f in self.filters if f.rank == 1 and f.status == "ok")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["filters"] = [asdict(f) for f in self.filters]
        for record in data["filters"]:
            for key in ("history", "reaching", "cross", "snapshots"):
                record[key] = list(record[key])
            if not record["views"]:
                del record["views"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LayerResult":
        return cls(
            layer=data["layer"],
            method=data["method"],
            channels=int(data["channels"]),
            settings=dict(data["settings"]),
            weights=dict(data["weights"]),
            seconds=float(data["seconds"]),
            filters=tuple(FilterResult.from_dict(f) for f in data["filters"]),
            environment=dict(data["environment"]),
            generator_version=data["generator_version"],
        )

    def public(self, image_path: Callable[[int], str], thumb_path: Callable[[int], str],
               snapshot_path: Callable[[int, int], str]) -> dict[str, Any]:
        """The documented public record (site/data/<layer>/<method>.json)."""
        data = self.to_dict()
        for record in data["filters"]:
            record["image"] = image_path(record["index"])
            record["thumbnail"] = thumb_path(record["index"])
            record["snapshots"] = [{"step": step, "image": snapshot_path(record["index"], step)}
                                   for step in record["snapshots"]]
        return data

    def csv_table(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["filter", "loss", "steps", "stopped_early", "status",
                         "activation", "rank", "maps_reaching_target"])
        for f in self.filters:
            writer.writerow([
                f.index,
                "" if f.loss is None else repr(f.loss),
                f.steps,
                str(f.stopped_early).lower(),
                f.status,
                "" if f.activation is None else repr(f.activation),
                f.rank,
                " ".join(str(k) for k in f.reaching),
            ])
        return out.getvalue()
