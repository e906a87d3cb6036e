"""Start a Qualtrics workflow by sending a JSON event to its trigger URL.

    QUALTRICS_API_TOKEN=... QUALTRICS_DATACENTER=iad1 python examples/trigger_workflow.py \\
        'https://iad1.qualtrics.com/inbound-event/v1/events/json/triggers?urlTokenId=...' \\
        '{"event": "Order Completed", "orderId": "A-1001"}'

The URL must be https on a *.qualtrics.com host (or the --base-url origin): the SDK refuses any
other host before sending, so the API token cannot leak to a mistyped URL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence

from _common import add_connection_arguments, make_client

from qualtrics_sdk import QualtricsError


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="the workflow's JSON-event trigger URL")
    parser.add_argument("payload", help="the event, a JSON object")
    parser.add_argument(
        "--auth", choices=("token", "basic", "none"), default="token", help="trigger auth mode"
    )
    parser.add_argument("--username", help="Qualtrics user name, for --auth basic")
    add_connection_arguments(parser)
    args = parser.parse_args(argv)
    try:
        payload = json.loads(args.payload)
    except json.JSONDecodeError as error:
        parser.error(f"payload is not JSON: {error}")
    async with make_client(args) as client:
        try:
            result = await client.workflows.trigger_event(
                args.url, payload, auth=args.auth, username=args.username
            )
        except QualtricsError as error:
            print(f"not sent: {error}", file=sys.stderr)
            return 1
    print(f"workflow triggered: HTTP {result.status}, request id {result.request_id}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
