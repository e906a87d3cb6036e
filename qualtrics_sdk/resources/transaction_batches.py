"""``client.transaction_batches``: groups of transactions that a distribution can target.

What is confirmed: the paths (Qualtrics' API reference index), the create body keys
``transactionIds`` / ``creationDate`` and the list elements ``batchId`` / ``creationDate``
(Qualtrics' published API collection). What is assumed: the ``add_transactions`` body and the
elements of ``list_transactions`` (both UNCONFIRMED; see each method).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from .._convert import format_qualtrics_datetime
from .._errors import ValidationError
from .._pagination import AsyncPaginator
from ..models._base import parse_result
from ..models.transactions import BatchTransaction, CreatedTransactionBatch, TransactionBatch
from ._base import Resource, id_segment
from ._list_params import check_id_list, check_page_size

__all__ = ["TransactionBatchesResource"]


def _batches_path(directory_id: str) -> str:
    return f"/directories/{id_segment('directory_id', directory_id)}/transactionbatches"


def _batch_path(directory_id: str, batch_id: str) -> str:
    return f"{_batches_path(directory_id)}/{id_segment('batch_id', batch_id)}"


class TransactionBatchesResource(Resource):
    """Transaction batches of a directory (``/directories/{d}/transactionbatches``)."""

    def list(
        self, directory_id: str, *, page_size: int | None = None
    ) -> AsyncPaginator[TransactionBatch]:
        """List a directory's transaction batches (``GET .../transactionbatches``).

        Args:
            page_size: Batches per page (Qualtrics' default when ``None``; maximum undocumented).

        Returns:
            A paginator over :class:`TransactionBatch` (``nextPage`` style).

        Raises:
            ValidationError: for a bad id or page size, before any request.
        """
        return self._paginate(
            _batches_path(directory_id),
            TransactionBatch,
            params={"pageSize": check_page_size(page_size)},
        )

    async def create(
        self,
        directory_id: str,
        *,
        transaction_ids: Iterable[str] | None = None,
        creation_date: dt.datetime | None = None,
    ) -> CreatedTransactionBatch:
        """Create a batch, optionally with transactions (``POST .../transactionbatches``).

        Body ``{"transactionIds"?: [...], "creationDate"?: "..."}`` with the fields given (an
        empty batch is ``{}``). The keys are confirmed by Qualtrics' published collection, which
        says ``creationDate`` is 24-hour UTC without a time zone; we send it like transaction
        dates, ``YYYY-MM-DD HH:MM:SS`` in UTC (the exact accepted format is UNCONFIRMED).

        Args:
            transaction_ids: Transactions (``CTR_...``) to put in the batch.
            creation_date: The batch's date: timezone-aware (converted to UTC).

        Returns:
            :class:`CreatedTransactionBatch` with the new ``id``.

        Raises:
            ValidationError: for a bare string or empty id in ``transaction_ids``, or a naive
                ``creation_date``; before any request.
            APIError: when the call fails; not retried once it may have reached Qualtrics
                (``ambiguous=True``), since a resend creates a second batch.
        """
        path = _batches_path(directory_id)
        body: dict[str, Any] = {}
        if transaction_ids is not None:
            body["transactionIds"] = check_id_list("transaction_ids", transaction_ids)
        if creation_date is not None:
            body["creationDate"] = _format_date(creation_date)
        response = await self._transport.request("POST", path, json=body)
        return parse_result(response, CreatedTransactionBatch)

    async def get(self, directory_id: str, batch_id: str) -> TransactionBatch:
        """Fetch one batch (``GET .../transactionbatches/{b}``).

        Raises:
            NotFoundError: when the batch does not exist.
            ValidationError: for a bad id, before any request.
        """
        response = await self._transport.request("GET", _batch_path(directory_id, batch_id))
        return parse_result(response, TransactionBatch)

    async def delete(self, directory_id: str, batch_id: str) -> None:
        """Delete a batch (``DELETE .../transactionbatches/{b}``).

        Raises:
            NotFoundError: when the batch does not exist.
            ValidationError: for a bad id, before any request.
        """
        await self._transport.request("DELETE", _batch_path(directory_id, batch_id))

    async def add_transactions(
        self, directory_id: str, batch_id: str, transaction_ids: Iterable[str]
    ) -> None:
        """Add transactions to a batch (``POST .../transactionbatches/{b}/transactions``).

        The body ``{"transactionIds": [...]}`` is ASSUMED (UNCONFIRMED: the path is documented,
        the body is not; it mirrors the confirmed key of :meth:`create`), as is the absence of a
        per-call maximum.

        Raises:
            ValidationError: for an empty list, a bare string or an empty id; before any request.
            APIError: when the call fails.
        """
        ids = check_id_list("transaction_ids", transaction_ids)
        if not ids:
            raise ValidationError(
                "transaction_ids is empty; pass at least one transaction id",
                field="transaction_ids",
            )
        await self._transport.request(
            "POST",
            f"{_batch_path(directory_id, batch_id)}/transactions",
            json={"transactionIds": ids},
        )

    def list_transactions(
        self, directory_id: str, batch_id: str, *, page_size: int | None = None
    ) -> AsyncPaginator[BatchTransaction]:
        """List the transactions of a batch (``GET .../transactionbatches/{b}/transactions``).

        The element fields are UNCONFIRMED: :class:`BatchTransaction` reads ``transactionId``
        (or ``id``) and the usual transaction fields when present, and keeps the rest in
        ``extra``.

        Raises:
            ValidationError: for a bad id or page size, before any request.
        """
        return self._paginate(
            f"{_batch_path(directory_id, batch_id)}/transactions",
            BatchTransaction,
            params={"pageSize": check_page_size(page_size)},
        )

    async def remove_transaction(
        self, directory_id: str, batch_id: str, transaction_id: str
    ) -> None:
        """Remove one transaction from a batch (``DELETE .../{b}/transactions/{t}``).

        It removes the membership; the transaction itself is expected to remain (UNCONFIRMED).

        Raises:
            NotFoundError: when the batch or the membership does not exist.
            ValidationError: for a bad id, before any request.
        """
        path = (
            f"{_batch_path(directory_id, batch_id)}/transactions/"
            f"{id_segment('transaction_id', transaction_id)}"
        )
        await self._transport.request("DELETE", path)


def _format_date(value: dt.datetime) -> str:
    if not isinstance(value, dt.datetime):
        raise ValidationError(
            f"creation_date must be a timezone-aware datetime, got {type(value).__name__}",
            field="creation_date",
        )
    return format_qualtrics_datetime(value, field="creation_date")
