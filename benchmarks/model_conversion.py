"""Benchmark 6: contacts structured per second by the SDK's converter, versus ``json.loads`` alone.

The input is what ``GET /directories/{id}/contacts`` returns: pages of 100 list-shaped contacts
(JSON bytes). Each round decodes every page with ``json.loads`` (the floor), then decodes and
structures every element into :class:`qualtrics_sdk.Contact`, alternating so machine noise hits
both sides alike. Get-shaped contacts (embedded data, epoch-ms dates, list membership) are measured
the same way for reference. Target: over 50,000 list-shaped contacts/s structured.

Run: ``python -m benchmarks.model_conversion [--quick]``
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from qualtrics_sdk import Contact
from qualtrics_sdk._convert import structure

from ._common import Report, Target, bench_main, best_of, fmt_int, fmt_ratio, timed

PAGE_SIZE = 100
TARGET_PER_SECOND = 50_000


def list_contact(i: int) -> dict[str, Any]:
    """A contact as the list endpoint returns it."""
    return {
        "contactId": f"CID_{i:015d}",
        "firstName": f"First{i}",
        "lastName": f"Last{i}",
        "email": f"user{i}@example.com",
        "phone": f"+1555{i:07d}",
        "extRef": f"user-{i}",
        "language": "EN",
        "unsubscribed": i % 17 == 0,
    }


def get_contact(i: int) -> dict[str, Any]:
    """A contact as the get endpoint returns it (dates, embedded data, membership)."""
    out = list_contact(i)
    out.update(
        {
            "creationDate": 1_700_000_000_000 + i,
            "lastModified": 1_700_000_500_000 + i,
            "emailDomain": "example.com",
            "embeddedData": {"plan": "pro", "region": "EU", "ltv": str(i * 3), "cohort": "2024Q1"},
            "directoryUnsubscribed": False,
            "directoryUnsubscribeDate": None,
            "stats": {},
            "mailingListMembership": {
                "CG_0000000000000001": {
                    "contactLookupId": f"CGC_{i:015d}",
                    "name": "Customers",
                    "ownerId": "UR_000000000000001",
                    "unsubscribed": False,
                    "unsubscribeDate": None,
                }
            },
        }
    )
    del out["unsubscribed"]
    return out


def pages(count: int, shape: Any) -> list[bytes]:
    """``count`` contacts as list-endpoint response bodies of ``PAGE_SIZE`` elements."""
    bodies = []
    for start in range(0, count, PAGE_SIZE):
        elements = [shape(i) for i in range(start, min(count, start + PAGE_SIZE))]
        envelope = {
            "result": {"elements": elements, "nextPage": None},
            "meta": {"httpStatus": "200 - OK", "requestId": "req-1"},
        }
        bodies.append(json.dumps(envelope).encode())
    return bodies


def decode_only(bodies: Sequence[bytes]) -> None:
    """The floor: decode the JSON, touch every element."""
    for body in bodies:
        for _ in json.loads(body)["result"]["elements"]:
            pass


def decode_and_structure(bodies: Sequence[bytes]) -> None:
    """What the SDK does per page: decode, then structure every element into a Contact."""
    for body in bodies:
        for element in json.loads(body)["result"]["elements"]:
            structure(element, Contact)


def structure_only(elements: Sequence[dict[str, Any]]) -> None:
    """The converter alone, on already-decoded elements."""
    for element in elements:
        structure(element, Contact)


def measure(shape: Any, count: int, rounds: int) -> dict[str, float]:
    """Contacts/s for decode, decode+structure and structure alone (best of ``rounds``)."""
    bodies = pages(count, shape)
    elements = [e for body in bodies for e in json.loads(body)["result"]["elements"]]
    decode_only(bodies)
    decode_and_structure(bodies)  # warm up: builds the converter's per-class hook once
    loads, both, conv = [], [], []
    for _ in range(rounds):
        loads.append(timed(lambda: decode_only(bodies)))
        both.append(timed(lambda: decode_and_structure(bodies)))
        conv.append(timed(lambda: structure_only(elements)))
    return {
        "loads_per_s": count / best_of(loads),
        "loads_structure_per_s": count / best_of(both),
        "structure_per_s": count / best_of(conv),
    }


def run(quick: bool) -> Report:
    """Measure list-shaped and get-shaped contacts; the target is on list-shaped."""
    count, rounds = (5_000, 3) if quick else (100_000, 7)
    rows = []
    figures: dict[str, float] = {}
    for label, shape in (("list", list_contact), ("get", get_contact)):
        got = measure(shape, count, rounds)
        ratio = got["loads_per_s"] / got["loads_structure_per_s"]
        rows.append(
            [
                f"{label}-shaped",
                fmt_int(got["loads_per_s"]),
                fmt_int(got["loads_structure_per_s"]),
                fmt_int(got["structure_per_s"]),
                fmt_ratio(ratio),
            ]
        )
        for key, value in got.items():
            figures[f"{label}_{key}"] = value
        figures[f"{label}_slowdown_vs_loads"] = ratio
    met = figures["list_structure_per_s"] > TARGET_PER_SECOND
    return Report(
        name="model_conversion",
        title=f"Model conversion: {count:,} contacts, pages of {PAGE_SIZE}, best of {rounds}",
        headers=[
            "shape",
            "json.loads/s",
            "loads+structure/s",
            "structure/s",
            "loads+structure vs loads",
        ],
        rows=rows,
        figures=figures,
        targets=[Target(f"list-shaped contacts structured/s > {TARGET_PER_SECOND:,}", met)],
        quick=quick,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m benchmarks.model_conversion``."""
    return bench_main(run, __doc__ or "", argv)


if __name__ == "__main__":
    raise SystemExit(main())
