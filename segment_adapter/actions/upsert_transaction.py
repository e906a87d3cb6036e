"""``upsertContactTransaction``: find or create the contact, then record a transaction.

As the hosted action: the ``contactId`` field is used when mapped; otherwise the contact is found
by one search on ``extRef``, ``phone`` and ``email`` (in that order, joined with ``and``) and
created when there is none; more than one match fails the event. Then the transaction is posted
with ``mailingListId``, ``transactionDate`` and ``transactionData``.

What changes (the hosted defects this fixes):

* Batching (D3): contacts are resolved once per directory and identity through a contact-id
  cache with single-flight lookups (N concurrent events for one user cost one search), and all
  transactions for one directory go in as few ``transactions.create`` requests as the SDK's
  chunk size allows. A contact created for N waiting events gets the contact fields (names,
  language, embedded data) of the first of them.
* Idempotency (D2): each transaction's key is derived from the event (see
  ``segment_adapter._keys``). After an ambiguous failure (the connection dropped after the
  request was sent), the contact's transactions are listed and one with the same mailing list,
  date and data is taken as the one sent; only when none matches is it sent again, once. If the
  listing fails, the event fails as retryable, and the key stays marked so that a redelivery
  checks again before sending. A timed-out or cancelled transaction request is treated the same
  way, except that the check waits ``2 * client.timeout`` for the write to land (a redelivery
  before then fails retryably without sending). The marks are write-ahead records in the
  delivery ledger (``DeliveryLedger.mark_pending``), written before each request, so they also
  cover a process that dies mid-request: with a persistent ledger a redelivery after a restart
  checks too. Nothing is sent when the mark cannot be written.
* Unprocessed transactions (D4) fail their event with Qualtrics' message.
* ``transactionData`` (D5): nested values are JSON-encoded per key, ``null`` values dropped.
* Dates (D10): see :func:`~segment_adapter.actions._payloads.parse_transaction_date`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import attrs

from qualtrics_sdk import (
    APITimeoutError,
    ContactTransaction,
    NotFoundError,
    QualtricsClient,
    QualtricsError,
    TransactionChunkError,
    TransactionCreate,
    TransactionResult,
)

from ..ledger import DeliveryLedger, PendingKey
from ._contact_cache import ContactCache
from ._defaults import UPSERT_TRANSACTION, ActionSpec
from ._outcome import Outcome, failure
from ._payloads import flat_map, parse_transaction_date, same_stored_value

__all__ = ["SPEC", "TransactionDelivery", "TransactionWork", "prepare"]

SPEC: ActionSpec = UPSERT_TRANSACTION

logger = logging.getLogger("segment_adapter.destination")

# Stands in for the contact id until it is known, so the transaction is validated up front.
_UNRESOLVED: Final = "CID_UNRESOLVED"

_CREATE_ARGUMENTS: Final = {
    "firstName": "first_name",
    "lastName": "last_name",
    "language": "language",
    "unsubscribed": "unsubscribed",
}

Identity = tuple[str, str | None, str | None, str | None]
"""``(directory_id, ext_ref, phone, email)``: what a contact is looked up by."""


@attrs.frozen(kw_only=True)
class TransactionWork:
    """One transaction to record, with what is needed to find or create its contact.

    Attributes:
        identity: ``(directory_id, ext_ref, phone, email)``.
        contact_id: The mapped ``contactId``; ``None`` to look the contact up.
        contact_fields: Extra ``contacts.upsert`` arguments, used when the contact is created.
        transaction: The transaction (its ``contact_id`` is a placeholder until resolved).
    """

    identity: Identity
    contact_id: str | None
    contact_fields: Mapping[str, Any]
    transaction: TransactionCreate

    @property
    def directory_id(self) -> str:
        """The directory the contact and the transaction are in."""
        return self.identity[0]

    @property
    def key(self) -> str:
        """The transaction key."""
        key = self.transaction.key
        assert key is not None
        return key


def prepare(payload: Mapping[str, Any], *, key: str, default_date: dt.datetime) -> TransactionWork:
    """Turn a checked payload into a transaction to record.

    Args:
        payload: The checked payload (``check_payload``).
        key: The transaction key (deterministic, from the event and subscription).
        default_date: The date used when the payload has no ``transactionDate``. The hosted
            action uses "now"; the destination passes the event's own time (``timestamp``,
            else ``originalTimestamp``, ``receivedAt``, ``sentAt``, and only then the time the
            batch started) so that a redelivery describes the same transaction.

    Raises:
        PayloadError: a date that does not parse or bad data.
        qualtrics_sdk.ValidationError: data Qualtrics would refuse (names over 200 or values
            over 1,024 characters).
    """
    date = payload.get("transactionDate")
    when = parse_transaction_date(date) if date is not None else default_date
    data = flat_map("transactionData", payload.get("transactionData", {}))
    contact_fields: dict[str, Any] = {
        argument: payload[name] for name, argument in _CREATE_ARGUMENTS.items() if name in payload
    }
    if "embeddedData" in payload:
        embedded = flat_map("embeddedData", payload["embeddedData"])
        if embedded:
            contact_fields["embedded_data"] = embedded
    contact_id = payload.get("contactId")
    transaction = TransactionCreate(
        contact_id=contact_id or _UNRESOLVED,
        mailing_list_id=payload["mailingListId"],
        transaction_date=when,
        data=data,
        key=key,
    )
    return TransactionWork(
        identity=(
            payload["directoryId"],
            payload.get("extRef"),
            payload.get("phone"),
            payload.get("email"),
        ),
        contact_id=contact_id,
        contact_fields=contact_fields,
        transaction=transaction,
    )


def _same_transaction(sent: TransactionCreate, stored: ContactTransaction) -> bool:
    """Whether ``stored`` is what Qualtrics keeps for ``sent`` (values compared as strings)."""
    if stored.mailing_list_id != sent.mailing_list_id or stored.transaction_date is None:
        return False
    sent_date = sent.transaction_date.astimezone(dt.timezone.utc).replace(microsecond=0)
    if stored.transaction_date != sent_date:
        return False
    if stored.data.keys() != sent.data.keys():
        return False
    return all(same_stored_value(value, stored.data[name]) for name, value in sent.data.items())


def _unprocessed_message(error: Any) -> str:
    reason = error.error_message or error.error or "no reason given"
    code = f" ({error.error})" if error.error and error.error_message else ""
    return f"Qualtrics did not create the transaction: {reason}{code}"


class TransactionDelivery:
    """Resolves contacts and sends transactions for a set of :class:`TransactionWork`.

    One instance lives as long as its destination. It keeps no state of its own about sends:
    keys whose send is uncertain are marked in the ledger (write-ahead, before each request) and
    unmarked once their outcome is certain, so a redelivery, in this process or after a restart,
    checks before sending.

    Args:
        client: The SDK client.
        cache: Contact ids by identity, shared by all deliveries.
        limiter: Bounds concurrent contact lookups and transaction requests.
        ledger: Holds the pending marks (``mark_pending``, ``lookup_pending``,
            ``clear_pending``).
        max_per_request: Transactions per request (the SDK's chunk size).
    """

    def __init__(
        self,
        client: QualtricsClient,
        *,
        cache: ContactCache,
        limiter: asyncio.Semaphore,
        ledger: DeliveryLedger,
        max_per_request: int = 100,
    ) -> None:
        self._client = client
        self._cache = cache
        self._limiter = limiter
        self._ledger = ledger
        self._max_per_request = max_per_request

    async def deliver(self, works: Sequence[TransactionWork]) -> list[Outcome]:
        """Deliver every work item; returns one outcome per item, in order. Never raises."""
        outcomes: list[Outcome | None] = [None] * len(works)
        resolved = await asyncio.gather(*(self._contact_id(work) for work in works))
        by_directory: dict[str, dict[str, TransactionCreate]] = {}
        position: dict[tuple[str, str], int] = {}
        for index, (work, contact) in enumerate(zip(works, resolved, strict=True)):
            if isinstance(contact, Outcome):
                outcomes[index] = contact
                continue
            transaction = work.transaction
            if transaction.contact_id != contact:
                transaction = attrs.evolve(transaction, contact_id=contact)
            by_directory.setdefault(work.directory_id, {})[work.key] = transaction
            position[(work.directory_id, work.key)] = index
        sent = await asyncio.gather(
            *(self._deliver_directory(d, items) for d, items in by_directory.items())
        )
        for directory_id, results in zip(by_directory, sent, strict=True):
            for key, outcome in results.items():
                index = position[(directory_id, key)]
                outcomes[index] = outcome
                work = works[index]
                if not outcome.delivered and not outcome.retryable and work.contact_id is None:
                    # The cached contact may be gone (deleted, merged): look it up next time.
                    self._cache.invalidate(work.identity, outcome.contact_id)
        return [
            outcome or Outcome.failed("internal error: no outcome", retryable=True)
            for outcome in outcomes
        ]

    # -- contacts ---------------------------------------------------------------------------

    async def _contact_id(self, work: TransactionWork) -> str | Outcome:
        if work.contact_id is not None:
            return work.contact_id
        try:
            return await self._cache.resolve(work.identity, lambda: self._upsert(work))
        except Exception as exc:
            return failure(exc)

    async def _upsert(self, work: TransactionWork) -> str:
        directory_id, ext_ref, phone, email = work.identity
        async with self._limiter:
            result = await self._client.contacts.upsert(
                directory_id, ext_ref=ext_ref, phone=phone, email=email, **work.contact_fields
            )
        return result.id

    # -- transactions -----------------------------------------------------------------------

    async def _deliver_directory(
        self, directory_id: str, transactions: dict[str, TransactionCreate]
    ) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        try:
            marked = await self._ledger.lookup_pending(
                [(directory_id, key) for key in transactions]
            )
        except Exception as exc:
            logger.exception("the delivery ledger failed; failing the transactions retryably")
            return self._ledger_failed(transactions, f"could not be read ({exc})")
        suspects: dict[str, TransactionCreate] = {}
        fresh: dict[str, TransactionCreate] = {}
        now = time.time()
        for key, item in transactions.items():
            not_before = marked.get((directory_id, key))
            if not_before is None:
                fresh[key] = item
            elif not_before > now:
                outcomes[key] = Outcome.failed(
                    "an earlier send of this transaction timed out and may still be in progress "
                    "at Qualtrics; it is checked (not re-sent) once that has had time to settle",
                    retryable=True,
                    retry_after=not_before - now,
                    contact_id=item.contact_id,
                )
            else:
                suspects[key] = item
        if suspects:
            # An earlier send of these may have gone through: check before sending again.
            matched, absent = await self._reconcile(directory_id, suspects, set())
            outcomes.update(matched)
            fresh.update(absent)
        outcomes.update(await self._send(directory_id, fresh, final=False))
        return outcomes

    async def _send(
        self, directory_id: str, transactions: dict[str, TransactionCreate], *, final: bool
    ) -> dict[str, Outcome]:
        if not transactions:
            return {}
        sending = False
        try:
            async with self._limiter:
                try:
                    # Write-ahead: if this process dies mid-request, the mark remains and a
                    # redelivery checks before sending again. No mark, no send.
                    await self._mark(directory_id, transactions, not_before=self._settled_at())
                except Exception as exc:
                    logger.exception("the delivery ledger failed; not sending the transactions")
                    return self._ledger_failed(transactions, f"could not be written ({exc})")
                sending = True
                result = await self._client.transactions.create(
                    directory_id, transactions, max_per_request=self._max_per_request
                )
        except asyncio.CancelledError:
            if sending:
                # The request may be at Qualtrics; count the settle time from now, not from the
                # write-ahead mark (the chunks go one after another). Best effort: the
                # write-ahead mark already stops a blind re-send.
                await self._mark_quietly(directory_id, transactions, self._settled_at())
            raise
        except TransactionChunkError as exc:
            return await self._after_chunk_error(directory_id, transactions, exc, final=final)
        except Exception as exc:
            if isinstance(exc, QualtricsError) and not getattr(exc, "ambiguous", False):
                await self._clear(directory_id, transactions)  # certainly not sent
            return {
                key: failure(exc, contact_id=item.contact_id) for key, item in transactions.items()
            }
        outcomes = self._settled(transactions, result)
        await self._clear(directory_id, outcomes)
        return outcomes

    def _ledger_failed(
        self, transactions: Mapping[str, TransactionCreate], what: str
    ) -> dict[str, Outcome]:
        return {
            key: Outcome.failed(
                f"the delivery ledger {what}; the transaction was not sent, so that it cannot be "
                "sent twice",
                retryable=True,
                contact_id=item.contact_id,
            )
            for key, item in transactions.items()
        }

    def _settled(
        self, transactions: Mapping[str, TransactionCreate], result: TransactionResult
    ) -> dict[str, Outcome]:
        """Outcomes of the keys Qualtrics answered for (created or unprocessed: both certain)."""
        outcomes: dict[str, Outcome] = {}
        for key, item in transactions.items():
            if key in result.created:
                outcomes[key] = Outcome.ok(
                    contact_id=item.contact_id, transaction_id=result.created[key]
                )
            elif key in result.unprocessed:
                outcomes[key] = Outcome.failed(
                    _unprocessed_message(result.unprocessed[key]), contact_id=item.contact_id
                )
        return outcomes

    async def _after_chunk_error(
        self,
        directory_id: str,
        transactions: dict[str, TransactionCreate],
        exc: TransactionChunkError,
        *,
        final: bool,
    ) -> dict[str, Outcome]:
        outcomes = self._settled(transactions, exc.partial_result)
        cause = exc.cause if exc.cause is not None else exc
        failed = {key: transactions[key] for key in exc.failed_keys if key in transactions}
        unsent = {key: transactions[key] for key in exc.unsent_keys if key in transactions}
        if not exc.ambiguous:
            await self._clear(directory_id, [*outcomes, *failed, *unsent])
            for key, item in failed.items():
                outcomes[key] = failure(cause, contact_id=item.contact_id)
            why = failure(cause)
            for key, item in unsent.items():
                outcomes[key] = Outcome.failed(
                    f"not sent because an earlier request failed: {why.error}",
                    retryable=True,
                    retry_after=why.retry_after,
                    contact_id=item.contact_id,
                )
            return outcomes
        await self._clear(directory_id, [*outcomes, *unsent])
        if isinstance(cause, APITimeoutError):
            # The write may still land after we give up waiting: checking now would find nothing
            # and re-sending would duplicate it. Fail retryably; a redelivery checks first.
            settle = self._settle_seconds()
            await self._mark_quietly(directory_id, failed, time.time() + settle)
            for key, item in failed.items():
                outcomes[key] = Outcome.failed(
                    f"the transaction request timed out ({cause}); it may still be written, so it "
                    "is not re-sent now: a redelivery checks for it first",
                    retryable=True,
                    retry_after=settle,
                    contact_id=item.contact_id,
                )
            outcomes.update(await self._send(directory_id, unsent, final=True))
            return outcomes
        # The connection failed after sending: the answer is lost, not the write in progress,
        # so a check may run at once.
        await self._mark_quietly(directory_id, failed, time.time())
        if final:
            for key, item in {**failed, **unsent}.items():
                outcomes[key] = Outcome.failed(
                    f"the transaction request failed ambiguously again ({cause}); it may or may "
                    "not exist and was not sent a third time",
                    retryable=True,
                    contact_id=item.contact_id,
                )
            return outcomes
        claimed = set(exc.partial_result.created.values())
        matched, absent = await self._reconcile(directory_id, failed, claimed)
        outcomes.update(matched)
        outcomes.update(await self._send(directory_id, {**absent, **unsent}, final=True))
        return outcomes

    def _settle_seconds(self) -> float:
        """How long a write we stopped waiting for may still take to land at Qualtrics."""
        return 2 * self._client.timeout

    def _settled_at(self) -> float:
        """Wall-clock time (epoch seconds) after which a send started now has landed or not."""
        return time.time() + self._settle_seconds()

    async def _mark(self, directory_id: str, keys: Iterable[str], *, not_before: float) -> None:
        await self._ledger.mark_pending(
            [(directory_id, key) for key in keys], not_before=not_before
        )

    async def _mark_quietly(
        self, directory_id: str, keys: Iterable[str], not_before: float
    ) -> None:
        """Update marks that are already written; a failure leaves the write-ahead mark."""
        marks: list[PendingKey] = [(directory_id, key) for key in keys]
        if not marks:
            return
        try:
            await asyncio.shield(self._ledger.mark_pending(marks, not_before=not_before))
        except Exception:
            logger.exception("could not update %d pending transaction mark(s)", len(marks))

    async def _clear(self, directory_id: str, keys: Iterable[str]) -> None:
        """Unmark keys whose outcome is certain. A failure only costs a check on redelivery."""
        marks: list[PendingKey] = [(directory_id, key) for key in keys]
        if not marks:
            return
        try:
            await self._ledger.clear_pending(marks)
        except Exception:
            logger.exception(
                "could not clear %d pending transaction mark(s); a redelivery checks them first",
                len(marks),
            )

    async def _reconcile(
        self,
        directory_id: str,
        transactions: Mapping[str, TransactionCreate],
        claimed: set[str],
    ) -> tuple[dict[str, Outcome], dict[str, TransactionCreate]]:
        """Find which of ``transactions`` exist. Returns (outcomes, confirmed absent).

        Keys whose contact's transactions cannot be listed get a retryable failure and stay
        marked as pending; they are neither matched nor sent. Matched keys are unmarked.
        """
        by_contact: dict[str, list[str]] = {}
        for key, item in transactions.items():
            by_contact.setdefault(item.contact_id, []).append(key)
        outcomes: dict[str, Outcome] = {}
        absent: dict[str, TransactionCreate] = {}

        async def check(contact_id: str, keys: list[str]) -> None:
            try:
                stored = await self._stored_transactions(directory_id, contact_id)
            except Exception as exc:
                for key in keys:
                    outcomes[key] = Outcome.failed(
                        "the transaction request failed ambiguously and listing the contact's "
                        f"transactions to check it failed too ({exc}); it was not sent again",
                        retryable=True,
                        contact_id=contact_id,
                    )
                return
            for key in keys:
                sent = transactions[key]
                match = next(
                    (
                        item
                        for item in stored
                        if item.id not in claimed and _same_transaction(sent, item)
                    ),
                    None,
                )
                if match is None:
                    absent[key] = sent
                    continue
                claimed.add(match.id)
                outcomes[key] = Outcome.ok(contact_id=contact_id, transaction_id=match.id)

        await asyncio.gather(*(check(contact, keys) for contact, keys in by_contact.items()))
        await self._clear(directory_id, [key for key in outcomes if outcomes[key].delivered])
        return outcomes, absent

    async def _stored_transactions(
        self, directory_id: str, contact_id: str
    ) -> list[ContactTransaction]:
        async with self._limiter:
            try:
                return [
                    item
                    async for item in self._client.contacts.transactions(directory_id, contact_id)
                ]
            except NotFoundError:
                return []  # no such contact: no transaction of it can exist
