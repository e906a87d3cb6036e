"""ContactCache: one lookup per identity however many events wait for it."""

from __future__ import annotations

import asyncio

import pytest

from segment_adapter.actions._contact_cache import ContactCache


async def test_concurrent_callers_share_one_lookup() -> None:
    cache = ContactCache()
    release = asyncio.Event()
    calls = 0

    async def lookup() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "CID_1"

    waiters = [asyncio.ensure_future(cache.resolve(("POOL_1", "u1"), lookup)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == ["CID_1"] * 50
    assert calls == 1
    assert cache.lookups == 1


async def test_a_found_id_is_cached() -> None:
    cache = ContactCache()
    calls = 0

    async def lookup() -> str:
        nonlocal calls
        calls += 1
        return f"CID_{calls}"

    assert await cache.resolve("k", lookup) == "CID_1"
    assert await cache.resolve("k", lookup) == "CID_1"
    assert await cache.resolve("other", lookup) == "CID_2"
    assert calls == 2


async def test_a_failure_reaches_every_waiter_and_is_not_cached() -> None:
    cache = ContactCache()
    attempts = 0

    async def lookup() -> str:
        nonlocal attempts
        attempts += 1
        await asyncio.sleep(0)
        if attempts == 1:
            raise RuntimeError("search failed")
        return "CID_1"

    results = await asyncio.gather(
        cache.resolve("k", lookup), cache.resolve("k", lookup), return_exceptions=True
    )
    assert [str(result) for result in results] == ["search failed", "search failed"]
    assert await cache.resolve("k", lookup) == "CID_1"
    assert attempts == 2


async def test_a_cancelled_caller_does_not_cancel_the_lookup_for_others() -> None:
    cache = ContactCache()
    release = asyncio.Event()

    async def lookup() -> str:
        await release.wait()
        return "CID_1"

    first = asyncio.ensure_future(cache.resolve("k", lookup))
    second = asyncio.ensure_future(cache.resolve("k", lookup))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == "CID_1"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert cache.get("k") == "CID_1"


async def test_least_recently_used_identities_are_forgotten() -> None:
    cache = ContactCache(max_entries=2)
    cache.put("a", "CID_A")
    cache.put("b", "CID_B")
    assert cache.get("a") == "CID_A"  # a is now the most recent
    cache.put("c", "CID_C")
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("CID_A", None, "CID_C")


def test_invalidate_only_the_stale_id() -> None:
    cache = ContactCache()
    cache.put("a", "CID_NEW")
    cache.invalidate("a", "CID_OLD")
    assert cache.get("a") == "CID_NEW"
    cache.invalidate("a", "CID_NEW")
    assert cache.get("a") is None


@pytest.mark.parametrize("size", [0, -1, True, 1.5])
def test_max_entries_must_be_positive(size: object) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        ContactCache(max_entries=size)  # type: ignore[arg-type]
