"""The delivery ledger: which (messageId, subscription) pairs Qualtrics already confirmed.

Segment delivers at least once: it retries for hours after a timeout or a 5xx, and may send the
same ``messageId`` again. Qualtrics has no idempotency key, so re-sending a transaction creates a
second one. The destination therefore records every confirmed delivery here and, when the same
``messageId`` comes back for the same subscription, answers ``delivered`` with ``duplicate=True``
and the ids of the first delivery instead of sending again.

An entry is written only after Qualtrics confirmed the delivery, in one step (one dict update or
one SQLite transaction), so a cancelled delivery never leaves a half-written entry.

The ledger also holds the write-ahead marks of transactions whose send is uncertain. Before each
transactions request the destination marks its keys as pending; it clears a mark once the outcome
is certain (created, rejected, or certainly not sent) and keeps it when the request failed
ambiguously, timed out or was cancelled, or when the process died mid-request. A redelivery of a
marked key lists the contact's transactions (after the mark's ``not_before``) instead of sending
blind. With :class:`SQLiteLedger` this holds across restarts; with :class:`MemoryLedger` only
within the process.

Two implementations are included: :class:`MemoryLedger` (the default; forgets on restart) and
:class:`SQLiteLedger` (a file, shared by processes on one machine; stdlib ``sqlite3``). Anything
with the methods of :class:`DeliveryLedger` can be plugged in (Redis, a database table...).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Protocol, runtime_checkable

import attrs

__all__ = [
    "DeliveryLedger",
    "LedgerEntry",
    "LedgerKey",
    "PendingKey",
    "SCHEMA_VERSION",
    "MemoryLedger",
    "SQLiteLedger",
]

LedgerKey = tuple[str, str]
"""``(message_id, subscription_key)``: what the ledger is keyed by."""

PendingKey = tuple[str, str]
"""``(directory_id, transaction_key)``: what a pending (uncertain) transaction is keyed by."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@attrs.frozen(kw_only=True)
class LedgerEntry:
    """One confirmed delivery.

    Attributes:
        message_id: The event's ``messageId``.
        subscription: The subscription's stable key (its ``name``, else
            ``<action>#<n>`` for the n-th subscription of that action); see
            :attr:`segment_adapter.destination.Subscription.name`.
        ids: What Qualtrics created or used, e.g. ``{"contact_id": "CID_1",
            "transaction_id": "CTR_1"}`` (empty for a workflow trigger).
        delivered_at: When the delivery was confirmed (aware, UTC).
    """

    message_id: str
    subscription: str
    ids: Mapping[str, str] = attrs.field(factory=dict)
    delivered_at: dt.datetime = attrs.field(factory=_utc_now)

    @property
    def key(self) -> LedgerKey:
        """``(message_id, subscription)``."""
        return (self.message_id, self.subscription)


@runtime_checkable
class DeliveryLedger(Protocol):
    """What the destination needs from a ledger. All methods are coroutines.

    Implementations must be safe to call from concurrent tasks, must keep the first entry when
    the same key is recorded twice, and must write all entries of one :meth:`record` call
    atomically (all or none); the same holds for one :meth:`mark_pending` or
    :meth:`clear_pending` call. Pending marks must last as long as the deliveries they protect
    (a persistent ledger keeps them across restarts).
    """

    async def lookup(self, keys: Iterable[LedgerKey]) -> dict[LedgerKey, LedgerEntry]:
        """Return the entries recorded for ``keys`` (keys never recorded are absent)."""
        ...

    async def record(self, entries: Iterable[LedgerEntry]) -> None:
        """Record confirmed deliveries (an existing key keeps its first entry)."""
        ...

    async def mark_pending(self, keys: Iterable[PendingKey], *, not_before: float) -> None:
        """Mark transactions as possibly sent (write-ahead, before their request).

        ``not_before`` is a wall-clock time (``time.time()``, epoch seconds) before which a
        check for them cannot be trusted (the write may still land). Marking a key again
        replaces its ``not_before``.
        """
        ...

    async def lookup_pending(self, keys: Iterable[PendingKey]) -> dict[PendingKey, float]:
        """Return ``not_before`` of the marked ``keys`` (keys not marked are absent)."""
        ...

    async def clear_pending(self, keys: Iterable[PendingKey]) -> None:
        """Remove the marks of transactions whose outcome is certain (unknown keys are fine)."""
        ...

    async def aclose(self) -> None:
        """Release resources; the ledger is not used afterwards."""
        ...


