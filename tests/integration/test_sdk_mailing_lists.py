"""Integration: mailing lists and mailing-list contacts through the SDK against the fake server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from qualtrics_sdk import NotFoundError, QualtricsClient, RetryPolicy, ValidationError
from qualtrics_sdk.testing import FakeQualtrics

POOL = "POOL_DEFAULT"
FAST_RETRIES = RetryPolicy(max_retries=3, initial_delay=0.01, max_retry_after=0.05)


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    async with FakeQualtrics(seed=11) as server:
        yield server


@pytest.fixture
async def client(fake: FakeQualtrics) -> AsyncIterator[QualtricsClient]:
    async with fake.client(retry_policy=FAST_RETRIES) as sdk_client:
        yield sdk_client


async def test_mailing_list_create_list_get_update_delete(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    created = await client.mailing_lists.create(POOL, name="Customers")
    by_id = {record.id: record for record in fake.mailing_lists()}
    assert by_id[created.id].name == "Customers"
    assert set(by_id) == {fake.default_mailing_list_id, created.id}

    fake.add_contacts(
        ({"email": f"c{i}@example.com"} for i in range(3)), mailing_list_id=created.id
    )

    listed = {ml.id: ml async for ml in client.mailing_lists.list(POOL, include_count=True)}
    assert set(listed) == {fake.default_mailing_list_id, created.id}
    assert listed[created.id].name == "Customers"
    assert listed[created.id].contact_count == 3
    assert listed[fake.default_mailing_list_id].contact_count == 0
    (listing,) = fake.requests(method="GET", path=f"/API/v3/directories/{POOL}/mailinglists")
    assert listing.query.get("includeCount") == "true"

    got = await client.mailing_lists.get(POOL, created.id, include_count=True)
    assert (got.id, got.name, got.contact_count) == (created.id, "Customers", 3)
    assert got.creation_date is not None

    await client.mailing_lists.update(POOL, created.id, name="VIP customers")
    (put,) = fake.requests(method="PUT")
    assert put.json == {"name": "VIP customers"}
    assert {ml.id: ml.name for ml in fake.mailing_lists()}[created.id] == "VIP customers"

    await client.mailing_lists.delete(POOL, created.id)
    assert [ml.id for ml in fake.mailing_lists()] == [fake.default_mailing_list_id]
    with pytest.raises(NotFoundError):
        await client.mailing_lists.get(POOL, created.id)


async def test_mailing_list_create_with_empty_name_is_refused_before_any_request(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.clear_requests()
    with pytest.raises(ValidationError):
        await client.mailing_lists.create(POOL, name="")
    assert fake.requests() == []


async def test_member_add_list_get_update_delete(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    list_id = fake.add_mailing_list("Members")
    other_list = fake.default_mailing_list_id

    added = await client.mailing_lists.contacts.create(
        POOL,
        list_id,
        first_name="Ann",
        email="ann@example.com",
        embedded_data={"plan": "gold"},
        private_embedded_data={"source": "web"},
    )
    assert added.contact_lookup_id is not None
    assert added.contact_lookup_id.startswith("CGC_")
    record = fake.get_contact(added.id)  # created in the directory too
    assert (record.first_name, record.email) == ("Ann", "ann@example.com")
    (membership,) = fake.memberships(list_id)
    assert membership.contact_id == added.id
    assert dict(membership.private_embedded_data) == {"source": "web"}
    fake.add_to_mailing_list(added.id, other_list)

    other = fake.add_contact(email="bob@example.com", mailing_list_id=list_id)
    members = {m.id: m async for m in client.mailing_lists.contacts.list(POOL, list_id)}
    assert set(members) == {added.id, other}
    assert members[added.id].contact_lookup_id == added.contact_lookup_id
    assert members[added.id].email == "ann@example.com"

    got = await client.mailing_lists.contacts.get(POOL, list_id, added.id)
    assert got.id == added.id
    assert got.embedded_data == {"plan": "gold"}
    assert got.private_embedded_data == {"source": "web"}
    assert got.mailing_list_unsubscribed is False

    await client.mailing_lists.contacts.update(
        POOL, list_id, added.id, last_name="Lee", private_embedded_data={"source": "app"}
    )
    assert fake.get_contact(added.id).last_name == "Lee"
    (membership,) = [m for m in fake.memberships(list_id) if m.contact_id == added.id]
    assert dict(membership.private_embedded_data) == {"source": "app"}

    await client.mailing_lists.contacts.delete(POOL, list_id, added.id)
    # Removed from this list only: still in the directory and in its other list.
    assert [m.contact_id for m in fake.memberships(list_id)] == [other]
    assert fake.get_contact(added.id).email == "ann@example.com"
    assert [m.contact_id for m in fake.memberships(other_list)] == [added.id]
    with pytest.raises(NotFoundError):
        await client.mailing_lists.contacts.get(POOL, list_id, added.id)
    remaining = [m.id async for m in client.mailing_lists.contacts.list(POOL, list_id)]
    assert remaining == [other]


async def test_member_listing_pages_at_fifty(fake: FakeQualtrics, client: QualtricsClient) -> None:
    list_id = fake.add_mailing_list("Big")
    seeded = fake.add_contacts(
        ({"email": f"m{i}@example.com"} for i in range(120)), mailing_list_id=list_id
    )
    fake.clear_requests()
    ids = [m.id async for m in client.mailing_lists.contacts.list(POOL, list_id)]
    assert sorted(ids) == sorted(seeded)
    assert len(fake.requests(method="GET")) == 3
    with pytest.raises(ValidationError):
        client.mailing_lists.contacts.list(POOL, list_id, page_size=51)


async def test_bounced_and_opted_out_listings(fake: FakeQualtrics, client: QualtricsClient) -> None:
    list_id = fake.add_mailing_list("Newsletter")
    ok, bounced, opted_out = fake.add_contacts(
        [{"email": "ok@example.com"}, {"email": "bad@example.com"}, {"email": "out@example.com"}]
    )
    fake.add_to_mailing_list(ok, list_id)
    fake.add_to_mailing_list(bounced, list_id, bounced=True)
    fake.add_to_mailing_list(opted_out, list_id, unsubscribed=True)

    bounced_ids = [m.id async for m in client.mailing_lists.contacts.list_bounced(POOL, list_id)]
    opted_ids = [m.id async for m in client.mailing_lists.contacts.list_opted_out(POOL, list_id)]
    assert bounced_ids == [bounced]
    assert opted_ids == [opted_out]


async def test_member_opt_out_through_update(fake: FakeQualtrics, client: QualtricsClient) -> None:
    list_id = fake.add_mailing_list("Newsletter")
    contact_id = fake.add_contact(email="ann@example.com", mailing_list_id=list_id)
    await client.mailing_lists.contacts.update(POOL, list_id, contact_id, unsubscribed=True)
    (membership,) = fake.memberships(list_id)
    assert membership.unsubscribed is True
    opted = [m.id async for m in client.mailing_lists.contacts.list_opted_out(POOL, list_id)]
    assert opted == [contact_id]
