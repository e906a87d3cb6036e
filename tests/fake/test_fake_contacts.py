"""Directory contacts: shapes per endpoint (list / get / search), validation and deduplication."""

from __future__ import annotations

import datetime as dt

import pytest
from fakewire import D, Raw, assert_error

from qualtrics_sdk.testing import ContactRecord, FakeQualtrics

PETER = {
    "firstName": "Peter",
    "lastName": "Gibbons",
    "email": "peter@example.com",
    "phone": "+15550100",
    "extRef": "97980cfea0067",
    "language": "EN",
    "unsubscribed": False,
    "embeddedData": {"plan": "premium", "logins": 5, "vip": True, "score": 12.5},
}


async def test_list_get_and_search_use_their_own_field_names(raw: Raw) -> None:
    created = await raw.post(f"{D}/contacts", PETER)
    contact_id = created.result["id"]
    assert contact_id.startswith("CID_")
    assert len(contact_id) == 19

    (listed,) = (await raw.get(f"{D}/contacts")).result["elements"]
    assert listed == {
        "contactId": contact_id,
        "firstName": "Peter",
        "lastName": "Gibbons",
        "email": "peter@example.com",
        "phone": "+15550100",
        "extRef": "97980cfea0067",
        "language": "EN",
        "unsubscribed": False,
    }

    got = (await raw.get(f"{D}/contacts/{contact_id}")).result
    assert got["contactId"] == contact_id
    assert got["extRef"] == "97980cfea0067"
    assert got["phone"] == "+15550100"
    assert got["emailDomain"] == "example.com"
    assert isinstance(got["creationDate"], int)
    assert isinstance(got["lastModified"], int)
    assert got["embeddedData"] == {"plan": "premium", "logins": "5", "vip": "true", "score": "12.5"}
    assert got["directoryUnsubscribed"] is False
    assert got["mailingListMembership"] == {}
    assert "segmentMembership" not in got
    assert "id" not in got

    search = await raw.post(
        f"{D}/contacts/search",
        {"filter": {"filterType": "email", "comparison": "eq", "value": "peter@example.com"}},
    )
    (found,) = search.result["elements"]
    assert found["id"] == contact_id
    assert found["phoneNumber"] == "+15550100"
    assert found["externalDataReference"] == "97980cfea0067"
    assert isinstance(found["creationDate"], str)
    assert dt.datetime.strptime(found["creationDate"], "%Y-%m-%dT%H:%M:%SZ")
    for list_name in ("contactId", "phone", "extRef"):
        assert list_name not in found
    assert "embeddedData" not in found


async def test_search_include_embedded_and_segments(raw: Raw) -> None:
    await raw.post(f"{D}/contacts", PETER)
    body = {"filter": {"filterType": "extRef", "comparison": "eq", "value": "97980cfea0067"}}
    answer = await raw.post(
        f"{D}/contacts/search", body, params={"includeEmbedded": "true", "includeSegments": "true"}
    )
    (found,) = answer.result["elements"]
    assert found["embeddedData"]["logins"] == "5"
    assert found["segmentMembership"] == {}


async def test_get_include_segments(raw: Raw) -> None:
    contact_id = (await raw.post(f"{D}/contacts", PETER)).result["id"]
    got = await raw.get(f"{D}/contacts/{contact_id}", params={"includeSegments": "true"})
    assert got.result["segmentMembership"] == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": None}, "Invalid value null for key email; omit the key instead."),
        ({"contactLookupId": "CGC_1"}, "Unexpected json key provided: contactLookupId"),
        ({"privateEmbeddedData": {}}, "Unexpected json key provided: privateEmbeddedData"),
        ({"firstName": 5}, "Invalid value for key firstName: expected a string."),
        ({"unsubscribed": "no"}, "Invalid value for key unsubscribed: expected true or false."),
        (
            {"embeddedData": {"nested": {"a": 1}}},
            "Invalid value for embeddedData key 'nested': values must be strings, numbers or "
            "booleans, not objects or arrays.",
        ),
        (
            {"embeddedData": {"k": None}},
            "Invalid value null for embeddedData key 'k'; omit the key instead.",
        ),
        (["not", "an", "object"], "The request body must be a JSON object."),
    ],
)
async def test_create_rejects_bad_bodies(raw: Raw, body: object, message: str) -> None:
    assert_error(await raw.post(f"{D}/contacts", body), 400, message, "QVAL_1")


