"""Transactions (partial success inside a 200), a contact's transactions, and batches."""

from __future__ import annotations

import pytest
from fakewire import D, Raw, assert_error

from qualtrics_sdk.testing import FakeQualtrics


@pytest.fixture
def contact(fake: FakeQualtrics) -> str:
    return fake.add_contact(email="a@example.com")


def tx(contact_id: str, list_id: str, **overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "contactId": contact_id,
        "mailingListId": list_id,
        "transactionDate": "2024-05-01 13:00:00",
        "data": {"orderId": "A1", "amount": 12.5, "vip": True, "count": 3},
    }
    body.update(overrides)
    return body


async def test_create_reports_created_and_unprocessed_per_key(
    raw: Raw, fake: FakeQualtrics, contact: str
) -> None:
    ml = fake.default_mailing_list_id
    body = {
        "k-ok": tx(contact, ml),
        "k-contact": tx("CID_missing", ml),
        "k-list": tx(contact, "CG_missing"),
        "k-date": tx(contact, ml, transactionDate="2024-05-01T13:00:00Z"),
        "k-data": tx(contact, ml, data={"nested": {"a": 1}}),
        "k-null": tx(contact, ml, data={"gone": None}),
        "k-extra": tx(contact, ml, note="x"),
    }
    answer = await raw.post(f"{D}/transactions", body)
    assert answer.status == 200
    assert set(answer.result) == {"createdTransactions", "unprocessedTransactions"}
    created = answer.result["createdTransactions"]
    assert list(created) == ["k-ok"]
    assert set(created["k-ok"]) == {"id"}
    assert created["k-ok"]["id"].startswith("CTR_")
    unprocessed = answer.result["unprocessedTransactions"]
    assert unprocessed == {
        "k-contact": {
            "error": "CONTACT_NOT_FOUND",
            "errorMessage": "Contact CID_missing not found in directory POOL_DEFAULT.",
        },
        "k-list": {
            "error": "MAILING_LIST_NOT_FOUND",
            "errorMessage": "Mailing list CG_missing not found in directory POOL_DEFAULT.",
        },
        "k-date": {
            "error": "INVALID_TRANSACTION_DATE",
            "errorMessage": "transactionDate must be a UTC date formatted YYYY-MM-DD HH:MM:SS, "
            "got '2024-05-01T13:00:00Z'.",
        },
        "k-data": {
            "error": "INVALID_DATA",
            "errorMessage": "Invalid value for data key 'nested': values must be strings, numbers "
            "or booleans, not objects or arrays.",
        },
        "k-null": {
            "error": "INVALID_DATA",
            "errorMessage": "Invalid value null for data key 'gone'; omit the key instead.",
        },
        "k-extra": {
            "error": "INVALID_TRANSACTION",
            "errorMessage": "Unexpected json key provided: note",
        },
    }
    (stored,) = fake.transactions()
    assert stored.key == "k-ok"
    assert stored.data == {"orderId": "A1", "amount": "12.5", "vip": "true", "count": "3"}
    assert stored.transaction_date == "2024-05-01 13:00:00"


async def test_impossible_dates_are_unprocessed(
    raw: Raw, fake: FakeQualtrics, contact: str
) -> None:
    body = {"k": tx(contact, fake.default_mailing_list_id, transactionDate="2024-02-30 10:00:00")}
    answer = await raw.post(f"{D}/transactions", body)
    assert answer.result["unprocessedTransactions"]["k"]["error"] == "INVALID_TRANSACTION_DATE"


async def test_reposting_creates_another_transaction(
    raw: Raw, fake: FakeQualtrics, contact: str
) -> None:
    body = {"same-key": tx(contact, fake.default_mailing_list_id)}
    first = await raw.post(f"{D}/transactions", body)
    second = await raw.post(f"{D}/transactions", body)
    assert first.result["createdTransactions"] != second.result["createdTransactions"]
    assert len(fake.transactions(contact_id=contact)) == 2


@pytest.mark.parametrize("body", [{}, [], "x"])
async def test_body_must_be_a_non_empty_object(raw: Raw, body: object) -> None:
    answer = await raw.post(f"{D}/transactions", body)
    assert_error(
        answer,
        400,
        "The request body must be a non-empty JSON object keyed by your transaction keys.",
        "QVAL_1",
    )


