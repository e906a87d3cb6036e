"""QualtricsDestination against a mocked Qualtrics: the hosted destination's tests, ported, and
one test per fixed defect. Request bodies are asserted exactly as they go on the wire."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from _destination_helpers import (
    API,
    CONTACTS,
    SEARCH,
    TOKEN,
    TRANSACTIONS,
    create_all,
    created,
    envelope,
    error_body,
    expected_key,
    found,
    identify,
    make_client,
    sent,
    track,
)
from aioresponses import aioresponses

from qualtrics_sdk import QualtricsClient
from segment_adapter import (
    ConfigError,
    EventResult,
    MemoryLedger,
    QualtricsDestination,
    Subscription,
    SubscriptionResult,
)

TX_PATH = "/API/v3/directories/POOL_1/transactions"
CONTACTS_PATH = "/API/v3/directories/POOL_1/contacts"
SEARCH_PATH = f"{CONTACTS_PATH}/search"
WORKFLOW = "https://testdc.qualtrics.com/workflow-trigger?urlTokenId=abc"


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    async with make_client() as made:
        yield made


def add_contact(**mapping: Any) -> Subscription:
    return Subscription(action="addContactToXmd", mapping={"directoryId": "POOL_1", **mapping})


def upsert(name: str | None = None, **mapping: Any) -> Subscription:
    return Subscription(
        action="upsertContactTransaction",
        name=name,
        mapping={"directoryId": "POOL_1", "mailingListId": "CG_1", **mapping},
    )


def only(result: EventResult) -> SubscriptionResult:
    (subscription,) = result.subscriptions
    return subscription


# --- addContactToXmd (hosted tests) -------------------------------------------------------------


async def test_add_contact_with_default_mappings(client: QualtricsClient) -> None:
    subscription = Subscription(
        action="addContactToXmd", mapping={"directoryId": {"@path": "$.traits.directoryId"}}
    )
    destination = QualtricsDestination(client, [subscription])
    with aioresponses() as m:
        m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}))
        result = await destination.send(identify())
    assert sent(m) == [
        (
            "POST",
            CONTACTS_PATH,
            {
                "extRef": "user-1",
                "firstName": "Ann",
                "lastName": "Lee",
                "email": "ann@example.com",
                "phone": "+15550100",
                "unsubscribed": False,
                "language": "EN",
            },
        )
    ]
    assert result.status == "delivered"
    assert only(result) == SubscriptionResult(
        action="addContactToXmd", index=0, status="delivered", contact_id="CID_NEW"
    )


async def test_add_contact_passes_embedded_data_mapping(client: QualtricsClient) -> None:
    destination = QualtricsDestination(
        client, [add_contact(embeddedData={"region": {"@path": "$.traits.region"}})]
    )
    event = identify()
    event["traits"]["region"] = "EMEA"
    with aioresponses() as m:
        m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}))
        await destination.send(event)
    ((_, _, body),) = sent(m)
    assert body["embeddedData"] == {"region": "EMEA"}


async def test_d9_add_contact_is_one_create_with_ext_ref_from_user_id_only(
    client: QualtricsClient,
) -> None:
    """Kept from the hosted action (documented, D9): no search, and an anonymous identify
    gets no extRef (no anonymousId fallback), so dedup is up to the directory's settings."""
    destination = QualtricsDestination(client, [add_contact()])
    event = identify()
    del event["userId"]
    event["anonymousId"] = "anon-1"
    with aioresponses() as m:
        m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}))
        result = await destination.send(event)
    assert sent(m) == [
        (
            "POST",
            CONTACTS_PATH,
            {
                "firstName": "Ann",
                "lastName": "Lee",
                "email": "ann@example.com",
                "phone": "+15550100",
                "unsubscribed": False,
                "language": "EN",
            },
        )
    ]
    assert only(result).contact_id == "CID_NEW"


async def test_add_contact_without_directory_id_is_a_config_error(
    client: QualtricsClient,
) -> None:
    with pytest.raises(ConfigError, match="directoryId") as caught:
        QualtricsDestination(client, [Subscription(action="addContactToXmd")])
    assert (caught.value.subscription, caught.value.field) == (0, "directoryId")


