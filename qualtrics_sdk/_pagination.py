"""Pagination as ``async for``.

Qualtrics pages two ways: list calls return ``result.nextPage``, an absolute URL to GET verbatim;
contact search returns ``result.skipToken``, and the same body is POSTed again with
``?skipToken=``. A paginator fetches lazily, one page at a time, so memory stays flat however many
items stream through.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any, Generic, Protocol, TypeVar

import attrs
from yarl import URL

from ._errors import PaginationError, SearchDepthExceededError, UnsafeURLError
from ._hosts import same_origin
from ._redact import redact_url
from ._transport import APIResponse, ResponseInfo, Transport

__all__ = ["AsyncPaginator", "NextPageStyle", "Page", "PageRequest", "SkipTokenStyle"]

T = TypeVar("T")

#: Qualtrics refuses to page contact search beyond this many results.
SEARCH_DEPTH_LIMIT = 10_000


@attrs.frozen(kw_only=True)
class PageRequest:
    """One page's request: method, target (path or absolute URL), query and body."""

    method: str
    target: str | URL
    params: Mapping[str, Any] | None = None
    json: Any = None
    idempotent: bool | None = None


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of results.

    Attributes:
        items: The typed items of this page.
        info: Status, request id, notice and retries of the request behind the page.
        cursor: What leads to the next page (a ``nextPage`` URL or a ``skipToken``); ``None`` on the
            last page. Pass it to :meth:`AsyncPaginator.resume` to continue later.
    """

    items: tuple[T, ...]
    info: ResponseInfo
    cursor: str | None


class PageStyle(Protocol):
    """How one Qualtrics endpoint family pages."""

    def items(self, response: APIResponse) -> list[Any]:
        """The raw item dicts of a page."""
        ...

    def cursor(self, response: APIResponse) -> str | None:
        """The cursor to the next page, or ``None`` at the end."""
        ...

    def next_request(self, first: PageRequest, previous: APIResponse, cursor: str) -> PageRequest:
        """The request for the page after ``previous``.

        Raises:
            UnsafeURLError: when the cursor would leave the host of the previous request.
        """
        ...


def _elements(container: Any) -> list[Any]:
    elements = container.get("elements") if isinstance(container, dict) else None
    return elements if isinstance(elements, list) else []


class NextPageStyle:
    """``result.elements`` + ``result.nextPage`` (an absolute URL, followed verbatim)."""

    def items(self, response: APIResponse) -> list[Any]:
        return _elements(response.result)

    def cursor(self, response: APIResponse) -> str | None:
        result = response.result
        value = result.get("nextPage") if isinstance(result, dict) else None
        return value if isinstance(value, str) and value else None

    def next_request(self, first: PageRequest, previous: APIResponse, cursor: str) -> PageRequest:
        try:
            url = URL(cursor, encoded=True)
        except ValueError:
            raise PaginationError(f"Qualtrics returned an invalid nextPage: {cursor!r}") from None
        if not url.is_absolute() or not same_origin(url, previous.url):
            raise UnsafeURLError(
                f"refusing to follow nextPage {redact_url(url)}: it leaves "
                f"{previous.url.scheme}://{previous.url.host}, and the token would go with it"
            )
        return PageRequest(method="GET", target=url)


class SkipTokenStyle:
    """``result.elements`` + ``result.skipToken``; the same body is re-POSTed with ``?skipToken=``.

    ``items_key`` / ``container_key`` / ``token_at_top`` cover variants such as the import report
    (``results.importReportEntries`` with a top-level ``skipToken``).
    """

    def __init__(
        self,
        *,
        container_key: str = "result",
        items_key: str = "elements",
        token_at_top: bool = False,
    ) -> None:
        self.container_key = container_key
        self.items_key = items_key
        self.token_at_top = token_at_top

    def _container(self, response: APIResponse) -> Any:
        body = response.body
        return body.get(self.container_key) if isinstance(body, dict) else None

    def items(self, response: APIResponse) -> list[Any]:
        container = self._container(response)
        items = container.get(self.items_key) if isinstance(container, dict) else None
        return items if isinstance(items, list) else []

    def cursor(self, response: APIResponse) -> str | None:
        source = response.body if self.token_at_top else self._container(response)
        value = source.get("skipToken") if isinstance(source, dict) else None
        return value if isinstance(value, str) and value else None  # never send an empty token

    def next_request(self, first: PageRequest, previous: APIResponse, cursor: str) -> PageRequest:
        params = {**(first.params or {}), "skipToken": cursor}
        return attrs.evolve(first, params=params)


class AsyncPaginator(Generic[T]):
    """Lazily iterate a paginated Qualtrics listing.

    ``async for item in paginator`` yields typed items across pages; ``paginator.pages()`` yields
    :class:`Page` objects; ``await paginator.first_page()`` fetches one page; ``await
    paginator.collect(limit=...)`` gathers items into a list. Each iteration starts from the first
    page (or ``resume_from``) again.

    Raises (while iterating):
        UnsafeURLError: a ``nextPage`` URL pointed to another host.
        PaginationError: the server repeated a cursor (which would loop forever).
        SearchDepthExceededError: contact search went past Qualtrics' 10,000-result depth.
        APIError: any API failure of a page request, after retries.
    """

    def __init__(
        self,
        transport: Transport,
        first: PageRequest,
        style: PageStyle,
        parse: Callable[[Any], T],
        *,
        depth_limit: int | None = None,
        resume_from: str | None = None,
    ) -> None:
        self._transport = transport
        self._first = first
        self._style = style
        self._parse = parse
        self._depth_limit = depth_limit
        self._resume_from = resume_from

    async def _fetch(self, request: PageRequest) -> APIResponse:
        return await self._transport.request(
            request.method,
            request.target,
            params=request.params,
            json=request.json,
            idempotent=request.idempotent,
        )

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Yield pages in order until the last one."""
        request = self._first
        seen: set[str] = set()
        if self._resume_from:
            request = self._resume_request(self._resume_from)
            seen.add(self._resume_from)
        delivered = 0
        while True:
            response = await self._fetch(request)
            raw_items = self._style.items(response)
            cursor = self._style.cursor(response)
            items = tuple(self._parse(item) for item in raw_items)
            delivered += len(items)
            yield Page(items=items, info=response.info, cursor=cursor)
            if cursor is None or not raw_items:
                return
            if cursor in seen:
                raise PaginationError(
                    "Qualtrics returned the same page cursor twice; stopping instead of looping"
                )
            seen.add(cursor)
            if self._depth_limit is not None and delivered >= self._depth_limit:
                raise SearchDepthExceededError(
                    f"contact search stops at Qualtrics' {self._depth_limit:,}-result depth; "
                    "narrow the filter or use a contact export for larger result sets"
                )
            request = self._style.next_request(self._first, response, cursor)

    def _resume_request(self, cursor: str) -> PageRequest:
        if isinstance(self._style, NextPageStyle):
            origin = self._transport.resolve(self._first.target)
            fake_previous = APIResponse(
                info=ResponseInfo(status=200), result=None, body=None, url=origin
            )
            return self._style.next_request(self._first, fake_previous, cursor)
        return attrs.evolve(self._first, params={**(self._first.params or {}), "skipToken": cursor})

    def resume(self, cursor: str) -> AsyncPaginator[T]:
        """A copy of this paginator that starts at ``cursor`` instead of the first page.

        ``cursor`` is a :attr:`Page.cursor` saved from an earlier iteration, so a long export can
        continue after a restart. A ``nextPage`` cursor must still point at the host of the
        original request.

        Raises (while iterating):
            UnsafeURLError: the cursor is a URL on another host.
        """
        resumed = copy.copy(self)
        resumed._resume_from = cursor
        return resumed

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def first_page(self) -> Page[T]:
        """Fetch and return only the first page."""
        pages = self.pages()
        try:
            return await pages.__anext__()
        finally:
            await pages.aclose()

    async def collect(self, limit: int | None = None) -> list[T]:
        """Gather items into a list, stopping after ``limit`` items when given."""
        if limit is not None and limit < 0:
            raise ValueError("limit must be >= 0")
        out: list[T] = []
        if limit == 0:
            return out
        pages = self.pages()
        try:
            async for page in pages:
                for item in page.items:
                    out.append(item)
                    if limit is not None and len(out) >= limit:
                        return out
        finally:
            await pages.aclose()
        return out
