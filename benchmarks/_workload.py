"""The delivery workload of benchmarks 2 and 3, and the hosted destination re-implemented as the
baseline.

Workload: ``track`` "Order Completed" events as analytics libraries send them (no ``contactId``,
identity traits in ``context.traits``, order properties with a product list), spread over a fixed
number of users, deterministic (seeded).

Baseline: the hosted Qualtrics (Actions) destination's ``upsertContactTransaction`` algorithm
(``segment.md`` §3.2-3.3), exactly, through the SDK's raw ``client.request``: per event, search by
extRef / phone / email (that order, ``and``-joined), create the contact on 0 hits, then POST one
transaction under a random 16-character key. No cache, no batching. Its mapping is given the same
identity values ours reads (a user of the hosted destination has to remap them to
``context.traits`` by hand because of defect D6).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

from qualtrics_sdk import QualtricsClient

__all__ = ["CONCURRENCY", "HostedBaseline", "destination_config", "make_events"]

CONCURRENCY = 32
_KEY_ALPHABET = "123456789abcdefghijklmnopqrstuvwxyz"  # utils.ts: 35 characters, no '0'
_PRODUCTS = ("sku-shoe", "sku-shirt", "sku-hat", "sku-bag", "sku-sock", "sku-belt")


def user_traits(user: int) -> dict[str, str]:
    """The identify traits of user ``user``."""
    return {
        "email": f"shopper{user}@example.com",
        "phone": f"+4420{user:08d}",
        "firstName": f"Ada{user}",
        "lastName": f"Lovelace{user}",
    }


def make_events(count: int, users: int, seed: int = 7) -> list[dict[str, Any]]:
    """``count`` Spec-shaped track events over ``users`` distinct users (each user appears)."""
    rng = random.Random(seed)
    start = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
    events = []
    for index in range(count):
        user = index if index < users else rng.randrange(users)
        prices = [round(rng.uniform(5, 120), 2) for _ in range(rng.randint(1, 3))]
        products = [{"product_id": rng.choice(_PRODUCTS), "price": price} for price in prices]
        when = start + dt.timedelta(seconds=index * 7)
        events.append(
            {
                "type": "track",
                "event": "Order Completed",
                "userId": f"user-{user}",
                "anonymousId": f"anon-{user}",
                "messageId": f"msg-{seed}-{index}",
                "timestamp": when.isoformat().replace("+00:00", "Z"),
                "context": {
                    "traits": user_traits(user),
                    "library": {"name": "analytics-python", "version": "2.3.3"},
                    "ip": "203.0.113.7",
                },
                "properties": {
                    "order_id": f"order-{seed}-{index}",
                    "total": round(sum(prices), 2),
                    "currency": "EUR",
                    "channel": rng.choice(("web", "ios", "android")),
                    "products": products,
                },
            }
        )
    rng.shuffle(events)
    return events


def destination_config(
    base_url: str, token: str, directory_id: str, mailing_list_id: str, **settings: Any
) -> dict[str, Any]:
    """Our destination's config for the workload (default mappings plus the list and data)."""
    return {
        "settings": {"apiToken": token, "baseUrl": base_url, **settings},
        "subscriptions": [
            {
                "name": "orders",
                "action": "upsertContactTransaction",
                "subscribe": 'type = "track" and event = "Order Completed"',
                "useDefaultMappings": True,
                "mapping": {
                    "directoryId": directory_id,
                    "mailingListId": mailing_list_id,
                    "transactionData": {
                        "event": {"@path": "$.event"},
                        "order_id": {"@path": "$.properties.order_id"},
                        "total": {"@path": "$.properties.total"},
                        "currency": {"@path": "$.properties.currency"},
                        "channel": {"@path": "$.properties.channel"},
                        "products": {"@path": "$.properties.products"},
                    },
                },
            }
        ],
    }


def _parsed_embedded_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """``utils.ts`` ``parsedEmbeddedData``, defect D5 included: a non-primitive value is replaced
    by the JSON of the WHOLE object, not of the value."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, str | int | float | bool):
            out[key] = value
        else:
            out[key] = json.dumps(data, separators=(",", ":"))
    return out


def _transaction_date(timestamp: str) -> str:
    parsed = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return parsed.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class HostedBaseline:
    """The hosted destination's per-event algorithm over ``client.request`` (see module doc)."""

    def __init__(self, client: QualtricsClient, directory_id: str, mailing_list_id: str) -> None:
        self._client = client
        self._directory = directory_id
        self._list = mailing_list_id
        self._rng = random.Random()
        self.delivered = 0
        self.failed = 0

    def _key(self) -> str:
        return "".join(self._rng.choice(_KEY_ALPHABET) for _ in range(16))

    @staticmethod
    def _filter(ext_ref: str | None, phone: str | None, email: str | None) -> dict[str, Any]:
        """``createFilterBody``: extRef, phone, email in that order; one bare, several and-ed."""
        filters = [
            {"filterType": name, "comparison": "eq", "value": value}
            for name, value in (("extRef", ext_ref), ("phone", phone), ("email", email))
            if value
        ]
        if len(filters) == 1:
            return {"filter": filters[0]}
        return {"filter": {"conjunction": "and", "filters": filters}}

    async def send(self, event: Mapping[str, Any]) -> None:
        """Deliver one event: search, create when missing, one transaction."""
        traits = event["context"]["traits"]
        ext_ref = event.get("userId") or event.get("anonymousId")
        d = self._directory
        found = await self._client.request(
            "POST",
            f"/directories/{d}/contacts/search",
            json=self._filter(ext_ref, traits.get("phone"), traits.get("email")),
            idempotent=True,
        )
        elements = found.get("elements") or []
        if len(elements) > 1:
            raise RuntimeError("Unable to located one and only one contact")
        if elements:
            contact_id = elements[0]["id"]
        else:
            created = await self._client.request(
                "POST",
                f"/directories/{d}/contacts",
                json={
                    "firstName": traits.get("firstName"),
                    "lastName": traits.get("lastName"),
                    "email": traits.get("email"),
                    "phone": traits.get("phone"),
                    "extRef": ext_ref,
                    "language": "EN",
                    "unsubscribed": False,
                },
            )
            contact_id = created["id"]
        props = event["properties"]
        data = {
            "event": event["event"],
            "order_id": props["order_id"],
            "total": props["total"],
            "currency": props["currency"],
            "channel": props["channel"],
            "products": props["products"],
        }
        await self._client.request(
            "POST",
            f"/directories/{d}/transactions",
            json={
                self._key(): {
                    "contactId": contact_id,
                    "mailingListId": self._list,
                    "data": _parsed_embedded_data(data),
                    "transactionDate": _transaction_date(event["timestamp"]),
                }
            },
        )

    async def send_all(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Every event, ``CONCURRENCY`` at a time (like Segment's parallel deliveries)."""
        pending = iter(events)

        async def worker() -> None:
            for event in pending:
                try:
                    await self.send(event)
                    self.delivered += 1
                except Exception:
                    self.failed += 1

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
