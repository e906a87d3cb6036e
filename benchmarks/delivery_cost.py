"""Benchmark 2: Qualtrics API calls per 1,000 events, our destination versus the hosted algorithm.

Workload (``benchmarks/_workload.py``): 10,000 ``track`` "Order Completed" events from 2,000
distinct users, realistic properties, no ``contactId``. Two scenarios: the users are new to the
directory, and the users already exist in it. Each side gets a fresh in-process fake Qualtrics,
whose request counter is the number of API calls; its state is checked afterwards (one transaction
per event, one contact per user). Ours receives the events in batches of 1,000 (as a webhook
batch); the baseline sends them one by one, 32 at a time. Target: at least 10x fewer calls.

Run: ``python -m benchmarks.delivery_cost [--quick]``
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from qualtrics_sdk.testing import FakeQualtrics
from segment_adapter.destination import QualtricsDestination

from ._common import Report, Target, bench_main, eprint, fmt_ratio
from ._workload import HostedBaseline, destination_config, make_events, user_traits

TARGET_RATIO = 10.0
BATCH = 1_000


def seed_users(fake: FakeQualtrics, users: int) -> None:
    """Put every user of the workload in the directory already."""
    fake.add_contacts(
        {
            "email": traits["email"],
            "phone": traits["phone"],
            "first_name": traits["firstName"],
            "last_name": traits["lastName"],
            "ext_ref": f"user-{user}",
            "language": "EN",
        }
        for user in range(users)
        for traits in (user_traits(user),)
    )


def check_state(fake: FakeQualtrics, events: int, users: int, side: str) -> None:
    """Nothing lost, nothing doubled: one transaction per event, one contact per user."""
    transactions = len(fake.transactions())
    contacts = len(fake.contacts())
    if transactions != events or contacts != users:
        raise RuntimeError(
            f"{side}: fake holds {transactions} transactions for {events} events and "
            f"{contacts} contacts for {users} users"
        )


async def run_ours(
    events: Sequence[dict[str, Any]], users: int, existing: bool, **settings: Any
) -> dict[str, float]:
    """Deliver through ``QualtricsDestination.send_batch``; return calls, 429s, seconds."""
    async with FakeQualtrics(record_requests=False) as fake:
        if existing:
            seed_users(fake, users)
        config = destination_config(
            fake.base_url,
            fake.api_token,
            fake.default_directory_id,
            fake.default_mailing_list_id,
            **settings,
        )
        started = time.perf_counter()
        failed = 0
        async with QualtricsDestination.from_config(config) as destination:
            for start in range(0, len(events), BATCH):
                results = await destination.send_batch(events[start : start + BATCH])
                failed += sum(1 for result in results if result.status != "delivered")
        elapsed = time.perf_counter() - started
        if failed:
            raise RuntimeError(f"ours: {failed} events not delivered")
        check_state(fake, len(events), users, "ours")
        stats = fake.stats
    return {"calls": stats.requests, "rate_limited": stats.rate_limited, "seconds": elapsed}


async def run_baseline(
    events: Sequence[dict[str, Any]], users: int, existing: bool
) -> dict[str, float]:
    """Deliver with the hosted destination's algorithm; return calls, 429s, seconds."""
    async with FakeQualtrics(record_requests=False) as fake:
        if existing:
            seed_users(fake, users)
        started = time.perf_counter()
        async with fake.client() as client:
            baseline = HostedBaseline(
                client, fake.default_directory_id, fake.default_mailing_list_id
            )
            await baseline.send_all(events)
        elapsed = time.perf_counter() - started
        if baseline.failed:
            raise RuntimeError(f"baseline: {baseline.failed} events failed")
        check_state(fake, len(events), users, "baseline")
        stats = fake.stats
    return {"calls": stats.requests, "rate_limited": stats.rate_limited, "seconds": elapsed}


async def run(quick: bool) -> Report:
    """Both scenarios, both sides; calls per 1,000 events and the ratio."""
    count, users = (1_000, 200) if quick else (10_000, 2_000)
    events = make_events(count, users)
    rows = []
    figures: dict[str, float] = {}
    met = True
    for scenario, existing in (("new users", False), ("existing users", True)):
        eprint(f"delivery_cost: {scenario}: baseline")
        base = await run_baseline(events, users, existing)
        eprint(f"delivery_cost: {scenario}: ours")
        ours = await run_ours(events, users, existing)
        base_per_k = base["calls"] * 1000 / count
        ours_per_k = ours["calls"] * 1000 / count
        ratio = base_per_k / ours_per_k
        met = met and ratio >= TARGET_RATIO
        rows.append(
            [
                scenario,
                f"{base_per_k:,.0f}",
                f"{ours_per_k:,.1f}",
                fmt_ratio(ratio),
                f"{base['seconds']:.1f} / {ours['seconds']:.1f}",
            ]
        )
        prefix = "" if not existing else "existing_"
        figures[f"{prefix}baseline_calls_per_1000"] = base_per_k
        figures[f"{prefix}ours_calls_per_1000"] = ours_per_k
        figures[f"{prefix}ratio"] = ratio
    return Report(
        name="delivery_cost",
        title=(
            f"Delivery cost: {count:,} track events, {users:,} users, no contactId "
            "(Qualtrics API calls counted by the fake)"
        ),
        headers=[
            "scenario",
            "hosted calls/1k events",
            "ours calls/1k events",
            "fewer calls",
            "wall s (hosted / ours)",
        ],
        rows=rows,
        figures=figures,
        targets=[Target(f"at least {TARGET_RATIO:.0f}x fewer calls (both scenarios)", met)],
        notes=["state checked: one transaction per event and one contact per user on both sides"],
        quick=quick,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.delivery_cost``."""
    return bench_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    raise SystemExit(main())
