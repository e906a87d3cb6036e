"""Retry decisions (pure) and the shared retry budget.

What is retried, and why:

* idempotent requests (GET, HEAD, PUT, DELETE, and POSTs the caller marks safe, such as search)
  on 408, 429, 5xx, connection errors and timeouts;
* any request, including a write, when it certainly did not reach Qualtrics: connection refused /
  DNS failure / connect timeout, or a 429 (the request was rejected, not processed);
* never a write after it may have reached the server (read timeout, dropped connection, 5xx):
  those raise an error with ``ambiguous=True`` so the caller can reconcile instead of duplicating;
* never on cancellation.

Delays use exponential backoff with full jitter, capped, and honour ``Retry-After`` (capped too).
A token-bucket budget shared by the whole client stops retry storms when Qualtrics is down.
"""

from __future__ import annotations

import random
import threading

import attrs

__all__ = ["IDEMPOTENT_METHODS", "RetryBudget", "RetryPolicy"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How the transport retries failed requests.

    Attributes:
        max_retries: Retries after the first attempt (0 disables retries).
        initial_delay: Backoff base in seconds; attempt ``n`` waits up to ``initial_delay * 2**n``.
        max_delay: Cap of a computed backoff delay.
        max_retry_after: Cap applied to a server's ``Retry-After``.
        retry_statuses: Statuses retried for idempotent requests.
    """

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})

    def __attrs_post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.initial_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("retry delays must be >= 0")

    def should_retry_status(self, status: int, *, idempotent: bool) -> bool:
        """Whether a response with ``status`` may be retried."""
        if status == 429:
            return True
        return idempotent and status in self.retry_statuses

    def delay(self, retry_number: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based).

        A server-given ``retry_after`` wins (capped at ``max_retry_after``); otherwise full jitter:
        a uniform draw in ``[0, min(max_delay, initial_delay * 2**n)]``.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.initial_delay * (2**retry_number))
        return rng.uniform(0.0, ceiling)


class RetryBudget:
    """A token bucket shared by all requests of a client, so failures cannot multiply load.

    Each retry withdraws ``retry_cost`` tokens (``timeout_cost`` after a timeout); each success
    deposits ``success_refund`` up to ``capacity``. With the defaults, about 100 retries can happen
    back to back, and a steady failure rate below ~17% never exhausts the budget.
    """

    def __init__(
        self,
        capacity: float = 500.0,
        *,
        retry_cost: float = 5.0,
        timeout_cost: float = 10.0,
        success_refund: float = 1.0,
    ) -> None:
        self.capacity = capacity
        self.retry_cost = retry_cost
        self.timeout_cost = timeout_cost
        self.success_refund = success_refund
        self._tokens = capacity
        self._lock = threading.Lock()

    @property
    def tokens(self) -> float:
        """Tokens currently available."""
        return self._tokens

    def try_acquire(self, *, timeout: bool = False) -> bool:
        """Withdraw the cost of one retry; ``False`` means the budget is exhausted."""
        cost = self.timeout_cost if timeout else self.retry_cost
        with self._lock:
            if self._tokens < cost:
                return False
            self._tokens -= cost
            return True

    def record_success(self) -> None:
        """Refund a little budget after a successful response."""
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + self.success_refund)

    def __repr__(self) -> str:
        return f"RetryBudget(tokens={self._tokens:.0f}/{self.capacity:.0f})"