# --- upsertContactTransaction (hosted tests) ----------------------------------------------------


async def test_upsert_with_contact_id_posts_one_transaction(client: QualtricsClient) -> None:
    destination = QualtricsDestination(
        client, [upsert(contactId="CID_GIVEN", transactionData={"Key": "Value"})]
    )
    key = expected_key("upsertContactTransaction#0", "messageId:msg-1")
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(**{key: "CTR_1"}))
        result = await destination.send(track())
    assert sent(m) == [
        (
            "POST",
            TX_PATH,
            {
                key: {
                    "contactId": "CID_GIVEN",
                    "mailingListId": "CG_1",
                    "transactionDate": "2024-05-01 13:00:00",
                    "data": {"Key": "Value"},
                }
            },
        )
    ]
    assert only(result).transaction_id == "CTR_1"
    assert only(result).contact_id == "CID_GIVEN"


async def test_upsert_search_hit_uses_the_found_contact(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [upsert()])
    key = expected_key("upsertContactTransaction#0", "messageId:msg-1")
    with aioresponses() as m:
        m.post(SEARCH, payload=found("CID_FOUND"))
        m.post(TRANSACTIONS, payload=created(**{key: "CTR_1"}))
        result = await destination.send(track())
    search, transaction = sent(m)
    assert search == (
        "POST",
        SEARCH_PATH,
        {
            "filter": {
                "conjunction": "and",
                "filters": [
                    {"filterType": "extRef", "comparison": "eq", "value": "user-1"},
                    {"filterType": "phone", "comparison": "eq", "value": "+15550100"},
                    {"filterType": "email", "comparison": "eq", "value": "ann@example.com"},
                ],
            }
        },
    )
    assert transaction[2] == {
        key: {
            "contactId": "CID_FOUND",
            "mailingListId": "CG_1",
            "transactionDate": "2024-05-01 13:00:00",
            "data": {},
        }
    }
    assert (only(result).status, only(result).contact_id) == ("delivered", "CID_FOUND")


async def test_upsert_search_miss_creates_the_contact(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [upsert()])
    key = expected_key("upsertContactTransaction#0", "messageId:msg-1")
    event = track()
    event["context"]["traits"].update(firstName="Ann", lastName="Lee")
    with aioresponses() as m:
        m.post(SEARCH, payload=found())
        m.post(CONTACTS, payload=envelope({"id": "CID_CREATED"}))
        m.post(TRANSACTIONS, payload=created(**{key: "CTR_1"}))
        result = await destination.send(event)
    search, create, transaction = sent(m)
    assert search[1] == SEARCH_PATH
    assert create == (
        "POST",
        CONTACTS_PATH,
        {
            "extRef": "user-1",
            "email": "ann@example.com",
            "phone": "+15550100",
            "firstName": "Ann",
            "lastName": "Lee",
            "language": "EN",
            "unsubscribed": False,
        },
    )
    assert transaction[2][key]["contactId"] == "CID_CREATED"
    assert only(result).contact_id == "CID_CREATED"


async def test_upsert_with_several_matches_fails_without_retry(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [upsert()])
    with aioresponses() as m:
        m.post(SEARCH, payload=found("CID_A", "CID_B"))
        result = await destination.send(track())
    assert [request[1] for request in sent(m)] == [SEARCH_PATH]
    assert (result.status, result.retryable) == ("failed", False)
    assert "CID_A, CID_B" in (only(result).error or "")


# --- triggerXflowWorkflow (hosted tests) --------------------------------------------------------


async def test_workflow_custom_mapping_posts_with_the_api_token(client: QualtricsClient) -> None:
    subscription = Subscription(
        action="triggerXflowWorkflow",
        subscribe='type = "track"',
        mapping={
            "workflowUrl": WORKFLOW,
            "eventPayload": {"orderId": {"@path": "$.properties.orderId"}, "source": "segment"},
        },
    )
    destination = QualtricsDestination(client, [subscription])
    with aioresponses() as m:
        m.post(WORKFLOW, status=202, payload={})
        result = await destination.send(track())
    ((method, url), (call,)) = next(iter(m.requests.items()))
    assert (method, str(url)) == ("POST", WORKFLOW)
    assert call.kwargs["headers"]["X-API-TOKEN"] == TOKEN
    assert sent(m)[0][2] == {"orderId": "A1", "source": "segment"}
    assert only(result).status == "delivered"


