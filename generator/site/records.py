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
    """A filter's image kept part-way through its optimization (the filter page's "in motion" strip)."""
    step: int  # the step after which it was kept
    image: str  # its PNG's URL


@dataclass(frozen=True)
class MapLink:
    """Another feature map of the layer, linked to its filter page when the gallery has one."""
    index: int  # that map's index in the layer
    page: str | None  # its filter page; None: the gallery has no image for that filter


@dataclass(frozen=True)
class FilterView:
    """One filter's result with one method."""
    index: int  # the filter, i.e. its feature map's index in the layer
    loss: float | None  # the last step's loss; None: not finite (it diverged)
    loss_text: str  # the loss as the caption prints it, "NaN" if it diverged
    steps: int  # the steps it actually ran
    stopped_early: bool  # stopped at the threshold before the last step
    status: str  # ok | dead | diverged
    activation: float | None  # its own map's mean on the saved image; None: not finite
    activation_text: str  # that mean with 2 decimals, "—" if None
    rank: int  # its own map's rank among the layer's maps on its image, 1 = the strongest
    reaching: tuple[int, ...]  # the other maps whose mean on its image is at least its own map's
    image: str  # URL of the full-size PNG (filter page)
    thumbnail: str  # URL of the JPEG thumbnail (grids, atlas, handout, lessons)
    page: str  # URL of its filter page
    selectivity: float | None  # (own - others' mean) / (own + others' mean); None: no map responds
    history: tuple[float | None, ...]  # the loss at each step, None where not finite: the line chart
    cross: tuple[float | None, ...]  # every map's mean on the saved image: the bar chart, sample similarity
    snapshots: tuple[Snapshot, ...]  # in step order; empty when the method keeps none
    animation: str | None  # URL of the snapshots' animated GIF; None: no snapshots
    high_frequency: float | None  # share of its spectral energy above half Nyquist; None: not measured
    revived_at: int | None  # the step it switched to its map's strongest positions; None: never revived
    reaching_links: tuple[MapLink, ...]  # the strongest of `reaching` (context.REACHING_LINKS), each linked to its filter page
    views: tuple = ()  # site.views.ViewImages: its negative and diverse images, when the method made them


@dataclass(frozen=True)
class Counts:
    """How many of a method's filters ended with each status."""
    ok: int  # the map opened
    dead: int  # the real (post-ReLU) map stayed 0
    diverged: int  # the loss or the image became NaN or infinite


@dataclass(frozen=True)
class Revived:
    """How a method's revive setting worked out on one layer."""
    at: int  # the step at which a still-closed map switches objective (revive.at)
    top_percent: str  # the share of strongest positions maximized from then on, in %, e.g. "2"
    grid_jitter: bool  # revived images are then shifted only by whole steps of the pooling grid
    when: str  # closed | closed_on_average: the templates word it
    count: int  # how many of the layer's filters were revived
    opened: int  # how many of those ended ok


@dataclass(frozen=True)
class MethodView:
    """One method's results on one layer."""
    method: str  # its manifest name (pixel, natural): element ids, alt texts, tables
    title: str  # the method plug-in's own name for pages
    loss_name: str  # what its history measures ("loss", "objective")
    pre_relu: bool  # its objective is the map's mean before the ReLU
    steps: int  # its step budget
    threshold: float | None  # a filter stops once its loss reaches it; None: every filter runs all steps
    settings: dict[str, Any]  # its settings as run (lr, seed, revive, ...): pages quote settings.lr
    image_size: int  # the generated images' side, in px
    counts: Counts  # its filters per status
    revived: Revived | None  # None: its settings have no revive
    mean_loss: float | None  # over the filters with a finite loss; None: none has one
    mean_loss_text: str  # that mean with 2 decimals, "—" if None
    seconds: float  # compute time of the whole layer-method, in s
    seconds_text: str  # those seconds with 1 decimal, as the pages print them
    filters: tuple[FilterView, ...]  # in the result's order (the grid's, the table's, the heatmap's rows)
    by_index: dict[int, FilterView]  # the same filters, by filter index
    strongest: int  # how many ok images drive their own map hardest (rank 1)
    data_json: str  # URL of the public JSON record
    data_csv: str  # URL of the public CSV table
    environment: dict[str, str]  # library versions and device that computed it
    heatmap: str  # URL of the cross-activation heatmap PNG
    heatmap_data: dict[str, Any]  # handed to the page's script as JSON


