"""Stage 3: the methods that make the maximizing images, as plug-ins (see `base.Method` and `registry`)."""
