"""Envelope, error bodies, status codes, authentication, notices and request recording."""

from __future__ import annotations

import pytest
from fakewire import D, Raw, assert_error, assert_ok_meta

from qualtrics_sdk.testing import FakeQualtrics


async def test_whoami_envelope_is_result_plus_meta(raw: Raw, fake: FakeQualtrics) -> None:
    answer = await raw.get("/API/v3/whoami")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    assert set(answer.body) == {"result", "meta"}
    assert_ok_meta(answer.body)
    assert set(answer.result) == {
        "brandId",
        "userId",
        "userName",
        "accountType",
        "firstName",
        "lastName",
        "email",
        "datacenter",
    }
    assert answer.result["brandId"] == "fakebrand"
    assert answer.result["userId"].startswith("UR_")
    assert answer.result["userName"]


async def test_every_answer_has_its_own_request_id(raw: Raw) -> None:
    first = await raw.get("/API/v3/whoami")
    second = await raw.get("/API/v3/whoami")
    assert first.body["meta"]["requestId"] != second.body["meta"]["requestId"]


async def test_unknown_route_is_404_without_error_code_even_unauthenticated(raw: Raw) -> None:
    answer = await raw.get("/API/v3/doesnotexist", token=False)
    assert_error(answer, 404, "API call does not exist: GET /API/v3/doesnotexist")
    assert answer.body["meta"]["httpStatus"] == "404 - Not Found"


async def test_known_path_with_unsupported_method_is_404(raw: Raw) -> None:
    answer = await raw.call("PATCH", f"{D}/contacts")
    assert_error(answer, 404, f"API call does not exist: PATCH {D}/contacts")


async def test_no_credentials_is_400_atp_2_like_qualtrics(raw: Raw) -> None:
    answer = await raw.get("/API/v3/whoami", token=False)
    assert_error(answer, 400, "Expected authorization in headers, but none provided.", "ATP_2")
    assert answer.body["meta"]["httpStatus"] == "400 - Bad Request"


async def test_wrong_token_is_401_dcd_7(raw: Raw) -> None:
    answer = await raw.get("/API/v3/whoami", token=False, headers={"X-API-TOKEN": "nope"})
    assert_error(answer, 401, "Unrecognized X-API-TOKEN.", "DCD_7")
    assert answer.body["meta"]["httpStatus"] == "401 - Unauthorized"


async def test_token_header_name_is_case_insensitive(raw: Raw, fake: FakeQualtrics) -> None:
    answer = await raw.get("/API/v3/whoami", token=False, headers={"x-api-token": fake.api_token})
    assert answer.status == 200


async def test_unknown_bearer_token_is_401(raw: Raw) -> None:
    answer = await raw.get(
        "/API/v3/whoami", token=False, headers={"Authorization": "Bearer forged"}
    )
    assert_error(answer, 401, "Invalid or expired OAuth access token.", "DCD_7")


async def test_extra_and_revoked_api_tokens(raw: Raw, fake: FakeQualtrics) -> None:
    extra = fake.add_api_token()
    assert (
        await raw.get("/API/v3/whoami", token=False, headers={"X-API-TOKEN": extra})
    ).status == 200
    fake.revoke_api_token(extra)
    revoked = await raw.get("/API/v3/whoami", token=False, headers={"X-API-TOKEN": extra})
    assert revoked.status == 401


async def test_create_is_200_and_update_delete_are_meta_only(raw: Raw) -> None:
    created = await raw.post(f"{D}/contacts", {"email": "peter@example.com"})
    assert created.status == 200
    assert set(created.body) == {"result", "meta"}
    assert set(created.result) == {"id"}
    contact = f"{D}/contacts/{created.result['id']}"
    updated = await raw.put(contact, {"firstName": "Peter"})
    assert updated.status == 200
    assert set(updated.body) == {"meta"}
    assert_ok_meta(updated.body)
    deleted = await raw.delete(contact)
    assert deleted.status == 200
    assert set(deleted.body) == {"meta"}


async def test_missing_resource_is_404_in_qualtrics_shape(raw: Raw) -> None:
    answer = await raw.get(f"{D}/contacts/CID_missing")
    assert_error(answer, 404, "Contact CID_missing not found in directory POOL_DEFAULT.")
    unknown_directory = await raw.get("/API/v3/directories/POOL_nope/contacts")
    assert_error(unknown_directory, 404, "Directory POOL_nope not found.")


async def test_invalid_json_body_is_400(raw: Raw) -> None:
    answer = await raw.call(
        "POST", f"{D}/contacts", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(answer, 400, "The request body must be valid JSON.", "QVAL_1")


async def test_proxy_notice_is_added_to_success_and_error_meta(
    raw: Raw, fake: FakeQualtrics
) -> None:
    fake.proxy_notice = "sjc1.qualtrics.com"
    notice = "Request proxied. For faster response times, use this host instead: sjc1.qualtrics.com"
    ok = await raw.get("/API/v3/whoami")
    assert ok.body["meta"]["notice"] == notice
    failed = await raw.get(f"{D}/contacts/CID_missing")
    assert failed.body["meta"]["notice"] == notice
    fake.proxy_notice = None
    assert "notice" not in (await raw.get("/API/v3/whoami")).body["meta"]


async def test_requests_are_recorded_with_secrets_redacted(raw: Raw, fake: FakeQualtrics) -> None:
    await raw.post(
        f"{D}/contacts",
        {"email": "a@example.com"},
        params={"x": "1"},
        headers={"Authorization": "Basic c2VjcmV0"},
    )
    (recorded,) = fake.requests(method="POST", path="/API/v3/directories/*/contacts")
    assert recorded.method == "POST"
    assert recorded.path == f"{D}/contacts"
    assert recorded.query == {"x": "1"}
    assert recorded.json == {"email": "a@example.com"}
    assert recorded.headers["x-api-token"] == "***"
    assert recorded.headers["Authorization"] == "***"
    assert fake.api_token not in repr(recorded)
    assert recorded.status == 200
    assert recorded.fault is None
    assert recorded.body_size > 0


async def test_request_filters_and_clear(raw: Raw, fake: FakeQualtrics) -> None:
    await raw.get("/API/v3/whoami")
    await raw.get(f"{D}/contacts")
    await raw.post(f"{D}/contacts", {"email": "x@example.com"})
    assert [r.path for r in fake.requests(method="get")] == ["/API/v3/whoami", f"{D}/contacts"]
    assert len(fake.requests(path="/API/v3/**")) == 3
    assert fake.requests(path="/API/v3/*") == fake.requests(path="/API/v3/whoami")
    assert fake.stats.requests == 3
    fake.clear_requests()
    assert fake.requests() == []


async def test_recording_can_be_turned_off(raw: Raw, fake: FakeQualtrics) -> None:
    fake.record_requests = False
    await raw.get("/API/v3/whoami")
    assert fake.requests() == []
    assert fake.stats.requests == 1


def test_base_url_needs_a_running_fake() -> None:
    fake = FakeQualtrics()
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url
    assert "not started" in repr(fake)
    assert fake.api_token not in repr(fake)
