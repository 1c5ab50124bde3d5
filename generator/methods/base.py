"""What every method shares: the record of one filter's optimization."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
