"""Receive Segment webhooks in your own aiohttp app and deliver them with ``segment_adapter``.

The package ships a ready-made receiver (``qualtrics-segment serve``); this example shows the same
idea with the library directly, for embedding in an existing aiohttp service:

1. verify Segment's ``X-Signature`` (hex HMAC-SHA1 of the raw body with the shared secret);
2. hand the event (or the array of events) to ``QualtricsDestination.send_batch``;
3. answer so that Segment retries exactly what needs retrying: 200 when everything was delivered,
   skipped or was a duplicate; 503 (with ``Retry-After``) when any event failed transiently; 400
   when the only event is invalid; 207 with per-event results for a batch of mixed outcomes.

Redeliveries are safe: the destination's delivery ledger recognizes an event's ``messageId``.

    QUALTRICS_API_TOKEN=... SEGMENT_SHARED_SECRET=... \\
        python examples/segment_webhook_app.py --config destination.json --port 8080
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from segment_adapter import EventResult, QualtricsDestination

DESTINATION = web.AppKey("destination", QualtricsDestination)
SECRET = web.AppKey("secret", str)
MAX_BODY_BYTES = 4 * 1024 * 1024


def signature_ok(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` is the hex HMAC-SHA1 of ``body`` (constant-time comparison)."""
    if not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, signature.strip().lower())


def answer(results: Sequence[EventResult]) -> web.Response:
    """The HTTP answer for a delivery, from the per-event results."""
    body: dict[str, Any] = {"results": [result.to_dict() for result in results]}
    if any(result.retryable for result in results):
        waits = [result.retry_after for result in results if result.retry_after is not None]
        headers = {"Retry-After": str(math.ceil(max(waits)))} if waits else {}
        return web.json_response(body, status=503, headers=headers)
    failed = [result for result in results if result.status == "failed"]
    if not failed:
        return web.json_response(body, status=200)
    return web.json_response(body, status=400 if len(results) == 1 else 207)


async def receive(request: web.Request) -> web.Response:
    """``POST /``: one Segment event or a JSON array of events."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return web.json_response({"error": "body too large"}, status=413)
    body = await request.read()
    secret = request.app[SECRET]
    if secret and not signature_ok(secret, body, request.headers.get("X-Signature")):
        return web.json_response({"error": "missing or wrong X-Signature"}, status=401)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return web.json_response({"error": f"malformed JSON: {error}"}, status=400)
    events = payload if isinstance(payload, list) else [payload]
    results = await request.app[DESTINATION].send_batch(events)
    return answer(results)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(destination: QualtricsDestination, secret: str) -> web.Application:
    """An app delivering to ``destination``; an empty ``secret`` accepts unsigned requests."""
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[DESTINATION] = destination
    app[SECRET] = secret
    app.router.add_post("/", receive)
    app.router.add_get("/healthz", healthz)

    async def close_destination(app: web.Application) -> None:
        await app[DESTINATION].aclose()

    app.on_cleanup.append(close_destination)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="destination configuration (JSON)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    secret = os.environ.get("SEGMENT_SHARED_SECRET", "")
    if not secret:
        print("warning: SEGMENT_SHARED_SECRET is not set; accepting unsigned deliveries")
    destination = QualtricsDestination.from_config(args.config)
    web.run_app(create_app(destination, secret), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
