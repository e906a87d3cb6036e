"""Brand-wide rate limit: at most N requests in any 60 fake seconds (a sliding window)."""

from __future__ import annotations

import collections
import math
import threading

from ._clock import FakeClock

WINDOW_SECONDS = 60.0


class SlidingWindowLimiter:
    """Admit a request if fewer than ``per_minute`` were admitted in the last 60 fake seconds.

    ``per_minute=None`` turns the limit off. Rejected requests do not count toward the window.
    """

    def __init__(self, clock: FakeClock, per_minute: int | None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._admitted: collections.deque[float] = collections.deque()
        self._per_minute: int | None = None
        self.per_minute = per_minute

    @property
    def per_minute(self) -> int | None:
        """The limit in requests per minute, or ``None`` when off."""
        return self._per_minute

    @per_minute.setter
    def per_minute(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"rate_limit_per_minute must be >= 1 or None, got {value}")
        with self._lock:
            self._per_minute = value

    def try_acquire(self) -> float | None:
        """Admit one request; return ``None`` if admitted, else the REAL seconds to wait.

        The wait is rounded up to the millisecond so a client sleeping that long is admitted.
        """
        with self._lock:
            limit = self._per_minute
            if limit is None:
                return None
            now = self._clock.now()
            admitted = self._admitted
            while admitted and admitted[0] <= now - WINDOW_SECONDS:
                admitted.popleft()
            if len(admitted) < limit:
                admitted.append(now)
                return None
            wait_fake = admitted[len(admitted) - limit] + WINDOW_SECONDS - now
            wait_real = self._clock.to_real_seconds(max(wait_fake, 0.0))
            return math.ceil(wait_real * 1000) / 1000
