"""Fault soak: nothing lost, nothing duplicated, while the fake Qualtrics misbehaves.

Seeded events (identify, "Transaction Created" tracks, tracks no subscription wants, invalid
ones, and repeats of earlier messageIds) go half through ``QualtricsDestination.send_batch`` and
half through the webhook receiver over HTTP, while the fake injects 10% 500s, 5% 429s with
Retry-After, 2% drops before processing, 2% drops after processing (the write happened) and 1%
answers slower than the client timeout. Every event whose answer was a retryable failure is
redelivered, as Segment does, until all are settled. Then the fake's state must be exactly the
expected one. ``RELIABILITY_LONG=1`` runs 20,000 events instead of 2,000.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections import Counter
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from reliability_support import LONG, report

from qualtrics_sdk import RetryPolicy
from qualtrics_sdk.testing import FakeQualtrics
from segment_adapter.destination import QualtricsDestination, Subscription
from segment_adapter.service import create_app

SEED = 20240808
EVENTS = 20_000 if LONG else 2_000
USERS = EVENTS // 25
MAX_ROUNDS = 40
REDELIVERY_PAUSE = 0.3  # seconds between redelivery rounds
BATCH = 50
RECEIVER_BATCH = 20


def _events(rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The events to send (with repeats) and each unique messageId's kind."""
    events: list[dict[str, Any]] = []
    kinds: dict[str, str] = {}
    for n in range(EVENTS):
        message_id = str(uuid.UUID(int=rng.getrandbits(128)))
        user = f"user-{rng.randrange(USERS)}"
        stamp = f"2024-05-{1 + n % 28:02d}T10:{n % 60:02d}:00Z"
        roll = rng.random()
        event: dict[str, Any]
        if roll < 0.30:
            kind = "identify"
            event = {
                "type": "identify",
                "userId": user,
                "traits": {"email": f"{user}@example.com", "firstName": user.title()},
            }
        elif roll < 0.90:
            kind = "transaction"
            event = {
                "type": "track",
                "event": "Transaction Created",
                "userId": user,
                "context": {"traits": {"email": f"{user}@example.com"}},
                "properties": {"order_id": message_id, "total": n % 997, "items": [n, "x"]},
            }
        elif roll < 0.95:
            kind = "skipped"
            event = {"type": "track", "event": "Page Scrolled", "userId": user}
        else:
            kind = "invalid"
            event = {"type": "track", "properties": {"no": "user, no event name"}}
        event.update({"messageId": message_id, "timestamp": stamp})
        kinds[message_id] = kind
        events.append(event)
        if rng.random() < 0.03:  # Segment sometimes delivers the same message twice
            events.append(json.loads(json.dumps(event)))
    return events, kinds


def _inject_faults(fake: FakeQualtrics, *, slow: bool = True) -> None:
    faults = fake.faults
    path = "/API/v3/**"
    faults.fail(500, path=path, times=None, probability=0.10)
    faults.fail(429, path=path, times=None, probability=0.05, retry_after=0.02)
    faults.drop_before(path=path, times=None, probability=0.02)
    faults.drop_after(path=path, times=None, probability=0.02)
    if slow:
        faults.delay(1.0, path=path, times=None, probability=0.01)


def _subscriptions(fake: FakeQualtrics) -> list[Subscription]:
    directory = fake.default_directory_id
    return [
        Subscription(name="contacts", action="addContactToXmd", mapping={"directoryId": directory}),
        Subscription(
            name="transactions",
            action="upsertContactTransaction",
            mapping={
                "directoryId": directory,
                "mailingListId": fake.default_mailing_list_id,
                "transactionData": {
                    "order": {"@path": "$.properties.order_id"},
                    "total": {"@path": "$.properties.total"},
                    "items": {"@path": "$.properties.items"},
                },
            },
        ),
    ]


class _Tally:
    def __init__(self) -> None:
        self.sent = 0
        self.redelivered = 0
        self.rounds = 0
        self.outcome: dict[str, str] = {}  # messageId -> delivered | skipped | invalid | failed
        self.acked_2xx: set[str] = set()
        self.statuses: Counter[int] = Counter()


async def _via_send_batch(
    dest: QualtricsDestination, events: list[dict[str, Any]], tally: _Tally
) -> list[dict[str, Any]]:
    """Send in batches; return the events to redeliver."""
    again: list[dict[str, Any]] = []
    for start in range(0, len(events), BATCH):
        chunk = events[start : start + BATCH]
        results = await dest.send_batch(chunk)
        for event, result in zip(chunk, results, strict=True):
            _settle(event, result.status, result.retryable, tally, again)
    return again


