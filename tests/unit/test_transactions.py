"""client.transactions: keyed bodies, chunking in input order, partial success, chunk failures."""

from __future__ import annotations

import datetime as dt
import json
import pickle
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import CallbackResult, aioresponses

from qualtrics_sdk import (
    APIError,
    BadRequestError,
    QualtricsClient,
    RetryPolicy,
    ServerError,
    Transaction,
    TransactionChunkError,
    TransactionCreate,
    TransactionError,
    TransactionResult,
    UnprocessedTransactionsError,
    ValidationError,
)

API = "https://iad1.qualtrics.com/API/v3"
TRANSACTIONS = f"{API}/directories/POOL_1/transactions"
PATH = "/API/v3/directories/POOL_1/transactions"
META = {"httpStatus": "200 - OK", "requestId": "req-1"}
UTC = dt.timezone.utc
WHEN = dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)


def tx(n: int = 1, *, key: str | None = None, **data: Any) -> TransactionCreate:
    return TransactionCreate(
        contact_id=f"CID_{n}",
        mailing_list_id="CG_1",
        transaction_date=WHEN,
        data=data or {"orderId": f"A{n}"},
        key=key,
    )


def wire(n: int, **data: Any) -> dict[str, Any]:
    """What tx(n) must look like on the wire."""
    return {
        "contactId": f"CID_{n}",
        "mailingListId": "CG_1",
        "transactionDate": "2024-05-01 13:00:00",
        "data": data or {"orderId": f"A{n}"},
    }


def created(**ids: str) -> dict[str, Any]:
    return {"result": {"createdTransactions": {k: {"id": v} for k, v in ids.items()}}, "meta": META}


def bodies(m: aioresponses) -> list[dict[str, Any]]:
    """The JSON bodies of every POST to the transactions endpoint, in the order sent."""
    out = []
    for (method, url), calls in m.requests.items():
        assert (method, url.path) == ("POST", PATH)
        for call in calls:
            assert call.kwargs.get("params") is None
            out.append(json.loads(call.kwargs["data"]))
    return out


def echo_created(url: Any, **kwargs: Any) -> CallbackResult:
    """A fake Qualtrics that creates every transaction sent: id CTR_<contactId>."""
    body = json.loads(kwargs["data"])
    ids = {key: {"id": f"CTR_{value['contactId']}"} for key, value in body.items()}
    return CallbackResult(payload={"result": {"createdTransactions": ids}, "meta": META})


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    policy = RetryPolicy(max_retries=2, initial_delay=0)
    async with QualtricsClient(api_token="tok", datacenter="iad1", retry_policy=policy) as c:
        yield c


# --- TransactionCreate --------------------------------------------------------------------------


def test_naive_transaction_date_is_refused_at_construction() -> None:
    with pytest.raises(ValidationError, match="timezone-aware") as info:
        TransactionCreate(
            contact_id="CID_1", mailing_list_id="CG_1", transaction_date=dt.datetime(2024, 5, 1)
        )
    assert info.value.field == "transaction_date"


def test_a_date_is_not_a_transaction_date() -> None:
    with pytest.raises(ValidationError, match="transaction_date"):
        TransactionCreate(
            contact_id="CID_1",
            mailing_list_id="CG_1",
            transaction_date=dt.date(2024, 5, 1),  # type: ignore[arg-type]
        )


def test_transaction_date_is_sent_as_utc_seconds() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    item = TransactionCreate(
        contact_id="CID_1",
        mailing_list_id="CG_1",
        transaction_date=dt.datetime(2024, 5, 1, 15, 0, 7, 999_000, tzinfo=paris),
    )
    assert item.to_wire() == {
        "contactId": "CID_1",
        "mailingListId": "CG_1",
        "transactionDate": "2024-05-01 13:00:07",
        "data": {},
    }


def test_nested_data_is_refused_naming_the_key() -> None:
    with pytest.raises(ValidationError, match="json_encode_nested") as info:
        tx(items=[{"sku": "X"}])
    assert info.value.field == "data['items']"


