"""The delivery engine behind ``QualtricsDestination.send_batch``.

For a batch of events it: matches every event against every subscription; skips deliveries
already in flight (a repeat within the batch, or the same event being delivered by a concurrent
call) or already recorded in the ledger; evaluates and checks each mapping once; then runs all
the actions concurrently (contact creates and workflow triggers one call each; transactions
batched per directory, see ``actions.upsert_transaction``); records confirmed deliveries in the
ledger; and rolls the outcomes up into one :class:`EventResult` per event.

A delivery is identified by (``messageId`` or a hash of the event, subscription key). While one
is in flight, it has a future in ``_inflight``; it leaves that map only after its ledger entry is
written, so a concurrent redelivery either waits for it or finds it in the ledger.

Transactions whose send is uncertain are marked in the same ledger (write-ahead, see
``TransactionDelivery``). A ledger written for an older version of the protocol, without the
pending-mark methods, still works: its marks are then kept in this process only (with a warning).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from qualtrics_sdk import QualtricsClient, QualtricsError

from ._config import Route
from ._keys import delivery_source, transaction_key
from ._results import EventResult, SubscriptionResult
from .actions import add_contact, trigger_workflow, upsert_transaction
from .actions._contact_cache import ContactCache
from .actions._outcome import Outcome, failure
from .actions._payloads import check_payload
from .errors import AdapterError, EventValidationError
from .events import ParsedItem, SegmentEvent, parse_event
from .ledger import DeliveryLedger, LedgerEntry, LedgerKey, MemoryLedger, PendingKey

__all__ = ["Dispatcher"]

logger = logging.getLogger("segment_adapter.destination")

# What a delivery's future holds: the outcome, and whether it came from an earlier delivery.
_Settled = tuple[Outcome, bool]
_DeliveryKey = tuple[str, str]


_PENDING_METHODS = ("mark_pending", "lookup_pending", "clear_pending")


class _ProcessPendingMarks:
    """A ledger without pending-mark methods, plus marks kept in this process (as before they
    moved into the ledger)."""

    def __init__(self, ledger: Any) -> None:
        self._ledger = ledger
        self._marks = MemoryLedger(max_entries=100_000)

    async def lookup(self, keys: Iterable[LedgerKey]) -> dict[LedgerKey, LedgerEntry]:
        found: dict[LedgerKey, LedgerEntry] = await self._ledger.lookup(keys)
        return found

    async def record(self, entries: Iterable[LedgerEntry]) -> None:
        await self._ledger.record(entries)

    async def mark_pending(self, keys: Iterable[PendingKey], *, not_before: float) -> None:
        await self._marks.mark_pending(keys, not_before=not_before)

    async def lookup_pending(self, keys: Iterable[PendingKey]) -> dict[PendingKey, float]:
        return await self._marks.lookup_pending(keys)

    async def clear_pending(self, keys: Iterable[PendingKey]) -> None:
        await self._marks.clear_pending(keys)

    async def aclose(self) -> None:
        await self._ledger.aclose()


def _with_pending_marks(ledger: DeliveryLedger) -> DeliveryLedger:
    """``ledger``, or a wrapper keeping pending marks in memory when it cannot hold them."""
    if all(callable(getattr(ledger, name, None)) for name in _PENDING_METHODS):
        return ledger
    logger.warning(
        "%s has no %s: transactions whose send was uncertain are remembered in this process "
        "only, so a redelivery after a restart may duplicate them",
        type(ledger).__name__,
        "/".join(_PENDING_METHODS),
    )
    return _ProcessPendingMarks(ledger)


@attrs.define(eq=False)
class _Job:
    route: Route
    event: SegmentEvent
    source: str
    future: asyncio.Future[_Settled]
    work: Any = None

    @property
    def delivery_key(self) -> _DeliveryKey:
        return (self.source, self.route.key)

    @property
    def ledger_key(self) -> LedgerKey | None:
        message_id = self.event.message_id
        return (message_id, self.route.key) if message_id else None


@attrs.frozen
class _Slot:
    route: Route
    future: asyncio.Future[_Settled]
    waiting: bool  # True when another delivery of the same event owns the future


def _settle(job: _Job, outcome: Outcome, *, duplicate: bool = False) -> None:
    if not job.future.done():
        job.future.set_result((outcome, duplicate))


def _read(item: object) -> SegmentEvent | EventResult:
    """The parsed event, or the result of an event that cannot be read."""
    if isinstance(item, SegmentEvent):
        return item
    if isinstance(item, ParsedItem):
        if item.event is not None:
            return item.event
        return EventResult.invalid(str(item.error), message_id=item.message_id)
    if isinstance(item, Mapping):
        try:
            return parse_event(item)
        except EventValidationError as exc:
            message_id = item.get("messageId")
            kind = item.get("type")
            return EventResult.invalid(
                str(exc),
                message_id=message_id if isinstance(message_id, str) else None,
                event_type=kind if isinstance(kind, str) else None,
            )
    return EventResult.invalid(
        f"an event must be a JSON object or a parsed event, got {type(item).__name__}"
    )


def _event_time(event: SegmentEvent, now: dt.datetime) -> dt.datetime:
    """When the event happened, as precisely as it says; ``now`` only if it says nothing."""
    for moment in (event.timestamp, event.original_timestamp, event.received_at, event.sent_at):
        if moment is not None:
            return moment
    return now


def _subscription_result(route: Route, settled: _Settled, waiting: bool) -> SubscriptionResult:
    outcome, duplicate = settled
    return SubscriptionResult(
        action=route.spec.name,
        index=route.index,
        name=route.name,
        status="delivered" if outcome.delivered else "failed",
        retryable=outcome.retryable and not outcome.delivered,
        duplicate=duplicate or waiting,
        contact_id=outcome.contact_id,
        transaction_id=outcome.transaction_id,
        error=outcome.error,
        retry_after=outcome.retry_after,
    )


class Dispatcher:
    """Runs batches of events through compiled subscriptions (one per destination).

    Args:
        client: The SDK client.
        routes: The compiled subscriptions.
        ledger: Where confirmed deliveries are recorded and uncertain transactions marked.
        concurrency: Qualtrics operations in flight at once (contact lookups and creates,
            workflow triggers, transaction requests); the client's own limits apply too.
        max_per_request: Transactions per ``transactions.create`` request.
        contact_cache_size: Identities whose contact id is remembered.
    """

    def __init__(
        self,
        client: QualtricsClient,
        routes: Sequence[Route],
        ledger: DeliveryLedger,
        *,
        concurrency: int,
        max_per_request: int,
        contact_cache_size: int,
    ) -> None:
        self._client = client
        self._routes = tuple(routes)
        self._ledger = ledger
        self._limiter = asyncio.Semaphore(concurrency)
        self.contacts = ContactCache(max_entries=contact_cache_size)
        self._transactions = upsert_transaction.TransactionDelivery(
            client,
            cache=self.contacts,
            limiter=self._limiter,
            ledger=_with_pending_marks(ledger),
            max_per_request=max_per_request,
        )
        self._inflight: dict[_DeliveryKey, asyncio.Future[_Settled]] = {}

    async def deliver(self, items: Iterable[object]) -> list[EventResult]:
        """Deliver events; one result per input, in order. Raises only on cancellation."""
        loop = asyncio.get_running_loop()
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        results: list[EventResult | None] = []
        events: list[SegmentEvent | None] = []
        slots: list[list[_Slot]] = []
        jobs: list[_Job] = []
        try:
            for item in items:
                read = _read(item)
                event = read if isinstance(read, SegmentEvent) else None
                results.append(read if isinstance(read, EventResult) else None)
                events.append(event)
                slots.append(self._claim(event, jobs, loop) if event is not None else [])
            pending = await self._skip_recorded(jobs)
            pending = self._prepare(pending, now)
            await self._execute(pending)
        finally:
            for job in jobs:
                _settle(
                    job,
                    Outcome.failed(
                        "the delivery was cancelled before Qualtrics confirmed it", retryable=True
                    ),
                )
                if self._inflight.get(job.delivery_key) is job.future:
                    del self._inflight[job.delivery_key]
        out: list[EventResult] = []
        for result, event, event_slots in zip(results, events, slots, strict=True):
            if event is None:  # unreadable: its result was made when it was read
                assert result is not None
                out.append(result)
                continue
            subscriptions = [
                _subscription_result(slot.route, await asyncio.shield(slot.future), slot.waiting)
                for slot in event_slots
            ]
            out.append(
                EventResult.from_subscriptions(
                    subscriptions, message_id=event.message_id, event_type=event.type
                )
            )
        return out

    def _claim(
        self, event: SegmentEvent, jobs: list[_Job], loop: asyncio.AbstractEventLoop
    ) -> list[_Slot]:
        """Match the event; own each new delivery, or wait for the one already in flight."""
        slots: list[_Slot] = []
        source: str | None = None
        for route in self._routes:
            if not route.predicate.matches(event.raw):
                continue
            if source is None:
                source = delivery_source(event.message_id, event.raw)
            key = (source, route.key)
            running = self._inflight.get(key)
            if running is not None:
                slots.append(_Slot(route=route, future=running, waiting=True))
                continue
            future: asyncio.Future[_Settled] = loop.create_future()
            self._inflight[key] = future
            jobs.append(_Job(route=route, event=event, source=source, future=future))
            slots.append(_Slot(route=route, future=future, waiting=False))
        return slots

    async def _skip_recorded(self, jobs: list[_Job]) -> list[_Job]:
        """Settle the jobs the ledger already holds as delivered; return the others."""
        keyed = [job for job in jobs if job.ledger_key is not None]
        if keyed:
            try:
                found = await self._ledger.lookup(
                    [job.ledger_key for job in keyed if job.ledger_key is not None]
                )
            except Exception as exc:
                logger.exception("the delivery ledger failed; failing the events retryably")
                for job in keyed:
                    _settle(
                        job,
                        Outcome.failed(
                            f"the delivery ledger could not be read ({exc}); not sent, so that "
                            "nothing is delivered twice",
                            retryable=True,
                        ),
                    )
                found = {}
            for job in keyed:
                entry = found.get(job.ledger_key) if job.ledger_key is not None else None
                if entry is not None:
                    ids = entry.ids
                    outcome = Outcome.ok(
                        contact_id=ids.get("contact_id"), transaction_id=ids.get("transaction_id")
                    )
                    _settle(job, outcome, duplicate=True)
        return [job for job in jobs if not job.future.done()]

    def _prepare(self, jobs: list[_Job], now: dt.datetime) -> list[_Job]:
        """Evaluate and check each mapping; settle the jobs whose payload is unusable."""
        ready: list[_Job] = []
        for job in jobs:
            route = job.route
            try:
                payload = check_payload(route.spec, route.mapping.evaluate(job.event.raw))
                action = route.spec.name
                if action == upsert_transaction.SPEC.name:
                    key = transaction_key(route.key, job.source)
                    job.work = upsert_transaction.prepare(
                        payload, key=key, default_date=_event_time(job.event, now)
                    )
                elif action == add_contact.SPEC.name:
                    job.work = add_contact.prepare(payload)
                else:
                    job.work = trigger_workflow.prepare(payload)
            except (AdapterError, QualtricsError) as exc:
                _settle(job, failure(exc))
                continue
            ready.append(job)
        return ready

    async def _execute(self, jobs: list[_Job]) -> None:
        transactions = [
            job for job in jobs if isinstance(job.work, upsert_transaction.TransactionWork)
        ]
        units = (
            [self._guarded(self._run_transactions(transactions), transactions)]
            if transactions
            else []
        )
        for job in jobs:
            if isinstance(job.work, add_contact.AddContactWork):
                units.append(self._guarded(self._run_one(job, add_contact.perform), [job]))
            elif isinstance(job.work, trigger_workflow.WorkflowWork):
                units.append(self._guarded(self._run_one(job, trigger_workflow.perform), [job]))
        await asyncio.gather(*units)

    async def _guarded(self, unit: Any, jobs: list[_Job]) -> None:
        try:
            await unit
        except Exception as exc:  # a bug must not leave the batch hanging or hide other results
            logger.exception("unexpected error while delivering %d event(s)", len(jobs))
            for job in jobs:
                _settle(job, failure(exc))

    async def _run_one(self, job: _Job, perform: Any) -> None:
        async with self._limiter:
            outcome: Outcome = await perform(self._client, job.work)
        await self._finish([(job, outcome)])

    async def _run_transactions(self, jobs: list[_Job]) -> None:
        outcomes = await self._transactions.deliver([job.work for job in jobs])
        await self._finish(list(zip(jobs, outcomes, strict=True)))

    async def _finish(self, done: list[tuple[_Job, Outcome]]) -> None:
        """Record confirmed deliveries in one ledger write, then settle the jobs."""
        entries = [
            LedgerEntry(message_id=key[0], subscription=key[1], ids=outcome.ids)
            for job, outcome in done
            if outcome.delivered and (key := job.ledger_key) is not None
        ]
        if entries:
            try:
                await self._ledger.record(entries)
            except Exception:
                logger.exception(
                    "could not record %d confirmed deliveries in the ledger; a redelivery of "
                    "these events would send them again",
                    len(entries),
                )
        for job, outcome in done:
            _settle(job, outcome)
