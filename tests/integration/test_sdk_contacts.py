"""Integration: the real ``QualtricsClient`` contacts resource against the real fake server.

Covers the contact lifecycle, every search filter kind, dedup-upsert and pagination, asserting
both what the SDK returns and the fake's resulting state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest

from qualtrics_sdk import (
    AmbiguousContactError,
    BadRequestError,
    ContactFilter,
    ContactSearchFilter,
    NotFoundError,
    QualtricsClient,
    RetryPolicy,
    ValidationError,
)
from qualtrics_sdk.testing import FakeQualtrics

F = ContactFilter
POOL = "POOL_DEFAULT"
UTC = dt.timezone.utc
FAST_RETRIES = RetryPolicy(max_retries=3, initial_delay=0.01, max_retry_after=0.05)


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    async with FakeQualtrics(seed=7) as server:
        yield server


@pytest.fixture
async def client(fake: FakeQualtrics) -> AsyncIterator[QualtricsClient]:
    async with fake.client(retry_policy=FAST_RETRIES) as sdk_client:
        yield sdk_client


async def _search_ids(client: QualtricsClient, search_filter: ContactSearchFilter) -> set[str]:
    return {contact.id async for contact in client.contacts.search(POOL, search_filter)}


# --- lifecycle ------------------------------------------------------------------------------------


async def test_contact_lifecycle_create_get_update_list_delete(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    created = await client.contacts.create(
        POOL,
        first_name="Ann",
        last_name="Lee",
        email="ann@example.com",
        phone="+15550100",
        ext_ref="u-1",
        language="EN",
        embedded_data={"plan": "gold", "seats": 3},
    )
    record = fake.get_contact(created.id)
    assert (record.first_name, record.last_name, record.email) == ("Ann", "Lee", "ann@example.com")
    assert (record.phone, record.ext_ref, record.language) == ("+15550100", "u-1", "EN")
    assert dict(record.embedded_data) == {"plan": "gold", "seats": "3"}

    got = await client.contacts.get(POOL, created.id)
    assert got.id == created.id
    assert (got.first_name, got.email, got.phone, got.ext_ref) == (
        "Ann",
        "ann@example.com",
        "+15550100",
        "u-1",
    )
    assert got.embedded_data == {"plan": "gold", "seats": "3"}
    assert got.creation_date is not None
    assert got.creation_date.tzinfo is not None

    await client.contacts.update(POOL, created.id, last_name="Smith", embedded_data={"seats": 4})
    (put,) = fake.requests(method="PUT", path=f"/API/v3/directories/{POOL}/contacts/{created.id}")
    assert put.json == {"lastName": "Smith", "embeddedData": {"seats": 4}}
    updated = fake.get_contact(created.id)
    assert updated.last_name == "Smith"
    # Fields not sent are left alone.
    assert (updated.first_name, updated.email, updated.phone, updated.ext_ref) == (
        "Ann",
        "ann@example.com",
        "+15550100",
        "u-1",
    )
    assert updated.embedded_data["plan"] == "gold"
    assert updated.embedded_data["seats"] == "4"

    listed = [contact async for contact in client.contacts.list(POOL)]
    assert [contact.id for contact in listed] == [created.id]
    assert listed[0].last_name == "Smith"

    await client.contacts.delete(POOL, created.id)
    assert fake.contacts() == []
    with pytest.raises(NotFoundError) as caught:
        await client.contacts.get(POOL, created.id)
    assert caught.value.status == 404
    with pytest.raises(NotFoundError):
        await client.contacts.delete(POOL, created.id)


async def test_update_without_fields_is_refused_before_any_request(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    contact_id = fake.add_contact(email="a@example.com")
    fake.clear_requests()
    with pytest.raises(ValidationError):
        await client.contacts.update(POOL, contact_id)
    assert fake.requests() == []


# --- search ---------------------------------------------------------------------------------------


@pytest.fixture
def people(fake: FakeQualtrics) -> dict[str, str]:
    """Three contacts with distinct fields and creation days; ``ann`` is in the default list."""
    return {
        "ann": fake.add_contact(
            mailing_list_id=fake.default_mailing_list_id,
            first_name="Ann",
            last_name="Lee",
            email="Ann@Example.com",
            phone="+15550100",
            ext_ref="EXT-1",
            language="EN",
            created_at=dt.datetime(2024, 1, 10, 12, 0, tzinfo=UTC),
        ),
        "bob": fake.add_contact(
            first_name="Bob",
            last_name="Stone",
            email="bob@example.com",
            phone="+15550101",
            ext_ref="ext-2",
            language="FR",
            created_at=dt.datetime(2024, 3, 5, 8, 30, tzinfo=UTC),
        ),
        "cid": fake.add_contact(
            last_name="Nameless",
            phone="+15550102",
            created_at=dt.datetime(2024, 6, 1, 23, 59, 59, tzinfo=UTC),
        ),
    }


@pytest.mark.parametrize(
    ("search_filter", "expected"),
    [
        (F.email.eq("  ANN@example.COM "), {"ann"}),
        (F.email.neq("ann@example.com"), {"bob", "cid"}),
        (F.first_name.eq("bob"), {"bob"}),
        (F.first_name.neq("BOB"), {"ann", "cid"}),
        (F.last_name.eq("LEE"), {"ann"}),
        (F.last_name.neq("lee"), {"bob", "cid"}),
        (F.language.eq("fr"), {"bob"}),
        (F.language.neq("fr"), {"ann", "cid"}),
        (F.phone.eq("+15550102"), {"cid"}),
        (F.phone.neq("+15550102"), {"ann", "bob"}),
        (F.ext_ref.eq("ext-1"), {"ann"}),
        (F.ext_ref.neq("EXT-2"), {"ann", "cid"}),
    ],
    ids=lambda value: repr(value.to_wire()) if hasattr(value, "to_wire") else None,
)
async def test_search_text_filters_are_case_insensitive(
    client: QualtricsClient,
    people: dict[str, str],
    search_filter: ContactSearchFilter,
    expected: set[str],
) -> None:
    assert await _search_ids(client, search_filter) == {people[name] for name in expected}


@pytest.mark.parametrize(
    ("search_filter", "expected"),
    [
        (F.created.eq(dt.date(2024, 3, 5)), {"bob"}),
        (F.created.neq(dt.date(2024, 3, 5)), {"ann", "cid"}),
        (F.created.gt(dt.date(2024, 3, 5)), {"cid"}),
        (F.created.gte(dt.date(2024, 3, 5)), {"bob", "cid"}),
        (F.created.lt(dt.date(2024, 3, 5)), {"ann"}),
        (F.created.lte(dt.date(2024, 3, 5)), {"ann", "bob"}),
        # A datetime compares to the second (sent as UTC "yyyy-MM-dd HH:MM:SS").
        (F.created.gt(dt.datetime(2024, 3, 5, 8, 30, tzinfo=UTC)), {"cid"}),
        (
            F.created.gte(
                dt.datetime(2024, 3, 5, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))
            ),
            {"bob", "cid"},
        ),
        (F.last_modified.lte(dt.date(2024, 1, 10)), {"ann"}),
    ],
)
async def test_search_date_filters(
    client: QualtricsClient,
    people: dict[str, str],
    search_filter: ContactSearchFilter,
    expected: set[str],
) -> None:
    assert await _search_ids(client, search_filter) == {people[name] for name in expected}


async def test_search_last_modified_sees_an_sdk_update(
    client: QualtricsClient, people: dict[str, str]
) -> None:
    since = dt.datetime(2025, 1, 1, tzinfo=UTC)
    assert await _search_ids(client, F.last_modified.gt(since)) == set()
    await client.contacts.update(POOL, people["bob"], first_name="Robert")
    assert await _search_ids(client, F.last_modified.gt(since)) == {people["bob"]}


async def test_search_in_list_and_field_state(
    fake: FakeQualtrics, client: QualtricsClient, people: dict[str, str]
) -> None:
    list_id = fake.default_mailing_list_id
    assert await _search_ids(client, F.in_list(list_id)) == {people["ann"]}
    assert await _search_ids(client, F.not_in_list(list_id)) == {people["bob"], people["cid"]}
    assert await _search_ids(client, F.email.is_empty()) == {people["cid"]}
    assert await _search_ids(client, F.first_name.is_not_empty()) == {people["ann"], people["bob"]}
    assert await _search_ids(client, F.ext_ref.is_empty()) == {people["cid"]}
    assert await _search_ids(client, F.last_name.is_not_empty()) == set(people.values())


async def test_search_results_carry_contact_fields(
    client: QualtricsClient, people: dict[str, str]
) -> None:
    # Search answers use other wire names (id, phoneNumber, externalDataReference, string
    # dates); the SDK reads them into the same Contact model as get/list.
    (found,) = [contact async for contact in client.contacts.search(POOL, F.ext_ref.eq("EXT-1"))]
    assert found.id == people["ann"]
    assert (found.phone, found.ext_ref, found.email) == ("+15550100", "EXT-1", "Ann@Example.com")
    assert found.creation_date == dt.datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("count", [2, 3, 4, 5])
async def test_search_and_conjunction_of_two_to_five(
    fake: FakeQualtrics, client: QualtricsClient, people: dict[str, str], count: int
) -> None:
    criteria = [
        F.last_name.neq("stone"),
        F.phone.neq("+15550102"),
        F.created.lt(dt.date(2024, 6, 1)),
        F.in_list(fake.default_mailing_list_id),
        F.language.eq("en"),
    ][:count]
    fake.clear_requests()
    assert await _search_ids(client, F.all_of(*criteria)) == {people["ann"]}
    (sent,) = fake.requests(method="POST", path="/API/v3/directories/*/contacts/search")
    assert sent.json["filter"]["conjunction"] == "and"
    assert len(sent.json["filter"]["filters"]) == count


async def test_search_conjunction_narrows_to_nothing(
    client: QualtricsClient, people: dict[str, str]
) -> None:
    assert (
        await _search_ids(client, F.all_of(F.email.eq("bob@example.com"), F.language.eq("EN")))
        == set()
    )


async def test_search_with_six_criteria_is_refused_before_any_request(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.clear_requests()
    with pytest.raises(ValidationError, match="at most 5"):
        F.all_of(*(F.email.neq(f"x{i}@example.com") for i in range(6)))
    assert fake.requests() == []


async def test_raw_six_filter_dict_is_refused_by_qualtrics(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    raw = {
        "conjunction": "and",
        "filters": [
            {"filterType": "email", "comparison": "neq", "value": f"x{i}@example.com"}
            for i in range(6)
        ],
    }
    with pytest.raises(BadRequestError):
        await client.contacts.search(POOL, raw).collect()


# --- dedup-upsert ---------------------------------------------------------------------------------


async def test_upsert_twice_gives_one_contact(fake: FakeQualtrics, client: QualtricsClient) -> None:
    first = await client.contacts.upsert(POOL, email="new@example.com", first_name="New")
    second = await client.contacts.upsert(POOL, email="NEW@example.com", first_name="Renamed")
    assert (first.created, second.created) == (True, False)
    assert second.id == first.id
    assert not second.updated
    (record,) = fake.contacts()
    assert record.id == first.id
    assert record.first_name == "New"  # update=False leaves the found contact alone


async def test_upsert_with_update_updates_non_identity_fields(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    contact_id = fake.add_contact(email="ann@example.com", ext_ref="u-1", first_name="Ann")
    fake.clear_requests()
    result = await client.contacts.upsert(
        POOL,
        ext_ref="u-1",
        email="ann@example.com",
        first_name="Annie",
        embedded_data={"tier": "vip"},
        update=True,
    )
    assert (result.id, result.created, result.updated) == (contact_id, False, True)
    (search,) = fake.requests(method="POST", path="/API/v3/directories/*/contacts/search")
    assert search.json == {
        "filter": {
            "conjunction": "and",
            "filters": [
                {"filterType": "extRef", "comparison": "eq", "value": "u-1"},
                {"filterType": "email", "comparison": "eq", "value": "ann@example.com"},
            ],
        }
    }
    (put,) = fake.requests(method="PUT")
    assert put.json == {"firstName": "Annie", "embeddedData": {"tier": "vip"}}
    record = fake.get_contact(contact_id)
    assert record.first_name == "Annie"
    assert record.embedded_data == {"tier": "vip"}
    assert len(fake.contacts()) == 1


async def test_upsert_with_duplicate_contacts_is_ambiguous(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    first = fake.add_contact(email="dup@example.com")
    second = fake.add_contact(email="DUP@example.com")
    fake.clear_requests()
    with pytest.raises(AmbiguousContactError) as caught:
        await client.contacts.upsert(POOL, email="dup@example.com", first_name="X", update=True)
    assert set(caught.value.candidate_ids) == {first, second}
    assert caught.value.directory_id == POOL
    # Nothing was created or changed: only the search went out.
    assert [request.method for request in fake.requests()] == ["POST"]
    assert len(fake.contacts()) == 2


async def test_upsert_without_identity_is_refused_before_any_request(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.clear_requests()
    with pytest.raises(ValidationError):
        await client.contacts.upsert(POOL, first_name="Nobody")
    assert fake.requests() == []


async def test_create_is_merged_by_directory_dedup(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    existing = fake.add_contact(email="ann@example.com", first_name="Ann")
    created = await client.contacts.create(POOL, email="ann@example.com", last_name="Lee")
    assert created.id == existing
    (record,) = fake.contacts()
    assert (record.first_name, record.last_name) == ("Ann", "Lee")


# --- pagination -----------------------------------------------------------------------------------


async def test_list_pages_through_1050_contacts(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    seeded = fake.add_contacts({"email": f"user{i}@example.com"} for i in range(1_050))
    fake.clear_requests()
    pages = [page async for page in client.contacts.list(POOL).pages()]
    ids = [contact.id for page in pages for contact in page.items]
    assert ids == seeded  # every id, once, in the directory's order
    assert [len(page.items) for page in pages] == [100] * 10 + [50]
    assert pages[-1].cursor is None
    requests = fake.requests(method="GET", path=f"/API/v3/directories/{POOL}/contacts")
    assert len(requests) == 11
    assert all(request.query.get("useNewPaginationScheme") == "true" for request in requests)
    assert "skipToken" not in requests[0].query
    assert all(request.query.get("skipToken") for request in requests[1:])


async def test_list_with_page_size(fake: FakeQualtrics, client: QualtricsClient) -> None:
    seeded = fake.add_contacts({"email": f"user{i}@example.com"} for i in range(1_050))
    fake.clear_requests()
    ids = [contact.id async for contact in client.contacts.list(POOL, page_size=500)]
    assert ids == seeded
    assert len(fake.requests(method="GET")) == 3


async def test_search_follows_skip_tokens(fake: FakeQualtrics, client: QualtricsClient) -> None:
    matching = fake.add_contacts(
        {"email": f"u{i}@example.com", "language": "EN"} for i in range(250)
    )
    fake.add_contacts({"email": f"o{i}@example.com", "language": "DE"} for i in range(30))
    fake.clear_requests()
    ids = [contact.id async for contact in client.contacts.search(POOL, F.language.eq("en"))]
    assert sorted(ids) == sorted(matching)
    assert len(ids) == len(set(ids))
    searches = fake.requests(method="POST", path=f"/API/v3/directories/{POOL}/contacts/search")
    assert len(searches) == 3
    assert "skipToken" not in searches[0].query
    assert all(request.query.get("skipToken") for request in searches[1:])
    # Every page re-POSTs the same body.
    assert all(request.json == searches[0].json for request in searches)