def test_nested_data_is_json_encoded_when_asked() -> None:
    item = TransactionCreate(
        contact_id="CID_1",
        mailing_list_id="CG_1",
        transaction_date=WHEN,
        data={"items": [{"sku": "X", "qty": 2}], "total": 12.5},
        json_encode_nested=True,
    )
    assert item.to_wire()["data"] == {"items": '[{"sku":"X","qty":2}]', "total": 12.5}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"contact_id": ""}, "contact_id"),
        ({"mailing_list_id": None}, "mailing_list_id"),
        ({"key": ""}, "key"),
        ({"data": {"n": None}}, "data['n']"),
        ({"data": {"n": float("nan")}}, "data['n']"),
    ],
)
def test_bad_fields_are_refused_at_construction(kwargs: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {
        "contact_id": "CID_1",
        "mailing_list_id": "CG_1",
        "transaction_date": WHEN,
        **kwargs,
    }
    with pytest.raises(ValidationError) as info:
        TransactionCreate(**values)
    assert info.value.field == field


def test_a_transaction_survives_pickling_and_can_be_hashed() -> None:
    item = tx(1, key="evt-1", amount=12.5)
    restored = pickle.loads(pickle.dumps(item))
    assert restored == item
    assert hash(restored) == hash(item)
    assert restored.to_wire() == wire(1, amount=12.5)


# --- create -------------------------------------------------------------------------------------


async def test_create_sends_an_object_keyed_by_the_callers_keys(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(**{"evt-1": "CTR_a", "evt-2": "CTR_b"}))
        result = await client.transactions.create(
            "POOL_1",
            [
                tx(1, key="evt-1", orderId="A1", amount=12.5, vip=True),
                tx(2, key="evt-2", orderId="A2", amount=3, vip=False),
            ],
        )
        sent = bodies(m)
    assert sent == [
        {
            "evt-1": wire(1, orderId="A1", amount=12.5, vip=True),
            "evt-2": wire(2, orderId="A2", amount=3, vip=False),
        }
    ]
    assert isinstance(result, TransactionResult)
    assert result.created == {"evt-1": "CTR_a", "evt-2": "CTR_b"}
    assert result.unprocessed == {}
    assert result.ok
    assert result.raise_for_unprocessed() is result
    assert [info.request_id for info in result.response_infos] == ["req-1"]


async def test_create_accepts_a_mapping_of_key_to_transaction(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(k1="CTR_a"))
        result = await client.transactions.create("POOL_1", {"k1": tx(1)})
        assert bodies(m) == [{"k1": wire(1)}]
    assert result.created == {"k1": "CTR_a"}


async def test_partial_success_is_reported_per_key_and_raises_on_request(
    client: QualtricsClient,
) -> None:
    payload = {
        "result": {
            "createdTransactions": {"ok-1": {"id": "CTR_1"}},
            "unprocessedTransactions": {
                "bad-2": {
                    "error": "INVALID_CONTACT",
                    "errorMessage": "Contact CID_2 does not exist",
                    "field": "contactId",
                }
            },
        },
        "meta": META,
    }
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=payload)
        result = await client.transactions.create("POOL_1", [tx(1, key="ok-1"), tx(2, key="bad-2")])
    assert result.created == {"ok-1": "CTR_1"}
    assert result.unprocessed == {
        "bad-2": TransactionError(
            error="INVALID_CONTACT",
            error_message="Contact CID_2 does not exist",
            extra={"field": "contactId"},
        )
    }
    assert not result.ok
    with pytest.raises(UnprocessedTransactionsError, match="Contact CID_2 does not exist") as info:
        result.raise_for_unprocessed()
    assert info.value.created == {"ok-1": "CTR_1"}
    assert list(info.value.unprocessed) == ["bad-2"]
    assert info.value.unprocessed["bad-2"].error == "INVALID_CONTACT"
    restored = pickle.loads(pickle.dumps(info.value))
    assert restored.unprocessed == info.value.unprocessed
    assert restored.created == {"ok-1": "CTR_1"}


async def test_a_key_missing_from_the_response_is_never_dropped(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=created(a="CTR_a"))
        result = await client.transactions.create("POOL_1", [tx(1, key="a"), tx(2, key="b")])
    assert result.created == {"a": "CTR_a"}
    assert list(result.unprocessed) == ["b"]
    assert result.unprocessed["b"].error == "notInResponse"
    assert not result.ok


async def test_250_transactions_make_three_requests_in_input_order(
    client: QualtricsClient,
) -> None:
    items = [tx(n, key=f"evt-{n:03d}") for n in range(250)]
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=echo_created, repeat=True)
        result = await client.transactions.create("POOL_1", items)
        sent = bodies(m)
    assert [len(body) for body in sent] == [100, 100, 50]
    expected_keys = [f"evt-{n:03d}" for n in range(250)]
    assert [key for body in sent for key in body] == expected_keys
    assert [value for body in sent for value in body.values()] == [wire(n) for n in range(250)]
    assert list(result.created) == expected_keys
    assert result.created["evt-000"] == "CTR_CID_0"
    assert result.created["evt-249"] == "CTR_CID_249"
    assert result.unprocessed == {}
    assert len(result.response_infos) == 3


