"""Generate the demo's ``events.jsonl`` deterministically (seeded; same output on every run).

Run ``python -m segment_adapter.demo._generate`` to rewrite the bundled file, or
``python -m segment_adapter.demo._generate --check`` to verify that it is up to date.

The stream mixes what real Segment sources send: ``identify`` calls with traits (camelCase and
snake_case), ``track`` calls for "Transaction Created" and "Order Completed" that carry the user's
traits only in ``context.traits`` (or not at all), page views and other events that no
subscription wants, redeliveries of earlier events (same ``messageId``), and a few invalid events.
"""

from __future__ import annotations

import json
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

SEED = 20240501
USERS = 36
START = datetime(2024, 5, 1, 8, 0, 0, tzinfo=timezone.utc)

FIRST_NAMES = [
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Barbara",
    "Ken",
    "Margaret",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "John",
    "Hedy",
    "Tim",
    "Joan",
    "Guido",
    "Katherine",
    "Donald",
    "Anita",
    "Bjarne",
    "Sophie",
    "Niklaus",
    "Carol",
    "Yukihiro",
    "Annie",
    "Brian",
    "Mary",
    "Larry",
    "Shafi",
    "Whitfield",
    "Lynn",
    "Vint",
    "Sally",
    "Ivan",
    "Jean",
    "Rasmus",
]
LAST_NAMES = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Liskov",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Backus",
    "Lamarr",
    "Berners-Lee",
    "Clarke",
    "Rossum",
    "Johnson",
    "Knuth",
    "Borg",
    "Stroustrup",
    "Wilson",
    "Wirth",
    "Shaw",
    "Matsumoto",
    "Easley",
    "Kernighan",
    "Keller",
    "Page",
    "Goldwasser",
    "Diffie",
    "Conway",
    "Cerf",
    "Floyd",
    "Sutherland",
    "Sammet",
    "Lerdorf",
]
PLANS = ("free", "team", "business", "enterprise")
LANGUAGES = ("EN", "EN", "EN", "DE", "FR", "ES")
CURRENCIES = ("USD", "USD", "EUR", "GBP")
CHANNELS = ("web", "ios", "android", "pos")
PAYMENT = ("card", "paypal", "invoice", "apple_pay")
PRODUCTS = (
    ("P-1001", "SKU-MUG-01", "Enamel mug", 14.0),
    ("P-1002", "SKU-TEE-02", "Logo t-shirt", 24.0),
    ("P-1003", "SKU-CAP-03", "Baseball cap", 19.5),
    ("P-1004", "SKU-BAG-04", "Canvas tote", 29.0),
    ("P-1005", "SKU-HOO-05", "Hoodie", 59.0),
    ("P-1006", "SKU-STK-06", "Sticker pack", 4.5),
    ("P-1007", "SKU-BTL-07", "Water bottle", 22.0),
)
USER_AGENTS = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148",
)
LIBRARIES = (
    {"name": "analytics.js", "version": "2.11.1"},
    {"name": "analytics-python", "version": "2.3.2"},
    {"name": "analytics-ios", "version": "4.1.8"},
)


def _user(rng: random.Random, index: int) -> dict[str, Any]:
    first, last = FIRST_NAMES[index], LAST_NAMES[index]
    slug = f"{first}.{last}".lower().replace("-", "")
    return {
        "userId": f"user-{1000 + index}",
        "anonymousId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "firstName": first,
        "lastName": last,
        "email": f"{slug}@example.com",
        "phone": f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        "plan": rng.choice(PLANS),
        "language": rng.choice(LANGUAGES),
        "library": rng.choice(LIBRARIES),
        "userAgent": rng.choice(USER_AGENTS),
        "ip": f"203.0.113.{rng.randint(1, 254)}",
        "snake_case": index % 5 == 4,
    }


