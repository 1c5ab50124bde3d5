"""Stage 1b: the work, planned from the manifest alone: units of (layer, method, chunk of filters),
their estimated cost, and a balanced assignment of units to shards."""
