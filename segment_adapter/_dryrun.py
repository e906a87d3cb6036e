"""``qualtrics-segment replay --dry-run``: show the Qualtrics requests a replay would send.

Nothing goes to Qualtrics. The events run through the real destination against an in-process
fake Qualtrics, seeded with the directories, mailing lists and workflow URLs the config names
literally (and no contacts, so every contact lookup misses). Every request leaving the client is
checked to go to the fake; the ones the fake received are then printed with the real host in
place of the fake's, tokens redacted.

The delivery ledger (``settings.ledgerPath``) is consulted but never written: the run uses a
copy of it, so events already delivered show as duplicates and a later real replay is not
misled into skipping events that only the dry run "delivered".
"""

from __future__ import annotations

import copy
import json
import sqlite3
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from qualtrics_sdk import UnsafeURLError

from ._replay import Outcome, ProgressCallback, SourceItem, deliver

__all__ = ["run_dry"]


def _real_origin(config: dict[str, Any]) -> str:
    raw = config.get("settings")
    settings: dict[str, Any] = raw if isinstance(raw, dict) else {}
    base = settings.get("baseUrl")
    if isinstance(base, str) and base:
        return base.rstrip("/")
    datacenter = settings.get("datacenter")
    return f"https://{str(datacenter).lower()}.qualtrics.com"


def _mappings(config: dict[str, Any]) -> list[dict[str, Any]]:
    subscriptions = config.get("subscriptions")
    if not isinstance(subscriptions, list):
        return []
    return [
        item["mapping"]
        for item in subscriptions
        if isinstance(item, dict) and isinstance(item.get("mapping"), dict)
    ]


def _seed(fake: Any, config: dict[str, Any]) -> dict[str, str]:
    """Create what the config names literally; rewrite workflow URLs to fake triggers.

    Returns the original workflow URL by fake ``urlTokenId``.
    """
    known = {directory.id for directory in fake.directories()}
    lists = {mailing_list.id for mailing_list in fake.mailing_lists()}
    originals: dict[str, str] = {}
    for mapping in _mappings(config):
        directory_id = mapping.get("directoryId")
        if isinstance(directory_id, str) and directory_id not in known:
            fake.add_directory("Dry run", directory_id=directory_id, dedup=("email", "extRef"))
            known.add(directory_id)
        list_id = mapping.get("mailingListId")
        if isinstance(list_id, str) and list_id not in lists:
            target = directory_id if isinstance(directory_id, str) else None
            fake.add_mailing_list("Dry run", directory_id=target, mailing_list_id=list_id)
            lists.add(list_id)
        url = mapping.get("workflowUrl")
        if isinstance(url, str):
            trigger = fake.add_workflow_trigger(auth="required")
            originals[trigger.rsplit("urlTokenId=", 1)[1]] = url
            mapping["workflowUrl"] = trigger
    return originals


def _describe(request: Any, origin: str, originals: dict[str, str]) -> str:
    url = origin + request.path
    if request.query:
        url += "?" + urlencode(dict(request.query))
    token_id = request.query.get("urlTokenId")
    if token_id in originals:
        url = originals[token_id]
    lines = [f"{request.method} {url}"]
    for name in ("X-API-TOKEN", "Authorization"):
        if name in request.headers:
            lines.append(f"  {name}: ***")
    if request.json is not None:
        body = json.dumps(request.json, indent=2, ensure_ascii=False)
        lines.extend("  " + line for line in body.splitlines())
    return "\n".join(lines)


def _copy_ledger(settings: dict[str, Any], directory: str) -> dict[str, Any]:
    """``settings`` with ``ledgerPath`` pointing at a copy of the ledger (or dropped if none)."""
    original = settings.get("ledgerPath")
    rest = {key: value for key, value in settings.items() if key != "ledgerPath"}
    if not isinstance(original, str) or original == ":memory:" or not Path(original).is_file():
        return rest
    copy_path = str(Path(directory) / "ledger.sqlite3")
    # SQLite's backup API reads a consistent snapshot even while a receiver is writing.
    source = sqlite3.connect(Path(original).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        target = sqlite3.connect(copy_path)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    return {**rest, "ledgerPath": copy_path}


async def run_dry(
    config: dict[str, Any],
    items: Sequence[SourceItem],
    *,
    batch_size: int,
    on_progress: ProgressCallback | None = None,
) -> tuple[list[Outcome], list[str]]:
    """Deliver ``items`` against a fake; returns the outcomes and the requests, formatted."""
    origin = _real_origin(config)
    config = copy.deepcopy(config)
    with tempfile.TemporaryDirectory(prefix="qualtrics-segment-dry-run-") as scratch:
        settings = _copy_ledger(config.get("settings") or {}, scratch)
        return await _run_against_fake(config, settings, items, origin, batch_size, on_progress)


async def _run_against_fake(
    config: dict[str, Any],
    settings: dict[str, Any],
    items: Sequence[SourceItem],
    origin: str,
    batch_size: int,
    on_progress: ProgressCallback | None,
) -> tuple[list[Outcome], list[str]]:
    from qualtrics_sdk.testing import FakeQualtrics

    from .cli import open_destination

    async with FakeQualtrics(seed=0) as fake:
        originals = _seed(fake, config)
        dropped = ("datacenter", "sharedSecret")  # the fake's baseUrl replaces the datacenter
        config["settings"] = {
            **{key: value for key, value in settings.items() if key not in dropped},
            "baseUrl": fake.base_url,
            "apiToken": fake.api_token,
        }
        fake_origin = fake.base_url

        def only_the_fake(event: Any) -> None:
            if not str(event.url).startswith(fake_origin + "/"):
                raise UnsafeURLError(f"dry run: not sending to {event.url}")

        async with open_destination(config, on_request=[only_the_fake]) as destination:
            outcomes = await deliver(
                destination, items, batch_size=batch_size, on_progress=on_progress
            )
        requests = [_describe(request, origin, originals) for request in fake.requests()]
    return outcomes, requests