async def test_embedded_data_limits(raw: Raw) -> None:
    long_value = await raw.post(f"{D}/contacts", {"embeddedData": {"k": "x" * 1025}})
    assert_error(
        long_value, 400, "Value of embeddedData key 'k' exceeds 1024 characters.", "QVAL_1"
    )
    ok = await raw.post(f"{D}/contacts", {"embeddedData": {"k" * 200: "x" * 1024}})
    assert ok.status == 200
    long_name = await raw.post(f"{D}/contacts", {"embeddedData": {"k" * 201: "x"}})
    assert long_name.status == 400


async def test_update_patches_given_fields_and_merges_embedded_data(
    raw: Raw, fake: FakeQualtrics
) -> None:
    contact_id = (await raw.post(f"{D}/contacts", PETER)).result["id"]
    before = fake.get_contact(contact_id)
    fake.clock.advance(5)
    await raw.put(
        f"{D}/contacts/{contact_id}",
        {"lastName": "G.", "embeddedData": {"plan": "basic", "new": 1}},
    )
    after = fake.get_contact(contact_id)
    assert after.first_name == "Peter"
    assert after.last_name == "G."
    assert after.embedded_data == {
        "plan": "basic",
        "logins": "5",
        "vip": "true",
        "score": "12.5",
        "new": "1",
    }
    assert after.last_modified_ms > before.last_modified_ms
    assert after.creation_date_ms == before.creation_date_ms


async def test_update_rejects_unknown_keys_and_missing_contacts(raw: Raw) -> None:
    contact_id = (await raw.post(f"{D}/contacts", PETER)).result["id"]
    bad = await raw.put(f"{D}/contacts/{contact_id}", {"contactId": contact_id})
    assert_error(bad, 400, "Unexpected json key provided: contactId", "QVAL_1")
    missing = await raw.put(f"{D}/contacts/CID_nope", {"firstName": "x"})
    assert missing.status == 404


async def test_unsubscribe_through_update_sets_the_date(raw: Raw, fake: FakeQualtrics) -> None:
    contact_id = (await raw.post(f"{D}/contacts", PETER)).result["id"]
    await raw.put(f"{D}/contacts/{contact_id}", {"unsubscribed": True})
    got = (await raw.get(f"{D}/contacts/{contact_id}")).result
    assert got["directoryUnsubscribed"] is True
    assert isinstance(got["directoryUnsubscribeDate"], int)
    opted = (await raw.get(f"{D}/contacts/optedOutContacts")).result["elements"]
    assert [c["contactId"] for c in opted] == [contact_id]
    assert isinstance(opted[0]["directoryUnsubscribeDate"], str)


async def test_delete_removes_contact_memberships_and_transactions(
    raw: Raw, fake: FakeQualtrics
) -> None:
    contact_id = fake.add_contact(
        email="a@example.com", mailing_list_id=fake.default_mailing_list_id
    )
    fake.add_transaction(contact_id, data={"k": "v"})
    await raw.delete(f"{D}/contacts/{contact_id}")
    assert fake.contacts() == []
    assert fake.memberships() == []
    assert fake.transactions() == []
    assert (await raw.get(f"{D}/contacts/{contact_id}")).status == 404
    assert (await raw.delete(f"{D}/contacts/{contact_id}")).status == 404


# -- deduplication -----------------------------------------------------------------------------


async def test_default_directory_dedups_on_email_then_ext_ref(
    raw: Raw, fake: FakeQualtrics
) -> None:
    (directory,) = fake.directories()
    assert directory.dedup_rules == (("email",), ("extRef",))
    first = (
        await raw.post(f"{D}/contacts", {"email": "Peter@Example.com", "firstName": "P"})
    ).result
    again = (
        await raw.post(f"{D}/contacts", {"email": " peter@example.COM ", "lastName": "G"})
    ).result
    assert again == first
    merged = fake.get_contact(first["id"])
    assert (merged.first_name, merged.last_name) == ("P", "G")
    by_ext_ref = (await raw.post(f"{D}/contacts", {"extRef": "u1"})).result
    assert by_ext_ref != first
    assert (
        await raw.post(f"{D}/contacts", {"extRef": "u1", "email": "new@example.com"})
    ).result == by_ext_ref
    assert len(fake.contacts()) == 2


async def test_a_contact_without_dedup_fields_is_always_new(raw: Raw, fake: FakeQualtrics) -> None:
    one = (await raw.post(f"{D}/contacts", {"firstName": "Ann"})).result["id"]
    two = (await raw.post(f"{D}/contacts", {"firstName": "Ann"})).result["id"]
    assert one != two


