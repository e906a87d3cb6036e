"""Mailing lists (``CG_...``) of an XM directory and the contacts in them.

Wire names differ between calls (``mailingListId`` in listings, ``id`` from create;
``contactId`` from list/get, ``id`` from create); each model exposes one Python shape and reads
every spelling. Dates arrive as epoch milliseconds or ISO strings and become aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from .._convert import wire_field
from ._base import Model

__all__ = [
    "CreatedMailingList",
    "CreatedMailingListContact",
    "MailingList",
    "MailingListContact",
]


@attrs.frozen(kw_only=True)
class MailingList(Model):
    """A mailing list of a directory.

    Attributes:
        id: The mailing list id (``CG_...``); wire ``mailingListId`` (``id`` also accepted).
        name: The list's name.
        owner_id: The owning user (``UR_...``).
        contact_count: Number of contacts; Qualtrics fills it only when the call was made with
            ``include_count=True``, otherwise it is ``None`` (or ``0`` on some datacenters).
        creation_date: When the list was created (aware, UTC).
        last_modified_date: When the list was last changed (aware, UTC).
    """

    id: str = wire_field(wire="mailingListId", aliases=("id",))
    name: str | None = None
    owner_id: str | None = None
    contact_count: int | None = None
    creation_date: dt.datetime | None = None
    last_modified_date: dt.datetime | None = wire_field(
        wire="lastModifiedDate", aliases=("lastModified",), default=None
    )


@attrs.frozen(kw_only=True)
class CreatedMailingList(Model):
    """What ``mailing_lists.create`` returns.

    Attributes:
        id: The new mailing list's id (``CG_...``).
    """

    id: str = wire_field(wire="id", aliases=("mailingListId",))


@attrs.frozen(kw_only=True)
class MailingListContact(Model):
    """A contact as seen through a mailing list (list, get, bounced and opted-out listings).

    The id is exposed as ``id`` (wire ``contactId``, or ``id``); ``contact_id`` is an alias
    property for readers of Qualtrics' documentation. Listings carry fewer fields than ``get``;
    fields a call does not return are ``None``. Unknown wire fields (for example
    ``responseHistory`` and ``emailHistory`` of listings) are kept in ``extra``.

    Attributes:
        id: The directory contact id (``CID_...``).
        contact_lookup_id: The contact's membership id in this list (``CGC_...``).
        first_name, last_name, email, phone, ext_ref, language: Contact fields (``phone`` also
            read from ``phoneNumber``, ``ext_ref`` from ``externalDataReference``).
        email_domain: Domain of the email address (``get`` only).
        unsubscribed: Directory-level opt-out flag as returned by listings.
        mailing_list_unsubscribed: Whether the contact opted out of this list only.
        mailing_list_unsubscribe_date: When that happened.
        directory_unsubscribed: Whether the contact opted out of the whole directory.
        directory_unsubscribe_date: When that happened.
        embedded_data: Directory-wide embedded data (Qualtrics stores values as strings).
        private_embedded_data: Embedded data private to this mailing list.
        creation_date: When the contact was created.
        last_modified: When the contact was last changed.
        stats: Per-contact statistics, as sent (Qualtrics marks monthly stats deprecated).
    """

    id: str = wire_field(wire="contactId", aliases=("id",))
    contact_lookup_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    email_domain: str | None = None
    phone: str | None = wire_field(wire="phone", aliases=("phoneNumber",), default=None)
    ext_ref: str | None = wire_field(
        wire="extRef", aliases=("externalDataReference",), default=None
    )
    language: str | None = None
    unsubscribed: bool | None = None
    mailing_list_unsubscribed: bool | None = None
    mailing_list_unsubscribe_date: dt.datetime | None = None
    directory_unsubscribed: bool | None = None
    directory_unsubscribe_date: dt.datetime | None = None
    embedded_data: dict[str, str | None] | None = None
    private_embedded_data: dict[str, str | None] | None = None
    creation_date: dt.datetime | None = None
    last_modified: dt.datetime | None = wire_field(
        wire="lastModified", aliases=("lastModifiedDate",), default=None
    )
    stats: dict[str, Any] | None = None

    @property
    def contact_id(self) -> str:
        """Alias of :attr:`id` (Qualtrics' name for it)."""
        return self.id


@attrs.frozen(kw_only=True)
class CreatedMailingListContact(Model):
    """What ``mailing_lists.contacts.create`` returns.

    Attributes:
        id: The contact id (``CID_...``). With directory deduplication on, this may be an existing
            contact that was merged rather than a new one.
        contact_lookup_id: The membership id in the list (``CGC_...``).
    """

    id: str = wire_field(wire="id", aliases=("contactId",))
    contact_lookup_id: str | None = None

    @property
    def contact_id(self) -> str:
        """Alias of :attr:`id` (Qualtrics' name for it)."""
        return self.id