class MemoryLedger:
    """An in-process ledger: a bounded dict, forgotten when the process exits.

    Enough to absorb repeats while the process runs (Segment's retries of a batch it did not
    get an answer for usually come within minutes). Use :class:`SQLiteLedger` to survive
    restarts: pending transaction marks, too, are forgotten with the process.

    Args:
        max_entries: How many deliveries (and, separately, pending marks) to remember; the
            oldest are forgotten first.

    Raises:
        ValueError: ``max_entries`` is not a positive integer.
    """

    def __init__(self, *, max_entries: int = 1_000_000) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a positive integer, got {max_entries!r}")
        self._max_entries = max_entries
        self._entries: OrderedDict[LedgerKey, LedgerEntry] = OrderedDict()
        self._pending: OrderedDict[PendingKey, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def lookup(self, keys: Iterable[LedgerKey]) -> dict[LedgerKey, LedgerEntry]:
        """Return the entries recorded for ``keys``."""
        return {key: self._entries[key] for key in keys if key in self._entries}

    async def record(self, entries: Iterable[LedgerEntry]) -> None:
        """Record deliveries; the first entry of a key wins."""
        for entry in list(entries):
            self._entries.setdefault(entry.key, entry)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def mark_pending(self, keys: Iterable[PendingKey], *, not_before: float) -> None:
        """Mark transactions as possibly sent; a key marked again gets the new ``not_before``."""
        for key in list(keys):
            self._pending[key] = not_before
            self._pending.move_to_end(key)
        while len(self._pending) > self._max_entries:
            self._pending.popitem(last=False)

    async def lookup_pending(self, keys: Iterable[PendingKey]) -> dict[PendingKey, float]:
        """Return ``not_before`` of the marked ``keys``."""
        return {key: self._pending[key] for key in keys if key in self._pending}

    async def clear_pending(self, keys: Iterable[PendingKey]) -> None:
        """Remove the marks of ``keys``."""
        for key in list(keys):
            self._pending.pop(key, None)

    async def aclose(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return (
            f"MemoryLedger(entries={len(self._entries)}, pending={len(self._pending)}, "
            f"max_entries={self._max_entries})"
        )


SCHEMA_VERSION = 2
"""The layout of :class:`SQLiteLedger` files, stored as the file's ``PRAGMA user_version``.

Version 1: one table ``deliveries (message_id TEXT, subscription TEXT, ids TEXT /* JSON */,
delivered_at TEXT /* ISO-8601 UTC */)``, primary key ``(message_id, subscription)``.

Version 2 adds ``pending_transactions (transaction_key TEXT, directory_id TEXT, not_before REAL,
marked_at REAL)`` (both times epoch seconds), primary key ``(transaction_key, directory_id)``.
A version-1 file is migrated in place when opened.
"""

# The statements that bring a file from version ``n - 1`` to ``n`` (idempotent: a file written
# before versions were recorded has version 0 and may already hold the version-1 table).
_MIGRATIONS: dict[int, str] = {
    1: """
CREATE TABLE IF NOT EXISTS deliveries (
    message_id   TEXT NOT NULL,
    subscription TEXT NOT NULL,
    ids          TEXT NOT NULL,
    delivered_at TEXT NOT NULL,
    PRIMARY KEY (message_id, subscription)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_by_time ON deliveries (delivered_at);
""",
    2: """
CREATE TABLE IF NOT EXISTS pending_transactions (
    transaction_key TEXT NOT NULL,
    directory_id    TEXT NOT NULL,
    not_before      REAL NOT NULL,
    marked_at       REAL NOT NULL,
    PRIMARY KEY (transaction_key, directory_id)
) WITHOUT ROWID;
""",
}

# SQLite's default limit of variables per statement is 999 (older builds).
_LOOKUP_CHUNK = 500


class SQLiteLedger:
    """A ledger in an SQLite file (stdlib ``sqlite3``), surviving restarts.

    Several processes on one machine may share the file (WAL mode; writers wait up to
    ``timeout`` seconds for each other). The file records its layout as ``PRAGMA user_version``
    (:data:`SCHEMA_VERSION`); a file of a newer version is refused rather than misread.
    Concurrent coroutines are safe: each call runs whole under a lock, and one ``record`` call
    is one transaction (as is one ``mark_pending`` or ``clear_pending`` call: one statement run
    with ``executemany``). Calls run in a worker thread so they do not block the event loop.
    Entries and pending marks older than ``retention`` are deleted when the ledger opens;
    Segment stops retrying after four hours, so the default week is generous. A version-1 file
    is migrated to the current schema when opened (processes of an older version then refuse it).

    Args:
        path: The database file (created if missing) or ``":memory:"``.
        retention: How long to remember deliveries; ``None`` keeps them forever.
        timeout: Seconds to wait for a lock held by another process.

    Raises:
        sqlite3.Error: the file cannot be opened, is not an SQLite database, or is a ledger of
            a newer schema version.
        ValueError: ``retention`` is not a positive duration.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        retention: dt.timedelta | None = dt.timedelta(days=7),
        timeout: float = 30.0,
    ) -> None:
        if retention is not None and retention <= dt.timedelta(0):
            raise ValueError(f"retention must be a positive duration or None, got {retention!r}")
        self._path = os.fspath(path)
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = sqlite3.connect(
            self._path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        try:
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._migrate(self._connection)
            if retention is not None:
                cutoff = (_utc_now() - retention).isoformat()
                self._connection.execute("DELETE FROM deliveries WHERE delivered_at < ?", (cutoff,))
                self._connection.execute(
                    "DELETE FROM pending_transactions WHERE marked_at < ?",
                    (time.time() - retention.total_seconds(),),
                )
        except BaseException:
            self._connection.close()
            raise

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Create the schema in a new file, or bring an older file's up to date."""
        with db:
            db.execute("BEGIN IMMEDIATE")  # two processes opening a new file at once
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"{self._path} is a delivery ledger of schema version {version}, newer than "
                    f"this version of segment_adapter understands ({SCHEMA_VERSION}); upgrade "
                    "segment_adapter or use another ledgerPath"
                )
            # Version 0 is a new file or one written before versions were recorded: every
            # migration runs (they are idempotent). The whole upgrade is one transaction.
            for target in range(max(version, 0) + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(statement)
            if version < SCHEMA_VERSION:
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            raise RuntimeError(f"SQLiteLedger({self._path!r}) is closed")
        return self._connection

    def _lookup_sync(self, keys: list[LedgerKey]) -> dict[LedgerKey, LedgerEntry]:
        found: dict[LedgerKey, LedgerEntry] = {}
        with self._lock:
            db = self._db()
            for message_id, subscription in keys:
                row = db.execute(
                    "SELECT ids, delivered_at FROM deliveries "
                    "WHERE message_id = ? AND subscription = ?",
                    (message_id, subscription),
                ).fetchone()
                if row is not None:
                    found[(message_id, subscription)] = LedgerEntry(
                        message_id=message_id,
                        subscription=subscription,
                        ids=json.loads(row[0]),
                        delivered_at=dt.datetime.fromisoformat(row[1]),
                    )
        return found

    def _record_sync(self, entries: list[LedgerEntry]) -> None:
        rows = [
            (
                entry.message_id,
                entry.subscription,
                json.dumps(dict(entry.ids), sort_keys=True),
                entry.delivered_at.astimezone(dt.timezone.utc).isoformat(),
            )
            for entry in entries
        ]
        with self._lock:
            db = self._db()
            # One transaction: every entry of the call is written, or none is.
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT OR IGNORE INTO deliveries (message_id, subscription, ids, "
                    "delivered_at) VALUES (?, ?, ?, ?)",
                    rows,
                )

    def _mark_pending_sync(self, rows: list[tuple[str, str, float, float]]) -> None:
        with self._lock:
            db = self._db()
            with db:  # one transaction: all marks of the call, or none
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "INSERT OR REPLACE INTO pending_transactions (transaction_key, directory_id, "
                    "not_before, marked_at) VALUES (?, ?, ?, ?)",
                    rows,
                )

    def _lookup_pending_sync(self, keys: list[PendingKey]) -> dict[PendingKey, float]:
        wanted = set(keys)
        by_key = sorted({key for _, key in keys})
        found: dict[PendingKey, float] = {}
        with self._lock:
            db = self._db()
            for start in range(0, len(by_key), _LOOKUP_CHUNK):
                chunk = by_key[start : start + _LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                for key, directory_id, not_before in db.execute(
                    "SELECT transaction_key, directory_id, not_before FROM pending_transactions "
                    f"WHERE transaction_key IN ({marks})",
                    chunk,
                ):
                    if (directory_id, key) in wanted:
                        found[(directory_id, key)] = not_before
        return found

    def _clear_pending_sync(self, keys: list[PendingKey]) -> None:
        rows = [(key, directory_id) for directory_id, key in keys]
        with self._lock:
            db = self._db()
            with db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(
                    "DELETE FROM pending_transactions "
                    "WHERE transaction_key = ? AND directory_id = ?",
                    rows,
                )

    async def mark_pending(self, keys: Iterable[PendingKey], *, not_before: float) -> None:
        """Mark transactions as possibly sent, in one statement; a key marked again gets the new
        ``not_before``."""
        marked_at = time.time()
        rows = [(key, directory_id, not_before, marked_at) for directory_id, key in keys]
        if rows:
            await asyncio.to_thread(self._mark_pending_sync, rows)

    async def lookup_pending(self, keys: Iterable[PendingKey]) -> dict[PendingKey, float]:
        """Return ``not_before`` of the marked ``keys``."""
        wanted = list(keys)
        if not wanted:
            return {}
        return await asyncio.to_thread(self._lookup_pending_sync, wanted)

    async def clear_pending(self, keys: Iterable[PendingKey]) -> None:
        """Remove the marks of ``keys``, in one statement."""
        wanted = list(keys)
        if wanted:
            await asyncio.to_thread(self._clear_pending_sync, wanted)

    async def lookup(self, keys: Iterable[LedgerKey]) -> dict[LedgerKey, LedgerEntry]:
        """Return the entries recorded for ``keys``."""
        wanted = list(keys)
        if not wanted:
            return {}
        return await asyncio.to_thread(self._lookup_sync, wanted)

    async def record(self, entries: Iterable[LedgerEntry]) -> None:
        """Record deliveries in one transaction; the first entry of a key wins."""
        rows = list(entries)
        if rows:
            await asyncio.to_thread(self._record_sync, rows)

    async def aclose(self) -> None:
        """Close the database. Safe to call twice."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def __repr__(self) -> str:
        return f"SQLiteLedger({self._path!r})"
