"""Credentials never show up in reprs, messages, pickles or logs."""

from __future__ import annotations

import logging
import pickle

import aiohttp
import pytest
from aioresponses import aioresponses

from qualtrics_sdk import (
    APIError,
    ApiToken,
    OAuthClientCredentials,
    QualtricsClient,
    RequestEvent,
)

TOKEN = "tok-VERY-secret-0123456789"
CLIENT_SECRET = "oauth-VERY-secret-abcdef"
API = "https://iad1.qualtrics.com/API/v3"


def test_reprs_hide_secrets() -> None:
    client = QualtricsClient(api_token=TOKEN, datacenter="iad1")
    oauth = OAuthClientCredentials("my-client", CLIENT_SECRET)
    for obj in (client, client.auth, ApiToken(TOKEN), oauth):
        assert TOKEN not in repr(obj)
        assert CLIENT_SECRET not in repr(obj)
        assert TOKEN not in str(obj)
    assert "my-client" in repr(oauth)


@pytest.mark.parametrize(
    "factory",
    [
        lambda: ApiToken(TOKEN),
        lambda: OAuthClientCredentials("c", CLIENT_SECRET),
        lambda: QualtricsClient(api_token=TOKEN, datacenter="iad1"),
    ],
)
def test_objects_holding_secrets_refuse_to_pickle(factory: object) -> None:
    obj = factory()  # type: ignore[operator]
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(obj)


async def test_errors_and_logs_never_contain_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="qualtrics_sdk")
    events: list[RequestEvent] = []
    async with QualtricsClient(
        api_token=TOKEN, datacenter="iad1", max_retries=1, on_request=[events.append]
    ) as client:
        client._transport._sleep = _no_sleep
        with aioresponses() as m:
            m.get(
                f"{API}/whoami",
                status=401,
                payload={"meta": {"httpStatus": "401", "error": {"errorMessage": "bad token"}}},
            )
            m.get(
                f"{API}/directories?useNewPaginationScheme=true",
                exception=aiohttp.ServerDisconnectedError(),
                repeat=True,
            )
            errors: list[APIError] = []
            for call in (client.whoami(), client.directories.list().collect()):
                try:
                    await call
                except APIError as exc:
                    errors.append(exc)
    assert len(errors) == 2
    for error in errors:
        assert TOKEN not in str(error)
        assert TOKEN not in repr(error)
        assert TOKEN.encode() not in pickle.dumps(error)
    assert events
    assert all(event.headers["X-API-TOKEN"] == "***" for event in events)
    assert caplog.records, "the transport logs each attempt at DEBUG"
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_log_filter_scrubs_a_secret_that_slipped_into_a_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ApiToken(TOKEN)  # registering happens when a credential is created
    caplog.set_level(logging.INFO, logger="qualtrics_sdk")
    logging.getLogger("qualtrics_sdk").info("oops %s", TOKEN)
    assert caplog.records[-1].getMessage() == "oops ***"


async def _no_sleep(seconds: float) -> None:
    return None
