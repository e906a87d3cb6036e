"""``client.transactions``: create contact transactions in bulk, get, update and delete one.

``create`` keys every transaction (the caller's key, or a generated one), splits large inputs into
requests of at most ``max_per_request`` in input order, sends them one after another, and merges
Qualtrics' per-key answers (``createdTransactions`` / ``unprocessedTransactions``) into one
:class:`TransactionResult`. If a request fails, :class:`TransactionChunkError` says which keys
were created by the requests before it, which were in the failed request, and which were never
sent.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .._convert import format_qualtrics_datetime
from .._embedded import validate_flat_map
from .._errors import APIError, APIStatusError, ResponseValidationError, ValidationError
from .._transport import APIResponse, ResponseInfo
from ..models._base import parse_result
from ..models.transactions import (
    Transaction,
    TransactionCreate,
    TransactionError,
    TransactionResult,
)
from ._base import Resource, id_segment

__all__ = ["DEFAULT_MAX_PER_REQUEST", "TransactionChunkError", "TransactionsResource"]

#: Our default request size. Qualtrics publishes no maximum for this endpoint.
DEFAULT_MAX_PER_REQUEST = 100

#: ``TransactionError.error`` of a key Qualtrics' response mentioned in neither map.
NOT_IN_RESPONSE = "notInResponse"

_GENERATED_KEY_BYTES = 8  # 16 hex characters, like Segment's random keys


class TransactionChunkError(APIError):
    """A request of ``transactions.create`` failed; the earlier ones had succeeded.

    Raised for the first failing request (later requests are not sent), whichever it is. It is
    an :class:`APIError`, so ``except APIError`` catches it; the transport's error is
    :attr:`cause` (and ``__cause__``).

    Attributes:
        partial_result: The merged :class:`TransactionResult` of the requests that completed
            before the failure (empty when the first request failed). Its ``created`` keys exist
            in Qualtrics; do not send them again.
        failed_keys: Keys of the failed request. If :attr:`ambiguous` is ``True`` Qualtrics may
            have created some or all of them: reconcile (for example list the contact's
            transactions) before sending them again. Otherwise none was created.
        unsent_keys: Keys of the requests that were never sent (safe to send again).
        ambiguous: ``True`` when the failed request may have been applied: copied from the
            transport error (read timeout, dropped connection, 5xx), and also ``True`` when
            Qualtrics answered 2xx with a body that could not be read.
        status: The HTTP status of the failure, when Qualtrics answered.
        cause: The transport's exception.
    """

    def __init__(
        self,
        message: str,
        *,
        partial_result: TransactionResult,
        failed_keys: tuple[str, ...],
        unsent_keys: tuple[str, ...],
        cause: BaseException | None = None,
        status: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.partial_result = partial_result
        self.failed_keys = tuple(failed_keys)
        self.unsent_keys = tuple(unsent_keys)
        self.cause = cause
        self.status = status

    def _state(self) -> dict[str, Any]:
        return {
            **super()._state(),
            "partial_result": self.partial_result,
            "failed_keys": self.failed_keys,
            "unsent_keys": self.unsent_keys,
            "cause": self.cause,
            "status": self.status,
        }


def _transactions_path(directory_id: str) -> str:
    return f"/directories/{id_segment('directory_id', directory_id)}/transactions"


def _transaction_path(directory_id: str, transaction_id: str) -> str:
    return f"{_transactions_path(directory_id)}/{id_segment('transaction_id', transaction_id)}"


def _keyed(
    transactions: Iterable[TransactionCreate] | Mapping[str, TransactionCreate],
) -> list[tuple[str, TransactionCreate]]:
    """Pair every transaction with its key, in input order; generate the missing keys.

    Raises:
        ValidationError: for a non-TransactionCreate item, a mapping key that contradicts the
            item's own ``key``, or a duplicate key.
    """
    if isinstance(transactions, TransactionCreate):
        raise ValidationError(
            "transactions must be a list (or mapping) of TransactionCreate; wrap a single one "
            "in a list",
            field="transactions",
        )
    pairs: list[tuple[str | None, TransactionCreate]] = []
    if isinstance(transactions, Mapping):
        for key, item in transactions.items():
            _check_item(item, f"transactions[{key!r}]")
            if not isinstance(key, str) or not key:
                raise ValidationError(
                    f"transaction keys must be non-empty strings, got {key!r}", field="transactions"
                )
            if item.key is not None and item.key != key:
                raise ValidationError(
                    f"transactions[{key!r}] has key={item.key!r}; the mapping key and the "
                    "item's key must agree (or leave the item's key unset)",
                    field="transactions",
                )
            pairs.append((key, item))
    else:
        for index, item in enumerate(transactions):
            _check_item(item, f"transactions[{index}]")
            pairs.append((item.key, item))
    used: set[str] = set()
    for key, _ in pairs:
        if key is None:
            continue
        if key in used:
            raise ValidationError(
                f"duplicate transaction key {key!r}: keys must be unique within one call",
                field="transactions",
            )
        used.add(key)
    keyed: list[tuple[str, TransactionCreate]] = []
    for key, item in pairs:
        if key is None:
            key = _new_key(used)
        keyed.append((key, item))
    return keyed


def _check_item(item: object, where: str) -> None:
    if not isinstance(item, TransactionCreate):
        raise ValidationError(
            f"{where} must be a TransactionCreate, got {type(item).__name__}",
            field="transactions",
        )


def _new_key(used: set[str]) -> str:
    while True:
        key = secrets.token_hex(_GENERATED_KEY_BYTES)
        if key not in used:
            used.add(key)
            return key


def _chunks(
    items: list[tuple[str, TransactionCreate]], size: int
) -> Iterator[list[tuple[str, TransactionCreate]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _transaction_error(raw: Any) -> TransactionError:
    """Read one ``unprocessedTransactions`` entry without ever failing on its shape."""
    if not isinstance(raw, Mapping):
        return TransactionError(error=None, error_message=_text(raw))
    return TransactionError(
        error=_text(raw.get("error")),
        error_message=_text(raw.get("errorMessage")),
        extra={k: v for k, v in raw.items() if k not in ("error", "errorMessage")},
    )


def _parse_chunk(
    response: APIResponse, keys: list[str]
) -> tuple[dict[str, str], dict[str, TransactionError]]:
    """Split one response into created ids and errors, in the order the keys were sent.

    A key the response mentions in neither map is reported as unprocessed (``notInResponse``)
    so that nothing sent disappears; a key Qualtrics returns that was not sent is kept too
    (after the sent ones). A key in both maps counts as created (the transaction exists).

    Raises:
        ResponseValidationError: (``ambiguous=True``: the request was processed) when there is
            no result object, its maps are not objects, or a created entry has no id.
    """
    result = response.result
    if not isinstance(result, Mapping):
        raise _unreadable(response, "has no result object")
    created_raw = result.get("createdTransactions")
    unprocessed_raw = result.get("unprocessedTransactions")
    created_raw = {} if created_raw is None else created_raw
    unprocessed_raw = {} if unprocessed_raw is None else unprocessed_raw
    if not isinstance(created_raw, Mapping) or not isinstance(unprocessed_raw, Mapping):
        raise _unreadable(response, "has no createdTransactions/unprocessedTransactions objects")
    sent = set(keys)
    order = [
        *keys,
        *(k for k in created_raw if k not in sent),
        *(k for k in unprocessed_raw if k not in sent and k not in created_raw),
    ]
    created: dict[str, str] = {}
    unprocessed: dict[str, TransactionError] = {}
    for key in order:
        if key in created_raw:
            created[key] = _created_id(response, key, created_raw[key])
        elif key in unprocessed_raw:
            unprocessed[key] = _transaction_error(unprocessed_raw[key])
        else:
            unprocessed[key] = TransactionError(
                error=NOT_IN_RESPONSE,
                error_message=(
                    "Qualtrics' response mentioned this transaction neither as created nor as "
                    "unprocessed; check before sending it again"
                ),
            )
    return created, unprocessed


def _created_id(response: APIResponse, key: str, raw: Any) -> str:
    value = raw.get("id", raw.get("transactionId")) if isinstance(raw, Mapping) else raw
    if isinstance(value, str) and value:
        return value
    raise _unreadable(response, f"has no transaction id in createdTransactions[{key!r}]")


def _unreadable(response: APIResponse, what: str) -> ResponseValidationError:
    return ResponseValidationError(
        f"the transactions response {what}; the request was processed, so some transactions "
        "may exist",
        body=response.body,
        method="POST",
        url=str(response.url),
        ambiguous=True,
    )


class TransactionsResource(Resource):
    """Contact transactions of a directory (``/directories/{d}/transactions``).

    A contact's transactions are listed by ``client.contacts.transactions(directory_id,
    contact_id)``.
    """

    async def create(
        self,
        directory_id: str,
        transactions: Iterable[TransactionCreate] | Mapping[str, TransactionCreate],
        *,
        max_per_request: int = DEFAULT_MAX_PER_REQUEST,
    ) -> TransactionResult:
        """Create transactions (``POST /directories/{d}/transactions``).

        Each request body is an object keyed by transaction key. Keys are the mapping's keys, or
        each item's ``key``, or else generated (random, unique within this call). The input is
        split into requests of at most ``max_per_request`` transactions, in input order, sent
        one after another (sequentially, so a failure leaves a clear before/after, and writes
        stay gentle on Qualtrics' rate limits); the answers are merged in input order.

        Qualtrics answers 200 even when it rejects some transactions: those are in
        ``result.unprocessed``, never dropped. Call ``result.raise_for_unprocessed()`` to turn
        them into an error. Requests are never retried once they may have reached Qualtrics, as
        a resend creates duplicates (Qualtrics does not deduplicate by key).

        Args:
            directory_id: The directory (``POOL_...``).
            transactions: :class:`TransactionCreate` items, or a mapping of key to item.
            max_per_request: Transactions per request (our default, 100: Qualtrics publishes no
                limit).

        Returns:
            :class:`TransactionResult` with ``created`` and ``unprocessed`` keyed by key. An empty
            input returns an empty result without any request.

        Raises:
            ValidationError: for a bad directory id, a non-TransactionCreate item, a duplicate
                or conflicting key, or ``max_per_request`` < 1; before any request.
            TransactionChunkError: when a request fails. It carries ``partial_result`` (what the
                earlier requests created), ``failed_keys``, ``unsent_keys`` and the transport's
                ``ambiguous`` flag; the transport error is its ``cause``.
        """
        path = _transactions_path(directory_id)
        if (
            not isinstance(max_per_request, int)
            or isinstance(max_per_request, bool)
            or max_per_request < 1
        ):
            raise ValidationError(
                f"max_per_request must be a positive integer, got {max_per_request!r}",
                field="max_per_request",
            )
        keyed = _keyed(transactions)
        created: dict[str, str] = {}
        unprocessed: dict[str, TransactionError] = {}
        infos: list[ResponseInfo] = []
        chunks = list(_chunks(keyed, max_per_request))
        for number, chunk in enumerate(chunks):
            keys = [key for key, _ in chunk]
            body = {key: item.to_wire() for key, item in chunk}
            try:
                response = await self._transport.request("POST", path, json=body)
                chunk_created, chunk_unprocessed = _parse_chunk(response, keys)
            except APIError as exc:
                raise _chunk_error(
                    exc,
                    number=number,
                    total=len(chunks),
                    partial=TransactionResult(
                        created=created, unprocessed=unprocessed, response_infos=tuple(infos)
                    ),
                    failed_keys=tuple(keys),
                    unsent_keys=tuple(key for later in chunks[number + 1 :] for key, _ in later),
                ) from exc
            created.update(chunk_created)
            unprocessed.update(chunk_unprocessed)
            infos.append(response.info)
        return TransactionResult(
            created=created, unprocessed=unprocessed, response_infos=tuple(infos)
        )

    async def get(self, directory_id: str, transaction_id: str) -> Transaction:
        """Fetch one transaction (``GET /directories/{d}/transactions/{t}``).

        The result shape (``transactionId, contactId, mailingListId, transactionDate, data``) is
        from Qualtrics' published example; anything else is kept in ``extra``.

        Raises:
            NotFoundError: when the transaction does not exist.
            ValidationError: for a bad id, before any request.
        """
        response = await self._transport.request(
            "GET", _transaction_path(directory_id, transaction_id)
        )
        return parse_result(response, Transaction)

    async def update(
        self,
        directory_id: str,
        transaction_id: str,
        *,
        transaction_date: dt.datetime | None = None,
        data: Mapping[str, Any] | None = None,
        json_encode_nested: bool = False,
    ) -> None:
        """Change a transaction (``PUT /directories/{d}/transactions/{t}``).

        Body ``{"transactionDate"?, "data"?}`` with the fields given. This body shape is from
        Qualtrics' published API collection ("Update Contact Transaction"), which also warns
        that ``data`` REPLACES all of the transaction's data: fields you leave out are removed.
        Fetch it with :meth:`get` first to keep them. We have not verified it against the live
        API.

        Args:
            transaction_date: New date: timezone-aware, sent as UTC ``YYYY-MM-DD HH:MM:SS``.
            data: The complete new data map (str, int, float, bool values).
            json_encode_nested: Send dict/list values as compact JSON strings instead of refusing.

        Raises:
            ValidationError: when neither field is given, for a naive date, or bad data; before
                any request.
            APIError: when the call fails.
        """
        body: dict[str, Any] = {}
        if transaction_date is not None:
            if not isinstance(transaction_date, dt.datetime):
                raise ValidationError(
                    "transaction_date must be a timezone-aware datetime",
                    field="transaction_date",
                )
            body["transactionDate"] = format_qualtrics_datetime(
                transaction_date, field="transaction_date"
            )
        flat = validate_flat_map("data", data, json_encode_nested=json_encode_nested)
        if flat is not None:
            body["data"] = flat
        if not body:
            raise ValidationError("update needs transaction_date= or data= (or both)", field="data")
        await self._transport.request(
            "PUT", _transaction_path(directory_id, transaction_id), json=body
        )

    async def delete(self, directory_id: str, transaction_id: str) -> None:
        """Delete a transaction (``DELETE /directories/{d}/transactions/{t}``).

        Raises:
            NotFoundError: when the transaction does not exist.
            ValidationError: for a bad id, before any request.
        """
        await self._transport.request("DELETE", _transaction_path(directory_id, transaction_id))


def _chunk_error(
    exc: APIError,
    *,
    number: int,
    total: int,
    partial: TransactionResult,
    failed_keys: tuple[str, ...],
    unsent_keys: tuple[str, ...],
) -> TransactionChunkError:
    # A 2xx whose body cannot be read was still processed by Qualtrics: treat it as ambiguous.
    ambiguous = exc.ambiguous or isinstance(exc, ResponseValidationError)
    state = "may have been applied" if ambiguous else "was not applied"
    message = (
        f"transactions request {number + 1} of {total} failed and {state}: {exc}; "
        f"{len(partial.created)} transaction(s) were created by earlier requests, "
        f"{len(failed_keys)} were in the failed request, {len(unsent_keys)} were not sent"
    )
    return TransactionChunkError(
        message,
        partial_result=partial,
        failed_keys=failed_keys,
        unsent_keys=unsent_keys,
        cause=exc,
        status=exc.status if isinstance(exc, APIStatusError) else None,
        method=exc.method,
        url=exc.url,
        retries_taken=exc.retries_taken,
        ambiguous=ambiguous,
    )
