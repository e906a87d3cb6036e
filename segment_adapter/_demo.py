"""``qualtrics-segment demo``: the bundled sample events through the real destination, against an
embedded fake Qualtrics, with a summary of what reached "Qualtrics"."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

from . import demo
from ._replay import deliver, read_source, summarize
from .cli import EXIT_OK, Progress, _summary_rows, _table, build_destination

if TYPE_CHECKING:
    from qualtrics_sdk.testing import FakeQualtrics

__all__ = ["fill_placeholders", "run_demo"]


def fill_placeholders(config: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Replace ``{{NAME}}`` placeholders anywhere in the config's strings."""
    text = json.dumps(config)
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", json.dumps(value)[1:-1])
    filled: dict[str, Any] = json.loads(text)
    return filled


async def run_demo(*, batch_size: int = 100, fake: FakeQualtrics | None = None) -> int:
    """Run the demo and print its summary; returns the exit status (0).

    ``fake`` is a running fake Qualtrics to use (tests inspect it afterwards); by default one is
    started and stopped here.
    """
    from qualtrics_sdk.testing import FakeQualtrics

    if fake is not None:
        return await _run(fake, batch_size)
    async with FakeQualtrics(seed=1) as own:
        return await _run(own, batch_size)


async def _run(fake: FakeQualtrics, batch_size: int) -> int:
    started = time.monotonic()
    before = {
        "contacts": len(fake.contacts()),
        "transactions": len(fake.transactions()),
        "workflows": len(fake.trigger_events()),
        "calls": fake.stats.requests,
    }
    config = fill_placeholders(
        demo.load_config(),
        {
            "BASE_URL": fake.base_url,
            "API_TOKEN": fake.api_token,
            "MAILING_LIST_ID": fake.default_mailing_list_id,
            "WORKFLOW_URL": fake.add_workflow_trigger(),
        },
    )
    destination = build_destination(config)
    items = read_source(demo.read_events())
    print(f"Embedded fake Qualtrics listening on {fake.base_url} (directory POOL_DEFAULT)")
    for index, subscription in enumerate(config["subscriptions"]):
        name = subscription.get("name") or f"#{index}"
        print(f"  subscription {name}: {subscription['action']} when {subscription['subscribe']}")
    print(
        f"Replaying {len(items)} bundled Segment events "
        "(identify, track, page; some redelivered, some invalid)"
    )
    progress = Progress(len(items), sys.stderr)
    async with destination:
        outcomes = await deliver(
            destination, items, batch_size=batch_size, on_progress=progress.advance
        )
    progress.finish()
    elapsed = time.monotonic() - started
    counts = summarize(outcomes)
    contacts = len(fake.contacts()) - before["contacts"]
    transactions = len(fake.transactions()) - before["transactions"]
    workflows = len(fake.trigger_events()) - before["workflows"]
    calls = fake.stats.requests - before["calls"]
    print()
    print("Summary")
    print(
        _table(
            [
                *_summary_rows(counts),
                ("contacts created", str(contacts)),
                ("transactions created", str(transactions)),
                ("workflows triggered", str(workflows)),
                ("Qualtrics API calls", str(calls)),
                ("elapsed", f"{elapsed:.2f} s"),
            ]
        )
    )
    return EXIT_OK