class _Stream:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.clock = START
        self.events: list[dict[str, Any]] = []

    def _timestamp(self) -> str:
        self.clock += timedelta(
            seconds=self.rng.randint(20, 600), milliseconds=self.rng.randint(0, 999)
        )
        text = self.clock.isoformat(timespec="milliseconds")
        # analytics-python sends "+00:00", browsers send "Z": keep both forms in the sample.
        return text if self.rng.random() < 0.3 else text.replace("+00:00", "Z")

    def _base(self, user: dict[str, Any], kind: str) -> dict[str, Any]:
        timestamp = self._timestamp()
        return {
            "type": kind,
            "messageId": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "timestamp": timestamp,
            "sentAt": timestamp,
            "userId": user["userId"],
            "anonymousId": user["anonymousId"],
            "context": {
                "library": dict(user["library"]),
                "ip": user["ip"],
                "userAgent": user["userAgent"],
                "locale": "en-US",
            },
            "integrations": {},
        }

    def _traits(self, user: dict[str, Any]) -> dict[str, Any]:
        names = (
            {"first_name": user["firstName"], "last_name": user["lastName"]}
            if user["snake_case"]
            else {"firstName": user["firstName"], "lastName": user["lastName"]}
        )
        return {
            "email": user["email"],
            **names,
            "phone": user["phone"],
            "plan": user["plan"],
            "language": user["language"],
        }

    def identify(self, user: dict[str, Any]) -> None:
        event = self._base(user, "identify")
        event["traits"] = self._traits(user)
        self.events.append(event)

    def _with_context_traits(self, event: dict[str, Any], user: dict[str, Any]) -> None:
        # Real track calls carry traits in context.traits (if at all), never at the top level.
        if self.rng.random() < 0.75:
            event["context"]["traits"] = {
                key: value
                for key, value in self._traits(user).items()
                if key in ("email", "firstName", "lastName", "first_name", "last_name", "phone")
            }

    def transaction(self, user: dict[str, Any]) -> None:
        event = self._base(user, "track")
        event["event"] = "Transaction Created"
        event["properties"] = {
            "transactionId": f"T-{self.rng.randint(100000, 999999)}",
            "amount": round(self.rng.uniform(5, 400), 2),
            "currency": self.rng.choice(CURRENCIES),
            "paymentMethod": self.rng.choice(PAYMENT),
            "channel": self.rng.choice(CHANNELS),
        }
        self._with_context_traits(event, user)
        self.events.append(event)

    def order(self, user: dict[str, Any]) -> None:
        event = self._base(user, "track")
        products: list[dict[str, Any]] = []
        for product_id, sku, name, price in self.rng.sample(PRODUCTS, self.rng.randint(1, 3)):
            products.append(
                {
                    "product_id": product_id,
                    "sku": sku,
                    "name": name,
                    "price": price,
                    "quantity": self.rng.randint(1, 3),
                }
            )
        total = round(sum(p["price"] * p["quantity"] for p in products), 2)
        event["event"] = "Order Completed"
        event["properties"] = {
            "order_id": f"O-{self.rng.randint(10000, 99999)}",
            "total": total,
            "revenue": round(total / 1.2, 2),
            "shipping": 4.95 if total < 50 else 0,
            "currency": self.rng.choice(CURRENCIES),
            "coupon": self.rng.choice((None, "SPRING10", "WELCOME")),
            "products": products,
        }
        self._with_context_traits(event, user)
        self.events.append(event)

    def noise(self, user: dict[str, Any]) -> None:
        if self.rng.random() < 0.5:
            event = self._base(user, "page")
            event["name"] = self.rng.choice(("Home", "Pricing", "Checkout"))
            event["properties"] = {"path": "/" + event["name"].lower()}
        else:
            event = self._base(user, "track")
            event["event"] = self.rng.choice(("Product Viewed", "Cart Viewed", "Signed In"))
            event["properties"] = {"source": self.rng.choice(CHANNELS)}
        self.events.append(event)

    def redeliver(self, count: int) -> None:
        # Segment retries a delivery after a timeout: the same message (same messageId) again.
        for original in self.rng.sample(self.events, count):
            self.events.insert(
                self.rng.randint(self.events.index(original) + 1, len(self.events)),
                json.loads(json.dumps(original)),
            )

    def invalid(self, user: dict[str, Any]) -> None:
        no_ids = self._base(user, "identify")
        del no_ids["userId"], no_ids["anonymousId"]
        no_ids["traits"] = {"email": "nobody@example.com"}
        no_event = self._base(user, "track")
        no_event["properties"] = {"amount": 10}
        bad_time = self._base(user, "track")
        bad_time["event"] = "Transaction Created"
        bad_time["timestamp"] = "yesterday at noon"
        bad_time["properties"] = {"transactionId": "T-000000", "amount": 1.0, "currency": "USD"}
        for event in (no_ids, no_event, bad_time):
            self.events.insert(self.rng.randint(len(self.events) // 4, len(self.events)), event)


def generate() -> str:
    """Return the demo events as JSON Lines text (deterministic)."""
    rng = random.Random(SEED)
    users = [_user(rng, index) for index in range(USERS)]
    stream = _Stream(rng)
    for user in users:
        stream.identify(user)
    actions = (stream.transaction, stream.order, stream.noise, stream.noise)
    for _ in range(230):
        rng.choice(actions)(rng.choice(users))
    for user in rng.sample(users, 8):  # a profile update later in the day
        stream.identify(user)
    stream.redeliver(12)
    stream.invalid(rng.choice(users))
    return "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in stream.events)


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` verify) the bundled ``events.jsonl``."""
    args = sys.argv[1:] if argv is None else argv
    target = Path(__file__).with_name("events.jsonl")
    text = generate()
    if "--check" in args:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is out of date: run python -m segment_adapter.demo._generate")
            return 1
        return 0
    target.write_text(text, encoding="utf-8")
    print(f"wrote {len(text.splitlines())} events to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
