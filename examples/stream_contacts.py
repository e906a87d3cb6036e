"""Stream every contact of a directory as JSON Lines, in constant memory.

    QUALTRICS_API_TOKEN=... QUALTRICS_DATACENTER=iad1 \\
        python examples/stream_contacts.py --directory-id POOL_... > contacts.jsonl

Pages are fetched one at a time as the loop consumes them, so a directory of millions of contacts
needs no more memory than one page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from _common import add_connection_arguments, make_client

from qualtrics_sdk import QualtricsClient


async def stream(client: QualtricsClient, directory_id: str, out: TextIO, page_size: int) -> int:
    """Write one JSON object per contact to ``out``; return how many were written."""
    count = 0
    async for contact in client.contacts.list(directory_id, page_size=page_size):
        record = {
            "id": contact.id,
            "email": contact.email,
            "ext_ref": contact.ext_ref,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "phone": contact.phone,
            "language": contact.language,
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    return count


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--directory-id", required=True, help="the directory, POOL_...")
    parser.add_argument("--page-size", type=int, default=100, help="contacts per request")
    add_connection_arguments(parser)
    args = parser.parse_args(argv)
    async with make_client(args) as client:
        count = await stream(client, args.directory_id, sys.stdout, args.page_size)
    print(f"{count} contacts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