async def test_dedup_off_creates_duplicates(raw: Raw, fake: FakeQualtrics) -> None:
    fake.set_dedup("POOL_DEFAULT")
    one = (await raw.post(f"{D}/contacts", {"email": "a@example.com"})).result["id"]
    two = (await raw.post(f"{D}/contacts", {"email": "a@example.com"})).result["id"]
    assert one != two
    assert [c.id for c in fake.find_contacts(email="A@example.com")] == [one, two]
    directories = (await raw.get("/API/v3/directories")).result["elements"]
    assert directories[0]["deduplicationCriteria"] == {
        "email": False,
        "firstName": False,
        "lastName": False,
        "externalDataReference": False,
        "phone": False,
    }


async def test_multi_field_rule_needs_every_field_to_match(raw: Raw, fake: FakeQualtrics) -> None:
    fake.set_dedup("POOL_DEFAULT", ("firstName", "lastName"), "phone")
    base = (await raw.post(f"{D}/contacts", {"firstName": "Ann", "lastName": "Lee"})).result["id"]
    same = (
        await raw.post(f"{D}/contacts", {"firstName": "ann", "lastName": "LEE", "phone": "1"})
    ).result
    assert same["id"] == base
    other = (await raw.post(f"{D}/contacts", {"firstName": "Ann", "lastName": "Kim"})).result
    assert other["id"] != base
    by_phone = (await raw.post(f"{D}/contacts", {"firstName": "Bob", "phone": "1"})).result
    assert by_phone["id"] == base


async def test_dedup_rule_validation(fake: FakeQualtrics) -> None:
    with pytest.raises(ValueError, match="Unknown dedup field"):
        fake.set_dedup("POOL_DEFAULT", "emailAddress")
    with pytest.raises(ValueError, match="at most 3"):
        fake.set_dedup("POOL_DEFAULT", "email", "phone", "extRef", "firstName")
    with pytest.raises(KeyError):
        fake.set_dedup("POOL_missing", "email")


async def test_directories_list_shape_and_seeded_directory(raw: Raw, fake: FakeQualtrics) -> None:
    other = fake.add_directory("Second", dedup=["phone"])
    fake.add_contact(directory_id=other, phone="1")
    answer = await raw.get("/API/v3/directories")
    elements = answer.result["elements"]
    assert answer.result["nextPage"] is None
    assert elements[0] == {
        "directoryId": "POOL_DEFAULT",
        "name": "Default Directory",
        "contactCount": 0,
        "isDefault": True,
        "deduplicationCriteria": {
            "email": True,
            "firstName": False,
            "lastName": False,
            "externalDataReference": True,
            "phone": False,
        },
    }
    assert elements[1]["directoryId"] == other
    assert other.startswith("POOL_")
    assert elements[1]["contactCount"] == 1
    assert elements[1]["isDefault"] is False
    assert elements[1]["deduplicationCriteria"]["phone"] is True


async def test_directories_are_isolated(raw: Raw, fake: FakeQualtrics) -> None:
    other = fake.add_directory("Second")
    contact_id = fake.add_contact(email="a@example.com")
    assert (await raw.get(f"/API/v3/directories/{other}/contacts/{contact_id}")).status == 404


def test_seeding_validates_python_values() -> None:
    fake = FakeQualtrics()
    with pytest.raises(TypeError, match="Unknown contact field"):
        fake.add_contacts([{"mail": "x"}])
    with pytest.raises(TypeError, match="must be a str"):
        fake.add_contact(email=5)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        fake.add_contact(directory_id="POOL_missing")
    with pytest.raises(TypeError, match="timezone-aware"):
        fake.add_contact(created_at=dt.datetime(2024, 1, 1))


def test_seeding_inserts_without_dedup_and_keeps_order() -> None:
    fake = FakeQualtrics(seed=3)
    ids = fake.add_contacts(
        {"email": "same@example.com", "embedded_data": {"n": i}} for i in range(3)
    )
    assert len(set(ids)) == 3
    contacts = fake.contacts()
    assert [c.id for c in contacts] == ids
    assert isinstance(contacts[0], ContactRecord)
    assert [c.embedded_data["n"] for c in contacts] == ["0", "1", "2"]
    assert FakeQualtrics(seed=3).add_contacts([{}] * 3) == ids
