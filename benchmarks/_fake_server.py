"""Run ``FakeQualtrics`` in a child process, so the server's CPU does not compete with the code
being measured for the GIL (the machine has 2 cores: one for the fake, one for the client).

The child seeds contacts, prints one JSON line (base URL, token, ids) and serves until its stdin
closes. Usage::

    with FakeProcess(contacts=1000) as fake:
        fake.base_url, fake.api_token, fake.directory_id, fake.contact_ids
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from qualtrics_sdk.testing import FakeClock, FakeQualtrics

__all__ = ["FakeProcess", "seed_contact"]

READY_TIMEOUT_SECONDS = 60.0


def seed_contact(i: int) -> dict[str, Any]:
    """A realistic contact for seeding (Python field names of ``FakeQualtrics.add_contacts``)."""
    return {
        "first_name": f"First{i}",
        "last_name": f"Last{i}",
        "email": f"user{i}@example.com",
        "phone": f"+1555{i:07d}",
        "ext_ref": f"user-{i}",
        "language": "EN",
        "embedded_data": {"plan": "pro" if i % 3 else "free", "region": "EU", "ltv": i * 3},
    }


class FakeProcess:
    """A fake Qualtrics in a child process (context manager); see the module docstring."""

    def __init__(
        self,
        *,
        contacts: int = 0,
        rate_limit_per_minute: int | None = None,
        clock_speed: float = 1.0,
    ) -> None:
        self._args = ["--contacts", str(contacts), "--clock-speed", str(clock_speed)]
        if rate_limit_per_minute is not None:
            self._args += ["--rate-limit-per-minute", str(rate_limit_per_minute)]
        self._proc: subprocess.Popen[str] | None = None
        self.info: dict[str, Any] = {}

    def __enter__(self) -> FakeProcess:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._fake_server", *self._args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self.__exit__(None, None, None)
            raise RuntimeError("the fake Qualtrics child process exited before it was ready")
        self.info = json.loads(line)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return str(self.info["base_url"])

    @property
    def api_token(self) -> str:
        """The token the fake accepts."""
        return str(self.info["api_token"])

    @property
    def directory_id(self) -> str:
        """``POOL_DEFAULT``."""
        return str(self.info["directory_id"])

    @property
    def mailing_list_id(self) -> str:
        """The fake's default mailing list."""
        return str(self.info["mailing_list_id"])

    @property
    def contact_ids(self) -> list[str]:
        """Ids of the seeded contacts, in order."""
        return list(self.info["contact_ids"])


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeQualtrics(
        clock=FakeClock(speed=args.clock_speed),
        rate_limit_per_minute=args.rate_limit_per_minute,
        record_requests=False,
        seed=7,
    )
    ids = fake.add_contacts(
        (seed_contact(i) for i in range(args.contacts)),
        mailing_list_id=fake.default_mailing_list_id,
    )
    async with fake:
        info = {
            "base_url": fake.base_url,
            "api_token": fake.api_token,
            "directory_id": fake.default_directory_id,
            "mailing_list_id": fake.default_mailing_list_id,
            "contact_ids": ids,
        }
        print(json.dumps(info), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # serve until the parent closes stdin


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry point: ``python -m benchmarks._fake_server --contacts N``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=0)
    parser.add_argument("--rate-limit-per-minute", type=int, default=None)
    parser.add_argument("--clock-speed", type=float, default=1.0)
    asyncio.run(_serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
