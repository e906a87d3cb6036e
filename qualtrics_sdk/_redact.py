"""Keep secrets out of logs, URLs and messages.

Credentials register their secret values here when they are created; :class:`RedactingFilter`
(installed on the ``qualtrics_sdk`` logger) then replaces any registered value that still found its
way into a log record. This is a second line of defence: the SDK never formats a secret into a
message on purpose.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping

from yarl import URL

REDACTED = "***"

# Header names whose values are credentials.
SECRET_HEADERS = frozenset({"x-api-token", "authorization", "proxy-authorization", "x-signature"})
# Query parameters that act as credentials (a JSON-event trigger URL token lets anyone start a
# workflow whose authentication is off).
SECRET_QUERY_KEYS = frozenset({"urltokenid", "access_token", "token", "client_secret"})

_MIN_SECRET_LENGTH = 4
_lock = threading.Lock()
_secrets: set[str] = set()

logger = logging.getLogger("qualtrics_sdk")


def register_secret(value: str) -> None:
    """Remember ``value`` so that it is scrubbed from every SDK log record."""
    if len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    """Replace every registered secret in ``text`` by ``***``."""
    with _lock:
        secrets = tuple(_secrets)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return a copy of ``headers`` with credential values replaced by ``***``."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else v) for k, v in headers.items()}


def redact_url(url: URL | str) -> str:
    """Render ``url`` without userinfo and with secret query values replaced by ``***``."""
    parsed = URL(url) if isinstance(url, str) else url
    if parsed.user is not None or parsed.password is not None:
        parsed = parsed.with_user(None)
    if parsed.query and any(k.lower() in SECRET_QUERY_KEYS for k in parsed.query):
        parsed = parsed.with_query(
            [
                (k, REDACTED if k.lower() in SECRET_QUERY_KEYS else v)
                for k, v in parsed.query.items()
            ]
        )
    return str(parsed)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs registered secrets from the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def install_filter(loggers: Iterable[logging.Logger] = (logger,)) -> None:
    """Attach one :class:`RedactingFilter` to each logger (idempotent)."""
    for target in loggers:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())


install_filter()
