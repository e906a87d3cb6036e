"""``client.contacts``: XM Directory contacts: CRUD, list, search, upsert, transactions."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from .._convert import structure
from .._errors import (
    AmbiguousContactError,
    BadRequestError,
    SearchDepthExceededError,
    ValidationError,
)
from .._pagination import (
    SEARCH_DEPTH_LIMIT,
    AsyncPaginator,
    Page,
    PageRequest,
    SkipTokenStyle,
)
from .._transport import APIResponse, Transport
from ..models._base import parse_result
from ..models.contact_filters import (
    ContactCriterion,
    ContactFilter,
    ContactSearchFilter,
    compile_contact_filter,
)
from ..models.contacts import Contact, ContactTransaction, CreatedContact, UpsertResult
from ._base import Resource, id_segment
from ._contact_fields import check_text, contact_body
from ._list_params import check_page_size

__all__ = ["ContactsResource"]

#: Qualtrics' default search page size, used to recognize a 400 caused by the search depth.
_DEFAULT_SEARCH_PAGE_SIZE = 100


class _ContactSearchPaginator(AsyncPaginator[Contact]):
    """Search pages; a 400 on a page that would reach past the 10,000-result depth is reported as
    :class:`SearchDepthExceededError` (Qualtrics documents the 400, not its error code)."""

    def __init__(
        self,
        transport: Transport,
        first: PageRequest,
        parse: Callable[[Any], Contact],
        *,
        page_size: int | None,
    ) -> None:
        super().__init__(transport, first, SkipTokenStyle(), parse, depth_limit=SEARCH_DEPTH_LIMIT)
        self._page_size = page_size or _DEFAULT_SEARCH_PAGE_SIZE

    def _is_depth_error(self, error: BadRequestError, delivered: int) -> bool:
        if delivered == 0:
            return False
        text = f"{error.error_message or ''} {error.message}"
        mentions_depth = "10000" in text or "10,000" in text
        return mentions_depth or delivered + self._page_size > SEARCH_DEPTH_LIMIT

    async def pages(self) -> AsyncGenerator[Page[Contact], None]:
        """Yield pages in order; see :class:`AsyncPaginator`."""
        inner = super().pages()
        delivered = 0
        try:
            while True:
                try:
                    page = await inner.__anext__()
                except StopAsyncIteration:
                    return
                except BadRequestError as error:
                    if self._is_depth_error(error, delivered):
                        raise SearchDepthExceededError(
                            f"contact search stopped after {delivered:,} results: Qualtrics "
                            f"refuses to page beyond {SEARCH_DEPTH_LIMIT:,} ({error}); narrow the "
                            "filter or use a contact export"
                        ) from error
                    raise
                delivered += len(page.items)
                yield page
        finally:
            await inner.aclose()


class ContactsResource(Resource):
    """XM Directory contacts (``/directories/{directoryId}/contacts``).

    Every method validates its input before sending anything and raises
    :class:`~qualtrics_sdk.ValidationError` (a ``ValueError``) naming the offending argument.
    Embedded data values must be strings, numbers or booleans (Qualtrics stores them as strings);
    names are limited to 200 characters and values to 1,024.
    """

    # --- single contacts -------------------------------------------------------------------------

    async def create(
        self,
        directory_id: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        ext_ref: str | None = None,
        language: str | None = None,
        unsubscribed: bool | None = None,
        embedded_data: Mapping[str, Any] | None = None,
        json_encode_nested: bool = False,
    ) -> CreatedContact:
        """Create a contact (``POST /directories/{directoryId}/contacts``).

        Only the fields given are sent. With deduplication rules on the directory, Qualtrics may
        merge the data into an existing contact instead. A create is a write and is never retried
        once it may have reached Qualtrics: prefer :meth:`upsert` to avoid duplicates.

        Args:
            directory_id: The directory (``POOL_...``).
            first_name, last_name, email, phone, ext_ref, language: Contact fields (strings;
                ``language`` is a Qualtrics language code such as ``"EN"``).
            unsubscribed: Directory-wide opt-out.
            embedded_data: Flat map of names to strings, numbers or booleans.
            json_encode_nested: Send dict/list values as compact JSON strings instead of
                refusing them.

        Returns:
            The new contact's id (``CreatedContact.id``).

        Raises:
            ValidationError: for a bad id, a non-string field, or bad embedded data (the message
                names the key), before anything is sent.
            APIError: for API failures; ``ambiguous=True`` when the contact may have been created
                although no answer arrived.
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
            json_encode_nested=json_encode_nested,
        )
        return await self._create(directory_id, body)

    async def _create(self, directory_id: str, body: dict[str, Any]) -> CreatedContact:
        response = await self._transport.request(
            "POST", self._contacts_path(directory_id), json=body, idempotent=False
        )
        return parse_result(response, CreatedContact)

    async def get(
        self, directory_id: str, contact_id: str, *, include_segments: bool = False
    ) -> Contact:
        """Fetch one contact (``GET /directories/{directoryId}/contacts/{contactId}``).

        Args:
            directory_id: The directory (``POOL_...``).
            contact_id: The contact (``CID_...``).
            include_segments: Also return ``segment_membership`` (sends
                ``includeSegments=true``).

        Returns:
            The contact, with embedded data, mailing-list membership and dates.

        Raises:
            ValidationError: for a malformed id (for example one containing ``/``).
            NotFoundError: when the contact does not exist.
        """
        response = await self._transport.request(
            "GET",
            self._contact_path(directory_id, contact_id),
            params={"includeSegments": True if include_segments else None},
        )
        return parse_result(response, Contact)

    async def update(
        self,
        directory_id: str,
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
        json_encode_nested: bool = False,
    ) -> None:
        """Update a contact (``PUT /directories/{directoryId}/contacts/{contactId}``).

        Only the fields given (not ``None``) are sent; the others are left out of the body.
        Whether Qualtrics merges ``embedded_data`` with the stored map or replaces it is not
        documented. Qualtrics answers with no result, so this returns ``None``.

        Args:
            directory_id: The directory (``POOL_...``).
            contact_id: The contact (``CID_...``).
            first_name, last_name, email, phone, ext_ref, language, unsubscribed, embedded_data,
                json_encode_nested: As for :meth:`create`.

        Raises:
            ValidationError: when no field is given, or for bad ids or field values, before
                anything is sent.
            NotFoundError: when the contact does not exist.
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
            json_encode_nested=json_encode_nested,
        )
        if not body:
            raise ValidationError(
                "update needs at least one field to change (first_name, last_name, email, phone, "
                "ext_ref, language, unsubscribed or embedded_data)",
                field=None,
            )
        await self._update(directory_id, contact_id, body)

    async def _update(
        self, directory_id: str, contact_id: str, body: dict[str, Any]
    ) -> APIResponse:
        return await self._transport.request(
            "PUT", self._contact_path(directory_id, contact_id), json=body
        )

    async def delete(self, directory_id: str, contact_id: str) -> None:
        """Delete a contact from the directory (cannot be undone).

        Raises:
            ValidationError: for a malformed id.
            NotFoundError: when the contact does not exist.
        """
        await self._transport.request("DELETE", self._contact_path(directory_id, contact_id))

    # --- listings --------------------------------------------------------------------------------

    def list(self, directory_id: str, *, page_size: int | None = None) -> AsyncPaginator[Contact]:
        """List the directory's contacts (``GET /directories/{directoryId}/contacts``).

        Uses Qualtrics' string-based pagination (``useNewPaginationScheme=true``) and follows
        ``nextPage``. List elements carry the basic fields only (no embedded data or dates):
        :meth:`get` a contact for the rest.

        Args:
            directory_id: The directory (``POOL_...``).
            page_size: Contacts per page (Qualtrics' default, 100, when ``None``).

        Returns:
            A paginator: ``async for contact in client.contacts.list("POOL_...")``.

        Raises:
            ValidationError: for a malformed id or page size (immediately).
        """
        check_page_size(page_size)
        return self._paginate(
            self._contacts_path(directory_id),
            Contact,
            params={"pageSize": page_size, "useNewPaginationScheme": True},
        )

    def search(
        self,
        directory_id: str,
        filter: ContactSearchFilter,
        *,
        page_size: int | None = None,
        include_embedded: bool | None = None,
        include_segments: bool | None = None,
    ) -> AsyncPaginator[Contact]:
        """Search the directory's contacts (``POST /directories/{directoryId}/contacts/search``).

        The body is ``{"filter": <filter JSON>}``; later pages re-POST the same body with
        ``?skipToken=``. Qualtrics answers at most 10,000 results per search: going further raises
        :class:`~qualtrics_sdk.SearchDepthExceededError` (narrow the filter or export instead).

        Args:
            directory_id: The directory (``POOL_...``).
            filter: A criterion or group built with :class:`~qualtrics_sdk.ContactFilter`, e.g.
                ``ContactFilter.all_of(ContactFilter.email.eq("a@b.com"),
                ContactFilter.in_list("CG_1"))``, or Qualtrics' raw filter JSON as a dict (the
                value of ``"filter"``, sent as given).
            page_size: Contacts per page (Qualtrics' default, 100, when ``None``).
            include_embedded: Return embedded data with each contact.
            include_segments: Return segment membership with each contact.

        Returns:
            A paginator of :class:`~qualtrics_sdk.Contact` (same shape as list and get).

        Raises:
            ValidationError: for a malformed id, page size or filter (immediately, before any
                request).
            SearchDepthExceededError: while iterating, at Qualtrics' 10,000-result depth.
        """
        check_page_size(page_size)
        request = PageRequest(
            method="POST",
            target=f"{self._contacts_path(directory_id)}/search",
            params={
                "pageSize": page_size,
                "includeEmbedded": include_embedded,
                "includeSegments": include_segments,
            },
            json={"filter": compile_contact_filter(filter)},
            idempotent=True,
        )
        return _ContactSearchPaginator(
            self._transport, request, lambda raw: structure(raw, Contact), page_size=page_size
        )

    def transactions(
        self, directory_id: str, contact_id: str, *, page_size: int | None = None
    ) -> AsyncPaginator[ContactTransaction]:
        """List one contact's transactions (``GET .../contacts/{contactId}/transactions``).

        Follows ``nextPage``. Transaction data values come back as strings, as Qualtrics stores
        them.

        Args:
            directory_id: The directory (``POOL_...``).
            contact_id: The contact (``CID_...``).
            page_size: Transactions per page (Qualtrics' default when ``None``).

        Raises:
            ValidationError: for a malformed id or page size (immediately).
        """
        check_page_size(page_size)
        return self._paginate(
            f"{self._contact_path(directory_id, contact_id)}/transactions",
            ContactTransaction,
            params={"pageSize": page_size},
        )

    # --- upsert ----------------------------------------------------------------------------------

    async def upsert(
        self,
        directory_id: str,
        *,
        ext_ref: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        language: str | None = None,
        unsubscribed: bool | None = None,
        embedded_data: Mapping[str, Any] | None = None,
        update: bool = False,
        json_encode_nested: bool = False,
    ) -> UpsertResult:
        """Find the contact with the given identity, or create it.

        Sends one search: the identity fields given, in the order ``extRef``, ``phone``,
        ``email``, each ``eq`` (not case sensitive), joined with ``and`` when more than one (the
        body Segment's hosted Qualtrics destination sends). Then:

        * no match: creates a contact with every field given (``created=True``);
        * one match: returns its id; with ``update=True`` it also updates the non-identity fields
          given (``first_name``, ``last_name``, ``language``, ``unsubscribed``,
          ``embedded_data``; ``updated=True`` when there was at least one);
        * several matches: raises :class:`~qualtrics_sdk.AmbiguousContactError`.

        Because every identity field must match, a contact whose phone changed is not found and a
        new one is created (directory deduplication rules may still merge it). The search and
        create are not atomic: two concurrent upserts of a new identity can both create. After
        an ambiguous failure of the create (``APIError.ambiguous``), calling ``upsert`` again is
        safe: the search finds the contact if the create went through.

        Args:
            directory_id: The directory (``POOL_...``).
            ext_ref, email, phone: Identity fields; at least one is required.
            first_name, last_name, language, unsubscribed, embedded_data, json_encode_nested: As
                for :meth:`create`.
            update: Update a found contact with the non-identity fields given.

        Raises:
            ValidationError: when no identity field is given, an identity value is blank, or any
                field is invalid, before any request.
            AmbiguousContactError: when several contacts match; ``candidate_ids`` lists them (the
                first page of matches, up to 100).
            APIError: for API failures of the search, create or update.
        """
        identity = [
            (ContactFilter.ext_ref, "ext_ref", ext_ref),
            (ContactFilter.phone, "phone", phone),
            (ContactFilter.email, "email", email),
        ]
        given = [(field, name, value) for field, name, value in identity if value is not None]
        if not given:
            raise ValidationError(
                "upsert needs at least one identity field: ext_ref, phone or email",
                field="ext_ref",
            )
        criteria: list[ContactCriterion] = []
        for field, name, value in given:
            check_text(name, value)
            if not value.strip():
                raise ValidationError(
                    f"{name} is blank; pass None to leave it out of the identity", field=name
                )
            criteria.append(field.eq(value))
        search_filter = criteria[0] if len(criteria) == 1 else ContactFilter.all_of(*criteria)
        create_body = contact_body(
            first_name=first_name,
            last_name=last_name,
            email=email,
            phone=phone,
            ext_ref=ext_ref,
            language=language,
            unsubscribed=unsubscribed,
            embedded_data=embedded_data,
            json_encode_nested=json_encode_nested,
        )
        update_body = contact_body(
            first_name=first_name,
            last_name=last_name,
            email=None,
            phone=None,
            ext_ref=None,
            language=language,
            unsubscribed=unsubscribed,
            embedded_data=embedded_data,
            json_encode_nested=json_encode_nested,
        )

        page = await self.search(directory_id, search_filter).first_page()
        ids = [contact.id for contact in page.items]
        if not ids:
            created = await self._create(directory_id, create_body)
            return UpsertResult(id=created.id, created=True, response_info=created.response_info)
        if len(ids) > 1:
            more = " at least" if page.cursor else ""
            names = ", ".join(name for _, name, _ in given)
            raise AmbiguousContactError(
                f"{len(ids)}{more} contacts in {directory_id} match the {names} given: "
                f"{', '.join(ids)}; merge the duplicates or upsert with a more specific identity",
                directory_id=directory_id,
                candidate_ids=tuple(ids),
            )
        if update and update_body:
            response = await self._update(directory_id, ids[0], update_body)
            return UpsertResult(id=ids[0], created=False, updated=True, response_info=response.info)
        return UpsertResult(id=ids[0], created=False, response_info=page.info)

    # --- paths -----------------------------------------------------------------------------------

    @staticmethod
    def _contacts_path(directory_id: str) -> str:
        return f"/directories/{id_segment('directory_id', directory_id)}/contacts"

    @classmethod
    def _contact_path(cls, directory_id: str, contact_id: str) -> str:
        contact = id_segment("contact_id", contact_id)
        return f"{cls._contacts_path(directory_id)}/{contact}"
