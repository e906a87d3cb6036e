"""Deterministic delivery identities and transaction keys (decision 11, fixes D2).

The hosted destination keys every transaction with a fresh random id, so Segment's retry of an
event whose answer was lost creates a second transaction. Here the key is derived from what
identifies the delivery, so a redelivered event produces the same key:

* **source**: ``"messageId:" + messageId`` when the event has a ``messageId``; otherwise
  ``"content:" + sha256_hex(canonical JSON of the event)`` (the event's JSON with keys sorted,
  compact separators, UTF-8), so only a byte-for-byte identical event gets the same key;
* **subscription key**: the subscription's ``name`` when it has one, else
  ``"<action>#<n>"`` for the n-th (0-based) subscription of that action in the configuration;
* **transaction key** = the first 20 characters of the lowercase, unpadded RFC 4648 base32 of
  ``sha256("qualtrics-segment/1\\n" + subscription_key + "\\n" + source)`` (UTF-8): 100 bits,
  letters ``a-z`` and digits ``2-7``.

Name your subscriptions to keep keys (and ledger entries) stable when you reorder them.
The public copy of this description is in :mod:`segment_adapter.destination`; keep them in sync.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Final

__all__ = ["KEY_LENGTH", "delivery_source", "transaction_key"]

KEY_LENGTH: Final = 20
_NAMESPACE: Final = "qualtrics-segment/1"


def delivery_source(message_id: str | None, raw: Mapping[str, Any]) -> str:
    """What identifies one delivery of an event: its ``messageId``, else a hash of its JSON."""
    if message_id:
        return f"messageId:{message_id}"
    canonical = json.dumps(
        raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return "content:" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def transaction_key(subscription_key: str, source: str) -> str:
    """The Qualtrics transaction key for one delivery of one subscription (see module docs)."""
    material = f"{_NAMESPACE}\n{subscription_key}\n{source}".encode("utf-8", "surrogatepass")
    digest = hashlib.sha256(material).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:KEY_LENGTH]
