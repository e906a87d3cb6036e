"""Benchmark 1: SDK overhead. ``contacts.get`` through ``QualtricsClient`` versus the same requests
with a bare ``aiohttp.ClientSession`` plus ``json()`` (the physical floor of our stack).

The fake Qualtrics runs in a child process (one core for it, one for the client). Every side uses
32 worker tasks pulling the next contact id from a shared iterator, one session each, and rounds
rotate between the sides so machine noise falls on all of them. The SDK side returns typed
``Contact`` models (retries, hooks, redaction, envelope checks all active, as a user gets them);
a third side, ``client.request``, measures the transport without the typed model. Target: SDK
wall time within 1.15x of bare aiohttp.

Run: ``python -m benchmarks.sdk_overhead [--quick] [--profile]``
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import pstats
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp

from qualtrics_sdk import QualtricsClient

from ._common import Report, Target, bench_main, best_of, fmt_int, fmt_ratio, median
from ._fake_server import FakeProcess

CONCURRENCY = 32
TARGET_RATIO = 1.15


Timing = tuple[float, float]


async def _workers(ids: Sequence[str], one: Callable[[str], Awaitable[Any]]) -> Timing:
    """Run ``one(id)`` for every id with CONCURRENCY workers; return (wall, client CPU) seconds."""
    pending = iter(ids)

    async def worker() -> None:
        for contact_id in pending:
            await one(contact_id)

    started, cpu_started = time.perf_counter(), _user_cpu()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, _user_cpu() - cpu_started


def _user_cpu() -> float:
    """User-mode CPU seconds of this process: the Python work of the client, without the
    kernel's loopback send/receive time (which depends on whether the fake is busy or idle)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


async def bare_round(fake: FakeProcess, ids: Sequence[str]) -> Timing:
    """The floor: aiohttp GET + ``json()``, nothing else."""
    base = f"{fake.base_url}/API/v3/directories/{fake.directory_id}/contacts/"
    headers = {"X-API-TOKEN": fake.api_token}
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(contact_id: str) -> Any:
            async with session.get(base + contact_id, headers=headers) as response:
                response.raise_for_status()
                return (await response.json())["result"]

        await one(ids[0])  # connect once, like the SDK side's warm-up
        return await _workers(ids, one)


async def sdk_round(fake: FakeProcess, ids: Sequence[str]) -> Timing:
    """The SDK: ``client.contacts.get`` returning a typed ``Contact``."""
    async with QualtricsClient(
        api_token=fake.api_token, base_url=fake.base_url, max_concurrency=CONCURRENCY
    ) as client:
        directory = fake.directory_id

        async def one(contact_id: str) -> Any:
            return await client.contacts.get(directory, contact_id)

        await one(ids[0])
        return await _workers(ids, one)


async def transport_round(fake: FakeProcess, ids: Sequence[str]) -> Timing:
    """The SDK's transport alone: ``client.request`` returns the decoded ``result`` dict (retries,
    budget, concurrency cap, envelope checks and typed errors, but no model)."""
    async with QualtricsClient(
        api_token=fake.api_token, base_url=fake.base_url, max_concurrency=CONCURRENCY
    ) as client:
        prefix = f"/directories/{fake.directory_id}/contacts/"

        async def one(contact_id: str) -> Any:
            return await client.request("GET", prefix + contact_id)

        await one(ids[0])
        return await _workers(ids, one)


SIDES = (bare_round, transport_round, sdk_round)


async def measure(count: int, rounds: int) -> list[list[Timing]]:
    """Rotate bare, transport-only and SDK rounds of ``count`` gets; one timing list per side."""
    timings: list[list[Timing]] = [[] for _ in SIDES]
    with FakeProcess(contacts=min(count, 2_000)) as fake:
        seeded = fake.contact_ids
        ids = [seeded[i % len(seeded)] for i in range(count)]
        for side in SIDES:  # warm every path up
            await side(fake, ids[: CONCURRENCY * 4])
        for index in range(rounds):
            # rotate which side goes first, so drift over the run falls on every side
            for offset in range(len(SIDES)):
                which = (index + offset) % len(SIDES)
                timings[which].append(await SIDES[which](fake, ids))
    return timings


