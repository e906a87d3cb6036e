"""Idempotency (D2, decisions 11 and 12): duplicates are not re-sent, ambiguous failures are
reconciled by listing the contact's transactions before anything is sent again."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _destination_helpers import (
    CONTACTS,
    TRANSACTIONS,
    create_all,
    created,
    envelope,
    error_body,
    expected_key,
    listing,
    make_client,
    sent,
    track,
)
from aioresponses import CallbackResult, aioresponses

from qualtrics_sdk import QualtricsClient, RetryPolicy
from segment_adapter import (
    LedgerEntry,
    MemoryLedger,
    QualtricsDestination,
    SQLiteLedger,
    Subscription,
)
from segment_adapter.ledger import LedgerKey

TX_PATH = "/API/v3/directories/POOL_1/transactions"
LIST_PATH = "/API/v3/directories/POOL_1/contacts/CID_1/transactions"
LIST = re.compile(rf"^{re.escape(CONTACTS)}/CID_1/transactions(\?.*)?$")
KEY = expected_key("orders", "messageId:msg-1")


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    async with make_client() as made:
        yield made


def orders(**mapping: Any) -> Subscription:
    return Subscription(
        action="upsertContactTransaction",
        name="orders",
        mapping={
            "directoryId": "POOL_1",
            "mailingListId": "CG_1",
            "contactId": "CID_1",
            "transactionData": {
                "amount": {"@path": "$.properties.amount"},
                "vip": {"@path": "$.properties.vip"},
            },
            **mapping,
        },
    )


def order(message_id: str = "msg-1", amount: float = 12.5) -> dict[str, Any]:
    return track(message_id, properties={"amount": amount, "vip": True})


def stored(transaction_id: str, amount: str = "12.5", **changes: Any) -> dict[str, Any]:
    """A transaction as Qualtrics lists it: values as strings."""
    element = {
        "transactionId": transaction_id,
        "contactId": "CID_1",
        "mailingListId": "CG_1",
        "transactionDate": "2024-05-01 13:00:00",
        "data": {"amount": amount, "vip": "true"},
    }
    element.update(changes)
    return element


def paths(m: aioresponses) -> list[str]:
    return [path for _, path, _ in sent(m)]


def posts(m: aioresponses) -> list[Any]:
    return [body for method, path, body in sent(m) if (method, path) == ("POST", TX_PATH)]


# --- duplicates -------------------------------------------------------------------------------


async def test_the_same_batch_twice_creates_each_transaction_once(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [orders()])
    batch = [order(f"msg-{i}") for i in range(5)]
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=create_all, repeat=True)
        first = await destination.send_batch(batch)
        second = await destination.send_batch(batch)
    assert len(posts(m)) == 1
    assert len(posts(m)[0]) == 5
    assert [(r.status, r.duplicate) for r in first] == [("delivered", False)] * 5
    assert [(r.status, r.duplicate) for r in second] == [("delivered", True)] * 5
    assert [r.subscriptions[0].transaction_id for r in second] == [
        r.subscriptions[0].transaction_id for r in first
    ]


async def test_a_repeat_within_one_batch_is_sent_once(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [orders()])
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(**{KEY: "CTR_1"}))
        results = await destination.send_batch([order(), order("msg-2"), order()])
    (body,) = posts(m)
    assert list(body) == [KEY, expected_key("orders", "messageId:msg-2")]
    assert [(r.duplicate, r.subscriptions[0].transaction_id) for r in (results[0], results[2])] == [
        (False, "CTR_1"),
        (True, "CTR_1"),
    ]


async def test_concurrent_deliveries_of_one_event_send_it_once(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [orders()])
    release = asyncio.Event()

    async def slow(url: Any, **kwargs: Any) -> CallbackResult:
        await release.wait()
        return create_all(url, **kwargs)

    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=slow, repeat=True)
        first = asyncio.ensure_future(destination.send(order()))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(destination.send(order()))
        await asyncio.sleep(0.01)
        release.set()
        results = await asyncio.gather(first, second)
    assert len(posts(m)) == 1
    assert [(r.status, r.duplicate) for r in results] == [
        ("delivered", False),
        ("delivered", True),
    ]


async def test_events_without_message_id_get_a_content_key(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [orders()])
    event = order()
    del event["messageId"]
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    content_key = expected_key(
        "orders", "content:" + hashlib.sha256(canonical.encode()).hexdigest()
    )
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=create_all, repeat=True)
        results = await destination.send_batch([event, dict(event)])
        later = await destination.send(event)
    assert [list(body) for body in posts(m)] == [[content_key], [content_key]]
    assert (results[1].duplicate, later.duplicate) == (True, False)  # no ledger without messageId


async def test_a_failed_delivery_is_not_recorded(client: QualtricsClient) -> None:
    ledger = MemoryLedger()
    destination = QualtricsDestination(client, [orders()], ledger=ledger)
    with aioresponses() as m:
        m.post(TRANSACTIONS, status=429, payload=error_body(429, "slow down"))
        m.post(TRANSACTIONS, payload=created(**{KEY: "CTR_1"}))
        failed = await destination.send(order())
        delivered = await destination.send(order())
    assert (failed.status, failed.retryable) == ("failed", True)
    assert (delivered.status, delivered.duplicate) == ("delivered", False)
    (entry,) = (await ledger.lookup([("msg-1", "orders")])).values()
    assert (entry.message_id, entry.subscription) == ("msg-1", "orders")
    assert entry.ids == {"contact_id": "CID_1", "transaction_id": "CTR_1"}
    assert len(ledger) == 1


class BrokenLedger:
    def __init__(self, *, lookup: bool = False, record: bool = False) -> None:
        self.fail_lookup = lookup
        self.fail_record = record

    async def lookup(self, keys: Iterable[LedgerKey]) -> dict[LedgerKey, LedgerEntry]:
        if self.fail_lookup:
            raise OSError("disk gone")
        return {}

    async def record(self, entries: Iterable[LedgerEntry]) -> None:
        if self.fail_record:
            raise OSError("disk full")

    async def aclose(self) -> None:
        pass


async def test_an_unreadable_ledger_sends_nothing_and_fails_retryably(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [orders()], ledger=BrokenLedger(lookup=True))
    with aioresponses() as m:
        result = await destination.send(order())
    assert sent(m) == []
    assert (result.status, result.retryable) == ("failed", True)
    assert "disk gone" in (result.error or "")


async def test_a_ledger_write_failure_does_not_undo_the_delivery(
    client: QualtricsClient, caplog: pytest.LogCaptureFixture
) -> None:
    destination = QualtricsDestination(client, [orders()], ledger=BrokenLedger(record=True))
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(**{KEY: "CTR_1"}))
        result = await destination.send(order())
    assert result.status == "delivered"
    assert "could not record 1 confirmed deliveries" in caplog.text


# --- ambiguous failures (decision 11) ---------------------------------------------------------


async def test_ambiguous_failure_with_the_transaction_stored_is_not_resent(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [orders()])
    with aioresponses() as m:
        m.post(TRANSACTIONS, exception=aiohttp.ServerDisconnectedError())
        m.get(LIST, payload=listing(stored("CTR_OTHER", amount="99"), stored("CTR_MINE")))
        result = await destination.send(order())
    assert paths(m) == [TX_PATH, LIST_PATH]
    assert (result.status, result.subscriptions[0].transaction_id) == ("delivered", "CTR_MINE")


async def test_ambiguous_failure_without_the_transaction_sends_it_once_more(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [orders()])
    with aioresponses() as m:
        m.post(TRANSACTIONS, exception=aiohttp.ServerDisconnectedError())
        m.get(LIST, payload=listing(stored("CTR_OLD", transactionDate="2024-04-30 13:00:00")))
        m.post(TRANSACTIONS, payload=created(**{KEY: "CTR_NEW"}))
        result = await destination.send(order())
    first, second = posts(m)
    assert first == second
    assert list(first) == [KEY]
    assert result.subscriptions[0].transaction_id == "CTR_NEW"


async def test_a_second_ambiguous_failure_is_not_sent_a_third_time(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [orders()])
    with aioresponses() as m:
        m.post(TRANSACTIONS, exception=aiohttp.ServerDisconnectedError())
        m.get(LIST, payload=listing())
        m.post(TRANSACTIONS, exception=aiohttp.ServerDisconnectedError())
        result = await destination.send(order())
    assert len(posts(m)) == 2
    assert (result.status, result.retryable) == ("failed", True)
    assert "not sent a third time" in (result.error or "")


async def test_when_listing_fails_nothing_is_resent_blind(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [orders()])
    with aioresponses() as m:
        m.post(TRANSACTIONS, exception=aiohttp.ServerDisconnectedError())
        m.get(LIST, status=500, payload=error_body(500, "oops"), repeat=True)
        failed = await destination.send(order())
    assert len(posts(m)) == 1
    assert (failed.status, failed.retryable) == ("failed", True)
    assert "not sent again" in (failed.error or "")
    # Segment redelivers: the destination checks first, finds it, and does not post.
    with aioresponses() as m:
        m.get(LIST, payload=listing(stored("CTR_MINE")))
        again = await destination.send(order())
    assert paths(m) == [LIST_PATH]
    assert (again.status, again.subscriptions[0].transaction_id) == ("delivered", "CTR_MINE")


async def test_one_stored_transaction_matches_only_one_of_two_identical_sends(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [orders()])
    second_key = expected_key("orders", "messageId:msg-2")
    with aioresponses() as m:
        m.post(TRANSACTIONS, exception=aiohttp.ServerDisconnectedError())
        m.get(LIST, payload=listing(stored("CTR_ONE")))
        m.post(TRANSACTIONS, payload=created(**{second_key: "CTR_TWO"}))
        results = await destination.send_batch([order(), order("msg-2")])
    assert list(posts(m)[1]) == [second_key]
    assert [r.subscriptions[0].transaction_id for r in results] == ["CTR_ONE", "CTR_TWO"]


async def test_transactions_created_by_earlier_chunks_are_not_matched_twice(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [orders()], max_per_request=1)
    keys = [KEY, expected_key("orders", "messageId:msg-2")]
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(**{keys[0]: "CTR_ONE"}))
        m.post(TRANSACTIONS, exception=aiohttp.ServerDisconnectedError())
        m.get(LIST, payload=listing(stored("CTR_ONE")))
        m.post(TRANSACTIONS, payload=created(**{keys[1]: "CTR_TWO"}))
        results = await destination.send_batch([order(), order("msg-2")])
    assert [list(body) for body in posts(m)] == [[keys[0]], [keys[1]], [keys[1]]]
    assert [r.subscriptions[0].transaction_id for r in results] == ["CTR_ONE", "CTR_TWO"]


async def test_cancelled_mid_post_records_nothing_and_checks_before_resending() -> None:
    """Cancelled while the transactions POST is in flight: no ledger entry; the redelivery does
    not re-send blind (the POST may have reached Qualtrics) but lists, then finds it."""
    ledger = MemoryLedger()
    client = QualtricsClient(
        api_token="tok", datacenter="iad1", timeout=0.2, retry_policy=RetryPolicy(max_retries=0)
    )
    destination = QualtricsDestination(client, [orders()], ledger=ledger)
    started = asyncio.Event()

    async def hang_once(url: Any, **kwargs: Any) -> CallbackResult:
        # (aioresponses keeps a callback registered when its request is cancelled)
        if not started.is_set():
            started.set()
            await asyncio.sleep(3600)
        return create_all(url, **kwargs)

    async with client:
        with aioresponses() as m:
            m.post(TRANSACTIONS, callback=hang_once, repeat=True)
            task = asyncio.ensure_future(destination.send(order()))
            await started.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await ledger.lookup([("msg-1", "orders")]) == {}

            too_soon = await destination.send(order())
            assert (too_soon.status, too_soon.retryable) == ("failed", True)
            assert too_soon.retry_after is not None
            assert too_soon.retry_after > 0
            assert len(posts(m)) == 1  # not sent again while the first may still land

            await asyncio.sleep(2 * client.timeout + 0.05)  # the write has had time to settle
            m.get(LIST, payload=listing(stored("CTR_MINE")))
            result = await destination.send(order())
            again = await destination.send(order())
    assert len(posts(m)) == 1
    assert paths(m).count(LIST_PATH) == 1
    assert (result.status, result.subscriptions[0].transaction_id) == ("delivered", "CTR_MINE")
    assert (again.status, again.duplicate) == ("delivered", True)
    entry = (await ledger.lookup([("msg-1", "orders")]))[("msg-1", "orders")]
    assert entry.ids == {"contact_id": "CID_1", "transaction_id": "CTR_MINE"}


# --- write-ahead marks in the ledger ------------------------------------------------------------


class UnmarkableLedger(MemoryLedger):
    async def mark_pending(self, keys: Iterable[tuple[str, str]], *, not_before: float) -> None:
        raise OSError("disk full")


async def test_nothing_is_sent_when_the_write_ahead_mark_cannot_be_written(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [orders()], ledger=UnmarkableLedger())
    with aioresponses() as m:
        result = await destination.send(order())
    assert sent(m) == []
    assert (result.status, result.retryable) == ("failed", True)
    assert "disk full" in (result.error or "")
    assert "not sent" in (result.error or "")


async def test_the_mark_is_written_before_the_post_and_cleared_after(
    client: QualtricsClient,
) -> None:
    ledger = MemoryLedger()
    destination = QualtricsDestination(client, [orders()], ledger=ledger)
    seen_during_post: list[dict[tuple[str, str], float]] = []

    async def answer(url: Any, **kwargs: Any) -> CallbackResult:
        seen_during_post.append(await ledger.lookup_pending([("POOL_1", KEY)]))
        return create_all(url, **kwargs)

    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=answer)
        result = await destination.send(order())
    assert result.status == "delivered"
    assert [set(marks) for marks in seen_during_post] == [{("POOL_1", KEY)}]
    assert await ledger.lookup_pending([("POOL_1", KEY)]) == {}


async def test_an_unprocessed_transaction_is_unmarked(client: QualtricsClient) -> None:
    ledger = MemoryLedger()
    destination = QualtricsDestination(client, [orders()], ledger=ledger)
    rejected = {
        "createdTransactions": {},
        "unprocessedTransactions": {KEY: {"error": "INVALID", "errorMessage": "bad list"}},
    }
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=envelope(rejected))
        result = await destination.send(order())
    assert (result.status, result.retryable) == ("failed", False)
    assert await ledger.lookup_pending([("POOL_1", KEY)]) == {}


async def test_a_crash_mid_post_is_checked_by_the_next_process(tmp_path: Path) -> None:
    """The POST reaches Qualtrics, which writes the transaction and never answers; the process
    dies. A new process with the same SQLite ledger lists before sending: one POST in all."""
    path = tmp_path / "ledger.db"
    at_qualtrics: list[dict[str, Any]] = []
    held = asyncio.Event()

    async def write_and_hang(url: Any, **kwargs: Any) -> CallbackResult:
        if not held.is_set():
            at_qualtrics.append(stored("CTR_MINE"))
            held.set()
            await asyncio.sleep(3600)  # (aioresponses keeps a callback that was cancelled)
        return create_all(url, **kwargs)

    def client_for_process() -> QualtricsClient:
        return QualtricsClient(
            api_token="tok", datacenter="iad1", timeout=0.2, retry_policy=RetryPolicy(max_retries=0)
        )

    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=write_and_hang, repeat=True)
        m.get(LIST, callback=lambda url, **kw: CallbackResult(payload=listing(*at_qualtrics)))
        first_client = client_for_process()
        first = QualtricsDestination(first_client, [orders()], ledger=SQLiteLedger(path))
        task = asyncio.ensure_future(first.send(order()))
        await held.wait()
        # Write-ahead: the mark is on disk while the POST is in flight, before any outcome.
        observer = SQLiteLedger(path)
        assert set(await observer.lookup_pending([("POOL_1", KEY)])) == {("POOL_1", KEY)}
        await observer.aclose()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await first_client.close()
        del first  # the process is gone; its ledger connection is never closed

        async with client_for_process() as second_client:
            ledger = SQLiteLedger(path)
            second = QualtricsDestination(second_client, [orders()], ledger=ledger)
            too_soon = await second.send(order())
            await asyncio.sleep(2 * second_client.timeout + 0.05)  # the write has settled
            result = await second.send(order())
            await ledger.aclose()
    assert (too_soon.status, too_soon.retryable) == ("failed", True)
    assert len(posts(m)) == 1
    assert paths(m).count(LIST_PATH) == 1
    assert (result.status, result.subscriptions[0].transaction_id) == ("delivered", "CTR_MINE")


async def test_a_ledger_without_pending_methods_keeps_marks_in_the_process(
    client: QualtricsClient, caplog: pytest.LogCaptureFixture
) -> None:
    destination = QualtricsDestination(client, [orders()], ledger=BrokenLedger())
    assert "remembered in this process only" in caplog.text
    with aioresponses() as m:
        m.post(TRANSACTIONS, exception=aiohttp.ServerDisconnectedError())
        m.get(LIST, status=500, payload=error_body(500, "oops"), repeat=True)
        failed = await destination.send(order())
    assert (failed.status, failed.retryable) == ("failed", True)
    with aioresponses() as m:
        m.get(LIST, payload=listing(stored("CTR_MINE")))
        again = await destination.send(order())
    assert paths(m) == [LIST_PATH]
    assert again.subscriptions[0].transaction_id == "CTR_MINE"
