"""Integration: contact imports and workflow JSON-event triggers through the SDK and the fake."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import pytest

from qualtrics_sdk import (
    AuthenticationError,
    ImportContact,
    QualtricsClient,
    RetryPolicy,
    TransactionMeta,
    UnsafeURLError,
    ValidationError,
)
from qualtrics_sdk.testing import FakeQualtrics

POOL = "POOL_DEFAULT"
FAST_RETRIES = RetryPolicy(max_retries=3, initial_delay=0.01, max_retry_after=0.05)


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    async with FakeQualtrics(seed=5, import_polls_to_complete=3) as server:
        yield server


@pytest.fixture
async def client(fake: FakeQualtrics) -> AsyncIterator[QualtricsClient]:
    async with fake.client(retry_policy=FAST_RETRIES) as sdk_client:
        yield sdk_client


# --- imports --------------------------------------------------------------------------------------


async def test_import_runs_to_completion_with_summary_and_report(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    list_id = fake.default_mailing_list_id
    existing = fake.add_contact(email="old@example.com", first_name="Old")
    batch_id = fake.add_transaction_batch()
    contacts = [
        ImportContact(email="new@example.com", first_name="New", transaction_data={"order": "A1"}),
        ImportContact(email="old@example.com", last_name="Timer", embedded_data={"tier": "2"}),
        ImportContact(email="not-an-email", ext_ref="x-3"),
    ]
    meta = TransactionMeta(batch_id=batch_id, fields=["order"])

    jobs = await client.imports.create(POOL, list_id, contacts, meta)
    assert len(jobs) == 1
    job = jobs[0]
    assert jobs.unprocessed == ()
    (sent,) = fake.requests(method="POST", path="/API/v3/directories/*/mailinglists/*/*")
    assert sent.status == 202
    assert sent.json["transactionMeta"] == {"batchId": batch_id, "fields": ["order"]}
    assert sent.json["contacts"][0] == {
        "email": "new@example.com",
        "firstName": "New",
        "transactionData": {"order": "A1"},
    }

    status = await job.wait(poll_interval=0.01, timeout=5.0)
    assert status.done
    assert not status.failed
    assert status.percent_complete == 100
    (record,) = fake.imports()
    assert record.id == job.id
    assert record.status == status.status
    assert record.polls >= 3
    assert (status.contacts_added, status.contacts_updated) == (record.added, record.updated)
    assert status.transactions_created == record.transactions_created == 1

    summary = await job.summary()
    assert summary.invalid_emails == tuple(record.invalid_emails)
    assert "not-an-email" in summary.invalid_emails

    # The directory holds the result: the existing contact updated (email dedup), the new one added.
    updated = fake.get_contact(existing)
    assert (updated.first_name, updated.last_name) == ("Old", "Timer")
    assert updated.embedded_data["tier"] == "2"
    (new_contact,) = fake.find_contacts(email="new@example.com")
    (tx,) = fake.transactions(contact_id=new_contact.id)
    assert dict(tx.data) == {"order": "A1"}
    assert tx.id in fake.transaction_batches()[0].transaction_ids

    entries = [entry async for entry in job.report()]
    assert len(entries) == 3
    by_email = {entry.email: entry for entry in entries}
    assert by_email["new@example.com"].contact_id == new_contact.id
    assert by_email["new@example.com"].transaction_id == tx.id
    assert by_email["old@example.com"].contact_id == existing


async def test_import_unprocessed_contacts_are_reported_by_input_index(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    # Split into jobs of two so indexes map back across jobs.
    contacts = [ImportContact(email=f"c{i}@example.com") for i in range(5)]
    fake.import_polls_to_complete = 0
    jobs = await client.imports.create(
        POOL, fake.default_mailing_list_id, contacts, max_contacts_per_job=2
    )
    assert len(jobs) == 3
    assert [job.first_index for job in jobs] == [0, 2, 4]
    statuses = await jobs.wait(poll_interval=0.01, timeout=5.0)
    assert all(status.done for status in statuses)
    assert sum(status.contacts_added or 0 for status in statuses) == 5
    assert len(fake.contacts()) == 5


async def test_import_validation_error_before_sending(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.clear_requests()
    with pytest.raises(ValidationError) as caught:
        await client.imports.create(
            POOL,
            fake.default_mailing_list_id,
            [ImportContact(email="a@example.com", transaction_data={"order": "A1"})],
        )
    assert "transaction_meta" in str(caught.value)
    with pytest.raises(ValidationError):
        await client.imports.create(POOL, fake.default_mailing_list_id, [])
    assert fake.requests() == []
    assert fake.imports() == []


# --- workflow triggers ----------------------------------------------------------------------------


async def test_trigger_with_token_auth_is_recorded(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    url = fake.add_workflow_trigger(auth="token")
    payload = {"event": "Order Completed", "orderId": "A1", "total": 12.5, "items": [1, 2]}
    result = await client.workflows.trigger_event(url, payload)
    assert result.status == 202
    (event,) = fake.trigger_events(url)
    assert event.payload == payload
    assert event.auth == "token"
    assert event.headers["X-API-TOKEN"] == "***"
    assert result.request_id == event.request_id


async def test_trigger_with_basic_auth(fake: FakeQualtrics, client: QualtricsClient) -> None:
    url = fake.add_workflow_trigger(auth="basic")
    await client.workflows.trigger_event(url, {"event": "x"}, auth="basic", username="ann#brand")
    (event,) = fake.trigger_events(url)
    assert (event.auth, event.username) == ("basic", "ann#brand")
    (request,) = fake.requests(method="POST")
    assert request.headers["Authorization"] == "***"
    assert "X-API-TOKEN" not in request.headers


async def test_trigger_with_wrong_auth_mode_is_refused_and_not_recorded(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    url = fake.add_workflow_trigger(auth="basic")
    with pytest.raises(AuthenticationError) as caught:
        await client.workflows.trigger_event(url, {"event": "x"})  # token auth
    assert not caught.value.ambiguous
    assert fake.trigger_events() == []


async def test_trigger_to_foreign_url_is_refused_with_nothing_sent(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    url = fake.add_workflow_trigger()
    token_id = url.rsplit("urlTokenId=", 1)[1]
    fake.clear_requests()
    foreign = [
        f"https://evil.example.com/inbound-event/v1/events/json/triggers?urlTokenId={token_id}",
        f"https://iad1.qualtrics.com.evil.example/inbound-event/v1/events/json/triggers?urlTokenId={token_id}",
        f"http://iad1.qualtrics.com/inbound-event/v1/events/json/triggers?urlTokenId={token_id}",
    ]
    for target in foreign:
        with pytest.raises(UnsafeURLError) as caught:
            await client.workflows.trigger_event(target, {"event": "x"})
        assert token_id not in str(caught.value)
    assert fake.requests() == []
    assert fake.trigger_events() == []


async def test_trigger_payload_over_100_kb_is_refused_before_sending(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    url = fake.add_workflow_trigger()
    envelope = len(json.dumps({"blob": ""}, separators=(",", ":")).encode())
    at_limit = {"blob": "x" * (100_000 - envelope)}
    over_limit = {"blob": "x" * (100_001 - envelope)}

    await client.workflows.trigger_event(url, at_limit)
    fake.clear_requests()
    with pytest.raises(ValidationError):
        await client.workflows.trigger_event(url, over_limit)
    assert fake.requests() == []
    (event,) = fake.trigger_events(url)
    assert event.payload == at_limit


async def test_fake_refuses_raw_payload_over_100_kb(fake: FakeQualtrics) -> None:
    # The fake's own limit (102,400 bytes) holds for clients that skip the SDK's check.
    url = fake.add_workflow_trigger(auth="none")
    body = json.dumps({"blob": "x" * 102_400}).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=body, headers={"Content-Type": "application/json"}) as response,
    ):
        assert response.status == 413
    assert fake.trigger_events() == []


async def test_basic_auth_with_a_wrong_token_is_refused(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    url = fake.add_workflow_trigger(auth="basic")
    async with fake.client(api_token="not-the-token", retry_policy=FAST_RETRIES) as bad_client:
        with pytest.raises(AuthenticationError):
            await bad_client.workflows.trigger_event(url, {"e": 1}, auth="basic", username="ann")
    assert fake.trigger_events() == []
    await client.workflows.trigger_event(url, {"e": 1}, auth="basic", username="ann")
    assert [event.username for event in fake.trigger_events(url)] == ["ann"]
