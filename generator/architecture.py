"""Facts about VGG16's convolutional stack, known without loading TensorFlow.

The manifest is validated against these (layer names, channel counts, the
smallest input the five poolings allow), so a typo is reported in a fraction of
a second instead of after TensorFlow has started.
"""

# (name, channels) in network order: Keras' VGG16(include_top=False).
CONV_LAYERS: tuple[tuple[str, int], ...] = (
    ("block1_conv1", 64),
    ("block1_conv2", 64),
    ("block2_conv1", 128),
    ("block2_conv2", 128),
    ("block3_conv1", 256),
    ("block3_conv2", 256),
    ("block3_conv3", 256),
    ("block4_conv1", 512),
    ("block4_conv2", 512),
    ("block4_conv3", 512),
    ("block5_conv1", 512),
    ("block5_conv2", 512),
    ("block5_conv3", 512),
)

CONV_LAYER_NAMES: tuple[str, ...] = tuple(name for name, _ in CONV_LAYERS)
CHANNELS: dict[str, int] = dict(CONV_LAYERS)

# The other layers of VGG16(include_top=False): named in errors so a user who
# picks one learns it is not a conv layer rather than that it does not exist.
NON_CONV_LAYERS: tuple[str, ...] = (
    "input_layer",
    "block1_pool",
    "block2_pool",
    "block3_pool",
    "block4_pool",
    "block5_pool",
)

# Five 2x2 poolings: below 32 px the last block has no spatial extent left.
MIN_IMAGE_SIZE = 32
MAX_IMAGE_SIZE = 1024


def block_of(layer: str) -> int:
    """1-based block number of a conv layer name (block3_conv2 -> 3)."""
    return int(layer[len("block")])


def layer_index(layer: str) -> int:
    """0-based position of a conv layer in network order."""
    return CONV_LAYER_NAMES.index(layer)


def pools_before(layer: str) -> int:
    """How many 2x2 poolings sit between the input and this conv layer."""
    return block_of(layer) - 1


def feature_map_size(layer: str, image_size: int) -> int:
    """Spatial size of a conv layer's output for a square input ('same' convs, 'valid' pools)."""
    size = image_size
    for _ in range(pools_before(layer)):
        size //= 2
    return size


def receptive_field(layer: str) -> int:
    """Receptive field in input pixels of one unit of a conv layer (3x3 convs, 2x2/2 pools)."""
    field, jump = 1, 1
    for name in CONV_LAYER_NAMES[: layer_index(layer) + 1]:
        if name.endswith("conv1") and name != "block1_conv1":
            # the pool in front of this block
            field += (2 - 1) * jump
            jump *= 2
        field += (3 - 1) * jump
    return field


def field_offset(layer: str) -> int:
    """How many input pixels the receptive field of map position 0 reaches before pixel 0.

    Each 3x3 'same' conv widens the field by one unit of its input on either side (its zero
    padding); a 2x2/2 pool widens it on the right only. In input pixels, a conv after n
    poolings adds 2**n on the left.
    """
    offset, jump = 0, 1
    for name in CONV_LAYER_NAMES[: layer_index(layer) + 1]:
        if name.endswith("conv1") and name != "block1_conv1":
            jump *= 2  # the pool in front of this block
        offset += jump
    return offset


def receptive_box(layer: str, y: int, x: int, height: int, width: int) -> tuple[int, int, int, int]:
    """The input crop [x0, y0, x1, y1) that map position (y, x) of `layer` sees, clamped to a
    `height` x `width` input; x1 and y1 are exclusive, as PIL's Image.crop takes them.

    Unclamped, the crop is receptive_field(layer) px wide and centred on
    (2**n * x + (2**n - 1) / 2) after n poolings.
    """
    stride, size, offset = 2 ** pools_before(layer), receptive_field(layer), field_offset(layer)
    x0, y0 = stride * x - offset, stride * y - offset
    return max(0, x0), max(0, y0), min(width, x0 + size), min(height, y0 + size)


def conv_flops_per_image(layer: str, image_size: int) -> float:
    """Multiply-add FLOPs (2 per MAC) of the forward pass from the input up to `layer`."""
    flops = 0.0
    in_channels = 3
    for name, channels in CONV_LAYERS[: layer_index(layer) + 1]:
        size = feature_map_size(name, image_size)
        flops += 2.0 * size * size * 9 * in_channels * channels
        in_channels = channels
    return flops
