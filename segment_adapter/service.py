"""The webhook receiver: Segment's Webhooks destinations POST events here, we deliver them.

``create_app(destination)`` builds an :mod:`aiohttp.web` application that accepts the deliveries
of Segment's classic Webhooks destination and of Webhooks (Actions): a single event or a JSON
array of events, POSTed to ``/`` (or ``/segment``). It answers only after the events were handled,
so Segment retries exactly what needs retrying (decisions.md 15):

* 200 when every event was delivered, was a duplicate of a delivered one, or was skipped because
  no subscription wanted it;
* 503 (with ``Retry-After`` when Qualtrics said how long to wait) when any event failed in a way
  a retry can fix (rate limit, 5xx, connection trouble), or when delivery did not finish within
  the per-request deadline (it goes on in the background; the delivery ledger makes Segment's
  redelivery safe);
* 400 for malformed JSON, for an invalid single event, or when every event of a batch failed for
  good; 207 for a batch whose events failed for good only in part;
* 401 when a shared secret is configured and ``X-Signature`` is missing or wrong; 413 for bodies
  above ``max_body_bytes``, refused without reading them whole.

The JSON body always lists each event's status and message. ``GET /healthz`` says the process is
up; ``GET /readyz`` says the config is valid and Qualtrics accepts the credentials (``whoami``,
cached for a few seconds, 503 when Qualtrics is unreachable, refuses the token or does not answer
within 3 s). :func:`serve` runs the app until SIGTERM/SIGINT and lets in-flight requests finish.

Requests
    The body is read as JSON whatever the ``Content-Type`` says: Segment sends
    ``application/json``, but ``curl -d`` labels JSON as form-encoded and proxies sometimes drop
    the header, and refusing those would only lose events (Segment does not retry a 4xx). A body
    that is not JSON gets 400, naming the content type it was sent as. The signature is checked
    over the raw bytes before anything is parsed.

Deadline
    ``deadline`` (default 4.5 s) runs from the request's arrival, body reading included: a body
    not received in time gets 408 (Segment retries it), a delivery not finished in time gets 503.

Batching
    An array is delivered with one ``send_batch`` call, so transactions of a batch share requests
    to Qualtrics. Single-event POSTs are delivered one by one, on purpose: gathering them into
    micro-batches would add a waiting window to every request's 5 s budget and tie unrelated
    requests' answers to one another. Turn on batching in Segment's Webhooks (Actions)
    destination instead (up to 1,000 events per request; first-element signatures are accepted).

Deployment
    Put TLS in front (a reverse proxy or load balancer; Segment refuses self-signed certificates)
    and keep the proxy's own request timeout above ``deadline`` and its body limit at least
    ``max_body_bytes``. Forward ``X-Signature`` untouched and do not re-encode the body: the
    signature covers the exact bytes Segment sent. Several processes may share one SQLite ledger
    (``settings.ledgerPath``) only on the same host: SQLite's file locking is not reliable on
    network file systems (NFS, SMB, most shared cloud volumes), so replicas on different hosts
    sharing the file risk a corrupt ledger and duplicate transactions. What replicas share is the
    config and Qualtrics (its rate limits count for all of them); what they do not share is the
    in-memory state (readiness cache, deliveries in flight, and the default in-memory ledger).
    For several hosts, give each replica its own ledger and route each Segment destination to one
    replica, or plug in a shared ledger (any :class:`~segment_adapter.ledger.DeliveryLedger`,
    e.g. backed by a database) through :func:`create_app`'s destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import math
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Final

from aiohttp import web

from ._js import json_parse, json_stringify
from .destination import EventResult, QualtricsDestination
from .errors import EventValidationError
from .events import Event, ParsedItem, parse_events

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BODY_BYTES",
    "SIGNATURE_HEADER",
    "create_app",
    "serve",
    "signature_matches",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES: Final = 4 * 1024 * 1024
"""Largest request body accepted (Segment's own batch limit is 4 MB)."""
DEFAULT_DEADLINE: Final = 4.5
"""Seconds a delivery may take before we answer 503 (Segment gives up after 5 s)."""
SIGNATURE_HEADER: Final = "X-Signature"
READINESS_TTL: Final = 5.0
READINESS_TIMEOUT: Final = 3.0
SEGMENT_TIMEOUT: Final = 5.0
_PATHS: Final = ("/", "/segment")

_DESTINATION: Final = web.AppKey("destination", QualtricsDestination)

ReadinessCheck = Callable[[], Awaitable[None]]


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """Check Segment's ``X-Signature`` (hex HMAC-SHA1 with the shared secret) for a raw body.

    The signature is accepted when it covers the body exactly as received, or, for a JSON array,
    when it covers only the first element serialised as ``JSON.stringify`` does: that is what
    Segment's Webhooks (Actions) destination signs when batching is on. Comparisons are
    constant-time.

    Args:
        secret: The shared secret configured in Segment.
        body: The raw request body.
        header: The ``X-Signature`` header value (``None`` when absent).

    Returns:
        ``True`` when the signature is valid for one of the two forms.
    """
    if not header:
        return False
    given = header.strip().lower().encode("ascii", "replace")
    key = secret.encode("utf-8")
    if hmac.compare_digest(hmac.new(key, body, hashlib.sha1).hexdigest().encode(), given):
        return True
    first = _first_element_bytes(body)
    if first is None:
        return False
    return hmac.compare_digest(hmac.new(key, first, hashlib.sha1).hexdigest().encode(), given)


def _first_element_bytes(body: bytes) -> bytes | None:
    stripped = body.lstrip()
    if not stripped.startswith(b"["):
        return None
    try:
        payload = json_parse(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, list) or not payload:
        return None
    try:
        text = json_stringify(payload[0])
    except (TypeError, RecursionError):
        return None
    return str(text).encode("utf-8")


class _ReceiverState:
    """Per-app settings and bookkeeping (background deliveries, readiness cache)."""

    def __init__(
        self,
        *,
        shared_secret: str | None,
        max_body_bytes: int,
        deadline: float,
        readiness_check: ReadinessCheck,
        readiness_ttl: float,
    ) -> None:
        self.shared_secret = shared_secret
        self.max_body_bytes = max_body_bytes
        self.deadline = deadline
        self.readiness_check = readiness_check
        self.readiness_ttl = readiness_ttl
        self.background: set[asyncio.Task[Any]] = set()
        self.ready_at: float | None = None
        self.ready_error: str | None = None
        self.checked_at = -math.inf
        self.ready_lock = asyncio.Lock()


_STATE: Final = web.AppKey("receiver_state", _ReceiverState)


def create_app(
    destination: QualtricsDestination,
    *,
    shared_secret: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    deadline: float = DEFAULT_DEADLINE,
    readiness_check: ReadinessCheck | None = None,
    readiness_ttl: float = READINESS_TTL,
    close_destination: bool = False,
) -> web.Application:
    """Build the webhook receiver application.

    Args:
        destination: Where events go. The app does not close it unless ``close_destination``.
        shared_secret: Segment's shared secret; when set, every delivery must carry a valid
            ``X-Signature`` (else 401). ``None`` or ``""`` accepts unsigned deliveries.
        max_body_bytes: Largest body accepted; larger ones get 413 without being read whole.
        deadline: Seconds to wait for delivery before answering 503 (keep it under Segment's
            5 s timeout); the delivery itself continues and a redelivery is deduplicated.
        readiness_check: Coroutine function raising when Qualtrics is not usable (default: the
            destination client's ``whoami``).
        readiness_ttl: Seconds a readiness answer is reused.
        close_destination: Close the destination when the app shuts down.

    Raises:
        ValueError: a non-positive ``max_body_bytes`` or ``deadline``.
    """
    if max_body_bytes <= 0:
        raise ValueError(f"max_body_bytes must be positive, got {max_body_bytes}")
    if not deadline > 0:
        raise ValueError(f"deadline must be positive seconds, got {deadline}")
    if deadline >= SEGMENT_TIMEOUT:
        logger.warning(
            "deadline %g s is not below Segment's %g s webhook timeout: Segment may give up "
            "(and retry) before the receiver answers",
            deadline,
            SEGMENT_TIMEOUT,
        )
    app = web.Application()
    app[_DESTINATION] = destination
    app[_STATE] = _ReceiverState(
        shared_secret=shared_secret or None,
        max_body_bytes=max_body_bytes,
        deadline=deadline,
        readiness_check=readiness_check or _whoami_check(destination),
        readiness_ttl=readiness_ttl,
    )
    for path in _PATHS:
        app.router.add_post(path, _receive)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.on_shutdown.append(_finish_background)
    if close_destination:
        app.on_cleanup.append(_close_destination)
    return app


def _whoami_check(destination: QualtricsDestination) -> ReadinessCheck:
    async def check() -> None:
        await destination.client.whoami()

    return check


async def _finish_background(app: web.Application) -> None:
    pending = list(app[_STATE].background)
    if pending:
        logger.info("waiting for %d delivery(ies) still in progress", len(pending))
        await asyncio.gather(*pending, return_exceptions=True)


async def _close_destination(app: web.Application) -> None:
    await app[_DESTINATION].aclose()


# ---------------------------------------------------------------------------------------------
# Handlers


def _json(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.json_response(dict(body), status=status, headers=headers)


def _problem(status: int, error: str, message: str, **extra: Any) -> web.Response:
    return _json(status, {"status": status, "error": error, "message": message, **extra})


async def _healthz(request: web.Request) -> web.Response:
    return _json(200, {"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    async with state.ready_lock:
        if time.monotonic() - state.checked_at >= state.readiness_ttl:
            try:
                await asyncio.wait_for(state.readiness_check(), timeout=READINESS_TIMEOUT)
                state.ready_error = None
            except asyncio.TimeoutError:
                state.ready_error = f"no answer within {READINESS_TIMEOUT:g} s"
            except Exception as exc:  # any failure means "not ready"; the reason is reported
                state.ready_error = f"{type(exc).__name__}: {exc}"
            state.checked_at = time.monotonic()
        error = state.ready_error
    if error is None:
        return _json(200, {"status": "ready"})
    return _json(503, {"status": "not ready", "message": f"Qualtrics is not usable: {error}"})


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or ``None`` as soon as it exceeds ``limit`` bytes (the rest is never read)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


async def _receive(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    arrived = time.monotonic()
    try:
        body = await asyncio.wait_for(
            _read_capped(request, state.max_body_bytes), timeout=state.deadline
        )
    except asyncio.TimeoutError:
        return _problem(
            408,
            "body_timeout",
            f"the request body did not arrive within {state.deadline:g} s; retry",
        )
    if body is None:
        return _problem(
            413,
            "body_too_large",
            f"the request body exceeds {state.max_body_bytes} bytes; send smaller batches",
        )
    if state.shared_secret is not None and not signature_matches(
        state.shared_secret, body, request.headers.get(SIGNATURE_HEADER)
    ):
        missing = SIGNATURE_HEADER not in request.headers
        return _problem(
            401,
            "missing_signature" if missing else "bad_signature",
            f"{SIGNATURE_HEADER} header is missing"
            if missing
            else f"{SIGNATURE_HEADER} does not match the body for the configured shared secret",
        )
    try:
        payload = json_parse(body)
    except RecursionError:
        return _problem(400, "malformed_json", "the body nests too deeply to decode")
    except ValueError as exc:
        hint = ""
        if "json" not in request.content_type:
            hint = f" (it was sent as {request.content_type}; send JSON, as Segment does)"
        return _problem(400, "malformed_json", f"the body is not valid JSON: {exc}{hint}")
    try:
        items = parse_events(payload)
    except EventValidationError as exc:
        return _problem(400, "invalid_payload", str(exc), field=exc.field)
    is_batch = isinstance(payload, list) or (isinstance(payload, dict) and "batch" in payload)
    remaining = state.deadline - (time.monotonic() - arrived)
    return await _deliver(request.app, items, is_batch=is_batch, timeout=remaining)


async def _deliver(
    app: web.Application, items: Sequence[ParsedItem], *, is_batch: bool, timeout: float
) -> web.Response:
    state = app[_STATE]
    events: list[Event] = [item.event for item in items if item.event is not None]
    results: Sequence[EventResult] = []
    if events:
        task = asyncio.ensure_future(app[_DESTINATION].send_batch(events))
        state.background.add(task)
        task.add_done_callback(state.background.discard)
        try:
            results = await asyncio.wait_for(asyncio.shield(task), timeout=max(timeout, 0.0))
        except asyncio.TimeoutError:
            logger.warning("delivery of %d event(s) exceeded %.1f s", len(events), state.deadline)
            return _timeout_answer(items, state.deadline)
        except Exception:
            # A bug, not bad input: log it and let Segment retry rather than drop the events.
            logger.exception("delivery of %d event(s) failed unexpectedly", len(events))
            return _problem(
                503,
                "internal_error",
                "the receiver failed unexpectedly while delivering; retry later",
            )
    return _answer(items, list(results), is_batch=is_batch)


def _timeout_answer(items: Sequence[ParsedItem], deadline: float) -> web.Response:
    message = (
        f"delivery did not finish within {deadline:g} s; it continues, and a redelivery of "
        "these events is safe (already delivered ones are not sent twice)"
    )
    entries = [
        _invalid_entry(item)
        if item.error is not None
        else {
            "index": item.index,
            "messageId": item.message_id,
            "status": "pending",
            "retryable": True,
            "message": message,
        }
        for item in items
    ]
    body = {"status": 503, "error": "deadline_exceeded", "message": message, "events": entries}
    return _json(503, body, {"Retry-After": "1"})


def _invalid_entry(item: ParsedItem) -> dict[str, Any]:
    assert item.error is not None
    return {
        "index": item.index,
        "messageId": item.message_id,
        "status": "failed",
        "retryable": False,
        "message": str(item.error),
        "field": item.error.field,
    }


def _result_entry(item: ParsedItem, result: EventResult) -> dict[str, Any]:
    details = result.to_dict()
    details.pop("message_id", None)
    return {
        "index": item.index,
        "messageId": item.message_id,
        **details,
        "message": _result_message(result),
    }


def _result_message(result: EventResult) -> str:
    if result.error:
        return result.error
    if result.status == "skipped":
        return "no subscription matched the event"
    if result.duplicate:
        return "already delivered (same messageId); not sent again"
    return "delivered"


def _answer(
    items: Sequence[ParsedItem], results: list[EventResult], *, is_batch: bool
) -> web.Response:
    delivered = iter(results)
    entries: list[dict[str, Any]] = []
    retry_after: float | None = None
    for item in items:
        if item.error is not None:
            entries.append(_invalid_entry(item))
            continue
        result = next(delivered)
        entries.append(_result_entry(item, result))
        if result.status == "failed" and result.retryable and result.retry_after is not None:
            retry_after = max(retry_after or 0.0, float(result.retry_after))
    failed = [e for e in entries if e["status"] == "failed"]
    retryable = [e for e in failed if e["retryable"]]
    headers: dict[str, str] = {}
    if retryable:
        status = 503
        if retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    elif not failed:
        status = 200
    elif not is_batch or len(failed) == len(entries):
        status = 400
    else:
        status = 207
    summary = {
        "status": status,
        "events": entries,
        "delivered": sum(1 for e in entries if e["status"] == "delivered"),
        "skipped": sum(1 for e in entries if e["status"] == "skipped"),
        "failed": len(failed),
    }
    return _json(status, summary, headers)


# ---------------------------------------------------------------------------------------------
# Runner


async def serve(
    destination: QualtricsDestination,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    shared_secret: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    deadline: float = DEFAULT_DEADLINE,
    shutdown_timeout: float = 10.0,
    on_started: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the receiver until SIGTERM or SIGINT (or until ``stop`` is set), then shut down cleanly.

    Shutdown stops accepting connections, lets requests in flight finish (up to
    ``shutdown_timeout`` seconds) and waits for deliveries that outlived their request deadline.
    The destination is not closed; the caller owns it.

    Args:
        destination: Where events go.
        host: Interface to listen on.
        port: TCP port (0 picks a free one; ``on_started`` receives the actual address).
        shared_secret: See :func:`create_app`.
        max_body_bytes: See :func:`create_app`.
        deadline: See :func:`create_app`.
        shutdown_timeout: Seconds in-flight requests get to finish on shutdown.
        on_started: Called with the listening URL once the server accepts connections.
        stop: Set it to stop the server (used by tests and embedding code).

    Raises:
        OSError: the address cannot be bound.
    """
    app = create_app(
        destination, shared_secret=shared_secret, max_body_bytes=max_body_bytes, deadline=deadline
    )
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout, access_log=logger)
    await runner.setup()
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
                installed.append(signum)
        if on_started is not None:
            on_started(_listening_url(runner, host))
        await stop.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
        await runner.cleanup()


def _listening_url(runner: web.AppRunner, host: str) -> str:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            shown = f"[{address[0]}]" if ":" in str(address[0]) else str(address[0])
            return f"http://{shown}:{address[1]}"
    return f"http://{host}"
