"""VGG16 filter gallery: activation-maximization images for every conv layer, as a static site."""

__version__ = "0.1.0"
