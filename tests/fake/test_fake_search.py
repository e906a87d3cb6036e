"""Search filter semantics and search pagination (``skipToken`` in the result, re-POST)."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import pytest
from fakewire import D, Raw, assert_error

from qualtrics_sdk.testing import FakeQualtrics

UTC = dt.timezone.utc
SEARCH = f"{D}/contacts/search"


def crit(filter_type: str, comparison: Any, **extra: Any) -> dict[str, Any]:
    return {"filterType": filter_type, "comparison": comparison, **extra}


async def ids_for(raw: Raw, spec: dict[str, Any]) -> list[str]:
    answer = await raw.post(SEARCH, {"filter": spec})
    assert answer.status == 200, answer.body
    return [element["id"] for element in answer.result["elements"]]


@pytest.fixture
def people(fake: FakeQualtrics) -> dict[str, str]:
    day = dt.datetime(2024, 5, 1, 13, 0, 0, tzinfo=UTC)
    return {
        "ann": fake.add_contact(
            first_name="Ann",
            last_name="Lee",
            email="ann@example.com",
            phone="+1555",
            ext_ref="u-ann",
            language="EN",
            embedded_data={"plan": "Gold"},
            created_at=day,
        ),
        "bob": fake.add_contact(
            first_name="Bob",
            email="bob@example.com",
            ext_ref="u-bob",
            language="FR",
            created_at=day + dt.timedelta(days=1),
        ),
        "cid": fake.add_contact(last_name="Lee", created_at=day + dt.timedelta(days=2, hours=3)),
    }


@pytest.mark.parametrize(
    ("filter_type", "value", "expected"),
    [
        ("email", "  ANN@example.COM ", ["ann"]),
        ("firstName", "bob", ["bob"]),
        ("lastName", "lee", ["ann", "cid"]),
        ("language", "fr", ["bob"]),
        ("phone", "+1555", ["ann"]),
        ("extRef", "U-BOB", ["bob"]),
    ],
)
async def test_string_eq_is_case_insensitive_and_trimmed(
    raw: Raw, people: dict[str, str], filter_type: str, value: str, expected: list[str]
) -> None:
    assert await ids_for(raw, crit(filter_type, "eq", value=value)) == [people[n] for n in expected]


async def test_neq_also_matches_contacts_without_the_field(
    raw: Raw, people: dict[str, str]
) -> None:
    found = await ids_for(raw, crit("email", "neq", value="ANN@example.com"))
    assert found == [people["bob"], people["cid"]]


@pytest.mark.parametrize(
    ("comparison", "value", "expected"),
    [
        ("eq", "2024-05-02", ["bob"]),
        ("neq", "2024-05-02", ["ann", "cid"]),
        ("gt", "2024-05-01", ["bob", "cid"]),
        ("gte", "2024-05-02", ["bob", "cid"]),
        ("lt", "2024-05-02", ["ann"]),
        ("lte", "2024-05-02", ["ann", "bob"]),
        ("eq", "2024-05-03 16:00:00", ["cid"]),
        ("gt", "2024-05-01 13:00:00", ["bob", "cid"]),
        ("lte", "2024-05-01 13:00:00", ["ann"]),
    ],
)
async def test_created_date_comparisons(
    raw: Raw, people: dict[str, str], comparison: str, value: str, expected: list[str]
) -> None:
    assert await ids_for(raw, crit("created", comparison, value=value)) == [
        people[n] for n in expected
    ]


async def test_last_modified_moves_with_updates(
    raw: Raw, fake: FakeQualtrics, people: dict[str, str]
) -> None:
    fake.clock.advance(86400 * 3650)
    await raw.put(f"{D}/contacts/{people['bob']}", {"firstName": "Robert"})
    today = dt.datetime.fromtimestamp(fake.clock.now(), tz=UTC).strftime("%Y-%m-%d")
    assert await ids_for(raw, crit("lastModified", "eq", value=today)) == [people["bob"]]


async def test_in_list_true_and_false(
    raw: Raw, fake: FakeQualtrics, people: dict[str, str]
) -> None:
    list_id = fake.default_mailing_list_id
    fake.add_to_mailing_list(people["bob"], list_id)
    assert await ids_for(raw, crit("inList", True, mailingListId=list_id)) == [people["bob"]]
    assert await ids_for(raw, crit("inList", "true", mailingListId=f" {list_id} ")) == [
        people["bob"]
    ]
    assert await ids_for(raw, crit("inList", "false", mailingListId=list_id)) == [
        people["ann"],
        people["cid"],
    ]


async def test_info_field_state(raw: Raw, people: dict[str, str]) -> None:
    empty_email = crit("infoFieldState", "empty", field="email")
    assert await ids_for(raw, empty_email) == [people["cid"]]
    has_first = crit("infoFieldState", "notEmpty", field="firstName")
    assert await ids_for(raw, has_first) == [people["ann"], people["bob"]]


async def test_embedded_data_filter(raw: Raw, people: dict[str, str]) -> None:
    assert await ids_for(raw, crit("embeddedData", "eq", field="plan", value="gold")) == [
        people["ann"]
    ]


async def test_and_conjunction_of_two_to_five(raw: Raw, people: dict[str, str]) -> None:
    two = {
        "conjunction": "and",
        "filters": [crit("lastName", "eq", value="Lee"), crit("extRef", "eq", value="u-ann")],
    }
    assert await ids_for(raw, two) == [people["ann"]]
    five = {
        "conjunction": "and",
        "filters": [
            crit("lastName", "eq", value="Lee"),
            crit("extRef", "eq", value="u-ann"),
            crit("email", "eq", value="ann@example.com"),
            crit("phone", "eq", value="+1555"),
            crit("created", "lt", value="2024-05-02"),
        ],
    }
    assert await ids_for(raw, five) == [people["ann"]]
    contradiction = {
        "conjunction": "and",
        "filters": [
            crit("extRef", "eq", value="u-ann"),
            crit("email", "eq", value="bob@example.com"),
        ],
    }
    assert await ids_for(raw, contradiction) == []


@pytest.mark.parametrize("count", [0, 1, 6])
async def test_conjunction_outside_two_to_five_is_400(raw: Raw, count: int) -> None:
    spec = {"conjunction": "and", "filters": [crit("email", "eq", value="a@b.c")] * count}
    answer = await raw.post(SEARCH, {"filter": spec})
    assert_error(answer, 400, "The number of filters should be ranged from 2 to 5.", "QVAL_1")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"conjunction": "or", "filters": [crit("email", "eq", value="a")] * 2},
            "Invalid conjunction 'or'; only 'and' is supported.",
        ),
        (crit("email", "gt", value="a"), "Invalid comparison 'gt' for filterType email."),
        (
            crit("created", "empty", value="2024-01-01"),
            "Invalid comparison 'empty' for filterType created.",
        ),
        (
            crit("nickname", "eq", value="a"),
            "Invalid filterType 'nickname'; expected one of email, firstName, lastName, language, "
            "phone, extRef, created, lastModified, inList, infoFieldState, embeddedData.",
        ),
        (
            crit("created", "eq", value="05/01/2024"),
            "Invalid date '05/01/2024' for filterType created; use yyyy-MM-dd or "
            "yyyy-MM-dd HH:mm:ss.",
        ),
        (crit("email", "eq"), 'Filter email needs a string "value".'),
        (
            crit("inList", "maybe", mailingListId="CG_1"),
            "Invalid comparison 'maybe' for filterType inList.",
        ),
        (crit("inList", True), 'Filter inList needs a "mailingListId".'),
        (
            crit("infoFieldState", "empty", field="phone"),
            "Invalid field 'phone' for filterType infoFieldState; expected one of email, extRef, "
            "firstName, lastName.",
        ),
        (
            {**crit("email", "eq", value="a"), "operator": "x"},
            "Unexpected json key provided: operator",
        ),
    ],
)
async def test_invalid_filters_are_400(raw: Raw, spec: dict[str, Any], message: str) -> None:
    assert_error(await raw.post(SEARCH, {"filter": spec}), 400, message, "QVAL_1")


async def test_body_without_filter_is_400(raw: Raw) -> None:
    answer = await raw.post(SEARCH, {"email": "a"})
    assert_error(
        answer, 400, 'The request body must be a JSON object with a "filter" object.', "QVAL_1"
    )


async def test_search_pages_with_skip_token_and_the_same_body(
    raw: Raw, fake: FakeQualtrics
) -> None:
    ids = fake.add_contacts({"last_name": "Page", "email": f"p{i}@example.com"} for i in range(7))
    body = {"filter": crit("lastName", "eq", value="page")}
    first = await raw.post(SEARCH, body, params={"pageSize": "3"})
    assert "nextPage" not in first.result
    token = first.result["skipToken"]
    assert base64.b64decode(token) == b"3"
    second = await raw.post(SEARCH, body, params={"pageSize": "3", "skipToken": token})
    third = await raw.post(
        SEARCH, body, params={"pageSize": "3", "skipToken": second.result["skipToken"]}
    )
    assert "skipToken" not in third.result
    pages = [first, second, third]
    assert [e["id"] for page in pages for e in page.result["elements"]] == ids


async def test_full_last_page_is_followed_by_an_empty_page(raw: Raw, fake: FakeQualtrics) -> None:
    fake.add_contacts({"last_name": "Page"} for _ in range(4))
    body = {"filter": crit("lastName", "eq", value="Page")}
    first = await raw.post(SEARCH, body, params={"pageSize": "2"})
    second = await raw.post(
        SEARCH, body, params={"pageSize": "2", "skipToken": first.result["skipToken"]}
    )
    assert len(second.result["elements"]) == 2
    last = await raw.post(
        SEARCH, body, params={"pageSize": "2", "skipToken": second.result["skipToken"]}
    )
    assert last.result == {"elements": []}


async def test_empty_skip_token_is_qval_5(raw: Raw) -> None:
    answer = await raw.post(
        SEARCH, {"filter": crit("email", "eq", value="a")}, params={"skipToken": ""}
    )
    assert_error(answer, 400, "Parameter skipToken should not be empty.", "QVAL_5")


async def test_forged_skip_token_is_400(raw: Raw) -> None:
    answer = await raw.post(
        SEARCH, {"filter": crit("email", "eq", value="a")}, params={"skipToken": "@@"}
    )
    assert_error(answer, 400, "Parameter skipToken is invalid.", "QVAL_1")


async def test_search_stops_at_10000_results(raw: Raw, fake: FakeQualtrics) -> None:
    fake.add_contacts({"last_name": "Many"} for _ in range(10_050))
    body = {"filter": crit("lastName", "eq", value="many")}
    near_end = base64.b64encode(b"9900").decode()
    page = await raw.post(SEARCH, body, params={"pageSize": "100", "skipToken": near_end})
    assert len(page.result["elements"]) == 100
    beyond = await raw.post(
        SEARCH, body, params={"pageSize": "100", "skipToken": page.result["skipToken"]}
    )
    assert_error(
        beyond,
        400,
        "Paginating beyond the first 10,000 contacts is not supported; use the contact export "
        "API instead.",
        "QVAL_1",
    )
    straddling = await raw.post(
        SEARCH, body, params={"pageSize": "500", "skipToken": base64.b64encode(b"9800").decode()}
    )
    assert len(straddling.result["elements"]) == 200
    assert base64.b64decode(straddling.result["skipToken"]) == b"10000"


async def test_default_page_size_is_100(raw: Raw, fake: FakeQualtrics) -> None:
    fake.add_contacts({"last_name": "Many"} for _ in range(150))
    answer = await raw.post(SEARCH, {"filter": crit("lastName", "eq", value="many")})
    assert len(answer.result["elements"]) == 100
