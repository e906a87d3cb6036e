"""Handlers: whoami, directories, directory contacts (create/list/get/update/delete/search)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ._filters import compile_filter
from ._http import Call, Context, RouteTable, page_result
from ._records import ContactRecord
from ._state import ContactFields, Directory
from ._wire import (
    NO_RESULT,
    Reply,
    bad_request,
    decode_skip_token,
    encode_skip_token,
    flat_values,
    iso_from_ms,
    parse_bool,
    parse_page_size,
    parse_since,
)

routes = RouteTable()

CONTACT_STRING_KEYS: Final[Mapping[str, str]] = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "phone": "phone",
    "extRef": "ext_ref",
    "language": "language",
}
DEFAULT_PAGE_SIZE: Final = 100
SEARCH_DEPTH_LIMIT: Final = 10_000


def parse_contact_fields(
    body: Any,
    *,
    extra_keys: frozenset[str] = frozenset(),
    string_keys: Mapping[str, str] | None = None,
) -> tuple[ContactFields, dict[str, Any]]:
    """Parse a contact body (``CreateDirectoryContactRequest`` keys) into Python-named fields.

    Keys in ``extra_keys`` are returned separately, unparsed. Values must not be null.

    Raises:
        ApiError: 400 naming the first unexpected key or invalid value.
    """
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    keys = CONTACT_STRING_KEYS if string_keys is None else string_keys
    fields: ContactFields = {}
    extras: dict[str, Any] = {}
    for key, value in body.items():
        if key in extra_keys:
            extras[key] = value
            continue
        if value is None:
            raise bad_request(f"Invalid value null for key {key}; omit the key instead.")
        if key in keys:
            if not isinstance(value, str):
                raise bad_request(f"Invalid value for key {key}: expected a string.")
            fields[keys[key]] = value.strip()
        elif key == "unsubscribed":
            if not isinstance(value, bool):
                raise bad_request("Invalid value for key unsubscribed: expected true or false.")
            fields["unsubscribed"] = value
        elif key == "embeddedData":
            fields["embedded_data"] = flat_values(value, "embeddedData")
        else:
            raise bad_request(f"Unexpected json key provided: {key}")
    return fields, extras


def email_domain(email: str | None) -> str | None:
    """The domain part of an email, lower-cased (``emailDomain`` of get responses)."""
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].lower()


def list_element(contact: ContactRecord) -> dict[str, Any]:
    """A contact as ``GET /directories/{d}/contacts`` lists it."""
    return {
        "contactId": contact.id,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "extRef": contact.ext_ref,
        "language": contact.language,
        "unsubscribed": contact.unsubscribed,
    }


def membership_map(directory: Directory, contact_id: str) -> dict[str, Any]:
    """``mailingListMembership`` of a contact: list id -> lookup id, name, owner, opt-out."""
    out: dict[str, Any] = {}
    for list_id in directory.contact_lists.get(contact_id, {}):
        mailing_list = directory.lists[list_id]
        member = mailing_list.members[contact_id]
        out[list_id] = {
            "contactLookupId": member.contact_lookup_id,
            "name": mailing_list.name,
            "ownerId": mailing_list.owner_id,
            "unsubscribed": member.unsubscribed,
            "unsubscribeDate": member.unsubscribe_date_ms,
        }
    return out


def single_contact_fields(contact: ContactRecord) -> dict[str, Any]:
    """The fields both single-contact GETs (directory and mailing-list contact) return alike."""
    return {
        "contactId": contact.id,
        "creationDate": contact.creation_date_ms,
        "lastModified": contact.last_modified_ms,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email": contact.email,
        "emailDomain": email_domain(contact.email),
        "phone": contact.phone,
        "extRef": contact.ext_ref,
        "language": contact.language,
        "embeddedData": dict(contact.embedded_data),
    }


def get_element(
    directory: Directory, contact: ContactRecord, include_segments: bool
) -> dict[str, Any]:
    """A contact as ``GET /directories/{d}/contacts/{c}`` returns it."""
    out: dict[str, Any] = {
        **single_contact_fields(contact),
        "directoryUnsubscribed": contact.unsubscribed,
        "directoryUnsubscribeDate": contact.unsubscribe_date_ms,
        "stats": {},
        "mailingListMembership": membership_map(directory, contact.id),
    }
    if include_segments:
        out["segmentMembership"] = {}
    return out


def search_element(
    contact: ContactRecord, include_embedded: bool, include_segments: bool
) -> dict[str, Any]:
    """A contact as search returns it: ``id``, ``phoneNumber``, ``externalDataReference``,
    string dates."""
    out: dict[str, Any] = {
        "id": contact.id,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email": contact.email,
        "phoneNumber": contact.phone,
        "externalDataReference": contact.ext_ref,
        "language": contact.language,
        "unsubscribed": contact.unsubscribed,
        "unsubscribeDate": iso_from_ms(contact.unsubscribe_date_ms),
        "creationDate": iso_from_ms(contact.creation_date_ms),
        "lastModified": iso_from_ms(contact.last_modified_ms),
        "stats": {},
    }
    if include_embedded:
        out["embeddedData"] = dict(contact.embedded_data)
    if include_segments:
        out["segmentMembership"] = {}
    return out


@routes.add("GET", "/API/v3/whoami")
def whoami(ctx: Context, call: Call) -> Reply:
    """``GET /whoami``: the fake's user."""
    brand = ctx.settings.brand_id
    return Reply(
        result={
            "brandId": brand,
            "userId": ctx.state.user_id,
            "userName": f"fake.user#{brand}",
            "accountType": "UT_BRANDADMIN",
            "firstName": "Fake",
            "lastName": "User",
            "email": "fake.user@example.com",
            "datacenter": ctx.settings.datacenter,
        }
    )


