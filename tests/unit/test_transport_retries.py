"""Retry decisions as a user sees them: what is retried, how long we wait, what is never retried."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from qualtrics_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    QualtricsClient,
    RateLimitError,
    RetryBudget,
    RetryPolicy,
    ServerError,
)

API = "https://iad1.qualtrics.com/API/v3"
OK = {"result": {"userName": "peter"}, "meta": {"httpStatus": "200 - OK", "requestId": "r-ok"}}


def err(status: int, text: str = "boom") -> dict[str, object]:
    return {
        "meta": {
            "httpStatus": f"{status} - Err",
            "requestId": f"r-{status}",
            "error": {"errorMessage": text},
        }
    }


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    async with QualtricsClient(api_token="tok-secret-1", datacenter="iad1") as c:
        yield c


def record_sleeps(client: QualtricsClient, recorded: list[float]) -> None:
    """Make the transport record its backoff sleeps instead of waiting."""

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    client._transport._sleep = fake_sleep


@pytest.fixture
def sleeps(client: QualtricsClient) -> list[float]:
    recorded: list[float] = []
    record_sleeps(client, recorded)
    return recorded


def calls(m: aioresponses, method: str, url: str) -> int:
    return len(m.requests.get((method, URL(url)), []))


async def test_429_with_retry_after_is_retried_after_that_delay(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    with aioresponses() as m:
        m.get(f"{API}/whoami", status=429, payload=err(429), headers={"Retry-After": "7"})
        m.get(f"{API}/whoami", payload=OK)
        me = await client.whoami()
    assert me.user_name == "peter"
    assert sleeps == [7.0]
    assert me.response_info is not None
    assert me.response_info.retries_taken == 1


async def test_retry_after_is_capped() -> None:
    sleeps: list[float] = []
    async with QualtricsClient(
        api_token="t", datacenter="iad1", retry_policy=RetryPolicy(max_retry_after=5)
    ) as client:
        record_sleeps(client, sleeps)
        with aioresponses() as m:
            m.get(f"{API}/whoami", status=429, payload=err(429), headers={"Retry-After": "3600"})
            m.get(f"{API}/whoami", payload=OK)
            await client.whoami()
    assert sleeps == [5]


async def test_500_on_get_is_retried_with_jittered_backoff(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    with aioresponses() as m:
        m.get(f"{API}/whoami", status=500, payload=err(500), repeat=2)
        m.get(f"{API}/whoami", payload=OK)
        await client.whoami()
        assert calls(m, "GET", f"{API}/whoami") == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5
    assert 0 <= sleeps[1] <= 1.0


async def test_get_gives_up_after_max_retries_and_reports_retries_taken(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    with aioresponses() as m:
        m.get(
            f"{API}/whoami",
            status=503,
            payload=err(503, "Temporary Internal Server Error"),
            repeat=True,
        )
        with pytest.raises(ServerError) as info:
            await client.whoami()
        assert calls(m, "GET", f"{API}/whoami") == 4
    assert info.value.retries_taken == 3
    assert info.value.ambiguous is False  # a GET changes nothing
    assert "Temporary Internal Server Error" in str(info.value)


async def test_500_on_post_is_not_retried_and_is_ambiguous(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    url = f"{API}/directories/POOL_1/transactions"
    with aioresponses() as m:
        m.post(url, status=500, payload=err(500))
        m.post(url, payload=OK)
        with pytest.raises(ServerError) as info:
            await client.request("POST", "/directories/POOL_1/transactions", json={"k": {}})
        assert calls(m, "POST", url) == 1
    assert info.value.ambiguous is True
    assert sleeps == []


async def test_429_on_post_is_retried_because_it_was_not_processed(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    url = f"{API}/directories/POOL_1/contacts"
    with aioresponses() as m:
        m.post(url, status=429, payload=err(429), headers={"Retry-After": "1"})
        m.post(url, payload={"result": {"id": "CID_1"}, "meta": {}})
        result = await client.request(
            "POST", "/directories/POOL_1/contacts", json={"email": "a@b.c"}
        )
        requests = m.requests[("POST", URL(url))]
    assert result == {"id": "CID_1"}
    assert len(requests) == 2
    assert [json.loads(r.kwargs["data"]) for r in requests] == [{"email": "a@b.c"}] * 2


async def test_post_marked_idempotent_is_retried_on_500(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    url = f"{API}/directories/POOL_1/contacts/search"
    with aioresponses() as m:
        m.post(url, status=500, payload=err(500))
        m.post(url, payload={"result": {"elements": []}, "meta": {}})
        await client.request(
            "POST", "/directories/POOL_1/contacts/search", json={}, idempotent=True
        )
        assert calls(m, "POST", url) == 2


async def test_dropped_connection_on_post_is_ambiguous_and_not_retried(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    url = f"{API}/directories/POOL_1/transactions"
    with aioresponses() as m:
        m.post(url, exception=aiohttp.ServerDisconnectedError())
        with pytest.raises(APIConnectionError) as info:
            await client.request("POST", "/directories/POOL_1/transactions", json={})
        assert calls(m, "POST", url) == 1
    assert info.value.ambiguous is True
    assert "tok-secret-1" not in str(info.value)


async def test_read_timeout_on_post_is_ambiguous(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    url = f"{API}/directories/POOL_1/transactions"
    with aioresponses() as m:
        m.post(url, exception=asyncio.TimeoutError())
        with pytest.raises(APITimeoutError) as info:
            await client.request("POST", "/directories/POOL_1/transactions", json={})
    assert info.value.ambiguous is True


async def test_connect_error_on_post_is_retried_because_nothing_was_sent(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    url = f"{API}/directories/POOL_1/transactions"
    refused = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey(
            "iad1.qualtrics.com", 443, True, True, None, None, None
        ),
        ConnectionRefusedError(111, "refused"),
    )
    with aioresponses() as m:
        m.post(url, exception=refused)
        m.post(url, payload={"result": {}, "meta": {}})
        await client.request("POST", "/directories/POOL_1/transactions", json={})
        assert calls(m, "POST", url) == 2
    assert len(sleeps) == 1


async def test_connection_errors_on_get_are_retried(
    client: QualtricsClient, sleeps: list[float]
) -> None:
    with aioresponses() as m:
        m.get(f"{API}/whoami", exception=aiohttp.ServerDisconnectedError())
        m.get(f"{API}/whoami", exception=asyncio.TimeoutError())
        m.get(f"{API}/whoami", payload=OK)
        me = await client.whoami()
    assert me.response_info is not None
    assert me.response_info.retries_taken == 2


async def test_cancellation_is_never_retried(client: QualtricsClient, sleeps: list[float]) -> None:
    attempts = 0

    async def hang(url: URL, **kwargs: object) -> CallbackResult:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(60)
        return CallbackResult(payload=OK)

    with aioresponses() as m:
        m.get(f"{API}/whoami", callback=hang, repeat=True)
        task = asyncio.create_task(client.whoami())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert attempts == 1
    assert sleeps == []


async def test_400_is_not_retried(client: QualtricsClient, sleeps: list[float]) -> None:
    with aioresponses() as m:
        m.get(f"{API}/whoami", status=400, payload=err(400), repeat=True)
        with pytest.raises(BadRequestError):
            await client.whoami()
        assert calls(m, "GET", f"{API}/whoami") == 1


async def test_exhausted_retry_budget_stops_retrying() -> None:
    budget = RetryBudget(capacity=10, retry_cost=5)
    async with QualtricsClient(api_token="t", datacenter="iad1", retry_budget=budget) as client:
        record_sleeps(client, [])
        with aioresponses() as m:
            m.get(f"{API}/whoami", status=500, payload=err(500), repeat=True)
            with pytest.raises(ServerError) as first:
                await client.whoami()
            assert first.value.retries_taken == 2  # budget of 10 pays for two retries
            with pytest.raises(ServerError) as second:
                await client.whoami()
            assert second.value.retries_taken == 0
            assert calls(m, "GET", f"{API}/whoami") == 4
    assert budget.tokens == 0


async def test_rate_limit_error_exposes_retry_after_when_retries_run_out() -> None:
    async with QualtricsClient(api_token="t", datacenter="iad1", max_retries=0) as client:
        with aioresponses() as m:
            m.get(f"{API}/whoami", status=429, payload=err(429), headers={"Retry-After": "12"})
            with pytest.raises(RateLimitError) as info:
                await client.whoami()
    assert info.value.retry_after == 12.0
    assert info.value.retries_taken == 0


async def test_redirects_are_not_followed(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.get(f"{API}/whoami", status=302, headers={"Location": "https://evil.example/steal"})
        with pytest.raises(APIStatusError, match="redirect") as info:
            await client.whoami()
        assert calls(m, "GET", "https://evil.example/steal") == 0
    assert "tok-secret-1" not in str(info.value)
