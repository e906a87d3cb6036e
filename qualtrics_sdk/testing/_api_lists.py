"""Handlers: mailing lists and mailing-list contacts."""

from __future__ import annotations

from typing import Any, Final

from ._api_contacts import parse_contact_fields, single_contact_fields
from ._http import Call, Context, RouteTable, page_result
from ._records import ContactRecord, MembershipRecord
from ._state import MailingList
from ._wire import NO_RESULT, Reply, bad_request, flat_values, iso_from_ms, parse_bool, parse_since

routes = RouteTable()

LIST_PAGE_SIZE: Final = 100
MEMBER_PAGE_SIZE: Final = 50
MEMBER_PAGE_MAX: Final = 50


def list_element(mailing_list: MailingList, include_count: bool) -> dict[str, Any]:
    """A mailing list as list/get return it; ``contactCount`` only with ``includeCount=true``."""
    return {
        "mailingListId": mailing_list.id,
        "name": mailing_list.name,
        "ownerId": mailing_list.owner_id,
        "contactCount": len(mailing_list.members) if include_count else None,
        "lastModifiedDate": mailing_list.modified_ms,
        "creationDate": mailing_list.creation_ms,
    }


def member_element(
    contact: ContactRecord, member: MembershipRecord, include_embedded: bool
) -> dict[str, Any]:
    """A mailing-list contact as the list endpoints return it."""
    out: dict[str, Any] = {
        "contactId": contact.id,
        "contactLookupId": member.contact_lookup_id,
        "firstName": contact.first_name,
        "lastName": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "extRef": contact.ext_ref,
        "language": contact.language,
        "unsubscribed": member.unsubscribed,
        "mailingListUnsubscribed": member.unsubscribed,
    }
    if include_embedded:
        out["embeddedData"] = dict(contact.embedded_data)
    return out


def _list_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad_request('Parameter "name" is required and must be a non-empty string.')
    return value


