"""``client.contacts`` on the wire: exact requests, typed results, errors raised before sending."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aioresponses import aioresponses
from yarl import URL

from qualtrics_sdk import (
    AmbiguousContactError,
    BadRequestError,
    Contact,
    ContactFilter,
    ContactTransaction,
    CreatedContact,
    MailingListMembership,
    QualtricsClient,
    RetryPolicy,
    SearchDepthExceededError,
    SegmentMembership,
    ServerError,
    UpsertResult,
    ValidationError,
)

F = ContactFilter
HOST = "https://iad1.qualtrics.com"
API = f"{HOST}/API/v3"
CONTACTS = f"{API}/directories/POOL_1/contacts"
UTC = dt.timezone.utc


def envelope(result: Any = None, request_id: str = "req-1") -> dict[str, Any]:
    body: dict[str, Any] = {"meta": {"httpStatus": "200 - OK", "requestId": request_id}}
    if result is not None:
        body["result"] = result
    return body


def error(status: int, message: str) -> dict[str, Any]:
    return {
        "meta": {
            "httpStatus": f"{status} - Bad Request",
            "requestId": "req-err",
            "error": {"errorMessage": message, "errorCode": "QVAL_1"},
        }
    }


def any_query(url: str) -> re.Pattern[str]:
    """Match ``url`` with any query string (requests are asserted separately, exactly)."""
    return re.compile(rf"^{re.escape(url)}(\?.*)?$")


def sent(m: aioresponses) -> list[tuple[str, str, dict[str, str], Any]]:
    """Every request in order: method, path, query, decoded JSON body."""
    out = []
    for (method, url), calls in m.requests.items():
        for call in calls:
            data = call.kwargs.get("data")
            body = json.loads(data) if data else None
            out.append((method, URL(str(url)).path, dict(URL(str(url)).query), body))
    return out


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    async with QualtricsClient(
        api_token="tok",
        datacenter="iad1",
        retry_policy=RetryPolicy(max_retries=2, initial_delay=0),
    ) as c:
        yield c


@pytest.fixture
def m() -> Iterator[aioresponses]:
    with aioresponses() as mocked:
        yield mocked


# Shapes from the reference (qualtrics-api.md §4.2): get uses contactId, epoch-ms dates and
# membership maps; search uses id, phoneNumber, externalDataReference and string dates.
GET_RESULT = {
    "contactId": "CID_1",
    "creationDate": 1714568400000,
    "lastModified": 1714572000000,
    "firstName": "Peter",
    "lastName": "Gibbons",
    "email": "peter@example.com",
    "emailDomain": "example.com",
    "phone": "+15550100",
    "extRef": "97980cfea0067",
    "language": "EN",
    "embeddedData": {"plan": "premium", "logins": "5"},
    "segmentMembership": {
        "SG_1": {
            "contactLookupId": "CGC_9",
            "name": "VIPs",
            "ownerId": "UR_1",
            "unsubscribed": True,
            "unsubscribedDate": 1714568400000,
        }
    },
    "directoryUnsubscribed": False,
    "directoryUnsubscribeDate": None,
    "stats": {"sendCount": "3"},
    "mailingListMembership": {
        "CG_1": {
            "contactLookupId": "CGC_1",
            "name": "Customers",
            "ownerId": "UR_1",
            "unsubscribed": False,
            "unsubscribeDate": None,
        }
    },
    "brandNewField": {"x": 1},
}


def list_element(n: int) -> dict[str, Any]:
    return {
        "contactId": f"CID_{n}",
        "firstName": f"First{n}",
        "lastName": "Last",
        "email": f"c{n}@example.com",
        "phone": "+15550100",
        "extRef": f"u{n}",
        "language": "EN",
        "unsubscribed": False,
    }


def search_element(n: int) -> dict[str, Any]:
    return {
        "id": f"CID_{n}",
        "creationDate": "2024-05-01T13:00:00Z",
        "lastModified": "2024-05-02T08:30:00Z",
        "firstName": "Peter",
        "lastName": "Gibbons",
        "email": "peter@example.com",
        "phoneNumber": "+15550100",
        "externalDataReference": f"u{n}",
        "language": "EN",
        "unsubscribed": False,
        "unsubscribeDate": None,
        "stats": {},
        "embeddedData": {"plan": "premium"},
        "segmentMembership": {},
    }


# --- create -----------------------------------------------------------------------------------


async def test_create_posts_camel_case_body_without_none_and_returns_id(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}, "req-create"))

    created = await client.contacts.create(
        "POOL_1",
        first_name="Peter",
        email="peter@example.com",
        ext_ref="97980cfea0067",
        unsubscribed=False,
        embedded_data={"plan": "premium", "logins": 5, "vip": True, "score": 1.5},
    )

    assert sent(m) == [
        (
            "POST",
            "/API/v3/directories/POOL_1/contacts",
            {},
            {
                "firstName": "Peter",
                "email": "peter@example.com",
                "extRef": "97980cfea0067",
                "unsubscribed": False,
                "embeddedData": {"plan": "premium", "logins": 5, "vip": True, "score": 1.5},
            },
        )
    ]
    assert created == CreatedContact(id="CID_NEW")
    assert created.contact_id == "CID_NEW"
    assert created.response_info is not None
    assert created.response_info.request_id == "req-create"


async def test_create_sends_every_field(client: QualtricsClient, m: aioresponses) -> None:
    m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}))
    await client.contacts.create(
        "POOL_1",
        first_name="Peter",
        last_name="Gibbons",
        email="peter@example.com",
        phone="+15550100",
        ext_ref="97980cfea0067",
        language="EN",
        unsubscribed=True,
    )
    assert sent(m)[0][3] == {
        "firstName": "Peter",
        "lastName": "Gibbons",
        "email": "peter@example.com",
        "phone": "+15550100",
        "extRef": "97980cfea0067",
        "language": "EN",
        "unsubscribed": True,
    }


async def test_create_is_not_retried_after_a_5xx_and_is_flagged_ambiguous(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(CONTACTS, status=500, payload=error(500, "boom"))
    m.post(CONTACTS, payload=envelope({"id": "CID_DUP"}))

    with pytest.raises(ServerError) as info:
        await client.contacts.create("POOL_1", email="peter@example.com")

    assert info.value.ambiguous is True
    assert len(sent(m)) == 1


# --- embedded data and field validation (nothing is sent) --------------------------------------


@pytest.mark.parametrize(
    ("embedded", "message", "field"),
    [
        ({"prefs": {"color": "red"}}, "json_encode_nested=True", "embedded_data['prefs']"),
        ({"tags": ["a", "b"]}, "json_encode_nested=True", "embedded_data['tags']"),
        (
            {"x" * 201: "v"},
            "201 characters; Qualtrics allows 200",
            "embedded_data['" + "x" * 201 + "']",
        ),
        (
            {"note": "v" * 1025},
            "1025 characters long; Qualtrics allows 1024",
            "embedded_data['note']",
        ),
        ({"plan": None}, "omit the key", "embedded_data['plan']"),
    ],
)
async def test_bad_embedded_data_is_refused_before_sending(
    client: QualtricsClient, m: aioresponses, embedded: dict[str, Any], message: str, field: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)) as info:
        await client.contacts.create("POOL_1", email="a@b.com", embedded_data=embedded)
    assert info.value.field == field
    with pytest.raises(ValidationError, match=re.escape(message)):
        await client.contacts.update("POOL_1", "CID_1", embedded_data=embedded)
    with pytest.raises(ValidationError, match=re.escape(message)):
        await client.contacts.upsert("POOL_1", email="a@b.com", embedded_data=embedded)
    assert sent(m) == []


async def test_json_encode_nested_sends_compact_json_strings(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}))
    await client.contacts.create(
        "POOL_1",
        email="a@b.com",
        embedded_data={"prefs": {"color": "red", "sizes": [1, 2]}, "tags": ["a", "é"]},
        json_encode_nested=True,
    )
    assert sent(m)[0][3]["embeddedData"] == {
        "prefs": '{"color":"red","sizes":[1,2]}',
        "tags": '["a","é"]',
    }


async def test_limits_are_inclusive(client: QualtricsClient, m: aioresponses) -> None:
    m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}))
    await client.contacts.create("POOL_1", embedded_data={"x" * 200: "v" * 1024})
    assert sent(m)[0][3] == {"embeddedData": {"x" * 200: "v" * 1024}}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"phone": 15550100}, "phone"),
        ({"email": b"a@b.com"}, "email"),
        ({"unsubscribed": "false"}, "unsubscribed"),
        ({"embedded_data": [("a", "b")]}, "embedded_data"),
    ],
)
async def test_wrongly_typed_fields_are_refused(
    client: QualtricsClient, m: aioresponses, kwargs: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await client.contacts.create("POOL_1", **kwargs)
    assert info.value.field == field
    assert sent(m) == []


@pytest.mark.parametrize(
    "bad_id", ["CID_1/../../surveys", "CID_1?x=1", "", "CID 1", "..", "CID_1#frag"]
)
async def test_malformed_contact_ids_are_refused_before_sending(
    client: QualtricsClient, m: aioresponses, bad_id: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await client.contacts.get("POOL_1", bad_id)
    assert info.value.field == "contact_id"
    with pytest.raises(ValidationError):
        await client.contacts.update("POOL_1", bad_id, first_name="x")
    with pytest.raises(ValidationError):
        await client.contacts.delete("POOL_1", bad_id)
    with pytest.raises(ValidationError):
        client.contacts.transactions("POOL_1", bad_id)
    assert sent(m) == []


async def test_malformed_directory_id_is_refused_before_sending(
    client: QualtricsClient, m: aioresponses
) -> None:
    with pytest.raises(ValidationError) as info:
        client.contacts.list("POOL_1/mailinglists")
    assert info.value.field == "directory_id"
    with pytest.raises(ValidationError):
        client.contacts.search("../POOL_1", F.email.eq("a@b.com"))
    with pytest.raises(ValidationError):
        await client.contacts.create("POOL/1", email="a@b.com")
    assert sent(m) == []


@pytest.mark.parametrize("page_size", [0, -5, True, 2.5])
async def test_bad_page_size_is_refused(
    client: QualtricsClient, m: aioresponses, page_size: Any
) -> None:
    with pytest.raises(ValidationError, match="page_size"):
        client.contacts.list("POOL_1", page_size=page_size)
    with pytest.raises(ValidationError, match="page_size"):
        client.contacts.search("POOL_1", F.email.eq("a@b.com"), page_size=page_size)
    assert sent(m) == []


# --- get / update / delete ----------------------------------------------------------------------


async def test_get_returns_typed_contact_from_real_shape(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.get(f"{CONTACTS}/CID_1", payload=envelope(GET_RESULT, "req-get"))

    contact = await client.contacts.get("POOL_1", "CID_1")

    assert sent(m) == [("GET", "/API/v3/directories/POOL_1/contacts/CID_1", {}, None)]
    assert contact.id == contact.contact_id == "CID_1"
    assert (contact.first_name, contact.last_name) == ("Peter", "Gibbons")
    assert (contact.email, contact.email_domain) == ("peter@example.com", "example.com")
    assert (contact.phone, contact.ext_ref, contact.language) == (
        "+15550100",
        "97980cfea0067",
        "EN",
    )
    assert contact.creation_date == dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    assert contact.last_modified == dt.datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
    assert contact.embedded_data == {"plan": "premium", "logins": "5"}
    assert contact.directory_unsubscribed is False
    assert contact.directory_unsubscribe_date is None
    assert contact.stats == {"sendCount": "3"}
    assert contact.mailing_list_membership == {
        "CG_1": MailingListMembership(
            contact_lookup_id="CGC_1",
            name="Customers",
            owner_id="UR_1",
            unsubscribed=False,
            unsubscribe_date=None,
        )
    }
    assert contact.segment_membership == {
        "SG_1": SegmentMembership(
            contact_lookup_id="CGC_9",
            name="VIPs",
            owner_id="UR_1",
            unsubscribed=True,
            unsubscribe_date=dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC),
        )
    }
    assert contact.extra == {"brandNewField": {"x": 1}}
    assert contact.response_info is not None
    assert contact.response_info.request_id == "req-get"


async def test_get_with_segments_sends_include_segments(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.get(any_query(f"{CONTACTS}/CID_1"), payload=envelope(GET_RESULT))
    await client.contacts.get("POOL_1", "CID_1", include_segments=True)
    assert sent(m) == [
        ("GET", "/API/v3/directories/POOL_1/contacts/CID_1", {"includeSegments": "true"}, None)
    ]


async def test_ids_are_percent_encoded_in_paths(client: QualtricsClient, m: aioresponses) -> None:
    m.get(f"{API}/directories/POOL_1/contacts/CID_%C3%A9", payload=envelope(GET_RESULT))
    await client.contacts.get("POOL_1", "CID_é")
    assert len(sent(m)) == 1


async def test_update_puts_only_given_fields(client: QualtricsClient, m: aioresponses) -> None:
    m.put(f"{CONTACTS}/CID_1", payload=envelope())

    await client.contacts.update(
        "POOL_1", "CID_1", last_name="Bolton", unsubscribed=False, embedded_data={"plan": "free"}
    )

    assert sent(m) == [
        (
            "PUT",
            "/API/v3/directories/POOL_1/contacts/CID_1",
            {},
            {"lastName": "Bolton", "unsubscribed": False, "embeddedData": {"plan": "free"}},
        )
    ]


async def test_update_without_fields_is_refused(client: QualtricsClient, m: aioresponses) -> None:
    with pytest.raises(ValidationError, match="at least one field"):
        await client.contacts.update("POOL_1", "CID_1")
    assert sent(m) == []


async def test_delete_sends_delete(client: QualtricsClient, m: aioresponses) -> None:
    m.delete(f"{CONTACTS}/CID_1", payload=envelope())
    await client.contacts.delete("POOL_1", "CID_1")
    assert sent(m) == [("DELETE", "/API/v3/directories/POOL_1/contacts/CID_1", {}, None)]


# --- list (nextPage) --------------------------------------------------------------------------


async def test_list_follows_next_page_across_three_pages(
    client: QualtricsClient, m: aioresponses
) -> None:
    page2 = f"{CONTACTS}?pageSize=2&useNewPaginationScheme=true&skipToken=TOKEN2"
    page3 = f"{CONTACTS}?pageSize=2&useNewPaginationScheme=true&skipToken=TOKEN3"
    m.get(
        f"{CONTACTS}?pageSize=2&useNewPaginationScheme=true",
        payload=envelope({"elements": [list_element(1), list_element(2)], "nextPage": page2}),
    )
    m.get(
        page2, payload=envelope({"elements": [list_element(3), list_element(4)], "nextPage": page3})
    )
    m.get(page3, payload=envelope({"elements": [list_element(5)], "nextPage": None}))

    contacts = await client.contacts.list("POOL_1", page_size=2).collect()

    path = "/API/v3/directories/POOL_1/contacts"
    first_query = {"pageSize": "2", "useNewPaginationScheme": "true"}
    assert sent(m) == [
        ("GET", path, first_query, None),
        ("GET", path, {**first_query, "skipToken": "TOKEN2"}, None),
        ("GET", path, {**first_query, "skipToken": "TOKEN3"}, None),
    ]
    assert [c.id for c in contacts] == ["CID_1", "CID_2", "CID_3", "CID_4", "CID_5"]
    assert contacts[0] == Contact(
        id="CID_1",
        first_name="First1",
        last_name="Last",
        email="c1@example.com",
        phone="+15550100",
        ext_ref="u1",
        language="EN",
        unsubscribed=False,
    )


async def test_list_default_page_size_is_not_sent(client: QualtricsClient, m: aioresponses) -> None:
    m.get(any_query(CONTACTS), payload=envelope({"elements": [], "nextPage": None}))
    assert await client.contacts.list("POOL_1").collect() == []
    assert sent(m) == [
        ("GET", "/API/v3/directories/POOL_1/contacts", {"useNewPaginationScheme": "true"}, None)
    ]


# --- search (skipToken re-POST) ---------------------------------------------------------------


async def test_search_reposts_the_same_body_with_skip_token_across_three_pages(
    client: QualtricsClient, m: aioresponses
) -> None:
    search = any_query(f"{CONTACTS}/search")
    m.post(
        search,
        payload=envelope({"elements": [search_element(1), search_element(2)], "skipToken": "Mg=="}),
    )
    m.post(
        search,
        payload=envelope({"elements": [search_element(3), search_element(4)], "skipToken": "NA=="}),
    )
    m.post(search, payload=envelope({"elements": [search_element(5)]}))
    search_filter = F.all_of(F.email.eq("peter@example.com"), F.in_list("CG_1"))

    contacts = await client.contacts.search(
        "POOL_1", search_filter, page_size=2, include_embedded=True
    ).collect()

    body = {
        "filter": {
            "conjunction": "and",
            "filters": [
                {"filterType": "email", "comparison": "eq", "value": "peter@example.com"},
                {"filterType": "inList", "comparison": True, "mailingListId": "CG_1"},
            ],
        }
    }
    path = "/API/v3/directories/POOL_1/contacts/search"
    query = {"pageSize": "2", "includeEmbedded": "true"}
    assert sent(m) == [
        ("POST", path, query, body),
        ("POST", path, {**query, "skipToken": "Mg=="}, body),
        ("POST", path, {**query, "skipToken": "NA=="}, body),
    ]
    assert [c.id for c in contacts] == ["CID_1", "CID_2", "CID_3", "CID_4", "CID_5"]
    first = contacts[0]
    assert (first.phone, first.ext_ref) == ("+15550100", "u1")
    assert first.creation_date == dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC)
    assert first.last_modified == dt.datetime(2024, 5, 2, 8, 30, tzinfo=UTC)
    assert first.embedded_data == {"plan": "premium"}
    assert first.unsubscribe_date is None
    assert first.extra == {}


async def test_search_stops_on_empty_skip_token_instead_of_sending_it(
    client: QualtricsClient, m: aioresponses
) -> None:
    search = any_query(f"{CONTACTS}/search")
    m.post(search, payload=envelope({"elements": [search_element(1)], "skipToken": ""}))
    m.post(search, payload=envelope({"elements": [search_element(2)]}))

    contacts = await client.contacts.search("POOL_1", F.ext_ref.eq("u1")).collect()

    assert [c.id for c in contacts] == ["CID_1"]
    assert [query for _, _, query, _ in sent(m)] == [{}]


async def test_search_stops_on_empty_page_after_a_full_one(
    client: QualtricsClient, m: aioresponses
) -> None:
    search = any_query(f"{CONTACTS}/search")
    m.post(search, payload=envelope({"elements": [search_element(1)], "skipToken": "MQ=="}))
    m.post(search, payload=envelope({"elements": [], "skipToken": "Mg=="}))

    contacts = await client.contacts.search("POOL_1", F.ext_ref.eq("u1"), page_size=1).collect()

    assert [c.id for c in contacts] == ["CID_1"]
    assert len(sent(m)) == 2


async def test_search_with_a_raw_filter_and_segments(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(any_query(f"{CONTACTS}/search"), payload=envelope({"elements": []}))
    raw = {"filterType": "embeddedData", "comparison": "eq", "field": "plan", "value": "gold"}

    await client.contacts.search("POOL_1", raw, include_segments=True).collect()

    assert sent(m) == [
        (
            "POST",
            "/API/v3/directories/POOL_1/contacts/search",
            {"includeSegments": "true"},
            {"filter": raw},
        )
    ]


async def test_search_is_retried_on_5xx_because_it_only_reads(
    client: QualtricsClient, m: aioresponses
) -> None:
    search = any_query(f"{CONTACTS}/search")
    m.post(search, status=503, payload=error(503, "busy"))
    m.post(search, payload=envelope({"elements": [search_element(1)]}))

    contacts = await client.contacts.search("POOL_1", F.email.eq("a@b.com")).collect()

    assert [c.id for c in contacts] == ["CID_1"]
    assert len(sent(m)) == 2


async def test_search_with_six_criteria_fails_before_any_request(
    client: QualtricsClient, m: aioresponses
) -> None:
    with pytest.raises(ValidationError, match="at most 5"):
        client.contacts.search("POOL_1", F.all_of(*(F.ext_ref.eq(f"u{i}") for i in range(6))))
    assert sent(m) == []


async def test_search_stops_at_the_10000_result_depth(
    client: QualtricsClient, m: aioresponses
) -> None:
    search = any_query(f"{CONTACTS}/search")
    for token in ("T1", "T2", "T3"):
        elements = [search_element(i) for i in range(5000)]
        m.post(search, payload=envelope({"elements": elements, "skipToken": token}))

    seen = 0
    with pytest.raises(SearchDepthExceededError, match="10,000"):
        async for _ in client.contacts.search("POOL_1", F.language.eq("EN"), page_size=5000):
            seen += 1

    assert seen == 10_000
    assert [query.get("skipToken") for _, _, query, _ in sent(m)] == [None, "T1"]


async def test_a_400_past_the_depth_becomes_a_depth_error(
    client: QualtricsClient, m: aioresponses
) -> None:
    search = any_query(f"{CONTACTS}/search")
    elements = [search_element(i) for i in range(6000)]
    m.post(search, payload=envelope({"elements": elements, "skipToken": "T1"}))
    m.post(search, status=400, payload=error(400, "Invalid request"))

    with pytest.raises(SearchDepthExceededError) as info:
        await client.contacts.search("POOL_1", F.language.eq("EN"), page_size=6000).collect()

    assert isinstance(info.value.__cause__, BadRequestError)
    assert len(sent(m)) == 2


async def test_an_ordinary_400_on_a_later_page_stays_a_bad_request(
    client: QualtricsClient, m: aioresponses
) -> None:
    search = any_query(f"{CONTACTS}/search")
    m.post(search, payload=envelope({"elements": [search_element(1)], "skipToken": "T1"}))
    m.post(search, status=400, payload=error(400, "Invalid skipToken"))

    with pytest.raises(BadRequestError, match="Invalid skipToken"):
        await client.contacts.search("POOL_1", F.language.eq("EN"), page_size=1).collect()


# --- upsert ---------------------------------------------------------------------------------------

SEGMENT_BODY = {
    "filter": {
        "conjunction": "and",
        "filters": [
            {"filterType": "extRef", "comparison": "eq", "value": "user-1"},
            {"filterType": "phone", "comparison": "eq", "value": "+15550100"},
            {"filterType": "email", "comparison": "eq", "value": "peter@example.com"},
        ],
    }
}
SEARCH_PATH = "/API/v3/directories/POOL_1/contacts/search"


async def test_upsert_with_no_match_searches_like_segment_then_creates(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(f"{CONTACTS}/search", payload=envelope({"elements": []}))
    m.post(CONTACTS, payload=envelope({"id": "CID_NEW"}, "req-create"))

    result = await client.contacts.upsert(
        "POOL_1",
        email="peter@example.com",
        phone="+15550100",
        ext_ref="user-1",
        first_name="Peter",
        language="EN",
        embedded_data={"plan": "premium"},
    )

    assert sent(m) == [
        ("POST", SEARCH_PATH, {}, SEGMENT_BODY),
        (
            "POST",
            "/API/v3/directories/POOL_1/contacts",
            {},
            {
                "firstName": "Peter",
                "email": "peter@example.com",
                "phone": "+15550100",
                "extRef": "user-1",
                "language": "EN",
                "embeddedData": {"plan": "premium"},
            },
        ),
    ]
    assert result == UpsertResult(id="CID_NEW", created=True)
    assert result.response_info is not None
    assert result.response_info.request_id == "req-create"


async def test_upsert_with_one_identity_sends_it_bare(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(f"{CONTACTS}/search", payload=envelope({"elements": [search_element(7)]}))

    result = await client.contacts.upsert("POOL_1", email="peter@example.com", first_name="P")

    assert sent(m) == [
        (
            "POST",
            SEARCH_PATH,
            {},
            {"filter": {"filterType": "email", "comparison": "eq", "value": "peter@example.com"}},
        )
    ]
    assert result == UpsertResult(id="CID_7", created=False, updated=False)


async def test_upsert_identity_order_is_ext_ref_phone_email(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(f"{CONTACTS}/search", payload=envelope({"elements": [search_element(7)]}))
    await client.contacts.upsert("POOL_1", email="peter@example.com", ext_ref="user-1")
    filters = sent(m)[0][3]["filter"]["filters"]
    assert [f["filterType"] for f in filters] == ["extRef", "email"]


async def test_upsert_with_one_match_and_update_puts_non_identity_fields_only(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(f"{CONTACTS}/search", payload=envelope({"elements": [search_element(7)]}))
    m.put(f"{CONTACTS}/CID_7", payload=envelope(request_id="req-put"))

    result = await client.contacts.upsert(
        "POOL_1",
        ext_ref="user-1",
        phone="+15550100",
        email="peter@example.com",
        last_name="Gibbons",
        unsubscribed=False,
        embedded_data={"plan": "gold"},
        update=True,
    )

    assert sent(m) == [
        ("POST", SEARCH_PATH, {}, SEGMENT_BODY),
        (
            "PUT",
            "/API/v3/directories/POOL_1/contacts/CID_7",
            {},
            {"lastName": "Gibbons", "unsubscribed": False, "embeddedData": {"plan": "gold"}},
        ),
    ]
    assert result == UpsertResult(id="CID_7", created=False, updated=True)
    assert result.response_info is not None
    assert result.response_info.request_id == "req-put"


async def test_upsert_update_without_non_identity_fields_sends_no_put(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(f"{CONTACTS}/search", payload=envelope({"elements": [search_element(7)]}))
    result = await client.contacts.upsert("POOL_1", ext_ref="user-1", update=True)
    assert [method for method, *_ in sent(m)] == ["POST"]
    assert result == UpsertResult(id="CID_7", created=False, updated=False)


async def test_upsert_with_several_matches_is_ambiguous(
    client: QualtricsClient, m: aioresponses
) -> None:
    m.post(
        f"{CONTACTS}/search",
        payload=envelope({"elements": [search_element(1), search_element(2), search_element(3)]}),
    )

    with pytest.raises(AmbiguousContactError) as info:
        await client.contacts.upsert(
            "POOL_1", ext_ref="user-1", phone="+15550100", email="peter@example.com", update=True
        )

    assert info.value.directory_id == "POOL_1"
    assert info.value.candidate_ids == ("CID_1", "CID_2", "CID_3")
    assert "peter@example.com" not in str(info.value)  # identity values stay out of messages
    assert [method for method, *_ in sent(m)] == ["POST"]


async def test_upsert_without_identity_is_a_value_error_before_any_request(
    client: QualtricsClient, m: aioresponses
) -> None:
    with pytest.raises(ValueError, match="ext_ref, phone or email") as info:
        await client.contacts.upsert("POOL_1", first_name="Peter", update=True)
    assert isinstance(info.value, ValidationError)
    assert sent(m) == []


async def test_upsert_with_a_blank_identity_is_refused(
    client: QualtricsClient, m: aioresponses
) -> None:
    with pytest.raises(ValidationError) as info:
        await client.contacts.upsert("POOL_1", ext_ref="", email="peter@example.com")
    assert info.value.field == "ext_ref"
    assert sent(m) == []


# --- per-contact transactions ---------------------------------------------------------------------


async def test_transactions_lists_typed_transactions_across_pages(
    client: QualtricsClient, m: aioresponses
) -> None:
    base = f"{CONTACTS}/CID_1/transactions"
    page2 = f"{base}?pageSize=200&skipToken=T2"
    m.get(
        f"{base}?pageSize=200",
        payload=envelope(
            {
                "elements": [
                    {
                        "transactionId": "CTR_1",
                        "contactId": "CID_1",
                        "mailingListId": "CG_1",
                        "transactionDate": "2024-05-01 13:00:00",
                        "data": {"orderId": "A1", "amount": "12.5", "vip": "true"},
                        "batchId": "BT_1",
                    }
                ],
                "nextPage": page2,
            }
        ),
    )
    m.get(
        page2,
        payload=envelope(
            {
                "elements": [
                    {
                        "transactionId": "CTR_2",
                        "contactId": "CID_1",
                        "mailingListId": "CG_1",
                        "transactionDate": "2024-05-02T09:15:00Z",
                        "data": {},
                    }
                ],
                "nextPage": None,
            }
        ),
    )

    transactions = await client.contacts.transactions("POOL_1", "CID_1", page_size=200).collect()

    path = "/API/v3/directories/POOL_1/contacts/CID_1/transactions"
    assert sent(m) == [
        ("GET", path, {"pageSize": "200"}, None),
        ("GET", path, {"pageSize": "200", "skipToken": "T2"}, None),
    ]
    assert transactions == [
        ContactTransaction(
            id="CTR_1",
            contact_id="CID_1",
            mailing_list_id="CG_1",
            transaction_date=dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC),
            data={"orderId": "A1", "amount": "12.5", "vip": "true"},
            extra={"batchId": "BT_1"},
        ),
        ContactTransaction(
            id="CTR_2",
            contact_id="CID_1",
            mailing_list_id="CG_1",
            transaction_date=dt.datetime(2024, 5, 2, 9, 15, tzinfo=UTC),
            data={},
        ),
    ]
    assert transactions[0].transaction_date is not None
    assert transactions[0].transaction_date.tzinfo is not None
