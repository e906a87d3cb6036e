"""client.transaction_batches: exact requests on the wire and permissive typed results."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import aioresponses

from qualtrics_sdk import (
    BatchTransaction,
    CreatedTransactionBatch,
    QualtricsClient,
    RetryPolicy,
    TransactionBatch,
    ValidationError,
)

API = "https://iad1.qualtrics.com/API/v3"
BATCHES = f"{API}/directories/POOL_1/transactionbatches"
PATH = "/API/v3/directories/POOL_1/transactionbatches"
META = {"httpStatus": "200 - OK", "requestId": "req-1"}
UTC = dt.timezone.utc


def sent(m: aioresponses) -> list[tuple[str, str, dict[str, str] | None, Any]]:
    """Every request made: (method, path, query params, decoded JSON body), in order."""
    out = []
    for (method, url), calls in m.requests.items():
        for call in calls:
            data = call.kwargs.get("data")
            body = json.loads(data) if data is not None else None
            out.append((method, url.path, call.kwargs.get("params"), body))
    return out


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    policy = RetryPolicy(max_retries=2, initial_delay=0)
    async with QualtricsClient(api_token="tok", datacenter="iad1", retry_policy=policy) as c:
        yield c


async def test_list_pages_through_batches(client: QualtricsClient) -> None:
    second = f"{BATCHES}?pageSize=1&skipToken=Mg"
    with aioresponses() as m:
        m.get(
            f"{BATCHES}?pageSize=1",
            payload={
                "result": {
                    "elements": [{"batchId": "BT_1", "creationDate": "2024-05-01T13:00:00Z"}],
                    "nextPage": second,
                },
                "meta": META,
            },
        )
        m.get(
            second,
            payload={
                "result": {
                    "elements": [{"batchId": "BT_2", "creationDate": 1714568400000}],
                    "nextPage": None,
                },
                "meta": META,
            },
        )
        batches = await client.transaction_batches.list("POOL_1", page_size=1).collect()
        requests = sent(m)
    assert requests[0] == ("GET", PATH, {"pageSize": "1"}, None)
    assert len(requests) == 2
    may_first = dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    assert all(isinstance(b, TransactionBatch) for b in batches)
    assert [(b.id, b.creation_date) for b in batches] == [("BT_1", may_first), ("BT_2", may_first)]


async def test_create_with_transactions_and_date(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(BATCHES, payload={"result": {"id": "BT_new"}, "meta": META})
        created = await client.transaction_batches.create(
            "POOL_1",
            transaction_ids=["CTR_1", "CTR_2"],
            creation_date=dt.datetime(
                2024, 5, 1, 9, 30, tzinfo=dt.timezone(-dt.timedelta(hours=4))
            ),
        )
        requests = sent(m)
    assert requests == [
        (
            "POST",
            PATH,
            None,
            {"transactionIds": ["CTR_1", "CTR_2"], "creationDate": "2024-05-01 13:30:00"},
        )
    ]
    assert isinstance(created, CreatedTransactionBatch)
    assert created.id == "BT_new"


async def test_create_an_empty_batch_sends_an_empty_object(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(BATCHES, payload={"result": {"id": "BT_new"}, "meta": META})
        created = await client.transaction_batches.create("POOL_1")
        assert sent(m) == [("POST", PATH, None, {})]
    assert created.id == "BT_new"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"transaction_ids": "CTR_1"}, "not a single string"),
        ({"transaction_ids": ["CTR_1", ""]}, r"transaction_ids\[1\]"),
        ({"creation_date": dt.datetime(2024, 5, 1)}, "timezone-aware"),
    ],
)
async def test_create_refuses_bad_input_before_sending(
    client: QualtricsClient, kwargs: dict[str, Any], match: str
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match=match):
            await client.transaction_batches.create("POOL_1", **kwargs)
        assert sent(m) == []


async def test_get_keeps_unknown_fields(client: QualtricsClient) -> None:
    result = {"batchId": "BT_1", "creationDate": "2024-05-01 13:00:00", "transactionCount": 2}
    with aioresponses() as m:
        m.get(f"{BATCHES}/BT_1", payload={"result": result, "meta": META})
        batch = await client.transaction_batches.get("POOL_1", "BT_1")
        assert sent(m) == [("GET", f"{PATH}/BT_1", None, None)]
    assert batch.id == "BT_1"
    assert batch.creation_date == dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    assert batch.extra == {"transactionCount": 2}


async def test_delete(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.delete(f"{BATCHES}/BT_1", payload={"meta": META})
        await client.transaction_batches.delete("POOL_1", "BT_1")
        assert sent(m) == [("DELETE", f"{PATH}/BT_1", None, None)]


async def test_add_transactions(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(f"{BATCHES}/BT_1/transactions", payload={"meta": META})
        await client.transaction_batches.add_transactions("POOL_1", "BT_1", ("CTR_1", "CTR_2"))
        requests = sent(m)
    assert requests == [
        ("POST", f"{PATH}/BT_1/transactions", None, {"transactionIds": ["CTR_1", "CTR_2"]})
    ]


@pytest.mark.parametrize("ids", [[], "CTR_1"])
async def test_add_transactions_refuses_empty_or_bare_string(
    client: QualtricsClient, ids: Any
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError) as info:
            await client.transaction_batches.add_transactions("POOL_1", "BT_1", ids)
        assert sent(m) == []
    assert info.value.field == "transaction_ids"


async def test_list_transactions_is_permissive(client: QualtricsClient) -> None:
    elements = [
        {"transactionId": "CTR_1", "dateAddedToBatch": "2024-05-01T13:00:00Z"},
        {
            "transactionId": "CTR_2",
            "contactId": "CID_2",
            "mailingListId": "CG_1",
            "transactionDate": "2024-05-01 13:00:00",
            "data": {"orderId": "A2"},
        },
    ]
    with aioresponses() as m:
        m.get(
            f"{BATCHES}/BT_1/transactions?pageSize=200",
            payload={"result": {"elements": elements, "nextPage": None}, "meta": META},
        )
        items = await client.transaction_batches.list_transactions(
            "POOL_1", "BT_1", page_size=200
        ).collect()
        requests = sent(m)
    assert requests == [("GET", f"{PATH}/BT_1/transactions", {"pageSize": "200"}, None)]
    assert all(isinstance(item, BatchTransaction) for item in items)
    assert [item.id for item in items] == ["CTR_1", "CTR_2"]
    assert items[0].extra == {"dateAddedToBatch": "2024-05-01T13:00:00Z"}
    assert items[0].contact_id is None
    assert items[1].contact_id == "CID_2"
    assert items[1].data == {"orderId": "A2"}


async def test_remove_transaction(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.delete(f"{BATCHES}/BT_1/transactions/CTR_1", payload={"meta": META})
        await client.transaction_batches.remove_transaction("POOL_1", "BT_1", "CTR_1")
        assert sent(m) == [("DELETE", f"{PATH}/BT_1/transactions/CTR_1", None, None)]


async def test_page_size_must_be_positive(client: QualtricsClient) -> None:
    with pytest.raises(ValidationError) as info:
        client.transaction_batches.list("POOL_1", page_size=0)
    assert info.value.field == "page_size"
