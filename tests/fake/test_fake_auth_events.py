"""OAuth client credentials (expiring bearer tokens) and Workflows JSON-event triggers."""

from __future__ import annotations

import base64
import json

import aiohttp
import pytest
from fakewire import Raw, assert_error

from qualtrics_sdk.testing import FakeQualtrics, TriggerEventRecord


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


async def token_request(
    raw: Raw, authorization: str | None, form: dict[str, str]
) -> tuple[int, dict[str, object]]:
    headers = {"Authorization": authorization} if authorization else {}
    answer = await raw.call("POST", "/oauth2/token", data=form, headers=headers, token=False)
    return answer.status, answer.body


# -- OAuth -------------------------------------------------------------------------------------


async def test_client_credentials_grant_and_bearer_use(raw: Raw, fake: FakeQualtrics) -> None:
    fake.add_oauth_client("cid", "s3cret", scopes=["read:directories", "manage:directory_contacts"])
    status, body = await token_request(
        raw,
        basic("cid", "s3cret"),
        {"grant_type": "client_credentials", "scope": "read:directories"},
    )
    assert status == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read:directories"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    whoami = await raw.get("/API/v3/whoami", token=False, headers=bearer)
    assert whoami.status == 200
    (grant,) = fake.oauth_grants()
    assert (grant.client_id, grant.scopes) == ("cid", ("read:directories",))
    assert fake.stats.oauth_grants == 1
    (recorded,) = fake.requests(path="/oauth2/token")
    assert recorded.headers["Authorization"] == "***"
    assert recorded.form == {"grant_type": "client_credentials", "scope": "read:directories"}


async def test_bearer_tokens_expire_on_the_fake_clock(raw: Raw, fake: FakeQualtrics) -> None:
    fake.add_oauth_client("cid", "s3cret")
    fake.oauth_token_lifetime = 60
    _, body = await token_request(raw, basic("cid", "s3cret"), {"grant_type": "client_credentials"})
    assert body["expires_in"] == 60
    assert body["scope"] == "manage:all"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    fake.clock.advance(59)
    assert (await raw.get("/API/v3/whoami", token=False, headers=bearer)).status == 200
    fake.clock.advance(1)
    expired = await raw.get("/API/v3/whoami", token=False, headers=bearer)
    assert_error(expired, 401, "Invalid or expired OAuth access token.", "DCD_7")


async def test_multipart_form_and_body_credentials_are_accepted(
    raw: Raw, fake: FakeQualtrics
) -> None:
    fake.add_oauth_client("cid", "s3cret")
    form = aiohttp.FormData()
    form.add_field("grant_type", "client_credentials")
    form.add_field("scope", "manage:all")
    form.add_field("client_id", "cid")
    form.add_field("client_secret", "s3cret")
    answer = await raw.call("POST", "/oauth2/token", data=form, token=False)
    assert answer.status == 200
    (recorded,) = fake.requests(path="/oauth2/token")
    assert recorded.form is not None
    assert recorded.form["client_secret"] == "***"