@routes.add("GET", "/API/v3/directories")
def list_directories(ctx: Context, call: Call) -> Reply:
    """``GET /directories`` with ``deduplicationCriteria`` and ``nextPage``."""
    state = ctx.state
    ids, next_page = call.page_of_ids(state.directory_order, default_size=DEFAULT_PAGE_SIZE)
    elements = []
    for directory_id in ids:
        directory = state.directories[directory_id]
        elements.append(
            {
                "directoryId": directory.id,
                "name": directory.name,
                "contactCount": len(directory.contacts),
                "isDefault": directory.is_default,
                "deduplicationCriteria": directory.criteria(),
            }
        )
    return Reply(result=page_result(elements, next_page))


@routes.add("GET", "/API/v3/directories/{d}/contacts")
def list_contacts(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/contacts`` (``nextPage`` pagination, page size 100)."""
    directory = ctx.state.directory(call.params["d"])
    ids, next_page = call.page_of_ids(directory.order, default_size=DEFAULT_PAGE_SIZE)
    elements = [list_element(directory.contacts[contact_id]) for contact_id in ids]
    return Reply(result=page_result(elements, next_page))


@routes.add("POST", "/API/v3/directories/{d}/contacts")
def create_contact(ctx: Context, call: Call) -> Reply:
    """``POST /directories/{d}/contacts``: dedup-aware create; 200 ``{"id": ...}``."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    fields, _ = parse_contact_fields(call.json())
    contact, _created = state.upsert_contact(directory, fields)
    return Reply(result={"id": contact.id})


@routes.add("POST", "/API/v3/directories/{d}/contacts/search")
def search_contacts(ctx: Context, call: Call) -> Reply:
    """``POST /directories/{d}/contacts/search``: filter, ``skipToken`` in the result.

    A full page always carries a ``skipToken`` (so a full last page is followed by an empty one, as
    Qualtrics documents); a request starting at or past 10,000 results is a 400.
    """
    state = ctx.state
    directory = state.directory(call.params["d"])
    size = parse_page_size(call.q("pageSize"), default=DEFAULT_PAGE_SIZE)
    start = decode_skip_token(call.q("skipToken"))
    include_embedded = parse_bool(call.q("includeEmbedded"), "includeEmbedded")
    include_segments = parse_bool(call.q("includeSegments"), "includeSegments")
    compiled = compile_filter(
        call.json(),
        lambda contact_id, list_id: state.in_list(directory, contact_id, list_id),
    )
    if start >= SEARCH_DEPTH_LIMIT:
        raise bad_request(
            "Paginating beyond the first 10,000 contacts is not supported; "
            "use the contact export API instead."
        )
    end = min(start + size, SEARCH_DEPTH_LIMIT)
    found = state.search(directory, compiled, end + 1)
    matches = found[start:end]
    result: dict[str, Any] = {
        "elements": [search_element(c, include_embedded, include_segments) for c in matches]
    }
    if len(matches) == size or (end == SEARCH_DEPTH_LIMIT and len(found) > end):
        result["skipToken"] = encode_skip_token(end)
    return Reply(result=result)


@routes.add("GET", "/API/v3/directories/{d}/contacts/optedOutContacts")
def list_opted_out(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/contacts/optedOutContacts`` (``since`` filters by opt-out date)."""
    directory = ctx.state.directory(call.params["d"])
    since = parse_since(call.q("since"))
    opted_out = [
        contact
        for contact_id in directory.order
        if (contact := directory.contacts[contact_id]).unsubscribed
        and (since is None or (contact.unsubscribe_date_ms or 0) >= since)
    ]
    page, next_page = call.page_of_list(opted_out, default_size=DEFAULT_PAGE_SIZE)
    elements = [
        {
            "contactId": contact.id,
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "email": contact.email,
            "phone": contact.phone,
            "extRef": contact.ext_ref,
            "language": contact.language,
            "directoryUnsubscribed": True,
            "directoryUnsubscribeDate": iso_from_ms(contact.unsubscribe_date_ms),
        }
        for contact in page
    ]
    return Reply(result=page_result(elements, next_page))


@routes.add("GET", "/API/v3/directories/{d}/contacts/{c}")
def get_contact(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/contacts/{c}`` (epoch-ms dates, ``contactId``, ``extRef``)."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    contact = state.contact(directory, call.params["c"])
    include_segments = parse_bool(call.q("includeSegments"), "includeSegments")
    return Reply(result=get_element(directory, contact, include_segments))


@routes.add("PUT", "/API/v3/directories/{d}/contacts/{c}")
def update_contact(ctx: Context, call: Call) -> Reply:
    """``PUT /directories/{d}/contacts/{c}``: patch semantics, embedded data merged; meta only."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    contact = state.contact(directory, call.params["c"])
    fields, _ = parse_contact_fields(call.json())
    state.merge_contact(directory, contact, fields)
    return Reply(result=NO_RESULT)


@routes.add("DELETE", "/API/v3/directories/{d}/contacts/{c}")
def delete_contact(ctx: Context, call: Call) -> Reply:
    """``DELETE /directories/{d}/contacts/{c}``: meta only."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    state.delete_contact(directory, call.params["c"])
    return Reply(result=NO_RESULT)
