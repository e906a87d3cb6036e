"""Qualtrics wire conventions for the fake's handlers: errors, replies, tokens, dates, values."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final, TypeGuard

import attrs

# Error codes seen from the real API (see docs/testing.md for the fake's own choices).
CODE_EMPTY_SKIP_TOKEN: Final = "QVAL_5"  # "Parameter skipToken should not be empty." (real)
CODE_MISSING_AUTH: Final = "ATP_2"  # "Expected authorization in headers, but none provided." (real)
CODE_BAD_TOKEN: Final = "DCD_7"  # "Unrecognized X-API-TOKEN." (real)
CODE_VALIDATION: Final = "QVAL_1"  # the fake's generic code for other invalid input

_REASONS: Final[Mapping[int, str]] = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Temporary Internal Server Error",
    504: "Gateway Timeout",
}

TX_DATE_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
_TX_DATE_RE: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
MAX_ED_NAME: Final = 200
MAX_ED_VALUE: Final = 1024


def http_status(status: int) -> str:
    """Qualtrics' ``meta.httpStatus`` text, e.g. ``"404 - Not Found"``."""
    return f"{status} - {_REASONS.get(status, 'Unknown')}"


class ApiError(Exception):
    """Raised by a handler to answer with Qualtrics' error envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


def bad_request(message: str, code: str = CODE_VALIDATION) -> ApiError:
    """A 400 with the fake's validation code (or ``code``)."""
    return ApiError(400, message, code=code)


def not_found(message: str) -> ApiError:
    """A 404 for a missing resource (Qualtrics' 404 bodies carry no ``errorCode``)."""
    return ApiError(404, message)


NO_RESULT: Final[Any] = object()


@attrs.frozen(kw_only=True)
class Reply:
    """A handler's answer.

    ``result`` goes into the envelope (``NO_RESULT`` gives a meta-only body); ``top`` adds keys
    next to ``meta`` (the import report's ``results`` / ``skipToken``); ``raw`` is sent as-is,
    without an envelope (the OAuth token endpoint).
    """

    status: int = 200
    result: Any = NO_RESULT
    top: Mapping[str, Any] | None = None
    raw: Any = None
    headers: Mapping[str, str] | None = None


def encode_skip_token(position: int) -> str:
    """Encode a page position the way Qualtrics' search tokens look (``"NQ=="`` is position 5)."""
    return base64.b64encode(str(position).encode("ascii")).decode("ascii")


def decode_skip_token(token: str | None) -> int:
    """Decode a skip token to a position; ``None`` means the first page.

    Raises:
        ApiError: 400 ``QVAL_5`` for an empty token, 400 for a token the fake did not issue.
    """
    if token is None:
        return 0
    if token == "":
        raise bad_request("Parameter skipToken should not be empty.", CODE_EMPTY_SKIP_TOKEN)
    try:
        text = base64.b64decode(token.encode("ascii"), validate=True).decode("ascii")
        position = int(text)
    except (binascii.Error, UnicodeError, ValueError):
        raise bad_request("Parameter skipToken is invalid.") from None
    if position < 0:
        raise bad_request("Parameter skipToken is invalid.")
    return position


def parse_page_size(raw: str | None, *, default: int, maximum: int | None = None) -> int:
    """Parse ``pageSize``.

    Raises:
        ApiError: 400 when it is not a positive integer or exceeds ``maximum``.
    """
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        raise bad_request("Parameter pageSize must be a positive integer.") from None
    if size < 1:
        raise bad_request("Parameter pageSize must be a positive integer.")
    if maximum is not None and size > maximum:
        raise bad_request(f"Parameter pageSize must be less than or equal to {maximum}.")
    return size


def parse_bool(raw: str | None, name: str) -> bool:
    """Parse a boolean query parameter (``true`` / ``false``, any case; absent is false).

    Raises:
        ApiError: 400 for any other value.
    """
    if raw is None:
        return False
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise bad_request(f"Parameter {name} must be true or false.")


def iso_from_ms(ms: int | None) -> str | None:
    """Epoch ms as an ISO-8601 UTC string (``2024-05-01T13:00:00Z``), or ``None``."""
    if ms is None:
        return None
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tx_date_from_seconds(seconds: float) -> str:
    """Epoch seconds as Qualtrics' transaction date text, ``YYYY-MM-DD HH:MM:SS`` (UTC)."""
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).strftime(TX_DATE_FORMAT)


def valid_tx_date(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a real date in ``YYYY-MM-DD HH:MM:SS`` form."""
    if not isinstance(value, str) or not _TX_DATE_RE.fullmatch(value):
        return False
    try:
        dt.datetime.strptime(value, TX_DATE_FORMAT)
    except ValueError:
        return False
    return True


def parse_since(raw: str | None) -> int | None:
    """Parse a ``since`` query parameter (ISO date or date-time) to epoch ms.

    Raises:
        ApiError: 400 when the value is not a date.
    """
    if raw is None:
        return None
    text = raw.strip().replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise bad_request("Parameter since must be an ISO-8601 date.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)


def stored_string(value: object) -> str:
    """How Qualtrics stores a scalar: always as a string (``true``, ``5``, ``12.5``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flat_values(value: object, what: str) -> dict[str, str]:
    """Validate a flat JSON object of scalars and return it with values stored as strings.

    Raises:
        ApiError: 400 naming the offending key for nulls, nested values or over-long names/values.
    """
    if not isinstance(value, dict):
        raise bad_request(f"{what} must be a JSON object.")
    out: dict[str, str] = {}
    for key, item in value.items():
        if item is None:
            raise bad_request(f"Invalid value null for {what} key {key!r}; omit the key instead.")
        if not isinstance(item, (str, int, float, bool)):
            raise bad_request(
                f"Invalid value for {what} key {key!r}: values must be strings, numbers or "
                "booleans, not objects or arrays."
            )
        if len(key) > MAX_ED_NAME:
            raise bad_request(f"{what} key {key[:40]!r}... exceeds {MAX_ED_NAME} characters.")
        text = stored_string(item)
        if len(text) > MAX_ED_VALUE:
            raise bad_request(f"Value of {what} key {key!r} exceeds {MAX_ED_VALUE} characters.")
        out[key] = text
    return out
