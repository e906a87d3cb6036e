"""``nextPage`` pagination, mailing lists and mailing-list contacts."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from fakewire import D, Raw, assert_error

from qualtrics_sdk.testing import FakeQualtrics, MembershipRecord


async def test_next_page_is_an_absolute_url_on_the_request_host(
    raw: Raw, fake: FakeQualtrics
) -> None:
    ids = fake.add_contacts({"email": f"u{i}@example.com"} for i in range(250))
    first = await raw.get(
        f"{D}/contacts", params={"pageSize": "100", "useNewPaginationScheme": "true"}
    )
    next_page = first.result["nextPage"]
    parts = urlsplit(next_page)
    assert f"{parts.scheme}://{parts.netloc}" == fake.base_url
    assert parts.path == f"{D}/contacts"
    query = parse_qs(parts.query)
    assert query["pageSize"] == ["100"]
    assert query["useNewPaginationScheme"] == ["true"]
    assert query["skipToken"][0]
    seen = [e["contactId"] for e in first.result["elements"]]
    url = next_page
    while url is not None:
        page = await raw.get(url)
        seen += [e["contactId"] for e in page.result["elements"]]
        url = page.result["nextPage"]
    assert seen == ids


async def test_next_page_uses_the_host_header_the_client_sent(
    raw: Raw, fake: FakeQualtrics
) -> None:
    fake.add_contacts({} for _ in range(3))
    page = await raw.get(
        f"{D}/contacts", params={"pageSize": "1"}, headers={"Host": f"localhost:{fake.port}"}
    )
    assert page.result["nextPage"].startswith(f"http://localhost:{fake.port}{D}/contacts?")


async def test_default_page_size_and_null_next_page_on_the_last_page(
    raw: Raw, fake: FakeQualtrics
) -> None:
    fake.add_contacts({} for _ in range(200))
    first = await raw.get(f"{D}/contacts")
    assert len(first.result["elements"]) == 100
    second = await raw.get(first.result["nextPage"])
    assert len(second.result["elements"]) == 100
    assert second.result["nextPage"] is None


async def test_pagination_is_stable_across_deletes(raw: Raw, fake: FakeQualtrics) -> None:
    ids = fake.add_contacts({} for _ in range(6))
    first = await raw.get(f"{D}/contacts", params={"pageSize": "2"})
    await raw.delete(f"{D}/contacts/{ids[2]}")
    second = await raw.get(first.result["nextPage"])
    assert [e["contactId"] for e in second.result["elements"]] == [ids[3], ids[4]]


@pytest.mark.parametrize(("value", "message"), [("0", "positive"), ("ten", "positive")])
async def test_bad_page_size_is_400(raw: Raw, value: str, message: str) -> None:
    answer = await raw.get(f"{D}/contacts", params={"pageSize": value})
    assert_error(answer, 400, "Parameter pageSize must be a positive integer.", "QVAL_1")


async def test_empty_skip_token_on_lists_is_qval_5(raw: Raw) -> None:
    answer = await raw.get(f"{D}/contacts", params={"skipToken": ""})
    assert_error(answer, 400, "Parameter skipToken should not be empty.", "QVAL_5")


async def test_directories_paginate_too(raw: Raw, fake: FakeQualtrics) -> None:
    for index in range(3):
        fake.add_directory(f"D{index}")
    first = await raw.get("/API/v3/directories", params={"pageSize": "2"})
    second = await raw.get(first.result["nextPage"])
    names = [d["name"] for d in first.result["elements"] + second.result["elements"]]
    assert names == ["Default Directory", "D0", "D1", "D2"]
    assert second.result["nextPage"] is None


# -- mailing lists -----------------------------------------------------------------------------


async def test_mailing_list_lifecycle(raw: Raw, fake: FakeQualtrics) -> None:
    created = await raw.post(f"{D}/mailinglists", {"name": "VIPs", "ownerId": "UR_owner"})
    assert created.status == 200
    list_id = created.result["id"]
    assert list_id.startswith("CG_")
    assert len(list_id) == 18
    got = await raw.get(f"{D}/mailinglists/{list_id}")
    assert set(got.result) == {
        "mailingListId",
        "name",
        "ownerId",
        "contactCount",
        "lastModifiedDate",
        "creationDate",
    }
    assert got.result["name"] == "VIPs"
    assert got.result["ownerId"] == "UR_owner"
    assert got.result["contactCount"] is None
    assert isinstance(got.result["creationDate"], int)
    renamed = await raw.put(f"{D}/mailinglists/{list_id}", {"name": "VIP customers"})
    assert set(renamed.body) == {"meta"}
    assert fake.mailing_lists()[-1].name == "VIP customers"
    deleted = await raw.delete(f"{D}/mailinglists/{list_id}")
    assert set(deleted.body) == {"meta"}
    assert (await raw.get(f"{D}/mailinglists/{list_id}")).status == 404


async def test_list_mailing_lists_with_count_and_owner(raw: Raw, fake: FakeQualtrics) -> None:
    default = fake.default_mailing_list_id
    fake.add_contact(email="a@example.com", mailing_list_id=default)
    other = fake.add_mailing_list("Other", owner_id="UR_other")
    counted = await raw.get(f"{D}/mailinglists", params={"includeCount": "true"})
    assert [(m["mailingListId"], m["contactCount"]) for m in counted.result["elements"]] == [
        (default, 1),
        (other, 0),
    ]
    uncounted = await raw.get(f"{D}/mailinglists")
    assert uncounted.result["elements"][0]["contactCount"] is None
    owned = await raw.get(f"{D}/mailinglists", params={"ownerId": "UR_other"})
    assert [m["mailingListId"] for m in owned.result["elements"]] == [other]


async def test_create_mailing_list_validation(raw: Raw) -> None:
    no_name = await raw.post(f"{D}/mailinglists", {"ownerId": "UR_1"})
    assert_error(
        no_name, 400, 'Parameter "name" is required and must be a non-empty string.', "QVAL_1"
    )
    extra = await raw.post(f"{D}/mailinglists", {"name": "x", "colour": "red"})
    assert_error(extra, 400, "Unexpected json key provided: colour", "QVAL_1")


async def test_deleting_a_list_keeps_its_contacts(raw: Raw, fake: FakeQualtrics) -> None:
    contact_id = fake.add_contact(
        email="a@example.com", mailing_list_id=fake.default_mailing_list_id
    )
    await raw.delete(f"{D}/mailinglists/{fake.default_mailing_list_id}")
    assert [c.id for c in fake.contacts()] == [contact_id]
    got = await raw.get(f"{D}/contacts/{contact_id}")
    assert got.result["mailingListMembership"] == {}


# -- mailing-list contacts ---------------------------------------------------------------------


async def test_member_create_returns_id_and_lookup_id(raw: Raw, fake: FakeQualtrics) -> None:
    ml = f"{D}/mailinglists/{fake.default_mailing_list_id}"
    body = {"email": "a@example.com", "firstName": "A", "privateEmbeddedData": {"seat": 12}}
    created = await raw.post(f"{ml}/contacts", body)
    assert created.status == 200
    assert set(created.result) == {"id", "contactLookupId"}
    contact_id = created.result["id"]
    assert contact_id.startswith("CID_")
    assert created.result["contactLookupId"].startswith("CGC_")
    got = (await raw.get(f"{ml}/contacts/{contact_id}")).result
    assert got["contactLookupId"] == created.result["contactLookupId"]
    assert got["privateEmbeddedData"] == {"seat": "12"}
    assert got["mailingListUnsubscribed"] is False
    assert isinstance(got["creationDate"], int)
    assert got["directoryUnsubscribeDate"] is None
    in_directory = (await raw.get(f"{D}/contacts/{contact_id}")).result
    membership = in_directory["mailingListMembership"][fake.default_mailing_list_id]
    assert membership == {
        "contactLookupId": created.result["contactLookupId"],
        "name": "Default Mailing List",
        "ownerId": (await raw.get("/API/v3/whoami")).result["userId"],
        "unsubscribed": False,
        "unsubscribeDate": None,
    }


async def test_member_create_dedups_into_the_existing_contact(
    raw: Raw, fake: FakeQualtrics
) -> None:
    existing = fake.add_contact(email="a@example.com", first_name="Old")
    ml = f"{D}/mailinglists/{fake.default_mailing_list_id}"
    created = await raw.post(f"{ml}/contacts", {"email": "A@example.com", "firstName": "New"})
    assert created.result["id"] == existing
    assert fake.get_contact(existing).first_name == "New"
    again = await raw.post(f"{ml}/contacts", {"email": "a@example.com"})
    assert again.result["contactLookupId"] == created.result["contactLookupId"]
    assert len(fake.memberships()) == 1


async def test_member_list_page_size_is_capped_at_50(raw: Raw, fake: FakeQualtrics) -> None:
    ml = f"{D}/mailinglists/{fake.default_mailing_list_id}"
    fake.add_contacts(
        ({"email": f"u{i}@example.com"} for i in range(120)),
        mailing_list_id=fake.default_mailing_list_id,
    )
    too_big = await raw.get(f"{ml}/contacts", params={"pageSize": "51"})
    assert_error(too_big, 400, "Parameter pageSize must be less than or equal to 50.", "QVAL_1")
    first = await raw.get(f"{ml}/contacts")
    assert len(first.result["elements"]) == 50
    element = first.result["elements"][0]
    assert set(element) == {
        "contactId",
        "contactLookupId",
        "firstName",
        "lastName",
        "email",
        "phone",
        "extRef",
        "language",
        "unsubscribed",
        "mailingListUnsubscribed",
    }
    embedded = await raw.get(f"{ml}/contacts", params={"includeEmbedded": "true", "pageSize": "50"})
    assert embedded.result["elements"][0]["embeddedData"] == {}
    total = len(first.result["elements"])
    url = first.result["nextPage"]
    while url:
        page = await raw.get(url)
        total += len(page.result["elements"])
        url = page.result["nextPage"]
    assert total == 120


async def test_member_update_and_list_level_unsubscribe(raw: Raw, fake: FakeQualtrics) -> None:
    contact_id = fake.add_contact(
        email="a@example.com", mailing_list_id=fake.default_mailing_list_id
    )
    ml = f"{D}/mailinglists/{fake.default_mailing_list_id}"
    updated = await raw.put(
        f"{ml}/contacts/{contact_id}",
        {"lastName": "L", "unsubscribed": True, "privateEmbeddedData": {"a": "1"}},
    )
    assert set(updated.body) == {"meta"}
    assert fake.get_contact(contact_id).last_name == "L"
    assert fake.get_contact(contact_id).unsubscribed is False
    (member,) = fake.memberships()
    assert isinstance(member, MembershipRecord)
    assert member.unsubscribed is True
    assert member.private_embedded_data == {"a": "1"}
    opted = await raw.get(f"{ml}/optedOutContacts")
    assert [e["contactId"] for e in opted.result["elements"]] == [contact_id]


async def test_member_delete_removes_from_the_list_only(raw: Raw, fake: FakeQualtrics) -> None:
    contact_id = fake.add_contact(
        email="a@example.com", mailing_list_id=fake.default_mailing_list_id
    )
    ml = f"{D}/mailinglists/{fake.default_mailing_list_id}"
    deleted = await raw.delete(f"{ml}/contacts/{contact_id}")
    assert set(deleted.body) == {"meta"}
    assert fake.memberships() == []
    assert [c.id for c in fake.contacts()] == [contact_id]
    assert (await raw.get(f"{ml}/contacts/{contact_id}")).status == 404
    assert (await raw.delete(f"{ml}/contacts/{contact_id}")).status == 404


async def test_bounced_and_opted_out_listings(raw: Raw, fake: FakeQualtrics) -> None:
    list_id = fake.default_mailing_list_id
    plain, bounced, opted = fake.add_contacts([{}, {}, {}])
    fake.add_to_mailing_list(plain, list_id)
    fake.add_to_mailing_list(bounced, list_id, bounced=True)
    fake.add_to_mailing_list(opted, list_id, unsubscribed=True)
    ml = f"{D}/mailinglists/{list_id}"
    assert [
        e["contactId"] for e in (await raw.get(f"{ml}/bouncedContacts")).result["elements"]
    ] == [bounced]
    assert [
        e["contactId"] for e in (await raw.get(f"{ml}/optedOutContacts")).result["elements"]
    ] == [opted]
    future = await raw.get(f"{ml}/bouncedContacts", params={"since": "2999-01-01T00:00:00Z"})
    assert future.result == {"elements": [], "nextPage": None}
    bad = await raw.get(f"{ml}/bouncedContacts", params={"since": "yesterday"})
    assert_error(bad, 400, "Parameter since must be an ISO-8601 date.", "QVAL_1")