def _owner(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise bad_request("Invalid value for key ownerId: expected a user id string.")
    return value


@routes.add("GET", "/API/v3/directories/{d}/mailinglists")
def list_mailing_lists(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/mailinglists`` (``includeCount``, ``ownerId``, ``nextPage``)."""
    directory = ctx.state.directory(call.params["d"])
    include_count = parse_bool(call.q("includeCount"), "includeCount")
    owner = call.q("ownerId")
    lists = [
        directory.lists[list_id]
        for list_id in directory.list_order
        if owner is None or directory.lists[list_id].owner_id == owner
    ]
    page, next_page = call.page_of_list(lists, default_size=LIST_PAGE_SIZE)
    return Reply(result=page_result([list_element(m, include_count) for m in page], next_page))


@routes.add("POST", "/API/v3/directories/{d}/mailinglists")
def create_mailing_list(ctx: Context, call: Call) -> Reply:
    """``POST /directories/{d}/mailinglists``.

    Body ``{"name", "ownerId"?, "prioritizeListMetadata"?}``; answers ``{"id": "CG_..."}``.
    """
    state = ctx.state
    directory = state.directory(call.params["d"])
    body = call.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    unexpected = sorted(set(body) - {"name", "ownerId", "prioritizeListMetadata"})
    if unexpected:
        raise bad_request(f"Unexpected json key provided: {unexpected[0]}")
    if "prioritizeListMetadata" in body and not isinstance(body["prioritizeListMetadata"], bool):
        raise bad_request("Invalid value for key prioritizeListMetadata: expected true or false.")
    mailing_list = state.add_mailing_list(
        directory, _list_name(body.get("name")), _owner(body.get("ownerId"))
    )
    return Reply(result={"id": mailing_list.id})


@routes.add("GET", "/API/v3/directories/{d}/mailinglists/{ml}")
def get_mailing_list(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/mailinglists/{ml}``."""
    state = ctx.state
    mailing_list = state.mailing_list(state.directory(call.params["d"]), call.params["ml"])
    include_count = parse_bool(call.q("includeCount"), "includeCount")
    return Reply(result=list_element(mailing_list, include_count))


@routes.add("PUT", "/API/v3/directories/{d}/mailinglists/{ml}")
def update_mailing_list(ctx: Context, call: Call) -> Reply:
    """``PUT /directories/{d}/mailinglists/{ml}`` ``{"name"?, "ownerId"?}``; meta only."""
    state = ctx.state
    mailing_list = state.mailing_list(state.directory(call.params["d"]), call.params["ml"])
    body = call.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    unexpected = sorted(set(body) - {"name", "ownerId"})
    if unexpected:
        raise bad_request(f"Unexpected json key provided: {unexpected[0]}")
    if "name" in body:
        mailing_list.name = _list_name(body["name"])
    if "ownerId" in body:
        mailing_list.owner_id = _owner(body["ownerId"]) or mailing_list.owner_id
    mailing_list.modified_ms = state.clock.now_ms()
    return Reply(result=NO_RESULT)


@routes.add("DELETE", "/API/v3/directories/{d}/mailinglists/{ml}")
def delete_mailing_list(ctx: Context, call: Call) -> Reply:
    """``DELETE /directories/{d}/mailinglists/{ml}``; contacts stay in the directory."""
    state = ctx.state
    state.delete_mailing_list(state.directory(call.params["d"]), call.params["ml"])
    return Reply(result=NO_RESULT)


@routes.add("GET", "/API/v3/directories/{d}/mailinglists/{ml}/contacts")
def list_members(ctx: Context, call: Call) -> Reply:
    """``GET .../mailinglists/{ml}/contacts`` (page size 50, at most 50)."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    mailing_list = state.mailing_list(directory, call.params["ml"])
    include_embedded = parse_bool(call.q("includeEmbedded"), "includeEmbedded")
    ids, next_page = call.page_of_ids(
        mailing_list.order, default_size=MEMBER_PAGE_SIZE, max_size=MEMBER_PAGE_MAX
    )
    elements = [
        member_element(
            directory.contacts[contact_id], mailing_list.members[contact_id], include_embedded
        )
        for contact_id in ids
    ]
    return Reply(result=page_result(elements, next_page))


def _private_data(extras: dict[str, Any]) -> dict[str, str] | None:
    if "privateEmbeddedData" not in extras:
        return None
    value = extras["privateEmbeddedData"]
    if value is None:
        raise bad_request("Invalid value null for key privateEmbeddedData; omit the key instead.")
    return flat_values(value, "privateEmbeddedData")


_MEMBER_EXTRAS: Final = frozenset({"privateEmbeddedData", "unsubscribed"})


def _list_unsubscribed(extras: dict[str, Any]) -> bool | None:
    if "unsubscribed" not in extras:
        return None
    value = extras["unsubscribed"]
    if not isinstance(value, bool):
        raise bad_request("Invalid value for key unsubscribed: expected true or false.")
    return value


@routes.add("POST", "/API/v3/directories/{d}/mailinglists/{ml}/contacts")
def create_member(ctx: Context, call: Call) -> Reply:
    """``POST .../mailinglists/{ml}/contacts``: dedup-aware; ``{"id", "contactLookupId"}``.

    ``unsubscribed`` here is the list-level opt-out.
    """
    state = ctx.state
    directory = state.directory(call.params["d"])
    mailing_list = state.mailing_list(directory, call.params["ml"])
    fields, extras = parse_contact_fields(call.json(), extra_keys=_MEMBER_EXTRAS)
    private = _private_data(extras)
    unsubscribed = _list_unsubscribed(extras)
    contact, _created = state.upsert_contact(directory, fields)
    member = state.add_member(
        directory,
        mailing_list,
        contact.id,
        private_embedded_data=private,
        unsubscribed=unsubscribed,
    )
    return Reply(result={"id": contact.id, "contactLookupId": member.contact_lookup_id})


@routes.add("GET", "/API/v3/directories/{d}/mailinglists/{ml}/contacts/{c}")
def get_member(ctx: Context, call: Call) -> Reply:
    """``GET .../mailinglists/{ml}/contacts/{c}`` (404 when the contact is not on the list)."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    mailing_list = state.mailing_list(directory, call.params["ml"])
    member = state.member(mailing_list, call.params["c"])
    contact = directory.contacts[member.contact_id]
    return Reply(
        result={
            **single_contact_fields(contact),
            "contactLookupId": member.contact_lookup_id,
            "privateEmbeddedData": dict(member.private_embedded_data),
            "directoryUnsubscribed": contact.unsubscribed,
            "directoryUnsubscribeDate": iso_from_ms(contact.unsubscribe_date_ms),
            "mailingListUnsubscribed": member.unsubscribed,
            "mailingListUnsubscribeDate": iso_from_ms(member.unsubscribe_date_ms),
            "stats": {},
        }
    )


@routes.add("PUT", "/API/v3/directories/{d}/mailinglists/{ml}/contacts/{c}")
def update_member(ctx: Context, call: Call) -> Reply:
    """``PUT .../mailinglists/{ml}/contacts/{c}``: same body as create; meta only."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    mailing_list = state.mailing_list(directory, call.params["ml"])
    member = state.member(mailing_list, call.params["c"])
    fields, extras = parse_contact_fields(call.json(), extra_keys=_MEMBER_EXTRAS)
    private = _private_data(extras)
    unsubscribed = _list_unsubscribed(extras)
    state.merge_contact(directory, directory.contacts[member.contact_id], fields)
    state.add_member(
        directory,
        mailing_list,
        member.contact_id,
        private_embedded_data=private,
        unsubscribed=unsubscribed,
    )
    return Reply(result=NO_RESULT)


@routes.add("DELETE", "/API/v3/directories/{d}/mailinglists/{ml}/contacts/{c}")
def delete_member(ctx: Context, call: Call) -> Reply:
    """``DELETE .../mailinglists/{ml}/contacts/{c}``: removes from the list only; meta only."""
    state = ctx.state
    directory = state.directory(call.params["d"])
    mailing_list = state.mailing_list(directory, call.params["ml"])
    state.remove_member(directory, mailing_list, call.params["c"])
    return Reply(result=NO_RESULT)


def _members_where(ctx: Context, call: Call, *, bounced: bool) -> Reply:
    state = ctx.state
    directory = state.directory(call.params["d"])
    mailing_list = state.mailing_list(directory, call.params["ml"])
    since = parse_since(call.q("since"))
    chosen: list[MembershipRecord] = []
    for contact_id in mailing_list.order:
        member = mailing_list.members[contact_id]
        flag, date = (
            (member.bounced, member.bounce_date_ms)
            if bounced
            else (member.unsubscribed, member.unsubscribe_date_ms)
        )
        if flag and (since is None or (date or 0) >= since):
            chosen.append(member)
    page, next_page = call.page_of_list(chosen, default_size=LIST_PAGE_SIZE)
    elements = [
        member_element(directory.contacts[member.contact_id], member, False) for member in page
    ]
    return Reply(result=page_result(elements, next_page))


@routes.add("GET", "/API/v3/directories/{d}/mailinglists/{ml}/bouncedContacts")
def list_bounced(ctx: Context, call: Call) -> Reply:
    """``GET .../mailinglists/{ml}/bouncedContacts`` (``since``, ``nextPage``)."""
    return _members_where(ctx, call, bounced=True)


@routes.add("GET", "/API/v3/directories/{d}/mailinglists/{ml}/optedOutContacts")
def list_list_opted_out(ctx: Context, call: Call) -> Reply:
    """``GET .../mailinglists/{ml}/optedOutContacts`` (``since``, ``nextPage``)."""
    return _members_where(ctx, call, bounced=False)
