"""``qualtrics-segment`` end to end: the real entry point in a subprocess, against the fake server.

The fake runs in a background thread of the test process; the CLI subprocess reaches it over
127.0.0.1. Subprocesses cost about half a second each, so the variants that only differ in their
input run the same ``main()`` in-process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qualtrics_sdk.testing import FakeQualtrics
from segment_adapter import cli

TIMEOUT = 60


@pytest.fixture
def fake() -> Iterator[FakeQualtrics]:
    with FakeQualtrics(seed=5) as server:
        yield server


def make_config(fake: FakeQualtrics, **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "settings": {"baseUrl": fake.base_url, "apiToken": fake.api_token},
        "subscriptions": [
            {
                "action": "addContactToXmd",
                "subscribe": 'type = "identify"',
                "mapping": {"directoryId": "POOL_DEFAULT"},
                "useDefaultMappings": True,
            },
            {
                "action": "upsertContactTransaction",
                "subscribe": 'type = "track" and event = "Order Completed"',
                "mapping": {
                    "directoryId": "POOL_DEFAULT",
                    "mailingListId": fake.default_mailing_list_id,
                    "transactionData": {"total": {"@path": "$.properties.total"}},
                },
                "useDefaultMappings": True,
            },
        ],
    }
    config.update(changes)
    return config


def write_config(tmp_path: Path, config: dict[str, Any]) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return str(path)


def identify(n: int) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": f"m-id-{n}",
        "userId": f"u-{n}",
        "timestamp": "2024-05-01T10:00:00Z",
        "traits": {"email": f"u{n}@example.com", "firstName": f"User{n}"},
    }


def order(n: int, total: float = 10.0) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Order Completed",
        "messageId": f"m-order-{n}",
        "userId": f"u-{n}",
        "timestamp": "2024-05-01T10:01:00Z",
        "properties": {"total": total},
        "context": {"traits": {"email": f"u{n}@example.com"}},
    }


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("QUALTRICS_API_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "segment_adapter", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=env,
        check=False,
    )


def test_demo_prints_a_summary_with_real_counts() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout

    def count(label: str) -> int:
        match = re.search(rf"^\s+{label} \.+ (\d+)", out, re.MULTILINE)
        assert match, f"{label!r} missing from:\n{out}"
        return int(match.group(1))

    for label in (
        "delivered",
        "skipped",
        "contacts created",
        "transactions created",
        "workflows triggered",
        "Qualtrics API calls",
    ):
        assert count(label) > 0, label
    assert count("failed") == 0
    assert "duplicates already delivered" in out
    # The bundled invalid events are reported by line, with the reason.
    bundled = Path(cli.__file__).with_name("demo") / "events.jsonl"
    lines = bundled.read_text().splitlines()
    no_ids = [
        n
        for n, text in enumerate(lines, 1)
        if '"userId"' not in text and '"anonymousId"' not in text
    ]
    bad_time = [n for n, text in enumerate(lines, 1) if "yesterday at noon" in text]
    assert count("invalid") == 3
    assert re.search(rf"^line {no_ids[0]}: invalid: .*userId", out, re.MULTILINE)
    assert re.search(rf"^line {bad_time[0]}: invalid: .*timestamp", out, re.MULTILINE)
    assert re.search(r"^\s+elapsed \.+ \d+\.\d\d s$", out, re.MULTILINE)


def test_replay_jsonl_reports_invalid_lines_and_exits_1(
    tmp_path: Path, fake: FakeQualtrics
) -> None:
    events = tmp_path / "events.jsonl"
    no_id = {"type": "identify", "messageId": "m-x", "traits": {}}
    events.write_text(
        "\n".join(
            [
                json.dumps(identify(1)),
                json.dumps(order(1)),
                "",
                json.dumps(no_id),
                "{not json",
                json.dumps(identify(2)),
            ]
        )
        + "\n"
    )
    report = tmp_path / "report.json"
    result = run(
        "replay",
        str(events),
        "--config",
        write_config(tmp_path, make_config(fake)),
        "--report",
        str(report),
    )
    assert result.returncode == 1, result.stderr
    assert re.search(r"^line 4: invalid: .*userId", result.stdout, re.MULTILINE)
    assert re.search(r"^line 5: invalid: not valid JSON", result.stdout, re.MULTILINE)
    assert "processed 5/5 events" in result.stderr  # plain progress lines when not a TTY
    # The rest was delivered.
    assert sorted(c.ext_ref for c in fake.contacts()) == ["u-1", "u-2"]
    assert len(fake.transactions()) == 1
    data = json.loads(report.read_text())
    assert [(e["source"], e["status"]) for e in data["events"]] == [
        ("line 1", "delivered"),
        ("line 2", "delivered"),
        ("line 4", "invalid"),
        ("line 5", "invalid"),
        ("line 6", "delivered"),
    ]
    assert data["events"][1]["messageId"] == "m-order-1"
    assert data["events"][1]["result"]["subscriptions"][0]["transaction_id"]
    assert data["summary"]["delivered"] == 3
    assert data["summary"]["invalid"] == 2
    assert data["summary"]["apiCalls"] > 0


def test_replay_json_array_from_stdin_exits_0(tmp_path: Path, fake: FakeQualtrics) -> None:
    page = {"type": "page", "messageId": "m-page", "userId": "u-1", "name": "Home"}
    payload = json.dumps([identify(1), order(1), page, order(1)]).encode()  # last: redelivery
    result = run(
        "replay", "-", "--config", write_config(tmp_path, make_config(fake)), stdin=payload
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"delivered \.+ 3 +\(1 duplicates", result.stdout)
    assert re.search(r"skipped \.+ 1", result.stdout)
    assert len(fake.transactions()) == 1


def test_replay_batch_envelope_merges_the_shared_context(
    tmp_path: Path, fake: FakeQualtrics, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "batch.json"
    tracked = order(7)
    del tracked["context"]
    envelope = {"batch": [tracked], "context": {"traits": {"email": "shared@example.com"}}}
    events.write_text(json.dumps(envelope, indent=2))
    status = cli.main(
        ["replay", str(events), "--config", write_config(tmp_path, make_config(fake))]
    )
    assert status == 0, capsys.readouterr()
    [contact] = fake.contacts()
    assert contact.email == "shared@example.com"


def test_replay_exits_1_when_qualtrics_fails(
    tmp_path: Path, fake: FakeQualtrics, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.json"
    events.write_text(json.dumps([identify(1)]))
    fake.faults.fail(status=400, method="POST", path="/API/v3/directories/*/contacts", times=None)
    status = cli.main(
        ["replay", str(events), "--config", write_config(tmp_path, make_config(fake))]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert re.search(r"^item 1: failed: ", out, re.MULTILINE)


def test_dry_run_prints_requests_and_sends_nothing(tmp_path: Path, fake: FakeQualtrics) -> None:
    config = make_config(fake)
    config["settings"] = {"datacenter": "iad1", "apiToken": "real-secret-token"}  # a real account
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(identify(1)) + "\n" + json.dumps(order(1)) + "\n")
    result = run("replay", str(events), "--config", write_config(tmp_path, config), "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "POST https://iad1.qualtrics.com/API/v3/directories/POOL_DEFAULT/contacts" in out
    assert "POST https://iad1.qualtrics.com/API/v3/directories/POOL_DEFAULT/transactions" in out
    assert '"extRef": "u-1"' in out
    assert "X-API-TOKEN: ***" in out
    assert "real-secret-token" not in out + result.stderr
    assert fake.requests() == []


def test_dry_run_refuses_requests_that_would_leave_for_the_real_host(
    tmp_path: Path, fake: FakeQualtrics, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(fake)
    config["settings"] = {"datacenter": "iad1", "apiToken": "real-secret-token"}
    config["subscriptions"].append(
        {
            "action": "triggerXflowWorkflow",
            "subscribe": 'event = "Order Completed"',
            "mapping": {"workflowUrl": {"@path": "$.properties.workflow"}},
        }
    )
    tracked = order(1)
    tracked["properties"]["workflow"] = (
        "https://iad1.qualtrics.com/inbound-event/v1/events/json/triggers?urlTokenId=dynamic"
    )
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(tracked) + "\n")
    status = cli.main(
        ["replay", str(events), "--config", write_config(tmp_path, config), "--dry-run"]
    )
    out = capsys.readouterr().out
    assert status == 1
    assert "dry run: not sending to https://iad1.qualtrics.com/inbound-event/" in out
    assert "POST https://iad1.qualtrics.com/API/v3/directories/POOL_DEFAULT/transactions" in out
    assert fake.requests() == []


def test_config_error_is_reported_before_sending_and_exits_2(
    tmp_path: Path, fake: FakeQualtrics
) -> None:
    config = make_config(fake)
    config["subscriptions"][1]["action"] = "sendCarrierPigeon"
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(identify(1)) + "\n")
    result = run("replay", str(events), "--config", write_config(tmp_path, config))
    assert result.returncode == 2
    assert "subscription #1" in result.stderr
    assert "action" in result.stderr
    assert "sendCarrierPigeon" in result.stderr
    assert fake.requests() == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c["subscriptions"][0]["mapping"].pop("directoryId"), "directoryId"),
        (lambda c: c["subscriptions"][0].update(subscribe='type = "identify" and'), "subscribe"),
        (lambda c: c["subscriptions"][0]["mapping"].update(email={"@nope": 1}), "@nope"),
        (lambda c: c["settings"].update(datacenter="evil.example/x?", baseUrl=None), "datacenter"),
    ],
)
def test_config_errors_name_the_subscription_and_field(
    tmp_path: Path,
    fake: FakeQualtrics,
    capsys: pytest.CaptureFixture[str],
    change: Any,
    expected: str,
) -> None:
    config = make_config(fake)
    change(config)
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(identify(1)) + "\n")
    status = cli.main(["replay", str(events), "--config", write_config(tmp_path, config)])
    err = capsys.readouterr().err
    assert status == 2
    assert expected in err
    assert fake.requests() == []


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["replay", "events.jsonl"])  # --config missing
    assert exit_info.value.code == 2
    assert (
        cli.main(["replay", str(tmp_path / "nope.jsonl"), "--config", str(tmp_path / "nope.json")])
        == 2
    )
    assert "cannot read config" in capsys.readouterr().err


def test_check_reports_success_and_refused_credentials(
    tmp_path: Path, fake: FakeQualtrics, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check", "--config", write_config(tmp_path, make_config(fake))]) == 0
    assert "Qualtrics OK" in capsys.readouterr().out
    config = make_config(fake)
    config["settings"]["apiToken"] = "not-the-token"
    assert cli.main(["check", "--config", write_config(tmp_path, config)]) == 1
    out = capsys.readouterr().out
    assert "refused the API token" in out
    assert "not-the-token" not in out


def test_serve_delivers_and_stops_cleanly_on_sigterm(tmp_path: Path, fake: FakeQualtrics) -> None:
    secret = "segment-SHARED-secret-77"
    config_path = write_config(tmp_path, make_config(fake))
    process = subprocess.Popen(
        [sys.executable, "-m", "segment_adapter", "serve", "--config", config_path, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "SEGMENT_SHARED_SECRET": secret},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)/", first)
        assert match, first + (process.stderr.read() if process.stderr else "")
        data = json.dumps(identify(1)).encode()
        unsigned = urllib.request.Request(match.group(1) + "/", data=data, method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(unsigned, timeout=TIMEOUT)
        assert refused.value.code == 401
        assert secret not in refused.value.read().decode()
        signature = hmac.new(secret.encode(), data, hashlib.sha1).hexdigest()
        request = urllib.request.Request(
            match.group(1) + "/segment",
            data=data,
            headers={"Content-Type": "application/json", "X-Signature": signature},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                status, answer = response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            process.terminate()
            pytest.fail(f"{error.code}: {error.read()!r}\n{process.communicate()}")
        assert status == 200
        assert answer["events"][0]["status"] == "delivered"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0
        assert "stopped" in out
        assert '"POST /segment HTTP/1.1" 200' in err  # access log on stderr
        for secret_value in (secret, fake.api_token):
            assert secret_value not in first + out + err
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert len(fake.contacts()) == 1


def test_bundled_demo_events_are_generated_from_the_script() -> None:
    from segment_adapter.demo import _generate, read_events

    assert read_events().decode("utf-8") == _generate.generate()
