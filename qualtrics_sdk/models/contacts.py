"""Directory contacts: one :class:`Contact` shape for list, get and search, plus write results.

Qualtrics spells the same contact differently per endpoint (``contactId`` on list/get, ``id`` on
search; ``phone`` / ``phoneNumber``; ``extRef`` / ``externalDataReference``; dates as epoch
milliseconds on get and as strings on search). The models here read every spelling, so code that
handles a contact never needs to know which call produced it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from .._convert import wire_field
from .._transport import ResponseInfo
from ._base import Model
from .transactions import Transaction

__all__ = [
    "Contact",
    "ContactTransaction",
    "CreatedContact",
    "MailingListMembership",
    "SegmentMembership",
    "UpsertResult",
]


@attrs.frozen(kw_only=True)
class MailingListMembership(Model):
    """A contact's membership of one mailing list (values of ``Contact.mailing_list_membership``).

    Attributes:
        contact_lookup_id: The contact's id inside the list (``CGC_...``).
        name: The mailing list's name.
        owner_id: The list owner's user id (``UR_...``).
        unsubscribed: Whether the contact opted out of this list.
        unsubscribe_date: When they opted out (wire ``unsubscribeDate``, epoch ms), else ``None``.
    """

    contact_lookup_id: str | None = None
    name: str | None = None
    owner_id: str | None = None
    unsubscribed: bool | None = None
    # one Python name for both of Qualtrics' spellings
    unsubscribe_date: dt.datetime | None = wire_field(
        wire="unsubscribeDate", aliases=("unsubscribedDate",), default=None
    )


@attrs.frozen(kw_only=True)
class SegmentMembership(Model):
    """A contact's membership of one segment (values of ``Contact.segment_membership``).

    Same shape as :class:`MailingListMembership`; Qualtrics spells the date ``unsubscribedDate``
    here (with a ``d``), which is read into the same ``unsubscribe_date`` attribute.
    """

    contact_lookup_id: str | None = None
    name: str | None = None
    owner_id: str | None = None
    unsubscribed: bool | None = None
    unsubscribe_date: dt.datetime | None = wire_field(
        wire="unsubscribedDate", aliases=("unsubscribeDate",), default=None
    )


@attrs.frozen(kw_only=True)
class Contact(Model):
    """An XM Directory contact, as returned by ``list``, ``get`` and ``search``.

    One Python shape for three wire shapes. An attribute is ``None`` when the call that produced
    the contact does not return that field (for example ``list`` returns no embedded data, and
    ``search`` returns embedded data only with ``include_embedded=True``).

    ============================  ==========================  ==============================
    Attribute                     list / get wire key         search wire key
    ============================  ==========================  ==============================
    ``id``                        ``contactId``               ``id``
    ``first_name``                ``firstName``               ``firstName``
    ``last_name``                 ``lastName``                ``lastName``
    ``email``                     ``email``                   ``email``
    ``phone``                     ``phone``                   ``phoneNumber``
    ``ext_ref``                   ``extRef``                  ``externalDataReference``
    ``language``                  ``language``                ``language``
    ``unsubscribed``              ``unsubscribed`` (list)     ``unsubscribed``
    ``unsubscribe_date``          --                          ``unsubscribeDate`` (string)
    ``embedded_data``             ``embeddedData`` (get)      ``embeddedData``
    ``creation_date``             ``creationDate`` (ms, get)  ``creationDate`` (string)
    ``last_modified``             ``lastModified`` (ms, get)  ``lastModified`` (string)
    ``email_domain``              ``emailDomain`` (get)       --
    ``directory_unsubscribed``    ``directoryUnsubscribed``   --
    ``directory_unsubscribe_date`` ``directoryUnsubscribeDate`` --
    ``mailing_list_membership``   ``mailingListMembership``   --
    ``segment_membership``        ``segmentMembership`` (get  ``segmentMembership``
                                  with ``include_segments``)
    ``stats``                     ``stats`` (get)             ``stats``
    ``skipped``                   ``skipped``                 --
    ============================  ==========================  ==============================

    Dates become timezone-aware UTC datetimes whichever form they arrive in. Keys Qualtrics adds
    later land in ``extra``.

    Attributes:
        id: The contact id (``CID_...``). ``contact_id`` is an alias, for readers of Qualtrics'
            docs.
        embedded_data: Embedded data as Qualtrics stores it: every value is a string.
        stats: Qualtrics' per-contact statistics, kept as sent (Qualtrics documents them loosely
            and says the monthly ones are deprecated).
        mailing_list_membership: Mailing list id (``CG_...``) to membership details.
        segment_membership: Segment id to membership details.
    """

    id: str = wire_field(wire="contactId", aliases=("id",))
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = wire_field(wire="phone", aliases=("phoneNumber",), default=None)
    ext_ref: str | None = wire_field(
        wire="extRef", aliases=("externalDataReference",), default=None
    )
    language: str | None = None
    unsubscribed: bool | None = None
    unsubscribe_date: dt.datetime | None = None
    embedded_data: dict[str, str] | None = None
    creation_date: dt.datetime | None = None
    last_modified: dt.datetime | None = None
    email_domain: str | None = None
    directory_unsubscribed: bool | None = None
    directory_unsubscribe_date: dt.datetime | None = None
    mailing_list_membership: dict[str, MailingListMembership] | None = None
    segment_membership: dict[str, SegmentMembership] | None = None
    stats: dict[str, Any] | None = None
    skipped: bool | None = None

    @property
    def contact_id(self) -> str:
        """Alias of :attr:`id` (Qualtrics' ``contactId``)."""
        return self.id


@attrs.frozen(kw_only=True)
class CreatedContact(Model):
    """The result of ``client.contacts.create``: the new contact's id.

    When the directory's deduplication rules merged the new data into an existing contact,
    Qualtrics is expected (not confirmed) to return that contact's id.
    """

    id: str = wire_field(wire="id", aliases=("contactId",))

    @property
    def contact_id(self) -> str:
        """Alias of :attr:`id`."""
        return self.id


#: A contact's transaction as listed by ``client.contacts.transactions``: the same object as
#: ``client.transactions.get`` returns (kept under this name for readers of the listing's docs).
ContactTransaction = Transaction


@attrs.frozen(kw_only=True)
class UpsertResult:
    """The outcome of ``client.contacts.upsert``.

    Attributes:
        id: The contact id, found or created.
        created: ``True`` when no contact matched and one was created.
        updated: ``True`` when an existing contact was found and updated (``update=True`` with at
            least one non-identity field).
        response_info: Info of the last call the upsert made (create, update or search).
    """

    id: str
    created: bool
    updated: bool = False
    response_info: ResponseInfo | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def contact_id(self) -> str:
        """Alias of :attr:`id`."""
        return self.id