async def test_workflow_default_payload(client: QualtricsClient) -> None:
    subscription = Subscription(
        action="triggerXflowWorkflow",
        subscribe='type = "track"',
        mapping={"workflowUrl": WORKFLOW},
    )
    destination = QualtricsDestination(client, [subscription])
    event = track()
    with aioresponses() as m:
        m.post(WORKFLOW, status=202, payload={})
        await destination.send(event)
    assert sent(m)[0][2] == {
        "event": "Transaction Created",
        "type": "track",
        "userId": "user-1",
        "properties": {"orderId": "A1"},
        "traits": event["context"]["traits"],
        "context": event["context"],
    }


async def test_workflow_without_url_is_a_config_error(client: QualtricsClient) -> None:
    subscription = Subscription(action="triggerXflowWorkflow", subscribe='type = "track"')
    with pytest.raises(ConfigError, match="workflowUrl") as caught:
        QualtricsDestination(client, [subscription])
    assert caught.value.field == "workflowUrl"


# --- fixed defects ------------------------------------------------------------------------------


async def test_d1_workflow_token_never_goes_to_a_foreign_host(client: QualtricsClient) -> None:
    subscription = Subscription(
        action="triggerXflowWorkflow",
        subscribe='type = "track"',
        mapping={"workflowUrl": {"@path": "$.properties.hook"}},
    )
    destination = QualtricsDestination(client, [subscription])
    with aioresponses() as m:
        result = await destination.send(track(properties={"hook": "https://evil.example.com/x"}))
    assert sent(m) == []
    assert (result.status, result.retryable) == ("failed", False)
    assert "qualtrics.com" in (result.error or "")


async def test_d2_the_key_is_derived_from_message_id_and_subscription(
    client: QualtricsClient,
) -> None:
    subscriptions = [upsert(name="orders", contactId="CID_1"), upsert(contactId="CID_1")]
    destination = QualtricsDestination(client, subscriptions)
    keys = [
        expected_key("orders", "messageId:msg-1"),
        expected_key("upsertContactTransaction#1", "messageId:msg-1"),  # 2nd of its action
    ]
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(**{keys[0]: "CTR_1", keys[1]: "CTR_2"}))
        result = await destination.send(track())
    ((_, _, body),) = sent(m)
    assert list(body) == keys
    assert [item.transaction_id for item in result.subscriptions] == ["CTR_1", "CTR_2"]


async def test_d2_a_redelivery_is_not_sent_again(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
    key = expected_key("upsertContactTransaction#0", "messageId:msg-1")
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(**{key: "CTR_1"}))
        first = await destination.send(track())
        again = await destination.send(track())
    assert len(sent(m)) == 1
    assert (first.duplicate, again.duplicate, again.status) == (False, True, "delivered")
    assert (only(again).transaction_id, only(again).contact_id) == ("CTR_1", "CID_1")


async def test_d2_the_same_key_across_destinations_and_restarts(client: QualtricsClient) -> None:
    keys = []
    for _ in range(2):
        destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
        with aioresponses() as m:
            m.post(TRANSACTIONS, payload=created())
            await destination.send(track())
        keys.append(next(iter(sent(m)[0][2])))
    assert keys[0] == keys[1] == expected_key("upsertContactTransaction#0", "messageId:msg-1")


async def test_d4_unprocessed_transaction_fails_with_qualtrics_message(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
    key = expected_key("upsertContactTransaction#0", "messageId:msg-1")
    body = envelope(
        {
            "createdTransactions": {},
            "unprocessedTransactions": {
                key: {"error": "INVALID_DATE", "errorMessage": "transactionDate is invalid"}
            },
        }
    )
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=body)
        result = await destination.send(track())
    assert (result.status, result.retryable) == ("failed", False)
    assert "transactionDate is invalid" in (only(result).error or "")
    assert only(result).transaction_id is None


