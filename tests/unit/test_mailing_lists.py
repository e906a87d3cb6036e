"""client.mailing_lists and .contacts: exact requests on the wire, typed results."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import aioresponses

from qualtrics_sdk import (
    CreatedMailingList,
    CreatedMailingListContact,
    MailingList,
    MailingListContact,
    QualtricsClient,
    RetryPolicy,
    ServerError,
    ValidationError,
)

API = "https://iad1.qualtrics.com/API/v3"
LISTS = f"{API}/directories/POOL_1/mailinglists"
LIST = f"{LISTS}/CG_1"
CONTACTS = f"{LIST}/contacts"
META = {"httpStatus": "200 - OK", "requestId": "req-1"}
UTC = dt.timezone.utc


def ok(result: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"meta": META}
    if result is not None:
        body["result"] = result
    return body


def sent(m: aioresponses) -> list[tuple[str, str, dict[str, str] | None, Any]]:
    """Every request made: (method, path, query params, decoded JSON body), in order."""
    out = []
    for (method, url), calls in m.requests.items():
        for call in calls:
            data = call.kwargs.get("data")
            body = json.loads(data) if data is not None else None
            out.append((method, url.path, call.kwargs.get("params"), body))
    return out


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    policy = RetryPolicy(max_retries=2, initial_delay=0)
    async with QualtricsClient(api_token="tok", datacenter="iad1", retry_policy=policy) as c:
        yield c


# --- mailing lists ------------------------------------------------------------------------------


async def test_list_sends_filters_and_follows_next_page(client: QualtricsClient) -> None:
    first = f"{LISTS}?includeCount=true&ownerId=UR_1&pageSize=2&useNewPaginationScheme=true"
    second = f"{LISTS}?includeCount=true&pageSize=2&skipToken=Mg%3D%3D&useNewPaginationScheme=true"
    page1 = {
        "elements": [
            {
                "mailingListId": "CG_1",
                "name": "Customers",
                "ownerId": "UR_1",
                "contactCount": 1203,
                "lastModifiedDate": 1714568400000,
                "creationDate": 1704067200000,
            },
            {"mailingListId": "CG_2", "name": "Trial", "ownerId": "UR_1", "contactCount": 0},
        ],
        "nextPage": second,
    }
    page2 = {"elements": [{"mailingListId": "CG_3", "name": "Churned"}], "nextPage": None}
    with aioresponses() as m:
        m.get(first, payload=ok(page1))
        m.get(second, payload=ok(page2))
        lists = await client.mailing_lists.list(
            "POOL_1", include_count=True, owner_id="UR_1", page_size=2
        ).collect()
        requests = sent(m)
    assert requests[0] == (
        "GET",
        "/API/v3/directories/POOL_1/mailinglists",
        {
            "pageSize": "2",
            "includeCount": "true",
            "ownerId": "UR_1",
            "useNewPaginationScheme": "true",
        },
        None,
    )
    assert len(requests) == 2  # the second page is the nextPage URL, verbatim
    assert [ml.id for ml in lists] == ["CG_1", "CG_2", "CG_3"]
    first_list = lists[0]
    assert isinstance(first_list, MailingList)
    assert first_list.name == "Customers"
    assert first_list.owner_id == "UR_1"
    assert first_list.contact_count == 1203
    assert first_list.creation_date == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert first_list.last_modified_date == dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    assert lists[2].contact_count is None


async def test_create_sends_name_owner_and_flag(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(LISTS, payload=ok({"id": "CG_new"}))
        created = await client.mailing_lists.create(
            "POOL_1", name="VIP", owner_id="UR_1", prioritize_list_metadata=False
        )
        requests = sent(m)
    assert requests == [
        (
            "POST",
            "/API/v3/directories/POOL_1/mailinglists",
            None,
            {"name": "VIP", "ownerId": "UR_1", "prioritizeListMetadata": False},
        )
    ]
    assert isinstance(created, CreatedMailingList)
    assert created.id == "CG_new"
    assert created.response_info is not None
    assert created.response_info.request_id == "req-1"


async def test_create_sends_only_the_name_when_nothing_else_is_given(
    client: QualtricsClient,
) -> None:
    with aioresponses() as m:
        m.post(LISTS, payload=ok({"id": "CG_new"}))
        await client.mailing_lists.create("POOL_1", name="VIP")
        assert sent(m)[0][3] == {"name": "VIP"}


@pytest.mark.parametrize("name", ["", "   "])
async def test_create_rejects_an_empty_name_before_sending(
    client: QualtricsClient, name: str
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="name") as info:
            await client.mailing_lists.create("POOL_1", name=name)
        assert sent(m) == []
    assert info.value.field == "name"


async def test_create_is_not_retried_after_a_5xx(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(
            LISTS,
            status=500,
            payload={"meta": {"httpStatus": "500 - Internal Server Error"}},
            repeat=True,
        )
        with pytest.raises(ServerError) as info:
            await client.mailing_lists.create("POOL_1", name="VIP")
        assert len(sent(m)) == 1
    assert info.value.ambiguous is True


async def test_get_with_include_count(client: QualtricsClient) -> None:
    result = {
        "mailingListId": "CG_1",
        "name": "Customers",
        "ownerId": "UR_1",
        "lastModifiedDate": 1714568400000,
        "creationDate": 1704067200000,
        "contactCount": 12,
        "folder": "Q4",
    }
    with aioresponses() as m:
        m.get(f"{LIST}?includeCount=true", payload=ok(result))
        ml = await client.mailing_lists.get("POOL_1", "CG_1", include_count=True)
        requests = sent(m)
    assert requests == [
        ("GET", "/API/v3/directories/POOL_1/mailinglists/CG_1", {"includeCount": "true"}, None)
    ]
    assert ml.id == "CG_1"
    assert ml.contact_count == 12
    assert ml.extra == {"folder": "Q4"}


async def test_update_sends_only_given_fields(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.put(LIST, payload={"meta": META})
        m.put(LIST, payload={"meta": META})
        await client.mailing_lists.update("POOL_1", "CG_1", name="Renamed")
        await client.mailing_lists.update("POOL_1", "CG_1", owner_id="UR_2")
        requests = sent(m)
    path = "/API/v3/directories/POOL_1/mailinglists/CG_1"
    assert requests == [
        ("PUT", path, None, {"name": "Renamed"}),
        ("PUT", path, None, {"ownerId": "UR_2"}),
    ]


async def test_update_without_fields_is_an_error_before_sending(client: QualtricsClient) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="at least one of name= or owner_id="):
            await client.mailing_lists.update("POOL_1", "CG_1")
        assert sent(m) == []


async def test_delete(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.delete(LIST, payload={"meta": META})
        await client.mailing_lists.delete("POOL_1", "CG_1")
        assert sent(m) == [("DELETE", "/API/v3/directories/POOL_1/mailinglists/CG_1", None, None)]


async def test_path_like_ids_are_refused(client: QualtricsClient) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError) as info:
            await client.mailing_lists.get("POOL_1", "../CG_1")
        assert sent(m) == []
    assert info.value.field == "mailing_list_id"


# --- mailing-list contacts ----------------------------------------------------------------------


LISTED_CONTACT = {
    "contactId": "CID_1",
    "contactLookupId": "CGC_1",
    "firstName": "Peter",
    "lastName": "Gibbons",
    "email": "peter@example.com",
    "phone": "+15550100",
    "extRef": "97980cfea0067",
    "language": "EN",
    "unsubscribed": False,
    "mailingListUnsubscribed": False,
    "embeddedData": {"plan": "premium", "logins": "5"},
    "responseHistory": [],
    "emailHistory": [],
}


async def test_contacts_list_sends_page_size_and_embedded_flag(client: QualtricsClient) -> None:
    url = f"{CONTACTS}?includeEmbedded=true&pageSize=50&useNewPaginationScheme=true"
    with aioresponses() as m:
        m.get(url, payload=ok({"elements": [LISTED_CONTACT], "nextPage": None}))
        contacts = await client.mailing_lists.contacts.list(
            "POOL_1", "CG_1", page_size=50, include_embedded=True
        ).collect()
        requests = sent(m)
    assert requests == [
        (
            "GET",
            "/API/v3/directories/POOL_1/mailinglists/CG_1/contacts",
            {"pageSize": "50", "includeEmbedded": "true", "useNewPaginationScheme": "true"},
            None,
        )
    ]
    [contact] = contacts
    assert isinstance(contact, MailingListContact)
    assert contact.id == contact.contact_id == "CID_1"
    assert contact.contact_lookup_id == "CGC_1"
    assert (contact.first_name, contact.last_name) == ("Peter", "Gibbons")
    assert contact.phone == "+15550100"
    assert contact.ext_ref == "97980cfea0067"
    assert contact.mailing_list_unsubscribed is False
    assert contact.embedded_data == {"plan": "premium", "logins": "5"}
    assert contact.extra == {"responseHistory": [], "emailHistory": []}


@pytest.mark.parametrize("page_size", [51, 1000])
async def test_contacts_page_size_above_50_is_refused_before_any_request(
    client: QualtricsClient, page_size: int
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="maximum of 50") as info:
            client.mailing_lists.contacts.list("POOL_1", "CG_1", page_size=page_size)
        assert sent(m) == []
    assert info.value.field == "page_size"


async def test_contacts_create_sends_every_given_field(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(CONTACTS, payload=ok({"id": "CID_9", "contactLookupId": "CGC_9"}))
        created = await client.mailing_lists.contacts.create(
            "POOL_1",
            "CG_1",
            first_name="Peter",
            last_name="Gibbons",
            email="peter@example.com",
            phone="+15550100",
            ext_ref="97980cfea0067",
            language="EN",
            unsubscribed=False,
            embedded_data={"plan": "premium", "logins": 5, "vip": True},
            private_embedded_data={"listNote": "from webinar", "score": 9.5},
        )
        requests = sent(m)
    assert requests == [
        (
            "POST",
            "/API/v3/directories/POOL_1/mailinglists/CG_1/contacts",
            None,
            {
                "firstName": "Peter",
                "lastName": "Gibbons",
                "email": "peter@example.com",
                "phone": "+15550100",
                "extRef": "97980cfea0067",
                "language": "EN",
                "unsubscribed": False,
                "embeddedData": {"plan": "premium", "logins": 5, "vip": True},
                "privateEmbeddedData": {"listNote": "from webinar", "score": 9.5},
            },
        )
    ]
    assert isinstance(created, CreatedMailingListContact)
    assert created.id == created.contact_id == "CID_9"
    assert created.contact_lookup_id == "CGC_9"


async def test_contacts_create_refuses_nested_embedded_data_naming_the_key(
    client: QualtricsClient,
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="address") as info:
            await client.mailing_lists.contacts.create(
                "POOL_1", "CG_1", email="a@b.c", private_embedded_data={"address": {"city": "X"}}
            )
        assert sent(m) == []
    assert info.value.field == "private_embedded_data['address']"


async def test_contacts_create_json_encodes_nested_values_when_asked(
    client: QualtricsClient,
) -> None:
    with aioresponses() as m:
        m.post(CONTACTS, payload=ok({"id": "CID_9", "contactLookupId": "CGC_9"}))
        await client.mailing_lists.contacts.create(
            "POOL_1",
            "CG_1",
            email="a@b.c",
            embedded_data={"tags": ["a", "b"], "address": {"city": "Provo"}},
            json_encode_nested=True,
        )
        body = sent(m)[0][3]
    assert body == {
        "email": "a@b.c",
        "embeddedData": {"tags": '["a","b"]', "address": '{"city":"Provo"}'},
    }


async def test_contacts_create_refuses_none_embedded_values(client: QualtricsClient) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="omit the key"):
            await client.mailing_lists.contacts.create(
                "POOL_1", "CG_1", embedded_data={"plan": None}
            )
        assert sent(m) == []


async def test_contacts_get_parses_the_full_shape(client: QualtricsClient) -> None:
    result = {
        "contactId": "CID_1",
        "contactLookupId": "CGC_1",
        "creationDate": 1704067200000,
        "lastModified": 1714568400000,
        "firstName": "Peter",
        "lastName": "Gibbons",
        "email": "peter@example.com",
        "emailDomain": "example.com",
        "phone": "+15550100",
        "extRef": "97980cfea0067",
        "language": "EN",
        "embeddedData": {"plan": "premium"},
        "privateEmbeddedData": {"listNote": "from webinar"},
        "directoryUnsubscribed": False,
        "directoryUnsubscribeDate": "2024-05-01T13:00:00Z",
        "mailingListUnsubscribed": True,
        "mailingListUnsubscribeDate": 1714568400000,
        "stats": {"sendCount": 3},
    }
    with aioresponses() as m:
        m.get(f"{CONTACTS}/CID_1", payload=ok(result))
        contact = await client.mailing_lists.contacts.get("POOL_1", "CG_1", "CID_1")
        requests = sent(m)
    assert requests == [
        ("GET", "/API/v3/directories/POOL_1/mailinglists/CG_1/contacts/CID_1", None, None)
    ]
    may_first = dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    assert contact.id == "CID_1"
    assert contact.email_domain == "example.com"
    assert contact.creation_date == dt.datetime(2024, 1, 1, tzinfo=UTC)
    assert contact.last_modified == may_first
    assert contact.private_embedded_data == {"listNote": "from webinar"}
    assert contact.directory_unsubscribed is False
    assert contact.directory_unsubscribe_date == may_first
    assert contact.mailing_list_unsubscribed is True
    assert contact.mailing_list_unsubscribe_date == may_first
    assert contact.stats == {"sendCount": 3}
    assert contact.extra == {}


async def test_contacts_update_sends_only_given_fields(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.put(f"{CONTACTS}/CID_1", payload={"meta": META})
        await client.mailing_lists.contacts.update(
            "POOL_1", "CG_1", "CID_1", last_name="Bolton", private_embedded_data={"tier": "gold"}
        )
        requests = sent(m)
    assert requests == [
        (
            "PUT",
            "/API/v3/directories/POOL_1/mailinglists/CG_1/contacts/CID_1",
            None,
            {"lastName": "Bolton", "privateEmbeddedData": {"tier": "gold"}},
        )
    ]


async def test_contacts_update_without_fields_is_an_error(client: QualtricsClient) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match="at least one field"):
            await client.mailing_lists.contacts.update("POOL_1", "CG_1", "CID_1")
        assert sent(m) == []


async def test_contacts_delete_removes_from_the_list(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.delete(f"{CONTACTS}/CID_1", payload={"meta": META})
        await client.mailing_lists.contacts.delete("POOL_1", "CG_1", "CID_1")
        requests = sent(m)
    assert requests == [
        ("DELETE", "/API/v3/directories/POOL_1/mailinglists/CG_1/contacts/CID_1", None, None)
    ]


async def test_bounced_since_an_aware_datetime_is_sent_in_utc(client: QualtricsClient) -> None:
    url = f"{LIST}/bouncedContacts?pageSize=100&since=2024-05-01T10:00:00Z"
    element = {"contactId": "CID_2", "email": "gone@example.com", "firstName": "Gone"}
    with aioresponses() as m:
        m.get(url, payload=ok({"elements": [element], "nextPage": None}))
        since = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
        bounced = await client.mailing_lists.contacts.list_bounced(
            "POOL_1", "CG_1", since=since, page_size=100
        ).collect()
        requests = sent(m)
    assert requests == [
        (
            "GET",
            "/API/v3/directories/POOL_1/mailinglists/CG_1/bouncedContacts",
            {"since": "2024-05-01T10:00:00Z", "pageSize": "100"},
            None,
        )
    ]
    assert [(c.id, c.email) for c in bounced] == [("CID_2", "gone@example.com")]


async def test_opted_out_since_a_date(client: QualtricsClient) -> None:
    url = f"{LIST}/optedOutContacts?since=2024-05-01"
    with aioresponses() as m:
        m.get(url, payload=ok({"elements": [{"contactId": "CID_3"}], "nextPage": None}))
        opted_out = await client.mailing_lists.contacts.list_opted_out(
            "POOL_1", "CG_1", since=dt.date(2024, 5, 1)
        ).collect()
        requests = sent(m)
    assert requests == [
        (
            "GET",
            "/API/v3/directories/POOL_1/mailinglists/CG_1/optedOutContacts",
            {"since": "2024-05-01"},
            None,
        )
    ]
    assert [c.id for c in opted_out] == ["CID_3"]


async def test_naive_since_is_refused(client: QualtricsClient) -> None:
    with pytest.raises(ValidationError, match="timezone-aware") as info:
        client.mailing_lists.contacts.list_opted_out(
            "POOL_1", "CG_1", since=dt.datetime(2024, 5, 1)
        )
    assert info.value.field == "since"
