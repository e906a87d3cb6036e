"""Configuration: subscriptions validated up front (decision 10) and the strict JSON config."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from _destination_helpers import TOKEN, make_client
from aioresponses import CallbackResult, aioresponses
from yarl import URL

from qualtrics_sdk import QualtricsClient, RequestEvent
from segment_adapter import (
    ConfigError,
    MemoryLedger,
    QualtricsDestination,
    SQLiteLedger,
    Subscription,
)


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    async with make_client() as made:
        yield made


UPSERT_MAPPING = {"directoryId": "POOL_1", "mailingListId": "CG_1"}


def config(**settings: Any) -> dict[str, Any]:
    return {
        "settings": {"datacenter": "iad1", "apiToken": TOKEN, **settings},
        "subscriptions": [
            {"action": "upsertContactTransaction", "mapping": UPSERT_MAPPING, "name": "orders"}
        ],
    }


# --- subscriptions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subscription", "where", "field", "message"),
    [
        (Subscription(action="addContact"), 0, "action", "unknown action 'addContact'"),
        (
            Subscription(action="addContactToXmd", subscribe='type = "identify" and', mapping={}),
            0,
            "subscribe",
            "bad subscribe",
        ),
        (
            Subscription(
                action="addContactToXmd", subscribe='foo = "bar"', mapping={"directoryId": "P"}
            ),
            0,
            "subscribe",
            "bad subscribe",
        ),
        (
            Subscription(
                action="addContactToXmd",
                mapping={"directoryId": "POOL_1", "email": {"@path": 5}},
            ),
            0,
            "email",
            "@path",
        ),
        (
            Subscription(
                action="addContactToXmd",
                mapping={"directoryId": "POOL_1", "email": {"@liquid": "{{x}}"}},
            ),
            0,
            "email",
            "@liquid",
        ),
        (
            Subscription(action="addContactToXmd", mapping={"directoryID": "POOL_1"}),
            0,
            "directoryID",
            "has no field 'directoryID'",
        ),
        (
            Subscription(
                action="upsertContactTransaction",
                mapping={"directoryId": "POOL_1"},
                use_default_mappings=False,
            ),
            0,
            "mailingListId",
            "needs the field 'mailingListId'",
        ),
        (
            Subscription(action="addContactToXmd", mapping={"directoryId": ""}),
            0,
            "directoryId",
            "every event would fail",
        ),
        (
            Subscription(
                action="addContactToXmd", mapping={"directoryId": "P", "unsubscribed": "yes"}
            ),
            0,
            "unsubscribed",
            "unsubscribed must be true or false",
        ),
        (
            Subscription(
                action="upsertContactTransaction",
                mapping={**UPSERT_MAPPING, "transactionDate": "soon"},
            ),
            0,
            "transactionDate",
            "'soon' is not a date",
        ),
        (
            Subscription(action="triggerXflowWorkflow", mapping={"workflowUrl": "https://x"}),
            0,
            "subscribe",
            "no default subscription",
        ),
        (
            Subscription(
                action="addContactToXmd", mapping={"directoryId": "P"}, name="named", subscribe="  "
            ),
            "named",
            "subscribe",
            "no default subscription",
        ),
    ],
)
def test_invalid_subscriptions_name_the_subscription_and_field(
    client: QualtricsClient, subscription: Subscription, where: Any, field: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        QualtricsDestination(client, [subscription])
    assert (caught.value.subscription, caught.value.field) == (where, field)


def test_the_index_of_the_bad_subscription_is_reported(client: QualtricsClient) -> None:
    good = Subscription(action="addContactToXmd", mapping={"directoryId": "POOL_1"})
    with pytest.raises(ConfigError) as caught:
        QualtricsDestination(client, [good, Subscription(action="addContactToXmd")])
    assert caught.value.subscription == 1


def test_names_must_be_unique(client: QualtricsClient) -> None:
    first = Subscription(action="addContactToXmd", mapping={"directoryId": "P"}, name="x")
    with pytest.raises(ConfigError, match="already used") as caught:
        QualtricsDestination(client, [first, first])
    assert (caught.value.subscription, caught.value.field) == (1, "name")


TRACK = {
    "type": "track",
    "event": "Transaction Created",
    "userId": "u-1",
    "messageId": "m-1",
    "timestamp": "2024-05-01T13:00:00Z",
    "properties": {"directory": "POOL_9", "total": 5},
    "context": {
        "traits": {
            "qualtricsContactId": "CID_1",
            "qualtricsMailingListId": "CG_7",
            "email": "ann@example.com",
        }
    },
}


async def test_a_required_field_from_a_directive_is_accepted(client: QualtricsClient) -> None:
    subscription = Subscription(
        action="upsertContactTransaction",
        mapping={
            "directoryId": {"@path": "$.properties.directory"},
            "transactionData": {"@path": "$.properties"},
        },
    )
    destination = QualtricsDestination(client, [subscription])
    url = "https://iad1.qualtrics.com/API/v3/directories/POOL_9/transactions"
    with aioresponses() as mocked:
        mocked.post(url, callback=_created_every_key)
        result = await destination.send(TRACK)
        [request] = mocked.requests[("POST", URL(url))]
    assert result.status == "delivered", result
    [(_, body)] = json.loads(request.kwargs["data"]).items()
    # mailingListId and contactId come from the defaults (context.traits fallback, D6)
    assert (body["mailingListId"], body["contactId"]) == ("CG_7", "CID_1")


async def test_without_default_mappings_only_the_users_fields_are_mapped(
    client: QualtricsClient,
) -> None:
    subscription = Subscription(
        action="upsertContactTransaction",
        mapping={**UPSERT_MAPPING, "extRef": {"@path": "$.userId"}},
        use_default_mappings=False,
    )
    destination = QualtricsDestination(client, [subscription])
    url = "https://iad1.qualtrics.com/API/v3/directories/POOL_1/contacts/search"
    with aioresponses() as mocked:
        mocked.post(url, payload={"result": {"elements": [{"id": "CID_9"}]}})
        mocked.post(
            "https://iad1.qualtrics.com/API/v3/directories/POOL_1/transactions",
            callback=_created_every_key,
        )
        result = await destination.send(TRACK)
        [search] = mocked.requests[("POST", URL(url))]
    assert result.status == "delivered", result
    # Only extRef: the default email mapping (which would add an email criterion) is off.
    assert json.loads(search.kwargs["data"]) == {
        "filter": {"filterType": "extRef", "comparison": "eq", "value": "u-1"}
    }


def _created_every_key(url: URL, **kwargs: Any) -> CallbackResult:
    keys = json.loads(kwargs["data"])
    created = {key: {"id": f"CTR_{n}"} for n, key in enumerate(keys)}
    return CallbackResult(payload={"result": {"createdTransactions": created}})


def test_subscription_fields_are_type_checked() -> None:
    with pytest.raises(ConfigError, match="subscribe must be a string"):
        Subscription(action="addContactToXmd", subscribe=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -1, True])
def test_concurrency_must_be_positive(client: QualtricsClient, value: Any) -> None:
    good = Subscription(action="addContactToXmd", mapping={"directoryId": "POOL_1"})
    with pytest.raises(ConfigError, match="concurrency"):
        QualtricsDestination(client, [good], concurrency=value)


# --- from_config --------------------------------------------------------------------------------


async def test_from_config_file_builds_and_owns_its_client(tmp_path: Path) -> None:
    path = tmp_path / "destination.json"
    path.write_text(json.dumps(config()), encoding="utf-8")
    destination = QualtricsDestination.from_config(path)
    assert destination.client.base_url == "https://iad1.qualtrics.com"
    assert [s.name for s in destination.subscriptions] == ["orders"]
    assert isinstance(destination.ledger, MemoryLedger)
    async with destination:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        await destination.send({})


async def test_from_config_reads_the_token_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUALTRICS_API_TOKEN", "env-token")
    raw = config()
    del raw["settings"]["apiToken"]
    async with QualtricsDestination.from_config(raw) as destination:
        assert destination.client.auth.api_token() == "env-token"


def test_from_config_without_any_token_is_a_config_error() -> None:
    raw = config()
    del raw["settings"]["apiToken"]
    with pytest.raises(ConfigError) as caught:
        QualtricsDestination.from_config(raw)
    assert caught.value.field == "settings"


async def test_client_options_reach_the_client_it_builds() -> None:
    seen: list[RequestEvent] = []
    raw = config(sharedSecret="webhook-secret-123")  # the receiver's key is part of the schema
    async with QualtricsDestination.from_config(
        raw, client_options={"on_request": [seen.append], "timeout": 7.5}
    ) as destination:
        assert destination.client.timeout == 7.5
        with aioresponses() as mocked:
            mocked.get("https://iad1.qualtrics.com/API/v3/whoami", payload={"result": {}})
            await destination.client.whoami()
    assert [event.url for event in seen] == ["https://iad1.qualtrics.com/API/v3/whoami"]
    assert "webhook-secret-123" not in repr(destination)


async def test_ledger_path_opens_an_sqlite_ledger_next_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "destination.json"
    path.write_text(json.dumps(config(ledgerPath="deliveries.db")), encoding="utf-8")
    async with QualtricsDestination.from_config(path) as destination:
        ledger = destination.ledger
        assert isinstance(ledger, SQLiteLedger)
        assert Path(ledger.path) == tmp_path / "deliveries.db"
    with pytest.raises(RuntimeError, match="closed"):
        await ledger.lookup([("m", "s")])  # owned, so closed with the destination


async def test_an_explicit_ledger_wins_and_is_not_closed() -> None:
    mine = MemoryLedger()
    async with QualtricsDestination.from_config(
        config(ledgerPath="/nonexistent/dir/x.db"), ledger=mine
    ) as destination:
        assert destination.ledger is mine


async def test_base_url_replaces_the_datacenter() -> None:
    async with QualtricsDestination.from_config(
        config(rateLimit=10, maxConcurrency=4, baseUrl="http://127.0.0.1:9")
    ) as destination:
        assert destination.client.base_url.rstrip("/") == "http://127.0.0.1:9"


def test_d12_an_unsafe_datacenter_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"settings\.datacenter") as caught:
        QualtricsDestination.from_config(config(datacenter="evil.example/x?"))
    assert caught.value.field == "settings.datacenter"


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({**config(), "extra": 1}, "extra", "unknown key 'extra'"),
        (config(apiKey="x"), "settings.apiKey", "unknown key 'apiKey'"),
        (config(rateLimit=0), "settings.rateLimit", "positive number"),
        (config(maxConcurrency=2.5), "settings.maxConcurrency", "positive integer"),
        (config(datacenter=5), "settings.datacenter", "must be a string"),
        ({"settings": {}, "subscriptions": []}, "subscriptions", "non-empty"),
        ({"settings": [], "subscriptions": [{}]}, "settings", "JSON object"),
    ],
)
def test_config_structure_errors(raw: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        QualtricsDestination.from_config(raw)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("subscription", "field", "message"),
    [
        ({"mapping": {}}, "action", "needs an action"),
        (
            {"action": "addContactToXmd", "useDefaults": True},
            "subscriptions[0].useDefaults",
            "unknown key 'useDefaults'",
        ),
        (
            {"action": "addContactToXmd", "useDefaultMappings": "yes"},
            "useDefaultMappings",
            "true or false",
        ),
        ({"action": "addContactToXmd", "name": 3}, "name", "must be a string"),
        ({"action": "addContactToXmd", "mapping": {}}, "directoryId", "directoryId"),
    ],
)
def test_subscription_entry_errors(subscription: dict[str, Any], field: str, message: str) -> None:
    raw = {"settings": {"datacenter": "iad1", "apiToken": TOKEN}, "subscriptions": [subscription]}
    with pytest.raises(ConfigError, match=message) as caught:
        QualtricsDestination.from_config(raw)
    assert caught.value.field == field
    assert caught.value.subscription == 0


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        QualtricsDestination.from_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"settings": {,}', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"not valid JSON.*line 1"):
        QualtricsDestination.from_config(bad)


def test_the_token_never_appears_in_errors_or_reprs() -> None:
    with pytest.raises(ConfigError) as caught:
        QualtricsDestination.from_config(config(datacenter="bad host"))
    assert TOKEN not in str(caught.value)
    destination = QualtricsDestination.from_config(config())
    assert TOKEN not in repr(destination)
