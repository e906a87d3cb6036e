"""Benchmark 3: delivery time under Qualtrics' rate limit (3,000 requests per minute per brand).

The delivery-cost workload (10,000 track events, 2,000 new users) against an in-process fake that
enforces the limit on a sped-up clock (``FakeClock(speed=8)``: 8 simulated seconds per real
second; ``Retry-After`` is sent in real seconds). Reported: simulated minutes to deliver everything,
429 answers, and our achieved request rate as a fraction of the limit.

* baseline: the hosted destination's algorithm, unpaced; on 429 it waits ``Retry-After`` and retries
  (kinder than Segment, which retries the whole event later), retry budget off, 10 retries; events
  still failing after that are counted as "events without transaction" (Segment would redeliver
  them later);
* ours, paced: ``settings.rateLimit`` = the limit (50/s, scaled by the clock speed because time is
  compressed), as a user configures it;
* ours, unpaced: no client-side pacing, relying on ``Retry-After`` alone.

Targets: ours (paced) at least 0.9 of the limit, no 429 storm (429s under 1% of calls), nothing
lost (one transaction per event, one contact per user, checked in the fake's state).

Run: ``python -m benchmarks.rate_limited_delivery [--quick]``
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from qualtrics_sdk import RetryPolicy
from qualtrics_sdk.testing import FakeClock, FakeQualtrics
from segment_adapter.destination import QualtricsDestination

from ._common import Report, Target, bench_main, eprint
from ._workload import HostedBaseline, destination_config, make_events
from .delivery_cost import BATCH, check_state


async def run_ours(
    events: Sequence[dict[str, Any]], users: int, limit: int, speed: float, paced: bool
) -> dict[str, float]:
    """Our destination against a rate-limited fake."""
    fake = FakeQualtrics(
        record_requests=False, clock=FakeClock(speed=speed), rate_limit_per_minute=limit
    )
    async with fake:
        settings: dict[str, Any] = {"rateLimit": limit / 60 * speed} if paced else {}
        config = destination_config(
            fake.base_url,
            fake.api_token,
            fake.default_directory_id,
            fake.default_mailing_list_id,
            **settings,
        )
        started = time.perf_counter()
        async with QualtricsDestination.from_config(config) as destination:
            for start in range(0, len(events), BATCH):
                await destination.send_batch(events[start : start + BATCH])
        elapsed = time.perf_counter() - started
        check_state(fake, len(events), users, "ours")
        stats = fake.stats
    return {
        "calls": stats.requests,
        "rate_limited": stats.rate_limited,
        "seconds": elapsed,
        "lost": 0.0,
    }


async def run_baseline(
    events: Sequence[dict[str, Any]], users: int, limit: int, speed: float
) -> dict[str, float]:
    """The hosted algorithm against a rate-limited fake."""
    fake = FakeQualtrics(
        record_requests=False, clock=FakeClock(speed=speed), rate_limit_per_minute=limit
    )
    async with fake:
        started = time.perf_counter()
        policy = RetryPolicy(max_retries=10)
        async with fake.client(retry_policy=policy, retry_budget=None) as client:
            baseline = HostedBaseline(
                client, fake.default_directory_id, fake.default_mailing_list_id
            )
            await baseline.send_all(events)
        elapsed = time.perf_counter() - started
        # Not fatal here: events still failing after 10 retries are what Segment would have to
        # redeliver later; they are reported as "failed after retries".
        lost = len(events) - len(fake.transactions())
        stats = fake.stats
    return {
        "calls": stats.requests,
        "rate_limited": stats.rate_limited,
        "seconds": elapsed,
        "lost": float(lost),
    }


async def run(quick: bool) -> Report:
    """Baseline, ours paced, ours unpaced; simulated minutes and rate as a fraction of the limit."""
    count, users, limit, speed = (1_000, 200, 600, 60.0) if quick else (10_000, 2_000, 3_000, 8.0)
    events = make_events(count, users)
    sides = {}
    eprint("rate_limited_delivery: baseline")
    sides["hosted algorithm"] = await run_baseline(events, users, limit, speed)
    eprint("rate_limited_delivery: ours, paced")
    sides["ours, paced (rateLimit)"] = await run_ours(events, users, limit, speed, paced=True)
    eprint("rate_limited_delivery: ours, unpaced")
    sides["ours, unpaced"] = await run_ours(events, users, limit, speed, paced=False)
    rows = []
    figures: dict[str, float] = {}
    for label, got in sides.items():
        minutes = got["seconds"] * speed / 60
        admitted = got["calls"] - got["rate_limited"]
        fraction = admitted / minutes / limit
        rows.append(
            [
                label,
                f"{minutes:.2f}",
                f"{got['calls']:,.0f}",
                f"{got['rate_limited']:,.0f}",
                f"{fraction:.2f}",
                f"{got['lost']:,.0f}",
            ]
        )
        key = {"hosted algorithm": "baseline", "ours, paced (rateLimit)": "ours"}.get(
            label, "ours_unpaced"
        )
        figures[f"{key}_simulated_minutes"] = minutes
        figures[f"{key}_calls"] = got["calls"]
        figures[f"{key}_429s"] = got["rate_limited"]
        figures[f"{key}_rate_fraction_of_limit"] = fraction
        figures[f"{key}_lost"] = got["lost"]
    ours_fraction = figures["ours_rate_fraction_of_limit"]
    storm = figures["ours_429s"] > 0.01 * figures["ours_calls"]
    figures["speedup"] = figures["baseline_simulated_minutes"] / figures["ours_simulated_minutes"]
    return Report(
        name="rate_limited_delivery",
        title=(
            f"Delivery under a {limit:,}/min limit: {count:,} events, {users:,} new users, "
            f"clock x{speed:g}"
        ),
        headers=[
            "side",
            "simulated min",
            "calls",
            "429s",
            "rate / limit",
            "events without transaction",
        ],
        rows=rows,
        figures=figures,
        targets=[
            Target("ours (paced) at >= 0.9 of the limit", ours_fraction >= 0.9),
            Target("ours (paced): no 429 storm (429s < 1% of calls)", not storm),
            Target("ours: nothing lost (one transaction per event, one contact per user)", True),
        ],
        notes=[
            f"ours delivers {figures['speedup']:.1f}x sooner than the hosted algorithm",
            "rate / limit = admitted requests per simulated minute / limit; a run shorter than "
            "one window can exceed 1.0 (the window admits a burst)",
        ],
        quick=quick,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.rate_limited_delivery``."""
    return bench_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    raise SystemExit(main())
