"""SIGTERM to ``qualtrics-segment serve`` under load: in-flight requests finish or fail cleanly,
and nothing is acknowledged (2xx) that Qualtrics does not hold."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from collections import Counter
from pathlib import Path

import aiohttp
from reliability_support import report

from qualtrics_sdk.testing import FakeQualtrics

REQUESTS = 120


def _event(n: int) -> dict[str, object]:
    return {
        "type": "track",
        "event": "Transaction Created",
        "userId": f"user-{n % 10}",
        "messageId": f"shutdown-{n}",
        "timestamp": "2024-05-01T10:00:00Z",
        "context": {"traits": {"email": f"user-{n % 10}@example.com"}},
        "properties": {"order_id": f"shutdown-{n}"},
    }


async def test_sigterm_during_load_acknowledges_only_delivered_events(tmp_path: Path) -> None:
    with FakeQualtrics(seed=21) as fake:
        # every transaction write takes 0.3 s, so many requests are in flight at SIGTERM
        fake.faults.delay(0.3, method="POST", path="/API/v3/directories/*/transactions", times=None)
        config = {
            "settings": {"baseUrl": fake.base_url, "apiToken": fake.api_token},
            "subscriptions": [
                {
                    "name": "tx",
                    "action": "upsertContactTransaction",
                    "mapping": {
                        "directoryId": fake.default_directory_id,
                        "mailingListId": fake.default_mailing_list_id,
                        "transactionData": {"order": {"@path": "$.properties.order_id"}},
                    },
                }
            ],
        }
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        env = {k: v for k, v in os.environ.items() if k != "SEGMENT_SHARED_SECRET"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "segment_adapter",
            "serve",
            "--config",
            str(path),
            "--port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
        found = re.search(r"listening on (http://\S+?)/ ", line)
        assert found, line
        url = found.group(1) + "/"
        outcomes: Counter[str] = Counter()
        acked: list[str] = []

        async def post(session: aiohttp.ClientSession, n: int) -> None:
            await asyncio.sleep(n * 0.01)
            try:
                async with session.post(url, json=_event(n)) as response:
                    await response.read()
                    outcomes[str(response.status)] += 1
                    if 200 <= response.status < 300:
                        acked.append(f"shutdown-{n}")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                outcomes[type(exc).__name__] += 1

        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            load = asyncio.ensure_future(
                asyncio.gather(*(post(session, n) for n in range(REQUESTS)))
            )
            await asyncio.sleep(REQUESTS * 0.01 / 2)
            process.send_signal(signal.SIGTERM)
            await load
        exit_code = await asyncio.wait_for(process.wait(), timeout=20)
        rest = (await process.stdout.read()).decode()
        stored = Counter(t.data.get("order") for t in fake.transactions())
    not_delivered = [m for m in acked if stored[m] == 0]
    duplicates = sum(n - 1 for n in stored.values() if n > 1)
    figures = report(
        "shutdown under load",
        requests=REQUESTS,
        outcomes=dict(sorted(outcomes.items())),
        acknowledged=len(acked),
        acknowledged_not_delivered=len(not_delivered),
        transactions=sum(stored.values()),
        duplicates=duplicates,
        exit_code=exit_code,
    )
    assert exit_code == 0, f"{figures}; {rest[-2000:]}"
    assert "Traceback" not in rest, f"{figures}; {rest[-2000:]}"
    assert acked, figures
    assert not_delivered == [], figures
    assert duplicates == 0, figures
    assert sum(outcomes.values()) == REQUESTS, figures
    assert "500" not in outcomes, figures
