"""Delivery ledgers: what was confirmed stays confirmed, the first entry wins, SQLite persists."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from segment_adapter.ledger import (
    SCHEMA_VERSION,
    DeliveryLedger,
    LedgerEntry,
    LedgerKey,
    MemoryLedger,
    SQLiteLedger,
)

UTC = dt.timezone.utc


def entry(message_id: str, subscription: str = "sub", **ids: str) -> LedgerEntry:
    return LedgerEntry(
        message_id=message_id,
        subscription=subscription,
        ids=ids,
        delivered_at=dt.datetime(2024, 5, 1, 13, 0, tzinfo=UTC),
    )


@pytest.fixture(params=["memory", "sqlite"])
async def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DeliveryLedger]:
    made: DeliveryLedger = (
        MemoryLedger() if request.param == "memory" else SQLiteLedger(tmp_path / "ledger.db")
    )
    yield made
    await made.aclose()


async def test_lookup_returns_only_recorded_keys(ledger: DeliveryLedger) -> None:
    await ledger.record([entry("m1", contact_id="CID_1", transaction_id="CTR_1")])
    found = await ledger.lookup([("m1", "sub"), ("m1", "other"), ("m2", "sub")])
    assert found == {("m1", "sub"): entry("m1", contact_id="CID_1", transaction_id="CTR_1")}


async def test_the_first_entry_of_a_key_wins(ledger: DeliveryLedger) -> None:
    await ledger.record([entry("m1", transaction_id="CTR_FIRST")])
    await ledger.record([entry("m1", transaction_id="CTR_SECOND")])
    found = await ledger.lookup([("m1", "sub")])
    assert found[("m1", "sub")].ids == {"transaction_id": "CTR_FIRST"}


async def test_empty_calls_are_fine(ledger: DeliveryLedger) -> None:
    await ledger.record([])
    assert await ledger.lookup([]) == {}


def test_implementations_satisfy_the_protocol(tmp_path: Path) -> None:
    assert isinstance(MemoryLedger(), DeliveryLedger)
    assert isinstance(SQLiteLedger(tmp_path / "x.db"), DeliveryLedger)


async def test_memory_ledger_forgets_the_oldest_beyond_its_size() -> None:
    ledger = MemoryLedger(max_entries=2)
    await ledger.record([entry("m1"), entry("m2"), entry("m3")])
    assert set(await ledger.lookup([("m1", "sub"), ("m2", "sub"), ("m3", "sub")])) == {
        ("m2", "sub"),
        ("m3", "sub"),
    }
    assert len(ledger) == 2


async def test_sqlite_ledger_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = SQLiteLedger(path)
    await first.record([entry("m1", contact_id="CID_1")])
    await first.aclose()
    second = SQLiteLedger(path, retention=None)  # the entry is dated 2024
    found = await second.lookup([("m1", "sub")])
    await second.aclose()
    assert found == {("m1", "sub"): entry("m1", contact_id="CID_1")}


async def test_sqlite_ledger_drops_entries_past_retention_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = SQLiteLedger(path)
    recent = dt.datetime.now(UTC) - dt.timedelta(hours=1)
    old = dt.datetime.now(UTC) - dt.timedelta(days=30)
    await first.record(
        [
            LedgerEntry(message_id="recent", subscription="s", delivered_at=recent),
            LedgerEntry(message_id="old", subscription="s", delivered_at=old),
        ]
    )
    await first.aclose()
    second = SQLiteLedger(path, retention=dt.timedelta(days=7))
    found = await second.lookup([("recent", "s"), ("old", "s")])
    await second.aclose()
    assert set(found) == {("recent", "s")}


async def test_sqlite_record_is_all_or_nothing(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    bad = LedgerEntry(message_id="m2", subscription="s", ids={"x": object()})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        await ledger.record([entry("m1", "s"), bad])
    assert await ledger.lookup([("m1", "s")]) == {}
    await ledger.aclose()


async def test_sqlite_ledger_is_closed_after_aclose(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    await ledger.aclose()
    await ledger.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await ledger.lookup([("m1", "s")])


def test_sqlite_ledger_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "not.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(sqlite3.DatabaseError):
        SQLiteLedger(path)


@pytest.mark.parametrize("size", [0, -5, True])
def test_memory_ledger_size_must_be_positive(size: object) -> None:
    with pytest.raises(ValueError, match="max_entries"):
        MemoryLedger(max_entries=size)  # type: ignore[arg-type]


def test_sqlite_retention_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="retention"):
        SQLiteLedger(tmp_path / "x.db", retention=dt.timedelta(0))


async def test_sqlite_file_records_its_schema_version(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    await ledger.aclose()
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        columns = [row[1] for row in db.execute("PRAGMA table_info(deliveries)")]
        pending = [row[1] for row in db.execute("PRAGMA table_info(pending_transactions)")]
    assert SCHEMA_VERSION == 2
    assert columns == ["message_id", "subscription", "ids", "delivered_at"]
    assert pending == ["transaction_key", "directory_id", "not_before", "marked_at"]


async def test_sqlite_file_without_a_version_keeps_its_entries(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    await ledger.record([entry("m1", contact_id="CID_1")])
    await ledger.aclose()
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        db.execute("PRAGMA user_version = 0")  # as written before versions were recorded
    reopened = SQLiteLedger(tmp_path / "ledger.db", retention=None)
    assert (await reopened.lookup([("m1", "sub")]))[("m1", "sub")].ids == {"contact_id": "CID_1"}
    await reopened.aclose()
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


def test_sqlite_ledger_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "ledger.db") as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(sqlite3.DatabaseError, match="newer"):
        SQLiteLedger(tmp_path / "ledger.db")


async def test_concurrent_coroutines_share_a_ledger_safely(ledger: DeliveryLedger) -> None:
    """50 coroutines race to record the same 20 keys (each with its own ids) and read them."""

    async def worker(n: int) -> dict[LedgerKey, LedgerEntry]:
        batch = [entry(f"m{k}", "sub", transaction_id=f"CTR_{n}") for k in range(20)]
        await ledger.record(batch)
        return await ledger.lookup([(f"m{k}", "sub") for k in range(20)])

    seen = await asyncio.gather(*(worker(n) for n in range(50)))
    final = await ledger.lookup([(f"m{k}", "sub") for k in range(20)])
    assert len(final) == 20
    winners = {found.ids["transaction_id"] for found in final.values()}
    assert len(winners) == 1  # one record() call won every key: all-or-nothing per call
    assert all(view == final for view in seen)  # nobody ever saw a different first entry


# --- pending (write-ahead) marks of transactions ---------------------------------------------


async def test_pending_marks_are_looked_up_by_directory_and_key(ledger: DeliveryLedger) -> None:
    await ledger.mark_pending([("POOL_1", "k1"), ("POOL_1", "k2")], not_before=1000.5)
    found = await ledger.lookup_pending([("POOL_1", "k1"), ("POOL_2", "k1"), ("POOL_1", "k3")])
    assert found == {("POOL_1", "k1"): 1000.5}


async def test_marking_again_replaces_not_before(ledger: DeliveryLedger) -> None:
    await ledger.mark_pending([("POOL_1", "k1")], not_before=1000.0)
    await ledger.mark_pending([("POOL_1", "k1")], not_before=2000.0)
    assert await ledger.lookup_pending([("POOL_1", "k1")]) == {("POOL_1", "k1"): 2000.0}


async def test_cleared_marks_are_gone_and_others_stay(ledger: DeliveryLedger) -> None:
    await ledger.mark_pending([("POOL_1", "k1"), ("POOL_1", "k2")], not_before=5.0)
    await ledger.clear_pending([("POOL_1", "k1"), ("POOL_1", "never-marked")])
    found = await ledger.lookup_pending([("POOL_1", "k1"), ("POOL_1", "k2")])
    assert found == {("POOL_1", "k2"): 5.0}


async def test_empty_pending_calls_are_fine(ledger: DeliveryLedger) -> None:
    await ledger.mark_pending([], not_before=1.0)
    await ledger.clear_pending([])
    assert await ledger.lookup_pending([]) == {}


async def test_pending_marks_are_separate_from_deliveries(ledger: DeliveryLedger) -> None:
    await ledger.mark_pending([("m1", "sub")], not_before=1.0)
    assert await ledger.lookup([("m1", "sub")]) == {}
    await ledger.record([entry("m1")])
    assert await ledger.lookup_pending([("m1", "sub")]) == {("m1", "sub"): 1.0}


async def test_many_pending_marks_in_one_call(ledger: DeliveryLedger) -> None:
    keys = [("POOL_1", f"k{n}") for n in range(1200)]  # more than one SQLite lookup chunk
    await ledger.mark_pending(keys, not_before=7.0)
    assert await ledger.lookup_pending(keys) == dict.fromkeys(keys, 7.0)
    await ledger.clear_pending(keys[:600])
    assert set(await ledger.lookup_pending(keys)) == set(keys[600:])


async def test_memory_ledger_bounds_its_pending_marks() -> None:
    ledger = MemoryLedger(max_entries=2)
    await ledger.mark_pending([("P", "k1"), ("P", "k2"), ("P", "k3")], not_before=1.0)
    assert set(await ledger.lookup_pending([("P", "k1"), ("P", "k2"), ("P", "k3")])) == {
        ("P", "k2"),
        ("P", "k3"),
    }


async def test_sqlite_pending_marks_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = SQLiteLedger(path)
    await first.mark_pending([("POOL_1", "k1"), ("POOL_1", "k2")], not_before=1234.5)
    await first.clear_pending([("POOL_1", "k2")])
    await first.aclose()
    second = SQLiteLedger(path)
    found = await second.lookup_pending([("POOL_1", "k1"), ("POOL_1", "k2")])
    await second.aclose()
    assert found == {("POOL_1", "k1"): 1234.5}


async def test_sqlite_drops_pending_marks_past_retention_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    first = SQLiteLedger(path)
    await first.mark_pending([("P", "old"), ("P", "new")], not_before=1.0)
    await first.aclose()
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE pending_transactions SET marked_at = ? WHERE transaction_key = 'old'",
            (time.time() - 30 * 86400,),
        )
    second = SQLiteLedger(path, retention=dt.timedelta(days=7))
    found = await second.lookup_pending([("P", "old"), ("P", "new")])
    await second.aclose()
    assert set(found) == {("P", "new")}


async def test_sqlite_mark_is_all_or_nothing(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    with pytest.raises(sqlite3.Error):
        await ledger.mark_pending([("P", "k1"), ("P", object())], not_before=1.0)  # type: ignore[list-item]
    assert await ledger.lookup_pending([("P", "k1")]) == {}
    await ledger.aclose()


_VERSION_1 = """
CREATE TABLE deliveries (
    message_id   TEXT NOT NULL,
    subscription TEXT NOT NULL,
    ids          TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (message_id, subscription)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_time ON deliveries (delivered_at);
INSERT INTO deliveries VALUES ('m1', 'sub', '{"contact_id": "CID_1"}', '2024-05-01T13:00:00+00:00');
PRAGMA user_version = 1;
"""


async def test_a_version_1_file_is_migrated_and_keeps_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with sqlite3.connect(path) as db:
        db.executescript(_VERSION_1)
    ledger = SQLiteLedger(path, retention=None)
    assert (await ledger.lookup([("m1", "sub")]))[("m1", "sub")].ids == {"contact_id": "CID_1"}
    await ledger.mark_pending([("POOL_1", "k1")], not_before=9.0)
    assert await ledger.lookup_pending([("POOL_1", "k1")]) == {("POOL_1", "k1"): 9.0}
    await ledger.aclose()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (2,)
    reopened = SQLiteLedger(path, retention=None)  # opening a migrated file again is a no-op
    assert await reopened.lookup_pending([("POOL_1", "k1")]) == {("POOL_1", "k1"): 9.0}
    await reopened.aclose()
