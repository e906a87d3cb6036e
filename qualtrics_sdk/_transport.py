"""The HTTP transport: one aiohttp session, retries, rate limiting, concurrency, hooks, logging.

Resources never touch aiohttp; they hand the transport a method, a path and a body, and get back a
decoded :class:`APIResponse` or a typed error.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json as jsonlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import attrs
from yarl import URL

from ._auth import Auth
from ._envelope import Decoded, Meta, decode_response
from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ResponseValidationError,
    ValidationError,
)
from ._hosts import API_PATH, is_qualtrics_host, proxy_notice_host
from ._ratelimit import TokenBucket
from ._redact import redact_headers, redact_url
from ._retry import IDEMPOTENT_METHODS, RetryBudget, RetryPolicy

__all__ = ["APIResponse", "RequestEvent", "ResponseEvent", "ResponseInfo", "Transport"]

logger = logging.getLogger("qualtrics_sdk")


@attrs.frozen(kw_only=True)
class ResponseInfo:
    """What is known about the HTTP exchange behind a result.

    Attributes:
        status: HTTP status of the final attempt.
        request_id: Qualtrics' ``meta.requestId``.
        notice: Qualtrics' ``meta.notice`` (for example the "Request proxied" notice).
        retries_taken: Retries made before this response.
        elapsed: Seconds from the first attempt to the final response.
    """

    status: int
    request_id: str | None = None
    notice: str | None = None
    retries_taken: int = 0
    elapsed: float = 0.0


@attrs.frozen(kw_only=True)
class APIResponse:
    """A decoded successful response: ``result`` plus the exchange's :class:`ResponseInfo`."""

    info: ResponseInfo
    result: Any
    body: Any
    url: URL


@attrs.frozen(kw_only=True)
class RequestEvent:
    """Passed to ``on_request`` hooks before each attempt (headers already redacted)."""

    method: str
    url: str
    attempt: int
    headers: Mapping[str, str]


@attrs.frozen(kw_only=True)
class ResponseEvent:
    """Passed to ``on_response`` hooks after each attempt, failed or not."""

    method: str
    url: str
    attempt: int
    status: int | None
    elapsed: float
    request_id: str | None = None
    error: str | None = None


Hook = Callable[[Any], Awaitable[None] | None]