@dataclass(frozen=True)
class FilterPage:
    """One filter page: the filter with every method that has it, and its neighbours' pages."""
    index: int  # the filter
    page: str  # this page's URL
    previous: str | None  # the previous filter's page; None: this is the layer's first
    next: str | None  # the next filter's page; None: this is the layer's last
    methods: tuple[tuple[MethodView, FilterView], ...]  # (method, its result here), in the layer's method order


@dataclass(frozen=True)
class LayerView:
    """A manifest layer; `methods` is empty until one of its methods is built."""
    name: str  # the conv layer, e.g. block3_conv2
    planned: tuple[str, ...]  # the manifest's method names for it, built or not (the index page)
    built: bool  # at least one of its methods has results
    receptive_field: int  # the side of the input patch one unit sees, in px
    channels: int  # how many feature maps (filters) it has
    page: str  # URL of its layer page
    methods: tuple[MethodView, ...] = ()  # in manifest order: the original method first
    filter_pages: tuple[FilterPage, ...] = ()  # one per filter of any built method
    previous: str | None = None  # the previous built layer's name; None: this is the first
    next: str | None = None  # the next built layer's name; None: this is the last
    examples: Any = None  # site.examples.LayerExamples: its dataset examples; None: none computed

    @property
    def primary(self) -> MethodView | None:
        return self.methods[0] if self.methods else None


# --------------------------------------------------------------------------- teaching pages


@dataclass(frozen=True)
class KernelView:
    """One of block1_conv1's kernels as an RGB patch, beside the images of its filter."""
    index: int  # the filter (output channel)
    image: str  # the patch
    page: str | None  # its filter page, if the gallery has one
    thumbnails: tuple[str, ...]  # its filter's images, one per method


@dataclass(frozen=True)
class KernelStats:
    """One conv layer's kernel statistics: a row of the weights page's table and its norm chart."""
    name: str  # the layer
    in_channels: int  # the kernels' depth (3×3×in_channels)
    channels: int  # its output channels (filters)
    norms: tuple[float, ...]  # each filter's kernel L2 norm, in channel order
    norm_min: float  # the smallest of `norms`
    norm_median: float  # their median
    norm_max: float  # the largest
    bias_mean: float  # the mean of its biases
    bias_negative: int  # how many of its biases are negative


@dataclass(frozen=True)
class WeightsView:
    """The weights page: block1_conv1's kernels and every conv layer's statistics."""
    kernels: tuple[KernelView, ...]  # block1_conv1's 64, in filter order
    stats: tuple[KernelStats, ...]  # one per conv layer, in network order


@dataclass(frozen=True)
class SampleMap:
    """One feature map of a sample image, with the generated image that maximizes it if there is one."""
    index: int  # the map (filter) index
    mean: float  # the map's mean on the sample image
    page: str | None  # its filter page; None: no image for it with the layer's first method
    thumbnail: str | None  # that image's thumbnail; None likewise


@dataclass(frozen=True)
class SampleLayer:
    """One layer's feature maps of a sample image: a section of the sample page."""
    name: str  # the layer
    sheet: str  # URL of the sheet of its first maps, each scaled to its own maximum
    shown: int  # how many maps the sheet shows (at most 64)
    means: tuple[float, ...]  # the shown maps' means, rounded to 2 decimals
    strongest: tuple[SampleMap, ...]  # the shown maps that respond most (up to 5, all above 0)
    similar: tuple[SampleMap, ...]  # filters whose image's map means are closest (cosine); empty if unbuilt


@dataclass(frozen=True)
class SampleView:
    """A sample input image and its feature maps, layer by layer: one sample page."""
    name: str  # the sample's name, in titles and links
    page: str  # URL of its sample page
    image: str  # URL of the input, cropped and resized to 224×224
    layers: tuple[SampleLayer, ...]  # in the order its cached maps list them


# --------------------------------------------------------------------------- lessons