async def test_max_per_request_sets_the_chunk_size(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=echo_created, repeat=True)
        result = await client.transactions.create(
            "POOL_1", [tx(n) for n in range(5)], max_per_request=2
        )
        sizes = [len(body) for body in bodies(m)]
    assert sizes == [2, 2, 1]
    assert len(result.created) == 5


async def test_missing_keys_are_generated_unique_and_reported(client: QualtricsClient) -> None:
    items = [tx(1), tx(2, key="mine"), tx(3)]
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=echo_created)
        result = await client.transactions.create("POOL_1", items)
        [body] = bodies(m)
    keys = list(body)
    assert keys[1] == "mine"
    assert len(set(keys)) == 3
    assert all(re.fullmatch(r"[0-9a-f]{16}", key) for key in (keys[0], keys[2]))
    assert [body[key]["contactId"] for key in keys] == ["CID_1", "CID_2", "CID_3"]
    assert list(result.created) == keys
    assert [result.created[key] for key in keys] == ["CTR_CID_1", "CTR_CID_2", "CTR_CID_3"]


async def test_duplicate_keys_are_refused_before_sending(client: QualtricsClient) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="duplicate transaction key 'evt-1'"):
            await client.transactions.create(
                "POOL_1", [tx(1, key="evt-1"), tx(2, key="evt-2"), tx(3, key="evt-1")]
            )
        assert m.requests == {}


async def test_mapping_key_must_agree_with_the_items_key(client: QualtricsClient) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="must agree"):
            await client.transactions.create("POOL_1", {"a": tx(1, key="b")})
        assert m.requests == {}


@pytest.mark.parametrize(
    "transactions",
    [
        pytest.param([{"contactId": "CID_1"}], id="dict-item"),
        pytest.param(tx(1), id="single-item"),
    ],
)
async def test_non_transaction_input_is_refused(client: QualtricsClient, transactions: Any) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="TransactionCreate"):
            await client.transactions.create("POOL_1", transactions)
        assert m.requests == {}


@pytest.mark.parametrize("size", [0, -1, True])
async def test_max_per_request_must_be_positive(client: QualtricsClient, size: Any) -> None:
    with pytest.raises(ValidationError) as info:
        await client.transactions.create("POOL_1", [tx(1)], max_per_request=size)
    assert info.value.field == "max_per_request"


async def test_empty_input_sends_nothing(client: QualtricsClient) -> None:
    with aioresponses() as m:
        result = await client.transactions.create("POOL_1", [])
        assert m.requests == {}
    assert result.ok
    assert result.created == {}


async def test_a_500_on_a_chunk_is_ambiguous_and_keeps_the_earlier_chunks(
    client: QualtricsClient,
) -> None:
    items = [tx(n, key=f"k{n}") for n in range(5)]
    error_body = {
        "meta": {
            "httpStatus": "500 - Internal Server Error",
            "requestId": "req-500",
            "error": {"errorMessage": "Internal error"},
        }
    }
    with aioresponses() as m:
        m.post(TRANSACTIONS, callback=echo_created)
        m.post(TRANSACTIONS, status=500, payload=error_body)
        m.post(TRANSACTIONS, callback=echo_created)  # must never be used
        with pytest.raises(TransactionChunkError) as info:
            await client.transactions.create("POOL_1", items, max_per_request=2)
        sent = bodies(m)
    assert [list(body) for body in sent] == [["k0", "k1"], ["k2", "k3"]]  # not retried, k4 unsent
    error = info.value
    assert isinstance(error, APIError)
    assert error.ambiguous is True
    assert error.status == 500
    assert isinstance(error.cause, ServerError)
    assert error.__cause__ is error.cause
    assert error.cause.request_id == "req-500"
    assert error.partial_result.created == {"k0": "CTR_CID_0", "k1": "CTR_CID_1"}
    assert error.partial_result.unprocessed == {}
    assert error.failed_keys == ("k2", "k3")
    assert error.unsent_keys == ("k4",)
    assert "request 2 of 3" in str(error)
    restored = pickle.loads(pickle.dumps(error))
    assert restored.partial_result == error.partial_result
    assert (restored.failed_keys, restored.unsent_keys) == (("k2", "k3"), ("k4",))
    assert restored.ambiguous is True