async def test_d4_unprocessed_is_not_recorded_as_delivered(client: QualtricsClient) -> None:
    ledger = MemoryLedger()
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")], ledger=ledger)
    key = expected_key("upsertContactTransaction#0", "messageId:msg-1")
    unprocessed = envelope({"unprocessedTransactions": {key: {"errorMessage": "no"}}})
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=unprocessed)
        m.post(TRANSACTIONS, payload=created(**{key: "CTR_1"}))
        first = await destination.send(track())
        second = await destination.send(track())
    assert (first.status, second.status, second.duplicate) == ("failed", "delivered", False)
    assert len(ledger) == 1


async def test_d5_nested_transaction_data_is_encoded_per_key(client: QualtricsClient) -> None:
    destination = QualtricsDestination(
        client,
        [
            upsert(
                contactId="CID_1",
                transactionData={
                    "products": {"@path": "$.properties.products"},
                    "shipping": {"@path": "$.properties.shipping"},
                    "coupon": {"@path": "$.properties.coupon"},
                    "total": {"@path": "$.properties.total"},
                },
            )
        ],
    )
    event = track(
        properties={
            "products": [{"sku": "A", "qty": 1}],
            "shipping": {"city": "Zürich"},
            "coupon": None,
            "total": 12.5,
        }
    )
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created())
        await destination.send(event)
    ((_, _, body),) = sent(m)
    assert next(iter(body.values()))["data"] == {
        "products": '[{"sku":"A","qty":1}]',
        "shipping": '{"city":"Zürich"}',
        "total": 12.5,
    }


async def test_d5_nested_embedded_data_is_encoded_per_key(client: QualtricsClient) -> None:
    destination = QualtricsDestination(
        client, [add_contact(embeddedData={"prefs": {"@path": "$.traits.prefs"}, "gone": None})]
    )
    event = identify()
    event["traits"]["prefs"] = {"news": True}
    with aioresponses() as m:
        m.post(CONTACTS, payload=envelope({"id": "CID_1"}))
        await destination.send(event)
    assert sent(m)[0][2]["embeddedData"] == {"prefs": '{"news":true}'}


async def test_d6_default_mappings_work_on_spec_track_events(client: QualtricsClient) -> None:
    subscription = Subscription(
        action="upsertContactTransaction", mapping={"directoryId": "POOL_1"}
    )
    destination = QualtricsDestination(client, [subscription])
    event = track()
    event["context"]["traits"].update(qualtricsMailingListId="CG_CTX", firstName="Ann")
    with aioresponses() as m:
        m.post(SEARCH, payload=found())
        m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}))
        m.post(TRANSACTIONS, callback=create_all)
        result = await destination.send(event)
    _, create, transaction = sent(m)
    assert create[2]["firstName"] == "Ann"
    assert next(iter(transaction[2].values()))["mailingListId"] == "CG_CTX"
    assert result.status == "delivered"


async def test_d6_an_explicit_traits_path_means_exactly_that_path(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(
        client, [upsert(contactId="CID_1", transactionData={"email": {"@path": "$.traits.email"}})]
    )
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created())
        await destination.send(track())  # email only in context.traits
    assert next(iter(sent(m)[0][2].values()))["data"] == {}


async def test_d7_the_comma_default_subscription_means_and(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=create_all)
        results = await destination.send_batch(
            [track("m1"), track("m2", event="Order Completed"), identify("m3")]
        )
    assert [result.status for result in results] == ["delivered", "skipped", "skipped"]
    assert len(next(iter(sent(m)[0][2].values()))) == 4
    assert len(sent(m)) == 1


@pytest.mark.parametrize("date", ["next tuesday", "2024-02-30T00:00:00Z", True])
async def test_d10_a_bad_date_fails_the_event_naming_the_value(
    client: QualtricsClient, date: Any
) -> None:
    destination = QualtricsDestination(
        client, [upsert(contactId="CID_1", transactionDate={"@path": "$.properties.when"})]
    )
    with aioresponses() as m:
        result = await destination.send(track(properties={"when": date}))
    assert sent(m) == []
    assert (result.status, result.retryable) == ("failed", False)
    assert "transactionDate" in (result.error or "")
    if isinstance(date, str):
        assert date in (result.error or "")


