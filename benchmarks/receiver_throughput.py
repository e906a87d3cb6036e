"""Benchmark 5: throughput and latency of the webhook receiver, ``qualtrics-segment serve``.

Three processes on 127.0.0.1: a fake Qualtrics answering immediately (no rate limit), the receiver
(``python -m segment_adapter serve --config ... --port 0``), and this process as the load
generator: 64 concurrent connections, each POSTing one event per request as Segment's Webhooks
destination does, 20,000 events in all (2,000 in quick mode), ``track`` "Order Completed" events
of 4,000 users. Every answer must be 200 (delivered). Reported: events/s and p50/p99 latency.

Run: ``python -m benchmarks.receiver_throughput [--quick]``
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import IO, Any

import aiohttp

from ._common import Report, Target, bench_main, eprint, fmt_int, percentile
from ._fake_server import FakeProcess
from ._workload import destination_config, make_events

CONNECTIONS = 64
REQUEST_TIMEOUT = 30.0
START_TIMEOUT = 30.0
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def write_config(path: str, fake: FakeProcess) -> str:
    """The destination config for the workload, pointed at ``fake``; returns ``path``."""
    config = destination_config(
        fake.base_url, fake.api_token, fake.directory_id, fake.mailing_list_id
    )
    with open(path, "w", encoding="utf-8") as out:
        json.dump(config, out)
    return path


def start_receiver(config_path: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``qualtrics-segment serve`` on a free loopback port; return it and its URL."""
    env = {k: v for k, v in os.environ.items() if k != "SEGMENT_SHARED_SECRET"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "segment_adapter",
            "serve",
            "--config",
            config_path,
            "--host",
            "127.0.0.1",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = _LISTENING.search(line)
        if found:
            # Keep draining its output (access log lines): a full pipe would block the server.
            threading.Thread(target=_drain, args=(proc.stdout,), daemon=True).start()
            return proc, found.group(1)
    stop_receiver(proc)
    raise RuntimeError("the receiver did not start: " + "".join(seen)[-2000:])


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


def stop_receiver(proc: subprocess.Popen[str]) -> None:
    """SIGTERM (graceful shutdown), then wait; kill only if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def load(
    url: str, events: Sequence[dict[str, Any]]
) -> tuple[float, list[float], dict[int, int]]:
    """POST every event with CONNECTIONS workers; return wall time, latencies, status counts."""
    bodies = [json.dumps(event).encode() for event in events]
    pending = iter(bodies)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    headers = {"Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            for body in pending:
                started = time.perf_counter()
                async with session.post(url + "/", data=body, headers=headers) as response:
                    await response.read()
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONNECTIONS)))
        wall = time.perf_counter() - started
    return wall, latencies, statuses


async def run(quick: bool) -> Report:
    """Start fake and receiver, warm up, load, stop; report events/s and latency."""
    count = 2_000 if quick else 20_000
    events = make_events(count + 200, max(count // 5, 200), seed=11)
    warmup, measured = events[:200], events[200:]
    with FakeProcess() as fake, tempfile.TemporaryDirectory() as tmp:
        config_path = write_config(os.path.join(tmp, "config.json"), fake)
        proc, url = start_receiver(config_path)
        try:
            eprint(f"receiver_throughput: receiver at {url}; warming up")
            await load(url, warmup)
            eprint(f"receiver_throughput: {count:,} events over {CONNECTIONS} connections")
            wall, latencies, statuses = await load(url, measured)
        finally:
            stop_receiver(proc)
    ok = statuses.get(200, 0)
    p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
    rate = count / wall
    return Report(
        name="receiver_throughput",
        title=(
            f"Receiver throughput: {count:,} single-event POSTs, {CONNECTIONS} connections, "
            "fake Qualtrics answering immediately (3 processes, 2 cores)"
        ),
        headers=["events", "wall s", "events/s", "p50 ms", "p99 ms", "answers"],
        rows=[
            [
                f"{count:,}",
                f"{wall:.2f}",
                fmt_int(rate),
                f"{p50:.1f}",
                f"{p99:.1f}",
                ", ".join(f"{status}: {n:,}" for status, n in sorted(statuses.items())),
            ]
        ],
        figures={
            "events_per_s": rate,
            "p50_ms": p50,
            "p99_ms": p99,
            "ok": ok,
            "wall_s": wall,
        },
        targets=[Target("every event answered 200 (delivered)", ok == count)],
        notes=["issue 7 sets no numeric target for the receiver; the figures are the result"],
        quick=quick,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.receiver_throughput``."""
    return bench_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    raise SystemExit(main())
