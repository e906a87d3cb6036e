"""Secrets never leak: not into logs, not into errors, not to any host but Qualtrics.

One dedicated scenario drives the SDK through its success and failure paths (token auth, OAuth,
401s, 5xx, timeouts, dropped connections, validation and pagination errors) against the fake
server while every log record (DEBUG and up, root and package loggers) and every exception
(str, repr, traceback with causes) is captured; then no secret may appear in any of it.

The host tests point the SDK at a *recording* server on 127.0.0.1 playing the attacker: through a
hostile datacenter, base URL, ``nextPage`` URL, workflow URL or redirect. The recording server
must receive nothing (or, where a request to it is the user's explicit choice, nothing secret).
"""

from __future__ import annotations

import pickle
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from reliability_support import LocalServer, report, watch_secrets

from qualtrics_sdk import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    InvalidDatacenterError,
    OAuthClientCredentials,
    QualtricsClient,
    QualtricsError,
    RetryPolicy,
    UnsafeURLError,
    ValidationError,
)
from qualtrics_sdk.testing import FakeQualtrics

TOKEN = "qtok-RELIABILITY-0123456789abcdef"
WRONG_TOKEN = "qtok-WRONG-fedcba9876543210"
CLIENT_ID = "reliability-client"
CLIENT_SECRET = "oauth-secret-RELIABILITY-42"
WRONG_CLIENT_SECRET = "oauth-secret-WRONG-24"
FAST = RetryPolicy(max_retries=2, initial_delay=0.001, max_delay=0.01, max_retry_after=0.01)


def _sent_headers() -> tuple[aiohttp.TraceConfig, list[dict[str, str]]]:
    """A trace config recording the real headers sent (to learn the OAuth bearer token)."""
    sent: list[dict[str, str]] = []
    trace = aiohttp.TraceConfig()

    async def on_start(_: Any, __: Any, params: aiohttp.TraceRequestStartParams) -> None:
        sent.append(dict(params.headers))

    trace.on_request_start.append(on_start)
    return trace, sent


