"""Streaming top-k over photos: each filter's strongest map positions, in memory that does not grow.

For each photo, each filter's `k` best positions are picked greedily, strongest first, each
pick suppressing its neighbourhood (positions closer than about half a receptive field in
both directions, whose crops would mostly repeat it); the photo's picks are then merged into
the running best `k`. Only (channels, k) arrays are kept between photos.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..architecture import pools_before, receptive_field


def suppression_radius(layer: str) -> int:
    """Two picks from one photo are at least this many map positions apart (in y or in x)."""
    return max(1, math.ceil(receptive_field(layer) / 2 / 2 ** pools_before(layer)))


@dataclass
class Ranked:
    """Each filter's best positions so far, strongest first: (channels, k) arrays; image -1 = empty slot."""

    values: np.ndarray  # float32 score (the map's value, negated for the lowest), -inf in empty slots
    image: np.ndarray  # int32: the photo's index in the set
    y: np.ndarray  # int32: the map row
    x: np.ndarray  # int32: the map column

    @classmethod
    def empty(cls, channels: int, k: int) -> "Ranked":
        shape = (channels, k)
        return cls(np.full(shape, -np.inf, np.float32), np.full(shape, -1, np.int32),
                   np.zeros(shape, np.int32), np.zeros(shape, np.int32))


def candidate_count(k: int, radius: int) -> int:
    """How many best positions per filter always hold its k picks: a pick suppresses at most (2r - 1)^2."""
    return k * (2 * radius - 1) ** 2


def photo_picks(maps: np.ndarray, k: int, radius: int, lowest: bool = False):
    """(scores, y, x), each (channels, k): every filter's k strongest, mutually distant positions in one photo.

    `maps` is (channels, height, width); the score is the value (its negation with `lowest`).
    Positions are ordered by score, then raster order (the first of equal scores wins). The greedy
    search runs on each filter's first candidate_count positions in that order only, and its result
    is the one a search over the whole map gives. (The build takes those positions from TensorFlow's
    top_k, which orders equal values the same way: see examples/compute.py.)
    """
    channels, height, width = maps.shape
    scores = maps.reshape(channels, height * width)
    scores = -scores if lowest else scores
    positions = _first(scores, min(scores.shape[1], candidate_count(k, radius)))
    return picks_from_candidates(np.take_along_axis(scores, positions, axis=1), positions, width, k, radius)


def picks_from_candidates(scores: np.ndarray, positions: np.ndarray, width: int, k: int, radius: int):
    """The greedy picks among candidates: (channels, n) scores and their flat map positions, any order."""
    order = np.argsort(positions, axis=1, kind="stable")  # raster order: argmax takes the first of equals
    positions = np.take_along_axis(positions, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1).astype(np.float32)
    return _greedy(scores, positions // width, positions % width, k, radius)


def _first(scores: np.ndarray, count: int) -> np.ndarray:
    """(channels, count): each row's first `count` positions by score, ties in raster order; sorted by position."""
    if count == scores.shape[1]:
        return np.broadcast_to(np.arange(count), scores.shape)
    threshold = np.partition(scores, scores.shape[1] - count, axis=1)[:, scores.shape[1] - count, None]
    above = scores > threshold
    tied = scores == threshold
    room = count - above.sum(axis=1, keepdims=True)  # how many of the tied positions still fit
    keep = above | (tied & (np.cumsum(tied, axis=1) <= room))
    return np.nonzero(keep)[1].reshape(scores.shape[0], count)


def _greedy(scores: np.ndarray, ys: np.ndarray, xs: np.ndarray, k: int, radius: int):
    rows = np.arange(scores.shape[0])
    scores = scores.copy()
    picked = [np.full((scores.shape[0], k), fill, dtype) for fill, dtype in
              ((-np.inf, np.float32), (0, np.int32), (0, np.int32))]
    for slot in range(min(k, scores.shape[1])):
        best = np.argmax(scores, axis=1)  # the first of equal scores: the earliest in raster order
        score, y, x = scores[rows, best], ys[rows, best], xs[rows, best]
        picked[0][:, slot], picked[1][:, slot], picked[2][:, slot] = score, y, x
        near = (np.abs(ys - y[:, None]) < radius) & (np.abs(xs - x[:, None]) < radius)
        scores[near] = -np.inf
    return tuple(picked)


def merge(ranked: Ranked, image: int, picks: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Ranked:
    """The best k of what was kept and one photo's picks; on equal scores the earlier photo stays first."""
    scores, y, x = picks
    k = ranked.values.shape[1]
    images = np.where(np.isfinite(scores), image, -1).astype(np.int32)
    both = [np.concatenate(pair, axis=1) for pair in
            ((ranked.values, scores), (ranked.image, images), (ranked.y, y), (ranked.x, x))]
    order = np.argsort(-both[0], axis=1, kind="stable")[:, :k]
    return Ranked(*(np.take_along_axis(array, order, axis=1) for array in both))


class StreamingTopK:
    """One layer's running best positions: highest values (top) or lowest (bottom)."""

    def __init__(self, layer: str, channels: int, k: int, per_photo: int | None = None, lowest: bool = False):
        self.radius, self.k, self.lowest = suppression_radius(layer), k, lowest
        self.per_photo = min(k, per_photo or k)  # the most picks one photo may add
        self.channels, self.ranked = channels, Ranked.empty(channels, k)

    @property
    def candidates(self) -> int:
        """How many of a filter's best positions in one photo `add_candidates` needs."""
        return candidate_count(self.per_photo, self.radius)

    def add(self, maps: np.ndarray, image: int) -> None:
        """Fold one photo's maps, (channels, height, width), into the running best."""
        self.ranked = merge(self.ranked, image, photo_picks(maps, self.per_photo, self.radius, self.lowest))

    def add_candidates(self, scores: np.ndarray, positions: np.ndarray, width: int, image: int) -> None:
        """Fold one photo's `candidates` best (score, flat position) per filter into the running best."""
        picks = picks_from_candidates(scores, positions, width, self.per_photo, self.radius)
        self.ranked = merge(self.ranked, image, picks)

    def entries(self, channel: int) -> list[tuple[int, int, int, float]]:
        """(image, y, x, map value) of one filter, strongest first, empty slots left out."""
        r, sign = self.ranked, -1.0 if self.lowest else 1.0
        return [(int(r.image[channel, s]), int(r.y[channel, s]), int(r.x[channel, s]),
                 sign * float(r.values[channel, s]))
                for s in range(self.k) if r.image[channel, s] >= 0]
