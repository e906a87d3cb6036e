"""``addContactToXmd``: create a contact in an XM Directory, as the hosted destination does.

One ``POST /directories/{directoryId}/contacts`` per event, with the mapped fields (no search).
Whether this updates an existing contact instead of adding a new one is decided by the
directory's deduplication settings in Qualtrics (D9): with dedup on ``extRef`` or ``email``, a
contact that already exists is merged; with dedup off, every event adds a contact. Use
``upsertContactTransaction`` (which searches first) when you need find-or-create. As in the
hosted action, ``extRef`` defaults to ``$.userId`` only (an anonymous ``identify`` creates a
contact without ``extRef``) and no identifier is required.

Differences from the hosted action: ``embeddedData`` values that are ``null`` are left out and
nested values are sent as compact JSON per key (decision 13), so Qualtrics does not reject them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from qualtrics_sdk import QualtricsClient

from ._defaults import ADD_CONTACT, ActionSpec
from ._outcome import Outcome, failure
from ._payloads import flat_map

__all__ = ["SPEC", "AddContactWork", "perform", "prepare"]

SPEC: ActionSpec = ADD_CONTACT

_CONTACT_ARGUMENTS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phone": "phone",
    "extRef": "ext_ref",
    "language": "language",
    "unsubscribed": "unsubscribed",
}


@attrs.frozen(kw_only=True)
class AddContactWork:
    """A contact to create: the directory and the keyword arguments of ``contacts.create``."""

    directory_id: str
    fields: Mapping[str, Any]


def prepare(payload: Mapping[str, Any]) -> AddContactWork:
    """Turn a checked payload into the create call's arguments.

    Raises:
        PayloadError: bad ``embeddedData``.
    """
    fields: dict[str, Any] = {
        argument: payload[name] for name, argument in _CONTACT_ARGUMENTS.items() if name in payload
    }
    if "embeddedData" in payload:
        embedded = flat_map("embeddedData", payload["embeddedData"])
        if embedded:
            fields["embedded_data"] = embedded
    return AddContactWork(directory_id=payload["directoryId"], fields=fields)


async def perform(client: QualtricsClient, work: AddContactWork) -> Outcome:
    """Create the contact; never raises (failures become a failed :class:`Outcome`)."""
    try:
        created = await client.contacts.create(work.directory_id, **work.fields)
    except Exception as exc:
        return failure(exc)
    return Outcome.ok(contact_id=created.id)
