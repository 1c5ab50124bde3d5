"""What the command prints: the build's summary table, the plan of work units and shards, the site line."""

from __future__ import annotations

import json
from typing import Sequence

from .plan.shards import assign, balance, unit_flops
from .plan.units import Unit


def table(rows: list[tuple[str, ...]], left: tuple[int, ...]) -> str:
    """Aligned columns (`left` ones left-aligned, the others right-aligned), a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(w) if i in left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w if row[i] else " " * w for i, w in enumerate(widths)).rstrip())
    return "\n".join(lines)


def summary_table(reports) -> str:
    """The build's summary: one row per layer and method, numbers right-aligned."""
    rows = [("layer", "method", "filters", "dead", "diverged", "mean loss", "seconds", "")]
    for r in reports:
        rows.append((r.layer, r.method, str(r.filters), str(r.dead), str(r.diverged),
                     "—" if r.mean_loss is None else f"{r.mean_loss:,.2f}",
                     f"{r.seconds:,.1f}", "(cached)" if r.cached else ""))
    return table(rows, left=(0, 1, 7))


def plan_table(units: Sequence[Unit], shards: int) -> str:
    """Every unit with its cost and shard, then each shard's load and the balance (longest / mean)."""
    assigned = assign(units, unit_flops, shards)
    shard_of = {unit.name: k for k, members in enumerate(assigned, 1) for unit in members}
    rows = [("unit", "filters", "GFLOP", "shard")]
    rows += [(u.name, str(len(u.settings.filters)), f"{unit_flops(u) / 1e9:,.0f}", str(shard_of[u.name]))
             for u in units]
    loads = [("shard", "units", "GFLOP", "")]
    loads += [(f"{k}/{shards}", str(len(members)), f"{sum(map(unit_flops, members)) / 1e9:,.0f}", "")
              for k, members in enumerate(assigned, 1)]
    total = sum(map(unit_flops, units)) / 1e9
    return (f"{table(rows, left=(0,))}\n\n{table(loads, left=(0,))}\n\n"
            f"{len(units)} units, {total:,.0f} GFLOP in all; {shards} shards, "
            f"longest / mean = {balance(assigned, unit_flops):.3f}")


def plan_json(units: Sequence[Unit], shards: int) -> str:
    assigned = assign(units, unit_flops, shards)
    return json.dumps({
        "shards": shards,
        "balance": balance(assigned, unit_flops),
        "units": [{"name": u.name, "layer": u.layer, "method": u.method, "filters": list(u.settings.filters),
                   "flops": unit_flops(u), "shard": k} for k, members in enumerate(assigned, 1) for u in members],
    }, indent=1)


def site_line(report) -> str:
    missing = f"; not built yet: {', '.join(report.layers_missing)}" if report.layers_missing else ""
    return (f"site: {report.site_dir}/index.html ({report.layers_built} layers, {report.pages} pages, "
            f"{report.bytes / 1e6:.1f} MB{missing})")