async def test_no_secret_in_logs_or_errors_across_a_failure_scenario() -> None:
    hook_texts: list[str] = []
    trace, sent = _sent_headers()
    async with FakeQualtrics(api_token=TOKEN, seed=8) as fake:
        fake.add_oauth_client(CLIENT_ID, CLIENT_SECRET)
        trigger = fake.add_workflow_trigger()
        directory = fake.default_directory_id
        with watch_secrets() as watch:
            common: dict[str, Any] = {
                "retry_policy": FAST,
                "timeout": 0.3,
                "on_request": [lambda e: hook_texts.append(repr(e))],
                "on_response": [lambda e: hook_texts.append(repr(e))],
            }
            async with fake.client(trace_configs=[trace], **common) as client:
                await client.whoami()
                await client.contacts.create(directory, email="a@example.com", ext_ref="u1")
                await client.workflows.trigger_event(trigger, {"userId": "u1"})
                # 5xx until retries run out, on a read and on a write
                fake.faults.fail(500, times=3, path="/API/v3/whoami")
                await watch.expect_error(client.whoami(), APIStatusError)
                fake.faults.fail(503, times=1, method="POST")
                await watch.expect_error(
                    client.contacts.create(directory, email="b@example.com"), APIStatusError
                )
                # timeouts and dropped connections (ambiguous writes included)
                fake.faults.delay(1.0, times=3, path="/API/v3/whoami")
                await watch.expect_error(client.whoami(), APIConnectionError)
                fake.faults.drop_after(times=1, method="POST")
                await watch.expect_error(
                    client.contacts.create(directory, email="c@example.com"), APIConnectionError
                )
                fake.faults.drop_before(times=20, path="/API/v3/whoami")
                await watch.expect_error(client.whoami(), APIConnectionError)
                fake.faults.clear()
                fake.faults.drop_after(times=1, path="/inbound-event/**")
                await watch.expect_error(
                    client.workflows.trigger_event(trigger, {"x": 1}), APIConnectionError
                )
                # validation errors (nothing sent)
                await watch.expect_error(
                    client.contacts.upsert(directory), (ValidationError, ValueError)
                )
                await watch.expect_error(
                    client.contacts.create(directory, embedded_data={"k": None}), ValidationError
                )
                await watch.expect_error(
                    client.workflows.trigger_event(trigger, {"big": "x" * 200_000}),
                    ValidationError,
                )
                # pagination error: a listing of an unknown directory, and a foreign nextPage
                await watch.expect_error(
                    client.contacts.list("POOL_MISSING").collect(), APIStatusError
                )
            # wrong API token: 401
            async with fake.client(api_token=WRONG_TOKEN, **common) as bad:
                await watch.expect_error(bad.whoami(), AuthenticationError)
            # OAuth: success (bearer token), then a wrong client secret
            oauth = OAuthClientCredentials(CLIENT_ID, CLIENT_SECRET)
            async with fake.client(auth=oauth, trace_configs=[trace], **common) as client:
                await client.whoami()
                fake.faults.fail(500, times=3, path="/API/v3/whoami")
                await watch.expect_error(client.whoami(), APIStatusError)
                await watch.expect_error(
                    client.workflows.trigger_event(trigger, {"x": 1}), ConfigurationError
                )
            wrong = OAuthClientCredentials(CLIENT_ID, WRONG_CLIENT_SECRET)
            async with fake.client(auth=wrong, **common) as bad:
                await watch.expect_error(bad.whoami(), AuthenticationError)
        recorded = [repr(item) for item in fake.requests()]
    bearers = [
        value.split(" ", 1)[1]
        for headers in sent
        for name, value in headers.items()
        if name.lower() == "authorization" and value.startswith("Bearer ")
    ]
    assert bearers, "the OAuth client sent a bearer token"
    url_token = trigger.rsplit("urlTokenId=", 1)[1]
    secrets = [TOKEN, WRONG_TOKEN, CLIENT_SECRET, WRONG_CLIENT_SECRET, *set(bearers), url_token]
    texts = watch.texts + hook_texts
    leaks = sum(sum(1 for text in texts if secret in text) for secret in secrets)
    # The fake's request log is test introspection: it keeps the trigger's urlTokenId on purpose
    # (tests filter events by it) but must redact credentials.
    credentials = secrets[:-1]
    leaks += sum(sum(1 for text in recorded if secret in text) for secret in credentials)
    figures = report(
        "secrets scenario",
        log_lines=watch.log_lines,
        exceptions=watch.exceptions,
        hook_events=len(hook_texts),
        recorded_requests=len(recorded),
        secrets_checked=len(secrets),
        leaked_secrets=leaks,
    )
    assert watch.log_lines > 0, figures
    assert watch.exceptions >= 14, figures
    where = [text[:300] for text in texts + recorded if any(s in text for s in credentials)]
    assert leaks == 0, f"{figures}; leaked in: {where}"


async def test_errors_pickle_without_secrets() -> None:
    async with FakeQualtrics(api_token=TOKEN) as fake:
        async with fake.client(retry_policy=FAST) as client:
            fake.faults.fail(500, times=3, path="/API/v3/whoami")
            with pytest.raises(APIStatusError) as caught:
                await client.whoami()
        async with fake.client(api_token=WRONG_TOKEN, retry_policy=FAST) as bad:
            with pytest.raises(AuthenticationError) as denied:
                await bad.whoami()
    blobs = [pickle.dumps(caught.value), pickle.dumps(denied.value)]
    leaks = sum(secret.encode() in blob for blob in blobs for secret in (TOKEN, WRONG_TOKEN))
    figures = report("pickled errors", errors=len(blobs), leaked_secrets=leaks)
    assert leaks == 0, figures


# --- hostile hosts ------------------------------------------------------------------------------


@pytest.fixture
async def evil() -> Any:
    async with LocalServer() as server:
        yield server


