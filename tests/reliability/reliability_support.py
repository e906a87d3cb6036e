"""Shared helpers of the reliability suite: secret watching, recording servers, figures, RSS."""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import attrs
from aiohttp import web

WATCHED_LOGGERS = ("", "qualtrics_sdk", "segment_adapter", "aiohttp")

LONG = os.environ.get("RELIABILITY_LONG", "") not in ("", "0")
"""``RELIABILITY_LONG=1`` runs the long variants (20,000-event soak)."""


def report(title: str, **figures: Any) -> str:
    """Print the figures a test checks (visible with ``-s`` and in CI logs) and return them as
    one line, to attach to assertion messages so they show even when output is captured."""
    line = f"[reliability] {title}: " + ", ".join(f"{k}={v}" for k, v in figures.items())
    print(line)
    return line


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(self.format(record))


@attrs.define
class SecretWatch:
    """Everything a scenario wrote to logs (DEBUG and up) and every exception it raised, as text."""

    texts: list[str] = attrs.field(factory=list)
    exceptions: int = 0
    log_lines: int = 0

    def exception(self, exc: BaseException) -> None:
        """Record an exception: ``str``, ``repr`` and the full traceback with its cause chain."""
        self.exceptions += 1
        self.texts.append(str(exc))
        self.texts.append(repr(exc))
        self.texts.append("".join(traceback.format_exception(exc)))
        for note in getattr(exc, "__notes__", ()):
            self.texts.append(str(note))

    async def expect_error(
        self, call: Awaitable[Any], kinds: type[BaseException] | tuple[type[BaseException], ...]
    ) -> BaseException:
        """Await ``call``, which must raise one of ``kinds``; record and return the error."""
        try:
            await call
        except kinds as exc:
            self.exception(exc)
            return exc
        raise AssertionError(f"expected {kinds} to be raised")

    def leaks(self, secrets: Iterable[str]) -> dict[str, int]:
        """How many captured texts contain each secret (keyed by a masked label)."""
        found: dict[str, int] = {}
        for index, secret in enumerate(secrets):
            count = sum(1 for text in self.texts if secret in text)
            found[f"secret{index}:{secret[:3]}..."] = count
        return found


@contextmanager
def watch_secrets() -> Iterator[SecretWatch]:
    """Capture all log output at DEBUG from the root, SDK, adapter and aiohttp loggers."""
    watch = SecretWatch()
    sink: list[str] = []
    handler = _ListHandler(sink)
    saved: list[tuple[logging.Logger, int]] = []
    for name in WATCHED_LOGGERS:
        target = logging.getLogger(name)
        saved.append((target, target.level))
        target.setLevel(logging.DEBUG)
        if not name or not target.propagate:
            target.addHandler(handler)
    # Child loggers that do not propagate would otherwise escape the root handler.
    for name, child in list(logging.root.manager.loggerDict.items()):
        ours = name.split(".")[0] in ("qualtrics_sdk", "segment_adapter")
        if ours and isinstance(child, logging.Logger) and not child.propagate:
            child.addHandler(handler)
    try:
        yield watch
    finally:
        for target, level in saved:
            target.setLevel(level)
        for each in [logging.root, *logging.root.manager.loggerDict.values()]:
            if isinstance(each, logging.Logger) and handler in each.handlers:
                each.removeHandler(handler)
        watch.log_lines = len(sink)
        watch.texts.extend(sink)


@attrs.frozen
class Received:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes

    def carries(self, secret: str) -> bool:
        blob = "\n".join([self.path_qs, *self.headers.values()]) + self.body.decode("latin-1")
        return secret in blob


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class LocalServer:
    """An aiohttp server on 127.0.0.1 that records every request and answers with ``handler``
    (by default a Qualtrics-shaped 200). Used as the "evil" host that must never see a secret,
    and as a hostile Qualtrics that hands out foreign ``nextPage``/``Location`` URLs."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.received: list[Received] = []
        self._handler = handler
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.received.append(Received(request.method, request.path_qs, dict(request.headers), body))
        if self._handler is not None:
            return await self._handler(request)
        return web.json_response(
            {"result": {"elements": [], "nextPage": None}, "meta": {"httpStatus": "200 - OK"}}
        )

    async def __aenter__(self) -> LocalServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; falls back to peak RSS)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
