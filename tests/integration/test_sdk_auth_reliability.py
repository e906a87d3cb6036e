"""Integration: OAuth, retries, ambiguous writes, rate limits and proxy notices, SDK vs fake."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from qualtrics_sdk import (
    APIConnectionError,
    AuthenticationError,
    NotFoundError,
    OAuthClientCredentials,
    QualtricsClient,
    RetryPolicy,
    ServerError,
)
from qualtrics_sdk.testing import FakeClock, FakeQualtrics

POOL = "POOL_DEFAULT"
FAST_RETRIES = RetryPolicy(max_retries=3, initial_delay=0.01, max_retry_after=0.05)
CONTACT_PATH = f"/API/v3/directories/{POOL}/contacts/*"
CONTACTS_PATH = f"/API/v3/directories/{POOL}/contacts"


@pytest.fixture
async def fake() -> AsyncIterator[FakeQualtrics]:
    async with FakeQualtrics(seed=13) as server:
        yield server


@pytest.fixture
async def client(fake: FakeQualtrics) -> AsyncIterator[QualtricsClient]:
    async with fake.client(retry_policy=FAST_RETRIES) as sdk_client:
        yield sdk_client


# --- OAuth ----------------------------------------------------------------------------------------


async def test_oauth_token_is_fetched_once_and_reused(fake: FakeQualtrics) -> None:
    fake.add_oauth_client("my-client", "my-secret")
    contact_id = fake.add_contact(email="ann@example.com")
    auth = OAuthClientCredentials("my-client", "my-secret")
    async with QualtricsClient(
        auth=auth, base_url=fake.base_url, retry_policy=FAST_RETRIES
    ) as client:
        me = await client.whoami()
        got = await client.contacts.get(POOL, contact_id)
        listed = [c.id async for c in client.contacts.list(POOL)]
    assert me.brand_id == "fakebrand"
    assert got.email == "ann@example.com"
    assert listed == [contact_id]
    (grant,) = fake.oauth_grants()
    assert grant.client_id == "my-client"
    assert grant.scopes == ("manage:all",)
    assert fake.stats.oauth_grants == 1
    (token_request,) = fake.requests(method="POST", path="/oauth2/token")
    assert token_request.form is not None
    assert token_request.form["grant_type"] == "client_credentials"
    api_calls = fake.requests(path="/API/v3/**")
    assert len(api_calls) == 3
    assert all(call.headers["Authorization"] == "***" for call in api_calls)
    assert all("X-API-TOKEN" not in call.headers for call in api_calls)


async def test_oauth_expiry_on_the_fake_clock_leads_to_a_new_grant() -> None:
    clock = FakeClock()
    async with FakeQualtrics(clock=clock, oauth_token_lifetime=600) as fake:
        fake.add_oauth_client("my-client", "my-secret")
        # The client reads the same clock, so it refreshes before using an expired token.
        auth = OAuthClientCredentials("my-client", "my-secret", clock=clock.now)
        async with fake.client(auth=auth, retry_policy=FAST_RETRIES) as client:
            await client.whoami()
            await client.whoami()
            assert len(fake.oauth_grants()) == 1
            clock.advance(601)
            await client.whoami()
        first, second = fake.oauth_grants()
        assert second.issued_at >= first.expires_at
        # No request was refused: the token was renewed before it was used expired.
        assert all(r.status == 200 for r in fake.requests(path="/API/v3/**"))


async def test_oauth_token_expired_server_side_is_renewed_after_401() -> None:
    clock = FakeClock()
    async with FakeQualtrics(clock=clock, oauth_token_lifetime=600) as fake:
        fake.add_oauth_client("my-client", "my-secret")
        # The client's own clock (real time) still thinks the token is fresh.
        auth = OAuthClientCredentials("my-client", "my-secret")
        async with fake.client(auth=auth, retry_policy=FAST_RETRIES) as client:
            await client.whoami()
            clock.advance(601)
            me = await client.whoami()
        assert me.brand_id == "fakebrand"
        assert len(fake.oauth_grants()) == 2
        statuses = [r.status for r in fake.requests(path="/API/v3/**")]
        assert statuses == [200, 401, 200]


async def test_wrong_api_token_is_an_authentication_error(fake: FakeQualtrics) -> None:
    async with fake.client(api_token="wrong-token", retry_policy=FAST_RETRIES) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.whoami()
    assert caught.value.status == 401
    assert "wrong-token" not in str(caught.value)
    assert len(fake.requests()) == 1  # a 401 is not retried


# --- retries --------------------------------------------------------------------------------------


async def test_429_on_a_get_is_retried_after_retry_after(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    contact_id = fake.add_contact(email="ann@example.com")
    rule = fake.faults.fail(429, method="GET", path=CONTACT_PATH, retry_after=0.01, times=2)
    contact = await client.contacts.get(POOL, contact_id)
    assert contact.id == contact_id
    assert contact.response_info is not None
    assert contact.response_info.retries_taken == 2
    assert rule.fired == 2
    statuses = [r.status for r in fake.requests(method="GET", path=CONTACT_PATH)]
    assert statuses == [429, 429, 200]


async def test_500_on_a_get_is_retried(fake: FakeQualtrics, client: QualtricsClient) -> None:
    contact_id = fake.add_contact(email="ann@example.com")
    fake.faults.fail(500, method="GET", path=CONTACT_PATH, times=2)
    contact = await client.contacts.get(POOL, contact_id)
    assert contact.email == "ann@example.com"
    assert contact.response_info is not None
    assert contact.response_info.retries_taken == 2
    assert fake.faults.fired["status"] == 2


async def test_503_on_every_get_gives_up_after_max_retries(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.faults.fail(503, method="GET", path="/API/v3/whoami", times=None)
    with pytest.raises(ServerError) as caught:
        await client.whoami()
    assert caught.value.status == 503
    assert caught.value.retries_taken == 3
    assert not caught.value.ambiguous  # a GET changes nothing
    assert len(fake.requests(path="/API/v3/whoami")) == 4


async def test_search_post_is_retried_as_a_read(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    contact_id = fake.add_contact(email="ann@example.com")
    fake.faults.fail(500, method="POST", path=f"{CONTACTS_PATH}/search", times=1)
    result = await client.contacts.upsert(POOL, email="ann@example.com")
    assert (result.id, result.created) == (contact_id, False)
    assert len(fake.contacts()) == 1


async def test_dropped_connections_before_processing_a_get_are_retried(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    rule = fake.faults.drop_before(method="GET", path="/API/v3/whoami", times=3)
    me = await client.whoami()
    assert me.brand_id == "fakebrand"
    assert rule.fired == 3
    # aiohttp itself re-sends an idempotent request once on a dropped connection, so the SDK's
    # own retries (retries_taken) can be fewer than the drops.
    assert me.response_info is not None
    assert me.response_info.retries_taken >= 1
    faults = [r.fault for r in fake.requests(path="/API/v3/whoami")]
    assert faults == ["drop_before"] * 3 + [None]


async def test_delete_whose_answer_was_lost_is_not_reported_as_not_found(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    contact_id = fake.add_contact(email="ann@example.com")
    fake.faults.drop_after(method="DELETE", path=CONTACT_PATH, times=1)
    ambiguous = True
    try:
        await client.contacts.delete(POOL, contact_id)
    except APIConnectionError as error:  # acceptable: reported as "may have happened"
        ambiguous = error.ambiguous
    assert ambiguous
    assert fake.contacts() == []


async def test_500_on_a_post_is_not_retried_and_is_ambiguous(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.faults.fail(500, method="POST", path=CONTACTS_PATH, times=1)
    with pytest.raises(ServerError) as caught:
        await client.contacts.create(POOL, email="bob@example.com")
    assert caught.value.ambiguous
    assert caught.value.retries_taken == 0
    assert len(fake.requests(method="POST", path=CONTACTS_PATH)) == 1
    # This 500 came before processing; the SDK cannot know that, hence "ambiguous".
    assert fake.contacts() == []


async def test_drop_after_on_a_create_is_ambiguous_and_the_write_happened(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.faults.drop_after(method="POST", path=CONTACTS_PATH)
    with pytest.raises(APIConnectionError) as caught:
        await client.contacts.create(POOL, email="bob@example.com")
    assert caught.value.ambiguous
    assert len(fake.requests(method="POST", path=CONTACTS_PATH)) == 1
    (created,) = fake.find_contacts(email="bob@example.com")
    # An upsert after the ambiguous failure finds it instead of creating a duplicate.
    result = await client.contacts.upsert(POOL, email="bob@example.com")
    assert (result.id, result.created) == (created.id, False)
    assert len(fake.contacts()) == 1


async def test_brand_rate_limit_on_a_fast_clock_is_absorbed_by_retries() -> None:
    clock = FakeClock(speed=600.0)  # a fake minute lasts 0.1 s
    policy = RetryPolicy(max_retries=10, initial_delay=0.01, max_retry_after=0.5)
    async with FakeQualtrics(clock=clock, rate_limit_per_minute=20) as fake:
        async with fake.client(retry_policy=policy) as client:
            for _ in range(30):
                await client.whoami()
        assert fake.stats.rate_limited >= 1
        statuses = [r.status for r in fake.requests(path="/API/v3/whoami")]
        assert statuses.count(200) == 30
        assert set(statuses) == {200, 429}


# --- proxy notice ---------------------------------------------------------------------------------


async def test_proxy_notice_is_surfaced_on_results_and_errors(
    fake: FakeQualtrics, client: QualtricsClient
) -> None:
    fake.proxy_notice = "sjc1.qualtrics.com"
    contact_id = fake.add_contact(email="ann@example.com")
    contact = await client.contacts.get(POOL, contact_id)
    assert contact.response_info is not None
    assert contact.response_info.notice is not None
    assert "sjc1.qualtrics.com" in contact.response_info.notice
    (page,) = [page async for page in client.contacts.list(POOL).pages()]
    assert page.info.notice == contact.response_info.notice
    with pytest.raises(NotFoundError) as caught:
        await client.contacts.get(POOL, "CID_MISSING000000")
    assert caught.value.notice == contact.response_info.notice
    # Without follow_proxy_notice the client keeps calling the host it was given.
    assert client.base_url.rstrip("/") == fake.base_url.rstrip("/")
    assert len(fake.requests(path=CONTACT_PATH)) == 2