def _evil_datacenters(port: int) -> list[str]:
    return [
        f"127.0.0.1:{port}",
        "127.0.0.1",
        f"iad1.qualtrics.com@127.0.0.1:{port}",
        f"evil.com:{port}/",
        "iad1.qualtrics.com.evil.com",
        f"localhost:{port}#",
        "iad1/../../evil",
        f"iad1.qualtrics.com:{port}",
        "[::1]",
        "iad1 evil.com",
        "iad1\r\nHost: evil",
    ]


async def test_hostile_datacenters_never_reach_another_host(evil: LocalServer) -> None:
    refused = 0
    for datacenter in _evil_datacenters(evil.port):
        with pytest.raises(InvalidDatacenterError):
            QualtricsClient(api_token=TOKEN, datacenter=datacenter)
        refused += 1
    figures = report(
        "hostile datacenters",
        tried=len(_evil_datacenters(evil.port)),
        refused=refused,
        evil_requests=len(evil.received),
    )
    assert evil.received == [], figures


async def test_hostile_base_urls_are_refused_before_sending(evil: LocalServer) -> None:
    host = f"127.0.0.1:{evil.port}"
    hostile = [
        f"http://user:{TOKEN}@{host}",
        f"http://iad1.qualtrics.com@{host}",
        f"http://{host}/?redirect=x",
        f"http://{host}/#frag",
        f"ftp://{host}",
        f"//{host}",
        host,
    ]
    refused = 0
    for base_url in hostile:
        with pytest.raises(ConfigurationError) as caught:
            QualtricsClient(api_token=TOKEN, base_url=base_url)
        assert TOKEN not in str(caught.value)
        refused += 1
    figures = report(
        "hostile base URLs", tried=len(hostile), refused=refused, evil_requests=len(evil.received)
    )
    assert evil.received == [], figures


def _paging_to(next_page: str) -> LocalServer:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "result": {"elements": [{"id": "POOL_1", "name": "d"}], "nextPage": next_page},
                "meta": {"httpStatus": "200 - OK", "requestId": "r1"},
            }
        )

    return LocalServer(answer)


async def test_foreign_next_page_urls_never_receive_the_token(evil: LocalServer) -> None:
    port = evil.port
    cursors = [
        f"http://127.0.0.1:{port}/API/v3/directories?skipToken=1",
        f"http://localhost:{port}/API/v3/directories?skipToken=1",
        f"http://user:pw@127.0.0.1:{port}/API/v3/directories",
        f"https://127.0.0.1:{port}/API/v3/directories",
        f"//127.0.0.1:{port}/API/v3/directories",
    ]
    refused = 0
    for cursor in cursors:
        async with _paging_to(cursor) as hostile:
            async with QualtricsClient(
                api_token=TOKEN, base_url=hostile.origin, retry_policy=FAST
            ) as client:
                with pytest.raises((UnsafeURLError, APIError)) as caught:
                    await client.directories.list().collect()
                assert TOKEN not in str(caught.value)
                refused += 1
            assert len(hostile.received) == 1
    carrying = sum(item.carries(TOKEN) for item in evil.received)
    figures = report(
        "foreign nextPage",
        tried=len(cursors),
        refused=refused,
        evil_requests=len(evil.received),
        token_sent_to_evil=carrying,
    )
    assert evil.received == [], figures


async def test_redirects_to_another_host_are_not_followed(evil: LocalServer) -> None:
    targets = [
        f"{evil.origin}/API/v3/whoami",
        f"http://localhost:{evil.port}/API/v3/whoami",
        f"//127.0.0.1:{evil.port}/steal",
    ]
    refused = 0
    for status in (301, 302, 303, 307, 308):
        for location in targets:

            async def redirect(
                request: web.Request, location: str = location, status: int = status
            ) -> web.Response:
                return web.Response(status=status, headers={"Location": location})

            async with (
                LocalServer(redirect) as origin,
                QualtricsClient(
                    api_token=TOKEN, base_url=origin.origin, retry_policy=FAST
                ) as client,
            ):
                with pytest.raises(APIStatusError) as caught:
                    await client.whoami()
                assert TOKEN not in str(caught.value)
                refused += 1
    figures = report(
        "redirects", tried=refused, evil_requests=len(evil.received), followed=len(evil.received)
    )
    assert evil.received == [], figures


