"""The templates' context as typed records: every number and URL a page shows, and nothing else.

Records hold data, never prose: captions and sentences live in the templates, which read
these fields (Jinja's `x.key` and `x["key"]` both reach a dataclass attribute). URLs are
relative to the site root; templates prefix them with `root` (../ per folder level).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

# --------------------------------------------------------------------------- gallery


@dataclass(frozen=True)
class Snapshot:
    step: int
    image: str


@dataclass(frozen=True)
class MapLink:
    """Another feature map of the layer, linked to its filter page when the gallery has one."""
    index: int
    page: str | None


@dataclass(frozen=True)
class FilterView:
    """One filter's result with one method."""
    index: int
    loss: float | None
    loss_text: str
    steps: int
    stopped_early: bool
    status: str  # ok | dead | diverged
    activation: float | None
    activation_text: str
    rank: int
    reaching: tuple[int, ...]
    image: str
    thumbnail: str
    page: str
    selectivity: float | None
    history: tuple[float | None, ...]
    cross: tuple[float | None, ...]
    snapshots: tuple[Snapshot, ...]
    animation: str | None
    high_frequency: float | None
    revived_at: int | None
    reaching_links: tuple[MapLink, ...]


@dataclass(frozen=True)
class Counts:
    ok: int
    dead: int
    diverged: int


@dataclass(frozen=True)
class Revived:
    """How a method's revive setting worked out on one layer."""
    at: int
    top_percent: str
    grid_jitter: bool
    when: str  # closed | closed_on_average: the templates word it
    count: int
    opened: int


@dataclass(frozen=True)
class MethodView:
    """One method's results on one layer."""
    method: str
    title: str  # the method plug-in's own name for pages
    loss_name: str  # what its history measures ("loss", "objective")
    pre_relu: bool  # its objective is the map's mean before the ReLU
    steps: int  # its step budget
    threshold: float | None
    settings: dict[str, Any]
    image_size: int
    counts: Counts
    revived: Revived | None
    mean_loss: float | None
    mean_loss_text: str
    seconds: float
    seconds_text: str
    filters: tuple[FilterView, ...]
    by_index: dict[int, FilterView]
    strongest: int
    data_json: str
    data_csv: str
    environment: dict[str, str]
    heatmap: str
    heatmap_data: dict[str, Any]  # handed to the page's script as JSON


@dataclass(frozen=True)
class FilterPage:
    """One filter page: the filter with every method that has it, and its neighbours' pages."""
    index: int
    page: str
    previous: str | None
    next: str | None
    methods: tuple[tuple[MethodView, FilterView], ...]


@dataclass(frozen=True)
class LayerView:
    """A manifest layer; `methods` is empty until one of its methods is built."""
    name: str
    planned: tuple[str, ...]
    built: bool
    receptive_field: int
    channels: int
    page: str
    methods: tuple[MethodView, ...] = ()  # in manifest order: the original method first
    filter_pages: tuple[FilterPage, ...] = ()
    previous: str | None = None  # the neighbouring built layers
    next: str | None = None

    @property
    def primary(self) -> MethodView | None:
        return self.methods[0] if self.methods else None


# --------------------------------------------------------------------------- teaching pages


@dataclass(frozen=True)
class KernelView:
    index: int
    image: str
    page: str | None
    thumbnails: tuple[str, ...]


@dataclass(frozen=True)
class KernelStats:
    name: str
    in_channels: int
    channels: int
    norms: tuple[float, ...]
    norm_min: float
    norm_median: float
    norm_max: float
    bias_mean: float
    bias_negative: int


@dataclass(frozen=True)
class WeightsView:
    kernels: tuple[KernelView, ...]
    stats: tuple[KernelStats, ...]


@dataclass(frozen=True)
class SampleMap:
    """One feature map of a sample image, with the generated image that maximizes it if there is one."""
    index: int
    mean: float
    page: str | None
    thumbnail: str | None


@dataclass(frozen=True)
class SampleLayer:
    name: str
    sheet: str
    shown: int
    means: tuple[float, ...]
    strongest: tuple[SampleMap, ...]
    similar: tuple[SampleMap, ...]


@dataclass(frozen=True)
class SampleView:
    name: str
    page: str
    image: str
    layers: tuple[SampleLayer, ...]


# --------------------------------------------------------------------------- lessons


@dataclass(frozen=True)
class LessonRow:
    """One layer and method in the lessons' tables."""
    layer: str
    method: str
    page: str
    filters: int
    strongest: int
    dead: int
    ok: int
    median_rank: float | None
    median_reaching: float | None
    high_frequency: float | None
    receptive_field: int
    revived: Revived | None


@dataclass(frozen=True)
class Example:
    """Lesson 1: one filter's climb."""
    layer: str
    method: str
    settings: dict[str, Any]
    filter: FilterView
    first: float
    last: float


@dataclass(frozen=True)
class Rival:
    """Lesson 2: a generated image and the maps that rival its own."""
    layer: str
    channels: int
    filter: FilterView


@dataclass(frozen=True)
class Pair:
    """One filter with the layer's reference (first) method and with a later one."""
    layer: str
    index: int
    reference_method: str
    compared_method: str
    reference: FilterView
    compared: FilterView


@dataclass(frozen=True)
class FieldRow:
    """Lesson 5: one layer's receptive field."""
    name: str
    page: str | None  # None: not built
    receptive_field: int
    share: float  # percent of a 224 px image


@dataclass(frozen=True)
class DepthGroup:
    """Lesson 6: a layer's most selective filters."""
    layer: str
    page: str
    method: str
    filters: tuple[FilterView, ...]
    receptive_field: int


@dataclass(frozen=True)
class LessonsView:
    rows: tuple[LessonRow, ...]
    example: Example | None
    specific: tuple[Rival, ...]
    unspecific: tuple[Rival, ...]
    revived: tuple[Pair, ...]
    revived_count: int
    pairs: tuple[Pair, ...]
    receptive_fields: tuple[FieldRow, ...]
    depths: dict[str, tuple[DepthGroup, ...]]  # early | middle | deep
    layers_built: int


# --------------------------------------------------------------------------- the whole site


@dataclass(frozen=True)
class GalleryView:
    """What every page sees; each of its fields is a top-level name in the templates."""
    title: str
    layers: tuple[LayerView, ...]
    weights: dict[str, str] | None
    environment: dict[str, str]  # of the first built layer: the footer names it
    generator_version: str
    weights_info: WeightsView | None
    samples: tuple[SampleView, ...]
    lessons: LessonsView
    lesson_titles: tuple[tuple[str, str], ...]

    def names(self) -> dict[str, Any]:
        """Its fields as template names (shallow: the records stay records)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}