async def test_get_append_update_delete(raw: Raw, fake: FakeQualtrics, contact: str) -> None:
    ml = fake.default_mailing_list_id
    created = await raw.post(f"{D}/transactions", {"k": tx(contact, ml)})
    tx_id = created.result["createdTransactions"]["k"]["id"]
    path = f"{D}/transactions/{tx_id}"
    got = await raw.get(path)
    assert got.result == {
        "transactionId": tx_id,
        "contactId": contact,
        "mailingListId": ml,
        "transactionDate": "2024-05-01 13:00:00",
        "data": {"orderId": "A1", "amount": "12.5", "vip": "true", "count": "3"},
    }
    appended = await raw.post(path, {"data": {"extra": 1, "orderId": "A2"}})
    assert set(appended.body) == {"meta"}
    assert (await raw.get(path)).result["data"] == {
        "orderId": "A2",
        "amount": "12.5",
        "vip": "true",
        "count": "3",
        "extra": "1",
    }
    updated = await raw.put(
        path, {"transactionDate": "2024-06-01 00:00:00", "data": {"only": "this"}}
    )
    assert set(updated.body) == {"meta"}
    after = (await raw.get(path)).result
    assert after["transactionDate"] == "2024-06-01 00:00:00"
    assert after["data"] == {"only": "this"}
    bad_date = await raw.put(path, {"transactionDate": "June 1"})
    assert bad_date.status == 400
    deleted = await raw.delete(path)
    assert set(deleted.body) == {"meta"}
    assert (await raw.get(path)).status == 404


async def test_contact_transactions_listing_paginates(
    raw: Raw, fake: FakeQualtrics, contact: str
) -> None:
    ids = [fake.add_transaction(contact, data={"n": i}) for i in range(5)]
    other = fake.add_contact(email="b@example.com")
    fake.add_transaction(other)
    path = f"{D}/contacts/{contact}/transactions"
    first = await raw.get(path, params={"pageSize": "3"})
    element = first.result["elements"][0]
    assert set(element) == {
        "transactionId",
        "contactId",
        "mailingListId",
        "transactionDate",
        "data",
    }
    assert element["data"] == {"n": "0"}
    second = await raw.get(first.result["nextPage"])
    assert second.result["nextPage"] is None
    listed = [e["transactionId"] for e in first.result["elements"] + second.result["elements"]]
    assert listed == ids
    empty = await raw.get(f"{D}/contacts/{fake.add_contact()}/transactions")
    assert empty.result == {"elements": [], "nextPage": None}
    assert (await raw.get(f"{D}/contacts/CID_missing/transactions")).status == 404


# -- batches -----------------------------------------------------------------------------------


async def test_batch_lifecycle(raw: Raw, fake: FakeQualtrics, contact: str) -> None:
    t1, t2, t3 = (fake.add_transaction(contact) for _ in range(3))
    created = await raw.post(f"{D}/transactionbatches", {"transactionIds": [t1]})
    assert created.status == 200
    batch_id = created.result["id"]
    assert batch_id.startswith("BT_")
    batch = f"{D}/transactionbatches/{batch_id}"
    got = await raw.get(batch)
    assert set(got.result) == {"batchId", "creationDate"}
    added = await raw.post(f"{batch}/transactions", {"transactionIds": [t2, t3]})
    assert set(added.body) == {"meta"}
    listed = await raw.get(f"{batch}/transactions", params={"pageSize": "2"})
    more = await raw.get(listed.result["nextPage"])
    elements = listed.result["elements"] + more.result["elements"]
    assert [e["transactionId"] for e in elements] == [t1, t2, t3]
    assert isinstance(elements[0]["dateAddedToBatch"], str)
    removed = await raw.delete(f"{batch}/transactions/{t2}")
    assert set(removed.body) == {"meta"}
    assert fake.transaction_batches()[0].transaction_ids == (t1, t3)
    assert (await raw.delete(f"{batch}/transactions/{t2}")).status == 404
    batches = await raw.get(f"{D}/transactionbatches")
    assert [b["batchId"] for b in batches.result["elements"]] == [batch_id]
    assert (await raw.delete(batch)).status == 200
    assert fake.transaction_batches() == []
    assert len(fake.transactions()) == 3


async def test_batch_rejects_unknown_transactions_atomically(
    raw: Raw, fake: FakeQualtrics, contact: str
) -> None:
    known = fake.add_transaction(contact)
    batch_id = fake.add_transaction_batch()
    answer = await raw.post(
        f"{D}/transactionbatches/{batch_id}/transactions", {"transactionIds": [known, "CTR_x"]}
    )
    assert_error(answer, 400, "Transactions not found: CTR_x", "QVAL_1")
    assert fake.transaction_batches()[0].transaction_ids == ()
    empty_create = await raw.post(f"{D}/transactionbatches")
    assert empty_create.status == 200


async def test_deleting_a_transaction_removes_it_from_batches(
    raw: Raw, fake: FakeQualtrics, contact: str
) -> None:
    transaction_id = fake.add_transaction(contact)
    fake.add_transaction_batch(transaction_ids=[transaction_id])
    await raw.delete(f"{D}/transactions/{transaction_id}")
    assert fake.transaction_batches()[0].transaction_ids == ()
