"""``qualtrics-segment`` in-process: demo numbers, dry run isolation, progress, help, config errors.

These call ``cli.main`` (or its parts) in the test process; ``test_cli.py`` runs the real entry
point in subprocesses.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from qualtrics_sdk.testing import FakeQualtrics
from segment_adapter import cli
from segment_adapter._demo import run_demo
from segment_adapter._replay import Outcome, read_source
from segment_adapter.demo import read_events
from segment_adapter.events import parse_events

TOKEN = "tok-VERY-SECRET-123"


def config_for(base_url: str, **settings: Any) -> dict[str, Any]:
    return {
        "settings": {"baseUrl": base_url, "apiToken": TOKEN, **settings},
        "subscriptions": [
            {
                "name": "people",
                "action": "addContactToXmd",
                "subscribe": 'type = "identify"',
                "mapping": {"directoryId": "POOL_DEFAULT"},
                "useDefaultMappings": True,
            }
        ],
    }


def identify(n: int) -> dict[str, Any]:
    return {
        "type": "identify",
        "messageId": f"m-{n}",
        "userId": f"u-{n}",
        "traits": {"email": f"u{n}@example.com"},
    }


def write(path: Path, value: Any) -> str:
    path.write_text(json.dumps(value))
    return str(path)


def summary_number(out: str, label: str) -> int:
    match = re.search(rf"^\s+{label} \.+ (\d+)", out, re.MULTILINE)
    assert match, f"{label!r} missing from:\n{out}"
    return int(match.group(1))


async def test_demo_summary_matches_the_bundled_events_and_the_fake(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Expected figures computed from the bundled file itself, independently of the demo code.
    events = [json.loads(line) for line in read_events().decode().splitlines() if line.strip()]
    valid = [e for e in events if parse_events(e)[0].event is not None]
    purchases = [
        e
        for e in valid
        if e["type"] == "track" and e.get("event") in ("Transaction Created", "Order Completed")
    ]
    identifies = [e for e in valid if e["type"] == "identify"]
    big_orders = [
        e
        for e in purchases
        if e["event"] == "Order Completed" and float(e["properties"].get("total", 0)) > 100
    ]
    wanted = identifies + purchases

    async with FakeQualtrics(seed=11) as fake:
        assert await run_demo(fake=fake) == 0
        out = capsys.readouterr().out
        assert summary_number(out, "contacts created") == len(fake.contacts())
        assert summary_number(out, "transactions created") == len(fake.transactions())
        assert summary_number(out, "workflows triggered") == len(fake.trigger_events())
        assert summary_number(out, "Qualtrics API calls") == len(fake.requests())

    assert summary_number(out, "events read") == len(events)
    assert summary_number(out, "invalid") == len(events) - len(valid)
    assert summary_number(out, "delivered") == len(wanted)
    duplicates = len(wanted) - len({e["messageId"] for e in wanted})
    assert f"({duplicates} duplicates already delivered" in out
    assert summary_number(out, "skipped") == len(valid) - len(wanted)
    assert summary_number(out, "failed") == 0
    assert summary_number(out, "contacts created") == len({e["userId"] for e in identifies})
    assert summary_number(out, "transactions created") == len({e["messageId"] for e in purchases})
    assert summary_number(out, "workflows triggered") == len({e["messageId"] for e in big_orders})


async def test_dry_run_sends_nothing_to_the_configured_host_and_keeps_the_ledger(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a relative ledgerPath is relative to the config file
    events = write(tmp_path / "events.json", [identify(1), identify(2)])
    async with FakeQualtrics(seed=2) as recorder:  # the "real" Qualtrics: records every request
        settings = {"ledgerPath": "l.db", "apiToken": recorder.api_token}
        config = write(tmp_path / "config.json", config_for(recorder.base_url, **settings))
        ledger = tmp_path / "l.db"

        assert (
            await cli._dry_run(
                cli.build_parser().parse_args(["replay", events, "--config", config, "--dry-run"])
            )
            == 0
        )
        out = capsys.readouterr().out
        assert recorder.requests() == []
        assert not ledger.exists()
        assert f"POST {recorder.base_url}/API/v3/directories/POOL_DEFAULT/contacts" in out
        assert "X-API-TOKEN: ***" in out
        assert recorder.api_token not in out

        # A real replay delivers (and fills the ledger next to the config file) ...
        assert (
            await cli._replay(cli.build_parser().parse_args(["replay", events, "--config", config]))
            == 0
        )
        sent = len(recorder.requests())
        assert sent > 0
        assert ledger.exists()
        capsys.readouterr()
        before = ledger.read_bytes()
        # ... and a dry run afterwards reads that ledger (duplicates, nothing to send) and
        # leaves it and the host untouched.
        assert (
            await cli._dry_run(
                cli.build_parser().parse_args(["replay", events, "--config", config, "--dry-run"])
            )
            == 0
        )
        out = capsys.readouterr().out
        assert "Dry run: 0 Qualtrics request(s) would be sent" in out
        assert re.search(r"delivered \.+ 2 +\(2 duplicates", out)
        assert len(recorder.requests()) == sent
        assert ledger.read_bytes() == before


def test_progress_bar_on_a_terminal_and_plain_lines_otherwise(tmp_path: Path) -> None:
    outcome = Outcome(label="line 1", line=1, message_id="m", status="delivered")
    primary, secondary = os.openpty()
    with open(secondary, "w", encoding="utf-8", closefd=True) as terminal:
        progress = cli.Progress(2, terminal)
        progress.advance([outcome])
        progress.advance([outcome])
        progress.finish()
    shown = os.read(primary, 4096).decode()
    os.close(primary)
    assert "[###############---------------] 1/2 events (1 delivered)" in shown
    assert "\r[##############################] 2/2 events (2 delivered)" in shown

    with open(tmp_path / "log", "w+", encoding="utf-8") as plain:
        progress = cli.Progress(2, plain)
        progress.advance([outcome])
        progress.finish()
        plain.seek(0)
        assert plain.read() == "processed 1/2 events (1 delivered)\n"


def test_single_events_keep_their_line_numbers() -> None:
    [one] = read_source(json.dumps(identify(1)).encode() + b"\n")
    assert (one.label, one.line) == ("line 1", 1)
    [pretty] = read_source(b"\n" + json.dumps(identify(1), indent=2).encode())
    assert (pretty.label, pretty.line) == ("line 2", 2)
    assert pretty.parsed.event is not None
    envelope = read_source(json.dumps({"batch": [identify(1), identify(2)]}).encode())
    assert [item.label for item in envelope] == ["item 1", "item 2"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.pop("apiToken"), "(field 'settings.apiToken'): no Qualtrics API token"),
        (lambda s: s.update(apiTokn="x"), "unknown key 'apiTokn'"),
    ],
)
def test_settings_errors_are_plain_and_exit_2_before_sending(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    change: Any,
    expected: str,
) -> None:
    monkeypatch.delenv("QUALTRICS_API_TOKEN", raising=False)
    config = config_for("http://127.0.0.1:9")  # nothing listens: sending would fail, not exit 2
    change(config["settings"])
    events = write(tmp_path / "e.json", [identify(1)])
    assert cli.main(["replay", events, "--config", write(tmp_path / "c.json", config)]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert TOKEN not in err


def test_config_errors_name_the_subscription_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_for("http://127.0.0.1:9")
    config["subscriptions"][0]["action"] = "nope"
    assert cli.main(["check", "--config", write(tmp_path / "c.json", config)]) == 2
    err = capsys.readouterr().err
    assert "config error (subscription 'people', field 'action'): unknown action 'nope'" in err


@pytest.mark.parametrize("command", ["demo", "replay", "serve", "check"])
def test_every_command_has_help_with_its_exit_status(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: qualtrics-segment {command}" in text
    if command != "demo":
        assert "--config" in text
    if command in ("replay", "check"):
        assert "2  usage or config error" in text
    if command == "replay":
        assert '"summary"' in text
        assert '"events"' in text
    if command == "serve":
        assert "SEGMENT_SHARED_SECRET" in text
        assert "/readyz" in text


def test_check_calls_whoami(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeQualtrics(seed=4) as fake:
        config = config_for(fake.base_url)
        config["settings"]["apiToken"] = fake.api_token
        assert cli.main(["check", "--config", write(tmp_path / "c.json", config)]) == 0
        assert [(r.method, r.path) for r in fake.requests()] == [("GET", "/API/v3/whoami")]
    assert "Qualtrics OK" in capsys.readouterr().out


def test_concurrency_option_sets_the_destination_limit() -> None:
    config = config_for("http://127.0.0.1:9")
    assert cli._destination_config(config, 3)["settings"]["maxConcurrency"] == 3
    assert cli._destination_config(config, None) is config
