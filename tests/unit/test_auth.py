"""API-token and OAuth client-credentials authentication on the wire."""

from __future__ import annotations

import asyncio
import base64

import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from qualtrics_sdk import (
    ApiToken,
    AuthenticationError,
    ConfigurationError,
    OAuthClientCredentials,
    QualtricsClient,
)

HOST = "https://iad1.qualtrics.com"
WHOAMI = f"{HOST}/API/v3/whoami"
TOKEN_URL = f"{HOST}/oauth2/token"
OK = {"result": {"userName": "u"}, "meta": {"httpStatus": "200 - OK"}}
UNAUTHORIZED = {"meta": {"httpStatus": "401 - Unauthorized", "error": {"errorMessage": "expired"}}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_reply(token: str, expires_in: int = 3600) -> dict[str, object]:
    return {"access_token": token, "expires_in": expires_in, "token_type": "Bearer"}


async def test_api_token_is_sent_as_x_api_token() -> None:
    async with QualtricsClient(api_token="tok-123", datacenter="iad1") as client:
        with aioresponses() as m:
            m.get(WHOAMI, payload=OK)
            await client.whoami()
            sent = m.requests[("GET", URL(WHOAMI))][0].kwargs["headers"]
    assert sent["X-API-TOKEN"] == "tok-123"
    assert "Authorization" not in sent


async def test_oauth_token_request_and_bearer_use() -> None:
    auth = OAuthClientCredentials("client-1", "s3cret-value", scopes=["manage:all", "read:users"])
    async with QualtricsClient(auth=auth, datacenter="iad1") as client:
        with aioresponses() as m:
            m.post(TOKEN_URL, payload=token_reply("access-1"))
            m.get(WHOAMI, payload=OK)
            await client.whoami()
            token_request = m.requests[("POST", URL(TOKEN_URL))][0].kwargs
            api_request = m.requests[("GET", URL(WHOAMI))][0].kwargs
    expected_basic = base64.b64encode(b"client-1:s3cret-value").decode()
    assert token_request["headers"]["Authorization"] == f"Basic {expected_basic}"
    assert "X-API-TOKEN" not in token_request["headers"]
    assert token_request["data"] == {
        "grant_type": "client_credentials",
        "scope": "manage:all read:users",
    }
    assert api_request["headers"]["Authorization"] == "Bearer access-1"


async def test_oauth_token_is_cached_until_shortly_before_expiry() -> None:
    clock = Clock()
    auth = OAuthClientCredentials("c", "s3cret", refresh_margin=60, clock=clock)
    async with QualtricsClient(auth=auth, datacenter="iad1") as client:
        with aioresponses() as m:
            m.post(TOKEN_URL, payload=token_reply("access-1", expires_in=3600))
            m.post(TOKEN_URL, payload=token_reply("access-2", expires_in=3600))
            m.get(WHOAMI, payload=OK, repeat=True)
            await client.whoami()
            clock.now += 3000  # still 600 s left: cached
            await client.whoami()
            clock.now += 541  # 59 s left: inside the margin, refresh
            await client.whoami()
            grants = m.requests[("POST", URL(TOKEN_URL))]
            bearers = [
                r.kwargs["headers"]["Authorization"] for r in m.requests[("GET", URL(WHOAMI))]
            ]
    assert len(grants) == 2
    assert bearers == ["Bearer access-1", "Bearer access-1", "Bearer access-2"]


async def test_401_refreshes_the_token_once_and_replays() -> None:
    auth = OAuthClientCredentials("c", "s3cret")
    async with QualtricsClient(auth=auth, datacenter="iad1") as client:
        with aioresponses() as m:
            m.post(TOKEN_URL, payload=token_reply("old"))
            m.post(TOKEN_URL, payload=token_reply("new"))
            m.get(WHOAMI, status=401, payload=UNAUTHORIZED)
            m.get(WHOAMI, payload=OK)
            me = await client.whoami()
            bearers = [
                r.kwargs["headers"]["Authorization"] for r in m.requests[("GET", URL(WHOAMI))]
            ]
    assert me.user_name == "u"
    assert bearers == ["Bearer old", "Bearer new"]


async def test_persistent_401_is_raised_after_one_refresh() -> None:
    auth = OAuthClientCredentials("c", "s3cret")
    async with QualtricsClient(auth=auth, datacenter="iad1") as client:
        with aioresponses() as m:
            m.post(TOKEN_URL, payload=token_reply("a"), repeat=True)
            m.get(WHOAMI, status=401, payload=UNAUTHORIZED, repeat=True)
            with pytest.raises(AuthenticationError):
                await client.whoami()
            assert len(m.requests[("GET", URL(WHOAMI))]) == 2


async def test_api_token_401_is_not_replayed() -> None:
    async with QualtricsClient(api_token="bad", datacenter="iad1") as client:
        with aioresponses() as m:
            m.get(WHOAMI, status=401, payload=UNAUTHORIZED, repeat=True)
            with pytest.raises(AuthenticationError):
                await client.whoami()
            assert len(m.requests[("GET", URL(WHOAMI))]) == 1


async def test_concurrent_requests_share_one_token_refresh() -> None:
    auth = OAuthClientCredentials("c", "s3cret")
    grants = 0

    async def slow_grant(url: URL, **kwargs: object) -> CallbackResult:
        nonlocal grants
        grants += 1
        await asyncio.sleep(0.05)
        return CallbackResult(payload=token_reply(f"tok-{grants}"))

    async with QualtricsClient(auth=auth, datacenter="iad1") as client:
        with aioresponses() as m:
            m.post(TOKEN_URL, callback=slow_grant, repeat=True)
            m.get(WHOAMI, payload=OK, repeat=True)
            await asyncio.gather(*(client.whoami() for _ in range(20)))
            bearers = {
                r.kwargs["headers"]["Authorization"] for r in m.requests[("GET", URL(WHOAMI))]
            }
    assert grants == 1
    assert bearers == {"Bearer tok-1"}


async def test_refused_client_credentials_raise_authentication_error() -> None:
    auth = OAuthClientCredentials("c", "wrong-secret")
    async with QualtricsClient(auth=auth, datacenter="iad1") as client:
        with aioresponses() as m:
            m.post(TOKEN_URL, status=401, payload={"error": "invalid_client"})
            with pytest.raises(AuthenticationError) as info:
                await client.whoami()
    assert "wrong-secret" not in str(info.value)


def test_invalid_credentials_are_rejected_at_construction() -> None:
    with pytest.raises(ConfigurationError):
        ApiToken("")
    with pytest.raises(ConfigurationError):
        ApiToken("abc\r\nX-Evil: 1")
    with pytest.raises(ConfigurationError):
        OAuthClientCredentials("", "s")
    with pytest.raises(ConfigurationError, match="not both"):
        QualtricsClient(api_token="a", auth=ApiToken("b"), datacenter="iad1")
