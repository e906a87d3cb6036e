"""The parsed request handed to handlers, the route registry, and settings shared with them."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal
from urllib.parse import urlencode

import attrs
from multidict import CIMultiDictProxy, MultiDictProxy

from ._ordered import OrderedIds
from ._ratelimit import SlidingWindowLimiter
from ._state import FakeState
from ._wire import (
    Reply,
    bad_request,
    decode_skip_token,
    encode_skip_token,
    parse_page_size,
)

AuthKind = Literal["api", "oauth", "trigger"]
_UNSET: Final[Any] = object()


@attrs.define(kw_only=True)
class Settings:
    """Knobs tests may change while the fake runs (see ``FakeQualtrics`` for their meaning)."""

    proxy_notice: str | None = None
    import_polls_to_complete: int = 2
    oauth_token_lifetime: float = 3600.0
    record_requests: bool = True
    brand_id: str = "fakebrand"
    datacenter: str = "iad1"


@attrs.define(kw_only=True)
class Context:
    """What handlers work with: the state (hold ``state.lock``), settings and the rate limiter."""

    state: FakeState
    settings: Settings
    limiter: SlidingWindowLimiter


@attrs.define(kw_only=True)
class Call:
    """One request as handlers see it: already read, with its route parameters."""

    method: str
    path: str
    query: MultiDictProxy[str]
    headers: CIMultiDictProxy[str]
    body: bytes
    params: Mapping[str, str]
    origin: str
    request_id: str
    form: Mapping[str, str] | None = None
    _json: Any = attrs.field(default=_UNSET, init=False)

    def q(self, name: str) -> str | None:
        """The last value of query parameter ``name`` (``None`` when absent)."""
        values = self.query.getall(name, [])
        return values[-1] if values else None

    def parsed_json(self) -> Any:
        """The JSON body, or ``None`` when the body is empty or not JSON (no error)."""
        if self._json is _UNSET:
            try:
                self._json = json.loads(self.body) if self.body.strip() else None
            except ValueError:
                self._json = None
        return self._json

    def json(self, *, required: bool = True) -> Any:
        """The JSON body.

        Raises:
            ApiError: 400 when it is missing (and ``required``) or not valid JSON.
        """
        if not self.body.strip():
            if required:
                raise bad_request("The request body must not be empty.")
            return None
        value = self.parsed_json()
        if value is None:
            raise bad_request("The request body must be valid JSON.")
        return value

    def next_page_url(self, position: int) -> str:
        """An absolute ``nextPage`` URL: this request's origin and path, its query, a new token."""
        pairs = [(key, value) for key, value in self.query.items() if key != "skipToken"]
        pairs.append(("skipToken", encode_skip_token(position)))
        return f"{self.origin}{self.path}?{urlencode(pairs)}"

    def page_of_ids(
        self, ids: OrderedIds, *, default_size: int, max_size: int | None = None
    ) -> tuple[list[str], str | None]:
        """Page through ``ids`` with ``pageSize`` / ``skipToken``; returns (ids, nextPage)."""
        size = parse_page_size(self.q("pageSize"), default=default_size, maximum=max_size)
        start = decode_skip_token(self.q("skipToken"))
        found, following = ids.page(start, size)
        return found, (self.next_page_url(following) if following is not None else None)

    def page_of_list(
        self, items: list[Any], *, default_size: int, max_size: int | None = None
    ) -> tuple[list[Any], str | None]:
        """Page through an already filtered list; returns (items, nextPage)."""
        size = parse_page_size(self.q("pageSize"), default=default_size, maximum=max_size)
        start = decode_skip_token(self.q("skipToken"))
        end = start + size
        following = end if end < len(items) else None
        return items[start:end], (self.next_page_url(following) if following is not None else None)


Handler = Callable[[Context, Call], Reply]


@attrs.frozen
class Route:
    """A route of the fake: method, aiohttp path template, handler and how it authenticates."""

    method: str
    path: str
    handler: Handler
    auth: AuthKind


class RouteTable:
    """Collects routes in registration order (specific paths must come before ``{param}`` ones)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, path: str, auth: AuthKind = "api") -> Callable[[Handler], Handler]:
        """Decorator registering a handler."""

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, path, handler, auth))
            return handler

        return register


def page_result(elements: list[Any], next_page: str | None) -> dict[str, Any]:
    """The ``result`` of a ``nextPage``-style list."""
    return {"elements": elements, "nextPage": next_page}