@pytest.mark.parametrize(
    ("authorization", "form", "status", "error"),
    [
        (basic("cid", "wrong"), {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (basic("nobody", "s3cret"), {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (None, {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (basic("cid", "s3cret"), {"grant_type": "password"}, 400, "unsupported_grant_type"),
        (basic("cid", "s3cret"), {}, 400, "invalid_request"),
        (
            basic("cid", "s3cret"),
            {"grant_type": "client_credentials", "scope": "read:directories manage:users"},
            400,
            "invalid_scope",
        ),
    ],
)
async def test_token_errors_are_standard_oauth_errors(
    raw: Raw,
    fake: FakeQualtrics,
    authorization: str | None,
    form: dict[str, str],
    status: int,
    error: str,
) -> None:
    fake.add_oauth_client("cid", "s3cret", scopes=["read:directories"])
    got_status, body = await token_request(raw, authorization, form)
    assert got_status == status
    assert body["error"] == error
    assert set(body) == {"error", "error_description"}
    assert fake.oauth_grants() == []


async def test_several_scopes_space_or_comma_separated(raw: Raw, fake: FakeQualtrics) -> None:
    fake.add_oauth_client("cid", "s3cret", scopes=["a:x", "b:y"])
    for scope in ("a:x b:y", "a:x,b:y"):
        status, body = await token_request(
            raw, basic("cid", "s3cret"), {"grant_type": "client_credentials", "scope": scope}
        )
        assert status == 200
        assert body["scope"] == "a:x b:y"
    assert fake.stats.oauth_grants == 2


# -- JSON-event triggers -----------------------------------------------------------------------


async def test_trigger_records_the_event_and_answers_202_meta(
    raw: Raw, fake: FakeQualtrics
) -> None:
    url = fake.add_workflow_trigger()
    prefix = f"{fake.base_url}/inbound-event/v1/events/json/triggers?urlTokenId="
    assert url.startswith(prefix)
    payload = {"event": "Order Completed", "properties": {"revenue": 12.5}}
    answer = await raw.post(url, payload)
    assert answer.status == 202
    assert set(answer.body) == {"meta"}
    assert answer.body["meta"]["httpStatus"] == "202 - Accepted"
    (event,) = fake.trigger_events(url)
    assert isinstance(event, TriggerEventRecord)
    assert event.payload == payload
    assert event.auth == "token"
    assert event.url_token_id == url.removeprefix(prefix)
    assert event.headers["X-API-TOKEN"] == "***"
    assert fake.trigger_events(event.url_token_id) == [event]
    other = fake.add_workflow_trigger()
    assert fake.trigger_events(other) == []
    assert fake.stats.trigger_events == 1


async def test_trigger_accepts_modified_basic_auth(raw: Raw, fake: FakeQualtrics) -> None:
    url = fake.add_workflow_trigger(auth="basic")
    answer = await raw.post(
        url, {"a": 1}, token=False, headers={"Authorization": basic("me@x.com", fake.api_token)}
    )
    assert answer.status == 202
    (event,) = fake.trigger_events()
    assert (event.auth, event.username) == ("basic", "me@x.com")
    wrong = await raw.post(
        url, {"a": 1}, token=False, headers={"Authorization": basic("me", "bad")}
    )
    assert_error(wrong, 401, "Invalid username or API token.", "DCD_7")
    token_only = await raw.post(url, {"a": 1})
    assert_error(
        token_only, 401, "This trigger requires Basic username:token authentication.", "ATP_2"
    )


async def test_token_only_trigger_refuses_basic(raw: Raw, fake: FakeQualtrics) -> None:
    url = fake.add_workflow_trigger(auth="token")
    answer = await raw.post(
        url, {"a": 1}, token=False, headers={"Authorization": basic("u", fake.api_token)}
    )
    assert_error(answer, 401, "This trigger requires X-API-TOKEN authentication.", "ATP_2")
    bad_token = await raw.post(url, {"a": 1}, token=False, headers={"X-API-TOKEN": "nope"})
    assert_error(bad_token, 401, "Unrecognized X-API-TOKEN.", "DCD_7")


async def test_trigger_without_auth_accepts_anonymous_events(raw: Raw, fake: FakeQualtrics) -> None:
    url = fake.add_workflow_trigger(auth="none")
    assert (await raw.post(url, {"a": 1}, token=False)).status == 202
    assert fake.trigger_events()[0].auth == "none"


@pytest.mark.parametrize("mode", ["required", "token", "basic", "none"])
async def test_trigger_refuses_oauth_bearer_tokens(
    raw: Raw, fake: FakeQualtrics, mode: str
) -> None:
    url = fake.add_workflow_trigger(auth=mode)
    answer = await raw.post(url, {"a": 1}, token=False, headers={"Authorization": "Bearer abc"})
    assert_error(
        answer,
        401,
        "OAuth and other forms of authentication are incompatible with JSON events.",
        "DCD_7",
    )
    assert fake.trigger_events() == []


async def test_required_trigger_without_credentials_is_401(raw: Raw, fake: FakeQualtrics) -> None:
    url = fake.add_workflow_trigger()
    answer = await raw.post(url, {"a": 1}, token=False)
    assert_error(
        answer,
        401,
        "This trigger requires X-API-TOKEN or Basic username:token authentication.",
        "ATP_2",
    )


async def test_trigger_payload_limit_is_100_kb(raw: Raw, fake: FakeQualtrics) -> None:
    url = fake.add_workflow_trigger()
    overhead = len(json.dumps({"p": ""}).encode())
    at_limit = json.dumps({"p": "x" * (102_400 - overhead)}).encode()
    assert len(at_limit) == 102_400
    headers = {"Content-Type": "application/json"}
    assert (await raw.call("POST", url, data=at_limit, headers=headers)).status == 202
    too_big = await raw.call("POST", url, data=at_limit[:-2] + b'x"}', headers=headers)
    assert_error(too_big, 413, "Payloads exceeding 100 KB are not accepted by JSON events.")
    assert len(fake.trigger_events()) == 1


async def test_trigger_errors(raw: Raw, fake: FakeQualtrics) -> None:
    url = fake.add_workflow_trigger()
    not_json = await raw.call(
        "POST", url, data=b"<xml/>", headers={"Content-Type": "application/xml"}
    )
    assert_error(not_json, 400, "The request body must be valid JSON.", "QVAL_1")
    unknown = await raw.post(
        url.split("?")[0] + "?urlTokenId=00000000-0000-4000-8000-000000000000", {}
    )
    assert unknown.status == 404
    with pytest.raises(ValueError, match="auth must be one of"):
        fake.add_workflow_trigger(auth="oauth")
