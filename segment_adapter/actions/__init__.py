"""The hosted Qualtrics (Actions) destination's three actions, with its defects fixed.

* ``addContactToXmd`` (:mod:`.add_contact`): create a directory contact (default subscription
  ``type = "identify"``).
* ``upsertContactTransaction`` (:mod:`.upsert_transaction`): find or create the contact, then
  record a transaction (default subscription ``type = "track", event = "Transaction Created"``).
* ``triggerXflowWorkflow`` (:mod:`.trigger_workflow`): start a workflow through its JSON-event
  URL (no default subscription).

Their fields, default mappings and default subscriptions are Segment's (see
:func:`default_mapping`), except that defaults reading ``$.traits.X`` fall back to
``$.context.traits.X`` (D6) and accept ``first_name``/``last_name``/``phone_number`` (D14).
Run them through :class:`segment_adapter.destination.QualtricsDestination`.
"""

from __future__ import annotations

from typing import Any

from ._contact_cache import ContactCache
from ._defaults import ACTIONS, ActionSpec, FieldSpec

__all__ = [
    "ACTIONS",
    "ActionSpec",
    "ContactCache",
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
