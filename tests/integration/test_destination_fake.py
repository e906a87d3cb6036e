"""QualtricsDestination against the fake Qualtrics: real HTTP, real state, injected faults."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from qualtrics_sdk import QualtricsClient, RetryPolicy
from qualtrics_sdk.testing import FakeQualtrics
from segment_adapter import QualtricsDestination, SQLiteLedger, Subscription

DIRECTORY = "POOL_DEFAULT"
TX_POST = f"/API/v3/directories/{DIRECTORY}/transactions"
SEARCH = f"/API/v3/directories/{DIRECTORY}/contacts/search"


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    async with FakeQualtrics(seed=11) as running:
        yield running


@pytest.fixture
async def client(fake: FakeQualtrics) -> AsyncIterator[QualtricsClient]:
    async with fake.client(retry_policy=RetryPolicy(max_retries=2, initial_delay=0)) as made:
        yield made


def orders(fake: FakeQualtrics, **mapping: Any) -> Subscription:
    return Subscription(
        action="upsertContactTransaction",
        name="orders",
        subscribe='type = "track" and event = "Order Completed"',
        mapping={
            "directoryId": DIRECTORY,
            "mailingListId": fake.default_mailing_list_id,
            "transactionData": {
                "orderId": {"@path": "$.properties.orderId"},
                "total": {"@path": "$.properties.total"},
                "items": {"@path": "$.properties.items"},
            },
            **mapping,
        },
    )


def order(n: int, user: int) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "userId": f"user-{user}",
        "messageId": f"msg-{n}",
        "timestamp": "2024-05-01T13:00:00.250Z",
        "properties": {"orderId": f"A{n}", "total": n + 0.5, "items": [{"sku": "S", "qty": n}]},
        "context": {"traits": {"email": f"user-{user}@example.com"}},
    }


async def test_100_events_for_10_users_cost_10_searches_and_1_transactions_post(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    destination = QualtricsDestination(client, [orders(fake)])
    results = await destination.send_batch([order(n, n % 10) for n in range(100)])
    assert Counter(result.status for result in results) == {"delivered": 100}
    assert len(fake.requests(method="POST", path=SEARCH)) == 10
    assert len(fake.requests(method="POST", path=TX_POST)) == 1
    assert len(fake.contacts(DIRECTORY)) == 10
    stored = fake.transactions(directory_id=DIRECTORY)
    assert len(stored) == 100
    by_order = {record.data["orderId"]: record for record in stored}
    assert by_order["A7"].data == {
        "orderId": "A7",
        "total": "7.5",
        "items": '[{"sku":"S","qty":7}]',
    }
    assert by_order["A7"].transaction_date == "2024-05-01 13:00:00"
    assert {result.subscriptions[0].transaction_id for result in results} == {
        record.id for record in stored
    }


async def test_the_same_batch_twice_creates_each_transaction_once(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    destination = QualtricsDestination(client, [orders(fake)])
    batch = [order(n, n % 3) for n in range(20)]
    first = await destination.send_batch(batch)
    second = await destination.send_batch(batch)
    assert len(fake.transactions(directory_id=DIRECTORY)) == 20
    assert all(result.duplicate for result in second)
    assert [r.subscriptions[0].transaction_id for r in first] == [
        r.subscriptions[0].transaction_id for r in second
    ]


async def test_a_restart_with_the_sqlite_ledger_does_not_resend(
    fake: FakeQualtrics, client: QualtricsClient, tmp_path: Path
) -> None:
    batch = [order(n, n % 3) for n in range(6)]
    for _ in range(2):
        ledger = SQLiteLedger(tmp_path / "ledger.db")
        async with QualtricsDestination(client, [orders(fake)], ledger=ledger) as destination:
            await destination.send_batch(batch)
        await ledger.aclose()
    assert len(fake.transactions(directory_id=DIRECTORY)) == 6
    assert len(fake.requests(method="POST", path=TX_POST)) == 1


async def test_a_connection_dropped_after_processing_still_yields_one_transaction(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    destination = QualtricsDestination(client, [orders(fake)])
    rule = fake.faults.drop_after(method="POST", path=TX_POST)
    results = await destination.send_batch([order(n, n % 4) for n in range(8)])
    assert rule.fired == 1
    stored = fake.transactions(directory_id=DIRECTORY)
    assert len(stored) == 8
    assert Counter(result.status for result in results) == {"delivered": 8}
    assert {r.subscriptions[0].transaction_id for r in results} == {record.id for record in stored}
    assert len(fake.requests(method="POST", path=TX_POST)) == 1  # reconciled, not re-sent


async def test_a_connection_dropped_before_processing_is_sent_again_once(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    destination = QualtricsDestination(client, [orders(fake)])
    fake.faults.drop_before(method="POST", path=TX_POST)
    results = await destination.send_batch([order(n, n % 4) for n in range(8)])
    assert Counter(result.status for result in results) == {"delivered": 8}
    assert len(fake.transactions(directory_id=DIRECTORY)) == 8


async def test_when_the_check_fails_the_redelivery_still_makes_one_transaction(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    destination = QualtricsDestination(client, [orders(fake)])
    fake.faults.drop_after(method="POST", path=TX_POST)
    listing = fake.faults.fail(
        500, method="GET", path="/API/v3/directories/*/contacts/*/transactions", times=3
    )
    failed = await destination.send(order(1, 1))
    assert (failed.status, failed.retryable) == ("failed", True)
    assert listing.fired >= 1
    assert len(fake.transactions(directory_id=DIRECTORY)) == 1
    fake.faults.clear()
    again = await destination.send(order(1, 1))  # Segment's retry
    assert again.status == "delivered"
    (record,) = fake.transactions(directory_id=DIRECTORY)
    assert again.subscriptions[0].transaction_id == record.id


async def test_unprocessed_transactions_fail_their_events_only(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    destination = QualtricsDestination(
        client, [orders(fake, mailingListId={"@path": "$.properties.list"})]
    )
    good = order(1, 1)
    good["properties"]["list"] = fake.default_mailing_list_id
    bad = order(2, 1)
    bad["properties"]["list"] = "CG_MISSING"
    results = await destination.send_batch([good, bad])
    assert [result.status for result in results] == ["delivered", "failed"]
    assert results[1].retryable is False
    assert "CG_MISSING" in (results[1].error or "")


async def test_transactions_for_two_directories_go_in_one_request_each(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    other = fake.add_directory("Other", dedup=["extRef"])
    other_list = fake.add_mailing_list(directory_id=other)
    destination = QualtricsDestination(
        client,
        [
            orders(fake),
            Subscription(
                action="upsertContactTransaction",
                name="mirror",
                subscribe='type = "track"',
                mapping={"directoryId": other, "mailingListId": other_list},
            ),
        ],
    )
    results = await destination.send_batch([order(n, n % 5) for n in range(30)])
    assert all(result.status == "delivered" for result in results)
    assert len(fake.requests(method="POST", path="/API/v3/directories/*/transactions")) == 2
    assert len(fake.transactions(directory_id=other)) == 30


async def test_contacts_from_identify_and_workflow_from_track(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    trigger = fake.add_workflow_trigger(auth="token")
    destination = QualtricsDestination(
        client,
        [
            Subscription(action="addContactToXmd", mapping={"directoryId": DIRECTORY}),
            Subscription(
                action="triggerXflowWorkflow",
                subscribe='type = "track" and properties.total > 10',
                mapping={"workflowUrl": trigger},
            ),
        ],
    )
    identify = {
        "type": "identify",
        "userId": "user-1",
        "messageId": "id-1",
        "traits": {"email": "ann@example.com", "first_name": "Ann", "plan": "pro"},
    }
    results = await destination.send_batch([identify, order(20, 1), order(3, 1)])
    assert [result.status for result in results] == ["delivered", "delivered", "skipped"]
    (contact,) = fake.contacts(DIRECTORY)
    assert (contact.ext_ref, contact.first_name, contact.language) == ("user-1", "Ann", "EN")
    (received,) = fake.trigger_events(trigger)
    assert received.auth == "token"
    assert received.payload["properties"]["total"] == 20.5
    assert received.payload["traits"] == {"email": "user-1@example.com"}


async def test_from_config_against_the_fake(fake: FakeQualtrics, tmp_path: Path) -> None:
    config = {
        "settings": {
            "baseUrl": fake.base_url,
            "apiToken": fake.api_token,
            "ledgerPath": str(tmp_path / "ledger.db"),
            "maxConcurrency": 8,
        },
        "subscriptions": [
            {
                "name": "orders",
                "action": "upsertContactTransaction",
                "subscribe": 'type = "track"',
                "mapping": {
                    "directoryId": DIRECTORY,
                    "mailingListId": fake.default_mailing_list_id,
                },
            }
        ],
    }
    async with QualtricsDestination.from_config(config) as destination:
        result = await destination.send(order(1, 1))
    assert result.status == "delivered"
    async with QualtricsDestination.from_config(config) as destination:
        again = await destination.send(order(1, 1))
    assert again.duplicate is True
    assert len(fake.transactions(directory_id=DIRECTORY)) == 1


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the fake never got there")


async def test_cancelled_while_the_transactions_post_is_in_flight_still_makes_one(
    fake: FakeQualtrics,
) -> None:
    """The POST reaches the fake and is written after the caller gave up: the redelivery finds
    it by listing instead of creating a second transaction."""
    ledger = SQLiteLedger(":memory:")
    slow = fake.faults.delay(0.3, method="POST", path=TX_POST)
    async with (
        fake.client(timeout=0.5, retry_policy=RetryPolicy(max_retries=0)) as client,
        QualtricsDestination(client, [orders(fake)], ledger=ledger) as destination,
    ):
        task = asyncio.ensure_future(destination.send(order(1, 1)))
        await _until(lambda: slow.fired == 1)  # the POST has reached the fake, which holds it
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await ledger.lookup([("msg-1", "orders")]) == {}
        await _until(lambda: bool(fake.transactions(directory_id=DIRECTORY)))  # written
        await asyncio.sleep(2 * client.timeout)
        result = await destination.send(order(1, 1))
    await ledger.aclose()
    assert slow.fired == 1
    (record,) = fake.transactions(directory_id=DIRECTORY)
    assert (result.status, result.duplicate) == ("delivered", False)
    assert result.subscriptions[0].transaction_id == record.id
    assert len(fake.requests(method="POST", path=TX_POST)) == 1


async def test_an_ambiguous_send_before_a_restart_is_checked_not_resent(
    fake: FakeQualtrics, tmp_path: Path
) -> None:
    """The POST is written but its answer lost, and the check fails too: the process gives up
    (retryable). After a restart (new client, new destination, same ledger file) the redelivery
    lists the contact's transactions and finds it: one transaction, one POST."""
    path = tmp_path / "ledger.db"
    fake.faults.drop_after(method="POST", path=TX_POST)
    fake.faults.fail(500, method="GET", path="/API/v3/directories/*/contacts/*/transactions")
    before = SQLiteLedger(path)
    async with (
        fake.client(retry_policy=RetryPolicy(max_retries=0)) as client,
        QualtricsDestination(client, [orders(fake)], ledger=before) as destination,
    ):
        failed = await destination.send(order(1, 1))
    await before.aclose()
    assert (failed.status, failed.retryable) == ("failed", True)
    assert len(fake.transactions(directory_id=DIRECTORY)) == 1
    fake.faults.clear()

    after = SQLiteLedger(path)
    async with (
        fake.client(retry_policy=RetryPolicy(max_retries=0)) as client,
        QualtricsDestination(client, [orders(fake)], ledger=after) as destination,
    ):
        result = await destination.send(order(1, 1))
    await after.aclose()
    (record,) = fake.transactions(directory_id=DIRECTORY)
    assert (result.status, result.subscriptions[0].transaction_id) == ("delivered", record.id)
    assert len(fake.requests(method="POST", path=TX_POST)) == 1