async def test_d10_epoch_milliseconds_and_offsets_become_utc(client: QualtricsClient) -> None:
    destination = QualtricsDestination(
        client, [upsert(contactId="CID_1", transactionDate={"@path": "$.properties.when"})]
    )
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created())
        m.post(TRANSACTIONS, payload=created())
        await destination.send(track("m1", properties={"when": 1714568400000}))
        await destination.send(track("m2", properties={"when": "2024-05-01T15:00:00+02:00"}))
    dates = [next(iter(body.values()))["transactionDate"] for _, _, body in sent(m)]
    assert dates == ["2024-05-01 13:00:00", "2024-05-01 13:00:00"]


async def test_d14_snake_case_traits_reach_the_contact(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [add_contact()])
    event = identify()
    event["traits"] = {"first_name": "Ann", "last_name": "Lee", "phone_number": "+1555"}
    with aioresponses() as m:
        m.post(CONTACTS, payload=envelope({"id": "CID_1"}))
        await destination.send(event)
    body = sent(m)[0][2]
    assert (body["firstName"], body["lastName"], body["phone"]) == ("Ann", "Lee", "+1555")


# --- results and retry classes -----------------------------------------------------------------


async def test_invalid_event_fails_without_retry_and_others_go_on(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
    bad = {"type": "track", "messageId": "bad-1", "userId": "u1"}  # no event name
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=create_all)
        results = await destination.send_batch([bad, track(), "nonsense"])
    assert [result.status for result in results] == ["failed", "delivered", "failed"]
    assert (results[0].message_id, results[0].event_type, results[0].retryable) == (
        "bad-1",
        "track",
        False,
    )
    assert "event" in (results[0].error or "")
    assert results[0].subscriptions == ()


async def test_missing_required_field_for_one_event_fails_only_that_event(
    client: QualtricsClient,
) -> None:
    subscription = Subscription(
        action="upsertContactTransaction", mapping={"directoryId": "POOL_1", "contactId": "C"}
    )
    destination = QualtricsDestination(client, [subscription])
    with_list = track("m1")
    with_list["context"]["traits"]["qualtricsMailingListId"] = "CG_1"
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=create_all)
        results = await destination.send_batch([track("m0"), with_list])
    assert [result.status for result in results] == ["failed", "delivered"]
    assert "missing required field 'mailingListId'" in (results[0].error or "")
    assert results[0].retryable is False