@dataclass(frozen=True)
class LessonRow:
    """One layer and method in the lessons' tables."""
    layer: str  # the layer's name
    method: str  # the method's name
    page: str  # URL of the layer page
    filters: int  # how many filters the method ran
    strongest: int  # how many ok images drive their own map hardest (lesson 2)
    dead: int  # dead filters (lesson 3)
    ok: int  # filters that opened (lesson 3)
    median_rank: float | None  # own map's median rank over the ok filters (lesson 2); None: no ok filter
    median_reaching: float | None  # median count of maps reaching the target, over ok filters (lesson 2)
    high_frequency: float | None  # median high-frequency share of the ok filters (lesson 4); None: none measured
    receptive_field: int  # the layer's, in px
    revived: Revived | None  # lesson 3's last column; None: the method has no revive


@dataclass(frozen=True)
class Example:
    """Lesson 1: one filter's climb."""
    layer: str  # the first built layer
    method: str  # its first method
    settings: dict[str, Any]  # that method's settings (the lesson quotes lr)
    filter: FilterView  # its ok filter with the highest final loss
    first: float  # the loss at the first step, on the start image
    last: float  # the loss at the last step


@dataclass(frozen=True)
class Rival:
    """Lesson 2: a generated image and the maps that rival its own."""
    layer: str  # the image's layer
    channels: int  # that layer's map count ("rank r of channels")
    filter: FilterView  # the image, with its first method; its `reaching` are the rivals


@dataclass(frozen=True)
class Pair:
    """One filter with the layer's reference (first) method and with a later one."""
    layer: str  # the layer's name
    index: int  # the filter
    reference_method: str  # the first method's name
    compared_method: str  # the later method's name
    reference: FilterView  # the filter with the reference method
    compared: FilterView  # the filter with the compared one (the pair links its page)


@dataclass(frozen=True)
class FieldRow:
    """Lesson 5: one layer's receptive field."""
    name: str  # the layer, built or not
    page: str | None  # None: not built
    receptive_field: int  # the side one unit sees, in px
    share: float  # percent of a 224 px image


@dataclass(frozen=True)
class DepthGroup:
    """Lesson 6: a layer's most selective filters."""
    layer: str  # the layer's name
    page: str  # URL of its layer page
    method: str  # its last method, whose images are shown
    filters: tuple[FilterView, ...]  # its up to 4 most selective ok filters, most selective first
    receptive_field: int  # the layer's, in px


@dataclass(frozen=True)
class LessonsView:
    """The numbers the six lessons quote, read off this gallery's own layers."""
    rows: tuple[LessonRow, ...]  # lessons 2 to 4: one per built layer and method
    example: Example | None  # lesson 1; None: nothing built, or no ok filter with a finite loss
    specific: tuple[Rival, ...]  # lesson 2: the 4 with fewest rivals, of images at or above their layer's median activation
    unspecific: tuple[Rival, ...]  # lesson 2: the 4 with the most rivals, of the same images
    revived: tuple[Pair, ...]  # lesson 3: up to 8 filters dead with the reference method, ok with a later one
    revived_count: int  # how many such filters there are in all
    pairs: tuple[Pair, ...]  # lesson 4: the first 6 pairs, in layer and filter order
    receptive_fields: tuple[FieldRow, ...]  # lesson 5: every manifest layer
    depths: dict[str, tuple[DepthGroup, ...]]  # early | middle | deep
    layers_built: int  # how many layers have results
    examples: Any = None  # lesson 7: site.examples.ExamplesLesson; None: no dataset examples


# --------------------------------------------------------------------------- the whole site


@dataclass(frozen=True)
class GalleryView:
    """What every page sees; each of its fields is a top-level name in the templates."""
    title: str  # the manifest's title
    layers: tuple[LayerView, ...]  # every manifest layer, in manifest order
    weights: dict[str, str] | None  # the weights' description, source, sha256; None: no build has recorded them yet
    environment: dict[str, str]  # of the first built layer: the footer names it
    generator_version: str  # this package's version (the footer)
    weights_info: WeightsView | None  # the weights page; None: no kernel statistics, so no page
    samples: tuple[SampleView, ...]  # one page each
    lessons: LessonsView  # the lesson pages' numbers
    lesson_titles: tuple[tuple[str, str], ...]  # (slug, title) of each lesson, in order
    photo_credits: tuple = ()  # site.examples.PhotoCredit of each built-in photo (the about page)

    def names(self) -> dict[str, Any]:
        """Its fields as template names (shallow: the records stay records)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}
