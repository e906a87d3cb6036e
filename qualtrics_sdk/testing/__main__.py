"""Run the fake Qualtrics standalone: ``python -m qualtrics_sdk.testing --port 8765``.

Prints the base URL and the API token, then serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence

from ._clock import FakeClock
from ._fake import FakeQualtrics


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m qualtrics_sdk.testing",
        description="Serve a stateful fake Qualtrics API (for manual experiments and tests).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port (default 8765; 0 = any)")
    parser.add_argument("--token", default=None, help="API token to accept (default: random)")
    parser.add_argument(
        "--rate-limit-per-minute",
        type=int,
        default=None,
        help="brand-wide limit; over it the fake answers 429 (default: off)",
    )
    parser.add_argument(
        "--clock-speed", type=float, default=1.0, help="fake seconds per real second (default 1)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for ids and faults")
    parser.add_argument(
        "--proxy-notice", default=None, help='host to name in a "Request proxied" notice'
    )
    parser.add_argument(
        "--oauth-client",
        action="append",
        default=[],
        metavar="ID:SECRET",
        help="register an OAuth client (repeatable)",
    )
    parser.add_argument(
        "--workflow-trigger", action="store_true", help="create a JSON-event trigger, print its URL"
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeQualtrics(
        host=args.host,
        port=args.port,
        api_token=args.token,
        seed=args.seed,
        clock=FakeClock(speed=args.clock_speed),
        rate_limit_per_minute=args.rate_limit_per_minute,
        proxy_notice=args.proxy_notice,
        record_requests=False,
    )
    for spec in args.oauth_client:
        client_id, sep, secret = spec.partition(":")
        if not sep or not client_id or not secret:
            raise SystemExit(f"--oauth-client needs ID:SECRET, got {spec!r}")
        fake.add_oauth_client(client_id, secret)
    async with fake:
        print(f"Fake Qualtrics serving at {fake.base_url}  (API root {fake.base_url}/API/v3)")
        print(f"API token: {fake.api_token}")
        print(f"Default directory: {fake.default_directory_id}")
        print(f"Default mailing list: {fake.default_mailing_list_id}")
        if args.workflow_trigger:
            print(f"Workflow trigger: {fake.add_workflow_trigger()}")
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m qualtrics_sdk.testing``; returns the exit status."""
    args = _parser().parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