async def _via_receiver(
    session: aiohttp.ClientSession, url: str, events: list[dict[str, Any]], tally: _Tally
) -> list[dict[str, Any]]:
    again: list[dict[str, Any]] = []
    for start in range(0, len(events), RECEIVER_BATCH):
        chunk = events[start : start + RECEIVER_BATCH]
        async with session.post(url, json=chunk) as response:
            tally.statuses[response.status] += 1
            body = await response.json()
            assert response.status in (200, 207, 400, 429, 503), body
            entries = body["events"]
            assert len(entries) == len(chunk), body
            for event, entry in zip(chunk, entries, strict=True):
                status = entry["status"]
                retryable = entry["retryable"] or status == "pending"
                _settle(event, status, retryable, tally, again)
                if 200 <= response.status < 300 and status != "failed":
                    tally.acked_2xx.add(event["messageId"])
    return again


def _settle(
    event: dict[str, Any],
    status: str,
    retryable: bool,
    tally: _Tally,
    again: list[dict[str, Any]],
) -> None:
    message_id = event["messageId"]
    if status in ("delivered", "skipped"):
        tally.outcome[message_id] = status
    elif retryable:
        again.append(event)
        tally.outcome[message_id] = "retrying"
    else:
        tally.outcome[message_id] = "invalid" if "no event name" in json.dumps(event) else "failed"


async def _soak(
    events: list[dict[str, Any]], kinds: dict[str, str], *, slow: bool = True
) -> dict[str, Any]:
    tally = _Tally()
    async with FakeQualtrics(seed=SEED, record_requests=False) as fake:
        _inject_faults(fake, slow=slow)
        client = fake.client(
            timeout=0.5,
            retry_policy=RetryPolicy(
                max_retries=3, initial_delay=0.002, max_delay=0.02, max_retry_after=0.05
            ),
            retry_budget=None,
        )
        dest = QualtricsDestination(client, _subscriptions(fake), owns_client=True)
        app = create_app(dest, deadline=4.0)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        try:
            async with aiohttp.ClientSession() as session:
                half = len(events) // 2
                direct, webhook = events[:half], events[half:]
                tally.sent = len(events)
                while (direct or webhook) and tally.rounds < MAX_ROUNDS:
                    tally.rounds += 1
                    direct, webhook = await asyncio.gather(
                        _via_send_batch(dest, direct, tally),
                        _via_receiver(session, url, webhook, tally),
                    )
                    tally.redelivered += len(direct) + len(webhook)
                    if direct or webhook:
                        # Segment waits before it retries; a write that timed out is checked
                        # only once it has had time to settle (twice the client timeout).
                        await asyncio.sleep(REDELIVERY_PAUSE)
                left = len(direct) + len(webhook)
        finally:
            await runner.cleanup()
            await dest.aclose()
        contacts = fake.contacts()
        transactions = fake.transactions()
        faults = fake.stats.faults_fired
    by_order = Counter(t.data.get("order") for t in transactions)
    by_ext_ref = Counter((c.ext_ref or "").lower() for c in contacts)
    by_email = Counter((c.email or "").lower() for c in contacts if c.email)
    expected_orders = {m for m, kind in kinds.items() if kind == "transaction"}
    expected_users = {
        e["userId"] for e in events if kinds[e["messageId"]] in ("identify", "transaction")
    }
    outcome = Counter(tally.outcome[m] for m in kinds)
    return {
        "events_sent": tally.sent,
        "unique_messages": len(kinds),
        "redeliveries": tally.redelivered,
        "rounds": tally.rounds,
        "left_undelivered": left,
        "delivered": outcome["delivered"],
        "skipped": outcome["skipped"],
        "invalid_reported": outcome["invalid"],
        "invalid_sent": sum(1 for k in kinds.values() if k == "invalid"),
        "failed_for_good": outcome["failed"],
        "transactions": len(transactions),
        "transactions_expected": len(expected_orders),
        "transactions_missing": len(expected_orders - set(by_order)),
        "transactions_unexpected": len(set(by_order) - expected_orders),
        "duplicate_transactions": sum(n - 1 for n in by_order.values() if n > 1),
        "contacts": len(contacts),
        "contacts_expected": len(expected_users),
        "duplicate_contacts_extref": sum(n - 1 for n in by_ext_ref.values() if n > 1),
        "duplicate_contacts_email": sum(n - 1 for n in by_email.values() if n > 1),
        "acked_2xx_not_delivered": sum(
            1
            for m in tally.acked_2xx
            if kinds[m] == "transaction" and m not in by_order  # acknowledged, yet not in Qualtrics
        ),
        "receiver_statuses": dict(sorted(tally.statuses.items())),
        "faults_fired": dict(faults),
    }


