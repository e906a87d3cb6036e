"""Benchmark 4: memory of streaming contacts with ``async for`` versus collecting them into a list.

A fake Qualtrics (child process) holds 100,000 contacts. For each N in 10k/50k/100k and each mode,
a fresh child process lists the first N contacts through ``client.contacts.list()``:

* ``stream``: ``async for contact in client.contacts.list(...)`` (each contact dropped after use);
* ``collect``: ``await client.contacts.list(...).collect(limit=N)`` (all kept in a list).

The child records its RSS after a warm-up page (client, session and converter ready) and its peak
RSS (``VmHWM``) at the end; the difference is the peak growth caused by the N contacts. Each
measurement runs in its own process so peaks never mix. Target: streaming growth flat (independent
of N) and under 20 MB.

Run: ``python -m benchmarks.memory_streaming [--quick]``
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
from collections.abc import Sequence

from qualtrics_sdk import QualtricsClient

from ._common import Report, Target, bench_main, eprint
from ._fake_server import FakeProcess

TARGET_MB = 20.0
PAGE_SIZE = 100


def _rss_mb() -> float:
    """Current resident set size in MB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        pages = int(statm.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    """Peak resident set size of this process image so far, in MB (``VmHWM``).

    Not ``ru_maxrss``: Linux carries that over from the parent across fork and exec, so a child
    started by a parent that once used more memory would report the parent's peak.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


async def _child(
    mode: str, count: int, base_url: str, token: str, directory: str
) -> dict[str, float]:
    async with QualtricsClient(api_token=token, base_url=base_url) as client:
        await client.contacts.list(directory, page_size=PAGE_SIZE).first_page()  # warm up
        before = _rss_mb()
        seen = 0
        if mode == "stream":
            async for _contact in client.contacts.list(directory, page_size=PAGE_SIZE):
                seen += 1
                if seen >= count:
                    break
        else:
            kept = await client.contacts.list(directory, page_size=PAGE_SIZE).collect(limit=count)
            seen = len(kept)
        peak = _peak_mb()
    return {"seen": seen, "rss_before_mb": before, "peak_mb": peak, "growth_mb": peak - before}


def measure_in_child(mode: str, count: int, fake: FakeProcess) -> dict[str, float]:
    """Run one measurement in a fresh interpreter and return its figures."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.memory_streaming",
            "--child",
            mode,
            str(count),
            fake.base_url,
            fake.api_token,
            fake.directory_id,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    if figures["seen"] != count:
        raise RuntimeError(f"{mode} saw {figures['seen']} contacts, expected {count}")
    return figures


def run(quick: bool) -> Report:
    """Measure stream and collect at each size, each in its own process."""
    sizes = (1_000, 5_000) if quick else (10_000, 50_000, 100_000)
    rows = []
    figures: dict[str, float] = {}
    eprint(f"memory_streaming: seeding {max(sizes):,} contacts in the fake")
    with FakeProcess(contacts=max(sizes)) as fake:
        for count in sizes:
            got = {mode: measure_in_child(mode, count, fake) for mode in ("stream", "collect")}
            rows.append(
                [
                    f"{count:,}",
                    f"{got['stream']['growth_mb']:.1f}",
                    f"{got['collect']['growth_mb']:.1f}",
                    f"{got['stream']['rss_before_mb']:.1f}",
                ]
            )
            for mode, values in got.items():
                figures[f"{mode}_{count}_growth_mb"] = values["growth_mb"]
    stream = [figures[f"stream_{n}_growth_mb"] for n in sizes]
    collect_largest = figures[f"collect_{max(sizes)}_growth_mb"]
    flat = max(stream) - min(stream) < 5.0
    under = max(stream) < TARGET_MB
    figures["stream_max_growth_mb"] = max(stream)
    return Report(
        name="memory_streaming",
        title=f"Memory: contacts.list() pages of {PAGE_SIZE}, peak RSS growth per process",
        headers=["contacts", "stream MB", "collect MB", "RSS at start MB"],
        rows=rows,
        figures=figures,
        targets=[
            Target(f"streaming growth under {TARGET_MB:.0f} MB at every N", under),
            Target("streaming growth flat (max - min < 5 MB across N)", flat),
        ],
        notes=[
            f"collecting {max(sizes):,} contacts grew RSS by {collect_largest:.1f} MB "
            f"(about {collect_largest * 2**20 / max(sizes):.0f} bytes per Contact)"
        ],
        quick=quick,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.memory_streaming``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--child"]:
        mode, count, base_url, token, directory = args[1:6]
        figures = asyncio.run(_child(mode, int(count), base_url, token, directory))
        print(json.dumps(figures))
        return 0
    return bench_main(run, __doc__ or "", args)


if __name__ == "__main__":
    raise SystemExit(main())
