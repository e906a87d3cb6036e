"""The scripts in examples/ run end to end, as a user runs them, against the fake Qualtrics.

Each test starts ``FakeQualtrics`` in a background thread, runs the script in a subprocess with the
fake's origin and token in the environment (as a user would set ``QUALTRICS_API_TOKEN``), and
checks the fake's state afterwards.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qualtrics_sdk.testing import FakeQualtrics

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DIRECTORY = "POOL_DEFAULT"


@pytest.fixture
def fake() -> Iterator[FakeQualtrics]:
    with FakeQualtrics() as server:
        yield server


def run_example(fake: FakeQualtrics, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("QUALTRICS_API_TOKEN", "QUALTRICS_DATACENTER", "QUALTRICS_BASE_URL")
    }
    env.update(QUALTRICS_API_TOKEN=fake.api_token, QUALTRICS_BASE_URL=fake.base_url)
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_sync_contacts_from_csv_creates_updates_and_is_idempotent(
    fake: FakeQualtrics, tmp_path: Path
) -> None:
    existing = fake.add_contact(ext_ref="user-1", email="ada@example.com", first_name="A")
    csv_path = tmp_path / "contacts.csv"
    csv_path.write_text(
        "ext_ref,email,first_name,last_name,plan\n"
        "user-1,ada@example.com,Ada,Lovelace,pro\n"
        "user-2,grace@example.com,Grace,Hopper,\n"
        ",,Nobody,Without-identity,free\n",
        encoding="utf-8",
    )

    first = run_example(
        fake, "sync_contacts_from_csv.py", str(csv_path), "--directory-id", DIRECTORY
    )

    assert first.returncode == 1, first.stderr  # the row without identity failed
    assert "line 2: updated" in first.stdout
    assert "line 3: created" in first.stdout
    assert "line 4: upsert needs at least one identity field" in first.stdout
    assert "created=1 updated=1 failed=1" in first.stdout
    ada = fake.get_contact(existing)
    assert (ada.first_name, ada.last_name, dict(ada.embedded_data)) == (
        "Ada",
        "Lovelace",
        {"plan": "pro"},
    )
    grace = [c for c in fake.contacts(DIRECTORY) if c.ext_ref == "user-2"]
    assert [(c.email, c.first_name, dict(c.embedded_data)) for c in grace] == [
        ("grace@example.com", "Grace", {})
    ]

    second = run_example(
        fake, "sync_contacts_from_csv.py", str(csv_path), "--directory-id", DIRECTORY
    )

    assert "created=0 updated=2 failed=1" in second.stdout
    assert len(fake.contacts(DIRECTORY)) == 2


def test_stream_contacts_writes_every_contact_once(fake: FakeQualtrics) -> None:
    ids = fake.add_contacts(
        {"email": f"user{n}@example.com", "ext_ref": f"user-{n}"} for n in range(250)
    )

    result = run_example(
        fake, "stream_contacts.py", "--directory-id", DIRECTORY, "--page-size", "100"
    )

    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [record["id"] for record in records] == ids
    assert records[7]["email"] == "user7@example.com"
    assert records[7]["ext_ref"] == "user-7"
    assert "250 contacts" in result.stderr
    contact_pages = [r for r in fake.requests() if r.path.endswith("/contacts")]
    assert len(contact_pages) == 3


def test_trigger_workflow_sends_the_event(fake: FakeQualtrics) -> None:
    url = fake.add_workflow_trigger()
    payload = {"event": "Order Completed", "orderId": "A-1001", "total": 42.5}

    result = run_example(fake, "trigger_workflow.py", url, json.dumps(payload))

    assert result.returncode == 0, result.stderr
    assert "workflow triggered: HTTP 202" in result.stdout
    assert [event.payload for event in fake.trigger_events(url)] == [payload]


def test_trigger_workflow_refuses_a_foreign_host_without_sending(fake: FakeQualtrics) -> None:
    url = (
        "https://iad1.qualtrics.com.evil.example/inbound-event/v1/events/json/triggers?urlTokenId=x"
    )

    result = run_example(fake, "trigger_workflow.py", url, '{"event": "x"}')

    assert result.returncode == 1
    assert "not sent:" in result.stderr
    assert "not a *.qualtrics.com host" in result.stderr
    assert fake.api_token not in result.stderr + result.stdout
    assert fake.trigger_events() == []


# --- segment_webhook_app.py: an aiohttp app built on QualtricsDestination ----------------------


def _load_webhook_app() -> Any:
    spec = importlib.util.spec_from_file_location(
        "segment_webhook_app", EXAMPLES / "segment_webhook_app.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SECRET_FOR_TEST = "whsec-example-test"


def _signed(body: bytes, secret: str = SECRET_FOR_TEST) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"X-Signature": signature, "Content-Type": "application/json"}


async def test_segment_webhook_app_delivers_once_and_checks_signatures() -> None:
    from aiohttp.test_utils import TestClient, TestServer

    from qualtrics_sdk import QualtricsClient
    from segment_adapter import QualtricsDestination, Subscription

    example = _load_webhook_app()
    async with FakeQualtrics() as fake:
        mailing_list = fake.mailing_lists(DIRECTORY)[0].id
        destination = QualtricsDestination(
            QualtricsClient(base_url=fake.base_url, api_token=fake.api_token),
            [
                Subscription(
                    action="addContactToXmd", name="contacts", mapping={"directoryId": DIRECTORY}
                ),
                Subscription(
                    action="upsertContactTransaction",
                    name="orders",
                    subscribe='type = "track" and event = "Order Completed"',
                    mapping={
                        "directoryId": DIRECTORY,
                        "mailingListId": mailing_list,
                        "transactionData": {"amount": {"@path": "$.properties.amount"}},
                    },
                ),
            ],
            owns_client=True,
        )
        app = example.create_app(destination, SECRET_FOR_TEST)
        async with TestClient(TestServer(app)) as http:
            identify = json.dumps(
                {
                    "type": "identify",
                    "messageId": "msg-1",
                    "userId": "user-1",
                    "traits": {"email": "ada@example.com", "firstName": "Ada"},
                    "timestamp": "2024-05-01T12:00:00Z",
                }
            ).encode()
            unsigned = await http.post("/", data=identify)
            assert unsigned.status == 401
            assert fake.contacts(DIRECTORY) == []

            first = await http.post("/", data=identify, headers=_signed(identify))
            assert first.status == 200, await first.text()
            assert [(c.ext_ref, c.email, c.first_name) for c in fake.contacts(DIRECTORY)] == [
                ("user-1", "ada@example.com", "Ada")
            ]

            track = json.dumps(
                [
                    {
                        "type": "track",
                        "event": "Order Completed",
                        "messageId": "msg-2",
                        "userId": "user-1",
                        "properties": {"amount": 42.5},
                        "context": {"traits": {"email": "ada@example.com"}},
                        "timestamp": "2024-05-01T12:05:00Z",
                    },
                    {"type": "track", "messageId": "msg-3", "userId": "user-1"},
                ]
            ).encode()
            mixed = await http.post("/", data=track, headers=_signed(track))
            assert mixed.status == 207
            statuses = [r["status"] for r in (await mixed.json())["results"]]
            assert statuses == ["delivered", "failed"]

            redelivered = await http.post("/", data=track, headers=_signed(track))
            assert redelivered.status == 207
            assert (await redelivered.json())["results"][0]["duplicate"] is True

            malformed = b"{not json"
            bad = await http.post("/", data=malformed, headers=_signed(malformed))
            assert bad.status == 400

        transactions = fake.transactions()
        assert [(t.data, t.mailing_list_id) for t in transactions] == [
            ({"amount": "42.5"}, mailing_list)
        ]
        assert len(fake.contacts(DIRECTORY)) == 1
