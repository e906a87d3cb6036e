"""Shared helpers for the destination unit tests (aioresponses against iad1)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from aioresponses import CallbackResult, aioresponses
from yarl import URL

from qualtrics_sdk import QualtricsClient, RetryPolicy

TOKEN = "tok-SECRET-4242"
API = "https://iad1.qualtrics.com/API/v3"
CONTACTS = f"{API}/directories/POOL_1/contacts"
SEARCH = re.compile(rf"^{re.escape(CONTACTS)}/search(\?.*)?$")
TRANSACTIONS = f"{API}/directories/POOL_1/transactions"
META = {"httpStatus": "200 - OK", "requestId": "req-1"}


def make_client() -> QualtricsClient:
    policy = RetryPolicy(max_retries=0, initial_delay=0)
    return QualtricsClient(api_token=TOKEN, datacenter="iad1", retry_policy=policy)


def envelope(result: Any) -> dict[str, Any]:
    return {"result": result, "meta": META}


def error_body(status: int, message: str) -> dict[str, Any]:
    return {
        "meta": {
            "httpStatus": f"{status} - Error",
            "requestId": "req-err",
            "error": {"errorMessage": message, "errorCode": "QERR"},
        }
    }


def created(**ids: str) -> dict[str, Any]:
    return envelope({"createdTransactions": {key: {"id": value} for key, value in ids.items()}})


def create_all(url: Any, **kwargs: Any) -> CallbackResult:
    """aioresponses callback: Qualtrics creating every transaction of the request."""
    body = json.loads(kwargs["data"])
    return CallbackResult(payload=created(**{key: f"CTR_{key[:6]}" for key in body}))


def found(*ids: str) -> dict[str, Any]:
    return envelope({"elements": [{"id": cid} for cid in ids]})


def listing(*transactions: dict[str, Any]) -> dict[str, Any]:
    return envelope({"elements": list(transactions), "nextPage": None})


def sent(m: aioresponses) -> list[tuple[str, str, Any]]:
    """Every request: method, path, decoded JSON body (grouped by URL, first-seen order)."""
    out = []
    for (method, url), calls in m.requests.items():
        for call in calls:
            data = call.kwargs.get("data")
            out.append((method, URL(str(url)).path, json.loads(data) if data else None))
    return out


def expected_key(subscription_key: str, source: str) -> str:
    """The documented derivation (segment_adapter._keys), written out independently."""
    material = f"qualtrics-segment/1\n{subscription_key}\n{source}".encode()
    return base64.b32encode(hashlib.sha256(material).digest()).decode().lower()[:20]


def track(message_id: str = "msg-1", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "track",
        "event": "Transaction Created",
        "userId": "user-1",
        "messageId": message_id,
        "timestamp": "2024-05-01T13:00:00.000Z",
        "properties": {"orderId": "A1"},
        "context": {"traits": {"email": "ann@example.com", "phone": "+15550100"}},
    }
    event.update(extra)
    return event


def identify(message_id: str = "msg-id-1", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "identify",
        "userId": "user-1",
        "messageId": message_id,
        "timestamp": "2024-05-01T13:00:00Z",
        "traits": {
            "directoryId": "POOL_1",
            "email": "ann@example.com",
            "phone": "+15550100",
            "firstName": "Ann",
            "lastName": "Lee",
        },
    }
    event.update(extra)
    return event