async def run(quick: bool) -> Report:
    """Measure and report requests/s, the SDK / bare wall-time ratio and client CPU per request."""
    count, rounds = (500, 2) if quick else (5_000, 8)
    bare_t, transport_t, sdk_t = await measure(count, rounds)
    bare, sdk = [w for w, _ in bare_t], [w for w, _ in sdk_t]
    bare_cpu, sdk_cpu = [c for _, c in bare_t], [c for _, c in sdk_t]
    transport, transport_cpu = [w for w, _ in transport_t], [c for _, c in transport_t]
    ratio_best = best_of(sdk) / best_of(bare)
    transport_ratio = best_of(transport) / best_of(bare)
    ratio_median = median([s / b for s, b in zip(sdk, bare, strict=True)])
    cpu_ratio = best_of(sdk_cpu) / best_of(bare_cpu)
    rows = []
    for label, wall, cpu, ratio in (
        ("bare aiohttp + json()", bare, bare_cpu, 1.0),
        ("client.request (transport, no model)", transport, transport_cpu, transport_ratio),
        ("QualtricsClient.contacts.get", sdk, sdk_cpu, ratio_best),
    ):
        rows.append(
            [
                label,
                f"{best_of(wall):.3f}",
                f"{median(wall):.3f}",
                fmt_int(count / best_of(wall)),
                fmt_ratio(ratio),
                f"{best_of(cpu) / count * 1e6:.0f}",
            ]
        )
    return Report(
        name="sdk_overhead",
        title=(
            f"SDK overhead: {count:,} contacts.get at concurrency {CONCURRENCY}, "
            f"{rounds} rotating rounds per side, fake in a child process"
        ),
        headers=[
            "client",
            "best s",
            "median s",
            "req/s (best)",
            "wall vs bare",
            "client user CPU us/req",
        ],
        rows=rows,
        figures={
            "bare_best_s": best_of(bare),
            "sdk_best_s": best_of(sdk),
            "bare_req_per_s": count / best_of(bare),
            "sdk_req_per_s": count / best_of(sdk),
            "ratio_best": ratio_best,
            "transport_ratio_best": transport_ratio,
            "ratio_median_of_pairs": ratio_median,
            "bare_cpu_us_per_req": best_of(bare_cpu) / count * 1e6,
            "sdk_cpu_us_per_req": best_of(sdk_cpu) / count * 1e6,
            "cpu_ratio": cpu_ratio,
        },
        targets=[
            Target(
                f"SDK wall time within {TARGET_RATIO}x of bare aiohttp (best rounds)",
                ratio_best <= TARGET_RATIO,
            )
        ],
        notes=[
            f"median of per-round SDK/bare wall ratios: {ratio_median:.2f}x",
            f"transport alone (client.request, no typed model) vs bare: {transport_ratio:.2f}x",
            f"client user-mode CPU per request, SDK vs bare (best rounds): {cpu_ratio:.2f}x",
        ],
        quick=quick,
    )


def profile(count: int) -> str:
    """cProfile of the SDK side only (client process; the fake runs elsewhere)."""

    async def go() -> None:
        with FakeProcess(contacts=min(count, 2_000)) as fake:
            seeded = fake.contact_ids
            ids = [seeded[i % len(seeded)] for i in range(count)]
            await sdk_round(fake, ids[:64])
            profiler.enable()
            await sdk_round(fake, ids)
            profiler.disable()

    profiler = cProfile.Profile()
    asyncio.run(go())
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.sdk_overhead``; ``--profile`` prints cProfile."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--profile" in args:
        args.remove("--profile")
        print(profile(500 if "--quick" in args else 5_000))
        return 0
    return bench_main(run, __doc__ or "", args)


if __name__ == "__main__":
    raise SystemExit(main())
