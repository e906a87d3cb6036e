"""Contact transactions (``CTR_...``), their creation results, and transaction batches.

A transaction records one interaction of a contact at a moment (an order, a ticket...), with a
flat ``data`` map; unlike embedded data, several transactions keep several values of the same
field. Transaction batches group transactions so that a distribution can target them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from .._convert import format_qualtrics_datetime, wire_field
from .._embedded import validate_flat_map
from .._errors import UnprocessedTransactionsError, ValidationError
from .._transport import ResponseInfo
from ._base import Model

__all__ = [
    "BatchTransaction",
    "CreatedTransactionBatch",
    "Transaction",
    "TransactionBatch",
    "TransactionCreate",
    "TransactionError",
    "TransactionResult",
]


def _check_id(field: str, value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string id, got {value!r}", field=field)


@attrs.frozen(kw_only=True)
class TransactionCreate:
    """One transaction to create with ``client.transactions.create`` (request side).

    Validated at construction, so a bad transaction fails where it is built, not in the middle
    of a batch.

    Attributes:
        contact_id: The directory contact (``CID_...``).
        mailing_list_id: The mailing list the transaction belongs to (``CG_...``).
        transaction_date: When the interaction happened: a timezone-aware ``datetime``. It is
            sent as UTC ``YYYY-MM-DD HH:MM:SS``; seconds are the finest precision kept.
        data: Flat map of field name to str, int, float or bool (Qualtrics stores strings).
            After construction it holds the validated map: only str, int, float and bool values
            (dict/list values JSON-encoded when ``json_encode_nested``).
        key: Optional caller-chosen key of this transaction in the request and in
            :class:`TransactionResult`. Derive it from something stable (an event id) to
            correlate results and reconcile after an ambiguous failure. Qualtrics does not
            deduplicate by key: re-sending creates a second transaction.
        json_encode_nested: Encode dict/list values of ``data`` as compact JSON strings instead
            of refusing them.

    Raises:
        ValidationError: for an empty id or key, a naive or non-datetime ``transaction_date``,
            or a ``data`` value that is nested (unless ``json_encode_nested``), ``None``,
            non-finite, or over Qualtrics' 200-character name / 1,024-character value limits.
    """

    contact_id: str
    mailing_list_id: str
    transaction_date: dt.datetime
    data: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    key: str | None = None
    json_encode_nested: bool = attrs.field(default=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _check_id("contact_id", self.contact_id)
        _check_id("mailing_list_id", self.mailing_list_id)
        if not isinstance(self.transaction_date, dt.datetime):
            raise ValidationError(
                "transaction_date must be a timezone-aware datetime, got "
                f"{type(self.transaction_date).__name__}",
                field="transaction_date",
            )
        format_qualtrics_datetime(self.transaction_date, field="transaction_date")
        if self.key is not None and (not isinstance(self.key, str) or not self.key):
            raise ValidationError(
                f"key must be a non-empty string or None, got {self.key!r}", field="key"
            )
        data = validate_flat_map("data", self.data, json_encode_nested=self.json_encode_nested)
        object.__setattr__(self, "data", data or {})

    def to_wire(self) -> dict[str, Any]:
        """The request-body value of this transaction (the key is the body's object key)."""
        return {
            "contactId": self.contact_id,
            "mailingListId": self.mailing_list_id,
            "transactionDate": format_qualtrics_datetime(
                self.transaction_date, field="transaction_date"
            ),
            "data": dict(self.data),
        }


@attrs.frozen(kw_only=True)
class TransactionError(Model):
    """Why Qualtrics left one transaction unprocessed.

    Attributes:
        error: Qualtrics' short error (a code or label), when given.
        error_message: Qualtrics' human-readable explanation, when given.
        extra: Any other fields of the error entry, verbatim.
    """

    error: str | None = None
    error_message: str | None = None


@attrs.frozen(kw_only=True)
class TransactionResult:
    """Outcome of ``client.transactions.create``, merged over all its requests.

    Both mappings are keyed by the transaction keys (the caller's, or generated ones) in input
    order. Every transaction sent is in exactly one of them.

    Attributes:
        created: Key to the new transaction id (``CTR_...``).
        unprocessed: Key to :class:`TransactionError` for transactions Qualtrics did not create
            (including any its response failed to mention, with ``error="notInResponse"``).
        response_infos: The :class:`ResponseInfo` of each request, in the order sent.
    """

    created: Mapping[str, str] = attrs.field(factory=dict)
    unprocessed: Mapping[str, TransactionError] = attrs.field(factory=dict)
    response_infos: tuple[ResponseInfo, ...] = ()

    @property
    def ok(self) -> bool:
        """``True`` when no transaction was left unprocessed."""
        return not self.unprocessed

    def raise_for_unprocessed(self) -> TransactionResult:
        """Return ``self`` when all transactions were created; raise otherwise.

        Raises:
            UnprocessedTransactionsError: listing each unprocessed key with its error, and the
                keys that were created (so they are not sent again).
        """
        if self.ok:
            return self
        shown = ", ".join(
            f"{key!r}: {error.error_message or error.error or 'no reason given'}"
            for key, error in list(self.unprocessed.items())[:5]
        )
        more = len(self.unprocessed) - 5
        if more > 0:
            shown += f", and {more} more"
        raise UnprocessedTransactionsError(
            f"{len(self.unprocessed)} of {len(self.unprocessed) + len(self.created)} "
            f"transactions were not created ({shown})",
            unprocessed=self.unprocessed,
            created=self.created,
        )


@attrs.frozen(kw_only=True)
class Transaction(Model):
    """A stored contact transaction (``GET /directories/{d}/transactions/{t}``, and the elements of
    ``GET /directories/{d}/contacts/{c}/transactions``).

    Attributes:
        id: The transaction id (``CTR_...``); wire ``transactionId`` (``id`` also accepted).
        contact_id: The contact it belongs to.
        mailing_list_id: Its mailing list.
        transaction_date: When it happened (aware, UTC).
        data: Its fields as Qualtrics stores them: string values (a ``null`` value, which no
            source documents but one schema allows, is kept as ``None``); ``{}`` when absent.
    """

    id: str = wire_field(wire="transactionId", aliases=("id",))
    contact_id: str | None = None
    mailing_list_id: str | None = None
    transaction_date: dt.datetime | None = None
    data: dict[str, str | None] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class TransactionBatch(Model):
    """A transaction batch (``GET .../transactionbatches`` elements, ``GET .../{batchId}``).

    Attributes:
        id: The batch id; wire ``batchId`` (``id`` also accepted).
        creation_date: When the batch was created (aware, UTC).
    """

    id: str = wire_field(wire="batchId", aliases=("id", "transactionBatchId"))
    creation_date: dt.datetime | None = None


@attrs.frozen(kw_only=True)
class CreatedTransactionBatch(Model):
    """What ``transaction_batches.create`` returns.

    Attributes:
        id: The new batch's id.
    """

    id: str = wire_field(wire="id", aliases=("batchId",))


@attrs.frozen(kw_only=True)
class BatchTransaction(Model):
    """An element of ``transaction_batches.list_transactions``.

    Qualtrics does not document these elements (UNCONFIRMED), so every field is optional and
    anything else is kept in ``extra``.

    Attributes:
        id: The transaction id; wire ``transactionId`` (``id`` also accepted).
        contact_id, mailing_list_id, transaction_date, data: As in :class:`Transaction`, when
            present.
    """

    id: str | None = wire_field(wire="transactionId", aliases=("id",), default=None)
    contact_id: str | None = None
    mailing_list_id: str | None = None
    transaction_date: dt.datetime | None = None
    data: dict[str, str | None] | None = None