async def test_rate_limited_transactions_are_retryable_with_retry_after(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
    with aioresponses() as m:
        m.post(
            TRANSACTIONS,
            status=429,
            payload=error_body(429, "Too many requests"),
            headers={"Retry-After": "7"},
        )
        result = await destination.send(track())
    assert (result.status, result.retryable, result.retry_after) == ("failed", True, 7.0)
    assert only(result).retry_after == 7.0


async def test_a_rate_limited_contact_search_fails_every_waiting_event_with_retry_after(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [upsert()])
    with aioresponses() as m:
        m.post(
            SEARCH,
            status=429,
            payload=error_body(429, "Too many requests"),
            headers={"Retry-After": "3"},
        )
        results = await destination.send_batch([track("m1"), track("m2")])
    assert [path for _, path, _ in sent(m)] == [SEARCH_PATH]  # one lookup, nothing else sent
    assert [(r.status, r.retryable, r.retry_after) for r in results] == [("failed", True, 3.0)] * 2


async def test_a_bad_request_is_not_retryable(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [add_contact()])
    with aioresponses() as m:
        m.post(CONTACTS, status=400, payload=error_body(400, "Invalid language code"))
        result = await destination.send(identify())
    assert (result.status, result.retryable) == ("failed", False)
    assert "Invalid language code" in (result.error or "")


async def test_a_dropped_contact_create_is_retryable(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [add_contact()])
    with aioresponses() as m:
        m.post(CONTACTS, exception=aiohttp.ServerDisconnectedError())
        result = await destination.send(identify())
    assert (result.status, result.retryable) == ("failed", True)


async def test_the_event_status_is_the_worst_of_its_subscriptions(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(
        client,
        [
            Subscription(
                action="addContactToXmd",
                subscribe='type = "track"',
                mapping={"directoryId": "POOL_1"},
            ),
            upsert(name="orders", contactId="CID_1"),
        ],
    )
    with aioresponses() as m:
        m.post(CONTACTS, payload=envelope({"id": "CID_1"}))
        m.post(TRANSACTIONS, status=503, payload=error_body(503, "down"))
        result = await destination.send(track())
    assert [item.status for item in result.subscriptions] == ["delivered", "failed"]
    assert (result.status, result.retryable) == ("failed", True)
    assert result.error is not None
    assert result.error.startswith("orders: ")
    assert result.to_dict()["subscriptions"][1]["name"] == "orders"


async def test_result_to_dict_is_json_ready(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
    key = expected_key("upsertContactTransaction#0", "messageId:msg-1")
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(**{key: "CTR_1"}))
        result = await destination.send(track())
    assert json.loads(json.dumps(result.to_dict())) == {
        "message_id": "msg-1",
        "event_type": "track",
        "status": "delivered",
        "retryable": False,
        "duplicate": False,
        "error": None,
        "retry_after": None,
        "subscriptions": [
            {
                "action": "upsertContactTransaction",
                "index": 0,
                "name": None,
                "status": "delivered",
                "retryable": False,
                "duplicate": False,
                "contact_id": "CID_1",
                "transaction_id": "CTR_1",
                "error": None,
                "retry_after": None,
            }
        ],
    }


async def test_no_matching_subscription_is_skipped(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [add_contact()])
    with aioresponses() as m:
        result = await destination.send(track())
    assert sent(m) == []
    assert (result.status, result.subscriptions, result.duplicate) == ("skipped", (), False)


async def test_send_batch_looks_up_each_identity_once_and_posts_transactions_once(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [upsert()])
    events = [track(f"m{i}", userId=f"user-{i % 3}", context={"traits": {}}) for i in range(12)]
    with aioresponses() as m:
        m.post(SEARCH, payload=found("CID_0"), repeat=True)
        m.post(TRANSACTIONS, callback=create_all, repeat=True)
        results = await destination.send_batch(events)
    searches = [body for _, path, body in sent(m) if path == SEARCH_PATH]
    posts = [body for _, path, body in sent(m) if path == TX_PATH]
    assert sorted(search["filter"]["value"] for search in searches) == [
        "user-0",
        "user-1",
        "user-2",
    ]
    assert len(posts) == 1
    assert len(posts[0]) == 12
    assert {result.status for result in results} == {"delivered"}
    assert {result.subscriptions[0].contact_id for result in results} == {"CID_0"}


async def test_a_transaction_qualtrics_does_not_mention_is_not_a_success(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created())
        result = await destination.send(track())
    assert (result.status, result.retryable) == ("failed", False)
    assert "neither as created nor as unprocessed" in (result.error or "")


async def test_send_after_aclose_is_refused(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [add_contact()])
    await destination.aclose()
    await destination.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await destination.send(identify())
    assert client.session is None or not client.session.closed  # not ours to close


def test_repr_does_not_show_the_token(client: QualtricsClient) -> None:
    destination = QualtricsDestination(client, [add_contact()])
    assert TOKEN not in repr(destination)
    assert re.search(r"subscriptions=1", repr(destination))


def test_api_base_is_iad1() -> None:
    assert API.startswith("https://iad1.qualtrics.com")


async def test_without_a_timestamp_the_events_own_time_is_the_date(
    client: QualtricsClient,
) -> None:
    destination = QualtricsDestination(client, [upsert(contactId="CID_1")])
    event = track()
    del event["timestamp"]
    event["receivedAt"] = "2024-05-02T08:30:00+00:00"
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=create_all)
        result = await destination.send(event)
    assert next(iter(sent(m)[0][2].values()))["transactionDate"] == "2024-05-02 08:30:00"
    assert result.status == "delivered"
