"""``QualtricsDestination``: Segment events in, Qualtrics contacts, transactions and workflows out.

A drop-in for the hosted Qualtrics (Actions) destination: the same three actions, fields,
default mappings and subscriptions, and Segment's mapping JSON as is, minus its defects (see
``segment_adapter.actions``)::

    dest = QualtricsDestination.from_config("destination.json")
    async with dest:
        results = await dest.send_batch(events)

Configuration (``from_config``), strict: unknown keys are errors.

.. code-block:: json

    {
      "settings": {
        "datacenter": "iad1",           // or "myorg.iad1"; else QUALTRICS_DATACENTER / baseUrl
        "apiToken": "...",              // optional: else the QUALTRICS_API_TOKEN variable
        "baseUrl": "https://...",       // optional; replaces datacenter (proxies, tests)
        "ledgerPath": "ledger.sqlite",  // optional: SQLite delivery ledger (else in memory);
                                        //   relative to the config file's directory
        "rateLimit": 50,                // optional: requests per second (client-side pacing)
        "maxConcurrency": 32,           // optional: Qualtrics calls in flight at once
        "sharedSecret": "..."           // optional: Segment's webhook secret (receiver only)
      },
      "subscriptions": [
        {"name": "...",                 // optional label and ledger identity (unique)
         "action": "upsertContactTransaction",
         "subscribe": "type = \\"track\\" and event = \\"Order Completed\\"",  // optional*
         "mapping": {"directoryId": "POOL_...", ...},   // Segment's mapping JSON
         "useDefaultMappings": true}    // optional, default true
      ]
    }

``*`` ``subscribe`` defaults to the action's default subscription; ``triggerXflowWorkflow`` has
none, so it needs one.

Idempotency. Each (event, subscription) delivery has a stable identity, the same in every
process and after restarts, so Segment's redeliveries are recognised:

* source: ``"messageId:" + messageId``; for an event without ``messageId``,
  ``"content:" + sha256_hex(canonical JSON)`` (keys sorted, compact separators, UTF-8);
* subscription key: the subscription's ``name``, else ``"<action>#<n>"`` (n-th subscription of
  that action, 0-based), so name subscriptions before reordering them;
* transaction key (the key of the Qualtrics transactions map): the first 20 characters of the
  lowercase unpadded base32 of ``sha256("qualtrics-segment/1\\n" + subscription key + "\\n" +
  source)``.

The ledger (:mod:`segment_adapter.ledger`) is keyed by ``(messageId, subscription key)``. It also
holds write-ahead marks of transactions being sent, keyed by ``(directoryId, transaction key)``,
so a transaction whose send was uncertain is checked, not re-sent blind, on redelivery: after a
restart too when the ledger is persistent (``ledgerPath``).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from qualtrics_sdk import ConfigurationError, InvalidDatacenterError, QualtricsClient

from ._config import DestinationSettings, Subscription, compile_routes, read_config
from ._delivery import Dispatcher
from ._results import EventResult, SubscriptionResult
from .errors import ConfigError
from .events import ParsedItem, SegmentEvent
from .ledger import DeliveryLedger, MemoryLedger, SQLiteLedger

__all__ = [
    "DEFAULT_CONCURRENCY",
    "EventResult",
    "QualtricsDestination",
    "Subscription",
    "SubscriptionResult",
]

DEFAULT_CONCURRENCY = 32
"""Qualtrics operations a destination runs at once by default."""

EventInput = Mapping[str, Any] | SegmentEvent | ParsedItem


class QualtricsDestination:
    """Deliver Segment events to Qualtrics through configured subscriptions.

    Every subscription is validated and compiled here, once. Each event is matched against
    every subscription; each matching one runs its action (mapping evaluated, fields checked,
    Qualtrics called). Deliveries are idempotent: see :mod:`segment_adapter.ledger`.

    Args:
        client: The SDK client to call Qualtrics with. It is closed by :meth:`aclose` only when
            ``owns_client`` is true (as with :meth:`from_config`).
        subscriptions: The subscriptions, in order (their index is used in results).
        ledger: Where confirmed deliveries and pending (uncertain) transactions are remembered;
            default a new :class:`MemoryLedger` (forgotten on restart). A ledger you pass is not
            closed by :meth:`aclose`.
        concurrency: Qualtrics operations in flight at once (the client's own limits apply too).
        max_per_request: Transactions per request (the SDK's chunk size, default 100).
        contact_cache_size: Identities whose contact id is remembered.
        owns_client: Close ``client`` in :meth:`aclose`.

    Raises:
        ConfigError: a subscription is invalid (unknown action or field, bad FQL or mapping, a
            required field the mapping never produces); ``subscription`` names it (its name,
            else its index) and ``field`` the field. Also for a bad ``concurrency``.
    """

    def __init__(
        self,
        client: QualtricsClient,
        subscriptions: Sequence[Subscription],
        *,
        ledger: DeliveryLedger | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        max_per_request: int = 100,
        contact_cache_size: int = 100_000,
        owns_client: bool = False,
    ) -> None:
        for name, value in (
            ("concurrency", concurrency),
            ("max_per_request", max_per_request),
            ("contact_cache_size", contact_cache_size),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}", field=name)
        routes = compile_routes(subscriptions)
        self._client = client
        self._subscriptions = tuple(subscriptions)
        self._owns_client = owns_client
        self._owns_ledger = ledger is None
        self._ledger: DeliveryLedger = ledger if ledger is not None else MemoryLedger()
        self._dispatcher = Dispatcher(
            client,
            routes,
            self._ledger,
            concurrency=concurrency,
            max_per_request=max_per_request,
            contact_cache_size=contact_cache_size,
        )
        self._closed = False

    @classmethod
    def from_config(
        cls,
        source: str | os.PathLike[str] | Mapping[str, Any],
        *,
        ledger: DeliveryLedger | None = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> QualtricsDestination:
        """Build a destination (and its own client) from a JSON configuration.

        See the module documentation for the format. The destination owns the client it creates
        (and the SQLite ledger of ``ledgerPath``): close it with :meth:`aclose` or ``async with``.

        Args:
            source: A path to a JSON file, or the configuration as a dict.
            ledger: A ledger to use instead of ``settings.ledgerPath`` (not closed by us).
            client_options: Extra keyword arguments for the ``QualtricsClient`` it creates, such
                as ``on_request=[hook]`` or ``timeout=``; settings from the file win on conflict.

        Raises:
            ConfigError: unreadable or invalid JSON, unknown keys, wrong types, invalid
                subscriptions, an invalid datacenter (D12) or no credentials; ``field`` names the
                culprit (e.g. ``settings.datacenter``, or ``directoryId`` with ``subscription``).
        """
        settings, subscriptions = read_config(source)
        compile_routes(subscriptions)  # fail on the subscriptions before creating anything
        client = _client(settings, client_options or {})  # opens nothing until first request
        owned_ledger: DeliveryLedger | None = None
        if ledger is None and settings.ledger_path is not None:
            try:
                owned_ledger = SQLiteLedger(settings.ledger_path)
            except (sqlite3.Error, OSError) as exc:
                raise ConfigError(
                    f"settings.ledgerPath: cannot open {settings.ledger_path}: {exc}",
                    field="settings.ledgerPath",
                ) from None
        concurrency = settings.max_concurrency or DEFAULT_CONCURRENCY
        destination = cls(
            client,
            subscriptions,
            ledger=ledger if ledger is not None else owned_ledger,
            concurrency=concurrency,
            owns_client=True,
        )
        destination._owns_ledger = ledger is None
        return destination

    @property
    def client(self) -> QualtricsClient:
        """The SDK client in use."""
        return self._client

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The configured subscriptions."""
        return self._subscriptions

    @property
    def ledger(self) -> DeliveryLedger:
        """The delivery ledger in use."""
        return self._ledger

    async def send(self, event: EventInput) -> EventResult:
        """Deliver one event (see :meth:`send_batch`)."""
        return (await self.send_batch([event]))[0]

    async def send_batch(self, events: Iterable[EventInput]) -> list[EventResult]:
        """Deliver events; return one :class:`EventResult` per input, in order (multi-status).

        Events may be dicts as Segment sends them, parsed events, or ``ParsedItem`` from
        ``segment_adapter.events.parse_events``. An invalid event gets a failed, not retryable
        result with the validation message; the others go on. The work is batched: each
        contact identity is looked up once (and cached), all transactions for one directory go
        in as few requests as the chunk size allows, and everything runs concurrently.

        An event already delivered for a subscription (same ``messageId`` in the ledger, or a
        repeat within the batch or of a delivery in progress) is not sent again: its result is
        ``delivered`` with ``duplicate=True`` and the first delivery's ids.

        Raises:
            RuntimeError: the destination is closed.
        """
        if self._closed:
            raise RuntimeError("this QualtricsDestination is closed")
        return await self._dispatcher.deliver(events)

    async def aclose(self) -> None:
        """Close what the destination owns (its client and ledger). Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._owns_ledger:
                await self._ledger.aclose()
        finally:
            if self._owns_client:
                await self._client.close()

    async def __aenter__(self) -> QualtricsDestination:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"QualtricsDestination(client={self._client!r}, "
            f"subscriptions={len(self._subscriptions)}, ledger={self._ledger!r})"
        )


def _client(settings: DestinationSettings, options: Mapping[str, Any]) -> QualtricsClient:
    limits: dict[str, Any] = {**options, "rate_limit": settings.rate_limit}
    if settings.max_concurrency is not None:
        limits["max_concurrency"] = settings.max_concurrency
    # baseUrl, when given, replaces the datacenter (the SDK refuses both at once).
    where = (
        {"base_url": settings.base_url}
        if settings.base_url
        else {"datacenter": settings.datacenter}
    )
    try:
        return QualtricsClient(
            api_token=settings.api_token,
            **where,
            **limits,
        )
    except InvalidDatacenterError as exc:
        raise ConfigError(f"settings.datacenter: {exc}", field="settings.datacenter") from None
    except (ConfigurationError, ValueError) as exc:
        raise ConfigError(f"settings: {exc}", field="settings") from None
