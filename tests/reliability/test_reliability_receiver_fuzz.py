"""The webhook receiver under fuzzed bodies: only 400/401/413 (never a 500), it keeps answering,
and memory stays bounded."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from reliability_support import report, rss_bytes

from qualtrics_sdk.testing import FakeQualtrics
from segment_adapter.destination import QualtricsDestination, Subscription
from segment_adapter.service import create_app

SECRET = "whsec-RELIABILITY-fuzz-0123"
MAX_BODY = 256 * 1024
RANDOM_BODIES = 300


def _sign(body: bytes) -> str:
    return hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()


def _pathological() -> list[tuple[str, bytes]]:
    return [
        ("empty", b""),
        ("nested arrays 100k", b"[" * 100_000 + b"]" * 100_000),
        ("nested objects 50k", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        ("unclosed nesting", b"[" * 200_000),
        ("1e999999", b"1e999999"),
        ("huge float in event", b'{"type":"track","event":"e","userId":"u","x":1e999999}'),
        ("10**100000 digits", b"9" * 100_000),
        (
            "huge int in event",
            b'{"type":"identify","userId":"u","traits":{"n":' + b"9" * 50_000 + b"}}",
        ),
        ("NaN", b'{"type":"identify","userId":NaN}'),
        ("invalid utf-8", b'{"type":"identify","userId":"\xc3\x28\xff"}'),
        ("utf-16 bom", "\ufeff[]".encode("utf-16")),
        ("NUL bytes", b"\x00" * 1000),
        ("scalar", b"42"),
        ("string", b'"identify"'),
        ("null", b"null"),
        ("batch not array", b'{"batch": 5}'),
        ("array of junk", b'[1, null, "x", [], {}]'),
        ("oversized", b"[" + b'"x",' * (MAX_BODY // 4) + b'"x"]'),
        ("invalid event", b'{"type":"track","properties":{}}'),
        ("many invalid events", json.dumps([{"type": "track"}] * 2000).encode()),
    ]


@pytest.fixture
async def receiver() -> AsyncIterator[str]:
    async with FakeQualtrics(seed=11) as fake:
        dest = QualtricsDestination(
            fake.client(),
            [
                Subscription(
                    action="addContactToXmd", mapping={"directoryId": fake.default_directory_id}
                )
            ],
        )
        app = create_app(dest, shared_secret=SECRET, max_body_bytes=MAX_BODY)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()
            await dest.aclose()


async def test_fuzzed_bodies_get_only_400_401_413(receiver: str) -> None:
    rng = random.Random(808)
    statuses: Counter[int] = Counter()
    unexpected: list[str] = []
    content_types = ["application/json", "text/plain", "application/x-www-form-urlencoded", ""]
    async with aiohttp.ClientSession() as session:

        async def post(name: str, body: bytes, signed: bool, content_type: str) -> None:
            headers = {"Content-Type": content_type} if content_type else {}
            if signed:
                headers["X-Signature"] = _sign(body)
            async with session.post(f"{receiver}/", data=body, headers=headers) as response:
                await response.read()
                statuses[response.status] += 1
                if response.status not in (400, 401, 413):
                    unexpected.append(f"{name}: {response.status}")

        await post("warm-up", b"[" * 1000, True, "application/json")  # allocator settles
        rss_before = rss_bytes()
        for name, body in _pathological():
            for content_type in content_types[:2]:
                await post(name, body, True, content_type)
            await post(f"{name} unsigned", body, False, "application/json")
        for n in range(RANDOM_BODIES):
            size = rng.choice([1, 10, 100, 1000, 10_000])
            body = rng.randbytes(size)
            await post(f"random#{n}", body, rng.random() < 0.8, rng.choice(content_types))
        await post("bad signature", b"[]", False, "application/json")
        rss_after = rss_bytes()
        async with session.get(f"{receiver}/healthz") as health:
            healthy = health.status
    growth_mb = (rss_after - rss_before) / 2**20
    figures = report(
        "receiver fuzz",
        bodies=sum(statuses.values()),
        statuses=dict(sorted(statuses.items())),
        answers_500=sum(n for s, n in statuses.items() if s >= 500),
        unexpected=len(unexpected),
        healthz=healthy,
        rss_growth_mb=round(growth_mb, 1),
    )
    assert unexpected == [], f"{figures}; {unexpected[:10]}"
    assert healthy == 200, figures
    assert statuses[413] >= 3, figures
    assert growth_mb < 64, figures


async def test_a_lone_surrogate_is_a_400_not_a_503(receiver: str) -> None:
    body = b'{"type":"identify","userId":"\\ud800"}'
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{receiver}/", data=body, headers={"X-Signature": _sign(body)}) as response,
    ):
        status = response.status
    report("lone surrogate", status=status)
    assert status == 400
