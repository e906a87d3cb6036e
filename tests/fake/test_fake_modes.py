"""The three ways to run the fake: in the test's loop, in a thread (and the pytest fixture), and
standalone with ``python -m qualtrics_sdk.testing``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import aiohttp
import pytest

from qualtrics_sdk.testing import FakeQualtrics


def sync_get(url: str, token: str) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"X-API-TOKEN": token})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_threaded_mode_serves_sync_code() -> None:
    with FakeQualtrics() as fake:
        status, body = sync_get(f"{fake.base_url}/API/v3/whoami", fake.api_token)
        assert status == 200
        assert body["meta"]["httpStatus"] == "200 - OK"
        contact = fake.add_contact(email="a@example.com")
        status, body = sync_get(
            f"{fake.base_url}/API/v3/directories/POOL_DEFAULT/contacts/{contact}", fake.api_token
        )
        assert body["result"]["email"] == "a@example.com"
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.base_url


async def test_threaded_mode_serves_an_async_client() -> None:
    fake = FakeQualtrics().start_in_thread()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            fake.start_in_thread()
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"{fake.base_url}/API/v3/whoami", headers={"X-API-TOKEN": fake.api_token}
            ) as response,
        ):
            assert response.status == 200
    finally:
        fake.stop_in_thread()
    fake.stop_in_thread()


async def test_async_mode_refuses_a_second_start() -> None:
    async with FakeQualtrics() as fake:
        with pytest.raises(RuntimeError, match="already running"):
            await fake.start()
    await fake.stop()


def test_busy_port_raises_in_threaded_mode() -> None:
    with FakeQualtrics() as first, pytest.raises(OSError, match="address"):
        FakeQualtrics(port=first.port).start_in_thread()


def test_fixture_in_a_sync_test(fake_qualtrics: FakeQualtrics) -> None:
    status, body = sync_get(
        f"{fake_qualtrics.base_url}/API/v3/directories", fake_qualtrics.api_token
    )
    assert status == 200
    assert body["result"]["elements"][0]["directoryId"] == "POOL_DEFAULT"
    assert fake_qualtrics.default_mailing_list_id.startswith("CG_")


async def test_fixture_in_an_async_test(fake_qualtrics: FakeQualtrics) -> None:
    url = f"{fake_qualtrics.base_url}/API/v3/whoami"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 400


@pytest.mark.fake_qualtrics(rate_limit_per_minute=7, api_token="fixed-token", seed=3)
def test_fixture_options_come_from_the_marker(fake_qualtrics: FakeQualtrics) -> None:
    assert fake_qualtrics.rate_limit_per_minute == 7
    assert fake_qualtrics.api_token == "fixed-token"


def test_each_test_gets_a_fresh_fake(fake_qualtrics: FakeQualtrics) -> None:
    assert fake_qualtrics.contacts() == []
    fake_qualtrics.add_contact(email="leftover@example.com")


async def test_client_points_at_the_fake(fake_qualtrics: FakeQualtrics) -> None:
    client = fake_qualtrics.client(timeout=5.0)
    try:
        assert client.base_url.rstrip("/") == fake_qualtrics.base_url
    finally:
        await client.close()


def test_workflow_trigger_needs_a_running_fake() -> None:
    with pytest.raises(RuntimeError, match="not running"):
        FakeQualtrics().add_workflow_trigger()


def test_standalone_module_prints_url_and_token_and_serves() -> None:
    command = [sys.executable, "-m", "qualtrics_sdk.testing", "--port", "0", "--token", "t0k"]
    command += ["--workflow-trigger", "--oauth-client", "cid:secret"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(6)]
        base_url = lines[0].split(" serving at ")[1].split()[0]
        assert lines[1].strip() == "API token: t0k"
        assert lines[2].strip() == "Default directory: POOL_DEFAULT"
        assert lines[4].startswith(f"Workflow trigger: {base_url}/inbound-event/")
        status, body = sync_get(f"{base_url}/API/v3/whoami", "t0k")
        assert status == 200
        assert body["result"]["brandId"] == "fakebrand"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
