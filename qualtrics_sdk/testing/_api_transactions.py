"""Handlers: transactions, a contact's transactions, and transaction batches."""

from __future__ import annotations

from typing import Any, Final

import attrs

from ._http import Call, Context, RouteTable, page_result
from ._records import TransactionRecord
from ._state import Directory
from ._wire import (
    NO_RESULT,
    ApiError,
    Reply,
    bad_request,
    flat_values,
    iso_from_ms,
    valid_tx_date,
)

routes = RouteTable()

PAGE_SIZE: Final = 100
_TRANSACTION_KEYS: Final = frozenset({"contactId", "mailingListId", "transactionDate", "data"})


def transaction_element(record: TransactionRecord) -> dict[str, Any]:
    """A transaction as get and the listings return it (``data`` values are strings)."""
    return {
        "transactionId": record.id,
        "contactId": record.contact_id,
        "mailingListId": record.mailing_list_id,
        "transactionDate": record.transaction_date,
        "data": dict(record.data),
    }


class _Unprocessed(Exception):
    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error
        self.message = message


def _check_transaction(directory: Directory, spec: Any) -> tuple[str, str, str, dict[str, str]]:
    """Validate one transaction of a create body; raises _Unprocessed with the reason."""
    if not isinstance(spec, dict):
        raise _Unprocessed("INVALID_TRANSACTION", "Each transaction must be a JSON object.")
    unexpected = sorted(set(spec) - _TRANSACTION_KEYS)
    if unexpected:
        raise _Unprocessed("INVALID_TRANSACTION", f"Unexpected json key provided: {unexpected[0]}")
    contact_id = spec.get("contactId")
    if not isinstance(contact_id, str) or contact_id not in directory.contacts:
        raise _Unprocessed(
            "CONTACT_NOT_FOUND", f"Contact {contact_id} not found in directory {directory.id}."
        )
    list_id = spec.get("mailingListId")
    if not isinstance(list_id, str) or list_id not in directory.lists:
        raise _Unprocessed(
            "MAILING_LIST_NOT_FOUND",
            f"Mailing list {list_id} not found in directory {directory.id}.",
        )
    date = spec.get("transactionDate")
    if not valid_tx_date(date):
        raise _Unprocessed(
            "INVALID_TRANSACTION_DATE",
            f"transactionDate must be a UTC date formatted YYYY-MM-DD HH:MM:SS, got {date!r}.",
        )
    if "data" not in spec:
        raise _Unprocessed("INVALID_DATA", "data is required.")
    try:
        data = flat_values(spec["data"], "data")
    except ApiError as error:
        raise _Unprocessed("INVALID_DATA", error.message) from None
    return contact_id, list_id, date, data


@routes.add("POST", "/API/v3/directories/{d}/transactions")
def create_transactions(ctx: Context, call: Call) -> Reply:
    """``POST /directories/{d}/transactions``: body keyed by client keys; partial success in a 200.

    Unknown contacts or lists, bad dates and bad data land in ``unprocessedTransactions`` with
    ``error`` and ``errorMessage``; the rest are created.
    """
    state = ctx.state
    directory = state.directory(call.params["d"])
    body = call.json()
    if not isinstance(body, dict) or not body:
        raise bad_request(
            "The request body must be a non-empty JSON object keyed by your transaction keys."
        )
    created: dict[str, Any] = {}
    unprocessed: dict[str, Any] = {}
    for key, spec in body.items():
        try:
            contact_id, list_id, date, data = _check_transaction(directory, spec)
        except _Unprocessed as problem:
            unprocessed[key] = {"error": problem.error, "errorMessage": problem.message}
            continue
        record = state.add_transaction(
            directory,
            contact_id=contact_id,
            mailing_list_id=list_id,
            transaction_date=date,
            data=data,
            key=key,
        )
        created[key] = {"id": record.id}
    return Reply(result={"createdTransactions": created, "unprocessedTransactions": unprocessed})


