"""Dataset examples: the patches of real photos that excite (and most inhibit) each filter."""
