"""Client behaviour: escape hatch, hooks, proxied-host notices, sessions, limits."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from qualtrics_sdk import QualtricsClient, RequestEvent, ResponseEvent
from qualtrics_sdk._ratelimit import TokenBucket

API = "https://iad1.qualtrics.com/API/v3"
NOTICE = "Request proxied. For faster response times, use this host instead: sjc1.qualtrics.com"


async def test_request_escape_hatch_returns_the_decoded_result() -> None:
    async with QualtricsClient(api_token="t", datacenter="iad1") as client:
        with aioresponses() as m:
            m.post(
                f"{API}/directories/POOL_1/contacts",
                payload={"result": {"id": "CID_9"}, "meta": {}},
            )
            result = await client.request(
                "POST",
                "/directories/POOL_1/contacts",
                json={"email": "a@b.c", "unsubscribed": False},
            )
            sent = m.requests[("POST", URL(f"{API}/directories/POOL_1/contacts"))][0].kwargs
    assert result == {"id": "CID_9"}
    assert json.loads(sent["data"]) == {"email": "a@b.c", "unsubscribed": False}
    assert sent["headers"]["Content-Type"] == "application/json"


async def test_escape_hatch_refuses_absolute_urls() -> None:
    async with QualtricsClient(api_token="t", datacenter="iad1") as client:
        with pytest.raises(ValueError, match="must start with '/'"):
            await client.request("GET", "https://evil.example/x")


async def test_hooks_see_every_attempt() -> None:
    requests: list[RequestEvent] = []
    responses: list[ResponseEvent] = []

    async def on_response(event: ResponseEvent) -> None:
        responses.append(event)

    async with QualtricsClient(
        api_token="t", datacenter="iad1", on_request=[requests.append], on_response=[on_response]
    ) as client:
        client._transport._sleep = _no_sleep
        with aioresponses() as m:
            m.get(f"{API}/whoami", status=503, payload={"meta": {"httpStatus": "503"}})
            m.get(f"{API}/whoami", payload={"result": {}, "meta": {"requestId": "abc"}})
            await client.whoami()
    assert [(e.method, e.url, e.attempt) for e in requests] == [
        ("GET", f"{API}/whoami", 0),
        ("GET", f"{API}/whoami", 1),
    ]
    assert [(e.status, e.attempt, e.request_id) for e in responses] == [
        (503, 0, None),
        (200, 1, "abc"),
    ]


async def test_proxy_notice_is_logged_and_attached(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="qualtrics_sdk")
    async with QualtricsClient(api_token="t", datacenter="az1") as client:
        with aioresponses() as m:
            m.get(
                "https://az1.qualtrics.com/API/v3/whoami",
                payload={"result": {"datacenter": "sjc1"}, "meta": {"notice": NOTICE}},
                repeat=True,
            )
            me = await client.whoami()
            await client.whoami()
    assert me.response_info is not None
    assert me.response_info.notice == NOTICE
    assert [r.getMessage() for r in caplog.records] == [f"Qualtrics notice: {NOTICE}"]
    assert client.base_url == "https://az1.qualtrics.com"  # not followed unless asked


async def test_follow_proxy_notice_switches_to_the_named_qualtrics_host() -> None:
    async with QualtricsClient(api_token="t", datacenter="az1", follow_proxy_notice=True) as client:
        with aioresponses() as m:
            m.get(
                "https://az1.qualtrics.com/API/v3/whoami",
                payload={"result": {}, "meta": {"notice": NOTICE}},
            )
            m.get("https://sjc1.qualtrics.com/API/v3/whoami", payload={"result": {}, "meta": {}})
            await client.whoami()
            await client.whoami()
            hosts = [key[1].host for key in m.requests]
    assert hosts == ["az1.qualtrics.com", "sjc1.qualtrics.com"]
    assert client.base_url == "https://sjc1.qualtrics.com"


async def test_follow_proxy_notice_ignores_foreign_hosts() -> None:
    notice = "Request proxied. For faster response times, use this host instead: evil.example"
    async with QualtricsClient(api_token="t", datacenter="az1", follow_proxy_notice=True) as client:
        with aioresponses() as m:
            m.get(
                "https://az1.qualtrics.com/API/v3/whoami",
                payload={"result": {}, "meta": {"notice": notice}},
            )
            await client.whoami()
    assert client.base_url == "https://az1.qualtrics.com"


async def test_a_users_session_is_used_and_not_closed() -> None:
    async with aiohttp.ClientSession() as session:
        client = QualtricsClient(api_token="t", datacenter="iad1", session=session)
        with aioresponses() as m:
            m.get(f"{API}/whoami", payload={"result": {}, "meta": {}})
            await client.whoami()
        await client.close()
        assert client.session is session
        assert not session.closed


async def test_closed_client_refuses_new_requests() -> None:
    client = QualtricsClient(api_token="t", datacenter="iad1")
    await client.close()
    await client.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        await client.whoami()


async def test_max_concurrency_caps_requests_in_flight() -> None:
    in_flight = 0
    peak = 0

    async def slow(url: URL, **kwargs: object) -> CallbackResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return CallbackResult(payload={"result": {}, "meta": {}})

    async with QualtricsClient(api_token="t", datacenter="iad1", max_concurrency=3) as client:
        with aioresponses() as m:
            m.get(f"{API}/whoami", callback=slow, repeat=True)
            await asyncio.gather(*(client.whoami() for _ in range(12)))
    assert peak == 3


async def test_token_bucket_paces_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    now = 0.0
    waits: list[float] = []

    def clock() -> float:
        return now

    bucket = TokenBucket(10, burst=2, clock=clock)
    original_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        nonlocal now
        waits.append(round(seconds, 3))
        now += seconds
        await original_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    for _ in range(5):
        await bucket.acquire()
    assert waits == [0.1, 0.1, 0.1]  # two burst tokens, then one every 1/10 s
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)


async def _no_sleep(seconds: float) -> None:
    return None