class _Raw:
    """One attempt's answer (a plain slots class: it is built once per request)."""

    __slots__ = ("auth_headers", "body", "headers", "status")

    def __init__(
        self, status: int, headers: Mapping[str, str], body: bytes, auth_headers: Mapping[str, str]
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.auth_headers = auth_headers


class _AttemptFailed(Exception):
    """Internal: one attempt failed at the connection level."""

    def __init__(self, error: APIConnectionError, *, retryable: bool, timeout: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable
        self.timeout = timeout


class Transport:
    """Sends requests for one client. Created and owned by :class:`QualtricsClient`."""

    def __init__(
        self,
        *,
        origin: URL,
        auth: Auth,
        timeout: float,
        retry_policy: RetryPolicy,
        retry_budget: RetryBudget | None,
        rate_limit: float | None,
        max_concurrency: int | None,
        session: aiohttp.ClientSession | None,
        user_agent: str,
        follow_proxy_notice: bool,
        on_request: Sequence[Hook] = (),
        on_response: Sequence[Hook] = (),
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1 (or None for no cap)")
        self.origin = origin
        self.auth = auth
        self.timeout = float(timeout)
        self._client_timeout = _client_timeout(self.timeout)
        self.retry_policy = retry_policy
        self.retry_budget = retry_budget
        self.rate_limiter = TokenBucket(rate_limit) if rate_limit is not None else None
        self.max_concurrency = max_concurrency
        self.follow_proxy_notice = follow_proxy_notice
        self._session = session
        self._owns_session = session is None
        self._user_agent = user_agent
        self._on_request = tuple(on_request)
        self._on_response = tuple(on_response)
        self._trace_configs = list(trace_configs)
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._semaphore: asyncio.Semaphore | None = None
        self._notices_seen: set[str] = set()
        self._closed = False

    # --- lifecycle ---------------------------------------------------------------------------

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("this QualtricsClient is closed; create a new one")
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.max_concurrency or 0, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector,
                trace_configs=self._trace_configs or None,
                headers={"User-Agent": self._user_agent},
            )
            # aiohttp silently re-sends an idempotent request once when a pooled connection turns
            # out closed; our retry loop owns re-sends (and counts them), so switch that off.
            if hasattr(self._session, "_retry_connection"):
                self._session._retry_connection = False
        return self._session

    def _get_semaphore(self) -> asyncio.Semaphore | None:
        if self.max_concurrency is None:
            return None
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.max_concurrency)
        return self._semaphore

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session, once created."""
        return self._session

    async def close(self) -> None:
        """Close the session if this transport created it. Idempotent."""
        self._closed = True
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    # --- URLs ----------------------------------------------------------------------------------

    def api_url(self, path: str) -> URL:
        """The absolute URL of an API path such as ``/directories`` (already percent-encoded)."""
        prefix = self.origin.path.rstrip("/")
        return self.origin.with_path(f"{prefix}{API_PATH}{path}", encoded=True)

    def resolve(self, target: str | URL) -> URL:
        """An absolute URL stays as given (verbatim); a path is placed under the API root."""
        if isinstance(target, URL):
            return target if target.is_absolute() else self.api_url(str(target))
        if target.startswith(("http://", "https://")):
            return URL(target, encoded=True)
        return self.api_url(target)

    # --- requests ------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        target: str | URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        require_json: bool = True,
        timeout: float | None = None,
    ) -> APIResponse:
        """Send one logical request with retries; return the decoded response.

        Args:
            method: HTTP method.
            target: A path under ``/API/v3`` (``/directories``) or an absolute URL.
            params: Query parameters (``None`` values dropped; booleans sent as ``true``/``false``).
            json: JSON body.
            data: Form body (used for OAuth).
            headers: Extra headers.
            idempotent: Whether replaying the request is harmless; defaults to ``True`` for GET,
                HEAD, OPTIONS, PUT and DELETE. Mark read-only POSTs (search) as idempotent.
            authenticate: Attach the client's credentials.
            require_json: Treat a non-JSON 2xx body as a :class:`ResponseValidationError`.
            timeout: Per-request timeout override in seconds.

        Raises:
            APIStatusError: (subclass by status) for error responses after retries.
            APIConnectionError: / APITimeoutError when no response arrived after retries; with
                ``ambiguous=True`` when a non-idempotent request may have been applied.
            ResponseValidationError: for an undecodable success body.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        url = self.resolve(target)
        query = _encode_params(params)
        body = _encode_json(json)
        loop = asyncio.get_running_loop()
        started = loop.time()
        retries = 0
        replayed_auth = False
        maybe_applied = False  # an earlier attempt may have reached the server
        while True:
            try:
                raw = await self._attempt(
                    method, url, query, body, data, headers, authenticate, timeout, retries
                )
            except _AttemptFailed as failed:
                if failed.retryable and (idempotent or not failed.error.ambiguous):
                    delay = self._retry_delay(retries, None, timeout=failed.timeout)
                    if delay is not None:
                        maybe_applied = maybe_applied or failed.error.ambiguous
                        await self._sleep(delay)
                        retries += 1
                        continue
                failed.error.retries_taken = retries
                failed.error.ambiguous = failed.error.ambiguous and not idempotent
                raise failed.error from failed.error.__cause__
            try:
                decoded = self._decode(method, url, raw, require_json)
            except APIStatusError as err:
                if err.status == 404 and method == "DELETE" and maybe_applied:
                    # The first attempt deleted it and its answer was lost: the caller's goal holds.
                    logger.debug("%s %s: 404 on a retry after a lost answer; deleted", method, url)
                    decoded = Decoded(status=204, result=None, meta=Meta(), body=None)
                    raw = _Raw(204, {}, b"", raw.auth_headers)
                    break
                if (
                    isinstance(err, AuthenticationError)
                    and authenticate
                    and not replayed_auth
                    and self.auth.invalidate(raw.auth_headers)
                ):
                    replayed_auth = True
                    continue
                if self.retry_policy.should_retry_status(err.status, idempotent=idempotent):
                    delay = self._retry_delay(retries, err.retry_after, timeout=False)
                    if delay is not None:
                        await self._sleep(delay)
                        retries += 1
                        continue
                err.retries_taken = retries
                err.ambiguous = not idempotent and err.status >= 500
                raise
            except ResponseValidationError as err:
                err.retries_taken = retries
                raise
            break
        if self.retry_budget is not None:
            self.retry_budget.record_success()
        self._handle_notice(decoded.meta.notice)
        info = ResponseInfo(
            status=raw.status,
            request_id=decoded.meta.request_id,
            notice=decoded.meta.notice,
            retries_taken=retries,
            elapsed=loop.time() - started,
        )
        return APIResponse(info=info, result=decoded.result, body=decoded.body, url=url)

    def _retry_delay(
        self, retries: int, retry_after: float | None, *, timeout: bool
    ) -> float | None:
        """The delay before the next retry, or ``None`` when retries or budget are exhausted."""
        if retries >= self.retry_policy.max_retries:
            return None
        if self.retry_budget is not None and not self.retry_budget.try_acquire(timeout=timeout):
            logger.warning("retry budget exhausted; not retrying")
            return None
        return self.retry_policy.delay(retries, retry_after, self._rng)

    def _decode(self, method: str, url: URL, raw: _Raw, require_json: bool) -> Decoded:
        if 300 <= raw.status < 400:
            location = raw.headers.get("Location", "")
            raise APIStatusError(
                f"unexpected redirect to {redact_url(location) if location else '(none)'}: "
                "redirects are not followed, so credentials never leave the configured host",
                status=raw.status,
                method=method,
                url=redact_url(url),
            )
        try:
            return decode_response(
                raw.status, raw.headers, raw.body, method=method, require_json=require_json
            )
        except (APIStatusError, ResponseValidationError) as err:
            err.url = redact_url(url)  # rendered only when it is shown
            raise

    async def _attempt(
        self,
        method: str,
        url: URL,
        query: Mapping[str, str] | None,
        body: bytes | None,
        data: Mapping[str, str] | None,
        extra_headers: Mapping[str, str] | None,
        authenticate: bool,
        timeout: float | None,
        attempt: int,
    ) -> _Raw:
        """One attempt, paced by the rate limiter and the concurrency cap (one coroutine: this
        is the per-request hot path)."""
        if self.rate_limiter is not None:
            await self.rate_limiter.acquire()
        semaphore = self._get_semaphore()
        if semaphore is not None:
            await semaphore.acquire()
        try:
            session = self._get_session()
            auth_headers: Mapping[str, str] = {}
            if authenticate:
                auth_headers = self.auth.cached_headers() or await self.auth.headers(self)
            headers: Mapping[str, str] = auth_headers
            if body is not None or extra_headers:
                headers = dict(auth_headers)
                if body is not None:
                    headers["Content-Type"] = "application/json"
                if extra_headers:
                    headers.update(extra_headers)
            # Rendering the redacted URL costs more than the rest of this method's bookkeeping,
            # so it is done only when a hook or a debug log will show it (and on failure).
            observed = bool(self._on_request or self._on_response) or logger.isEnabledFor(
                logging.DEBUG
            )
            shown = _shown_url(url, query) if observed else ""
            if self._on_request:
                await _call_hooks(
                    self._on_request,
                    RequestEvent(
                        method=method, url=shown, attempt=attempt, headers=redact_headers(headers)
                    ),
                )
            client_timeout = self._client_timeout if timeout is None else _client_timeout(timeout)
            started = time.monotonic()
            failure: _AttemptFailed | None = None
            try:
                async with session.request(
                    method,
                    url,
                    params=query,
                    data=body if body is not None else data,
                    headers=headers,
                    allow_redirects=False,
                    timeout=client_timeout,
                ) as response:
                    payload = await response.read()
                    raw = _Raw(response.status, response.headers, payload, auth_headers)
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                failure = _failure(method, shown or _shown_url(url, query), exc)
            elapsed = time.monotonic() - started
            if failure is not None:
                if observed:
                    await self._observe(method, shown, attempt, elapsed, None, failure.error)
                raise failure
            if observed:
                await self._observe(method, shown, attempt, elapsed, raw, None)
            return raw
        finally:
            if semaphore is not None:
                semaphore.release()

    async def _observe(
        self,
        method: str,
        shown: str,
        attempt: int,
        elapsed: float,
        raw: _Raw | None,
        error: APIConnectionError | None,
    ) -> None:
        """Log an attempt at DEBUG and tell the ``on_response`` hooks about it."""
        if raw is None:
            logger.debug("%s %s attempt %d: %s", method, shown, attempt, error)
            status, request_id = None, None
        else:
            status, request_id = raw.status, _peek_request_id(raw.body)
            logger.debug(
                "%s %s -> %d in %.1f ms (requestId=%s, attempt=%d)",
                method,
                shown,
                status,
                elapsed * 1000,
                request_id,
                attempt,
            )
        if self._on_response:
            event = ResponseEvent(
                method=method,
                url=shown,
                attempt=attempt,
                status=status,
                elapsed=elapsed,
                request_id=request_id,
                error=None if error is None else str(error),
            )
            await _call_hooks(self._on_response, event)

    def _handle_notice(self, notice: str | None) -> None:
        if not notice:
            return
        if notice not in self._notices_seen:
            self._notices_seen.add(notice)
            logger.warning("Qualtrics notice: %s", notice)
        if not self.follow_proxy_notice or not is_qualtrics_host(self.origin.host):
            return
        host = proxy_notice_host(notice)
        if host and host != self.origin.host:
            logger.warning(
                "switching API host from %s to %s (follow_proxy_notice=True)",
                self.origin.host,
                host,
            )
            self.origin = URL.build(scheme="https", host=host)

    # --- OAuth -----------------------------------------------------------------------------------

    async def fetch_oauth_token(
        self, client_id: str, client_secret: str, scope: str | None
    ) -> tuple[str, float]:
        """POST the client-credentials grant to ``{origin}/oauth2/token``.

        Raises:
            AuthenticationError: when Qualtrics refuses the client credentials.
            ResponseValidationError: when the reply lacks ``access_token`` / ``expires_in``.
        """
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        form = {"grant_type": "client_credentials"}
        if scope:
            form["scope"] = scope
        prefix = self.origin.path.rstrip("/")
        response = await self.request(
            "POST",
            self.origin.with_path(f"{prefix}/oauth2/token"),
            data=form,
            headers={"Authorization": f"Basic {basic}"},
            authenticate=False,
            idempotent=True,
        )
        body = response.body
        token = body.get("access_token") if isinstance(body, dict) else None
        expires_in = body.get("expires_in", 3600) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise ResponseValidationError(
                "the OAuth token endpoint did not return access_token and expires_in",
                body=None,
                method="POST",
                url=redact_url(response.url),
            )
        return token, float(expires_in)


async def _call_hooks(hooks: Sequence[Hook], event: Any) -> None:
    for hook in hooks:
        result = hook(event)
        if inspect.isawaitable(result):
            await result


def _failure(method: str, shown: str, exc: BaseException) -> _AttemptFailed:
    """Classify a connection-level failure: was the request certainly not sent, may it be
    retried, was it a timeout."""
    not_sent = isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError)
    # A certificate problem will not go away by retrying.
    retryable = not isinstance(exc, aiohttp.ClientConnectorCertificateError)
    is_timeout = isinstance(exc, asyncio.TimeoutError | aiohttp.ServerTimeoutError)
    cls = APITimeoutError if is_timeout else APIConnectionError
    what = "timed out" if is_timeout else f"failed: {type(exc).__name__}: {exc}"
    if not_sent:
        what += " (the request was not sent)"
    error = cls(f"{method} {shown} {what}", method=method, url=shown, ambiguous=not not_sent)
    error.__cause__ = exc
    return _AttemptFailed(error, retryable=retryable, timeout=is_timeout)


def _client_timeout(seconds: float) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=seconds, sock_connect=min(seconds, 10.0))


def _shown_url(url: URL, query: Mapping[str, str] | None) -> str:
    """The URL with its query, as logs, hooks and error messages may show it (redacted)."""
    return redact_url(url.with_query(query) if query else url)


def _encode_params(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    if not params:
        return None
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = str(value)
    return out or None


def _encode_json(value: Any) -> bytes | None:
    if value is None:
        return None
    text = jsonlib.dumps(value, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # A lone surrogate (e.g. from a JSON "\ud800" escape) cannot be sent as UTF-8.
        raise ValidationError(
            f"the request body holds text that is not valid Unicode ({exc.reason}: "
            f"{text[exc.start : exc.end]!r}); remove or replace the lone surrogate"
        ) from None


def _peek_request_id(body: bytes) -> str | None:
    """Cheaply find ``"requestId":"..."`` for logging without decoding the body twice."""
    marker = body.find(b'"requestId"')
    if marker < 0:
        return None
    start = body.find(b'"', body.find(b":", marker) + 1)
    end = body.find(b'"', start + 1)
    if start < 0 or end < 0:
        return None
    return body[start + 1 : end].decode("utf-8", "replace")
