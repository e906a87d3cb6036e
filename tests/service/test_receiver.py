"""The webhook receiver over real HTTP on 127.0.0.1, delivering to the fake Qualtrics."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from qualtrics_sdk.testing import FakeQualtrics
from segment_adapter.destination import QualtricsDestination
from segment_adapter.service import create_app, signature_matches

SECRET = "s3cret-shared"


def _config(fake: FakeQualtrics, token: str | None = None) -> dict[str, Any]:
    return {
        "settings": {
            "baseUrl": fake.base_url,
            "apiToken": token or fake.api_token,
        },
        "subscriptions": [
            {
                "action": "addContactToXmd",
                "subscribe": 'type = "identify"',
                "mapping": {"directoryId": "POOL_DEFAULT"},
                "useDefaultMappings": True,
            },
            {
                "action": "upsertContactTransaction",
                "subscribe": 'type = "track" and event = "Order Completed"',
                "mapping": {
                    "directoryId": "POOL_DEFAULT",
                    "mailingListId": fake.default_mailing_list_id,
                    "transactionData": {"total": {"@path": "$.properties.total"}},
                },
                "useDefaultMappings": True,
            },
        ],
    }


def identify(user: str = "u-1", message_id: str = "m-identify-1") -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": message_id,
        "userId": user,
        "timestamp": "2024-05-01T10:00:00.000Z",
        "traits": {"email": f"{user}@example.com", "firstName": "Ada"},
    }


def order(message_id: str = "m-order-1", total: float = 42.5) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": message_id,
        "userId": "u-1",
        "timestamp": "2024-05-01T10:05:00.000Z",
        "properties": {"total": total},
        "context": {"traits": {"email": "u-1@example.com"}},
    }


def sign(data: bytes) -> str:
    return hmac.new(SECRET.encode(), data, hashlib.sha1).hexdigest()


def body(value: Any) -> bytes:
    # Segment sends JSON.stringify output: compact separators.
    return json.dumps(value, separators=(",", ":")).encode()


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    async with FakeQualtrics(seed=3) as server:
        yield server


async def _client(fake: FakeQualtrics, **options: Any) -> TestClient[Any, Any]:
    token = options.pop("token", None)
    destination = QualtricsDestination.from_config(_config(fake, token))
    app = create_app(destination, close_destination=True, **options)
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def receiver(fake: FakeQualtrics) -> AsyncIterator[TestClient[Any, Any]]:
    client = await _client(fake)
    yield client
    await client.close()


@pytest.fixture
async def signed_receiver(fake: FakeQualtrics) -> AsyncIterator[TestClient[Any, Any]]:
    client = await _client(fake, shared_secret=SECRET)
    yield client
    await client.close()


async def test_unsigned_single_identify_creates_the_contact(
    receiver: TestClient[Any, Any], fake: FakeQualtrics
) -> None:
    response = await receiver.post("/", data=body(identify()))
    answer = await response.json()
    assert response.status == 200
    assert answer["events"][0]["status"] == "delivered"
    assert answer["events"][0]["messageId"] == "m-identify-1"
    assert [c.email for c in fake.contacts()] == ["u-1@example.com"]


async def test_unsigned_batch_at_segment_path(
    receiver: TestClient[Any, Any], fake: FakeQualtrics
) -> None:
    page = {"type": "page", "messageId": "m-page", "userId": "u-1", "name": "Home"}
    response = await receiver.post("/segment", data=body([identify(), order(), page]))
    answer = await response.json()
    assert response.status == 200
    assert [e["status"] for e in answer["events"]] == ["delivered", "delivered", "skipped"]
    assert len(fake.transactions()) == 1


async def test_signed_single_event_is_accepted(
    signed_receiver: TestClient[Any, Any], fake: FakeQualtrics
) -> None:
    data = body(identify())
    response = await signed_receiver.post("/", data=data, headers={"X-Signature": sign(data)})
    assert response.status == 200
    assert len(fake.contacts()) == 1


async def test_signed_batch_accepts_whole_body_and_first_element_forms(
    signed_receiver: TestClient[Any, Any], fake: FakeQualtrics
) -> None:
    first = [identify("u-1", "m-1"), identify("u-2", "m-2")]
    data = body(first)
    response = await signed_receiver.post("/", data=data, headers={"X-Signature": sign(data)})
    assert response.status == 200

    # Webhooks (Actions) with batching signs JSON.stringify(body[0]) only.
    second = [identify("u-3", "m-3"), identify("u-4", "m-4")]
    response = await signed_receiver.post(
        "/", data=body(second), headers={"X-Signature": sign(body(second[0]))}
    )
    assert response.status == 200
    assert sorted(c.ext_ref for c in fake.contacts()) == ["u-1", "u-2", "u-3", "u-4"]


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "missing_signature"),
        ({"X-Signature": "0" * 40}, "bad_signature"),
        ({"X-Signature": "not hex at all"}, "bad_signature"),
    ],
)
async def test_missing_or_wrong_signature_is_401_and_nothing_is_sent(
    signed_receiver: TestClient[Any, Any],
    fake: FakeQualtrics,
    headers: dict[str, str],
    error: str,
) -> None:
    response = await signed_receiver.post("/", data=body(identify()), headers=headers)
    assert response.status == 401
    assert (await response.json())["error"] == error
    assert fake.requests() == []


def test_signature_of_first_element_uses_javascript_number_formatting() -> None:
    # JSON.stringify(1.0) is "1": the receiver must sign what Segment signed, not Python's "1.0".
    raw = b'[{"type":"track","total":1.0},{"x":2}]'
    assert signature_matches(SECRET, raw, sign(b'{"type":"track","total":1}'))
    assert not signature_matches(SECRET, raw, sign(b'{"type":"track","total":1.0}'))
    assert not signature_matches(SECRET, raw, None)


async def test_malformed_json_is_400_naming_the_problem(
    receiver: TestClient[Any, Any], fake: FakeQualtrics
) -> None:
    response = await receiver.post("/", data=b'{"type": "identify",')
    answer = await response.json()
    assert response.status == 400
    assert answer["error"] == "malformed_json"
    assert "not valid JSON" in answer["message"]
    assert fake.requests() == []


async def test_invalid_single_event_is_400_naming_the_field(receiver: TestClient[Any, Any]) -> None:
    event = identify()
    del event["userId"]
    response = await receiver.post("/", data=body(event))
    answer = await response.json()
    assert response.status == 400
    assert answer["events"][0]["status"] == "failed"
    assert answer["events"][0]["retryable"] is False
    assert "userId" in answer["events"][0]["message"]


async def test_batch_with_one_invalid_event_is_207_and_delivers_the_rest(
    receiver: TestClient[Any, Any], fake: FakeQualtrics
) -> None:
    bad = {"type": "track", "messageId": "m-bad", "userId": "u-1"}  # no event name
    response = await receiver.post("/", data=body([identify(), bad]))
    answer = await response.json()
    assert response.status == 207
    assert [e["status"] for e in answer["events"]] == ["delivered", "failed"]
    assert "event" in answer["events"][1]["message"]
    assert len(fake.contacts()) == 1


async def test_oversized_body_is_413(fake: FakeQualtrics) -> None:
    client = await _client(fake, max_body_bytes=1024)
    try:
        big = body([identify(f"u-{i}", f"m-{i}") for i in range(50)])
        response = await client.post("/", data=big)
        assert response.status == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the stream is capped
            for _ in range(64):
                yield b" " * 512

        response = await client.post("/", data=chunks())
        assert response.status == 413
        assert fake.requests() == []
    finally:
        await client.close()


async def test_qualtrics_500_gives_503_then_redelivery_creates_one_transaction(
    receiver: TestClient[Any, Any], fake: FakeQualtrics
) -> None:
    rule = fake.faults.fail(
        status=500, method="POST", path="/API/v3/directories/*/transactions", times=None
    )
    data = body([identify(), order()])
    response = await receiver.post("/", data=data)
    answer = await response.json()
    assert response.status == 503
    assert answer["events"][1]["status"] == "failed"
    assert answer["events"][1]["retryable"] is True
    assert fake.transactions() == []

    fake.faults.remove(rule)
    response = await receiver.post("/", data=data)  # Segment redelivers the same batch
    answer = await response.json()
    assert response.status == 200
    assert [e["status"] for e in answer["events"]] == ["delivered", "delivered"]
    assert answer["events"][0]["duplicate"] is True
    response = await receiver.post("/", data=data)  # and once more: nothing new is created
    assert response.status == 200
    assert len(fake.transactions()) == 1
    assert len(fake.contacts()) == 1


async def test_deadline_answers_503_and_delivery_finishes_in_background(
    fake: FakeQualtrics,
) -> None:
    client = await _client(fake, deadline=0.2)
    try:
        rule = fake.faults.delay(seconds=1.0, path="/API/v3/directories/*/contacts", times=1)
        response = await client.post("/", data=body(identify()))
        answer = await response.json()
        assert response.status == 503
        assert answer["error"] == "deadline_exceeded"
        assert response.headers["Retry-After"] == "1"
        fake.faults.remove(rule)
    finally:
        await client.close()  # shutdown waits for the delivery still in flight
    assert len(fake.contacts()) == 1


async def test_healthz_and_readyz(receiver: TestClient[Any, Any]) -> None:
    response = await receiver.get("/healthz")
    assert response.status == 200
    response = await receiver.get("/readyz")
    assert response.status == 200
    assert (await response.json())["status"] == "ready"


async def test_readyz_is_503_when_qualtrics_refuses_the_token(fake: FakeQualtrics) -> None:
    client = await _client(fake, token="wrong-token")
    try:
        response = await client.get("/readyz")
        answer = await response.json()
        assert response.status == 503
        assert "wrong-token" not in json.dumps(answer)
    finally:
        await client.close()


async def test_fuzzed_bodies_never_get_a_5xx(fake: FakeQualtrics) -> None:
    client = await _client(fake, shared_secret=None, max_body_bytes=2048)
    rng = random.Random(7)
    seeds = [b"", b"null", b"[]", b"{}", b"[1,2]", b'{"batch": 3}', b'"x"', b"[[[[[[", b"\xff\xfe"]
    seeds += [b"[" * 5000 + b"]" * 5000, b'{"type":"identify","userId":{"a":1}}']
    seeds += [bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300))) for _ in range(40)]
    template = body(identify())
    for _ in range(40):
        mutated = bytearray(template)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(len(mutated))] = rng.getrandbits(8)
        seeds.append(bytes(mutated))
    try:
        for data in seeds:
            response = await client.post("/", data=data)
            assert response.status < 500 or response.status == 503, data
            assert response.status in (200, 207, 400, 413, 503), data
            answer = await response.json()
            assert "status" in answer
    finally:
        await client.close()


class _BrokenDestination(QualtricsDestination):
    async def send_batch(self, events: Any) -> Any:
        raise RuntimeError("a bug in the adapter")


async def test_an_unexpected_error_is_a_retryable_503_not_a_500(fake: FakeQualtrics) -> None:
    working = QualtricsDestination.from_config(_config(fake))
    broken = _BrokenDestination(working.client, working.subscriptions)
    client: TestClient[Any, Any] = TestClient(TestServer(create_app(broken), host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.post("/", data=body(identify()))
        assert response.status == 503
        assert (await response.json())["error"] == "internal_error"
    finally:
        await client.close()
        await working.aclose()
