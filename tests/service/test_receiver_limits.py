"""The receiver's limits and operations: streaming 413, content types, deadlines, readiness,
batching, graceful shutdown and secrets kept out of answers and logs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from qualtrics_sdk.testing import FakeQualtrics
from segment_adapter.destination import EventResult, QualtricsDestination
from segment_adapter.events import Event
from segment_adapter.service import create_app, serve

SECRET = "shared-SECRET-value-42"


def config(base_url: str, token: str) -> dict[str, Any]:
    return {
        "settings": {"baseUrl": base_url, "apiToken": token},
        "subscriptions": [
            {
                "action": "addContactToXmd",
                "subscribe": 'type = "identify"',
                "mapping": {"directoryId": "POOL_DEFAULT"},
                "useDefaultMappings": True,
            }
        ],
    }


def identify(n: int) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": f"m-{n}",
        "userId": f"u-{n}",
        "traits": {"email": f"u{n}@example.com"},
    }


def body(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    async with FakeQualtrics(seed=8) as server:
        yield server


async def start(app: Any) -> TestClient[Any, Any]:
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


async def receiver(fake: FakeQualtrics, **options: Any) -> TestClient[Any, Any]:
    destination = QualtricsDestination.from_config(config(fake.base_url, fake.api_token))
    return await start(create_app(destination, close_destination=True, **options))


async def test_chunked_body_over_the_limit_is_413_without_reading_it_whole(
    fake: FakeQualtrics,
) -> None:
    client = await receiver(fake, max_body_bytes=4096)
    sent = 0

    async def endless() -> AsyncIterator[bytes]:  # chunked, no Content-Length, 64 MiB in all
        nonlocal sent
        for _ in range(1024):
            sent += 1
            yield b" " * 65536

    try:
        response = await client.post("/", data=endless())
        assert response.status == 413
        assert (await response.json())["error"] == "body_too_large"
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
        pass  # the server may close before the client reads the answer; never a full read
    finally:
        await client.close()
    assert sent < 1024
    assert fake.requests() == []


async def test_a_form_body_is_400_naming_its_content_type(fake: FakeQualtrics) -> None:
    client = await receiver(fake)
    try:
        response = await client.post("/", data={"type": "identify", "userId": "u-1"})
        answer = await response.json()
        assert response.status == 400
        assert answer["error"] == "malformed_json"
        assert "application/x-www-form-urlencoded" in answer["message"]
        assert fake.requests() == []
    finally:
        await client.close()


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", None])
async def test_json_labelled_otherwise_or_not_at_all_is_delivered(
    fake: FakeQualtrics, content_type: str | None
) -> None:
    client = await receiver(fake)
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        response = await client.post("/", data=body(identify(1)), headers=headers)
        assert response.status == 200
        assert len(fake.contacts()) == 1
    finally:
        await client.close()


async def test_a_body_that_arrives_too_slowly_is_408_within_the_deadline(
    fake: FakeQualtrics,
) -> None:
    client = await receiver(fake, deadline=0.3)

    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"type":'
        await asyncio.sleep(2)
        yield b'"identify"}'

    try:
        response = await client.post("/", data=trickle())
        assert response.status == 408
        assert (await response.json())["error"] == "body_timeout"
    finally:
        await client.close()


async def test_readyz_is_cached(fake: FakeQualtrics) -> None:
    client = await receiver(fake, readiness_ttl=60)
    try:
        for _ in range(3):
            response = await client.get("/readyz")
            assert response.status == 200
        assert [r.path for r in fake.requests()] == ["/API/v3/whoami"]
    finally:
        await client.close()


async def test_readyz_is_503_when_qualtrics_is_unreachable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    destination = QualtricsDestination.from_config(
        config(f"http://127.0.0.1:{port}", "t"), client_options={"max_retries": 0}
    )
    client = await start(create_app(destination, close_destination=True))
    try:
        response = await client.get("/readyz")
        answer = await response.json()
        assert response.status == 503
        assert answer["status"] == "not ready"
        assert "Qualtrics is not usable" in answer["message"]
    finally:
        await client.close()


class _CountingDestination(QualtricsDestination):
    calls: list[int]

    async def send_batch(self, events: Sequence[Event]) -> list[EventResult]:
        self.calls.append(len(events))
        return await super().send_batch(events)


async def test_an_array_is_delivered_with_one_send_batch_call(fake: FakeQualtrics) -> None:
    base = QualtricsDestination.from_config(config(fake.base_url, fake.api_token))
    counting = _CountingDestination(base.client, base.subscriptions)
    counting.calls = []
    client = await start(create_app(counting))
    try:
        response = await client.post("/", data=body([identify(n) for n in range(5)]))
        assert response.status == 200
        assert counting.calls == [5]
    finally:
        await client.close()
        await base.aclose()


async def test_shutdown_lets_a_request_in_flight_finish(fake: FakeQualtrics) -> None:
    sending = asyncio.Event()
    destination = QualtricsDestination.from_config(
        config(fake.base_url, fake.api_token),
        client_options={"on_request": [lambda _: sending.set()]},
    )
    stop = asyncio.Event()
    started: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(
        serve(destination, port=0, stop=stop, on_started=started.set_result)
    )
    url = await started
    fake.faults.delay(seconds=0.5, path="/API/v3/directories/*/contacts", times=1)
    async with aiohttp.ClientSession() as session:
        request = asyncio.create_task(session.post(url + "/", data=body(identify(1))))
        await sending.wait()  # the delivery is on its way to Qualtrics
        stop.set()  # what SIGTERM does
        response = await request
        assert response.status == 200
        assert (await response.json())["events"][0]["status"] == "delivered"
    await server
    await destination.aclose()
    assert len(fake.contacts()) == 1


async def test_secrets_never_appear_in_answers_or_logs(
    fake: FakeQualtrics, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await receiver(fake, shared_secret=SECRET)
    signed = body(identify(1))
    signature = hmac.new(SECRET.encode(), signed, hashlib.sha1).hexdigest()
    answers = []
    try:
        for data, headers in [
            (signed, {"X-Signature": signature}),
            (signed, {"X-Signature": "0" * 40}),
            (signed, {}),
            (b"{bad", {"X-Signature": signature}),
        ]:
            response = await client.post("/", data=data, headers=headers)
            answers.append(await response.text())
        response = await client.get("/readyz")
        answers.append(await response.text())
    finally:
        await client.close()
    seen = "\n".join(answers) + "\n" + caplog.text
    assert '"delivered"' in answers[0]
    assert SECRET not in seen
    assert fake.api_token not in seen