async def test_a_400_on_the_first_chunk_is_not_ambiguous(client: QualtricsClient) -> None:
    error_body = {
        "meta": {
            "httpStatus": "400 - Bad Request",
            "error": {"errorCode": "QVAL_1", "errorMessage": "Invalid transactionDate"},
        }
    }
    with aioresponses() as m:
        m.post(TRANSACTIONS, status=400, payload=error_body)
        with pytest.raises(TransactionChunkError) as info:
            await client.transactions.create("POOL_1", [tx(1, key="a"), tx(2, key="b")])
    error = info.value
    assert error.ambiguous is False
    assert error.status == 400
    assert isinstance(error.cause, BadRequestError)
    assert error.partial_result.created == {}
    assert error.failed_keys == ("a", "b")
    assert error.unsent_keys == ()
    assert "Invalid transactionDate" in str(error)


async def test_an_unreadable_success_body_is_ambiguous(client: QualtricsClient) -> None:
    payload = {"result": {"createdTransactions": {"a": {"status": "ok"}}}, "meta": META}
    with aioresponses() as m:
        m.post(TRANSACTIONS, payload=payload)
        with pytest.raises(TransactionChunkError, match="no transaction id") as info:
            await client.transactions.create("POOL_1", [tx(1, key="a")])
    assert info.value.ambiguous is True
    assert info.value.failed_keys == ("a",)


# --- get / update / delete ----------------------------------------------------------------------


async def test_get_parses_a_transaction(client: QualtricsClient) -> None:
    result = {
        "contactId": "CID_6FDjfOLAQtB7T9z",
        "mailingListId": "CG_bmciqpffjUw2Pjf",
        "transactionDate": "2017-12-11 00:00:00",
        "data": {"amount": "546", "currency": "USD", "type": "open account"},
        "transactionId": "CTR_3xePNXNaHMC3EJn",
    }
    with aioresponses() as m:
        m.get(f"{TRANSACTIONS}/CTR_3xePNXNaHMC3EJn", payload={"result": result, "meta": META})
        transaction = await client.transactions.get("POOL_1", "CTR_3xePNXNaHMC3EJn")
        [((method, url), [call])] = m.requests.items()
    assert (method, url.path, call.kwargs.get("params")) == (
        "GET",
        f"{PATH}/CTR_3xePNXNaHMC3EJn",
        None,
    )
    assert isinstance(transaction, Transaction)
    assert transaction.id == "CTR_3xePNXNaHMC3EJn"
    assert transaction.contact_id == "CID_6FDjfOLAQtB7T9z"
    assert transaction.mailing_list_id == "CG_bmciqpffjUw2Pjf"
    assert transaction.transaction_date == dt.datetime(2017, 12, 11, tzinfo=UTC)
    assert transaction.data == {"amount": "546", "currency": "USD", "type": "open account"}


async def test_update_sends_date_and_data(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.put(f"{TRANSACTIONS}/CTR_1", payload={"meta": META})
        m.put(f"{TRANSACTIONS}/CTR_1", payload={"meta": META})
        await client.transactions.update(
            "POOL_1",
            "CTR_1",
            transaction_date=dt.datetime(
                2024, 5, 1, 9, 0, tzinfo=dt.timezone(-dt.timedelta(hours=4))
            ),
            data={"amount": 20, "refunded": True},
        )
        await client.transactions.update("POOL_1", "CTR_1", data={"note": "x"})
        [((method, url), calls)] = m.requests.items()
    assert (method, url.path) == ("PUT", f"{PATH}/CTR_1")
    assert [json.loads(c.kwargs["data"]) for c in calls] == [
        {"transactionDate": "2024-05-01 13:00:00", "data": {"amount": 20, "refunded": True}},
        {"data": {"note": "x"}},
    ]


async def test_update_without_fields_or_with_a_naive_date_is_refused(
    client: QualtricsClient,
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="transaction_date= or data="):
            await client.transactions.update("POOL_1", "CTR_1")
        with pytest.raises(ValidationError, match="timezone-aware"):
            await client.transactions.update(
                "POOL_1", "CTR_1", transaction_date=dt.datetime(2024, 5, 1)
            )
        assert m.requests == {}


async def test_delete(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.delete(f"{TRANSACTIONS}/CTR_1", payload={"meta": META})
        await client.transactions.delete("POOL_1", "CTR_1")
        [((method, url), [call])] = m.requests.items()
    assert (method, url.path, call.kwargs.get("data")) == ("DELETE", f"{PATH}/CTR_1", None)