def _evil_workflow_urls(port: int) -> list[str]:
    path = "/inbound-event/v1/events/json/triggers?urlTokenId=abc"
    return [
        f"http://127.0.0.1:{port}{path}",
        f"https://127.0.0.1:{port}{path}",
        f"http://iad1.qualtrics.com@127.0.0.1:{port}{path}",
        f"https://iad1.qualtrics.com:{port}{path}",
        f"https://user:pw@iad1.qualtrics.com{path}",
        f"http://iad1.qualtrics.com{path}",
        f"https://iad1.qualtrics.com.127.0.0.1.nip.io:{port}{path}",
        f"https://qualtrics.com.evil.com{path}",
        f"https://evilqualtrics.com{path}",
        f"https://[::1]:{port}{path}",
        f"http://localhost:{port}{path}",
        f"http://2130706433:{port}{path}",
        f"https://iad1.qualtrics.com\\@127.0.0.1:{port}{path}",
        f"https://iad1.qualtrics.com%2F@127.0.0.1:{port}{path}",
        f"javascript:alert(1)//{port}",
        f"/relative{path}",
    ]


async def test_hostile_workflow_urls_are_refused_before_sending(evil: LocalServer) -> None:
    urls = _evil_workflow_urls(evil.port)
    refused = 0
    async with FakeQualtrics(api_token=TOKEN) as fake:
        async with fake.client(retry_policy=FAST) as client:
            for url in urls:
                with pytest.raises(UnsafeURLError) as caught:
                    await client.workflows.trigger_event(url, {"userId": "u1"})
                assert TOKEN not in str(caught.value)
                refused += 1
        assert fake.trigger_events() == []
    figures = report(
        "hostile workflow URLs", tried=len(urls), refused=refused, evil_requests=len(evil.received)
    )
    assert evil.received == [], figures


async def test_a_workflow_trigger_redirect_does_not_carry_the_token(evil: LocalServer) -> None:
    async def redirect(request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": f"{evil.origin}/steal"})

    async with (
        LocalServer(redirect) as origin,
        QualtricsClient(api_token=TOKEN, base_url=origin.origin, retry_policy=FAST) as client,
    ):
        url = f"{origin.origin}/inbound-event/v1/events/json/triggers?urlTokenId=abc"
        with pytest.raises(QualtricsError):
            await client.workflows.trigger_event(url, {"userId": "u1"})
    figures = report("workflow redirect", evil_requests=len(evil.received))
    assert evil.received == [], figures


async def test_a_hostile_proxy_notice_does_not_move_the_client(evil: LocalServer) -> None:
    notice = f"127.0.0.1:{evil.port}"
    async with FakeQualtrics(api_token=TOKEN, proxy_notice=notice) as fake:
        client = fake.client(retry_policy=FAST, follow_proxy_notice=True)
        async with client:
            await client.whoami()
            await client.whoami()
            assert client.base_url.rstrip("/") == fake.base_url
    figures = report("proxy notice", evil_requests=len(evil.received))
    assert evil.received == [], figures


def test_the_watch_sees_a_secret_logged_anywhere() -> None:
    """The capture is real: a secret logged by an adapter module would be caught."""
    import logging

    with watch_secrets() as watch:
        logging.getLogger("segment_adapter.canary").debug("leaking %s", CLIENT_SECRET)
        watch.exception(RuntimeError(f"boom {TOKEN}"))
    assert watch.leaks([CLIENT_SECRET, TOKEN]) == {"secret0:oau...": 1, "secret1:qto...": 3}
