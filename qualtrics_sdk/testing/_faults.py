"""Programmable, seeded fault injection for the fake server.

Each rule matches requests by method and path glob and fires for its next ``times`` matches, or
for a ``probability`` share of them, or both. Rules compose: for every request the fake draws one
random number and walks the matching rules in the order they were added, giving each its
probability as a slice of [0, 1); so 10% 500s plus 5% 429s fail 15% of requests, never both at
once. A rule with probability 1.0 takes every match until its ``times`` run out.

Path globs match the URL path only (no query): ``*`` matches within one path segment, ``**``
across segments, ``?`` one character. ``/API/v3/directories/*/transactions`` matches
``/API/v3/directories/POOL_1/transactions`` but not ``.../contacts/CID_1/transactions``.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Mapping
from typing import Final, Literal

import attrs

FaultKind = Literal["status", "delay", "drop_before", "drop_after"]
FAULT_KINDS: Final[tuple[FaultKind, ...]] = ("status", "delay", "drop_before", "drop_after")


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Compile a path glob (``*`` one segment, ``**`` any depth, ``?`` one character)."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if pattern.startswith("**", index):
            parts.append(".*")
            index += 2
            continue
        if char == "*":
            parts.append("[^/]*")
        elif char == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts))


@attrs.define(eq=False)
class FaultRule:
    """One fault rule (see :class:`Faults` for how to add them).

    Attributes:
        kind: ``"status"`` (answer ``status`` in Qualtrics' error shape), ``"delay"`` (wait
            ``delay`` real seconds, then process normally), ``"drop_before"`` (close the connection
            without processing) or ``"drop_after"`` (process, then close without answering).
        method: HTTP method to match, or ``None`` for any.
        path: Path glob to match.
        times: How many more times the rule may fire (``None`` = unlimited).
        probability: Share of matching requests the rule fires for.
        status: Status code for ``"status"`` rules.
        retry_after: ``Retry-After`` header value in real seconds (``None`` = no header).
        error_code: ``meta.error.errorCode`` of the answer (``None`` = omitted).
        message: ``meta.error.errorMessage`` of the answer.
        delay: Real seconds to wait (``"delay"`` rules, and before answering ``"status"`` rules).
        fired: How many times the rule has fired.
    """

    kind: FaultKind
    method: str | None
    path: str
    times: int | None
    probability: float
    status: int = 0
    retry_after: float | None = None
    error_code: str | None = None
    message: str = ""
    delay: float = 0.0
    fired: int = 0
    _regex: re.Pattern[str] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._regex = compile_glob(self.path)

    def matches(self, method: str, path: str) -> bool:
        """Whether the rule applies to this request and can still fire."""
        if self.times is not None and self.times <= 0:
            return False
        if self.method is not None and self.method != method.upper():
            return False
        return self._regex.fullmatch(path) is not None


_DEFAULT_MESSAGES: Final[Mapping[int, str]] = {
    429: "Too many requests. Please try again later.",
    500: "An unexpected error occurred. Please try again.",
    502: "Bad gateway.",
    503: "The service is temporarily unavailable. Please try again.",
    504: "The request timed out.",
}


class Faults:
    """The fault rules of one fake server (``fake.faults``). Thread-safe.

    Every method returns the new :class:`FaultRule`, whose ``fired`` counter tests can check;
    :attr:`fired` counts by kind across all rules, including removed ones.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rules: list[FaultRule] = []
        self._fired: dict[str, int] = dict.fromkeys(FAULT_KINDS, 0)

    def fail(
        self,
        status: int = 500,
        *,
        method: str | None = None,
        path: str = "**",
        times: int | None = 1,
        probability: float = 1.0,
        retry_after: float | None = None,
        error_code: str | None = None,
        message: str | None = None,
        delay: float = 0.0,
    ) -> FaultRule:
        """Answer matching requests with ``status`` (429, 500, 503, ...) in Qualtrics' error shape.

        A 429 gets ``Retry-After: 0`` unless ``retry_after`` is given; other statuses carry the
        header only when ``retry_after`` is given.

        Raises:
            ValueError: ``status`` is not an error status (400-599) or another argument is invalid.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"fail() needs an error status (400-599), got {status}")
        if retry_after is None and status == 429:
            retry_after = 0.0
        return self._add(
            FaultRule(
                kind="status",
                method=_method(method),
                path=path,
                times=times,
                probability=probability,
                status=status,
                retry_after=retry_after,
                error_code=error_code,
                message=message or _DEFAULT_MESSAGES.get(status, "Request failed."),
                delay=delay,
            )
        )

    def delay(
        self,
        seconds: float,
        *,
        method: str | None = None,
        path: str = "**",
        times: int | None = 1,
        probability: float = 1.0,
    ) -> FaultRule:
        """Hold matching requests ``seconds`` real seconds, then process and answer them.

        A client that times out meanwhile never sees the answer, but the request still takes
        effect, as with a slow real server.
        """
        return self._add(
            FaultRule(
                kind="delay",
                method=_method(method),
                path=path,
                times=times,
                probability=probability,
                delay=seconds,
            )
        )

    def drop_before(
        self,
        *,
        method: str | None = None,
        path: str = "**",
        times: int | None = 1,
        probability: float = 1.0,
    ) -> FaultRule:
        """Close the connection of matching requests before processing them (nothing changes)."""
        return self._add(
            FaultRule(
                kind="drop_before",
                method=_method(method),
                path=path,
                times=times,
                probability=probability,
            )
        )

    def drop_after(
        self,
        *,
        method: str | None = None,
        path: str = "**",
        times: int | None = 1,
        probability: float = 1.0,
    ) -> FaultRule:
        """Process matching requests, then close the connection without answering.

        The write happened; the client sees a dropped connection (an ambiguous outcome).
        """
        return self._add(
            FaultRule(
                kind="drop_after",
                method=_method(method),
                path=path,
                times=times,
                probability=probability,
            )
        )

    def remove(self, rule: FaultRule) -> None:
        """Remove one rule (no error if it is already gone)."""
        with self._lock:
            if rule in self._rules:
                self._rules.remove(rule)

    def clear(self) -> None:
        """Remove all rules (the :attr:`fired` counts are kept)."""
        with self._lock:
            self._rules.clear()

    def reseed(self, seed: int | None) -> None:
        """Restart the random sequence used for ``probability`` draws."""
        with self._lock:
            self._rng = random.Random(seed)

    @property
    def rules(self) -> list[FaultRule]:
        """A copy of the current rules, in evaluation order."""
        with self._lock:
            return list(self._rules)

    @property
    def fired(self) -> dict[str, int]:
        """How many faults fired, by kind: status, delay, drop_before, drop_after."""
        with self._lock:
            return dict(self._fired)

    def pick(self, method: str, path: str) -> FaultRule | None:
        """Choose the fault for one request, or ``None`` (called by the server)."""
        with self._lock:
            candidates = [rule for rule in self._rules if rule.matches(method, path)]
            if not candidates:
                return None
            draw = self._rng.random()
            edge = 0.0
            for rule in candidates:
                edge += rule.probability
                if draw < edge:
                    rule.fired += 1
                    if rule.times is not None:
                        rule.times -= 1
                    self._fired[rule.kind] += 1
                    return rule
            return None

    def _add(self, rule: FaultRule) -> FaultRule:
        if not 0.0 <= rule.probability <= 1.0:
            raise ValueError(f"probability must be within [0, 1], got {rule.probability}")
        if rule.times is not None and rule.times < 0:
            raise ValueError(f"times must be >= 0 or None, got {rule.times}")
        if rule.delay < 0:
            raise ValueError(f"delay must be >= 0, got {rule.delay}")
        if not rule.path.startswith("/") and not rule.path.startswith("*"):
            raise ValueError(f"path glob must start with '/' or '*', got {rule.path!r}")
        with self._lock:
            self._rules.append(rule)
        return rule


def _method(method: str | None) -> str | None:
    return method.upper() if method is not None else None