@routes.add("GET", "/API/v3/directories/{d}/transactions/{t}")
def get_transaction(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/transactions/{t}``."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    return Reply(result=transaction_element(state.transaction(directory, call.params["t"])))


def _object_body(call: Call, allowed: frozenset[str]) -> dict[str, Any]:
    body = call.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    unexpected = sorted(set(body) - allowed)
    if unexpected:
        raise bad_request(f"Unexpected json key provided: {unexpected[0]}")
    return body


@routes.add("POST", "/API/v3/directories/{d}/transactions/{t}")
def append_transaction(ctx: Context, call: Call) -> Reply:
    """``POST /directories/{d}/transactions/{t}`` ``{"data": {...}}``: adds/overwrites data keys."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    record = state.transaction(directory, call.params["t"])
    body = _object_body(call, frozenset({"data"}))
    if "data" not in body:
        raise bad_request("data is required.")
    data = {**record.data, **flat_values(body["data"], "data")}
    state.replace_transaction(directory, attrs.evolve(record, data=data))
    return Reply(result=NO_RESULT)


@routes.add("PUT", "/API/v3/directories/{d}/transactions/{t}")
def update_transaction(ctx: Context, call: Call) -> Reply:
    """``PUT /directories/{d}/transactions/{t}``; meta only.

    Body ``{"transactionDate"?, "data"?, "mailingListId"?}``: given fields replace the stored ones
    (``data`` as a whole).
    """
    state = ctx.state
    directory = state.directory(call.params["d"])
    record = state.transaction(directory, call.params["t"])
    body = _object_body(call, frozenset({"transactionDate", "data", "mailingListId"}))
    changes: dict[str, Any] = {}
    if "transactionDate" in body:
        if not valid_tx_date(body["transactionDate"]):
            raise bad_request("transactionDate must be a UTC date formatted YYYY-MM-DD HH:MM:SS.")
        changes["transaction_date"] = body["transactionDate"]
    if "data" in body:
        changes["data"] = flat_values(body["data"], "data")
    if "mailingListId" in body:
        state.mailing_list(directory, str(body["mailingListId"]))
        changes["mailing_list_id"] = body["mailingListId"]
    state.replace_transaction(directory, attrs.evolve(record, **changes))
    return Reply(result=NO_RESULT)


@routes.add("DELETE", "/API/v3/directories/{d}/transactions/{t}")
def delete_transaction(ctx: Context, call: Call) -> Reply:
    """``DELETE /directories/{d}/transactions/{t}``: also leaves every batch; meta only."""
    state = ctx.state
    state.delete_transaction(state.directory(call.params["d"]), call.params["t"])
    return Reply(result=NO_RESULT)


@routes.add("GET", "/API/v3/directories/{d}/contacts/{c}/transactions")
def list_contact_transactions(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/contacts/{c}/transactions`` (``nextPage``), oldest first."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    contact = state.contact(directory, call.params["c"])
    owned = directory.contact_transactions.get(contact.id)
    if owned is None:
        return Reply(result=page_result([], None))
    ids, next_page = call.page_of_ids(owned, default_size=PAGE_SIZE)
    elements = [transaction_element(directory.transactions[item]) for item in ids]
    return Reply(result=page_result(elements, next_page))


# -- batches -----------------------------------------------------------------------------------


def _transaction_ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request("transactionIds must be an array of transaction id strings.")
    return value


@routes.add("GET", "/API/v3/directories/{d}/transactionbatches")
def list_batches(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/transactionbatches`` (``batchId``, ``creationDate``)."""
    directory = ctx.state.directory(call.params["d"])
    ids, next_page = call.page_of_ids(directory.batch_order, default_size=PAGE_SIZE)
    elements = [
        {"batchId": item, "creationDate": directory.batches[item].creation_date} for item in ids
    ]
    return Reply(result=page_result(elements, next_page))


@routes.add("POST", "/API/v3/directories/{d}/transactionbatches")
def create_batch(ctx: Context, call: Call) -> Reply:
    """``POST /directories/{d}/transactionbatches`` ``{"transactionIds"?, "creationDate"?}``.

    The date key Qualtrics accepts is unconfirmed: public clients send ``creationDate`` (the
    name Qualtrics' published collection and its responses use) or ``createdDate``, so both are
    accepted (not both at once).
    """
    state = ctx.state
    directory = state.directory(call.params["d"])
    body = call.json(required=False) or {}
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    unexpected = sorted(set(body) - {"transactionIds", "creationDate", "createdDate"})
    if unexpected:
        raise bad_request(f"Unexpected json key provided: {unexpected[0]}")
    if "creationDate" in body and "createdDate" in body:
        raise bad_request("Provide either creationDate or createdDate, not both.")
    date_key = "creationDate" if "creationDate" in body else "createdDate"
    created_date = body.get(date_key)
    if created_date is not None and not isinstance(created_date, str):
        raise bad_request(f"{date_key} must be a date string.")
    ids = _transaction_ids(body["transactionIds"]) if "transactionIds" in body else []
    missing = [item for item in ids if item not in directory.transactions]
    if missing:
        raise bad_request(f"Transactions not found: {', '.join(missing)}")
    batch = state.add_batch(directory, created_date)
    state.add_to_batch(directory, batch, ids)
    return Reply(result={"id": batch.id})


@routes.add("GET", "/API/v3/directories/{d}/transactionbatches/{b}")
def get_batch(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/transactionbatches/{b}``."""
    state = ctx.state
    batch = state.batch(state.directory(call.params["d"]), call.params["b"])
    return Reply(result={"batchId": batch.id, "creationDate": batch.creation_date})


@routes.add("DELETE", "/API/v3/directories/{d}/transactionbatches/{b}")
def delete_batch(ctx: Context, call: Call) -> Reply:
    """``DELETE /directories/{d}/transactionbatches/{b}``: the transactions remain; meta only."""
    state = ctx.state
    state.delete_batch(state.directory(call.params["d"]), call.params["b"])
    return Reply(result=NO_RESULT)


@routes.add("GET", "/API/v3/directories/{d}/transactionbatches/{b}/transactions")
def list_batch_transactions(ctx: Context, call: Call) -> Reply:
    """``GET .../transactionbatches/{b}/transactions`` (``nextPage``), in the order added."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    batch = state.batch(directory, call.params["b"])
    ids, next_page = call.page_of_ids(batch.order, default_size=PAGE_SIZE)
    elements = []
    for item in ids:
        element = transaction_element(directory.transactions[item])
        element["dateAddedToBatch"] = _iso(batch.added[item])
        elements.append(element)
    return Reply(result=page_result(elements, next_page))


def _iso(ms: int) -> str:
    return iso_from_ms(ms) or ""


@routes.add("POST", "/API/v3/directories/{d}/transactionbatches/{b}/transactions")
def add_batch_transactions(ctx: Context, call: Call) -> Reply:
    """``POST .../transactionbatches/{b}/transactions`` ``{"transactionIds": [...]}``; meta only.

    All or nothing: any unknown id is a 400 naming it.
    """
    state = ctx.state
    directory = state.directory(call.params["d"])
    batch = state.batch(directory, call.params["b"])
    body = _object_body(call, frozenset({"transactionIds"}))
    if "transactionIds" not in body:
        raise bad_request("transactionIds is required.")
    state.add_to_batch(directory, batch, _transaction_ids(body["transactionIds"]))
    return Reply(result=NO_RESULT)


@routes.add("DELETE", "/API/v3/directories/{d}/transactionbatches/{b}/transactions/{t}")
def remove_batch_transaction(ctx: Context, call: Call) -> Reply:
    """``DELETE .../transactionbatches/{b}/transactions/{t}``: 404 if not in the batch."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    batch = state.batch(directory, call.params["b"])
    transaction_id = call.params["t"]
    if batch.added.pop(transaction_id, None) is None:
        raise ApiError(404, f"Transaction {transaction_id} is not in batch {batch.id}.")
    batch.order.discard(transaction_id)
    return Reply(result=NO_RESULT)
