"""Sans-I/O decoding of Qualtrics' response envelope into results and typed errors.

Qualtrics answers ``{"result": ..., "meta": {"httpStatus", "requestId", "notice", "error"}}``.
Everything here is a pure function of ``(status, headers, body)``, so it is tested without HTTP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import attrs

from ._errors import APIStatusError, ResponseValidationError, status_error_class

__all__ = ["Decoded", "Meta", "decode_response", "parse_retry_after"]

_HTTP_STATUS_CODE = re.compile(r"^\s*(\d{3})\b")


@attrs.frozen(kw_only=True)
class Meta:
    """The ``meta`` object of a Qualtrics response. Every field is optional on the wire.

    Attributes:
        http_status: e.g. ``"200 - OK"``.
        request_id: Qualtrics' request id; quote it to support.
        notice: e.g. "Request proxied. For faster response times, use this host instead: X".
        error_code: ``error.errorCode``, when present.
        error_message: ``error.errorMessage``, when present.
        retry_after: ``error.retryAfter`` in seconds, when present.
    """

    http_status: str | None = None
    request_id: str | None = None
    notice: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: float | None = None

    @property
    def status_code(self) -> int | None:
        """The numeric code at the start of ``http_status``, if any."""
        if self.http_status is None:
            return None
        match = _HTTP_STATUS_CODE.match(self.http_status)
        return int(match.group(1)) if match else None


@attrs.frozen(kw_only=True)
class Decoded:
    """A successful response: the ``result`` payload and the ``meta`` object."""

    status: int
    result: Any
    meta: Meta
    body: Any


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else (None if value is None else str(value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def parse_meta(body: Any) -> Meta:
    """Read the ``meta`` object of a decoded body, tolerating any missing or odd field."""
    meta = body.get("meta") if isinstance(body, dict) else None
    if not isinstance(meta, dict):
        return Meta()
    error = meta.get("error")
    error = error if isinstance(error, dict) else {}
    return Meta(
        http_status=_text(meta.get("httpStatus")),
        request_id=_text(meta.get("requestId")),
        notice=_text(meta.get("notice")),
        error_code=_text(error.get("errorCode")),
        error_message=_text(error.get("errorMessage")),
        retry_after=_number(error.get("retryAfter")),
    )


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``.

    ``now`` is the current POSIX time (injectable for tests). Returns ``None`` when absent or
    unparsable; never a negative number.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        ms = _number(lowered["retry-after-ms"])
        if ms is not None:
            return max(ms / 1000.0, 0.0)
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if now is None:
        import time

        now = time.time()
    return max(when.timestamp() - now, 0.0)


def _load_body(body: bytes) -> tuple[Any, bool]:
    """Return ``(decoded, is_json)``; empty bodies decode to ``None``."""
    if not body or body.isspace():
        return None, True
    try:
        return json.loads(body), True
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return body.decode("utf-8", "replace"), False


def decode_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    method: str = "",
    url: str = "",
    require_json: bool = True,
) -> Decoded:
    """Decode one HTTP response.

    A response is an error when the HTTP status is not 2xx, or when ``meta.httpStatus`` or
    ``meta.error`` says so inside a 2xx (some Qualtrics errors arrive that way).

    Raises:
        APIStatusError: (a status-specific subclass) for error responses.
        ResponseValidationError: for a 2xx body that is not JSON when ``require_json`` is set.
    """
    decoded, is_json = _load_body(body)
    meta = parse_meta(decoded)
    meta_status = meta.status_code
    effective = status
    if 200 <= status < 300 and meta_status is not None and not 200 <= meta_status < 300:
        effective = meta_status
    is_error = not 200 <= effective < 300 or (meta.error_message is not None and is_json)
    if is_error:
        raise make_status_error(effective, headers, decoded, meta, method=method, url=url)
    if require_json and not is_json:
        raise ResponseValidationError(
            f"expected a JSON body, got {str(decoded)[:200]!r}",
            body=decoded,
            method=method,
            url=url,
        )
    result = decoded.get("result") if isinstance(decoded, dict) else None
    return Decoded(status=status, result=result, meta=meta, body=decoded)


def make_status_error(
    status: int,
    headers: Mapping[str, str],
    decoded: Any,
    meta: Meta,
    *,
    method: str = "",
    url: str = "",
) -> APIStatusError:
    """Build the typed error for an error response (pure; the caller raises it)."""
    retry_after = parse_retry_after(headers)
    if retry_after is None:
        retry_after = meta.retry_after
    reason = meta.error_message or meta.http_status or f"HTTP {status}"
    cls = status_error_class(status)
    return cls(
        reason,
        status=status,
        http_status=meta.http_status,
        request_id=meta.request_id,
        error_code=meta.error_code,
        error_message=meta.error_message,
        notice=meta.notice,
        body=decoded,
        retry_after=retry_after,
        method=method,
        url=url,
    )
