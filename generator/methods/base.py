"""What every method shares: the record of one filter's run, what a method returns, the Method protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from ..estimate import Cost


@dataclass
class FilterRun:
    """One filter's optimization, as it happened."""

    index: int
    history: list[float] = field(default_factory=list)
    max_abs_grad: float = 0.0
    reached_threshold: bool = False
    image: np.ndarray | None = None  # final float image (H, W, 3), unclipped
    snapshots: dict[int, np.ndarray] = field(default_factory=dict)  # step -> uint8 image after that step

    @property
    def steps(self) -> int:
        return len(self.history)

    @property
    def loss(self) -> float:
        return self.history[-1]

    @property
    def status(self) -> str:
        finite = np.all(np.isfinite(self.history)) and (
            self.image is None or bool(np.all(np.isfinite(self.image)))
        )
        if not finite:
            return "diverged"
        if self.max_abs_grad == 0.0 and all(value == 0.0 for value in self.history):
            return "dead"
        return "ok"


@dataclass(frozen=True)
class MethodOutput:
    """What a method hands back for one layer: the runs and the pictures the user will see."""

    runs: list[FilterRun]  # in the settings' filter order
    images: np.ndarray  # (N, H, W, 3) uint8: the saved images, in the same order
    snapshots: dict[tuple[int, int], np.ndarray]  # (filter, step) -> uint8 intermediate image
    # further views of each filter, by name ("negative", "diverse"): (N, images per filter, H, W, 3) uint8
    views: dict[str, np.ndarray] = field(default_factory=dict)


class Method(Protocol):
    """A way to make the image that maximizes a feature map: one module in this folder and a registry entry.

    The build and the site know a method only through these attributes; they never test its name.
    """

    name: str  # the manifest's name for it (`method: pixel`)
    title: str  # how pages name it
    section: str | None  # the manifest key that holds its settings; None: the layer's own keys
    settings_class: type  # its frozen settings (the schema of its keys)
    loss_name: str  # what its `history` measures, in one word ("loss", "objective")
    steps_key: str  # the settings key of its step budget ("iterations", "steps")

    def run(self, vgg: Any, layer: str, settings: Any, batch_size: int,
            on_steps: Callable[[int], None] | None = None) -> MethodOutput:
        """Optimize one image per selected filter of `layer` with the (float32 or mixed) network `vgg`."""

    def status(self, run: FilterRun, activation: float) -> str:
        """ok | dead | diverged, given the run and its target map's post-ReLU mean on the saved image."""

    def cost(self, layer: str, settings: Any) -> Cost:
        """The work of computing `layer` with these settings, at most (the build's estimate adds it up).

        A method says only its steps and the sizes the network sees; `generator.estimate.method_cost`
        does the arithmetic, so every method is counted the same way.
        """