@pytest.fixture(scope="module")
def soak() -> tuple[dict[str, Any], str]:
    """Run the soak once (in its own event loop) for the tests below."""
    events, kinds = _events(random.Random(SEED))
    figures = asyncio.run(_soak(events, kinds))
    figures["expected_delivered"] = sum(
        1 for k in kinds.values() if k in ("identify", "transaction")
    )
    figures["expected_skipped"] = sum(1 for k in kinds.values() if k == "skipped")
    return figures, report("fault soak", **figures)


def test_fault_soak_delivers_every_valid_event_and_reports_every_invalid_one(
    soak: tuple[dict[str, Any], str],
) -> None:
    figures, line = soak
    assert figures["left_undelivered"] == 0, line
    assert figures["failed_for_good"] == 0, line
    assert figures["invalid_reported"] == figures["invalid_sent"], line
    assert figures["delivered"] == figures["expected_delivered"], line
    assert figures["skipped"] == figures["expected_skipped"], line
    assert figures["transactions_missing"] == 0, line
    assert figures["transactions_unexpected"] == 0, line
    assert figures["acked_2xx_not_delivered"] == 0, line
    fired = figures["faults_fired"]
    assert all(fired[kind] > 0 for kind in ("status", "delay", "drop_before", "drop_after")), line


def test_fault_soak_duplicates_no_contact(soak: tuple[dict[str, Any], str]) -> None:
    figures, line = soak
    assert figures["duplicate_contacts_extref"] == 0, line
    assert figures["duplicate_contacts_email"] == 0, line
    assert figures["contacts"] == figures["contacts_expected"], line


def test_fault_soak_creates_no_transaction_twice(soak: tuple[dict[str, Any], str]) -> None:
    """Exactly-once under every fault, slow writes included: after a timeout the adapter waits
    for the write to settle before checking, and a redelivery checks before sending."""
    figures, line = soak
    assert figures["duplicate_transactions"] == 0, line
    assert figures["transactions"] == figures["transactions_expected"], line


async def test_a_write_slower_than_the_timeout_is_not_created_twice() -> None:
    async with FakeQualtrics(seed=3) as fake:
        client = fake.client(
            timeout=0.3, retry_policy=RetryPolicy(max_retries=2, initial_delay=0.01)
        )
        dest = QualtricsDestination(client, _subscriptions(fake), owns_client=True)
        event = {
            "type": "track",
            "event": "Transaction Created",
            "userId": "slow-user",
            "messageId": "slow-1",
            "timestamp": "2024-05-01T10:00:00Z",
            "properties": {"order_id": "slow-1", "total": 1, "items": []},
        }
        fake.faults.delay(1.0, method="POST", path="/API/v3/directories/*/transactions", times=1)
        async with dest:
            results = [await dest.send(event)]
            await asyncio.sleep(1.2)  # the slow write lands
            while results[-1].status == "failed" and results[-1].retryable and len(results) < 5:
                results.append(await dest.send(event))
        created = [t for t in fake.transactions() if t.data.get("order") == "slow-1"]
    line = report(
        "slow write race",
        attempts=len(results),
        transactions=len(created),
        duplicates=len(created) - 1,
    )
    assert len(created) == 1, line


async def test_drop_after_and_5xx_faults_alone_create_no_transaction_twice() -> None:
    """Without slow responses, every ambiguous write is settled by reconciliation."""
    events, kinds = _events(random.Random(SEED + 1))
    figures = await _soak(events, kinds, slow=False)
    line = report("fault soak without slow responses", **figures)
    assert figures["left_undelivered"] == 0, line
    assert figures["faults_fired"]["drop_after"] > 0, line
    assert figures["duplicate_transactions"] == 0, line
    assert figures["transactions"] == figures["transactions_expected"], line
    assert figures["duplicate_contacts_extref"] == 0, line
