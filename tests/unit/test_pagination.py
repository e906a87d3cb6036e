"""Pagination: nextPage URLs, search skipToken re-POSTs, guards against loops and foreign hosts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aioresponses import aioresponses
from yarl import URL

from qualtrics_sdk import (
    PaginationError,
    QualtricsClient,
    SearchDepthExceededError,
    UnsafeURLError,
)
from qualtrics_sdk._pagination import AsyncPaginator, PageRequest, SkipTokenStyle

API = "https://iad1.qualtrics.com/API/v3"


def page(ids: list[str], next_page: str | None) -> dict[str, object]:
    elements = [{"directoryId": i, "name": f"dir {i}"} for i in ids]
    return {"result": {"elements": elements, "nextPage": next_page}, "meta": {"requestId": "r"}}


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    async with QualtricsClient(api_token="tok", datacenter="iad1") as c:
        yield c


async def test_three_pages_are_followed_verbatim(client: QualtricsClient) -> None:
    first = f"{API}/directories?pageSize=2&useNewPaginationScheme=true"
    second = f"{API}/directories?pageSize=2&skipToken=T2%3D%3D&useNewPaginationScheme=true"
    third = f"{API}/directories?pageSize=2&skipToken=T3&useNewPaginationScheme=true"
    with aioresponses() as m:
        m.get(first, payload=page(["POOL_1", "POOL_2"], second))
        m.get(second, payload=page(["POOL_3", "POOL_4"], third))
        m.get(third, payload=page(["POOL_5"], None))
        ids = [d.id async for d in client.directories.list(page_size=2)]
        assert [str(key[1]) for key in m.requests] == [first, second, third]
    assert ids == ["POOL_1", "POOL_2", "POOL_3", "POOL_4", "POOL_5"]


async def test_pages_collect_and_first_page(client: QualtricsClient) -> None:
    first = f"{API}/directories?useNewPaginationScheme=true"
    second = f"{API}/directories?skipToken=B"
    with aioresponses() as m:
        m.get(first, payload=page(["POOL_1", "POOL_2"], second), repeat=True)
        m.get(second, payload=page(["POOL_3"], None), repeat=True)
        pages = [p async for p in client.directories.list().pages()]
        assert [len(p.items) for p in pages] == [2, 1]
        assert pages[0].cursor == second
        assert pages[1].cursor is None
        assert pages[0].info.request_id == "r"
        only = await client.directories.list().first_page()
        assert [d.id for d in only.items] == ["POOL_1", "POOL_2"]
        limited = await client.directories.list().collect(limit=3)
        assert [d.id for d in limited] == ["POOL_1", "POOL_2", "POOL_3"]
        two = await client.directories.list().collect(limit=2)
        assert len(two) == 2
        requested = [str(k[1]) for k, v in m.requests.items() for _ in v]
    assert requested.count(second) == 2  # collect(limit=2) stopped before page 2


async def test_repeated_cursor_is_an_error_not_an_endless_loop(client: QualtricsClient) -> None:
    first = f"{API}/directories?useNewPaginationScheme=true"
    loop = f"{API}/directories?skipToken=SAME"
    with aioresponses() as m:
        m.get(first, payload=page(["POOL_1"], loop))
        m.get(loop, payload=page(["POOL_2"], loop), repeat=True)
        seen = []
        with pytest.raises(PaginationError, match="same page cursor"):
            async for directory in client.directories.list():
                seen.append(directory.id)
    assert seen == ["POOL_1", "POOL_2"]


@pytest.mark.parametrize(
    "next_page",
    [
        "https://evil.example/API/v3/directories?skipToken=x",
        "http://iad1.qualtrics.com/API/v3/directories?skipToken=x",
        "https://iad1.qualtrics.com.evil.example/API/v3/directories",
        "https://iad1.qualtrics.com:8443/API/v3/directories",
    ],
)
async def test_next_page_on_another_host_is_refused(
    client: QualtricsClient, next_page: str
) -> None:
    with aioresponses() as m:
        m.get(f"{API}/directories?useNewPaginationScheme=true", payload=page(["POOL_1"], next_page))
        with pytest.raises(UnsafeURLError):
            await client.directories.list().collect()
        assert len(m.requests) == 1  # nothing was sent to the other host


async def test_search_style_reposts_the_same_body_and_never_sends_an_empty_token(
    client: QualtricsClient,
) -> None:
    url = f"{API}/directories/POOL_1/contacts/search"
    body = {"filter": {"filterType": "email", "comparison": "eq", "value": "a@b.c"}}
    paginator: AsyncPaginator[object] = AsyncPaginator(
        client._transport,
        PageRequest(
            method="POST",
            target="/directories/POOL_1/contacts/search",
            json=body,
            params={"pageSize": 2},
            idempotent=True,
        ),
        SkipTokenStyle(),
        lambda raw: raw["id"],
    )
    with aioresponses() as m:
        m.post(
            f"{url}?pageSize=2",
            payload={
                "result": {"elements": [{"id": "C1"}, {"id": "C2"}], "skipToken": "Mg=="},
                "meta": {},
            },
        )
        m.post(
            f"{url}?pageSize=2&skipToken=Mg%3D%3D",
            payload={
                "result": {"elements": [{"id": "C3"}, {"id": "C4"}], "skipToken": "NA=="},
                "meta": {},
            },
        )
        m.post(
            f"{url}?pageSize=2&skipToken=NA%3D%3D",
            payload={"result": {"elements": [{"id": "C5"}], "skipToken": ""}, "meta": {}},
        )
        ids = await paginator.collect()
        sent = [
            (dict(r.kwargs["params"]), json.loads(r.kwargs["data"]))
            for v in m.requests.values()
            for r in v
        ]
    assert ids == ["C1", "C2", "C3", "C4", "C5"]
    assert [p for p, _ in sent] == [
        {"pageSize": "2"},
        {"pageSize": "2", "skipToken": "Mg=="},
        {"pageSize": "2", "skipToken": "NA=="},
    ]
    assert all(b == body for _, b in sent)


async def test_search_depth_limit_stops_with_a_clear_error(client: QualtricsClient) -> None:
    url = f"{API}/directories/POOL_1/contacts/search"
    paginator: AsyncPaginator[object] = AsyncPaginator(
        client._transport,
        PageRequest(
            method="POST", target="/directories/POOL_1/contacts/search", json={}, idempotent=True
        ),
        SkipTokenStyle(),
        lambda raw: raw["id"],
        depth_limit=4,
    )
    with aioresponses() as m:
        m.post(
            url,
            payload={
                "result": {"elements": [{"id": "1"}, {"id": "2"}], "skipToken": "a"},
                "meta": {},
            },
        )
        m.post(
            f"{url}?skipToken=a",
            payload={
                "result": {"elements": [{"id": "3"}, {"id": "4"}], "skipToken": "b"},
                "meta": {},
            },
        )
        got = []
        with pytest.raises(SearchDepthExceededError, match="export"):
            async for item in paginator:
                got.append(item)
        assert URL(f"{url}?skipToken=b") not in {k[1] for k in m.requests}
    assert got == ["1", "2", "3", "4"]


async def test_a_saved_cursor_resumes_where_iteration_stopped(client: QualtricsClient) -> None:
    first = f"{API}/directories?useNewPaginationScheme=true"
    second = f"{API}/directories?skipToken=B"
    with aioresponses() as m:
        m.get(first, payload=page(["POOL_1"], second))
        m.get(second, payload=page(["POOL_2"], None), repeat=True)
        saved = (await client.directories.list().first_page()).cursor
        assert saved == second
        resumed = [d.id async for d in client.directories.list().resume(saved)]
        assert [str(k[1]) for k in m.requests] == [first, second]
    assert resumed == ["POOL_2"]


async def test_a_cursor_on_another_host_cannot_be_resumed(client: QualtricsClient) -> None:
    with aioresponses() as m, pytest.raises(UnsafeURLError):
        await client.directories.list().resume("https://evil.example/API/v3/directories").collect()
    assert not m.requests
