"""`python -m generator` is the `vgg-gallery` command."""

from .cli import main

raise SystemExit(main())
