"""client.workflows: JSON-event triggers (URL safety, auth, limits) and experimental management."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aioresponses import aioresponses

from qualtrics_sdk import (
    AuthenticationError,
    ConfigurationError,
    OAuthClientCredentials,
    QualtricsClient,
    QualtricsError,
    RequestEvent,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    TriggerResult,
    UnsafeURLError,
    ValidationError,
    Workflow,
)

TOKEN = "tok-SECRET-4242"
TRIGGER = (
    "https://iad1.qualtrics.com/inbound-event/v1/events/json/triggers"
    "?urlTokenId=2f0c1a2b-0000-4000-8000-000000000000"
)
EVENT = {"event": "Order Completed", "type": "track", "userId": "97980cfea0067"}
API = "https://iad1.qualtrics.com/API/v3"
META = {"httpStatus": "200 - OK", "requestId": "req-1"}


def calls(m: aioresponses) -> list[tuple[str, str, Any, Any]]:
    """(method, url, headers, raw body) of every request made."""
    return [
        (method, str(url), call.kwargs.get("headers"), call.kwargs.get("data"))
        for (method, url), recorded in m.requests.items()
        for call in recorded
    ]


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    policy = RetryPolicy(max_retries=2, initial_delay=0)
    async with QualtricsClient(api_token=TOKEN, datacenter="iad1", retry_policy=policy) as c:
        yield c


# --- trigger_event: what is sent -----------------------------------------------------------------


async def test_token_auth_posts_the_event_verbatim(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRIGGER, status=202, payload={})
        result = await client.workflows.trigger_event(TRIGGER, EVENT)
    ((method, url, headers, body),) = calls(m)
    assert (method, url) == ("POST", TRIGGER)
    assert json.loads(body) == EVENT
    assert headers["X-API-TOKEN"] == TOKEN
    assert headers["Content-Type"] == "application/json"
    assert "Authorization" not in headers
    assert result == TriggerResult(status=202, request_id=None, body={})


async def test_basic_auth_sends_username_and_token(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRIGGER, status=202, payload={})
        await client.workflows.trigger_event(
            TRIGGER, EVENT, auth="basic", username="me@example.com"
        )
    ((_, _, headers, _),) = calls(m)
    expected = base64.b64encode(f"me@example.com:{TOKEN}".encode()).decode()
    assert headers["Authorization"] == f"Basic {expected}"
    assert "X-API-TOKEN" not in headers


async def test_no_auth_sends_no_credentials(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRIGGER, status=202, payload={})
        await client.workflows.trigger_event(TRIGGER, EVENT, auth="none")
    ((_, _, headers, _),) = calls(m)
    assert "X-API-TOKEN" not in headers
    assert "Authorization" not in headers


@pytest.mark.parametrize(
    ("reply", "request_id", "body"),
    [
        ({"status": 200, "payload": {"meta": META}}, "req-1", {"meta": META}),
        ({"status": 202, "body": ""}, None, None),
        ({"status": 202, "body": "Accepted", "content_type": "text/plain"}, None, "Accepted"),
    ],
)
async def test_any_2xx_body_is_accepted(
    client: QualtricsClient, reply: dict[str, Any], request_id: str | None, body: Any
) -> None:
    with aioresponses() as m:
        m.post(TRIGGER, **reply)
        result = await client.workflows.trigger_event(TRIGGER, EVENT)
    assert (result.status, result.request_id, result.body) == (reply["status"], request_id, body)
    assert result.response_info is not None


async def test_hooks_see_the_call_with_secrets_redacted() -> None:
    events: list[RequestEvent] = []
    async with QualtricsClient(
        api_token=TOKEN, datacenter="iad1", on_request=[events.append]
    ) as client:
        with aioresponses() as m:
            m.post(TRIGGER, status=202, payload={})
            await client.workflows.trigger_event(TRIGGER, EVENT)
    (event,) = events
    assert event.headers["X-API-TOKEN"] == "***"
    assert "urlTokenId=***" in event.url
    assert TOKEN not in repr(event)


async def test_the_url_is_sent_without_re_encoding() -> None:
    url = (
        "https://syd1.qualtrics.com/inbound-event/v1/events/JSON/triggers"
        "?contextId=SV_1&userId=UR_1&brandId=a%7Eb&triggerId=OC_2"
    )
    events: list[RequestEvent] = []
    async with QualtricsClient(
        api_token=TOKEN, datacenter="iad1", on_request=[events.append]
    ) as client:
        with aioresponses() as m:
            m.post(url, status=202, payload={})
            await client.workflows.trigger_event(url, EVENT)
    assert [event.url for event in events] == [url]  # "%7E" is not rewritten to "~"


# --- trigger_event: refused before anything is sent ----------------------------------------------

UNSAFE_URLS = [
    "http://iad1.qualtrics.com/inbound-event/v1/events/json/triggers",
    "https://hooks.example.com/inbound-event",
    "https://qualtrics.com.evil.example/x",
    "https://evilqualtrics.com/x",
    "https://iad1.qualtrics.com@evil.example/x",
    "https://iad1.qualtrics.com:pw@evil.example/x",
    "https://@iad1.qualtrics.com/x",
    "https://iad1.qualtrics.com.evil.example/",
    "https://qualtrics.com/x",
    "https://1.2.3.4/x",
    "https://127.0.0.1/x",
    "https://[::1]/x",
    "https://2130706433/x",
    "https://iad1.qualtrics.com:8443/x",
    "https://evil.example\\@iad1.qualtrics.com/",
    "https://evil.example#@iad1.qualtrics.com/",
    " https://iad1.qualtrics.com/x",
    "https://iad1.qualtrics.com/x\r\nX-Injected: 1",
    "https://iad1.\uff51ualtrics.com/x",  # full-width "q" that IDNA would turn into a plain "q"
    "ftp://iad1.qualtrics.com/x",
    "//iad1.qualtrics.com/x",
    "iad1.qualtrics.com/x",
    "",
]


@pytest.mark.parametrize("url", UNSAFE_URLS)
@pytest.mark.parametrize("auth", ["token", "none"])
async def test_unsafe_urls_are_refused_without_sending(
    client: QualtricsClient, url: str, auth: Any
) -> None:
    with aioresponses() as m:
        with pytest.raises(UnsafeURLError) as info:
            await client.workflows.trigger_event(url, EVENT, auth=auth)
        assert calls(m) == []
    assert isinstance(info.value, QualtricsError)
    assert isinstance(info.value, ValueError)
    assert TOKEN not in str(info.value)


async def test_allow_foreign_host_sends_to_a_trusted_relay(client: QualtricsClient) -> None:
    relay = "http://relay.internal.example:8080/hooks/qualtrics?id=1"
    with aioresponses() as m:
        m.post(relay, status=200, payload={})
        await client.workflows.trigger_event(relay, EVENT, allow_foreign_host=True)
    ((_, url, headers, _),) = calls(m)
    assert url == relay
    assert headers["X-API-TOKEN"] == TOKEN


@pytest.mark.parametrize(
    "url", ["https://user:pw@relay.example/x", "ftp://relay.example/x", "https://relay.example/\n"]
)
async def test_allow_foreign_host_still_refuses_malformed_urls(
    client: QualtricsClient, url: str
) -> None:
    with aioresponses() as m:
        with pytest.raises(UnsafeURLError):
            await client.workflows.trigger_event(url, EVENT, allow_foreign_host=True)
        assert calls(m) == []


async def test_the_clients_own_base_url_is_allowed() -> None:
    async with QualtricsClient(api_token=TOKEN, base_url="http://127.0.0.1:8765") as client:
        with aioresponses() as m:
            m.post("http://127.0.0.1:8765/inbound-event/v1/events/json/triggers", status=202)
            await client.workflows.trigger_event(
                "http://127.0.0.1:8765/inbound-event/v1/events/json/triggers", EVENT
            )
            with pytest.raises(UnsafeURLError):
                await client.workflows.trigger_event("http://127.0.0.1:9999/x", EVENT)
        assert len(calls(m)) == 1


# --- trigger_event: credentials ------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["token", "basic"])
async def test_an_oauth_client_cannot_authenticate_a_json_event(auth: Any) -> None:
    credentials = OAuthClientCredentials("client-id", "client-secret-999")
    async with QualtricsClient(auth=credentials, datacenter="iad1") as client:
        with aioresponses() as m:
            with pytest.raises(ConfigurationError, match="OAuth") as info:
                await client.workflows.trigger_event(
                    TRIGGER, EVENT, auth=auth, username="me" if auth == "basic" else None
                )
            assert calls(m) == []
    assert "client-secret-999" not in str(info.value)


async def test_an_oauth_client_can_send_an_unauthenticated_event() -> None:
    credentials = OAuthClientCredentials("client-id", "client-secret-999")
    async with QualtricsClient(auth=credentials, datacenter="iad1") as client:
        with aioresponses() as m:
            m.post(TRIGGER, status=202, payload={})
            await client.workflows.trigger_event(TRIGGER, EVENT, auth="none")
    ((method, url, headers, _),) = calls(m)  # no token request to /oauth2/token either
    assert (method, url) == ("POST", TRIGGER)
    assert "Authorization" not in headers


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"auth": "basic"}, "username"),
        ({"auth": "basic", "username": "me:you"}, "username"),
        ({"auth": "basic", "username": "me\r\nX: y"}, "username"),
        ({"auth": "token", "username": "me"}, "username"),
        ({"auth": "bearer"}, "auth"),
    ],
)
async def test_bad_auth_arguments_are_refused(
    client: QualtricsClient, kwargs: dict[str, Any], field: str
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError) as info:
            await client.workflows.trigger_event(TRIGGER, EVENT, **kwargs)
        assert calls(m) == []
    assert info.value.field == field


async def test_a_401_names_no_secret(client: QualtricsClient) -> None:
    reply = {"meta": {"httpStatus": "401 - Unauthorized", "error": {"errorMessage": "bad"}}}
    with aioresponses() as m:
        m.post(TRIGGER, status=401, payload=reply)
        with pytest.raises(AuthenticationError) as info:
            await client.workflows.trigger_event(TRIGGER, EVENT)
    text = f"{info.value} {info.value.url} {info.value!r}"
    assert TOKEN not in text
    assert "2f0c1a2b" not in text  # the trigger URL's token is redacted too


# --- trigger_event: payload ----------------------------------------------------------------------


def payload_of_size(size: int, char: str = "x") -> dict[str, str]:
    overhead = len('{"d":""}')
    return {"d": char * (size - overhead)}


async def test_a_payload_of_exactly_100000_bytes_is_sent(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRIGGER, status=202, payload={})
        await client.workflows.trigger_event(TRIGGER, payload_of_size(100_000))
    ((_, _, _, body),) = calls(m)
    assert len(body) == 100_000


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (payload_of_size(100_001), "100,001 bytes"),
        ({"d": "é" * 50_000}, "100,008 bytes"),  # 50,008 characters, but bytes are what count
        ({"when": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)}, "not JSON-serializable"),
        ({"score": float("nan")}, "not JSON-serializable"),
        ([EVENT], "must be a JSON object"),
    ],
)
async def test_bad_payloads_are_refused_before_sending(
    client: QualtricsClient, payload: Any, fragment: str
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError, match=fragment) as info:
            await client.workflows.trigger_event(TRIGGER, payload)
        assert calls(m) == []
    assert info.value.field == "payload"


# --- trigger_event: retries ----------------------------------------------------------------------


async def test_a_possibly_delivered_event_is_not_retried(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRIGGER, status=503, payload={"meta": {"httpStatus": "503 - Unavailable"}})
        m.post(TRIGGER, status=202, payload={})
        with pytest.raises(ServerError) as info:
            await client.workflows.trigger_event(TRIGGER, EVENT)
        assert len(calls(m)) == 1
    assert info.value.ambiguous is True


async def test_a_rate_limited_event_is_retried(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(TRIGGER, status=429, payload={"meta": {"httpStatus": "429 - Too Many"}})
        m.post(TRIGGER, status=202, payload={})
        result = await client.workflows.trigger_event(TRIGGER, EVENT)
        assert len(calls(m)) == 2
    assert result.status == 202
    assert result.response_info is not None
    assert result.response_info.retries_taken == 1


# --- management (experimental) -------------------------------------------------------------------


async def test_list_filters_by_project_and_follows_next_page(client: QualtricsClient) -> None:
    first = f"{API}/workflows?pageSize=1&projectId=SV_1"
    second = f"{API}/workflows?pageSize=1&projectId=SV_1&skipToken=MQ"
    with aioresponses() as m:
        m.get(
            first,
            payload={
                "result": {
                    "elements": [{"id": "WF_1", "name": "Welcome", "enabled": True}],
                    "nextPage": second,
                },
                "meta": META,
            },
        )
        m.get(
            second,
            payload={
                "result": {
                    "elements": [{"workflowId": "WF_2", "title": "Alert", "enabled": "false"}],
                    "nextPage": None,
                },
                "meta": META,
            },
        )
        workflows = await client.workflows.list(project_id="SV_1", page_size=1).collect()
    assert [str(url) for _, url in m.requests] == [first, second]
    assert [(w.id, w.name, w.enabled) for w in workflows] == [
        ("WF_1", "Welcome", True),
        ("WF_2", "Alert", False),
    ]


async def test_get_keeps_unknown_fields(client: QualtricsClient) -> None:
    raw = {"id": "WF_1", "name": "Welcome", "enabled": True, "tasks": [{"type": "email"}]}
    with aioresponses() as m:
        m.get(f"{API}/workflows/WF_1", payload={"result": raw, "meta": META})
        workflow = await client.workflows.get("WF_1")
    assert isinstance(workflow, Workflow)
    assert (workflow.id, workflow.enabled) == ("WF_1", True)
    assert workflow.extra == {"tasks": [{"type": "email"}]}


@pytest.mark.parametrize(("method", "enabled"), [("enable", True), ("disable", False)])
async def test_enable_and_disable_send_the_whole_workflow_back(
    client: QualtricsClient, method: str, enabled: bool
) -> None:
    raw = {"id": "WF_1", "name": "Welcome", "enabled": not enabled, "tasks": [{"type": "email"}]}
    with aioresponses() as m:
        m.get(f"{API}/workflows/WF_1", payload={"result": raw, "meta": META})
        m.put(f"{API}/workflows/WF_1", payload={"meta": META})
        await getattr(client.workflows, method)("WF_1")
    sent = calls(m)
    assert [(verb, url) for verb, url, _, _ in sent] == [
        ("GET", f"{API}/workflows/WF_1"),
        ("PUT", f"{API}/workflows/WF_1"),
    ]
    assert json.loads(sent[1][3]) == {**raw, "enabled": enabled}


async def test_set_enabled_does_not_write_back_an_unexpected_object(
    client: QualtricsClient,
) -> None:
    with aioresponses() as m:
        m.get(f"{API}/workflows/WF_1", payload={"result": ["odd"], "meta": META})
        with pytest.raises(ResponseValidationError):
            await client.workflows.set_enabled("WF_1", True)
        assert [verb for verb, *_ in calls(m)] == ["GET"]


async def test_delete(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.delete(f"{API}/workflows/WF_1", payload={"meta": META})
        await client.workflows.delete("WF_1")
    assert [(verb, url) for verb, url, _, _ in calls(m)] == [("DELETE", f"{API}/workflows/WF_1")]


@pytest.mark.parametrize("workflow_id", ["WF_1/../x", "", "WF 1"])
async def test_management_refuses_path_like_ids(client: QualtricsClient, workflow_id: str) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError):
            await client.workflows.get(workflow_id)
        with pytest.raises(ValidationError):
            await client.workflows.delete(workflow_id)
        assert calls(m) == []
