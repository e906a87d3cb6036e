"""Raw-HTTP helpers for the fake server's fidelity tests.

These tests talk to the fake with plain ``aiohttp.ClientSession`` (never the SDK), so they check
the wire: status codes, envelopes, error bodies and field names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs
from multidict import CIMultiDictProxy

from qualtrics_sdk.testing import FakeQualtrics

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
D = "/API/v3/directories/POOL_DEFAULT"


@attrs.frozen
class Answer:
    """One HTTP answer: status, parsed JSON body (``None`` if not JSON) and headers."""

    status: int
    body: Any
    headers: CIMultiDictProxy[str]

    @property
    def result(self) -> Any:
        """``body["result"]``."""
        return self.body["result"]

    @property
    def error(self) -> Any:
        """``body["meta"]["error"]``."""
        return self.body["meta"]["error"]


class Raw:
    """Plain aiohttp calls to the fake, with its API token unless told otherwise."""

    def __init__(self, session: aiohttp.ClientSession, fake: FakeQualtrics) -> None:
        self.session = session
        self.fake = fake

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        token: bool = True,
        data: Any = None,
    ) -> Answer:
        """Send one request; ``path`` may be an absolute URL (e.g. a ``nextPage``)."""
        url = path if path.startswith("http") else self.fake.base_url + path
        sent: dict[str, str] = {"X-API-TOKEN": self.fake.api_token} if token else {}
        sent.update(headers or {})
        async with self.session.request(
            method, url, json=json, params=params, headers=sent, data=data
        ) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            return Answer(response.status, body, response.headers)

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> Answer:
        return await self.call("POST", path, json=json, **kwargs)

    async def put(self, path: str, json: Any = None, **kwargs: Any) -> Answer:
        return await self.call("PUT", path, json=json, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Answer:
        return await self.call("DELETE", path, **kwargs)


def assert_ok_meta(body: Any, status: str = "200 - OK") -> None:
    """The success envelope's ``meta``: exactly ``httpStatus`` and a UUID ``requestId``."""
    assert set(body["meta"]) == {"httpStatus", "requestId"}
    assert body["meta"]["httpStatus"] == status
    assert UUID_RE.fullmatch(body["meta"]["requestId"])


def assert_error(answer: Answer, status: int, message: str, code: str | None = None) -> None:
    """Qualtrics' error shape: ``{"meta": {"httpStatus", "requestId", "error": {...}}}``."""
    assert answer.status == status
    assert set(answer.body) == {"meta"}
    meta = answer.body["meta"]
    assert set(meta) == {"httpStatus", "requestId", "error"}
    assert meta["httpStatus"].startswith(f"{status} - ")
    assert UUID_RE.fullmatch(meta["requestId"])
    expected = (
        {"errorMessage": message} if code is None else {"errorMessage": message, "errorCode": code}
    )
    assert meta["error"] == expected
