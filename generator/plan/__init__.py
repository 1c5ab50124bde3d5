"""The plan, priced by the methods and made from the manifest alone: work units of (layer, method,
chunk of filters), their estimated cost, and a balanced assignment of the units to shards."""
