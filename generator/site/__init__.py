"""Stage 6: the static site, rendered from the cache: typed page records, lessons, charts, the writer."""

from .output import MARKER, check_output_dir, remove_leftovers, site_lock
from .writer import SiteReport, render_site

__all__ = ["MARKER", "SiteReport", "check_output_dir", "remove_leftovers", "render_site", "site_lock"]
