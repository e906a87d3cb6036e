"""Cancelling tasks mid-request and mid-retry releases every connection and concurrency slot,
and never leaves a half-recorded ledger entry."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from reliability_support import report

from qualtrics_sdk import QualtricsClient, RetryPolicy
from qualtrics_sdk.testing import FakeQualtrics


def _connector(client: QualtricsClient) -> aiohttp.BaseConnector:
    session = client.session
    assert session is not None
    assert session.connector is not None
    return session.connector


def _acquired(client: QualtricsClient) -> int:
    return len(_connector(client)._acquired)


async def _until(condition: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


async def test_cancelling_mid_request_and_mid_retry_releases_connections() -> None:
    cancelled_in_flight = cancelled_in_backoff = 0
    async with FakeQualtrics(seed=4) as fake:
        client = fake.client(
            max_concurrency=2,
            retry_policy=RetryPolicy(max_retries=5, initial_delay=30.0, max_delay=30.0),
        )
        async with client:
            await client.whoami()  # the session and its connector exist from here on
            # 1. in flight: the fake holds each request for 10 s; cancel while it waits
            held = fake.faults.delay(10.0, times=None, path="/API/v3/whoami")
            for _ in range(6):
                seen = held.fired
                task = asyncio.ensure_future(client.whoami())
                await _until(lambda seen=seen: held.fired > seen)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                cancelled_in_flight += 1
            fake.faults.clear()
            # 2. in backoff: the first attempt gets a 500, the retry sleeps 30 s; cancel then
            fake.faults.fail(500, times=None, path="/API/v3/directories")
            for _ in range(6):
                seen = len(fake.requests(path="/API/v3/directories"))
                listing = asyncio.ensure_future(client.directories.list().collect())
                await _until(
                    lambda seen=seen: len(fake.requests(path="/API/v3/directories")) > seen
                )
                await asyncio.sleep(0.05)  # the 500 arrived; the retry is sleeping now
                listing.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await listing
                cancelled_in_backoff += 1
            fake.faults.clear()
            acquired_after_cancel = _acquired(client)
            # the two concurrency slots were given back: more calls than slots still complete
            results = await asyncio.wait_for(
                asyncio.gather(*(client.whoami() for _ in range(5))), timeout=10
            )
            acquired_after_calls = _acquired(client)
            connector = _connector(client)
        open_after_close = 0 if connector.closed else len(connector._conns)
    figures = report(
        "cancellation (SDK)",
        cancelled_in_flight=cancelled_in_flight,
        cancelled_in_backoff=cancelled_in_backoff,
        acquired_after_cancel=acquired_after_cancel,
        calls_after_cancel=len(results),
        acquired_after_calls=acquired_after_calls,
        connector_closed=connector.closed,
        open_connections_after_close=open_after_close,
    )
    assert acquired_after_cancel == 0, figures
    assert acquired_after_calls == 0, figures
    assert len(results) == 5, figures
    assert connector.closed, figures
    assert open_after_close == 0, figures


async def test_cancelling_many_concurrent_writes_leaks_nothing() -> None:
    async with FakeQualtrics(seed=5) as fake:
        client = fake.client(max_concurrency=4)
        async with client:
            await client.whoami()
            held = fake.faults.delay(10.0, times=None, method="POST")
            tasks = [
                asyncio.ensure_future(
                    client.contacts.create(fake.default_directory_id, email=f"c{n}@example.com")
                )
                for n in range(40)
            ]
            await _until(lambda: held.fired >= 4)
            for task in tasks:
                task.cancel()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            fake.faults.clear()
            acquired = _acquired(client)
            after = await client.whoami()
            connector = _connector(client)
    cancelled = sum(isinstance(o, asyncio.CancelledError) for o in outcomes)
    figures = report(
        "cancellation (40 concurrent writes)",
        cancelled=cancelled,
        acquired_after_cancel=acquired,
        whoami_after=bool(after),
        connector_closed=connector.closed,
    )
    assert cancelled == 40, figures
    assert acquired == 0, figures
    assert connector.closed, figures
