"""The three actions' fields, default mappings and default subscriptions.

They are the hosted Qualtrics (Actions) destination's, written as Segment mapping JSON so users
can read and copy them, with two fixes:

* D6 (decision 7): a default that reads ``$.traits.X`` falls back to ``$.context.traits.X`` when
  the event has no top-level ``traits.X`` (Spec ``track`` events carry traits in
  ``context.traits``). The workflow's default payload sends ``traits`` the same way.
* D14 (decision 8): when the camelCase trait is absent (from ``traits`` and ``context.traits``),
  ``first_name``, ``last_name`` and ``phone_number`` are read instead.

A fallback chain is a nest of ``@if``/``exists``: the first path that holds a value (not
``null``/missing; ``""`` counts as a value, as in Segment) wins.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Final, Literal

import attrs

__all__ = [
    "ADD_CONTACT",
    "ACTIONS",
    "TRIGGER_WORKFLOW",
    "UPSERT_TRANSACTION",
    "ActionSpec",
    "FieldKind",
    "FieldSpec",
    "first_present",
]

FieldKind = Literal["string", "boolean", "object", "datetime"]


def first_present(*paths: str, otherwise: Any = None) -> dict[str, Any]:
    """Mapping JSON giving the value of the first of ``paths`` that exists.

    ``otherwise`` (a raw value or directive) is used when none exists; ``None`` means the field
    is left out.
    """
    node: Any = otherwise
    for path in reversed(paths):
        lookup = {"@path": path}
        node = lookup if node is None else {"@if": {"exists": lookup, "then": lookup, "else": node}}
    result: dict[str, Any] = node
    return result


def _trait(*names: str, otherwise: Any = None) -> dict[str, Any]:
    """``traits.<name>`` then ``context.traits.<name>``, for each name in turn (D6, D14)."""
    paths = [f"$.{root}.{name}" for name in names for root in ("traits", "context.traits")]
    return first_present(*paths, otherwise=otherwise)


@attrs.frozen(kw_only=True)
class FieldSpec:
    """One field of an action.

    Attributes:
        name: The field's key in a mapping (camelCase, as in Segment).
        kind: What the value must be once mapped (strings accept numbers and booleans, which are
            converted as Segment's schema validation converts them).
        required: Whether an event whose mapping yields nothing for it fails.
        default: The default mapping (``None``: the field has no default).
        description: One line for documentation and error messages.
    """

    name: str
    kind: FieldKind
    required: bool = False
    default: Any = None
    description: str = ""


@attrs.frozen(kw_only=True)
class ActionSpec:
    """An action's name, fields and default subscription.

    Attributes:
        name: ``addContactToXmd``, ``upsertContactTransaction`` or ``triggerXflowWorkflow``.
        title: The hosted destination's title for it.
        fields: Its fields, in the hosted destination's order.
        default_subscription: The hosted default subscription (FQL), ``None`` when it has none.
    """

    name: str
    title: str
    fields: tuple[FieldSpec, ...]
    default_subscription: str | None = None

    @property
    def field_names(self) -> tuple[str, ...]:
        """The fields' names, in order."""
        return tuple(field.name for field in self.fields)

    def field(self, name: str) -> FieldSpec:
        """The field called ``name``; raises ``KeyError`` when there is none."""
        for field in self.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    def default_mapping(self) -> dict[str, Any]:
        """A fresh copy of the default mapping JSON (fields with a default only)."""
        return {
            field.name: copy.deepcopy(field.default)
            for field in self.fields
            if field.default is not None
        }


_EMAIL: Final = first_present("$.email", "$.traits.email", "$.context.traits.email")
_LANGUAGE: Final = _trait("language", otherwise="EN")

_CONTACT_FIELDS: Final = (
    FieldSpec(name="email", kind="string", default=_EMAIL, description="Contact email"),
    FieldSpec(
        name="phone", kind="string", default=_trait("phone", "phone_number"), description="Phone"
    ),
    FieldSpec(
        name="firstName",
        kind="string",
        default=_trait("firstName", "first_name"),
        description="First name",
    ),
    FieldSpec(
        name="lastName",
        kind="string",
        default=_trait("lastName", "last_name"),
        description="Last name",
    ),
    FieldSpec(
        name="language", kind="string", default=_LANGUAGE, description="Qualtrics language code"
    ),
    FieldSpec(
        name="unsubscribed", kind="boolean", default=False, description="Unsubscribed from email"
    ),
)

ADD_CONTACT: Final = ActionSpec(
    name="addContactToXmd",
    title="Create and/or update contact in XM Directory",
    default_subscription='type = "identify"',
    fields=(
        FieldSpec(
            name="directoryId",
            kind="string",
            required=True,
            description="XM Directory id (POOL_...)",
        ),
        FieldSpec(
            name="extRef",
            kind="string",
            default={"@path": "$.userId"},
            description="External data reference (your user id)",
        ),
        *_CONTACT_FIELDS,
        FieldSpec(
            name="embeddedData", kind="object", description="Embedded data (flat key/values)"
        ),
    ),
)

UPSERT_TRANSACTION: Final = ActionSpec(
    name="upsertContactTransaction",
    title="Upsert contact transaction",
    # The hosted default is written with a comma (D7); our parser reads the comma as "and".
    default_subscription='type = "track", event = "Transaction Created"',
    fields=(
        FieldSpec(
            name="directoryId",
            kind="string",
            required=True,
            description="XM Directory id (POOL_...)",
        ),
        FieldSpec(
            name="mailingListId",
            kind="string",
            required=True,
            default=_trait("qualtricsMailingListId"),
            description="Mailing list id (CG_...)",
        ),
        FieldSpec(
            name="contactId",
            kind="string",
            default=_trait("qualtricsContactId"),
            description="Contact id (CID_...); when absent, the contact is found or created",
        ),
        FieldSpec(
            name="extRef",
            kind="string",
            required=True,
            default=first_present("$.userId", "$.anonymousId"),
            description="External data reference (your user id)",
        ),
        *_CONTACT_FIELDS,
        FieldSpec(
            name="embeddedData",
            kind="object",
            description="Embedded data, used only when a contact is created",
        ),
        FieldSpec(
            name="transactionDate",
            kind="datetime",
            default={"@path": "$.timestamp"},
            description="When the transaction happened (ISO-8601 or epoch milliseconds)",
        ),
        FieldSpec(
            name="transactionData", kind="object", description="Transaction data (key/values)"
        ),
    ),
)

TRIGGER_WORKFLOW: Final = ActionSpec(
    name="triggerXflowWorkflow",
    title="Start a workflow in Qualtrics",
    fields=(
        FieldSpec(
            name="workflowUrl",
            kind="string",
            required=True,
            description="The workflow's JSON event URL (https://<dc>.qualtrics.com/...)",
        ),
        FieldSpec(
            name="eventPayload",
            kind="object",
            default={
                "event": {"@path": "$.event"},
                "type": {"@path": "$.type"},
                "userId": {"@path": "$.userId"},
                "properties": {"@path": "$.properties"},
                "traits": first_present("$.traits", "$.context.traits"),
                "context": {"@path": "$.context"},
            },
            description="The JSON body sent to the workflow",
        ),
    ),
)

ACTIONS: Final[Mapping[str, ActionSpec]] = {
    spec.name: spec for spec in (ADD_CONTACT, UPSERT_TRANSACTION, TRIGGER_WORKFLOW)
}
"""The supported actions by name."""
