"""The fake server's clock: real time, optionally sped up, plus manual jumps."""

from __future__ import annotations

import threading
import time


class FakeClock:
    """Time as the fake Qualtrics sees it (epoch seconds, UTC).

    The clock runs ``speed`` times faster than real time and can be moved forward with
    :meth:`advance`. Everything time-based in the fake uses it: the rate-limit window, OAuth token
    expiry, contact and transaction dates. With ``speed=60.0`` one real second is one fake minute,
    so a 3,000-requests-per-minute limit refills in one real second.

    ``Retry-After`` values sent by the fake are converted back to *real* seconds
    (:meth:`to_real_seconds`), so a client that sleeps as told is right on a sped-up clock.

    Args:
        speed: How many fake seconds pass per real second; must be > 0.
        start: Fake epoch seconds at creation (default: the real current time).

    Raises:
        ValueError: ``speed`` is not a positive number.
    """

    def __init__(self, *, speed: float = 1.0, start: float | None = None) -> None:
        if not speed > 0:
            raise ValueError(f"FakeClock speed must be > 0, got {speed!r}")
        self._speed = float(speed)
        self._lock = threading.Lock()
        self._real_origin = time.monotonic()
        self._fake_origin = time.time() if start is None else float(start)

    @property
    def speed(self) -> float:
        """Fake seconds per real second."""
        return self._speed

    def now(self) -> float:
        """Return the current fake time in epoch seconds."""
        with self._lock:
            elapsed = time.monotonic() - self._real_origin
            return self._fake_origin + elapsed * self._speed

    def now_ms(self) -> int:
        """Return the current fake time in epoch milliseconds (Qualtrics' date integers)."""
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> None:
        """Jump the clock forward by ``seconds`` fake seconds (for example past a token's expiry).

        Raises:
            ValueError: ``seconds`` is negative; the clock never goes back.
        """
        if seconds < 0:
            raise ValueError(f"FakeClock.advance needs seconds >= 0, got {seconds!r}")
        with self._lock:
            self._fake_origin += seconds

    def to_real_seconds(self, fake_seconds: float) -> float:
        """Convert a fake duration to the real duration a client must wait for it to pass."""
        return fake_seconds / self._speed

    def __repr__(self) -> str:
        return f"FakeClock(speed={self._speed!r})"
