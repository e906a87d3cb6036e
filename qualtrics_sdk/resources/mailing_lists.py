"""``client.mailing_lists``: mailing lists of a directory and (``.contacts``) their contacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._errors import ValidationError
from .._pagination import AsyncPaginator
from ..models._base import parse_result
from ..models.mailing_lists import (
    CreatedMailingList,
    CreatedMailingListContact,
    MailingList,
    MailingListContact,
)
from ._base import Resource, id_segment
from ._contact_fields import contact_body
from ._list_params import check_page_size, format_since

if TYPE_CHECKING:
    from .._client import QualtricsClient

__all__ = [
    "MAILING_LIST_CONTACTS_MAX_PAGE_SIZE",
    "MailingListContactsResource",
    "MailingListsResource",
]

#: Qualtrics documents 50 as the largest ``pageSize`` of a mailing-list contacts listing.
MAILING_LIST_CONTACTS_MAX_PAGE_SIZE = 50


def _lists_path(directory_id: str) -> str:
    return f"/directories/{id_segment('directory_id', directory_id)}/mailinglists"


def _list_path(directory_id: str, mailing_list_id: str) -> str:
    return f"{_lists_path(directory_id)}/{id_segment('mailing_list_id', mailing_list_id)}"


def _check_text(field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be a non-empty string, got {value!r}", field=field)
    return value


class MailingListsResource(Resource):
    """Mailing lists (``CG_...``) of a directory: list, create, get, update, delete.

    Contacts of a list are under :attr:`contacts` (``client.mailing_lists.contacts``).
    """

    def __init__(self, client: QualtricsClient) -> None:
        super().__init__(client)
        self.contacts = MailingListContactsResource(client)
        """Contacts of a mailing list: :class:`MailingListContactsResource`."""

    def list(
        self,
        directory_id: str,
        *,
        include_count: bool | None = None,
        owner_id: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[MailingList]:
        """List a directory's mailing lists (``GET /directories/{d}/mailinglists``).

        Args:
            directory_id: The directory (``POOL_...``).
            include_count: Ask Qualtrics to fill ``contact_count`` (it is empty otherwise).
            owner_id: Only lists owned by this user (``UR_...``).
            page_size: Lists per page (Qualtrics' default when ``None``; maximum not documented).

        Returns:
            A paginator over :class:`MailingList` (``nextPage`` style, with
            ``useNewPaginationScheme=true``).

        Raises:
            ValidationError: for a bad id or page size, before any request.
        """
        return self._paginate(
            _lists_path(directory_id),
            MailingList,
            params={
                "pageSize": check_page_size(page_size),
                "includeCount": include_count,
                "ownerId": owner_id,
                "useNewPaginationScheme": True,
            },
        )

    async def create(
        self,
        directory_id: str,
        *,
        name: str,
        owner_id: str | None = None,
        prioritize_list_metadata: bool | None = None,
    ) -> CreatedMailingList:
        """Create a mailing list (``POST /directories/{d}/mailinglists``).

        The body is ``{"name", "ownerId"?, "prioritizeListMetadata"?}`` as public clients send it;
        whether ``ownerId`` is required and what ``prioritizeListMetadata`` changes are not
        documented by Qualtrics (UNCONFIRMED), so both are sent only when given.

        Returns:
            :class:`CreatedMailingList` with the new ``id``.

        Raises:
            ValidationError: for an empty name or a bad id, before any request.
            APIError: when the call fails. Not retried once it may have reached Qualtrics
                (``ambiguous=True``): a blind retry could create a second list.
        """
        body: dict[str, Any] = {"name": _check_text("name", name)}
        if owner_id is not None:
            body["ownerId"] = _check_text("owner_id", owner_id)
        if prioritize_list_metadata is not None:
            body["prioritizeListMetadata"] = prioritize_list_metadata
        response = await self._transport.request("POST", _lists_path(directory_id), json=body)
        return parse_result(response, CreatedMailingList)

    async def get(
        self, directory_id: str, mailing_list_id: str, *, include_count: bool | None = None
    ) -> MailingList:
        """Fetch one mailing list (``GET /directories/{d}/mailinglists/{ml}``).

        Args:
            include_count: Ask Qualtrics to fill ``contact_count``.

        Raises:
            NotFoundError: when the list does not exist.
            ValidationError: for a bad id, before any request.
        """
        response = await self._transport.request(
            "GET",
            _list_path(directory_id, mailing_list_id),
            params={"includeCount": include_count},
        )
        return parse_result(response, MailingList)

    async def update(
        self,
        directory_id: str,
        mailing_list_id: str,
        *,
        name: str | None = None,
        owner_id: str | None = None,
    ) -> None:
        """Rename a mailing list or change its owner (``PUT /directories/{d}/mailinglists/{ml}``).

        Only the fields given are sent. ``{"name"}`` is what public clients send; that ``ownerId``
        is accepted here is UNCONFIRMED.

        Raises:
            ValidationError: when neither ``name`` nor ``owner_id`` is given, or for an empty name.
            APIError: when the call fails.
        """
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = _check_text("name", name)
        if owner_id is not None:
            body["ownerId"] = _check_text("owner_id", owner_id)
        if not body:
            raise ValidationError("update needs at least one of name= or owner_id=", field="name")
        await self._transport.request("PUT", _list_path(directory_id, mailing_list_id), json=body)

    async def delete(self, directory_id: str, mailing_list_id: str) -> None:
        """Delete a mailing list (``DELETE /directories/{d}/mailinglists/{ml}``).

        Whether its contacts stay in the directory is not documented (UNCONFIRMED); removing a
        single contact from a list keeps it in the directory.

        Raises:
            NotFoundError: when the list does not exist.
            ValidationError: for a bad id, before any request.
        """
        await self._transport.request("DELETE", _list_path(directory_id, mailing_list_id))


class MailingListContactsResource(Resource):
    """Contacts of one mailing list (``client.mailing_lists.contacts``).

    Paths are ``/directories/{d}/mailinglists/{ml}/contacts[/{c}]``. Contacts created here are
    also directory contacts, and directory deduplication applies to them.
    """

    def list(
        self,
        directory_id: str,
        mailing_list_id: str,
        *,
        page_size: int | None = None,
        include_embedded: bool | None = None,
    ) -> AsyncPaginator[MailingListContact]:
        """List the contacts of a mailing list (``GET .../mailinglists/{ml}/contacts``).

        Args:
            page_size: Contacts per page, at most 50 (Qualtrics' documented maximum and default).
            include_embedded: Include each contact's ``embedded_data``.

        Returns:
            A paginator over :class:`MailingListContact` (``useNewPaginationScheme=true``).

        Raises:
            ValidationError: for ``page_size`` above 50 (or below 1) or a bad id, before any
                request.
        """
        return self._paginate(
            f"{_list_path(directory_id, mailing_list_id)}/contacts",
            MailingListContact,
            params={
                "pageSize": check_page_size(page_size, maximum=MAILING_LIST_CONTACTS_MAX_PAGE_SIZE),
                "includeEmbedded": include_embedded,
                "useNewPaginationScheme": True,
            },
        )

    async def create(
        self,
        directory_id: str,
        mailing_list_id: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        ext_ref: str | None = None,
        language: str | None = None,
        unsubscribed: bool | None = None,
        embedded_data: Mapping[str, Any] | None = None,
        private_embedded_data: Mapping[str, Any] | None = None,
        json_encode_nested: bool = False,
    ) -> CreatedMailingListContact:
        """Create a contact in a mailing list (``POST .../mailinglists/{ml}/contacts``).

        The contact is created in the directory too. With directory deduplication on and a match,
        Qualtrics updates the existing contact instead; without it, a second call creates a
        duplicate. Fields left ``None`` are not sent.

        Args:
            embedded_data: Directory-wide embedded data: str, int, float or bool values.
            private_embedded_data: Embedded data visible only through this list.
            json_encode_nested: Send dict/list values as compact JSON strings instead of refusing.

        Returns:
            :class:`CreatedMailingListContact` with ``id`` and ``contact_lookup_id``.

        Raises:
            ValidationError: for a bad id or embedded data (nested value, ``None``, names over
                200 or values over 1,024 characters), before any request.
            APIError: when the call fails; not retried once it may have reached Qualtrics
                (``ambiguous=True``).
        """
        body = contact_body(
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            ext_ref=ext_ref,
            language=language,
            unsubscribed=unsubscribed,
            embedded_data=embedded_data,
            private_embedded_data=private_embedded_data,
            json_encode_nested=json_encode_nested,
        )
        response = await self._transport.request(
            "POST", f"{_list_path(directory_id, mailing_list_id)}/contacts", json=body
        )
        return parse_result(response, CreatedMailingListContact)

    async def get(
        self, directory_id: str, mailing_list_id: str, contact_id: str
    ) -> MailingListContact:
        """Fetch one contact of a list (``GET .../mailinglists/{ml}/contacts/{c}``).

        Raises:
            NotFoundError: when the contact is not in the list.
            ValidationError: for a bad id, before any request.
        """
        response = await self._transport.request(
            "GET", _contact_path(directory_id, mailing_list_id, contact_id)
        )
        return parse_result(response, MailingListContact)

    async def update(
        self,
        directory_id: str,
        mailing_list_id: str,
        contact_id: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        ext_ref: str | None = None,
        language: str | None = None,
        unsubscribed: bool | None = None,
        embedded_data: Mapping[str, Any] | None = None,
        private_embedded_data: Mapping[str, Any] | None = None,
        json_encode_nested: bool = False,
    ) -> None:
        """Update a contact of a list (``PUT .../mailinglists/{ml}/contacts/{c}``).

        Only the fields given are sent. Whether Qualtrics merges or replaces the embedded-data
        maps on update is not documented (UNCONFIRMED): send the complete map to be safe.
        Whether ``unsubscribed`` opts the contact out of this list or of the directory is not
        documented either (UNCONFIRMED).

        Raises:
            ValidationError: when no field is given, or for bad ids or embedded data.
            APIError: when the call fails.
        """
        body = contact_body(
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            ext_ref=ext_ref,
            language=language,
            unsubscribed=unsubscribed,
            embedded_data=embedded_data,
            private_embedded_data=private_embedded_data,
            json_encode_nested=json_encode_nested,
        )
        if not body:
            raise ValidationError("update needs at least one field to change", field=None)
        await self._transport.request(
            "PUT", _contact_path(directory_id, mailing_list_id, contact_id), json=body
        )

    async def delete(self, directory_id: str, mailing_list_id: str, contact_id: str) -> None:
        """Remove a contact from a mailing list (``DELETE .../mailinglists/{ml}/contacts/{c}``).

        This removes the contact from this list only: the contact stays in the directory (and
        in its other lists). Use ``client.contacts.delete`` to delete the contact itself.

        Raises:
            NotFoundError: when the contact is not in the list.
            ValidationError: for a bad id, before any request.
        """
        await self._transport.request(
            "DELETE", _contact_path(directory_id, mailing_list_id, contact_id)
        )

    def list_bounced(
        self,
        directory_id: str,
        mailing_list_id: str,
        *,
        since: dt.datetime | dt.date | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[MailingListContact]:
        """List contacts of a list whose email bounced (``GET .../{ml}/bouncedContacts``).

        Args:
            since: Only bounces since then: an aware datetime (sent as UTC
                ``YYYY-MM-DDTHH:MM:SSZ``) or a date (``YYYY-MM-DD``). The format Qualtrics expects
                is not documented (UNCONFIRMED).
            page_size: Contacts per page (default 100 per Qualtrics).

        Raises:
            ValidationError: for a naive ``since``, a bad page size or id, before any request.
        """
        return self._contact_listing(
            directory_id, mailing_list_id, "bouncedContacts", since=since, page_size=page_size
        )

    def list_opted_out(
        self,
        directory_id: str,
        mailing_list_id: str,
        *,
        since: dt.datetime | dt.date | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[MailingListContact]:
        """List contacts who opted out of a list (``GET .../{ml}/optedOutContacts``).

        Args:
            since: Only opt-outs since then; same rendering as :meth:`list_bounced` (format
                UNCONFIRMED).
            page_size: Contacts per page (default 100 per Qualtrics).

        Raises:
            ValidationError: for a naive ``since``, a bad page size or id, before any request.
        """
        return self._contact_listing(
            directory_id, mailing_list_id, "optedOutContacts", since=since, page_size=page_size
        )

    def _contact_listing(
        self,
        directory_id: str,
        mailing_list_id: str,
        endpoint: str,
        *,
        since: dt.datetime | dt.date | None,
        page_size: int | None,
    ) -> AsyncPaginator[MailingListContact]:
        return self._paginate(
            f"{_list_path(directory_id, mailing_list_id)}/{endpoint}",
            MailingListContact,
            params={"since": format_since(since), "pageSize": check_page_size(page_size)},
        )


def _contact_path(directory_id: str, mailing_list_id: str, contact_id: str) -> str:
    return (
        f"{_list_path(directory_id, mailing_list_id)}/contacts/"
        f"{id_segment('contact_id', contact_id)}"
    )
