"""What one action run produced, and how errors map onto Segment's retry classes."""

from __future__ import annotations

import attrs

from qualtrics_sdk import (
    AmbiguousContactError,
    APIError,
    APIStatusError,
    QualtricsError,
    ResponseValidationError,
)

from ..errors import AdapterError

__all__ = ["Outcome", "failure", "is_retryable_status"]


@attrs.frozen(kw_only=True)
class Outcome:
    """The result of one action for one event, before it is labelled with its subscription."""

    delivered: bool
    retryable: bool = False
    contact_id: str | None = None
    transaction_id: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @classmethod
    def ok(cls, *, contact_id: str | None = None, transaction_id: str | None = None) -> Outcome:
        """A confirmed delivery."""
        return cls(delivered=True, contact_id=contact_id, transaction_id=transaction_id)

    @classmethod
    def failed(
        cls,
        error: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
        contact_id: str | None = None,
    ) -> Outcome:
        """A failure with its message."""
        return cls(
            delivered=False,
            retryable=retryable,
            error=error,
            retry_after=retry_after,
            contact_id=contact_id,
        )

    @property
    def ids(self) -> dict[str, str]:
        """The ids to remember in the ledger."""
        ids = {"contact_id": self.contact_id, "transaction_id": self.transaction_id}
        return {name: value for name, value in ids.items() if value is not None}


def is_retryable_status(status: int) -> bool:
    """Segment's rule: 408, 423, 429 and 5xx except 501 are retried; other statuses are not."""
    return status in (408, 423, 429) or (status >= 500 and status != 501)


def failure(exc: BaseException, *, contact_id: str | None = None) -> Outcome:
    """Classify an exception raised while delivering.

    Retryable: 408/423/429/5xx (not 501), connection failures, timeouts and ambiguous writes.
    Not retryable: input errors (adapter or SDK validation, refused URLs), ambiguous contacts,
    other 4xx answers, unreadable non-ambiguous responses.
    """
    message = str(exc) or type(exc).__name__
    if isinstance(exc, APIStatusError):
        return Outcome.failed(
            message,
            retryable=exc.ambiguous or is_retryable_status(exc.status),
            retry_after=exc.retry_after,
            contact_id=contact_id,
        )
    if isinstance(exc, ResponseValidationError):
        return Outcome.failed(message, retryable=exc.ambiguous, contact_id=contact_id)
    if isinstance(exc, APIError):
        # Connection failures and timeouts: nothing or maybe something arrived; retry later.
        return Outcome.failed(message, retryable=True, contact_id=contact_id)
    if isinstance(exc, AmbiguousContactError | AdapterError | QualtricsError):
        return Outcome.failed(message, retryable=False, contact_id=contact_id)
    return Outcome.failed(
        f"unexpected {type(exc).__name__}: {message}", retryable=True, contact_id=contact_id
    )
