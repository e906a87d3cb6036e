"""Integration: transactions and transaction batches through the SDK against the fake server."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from qualtrics_sdk import (
    NotFoundError,
    QualtricsClient,
    RequestEvent,
    RetryPolicy,
    TransactionChunkError,
    TransactionCreate,
    UnprocessedTransactionsError,
    ValidationError,
)
from qualtrics_sdk.testing import FakeQualtrics

POOL = "POOL_DEFAULT"
UTC = dt.timezone.utc
WHEN = dt.datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
FAST_RETRIES = RetryPolicy(max_retries=3, initial_delay=0.01, max_retry_after=0.05)
TX_PATH = f"/API/v3/directories/{POOL}/transactions"


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    async with FakeQualtrics(seed=3) as server:
        yield server


@pytest.fixture
async def client(fake: FakeQualtrics) -> AsyncIterator[QualtricsClient]:
    async with fake.client(retry_policy=FAST_RETRIES) as sdk_client:
        yield sdk_client


def _tx(
    fake: FakeQualtrics, contact_id: str, **data: str | int | float | bool
) -> TransactionCreate:
    return TransactionCreate(
        contact_id=contact_id,
        mailing_list_id=fake.default_mailing_list_id,
        transaction_date=WHEN,
        data=data,
    )


async def test_partial_success_reports_unprocessed_and_creates_the_rest(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    ann = fake.add_contact(email="ann@example.com")
    bob = fake.add_contact(email="bob@example.com")
    result = await client.transactions.create(
        POOL,
        {
            "k-ann": _tx(fake, ann, order="A1", total=12.5),
            "k-ghost": _tx(fake, "CID_DOESNOTEXIST0"),
            "k-bob": _tx(fake, bob, order="B1", paid=True),
        },
    )
    assert not result.ok
    assert list(result.created) == ["k-ann", "k-bob"]
    assert list(result.unprocessed) == ["k-ghost"]
    error = result.unprocessed["k-ghost"]
    assert error.error == "CONTACT_NOT_FOUND"
    assert error.error_message == f"Contact CID_DOESNOTEXIST0 not found in directory {POOL}."

    stored = {record.id: record for record in fake.transactions()}
    assert set(stored) == set(result.created.values())
    ann_tx = stored[result.created["k-ann"]]
    assert ann_tx.contact_id == ann
    assert ann_tx.key == "k-ann"
    assert ann_tx.transaction_date == "2024-05-01 09:30:00"
    assert dict(ann_tx.data) == {"order": "A1", "total": "12.5"}
    assert dict(stored[result.created["k-bob"]].data) == {"order": "B1", "paid": "true"}

    with pytest.raises(UnprocessedTransactionsError) as caught:
        result.raise_for_unprocessed()
    assert set(caught.value.unprocessed) == {"k-ghost"}
    assert caught.value.created == dict(result.created)


async def test_all_processed_result_does_not_raise(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    ann = fake.add_contact(email="ann@example.com")
    result = await client.transactions.create(POOL, [_tx(fake, ann, order="A1")])
    assert result.ok
    assert result.raise_for_unprocessed() is result
    assert len(fake.transactions()) == 1


async def test_250_transactions_go_out_in_three_requests_in_order(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    contact = fake.add_contact(email="ann@example.com")
    items = {f"k{i:03d}": _tx(fake, contact, n=i) for i in range(250)}
    fake.clear_requests()
    result = await client.transactions.create(POOL, items)
    posts = fake.requests(method="POST", path=TX_PATH)
    assert [len(post.json) for post in posts] == [100, 100, 50]
    assert [key for post in posts for key in post.json] == list(items)
    assert posts[0].json["k000"] == {
        "contactId": contact,
        "mailingListId": fake.default_mailing_list_id,
        "transactionDate": "2024-05-01 09:30:00",
        "data": {"n": 0},
    }
    assert list(result.created) == list(items)
    assert len(result.response_infos) == 3
    assert len(fake.transactions(contact_id=contact)) == 250


async def test_transaction_get_update_delete(fake: FakeQualtrics, client: QualtricsClient) -> None:
    contact = fake.add_contact(email="ann@example.com")
    result = await client.transactions.create(POOL, {"k": _tx(fake, contact, order="A1")})
    transaction_id = result.created["k"]

    got = await client.transactions.get(POOL, transaction_id)
    assert (got.id, got.contact_id, got.mailing_list_id) == (
        transaction_id,
        contact,
        fake.default_mailing_list_id,
    )
    assert got.transaction_date == WHEN
    assert got.data == {"order": "A1"}

    later = dt.datetime(2024, 6, 2, 10, 0, tzinfo=UTC)
    await client.transactions.update(POOL, transaction_id, transaction_date=later, data={"x": 1})
    (record,) = fake.transactions()
    assert record.transaction_date == "2024-06-02 10:00:00"
    assert dict(record.data) == {"x": "1"}  # data replaces the map

    await client.transactions.delete(POOL, transaction_id)
    assert fake.transactions() == []
    with pytest.raises(NotFoundError):
        await client.transactions.get(POOL, transaction_id)


async def test_transaction_update_without_fields_is_refused_before_any_request(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.clear_requests()
    with pytest.raises(ValidationError):
        await client.transactions.update(POOL, "CTR_1")
    assert fake.requests() == []


async def test_contact_transactions_listing(fake: FakeQualtrics, client: QualtricsClient) -> None:
    ann = fake.add_contact(email="ann@example.com")
    bob = fake.add_contact(email="bob@example.com")
    seeded = [fake.add_transaction(ann, data={"n": i}) for i in range(3)]
    fake.add_transaction(bob, data={"n": 99})
    listed = [tx async for tx in client.contacts.transactions(POOL, ann)]
    assert [tx.id for tx in listed] == seeded
    assert [tx.data for tx in listed] == [{"n": "0"}, {"n": "1"}, {"n": "2"}]
    assert all(tx.contact_id == ann for tx in listed)


async def test_drop_after_on_create_is_ambiguous_but_applied(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    """The case the Segment adapter reconciles: the write happened, the client never heard."""
    contact = fake.add_contact(email="ann@example.com")
    fake.faults.drop_after(method="POST", path=TX_PATH)
    fake.clear_requests()
    with pytest.raises(TransactionChunkError) as caught:
        await client.transactions.create(POOL, {"k1": _tx(fake, contact, order="A1")})
    error = caught.value
    assert error.ambiguous
    assert error.failed_keys == ("k1",)
    assert error.unsent_keys == ()
    assert dict(error.partial_result.created) == {}
    assert len(fake.requests(method="POST", path=TX_PATH)) == 1  # not retried
    (stored,) = fake.transactions(contact_id=contact)
    assert stored.key == "k1"
    assert dict(stored.data) == {"order": "A1"}
    # Reconciliation: listing the contact's transactions finds it.
    listed = [tx async for tx in client.contacts.transactions(POOL, contact)]
    assert [tx.id for tx in listed] == [stored.id]


async def test_chunk_failure_keeps_earlier_chunks_and_lists_unsent(
    fake: FakeQualtrics,
) -> None:
    contact = fake.add_contact(email="ann@example.com")
    items = {f"k{i}": _tx(fake, contact, n=i) for i in range(5)}
    posts_seen = 0

    def fail_second_post(event: RequestEvent) -> None:
        # Arm a 500 just before the second chunk goes out, so the first one succeeds.
        nonlocal posts_seen
        if event.method == "POST":
            posts_seen += 1
            if posts_seen == 2:
                fake.faults.fail(500, method="POST", path=TX_PATH, times=1)

    async with fake.client(retry_policy=FAST_RETRIES, on_request=[fail_second_post]) as client:
        with pytest.raises(TransactionChunkError) as caught:
            await client.transactions.create(POOL, items, max_per_request=2)
    error = caught.value
    assert error.ambiguous  # a 5xx on a write may have been applied
    assert error.status == 500
    assert list(error.partial_result.created) == ["k0", "k1"]
    assert error.failed_keys == ("k2", "k3")
    assert error.unsent_keys == ("k4",)
    assert len(fake.requests(method="POST", path=TX_PATH)) == 2  # the 500 was not retried
    assert sorted(record.key or "" for record in fake.transactions()) == ["k0", "k1"]


async def test_transaction_batches(fake: FakeQualtrics, client: QualtricsClient) -> None:
    contact = fake.add_contact(email="ann@example.com")
    tx_ids = [fake.add_transaction(contact, data={"n": i}) for i in range(3)]

    created = await client.transaction_batches.create(POOL, transaction_ids=tx_ids[:2])
    (record,) = fake.transaction_batches()
    assert record.id == created.id
    assert record.transaction_ids == tuple(tx_ids[:2])

    got = await client.transaction_batches.get(POOL, created.id)
    assert got.id == created.id
    assert got.creation_date is not None

    listed = [batch.id async for batch in client.transaction_batches.list(POOL)]
    assert listed == [created.id]

    await client.transaction_batches.add_transactions(POOL, created.id, [tx_ids[2]])
    assert fake.transaction_batches()[0].transaction_ids == tuple(tx_ids)
    members = [tx.id async for tx in client.transaction_batches.list_transactions(POOL, created.id)]
    assert members == tx_ids

    await client.transaction_batches.remove_transaction(POOL, created.id, tx_ids[0])
    assert fake.transaction_batches()[0].transaction_ids == tuple(tx_ids[1:])
    assert len(fake.transactions()) == 3  # the transaction itself remains

    await client.transaction_batches.delete(POOL, created.id)
    assert fake.transaction_batches() == []
    with pytest.raises(NotFoundError):
        await client.transaction_batches.get(POOL, created.id)


async def test_empty_batch_and_dated_batch(fake: FakeQualtrics, client: QualtricsClient) -> None:
    fake.clear_requests()
    empty = await client.transaction_batches.create(POOL)
    dated = await client.transaction_batches.create(
        POOL, creation_date=dt.datetime(2024, 2, 3, 4, 5, 6, tzinfo=UTC)
    )
    bodies = [request.json for request in fake.requests(method="POST")]
    assert bodies == [{}, {"creationDate": "2024-02-03 04:05:06"}]
    records = {record.id: record for record in fake.transaction_batches()}
    assert records[empty.id].transaction_ids == ()
    assert records[dated.id].creation_date.startswith("2024-02-03")
