"""Sync contacts from a CSV file into an XM Directory, without creating duplicates.

Each row is upserted by its identity (``ext_ref``, else ``email``): an existing contact is found
and updated, a new one is created. Columns: ``ext_ref``, ``email``, ``phone``, ``first_name``,
``last_name``, ``language``; any other column becomes embedded data. Empty cells are left out.

    QUALTRICS_API_TOKEN=... QUALTRICS_DATACENTER=iad1 \\
        python examples/sync_contacts_from_csv.py contacts.csv --directory-id POOL_...

Prints one line per row and a summary; exits 1 if any row failed (the others are still synced).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

from _common import add_connection_arguments, make_client

from qualtrics_sdk import AmbiguousContactError, QualtricsClient, QualtricsError

CONTACT_COLUMNS = ("first_name", "last_name", "language")
IDENTITY_COLUMNS = ("ext_ref", "email", "phone")


async def sync_row(client: QualtricsClient, directory_id: str, row: dict[str, str]) -> str:
    """Upsert one CSV row; return ``"created"`` or ``"updated"``."""
    values = {key: value.strip() for key, value in row.items() if key and value and value.strip()}
    identity = {key: values[key] for key in IDENTITY_COLUMNS if key in values}
    fields = {key: values[key] for key in CONTACT_COLUMNS if key in values}
    known = set(IDENTITY_COLUMNS) | set(CONTACT_COLUMNS)
    embedded = {key: value for key, value in values.items() if key not in known}
    result = await client.contacts.upsert(
        directory_id,
        **identity,
        **fields,
        embedded_data=embedded or None,
        update=True,
    )
    return "created" if result.created else "updated"


async def sync(client: QualtricsClient, directory_id: str, csv_path: Path) -> dict[str, int]:
    """Sync every row of ``csv_path``; return counts of created, updated and failed rows."""
    counts = {"created": 0, "updated": 0, "failed": 0}
    with csv_path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                outcome = await sync_row(client, directory_id, row)
            except AmbiguousContactError as error:
                outcome = "failed"
                print(f"line {line}: several contacts match: {', '.join(error.candidate_ids)}")
            except QualtricsError as error:
                outcome = "failed"
                print(f"line {line}: {error}")
            else:
                print(f"line {line}: {outcome}")
            counts[outcome] += 1
    return counts


async def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv_path", type=Path, help="CSV file with a header row")
    parser.add_argument("--directory-id", required=True, help="the directory, POOL_...")
    add_connection_arguments(parser)
    args = parser.parse_args(argv)
    async with make_client(args) as client:
        counts = await sync(client, args.directory_id, args.csv_path)
    print(f"created={counts['created']} updated={counts['updated']} failed={counts['failed']}")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
