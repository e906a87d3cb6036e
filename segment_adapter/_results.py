"""What delivering an event produced: one :class:`SubscriptionResult` per matched subscription,
rolled up into one :class:`EventResult` per event (Segment's multi-status, per event)."""

from __future__ import annotations

from typing import Any, Literal

import attrs

__all__ = ["EventResult", "EventStatus", "SubscriptionResult", "SubscriptionStatus"]

SubscriptionStatus = Literal["delivered", "failed"]
EventStatus = Literal["delivered", "skipped", "failed"]


@attrs.frozen(kw_only=True)
class SubscriptionResult:
    """The outcome of one subscription (one action) for one event.

    Attributes:
        action: The action run: ``addContactToXmd``, ``upsertContactTransaction`` or
            ``triggerXflowWorkflow``.
        index: Position of the subscription in the destination's list (0-based).
        name: The subscription's ``name``, when it has one.
        status: ``"delivered"`` (Qualtrics confirmed it, now or in an earlier delivery) or
            ``"failed"``.
        retryable: For a failure, whether sending the event again later may succeed (429, 5xx,
            connection problems, an ambiguous write that could not be reconciled). Validation
            errors, unprocessed transactions and ambiguous contacts are not retryable.
        duplicate: ``True`` when the event was not sent again because this subscription already
            delivered it (an earlier delivery recorded in the ledger, or a repeat of an event
            earlier in the same batch); the ids are then those of the first delivery.
        contact_id: The contact created or used (``CID_...``), when the action has one.
        transaction_id: The transaction created (``CTR_...``), for ``upsertContactTransaction``.
        error: Why it failed (Qualtrics' message when Qualtrics gave one); ``None`` on success.
        retry_after: Seconds Qualtrics asked to wait before retrying, when it said so.
    """

    action: str
    index: int
    name: str | None = None
    status: SubscriptionStatus
    retryable: bool = False
    duplicate: bool = False
    contact_id: str | None = None
    transaction_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def label(self) -> str:
        """How messages refer to the subscription: its name, else ``#<index>``."""
        return self.name if self.name is not None else f"#{self.index}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; keys are the attribute names, ``None`` values included."""
        return attrs.asdict(self)


@attrs.frozen(kw_only=True)
class EventResult:
    """The outcome of one event: the worst of its subscriptions' outcomes.

    Build it with :meth:`from_subscriptions` or :meth:`invalid`; ``status``, ``retryable``,
    ``duplicate``, ``retry_after`` and ``error`` are derived from the subscriptions.

    Attributes:
        message_id: The event's ``messageId`` (``None`` when it had none or could not be read).
        event_type: The event's ``type`` (``None`` when it could not be read).
        status: ``"failed"`` if the event was invalid or any subscription failed, else
            ``"delivered"`` if any subscription matched, else ``"skipped"`` (no subscription
            matched: nothing was sent).
        retryable: ``True`` when any failed subscription is retryable.
        duplicate: ``True`` when at least one subscription matched and every one of them was a
            duplicate (nothing was sent for this event).
        subscriptions: One result per matched subscription, in subscription order.
        error: For an invalid event, why it was rejected; for failed subscriptions, their
            errors joined as ``"<label>: <message>; ..."``; else ``None``.
        retry_after: The longest ``retry_after`` among the subscriptions, when any gave one.
    """

    message_id: str | None = None
    event_type: str | None = None
    status: EventStatus
    retryable: bool = False
    duplicate: bool = False
    subscriptions: tuple[SubscriptionResult, ...] = ()
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def from_subscriptions(
        cls,
        results: tuple[SubscriptionResult, ...] | list[SubscriptionResult],
        *,
        message_id: str | None,
        event_type: str | None,
    ) -> EventResult:
        """Roll subscription results up into the event's result."""
        results = tuple(results)
        failed = [result for result in results if result.status == "failed"]
        status: EventStatus
        if failed:
            status = "failed"
        elif results:
            status = "delivered"
        else:
            status = "skipped"
        waits = [result.retry_after for result in results if result.retry_after is not None]
        return cls(
            message_id=message_id,
            event_type=event_type,
            status=status,
            retryable=any(result.retryable for result in failed),
            duplicate=bool(results) and all(result.duplicate for result in results),
            subscriptions=results,
            error="; ".join(f"{result.label}: {result.error}" for result in failed) or None,
            retry_after=max(waits) if waits else None,
        )

    @classmethod
    def invalid(
        cls, error: str, *, message_id: str | None = None, event_type: str | None = None
    ) -> EventResult:
        """The result of an event that could not be read (failed, not retryable)."""
        return cls(message_id=message_id, event_type=event_type, status="failed", error=error)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps`` works on it); the shape is stable.

        Keys, always present, in this order (``null`` where not applicable): ``message_id``,
        ``event_type``, ``status`` (``"delivered"``/``"skipped"``/``"failed"``), ``retryable``,
        ``duplicate``, ``subscriptions``, ``error``, ``retry_after`` (seconds). Each item of
        ``subscriptions`` has ``action``, ``index``, ``name``, ``status``
        (``"delivered"``/``"failed"``), ``retryable``, ``duplicate``, ``contact_id``,
        ``transaction_id``, ``error``, ``retry_after``. New keys may be added; none is removed
        or renamed within a major version.
        """
        out = attrs.asdict(self, recurse=False)
        out["subscriptions"] = [result.to_dict() for result in self.subscriptions]
        return out
