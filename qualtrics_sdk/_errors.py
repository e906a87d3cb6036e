"""The SDK's exception hierarchy.

Every exception the SDK raises on purpose derives from :class:`QualtricsError`. Errors carry what a
user needs to act and to quote to Qualtrics support (HTTP status, ``errorCode``, ``errorMessage``,
``requestId``, ``notice``), never a credential, and they survive pickling (for multiprocessing and
task queues).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "AmbiguousContactError",
    "UnprocessedTransactionsError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "InvalidDatacenterError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "QualtricsError",
    "RateLimitError",
    "ResponseValidationError",
    "SearchDepthExceededError",
    "ServerError",
    "UnprocessableEntityError",
    "UnsafeURLError",
    "ValidationError",
    "status_error_class",
]


class QualtricsError(Exception):
    """Base class of every error raised by ``qualtrics_sdk``."""


class ConfigurationError(QualtricsError, ValueError):
    """The client was configured inconsistently (for example no datacenter and no base URL)."""


class InvalidDatacenterError(ConfigurationError):
    """A datacenter value that could move requests (and the token) to a host that is not Qualtrics'.

    Valid forms are a datacenter id (``iad1``) or an organization host prefix (``myorg.iad1``).
    """


class UnsafeURLError(QualtricsError, ValueError):
    """A URL was refused before anything was sent, so that no credential could leak.

    Raised for workflow trigger URLs off ``https://*.qualtrics.com`` (unless explicitly allowed) and
    for pagination URLs that leave the scheme and host of the request that returned them.
    """


class ValidationError(QualtricsError, ValueError):
    """Input rejected before sending: the message names the field and how to fix it.

    Attributes:
        field: The name of the offending argument or key, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, {"field": self.field}))


class PaginationError(QualtricsError):
    """Pagination could not continue safely (for example the server repeated a cursor)."""


class SearchDepthExceededError(PaginationError):
    """Contact search reached Qualtrics' 10,000-result depth; use a narrower filter or an export."""


class APIError(QualtricsError):
    """An API call failed.

    Attributes:
        method: HTTP method of the failed call.
        url: The URL called, with secret query values redacted.
        retries_taken: How many retries were made before giving up.
        ambiguous: ``True`` when a write may have been applied although no success was seen
            (a dropped connection, read timeout or 5xx after a non-idempotent request was sent).
            Callers must reconcile before sending the write again.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        retries_taken: int = 0,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url
        self.retries_taken = retries_taken
        self.ambiguous = ambiguous

    def _state(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "url": self.url,
            "retries_taken": self.retries_taken,
            "ambiguous": self.ambiguous,
        }

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), (self.message,), self._state()))


class APIConnectionError(APIError):
    """The request could not be completed at the connection level (refused, reset, dropped)."""


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class ResponseValidationError(APIError):
    """A 2xx response whose body does not fit the expected model.

    Attributes:
        body: The decoded body (or the raw text when it was not JSON).
    """

    def __init__(self, message: str, *, body: Any = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.body = body

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "body": self.body}


class APIStatusError(APIError):
    """Qualtrics answered with an error status.

    Attributes:
        status: The HTTP status code (taken from ``meta.httpStatus`` when the HTTP status said 2xx).
        http_status: ``meta.httpStatus`` as sent, e.g. ``"404 - Not Found"``.
        request_id: ``meta.requestId``: quote it to Qualtrics support.
        error_code: ``meta.error.errorCode`` (Qualtrics sometimes omits it).
        error_message: ``meta.error.errorMessage``.
        notice: ``meta.notice`` (for example the "Request proxied" notice).
        body: The decoded JSON body, or the raw text when it was not JSON.
        retry_after: Seconds the server asked us to wait, when it said so.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        http_status: str | None = None,
        request_id: str | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        notice: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.status = status
        self.http_status = http_status
        self.request_id = request_id
        self.error_code = error_code
        self.error_message = error_message
        self.notice = notice
        self.body = body
        self.retry_after = retry_after

    def _state(self) -> dict[str, Any]:
        return {
            **super()._state(),
            "status": self.status,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "notice": self.notice,
            "body": self.body,
            "retry_after": self.retry_after,
        }

    def __str__(self) -> str:
        parts = [f"{self.status}"]
        if self.error_message:
            parts.append(self.error_message)
        else:
            parts.append(self.message)
        details = []
        if self.error_code:
            details.append(f"errorCode={self.error_code}")
        if self.request_id:
            details.append(f"requestId={self.request_id}")
        if self.method:
            details.append(f"{self.method} {self.url}")
        if self.notice:
            details.append(f"notice={self.notice!r}")
        text = " ".join(parts)
        return f"{text} ({', '.join(details)})" if details else text


class BadRequestError(APIStatusError):
    """400: Qualtrics rejected the arguments; ``error_message`` says which."""


class AuthenticationError(APIStatusError):
    """401: the token is missing, invalid or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the token is valid but lacks the permission or scope for this call."""


class NotFoundError(APIStatusError):
    """404: the object or route does not exist."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``retry_after`` holds the server's wait, when given."""


class ServerError(APIStatusError):
    """5xx: a Qualtrics-side failure. Qualtrics documents these as transient."""


_STATUS_CLASSES: Mapping[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """Return the exception class for an HTTP status code."""
    if status >= 500:
        return ServerError
    return _STATUS_CLASSES.get(status, APIStatusError)


def _rebuild(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    return cls(*args, **state)


class AmbiguousContactError(QualtricsError):
    """An upsert's identity fields matched more than one contact.

    Attributes:
        directory_id: The directory searched.
        candidate_ids: The ids of every matching contact, so the caller can merge or pick one.
    """

    def __init__(self, message: str, *, directory_id: str, candidate_ids: tuple[str, ...]) -> None:
        super().__init__(message)
        self.directory_id = directory_id
        self.candidate_ids = tuple(candidate_ids)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (
                type(self),
                self.args,
                {"directory_id": self.directory_id, "candidate_ids": self.candidate_ids},
            ),
        )


class UnprocessedTransactionsError(QualtricsError):
    """Qualtrics answered 200 but left some transactions unprocessed.

    Attributes:
        unprocessed: Mapping of the caller's transaction key to Qualtrics' error for it.
        created: Mapping of key to transaction id for those that were created.
    """

    def __init__(
        self,
        message: str,
        *,
        unprocessed: Mapping[str, Any],
        created: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.unprocessed = dict(unprocessed)
        self.created = dict(created or {})

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (type(self), self.args, {"unprocessed": self.unprocessed, "created": self.created}),
        )
