"""Shared helpers for the benchmarks: the report type, table printing and the command line."""

from __future__ import annotations

import argparse
import asyncio
import gc
import inspect
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Report",
    "Target",
    "bench_main",
    "best_of",
    "fmt_int",
    "fmt_ratio",
    "percentile",
    "timed",
]


@dataclass
class Target:
    """One target from issue 7 and whether this run met it."""

    description: str
    met: bool


@dataclass
class Report:
    """What a benchmark measured: a table for humans and named figures for machines."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    figures: dict[str, float] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quick: bool = False

    def render(self) -> str:
        """The report as a plain-text table followed by targets and notes."""
        widths = [
            max(len(str(cell)) for cell in column)
            for column in zip(self.headers, *self.rows, strict=True)
        ]
        mode = " (quick mode: figures are indicative only)" if self.quick else ""
        lines = [f"== {self.title}{mode}"]
        lines.append("  ".join(h.ljust(w) for h, w in zip(self.headers, widths, strict=True)))
        lines.append("  ".join("-" * w for w in widths))
        for row in self.rows:
            cells = (
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
            lines.append("  ".join(cells).rstrip())
        for target in self.targets:
            lines.append(f"target: {target.description}: {'MET' if target.met else 'NOT MET'}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Figures, targets and the table, JSON-ready."""
        return {
            "name": self.name,
            "quick": self.quick,
            "figures": self.figures,
            "targets": [{"description": t.description, "met": t.met} for t in self.targets],
            "headers": self.headers,
            "rows": self.rows,
            "notes": self.notes,
        }


RunFn = Callable[[bool], "Report | Awaitable[Report]"]


def run_report(run: RunFn, quick: bool) -> Report:
    """Call a benchmark's ``run`` (sync or async) and return its report."""
    result = run(quick)
    if inspect.isawaitable(result):
        return asyncio.run(_await(result))
    return result


async def _await(awaitable: Awaitable[Report]) -> Report:
    return await awaitable


def bench_main(run: RunFn, description: str, argv: Sequence[str] | None = None) -> int:
    """Command line of one benchmark: ``--quick`` for the CI-sized run, ``--json FILE`` to save."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes, runs in seconds")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    report = run_report(run, args.quick)
    print(report.render(), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report.to_json(), out, indent=2)
    return 0


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (garbage collection run before, not during)."""
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def best_of(samples: Sequence[float]) -> float:
    """The fastest sample: the least disturbed by the machine's other work."""
    return min(samples)


def percentile(samples: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of ``samples``, by nearest rank."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(samples: Sequence[float]) -> float:
    """The median of ``samples``."""
    return statistics.median(samples)


def fmt_int(value: float) -> str:
    """``12345.6`` -> ``12,346``."""
    return f"{value:,.0f}"


def fmt_ratio(value: float) -> str:
    """``1.234`` -> ``1.23x``."""
    return f"{value:.2f}x"


def eprint(*parts: object) -> None:
    """Progress output on stderr, so stdout holds only the tables."""
    print(*parts, file=sys.stderr, flush=True)
