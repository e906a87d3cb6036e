"""Fault injection (status, delay, drops before/after processing) and the brand-wide rate limit."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest
from fakewire import D, Raw, assert_error

from qualtrics_sdk.testing import FakeClock, FakeQualtrics

TX = f"{D}/transactions"


async def wait_until(condition: object, *, attempts: int = 500) -> None:
    """Poll a zero-argument callable until it returns true (bounded, no timing assertion)."""
    assert callable(condition)
    for _ in range(attempts):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_fail_next_n_matching_requests(raw: Raw, fake: FakeQualtrics) -> None:
    rule = fake.faults.fail(500, method="POST", path="/API/v3/directories/*/contacts", times=2)
    assert (await raw.get(f"{D}/contacts")).status == 200
    first = await raw.post(f"{D}/contacts", {"email": "a@example.com"})
    assert_error(first, 500, "An unexpected error occurred. Please try again.")
    assert first.body["meta"]["httpStatus"] == "500 - Internal Server Error"
    assert (await raw.post(f"{D}/contacts", {"email": "a@example.com"})).status == 500
    assert fake.contacts() == []
    assert (await raw.post(f"{D}/contacts", {"email": "a@example.com"})).status == 200
    assert rule.fired == 2
    assert rule.times == 0
    assert fake.faults.fired == {"status": 2, "delay": 0, "drop_before": 0, "drop_after": 0}
    assert [r.fault for r in fake.requests(method="POST")] == ["status", "status", None]


async def test_path_globs_match_one_segment_per_star(raw: Raw, fake: FakeQualtrics) -> None:
    contact = fake.add_contact()
    fake.faults.fail(503, path="/API/v3/directories/*/transactions", times=None)
    nested = await raw.get(f"{D}/contacts/{contact}/transactions")
    assert nested.status == 200
    direct = await raw.post(TX, {"k": {}})
    assert direct.status == 503
    assert direct.body["meta"]["httpStatus"] == "503 - Temporary Internal Server Error"
    fake.faults.clear()
    fake.faults.fail(503, path="/API/v3/**/transactions", times=None)
    assert (await raw.get(f"{D}/contacts/{contact}/transactions")).status == 503


async def test_429_and_503_carry_retry_after(raw: Raw, fake: FakeQualtrics) -> None:
    fake.faults.fail(429)
    fake.faults.fail(503, retry_after=0.25, error_code="SVC_1", message="Down for a moment.")
    limited = await raw.get("/API/v3/whoami")
    assert_error(limited, 429, "Too many requests. Please try again later.")
    assert limited.headers["Retry-After"] == "0"
    down = await raw.get("/API/v3/whoami")
    assert_error(down, 503, "Down for a moment.", "SVC_1")
    assert down.headers["Retry-After"] == "0.25"
    plain = await raw.get("/API/v3/whoami")
    assert plain.status == 200
    assert "Retry-After" not in plain.headers


async def test_drop_before_processing_changes_nothing(raw: Raw, fake: FakeQualtrics) -> None:
    fake.faults.drop_before(method="POST", path=f"{D}/contacts")
    with pytest.raises(aiohttp.ClientConnectionError):
        await raw.post(f"{D}/contacts", {"email": "a@example.com"})
    assert fake.contacts() == []
    (recorded,) = fake.requests()
    assert (recorded.status, recorded.fault) == (None, "drop_before")
    assert (await raw.post(f"{D}/contacts", {"email": "a@example.com"})).status == 200


async def test_drop_after_processing_keeps_the_write(raw: Raw, fake: FakeQualtrics) -> None:
    contact = fake.add_contact()
    fake.faults.drop_after(method="POST", path=TX)
    body = {
        "k1": {
            "contactId": contact,
            "mailingListId": fake.default_mailing_list_id,
            "transactionDate": "2024-05-01 13:00:00",
            "data": {"orderId": "A1"},
        }
    }
    with pytest.raises(aiohttp.ClientConnectionError):
        await raw.post(TX, body)
    (transaction,) = fake.transactions()
    assert transaction.key == "k1"
    (recorded,) = fake.requests(path=TX)
    assert (recorded.status, recorded.fault) == (200, "drop_after")
    assert fake.faults.fired["drop_after"] == 1


async def test_delay_past_the_client_timeout_still_applies_the_write(
    raw: Raw, fake: FakeQualtrics
) -> None:
    fake.faults.delay(0.3, method="POST", path=f"{D}/contacts")
    timeout = aiohttp.ClientTimeout(total=0.05)
    async with aiohttp.ClientSession(timeout=timeout) as impatient:
        with pytest.raises(asyncio.TimeoutError):
            await impatient.post(
                f"{fake.base_url}{D}/contacts",
                json={"email": "slow@example.com"},
                headers={"X-API-TOKEN": fake.api_token},
            )
    await wait_until(lambda: len(fake.contacts()) == 1)
    await wait_until(lambda: len(fake.requests()) == 1)
    assert fake.requests()[0].fault == "delay"


async def test_stop_does_not_wait_for_long_delays() -> None:
    fake = FakeQualtrics()
    await fake.start()
    fake.faults.delay(60)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=0.05)) as session:
        with pytest.raises(asyncio.TimeoutError):
            await session.get(f"{fake.base_url}/API/v3/whoami")
    await asyncio.wait_for(fake.stop(), timeout=10)


def outcome_pattern(seed: int) -> list[bool]:
    fake = FakeQualtrics(seed=seed)
    fake.faults.fail(500, probability=0.3, times=None)
    return [fake.faults.pick("GET", "/API/v3/whoami") is not None for _ in range(200)]


def test_probabilities_are_seeded_and_reproducible() -> None:
    first = outcome_pattern(11)
    assert first == outcome_pattern(11)
    assert first != outcome_pattern(12)
    assert 40 <= sum(first) <= 80


def test_fractions_compose_exclusively() -> None:
    fake = FakeQualtrics(seed=5)
    fake.faults.fail(500, probability=0.10, times=None)
    fake.faults.fail(429, probability=0.05, times=None)
    fake.faults.drop_before(probability=0.02, times=None)
    fake.faults.drop_after(probability=0.02, times=None)
    fake.faults.delay(0.0, probability=0.01, times=None)
    picked = [fake.faults.pick("POST", "/API/v3/directories/x/transactions") for _ in range(20_000)]
    kinds = Counter(rule.kind if rule else "none" for rule in picked)
    statuses = Counter(rule.status for rule in picked if rule and rule.kind == "status")
    assert sum(kinds.values()) == 20_000
    assert 0.18 < 1 - kinds["none"] / 20_000 < 0.22
    assert 1800 < statuses[500] < 2200
    assert 800 < statuses[429] < 1200
    assert fake.faults.fired["status"] == statuses[500] + statuses[429]


def test_times_and_probability_together() -> None:
    fake = FakeQualtrics(seed=1)
    rule = fake.faults.fail(500, probability=0.5, times=3)
    fired = sum(fake.faults.pick("GET", "/x") is not None for _ in range(100))
    assert fired == 3
    assert rule.fired == 3


def test_clear_and_remove_keep_the_counts() -> None:
    fake = FakeQualtrics()
    rule = fake.faults.fail(500, times=None)
    other = fake.faults.drop_before(times=None, method="DELETE")
    assert fake.faults.pick("GET", "/x") is rule
    fake.faults.remove(rule)
    assert fake.faults.rules == [other]
    assert fake.faults.pick("GET", "/x") is None
    fake.faults.clear()
    assert fake.faults.rules == []
    assert fake.faults.pick("DELETE", "/x") is None
    assert fake.faults.fired["status"] == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": 200}, "error status"),
        ({"probability": 1.5}, "probability"),
        ({"times": -1}, "times"),
        ({"path": "API/v3"}, "path glob"),
        ({"delay": -1.0}, "delay"),
    ],
)
def test_fault_arguments_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FakeQualtrics().faults.fail(**kwargs)  # type: ignore[arg-type]


# -- rate limit --------------------------------------------------------------------------------


async def test_rate_limit_is_off_by_default(raw: Raw, fake: FakeQualtrics) -> None:
    for _ in range(30):
        assert (await raw.get("/API/v3/whoami")).status == 200
    assert fake.stats.rate_limited == 0


async def test_rate_limit_answers_429_until_the_window_moves() -> None:
    clock = FakeClock(speed=1e-6)
    async with (
        FakeQualtrics(clock=clock, rate_limit_per_minute=3) as fake,
        aiohttp.ClientSession() as session,
    ):
        raw = Raw(session, fake)
        assert [(await raw.get("/API/v3/whoami")).status for _ in range(3)] == [200] * 3
        limited = await raw.get("/API/v3/whoami")
        assert_error(
            limited,
            429,
            "Too many requests. The rate limit for your brand has been exceeded; retry later.",
        )
        assert 59.0 < float(limited.headers["Retry-After"]) * clock.speed <= 60.001
        unauthenticated = await raw.get("/API/v3/whoami", token=False)
        assert unauthenticated.status == 400
        assert fake.stats.rate_limited == 1
        clock.advance(60)
        assert (await raw.get("/API/v3/whoami")).status == 200


async def test_retry_after_is_in_real_seconds_on_a_sped_up_clock() -> None:
    async with (
        FakeQualtrics(clock=FakeClock(speed=600), rate_limit_per_minute=3) as fake,
        aiohttp.ClientSession() as session,
    ):
        raw = Raw(session, fake)
        for _ in range(100):
            limited = await raw.get("/API/v3/whoami")
            if limited.status == 429:
                break
        assert limited.status == 429
        wait = float(limited.headers["Retry-After"])
        assert 0 < wait <= 0.1
        await asyncio.sleep(wait)
        assert (await raw.get("/API/v3/whoami")).status == 200


async def test_rate_limit_covers_triggers_and_can_change_while_running(
    raw: Raw, fake: FakeQualtrics
) -> None:
    url = fake.add_workflow_trigger()
    fake.rate_limit_per_minute = 2
    assert (await raw.post(url, {"a": 1})).status == 202
    assert (await raw.get("/API/v3/whoami")).status == 200
    assert (await raw.post(url, {"a": 2})).status == 429
    assert len(fake.trigger_events()) == 1
    fake.rate_limit_per_minute = None
    assert (await raw.post(url, {"a": 3})).status == 202
    with pytest.raises(ValueError, match="rate_limit_per_minute"):
        fake.rate_limit_per_minute = 0
