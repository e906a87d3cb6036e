"""The hosted Qualtrics (Actions) destination's three actions, with its defects fixed.

* ``addContactToXmd`` (:mod:`.add_contact`): create a directory contact (default subscription
  ``type = "identify"``).
* ``upsertContactTransaction`` (:mod:`.upsert_transaction`): find or create the contact, then
  record a transaction (default subscription ``type = "track", event = "Transaction Created"``).
* ``triggerXflowWorkflow`` (:mod:`.trigger_workflow`): start a workflow through its JSON-event
  URL (no default subscription).

Their fields, required flags, default mappings and default subscriptions are Segment's (see
:func:`default_mapping`), and each event goes through Segment's pipeline (mapping, undefined
removal, ``null``/``""`` dropped at the root, scalars converted to the field's type as its schema
validation does). Run them through :class:`segment_adapter.destination.QualtricsDestination`.

Where results differ from the hosted destination, on purpose:

* defaults reading ``$.traits.X`` fall back to ``$.context.traits.X`` (D6) and accept
  ``first_name``/``last_name``/``phone_number`` (D14); explicit paths mean exactly that path;
* ``transactionData`` and ``embeddedData`` (both actions): ``null`` values are dropped and
  nested values sent as compact JSON per key (D5; the hosted action sends ``embeddedData`` raw);
* an unparsable ``transactionDate`` fails the event (D10); with no date mapped, the event's own
  time is used instead of "now";
* transaction keys come from ``messageId`` and the subscription, and a redelivery is answered
  from the ledger (``duplicate=True``) instead of creating a second transaction (D2);
* transactions are batched per directory, contacts looked up once per identity (D3); a contact
  created for several waiting events gets the contact fields of the first of them;
* unprocessed transactions fail their event, not retryable (D4);
* the workflow URL must be https on ``*.qualtrics.com`` (D1) and the datacenter is validated
  (D12);
* the comma in the default subscription reads as ``and`` (D7), ``and`` binds tighter than
  ``or``, and unknown FQL identifiers are errors (see :mod:`segment_adapter.subscriptions`);
* a subscription whose mapping can never produce a required field is refused when the
  destination is built, not per event (decision 10).

Kept as in the hosted destination: ``addContactToXmd`` is create-only with ``extRef`` from
``$.userId`` only (D9), and the contact search is one ``and`` of ``extRef``, ``phone`` and
``email`` (D8), with more than one match failing the event.
"""

from __future__ import annotations

from typing import Any

from ._defaults import ACTIONS, ActionSpec, FieldSpec

__all__ = [
    "ACTIONS",
    "ActionSpec",
    "FieldSpec",
    "action_names",
    "default_mapping",
    "default_subscription",
]


def _spec(action: str) -> ActionSpec:
    try:
        return ACTIONS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}") from None


def action_names() -> tuple[str, ...]:
    """The supported action names."""
    return tuple(ACTIONS)


def default_mapping(action: str) -> dict[str, Any]:
    """The action's default mapping, as Segment mapping JSON (a fresh copy you may edit).

    Raises:
        ValueError: unknown action.
    """
    return _spec(action).default_mapping()


def default_subscription(action: str) -> str | None:
    """The action's default subscription (FQL), ``None`` for ``triggerXflowWorkflow``.

    Raises:
        ValueError: unknown action.
    """
    return _spec(action).default_subscription
