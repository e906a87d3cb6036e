"""Building ``transactioncontacts`` requests: validate every contact, then split into jobs.

Pure functions (no I/O): the resource validates the whole input before sending anything, and sizes
are measured on the exact bytes the transport sends.
"""

from __future__ import annotations

import json
from typing import Any

from .._embedded import validate_flat_map
from .._errors import ValidationError
from ..models.imports import ImportContact

__all__ = [
    "MAX_BYTES_PER_JOB",
    "MAX_CONTACTS_PER_JOB",
    "check_limits",
    "contact_wire",
    "dumps",
    "import_body",
    "plan_jobs",
]

#: Qualtrics' documented limits for one ``transactioncontacts`` request.
MAX_CONTACTS_PER_JOB = 10_000
MAX_BYTES_PER_JOB = 5_000_000

_TEXT_FIELDS = (
    ("first_name", "firstName"),
    ("last_name", "lastName"),
    ("email", "email"),
    ("ext_ref", "extRef"),
    ("language", "language"),
)


def dumps(value: Any) -> bytes:
    """Serialize exactly as the transport does, so measured sizes are the sizes sent."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def contact_wire(index: int, contact: object, fields: frozenset[str] | None) -> dict[str, Any]:
    """Validate one contact and return its wire object."""
    where = f"contacts[{index}]"
    if not isinstance(contact, ImportContact):
        raise ValidationError(
            f"{where} must be an ImportContact, got {type(contact).__name__}", field=where
        )
    out: dict[str, Any] = {}
    for name, key in _TEXT_FIELDS:
        value = getattr(contact, name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValidationError(
                f"{where}.{name} must be a string, got {type(value).__name__}",
                field=f"{where}.{name}",
            )
        out[key] = value
    if contact.unsubscribed is not None:
        if not isinstance(contact.unsubscribed, bool):
            raise ValidationError(
                f"{where}.unsubscribed must be True or False, got {contact.unsubscribed!r}",
                field=f"{where}.unsubscribed",
            )
        out["unsubscribed"] = contact.unsubscribed
    embedded = validate_flat_map(f"{where}.embedded_data", contact.embedded_data)
    if embedded is not None:
        for key in embedded:
            if fields is not None and key in fields:
                raise ValidationError(
                    f"{where}.embedded_data[{key!r}] is also listed in transaction_meta.fields; "
                    "Qualtrics refuses embedded data keys that are transaction fields: rename it "
                    "or move it to transaction_data",
                    field=f"{where}.embedded_data[{key!r}]",
                )
        out["embeddedData"] = embedded
    transaction = validate_flat_map(
        f"{where}.transaction_data", contact.transaction_data, check_lengths=False
    )
    if transaction is not None:
        if fields is None:
            raise ValidationError(
                f"{where}.transaction_data is set but transaction_meta is None; pass "
                "transaction_meta=TransactionMeta(batch_id=..., fields=[...]) listing every "
                "transaction data key",
                field="transaction_meta",
            )
        for key in transaction:
            if key not in fields:
                raise ValidationError(
                    f"{where}.transaction_data[{key!r}] is not listed in "
                    "transaction_meta.fields; Qualtrics would leave this contact unprocessed: "
                    "add the key to fields or remove it",
                    field=f"{where}.transaction_data[{key!r}]",
                )
        out["transactionData"] = transaction
    return out


def import_body(meta: dict[str, Any] | None, contacts: list[dict[str, Any]]) -> dict[str, Any]:
    if meta is None:
        return {"contacts": contacts}
    return {"transactionMeta": meta, "contacts": contacts}


def plan_jobs(
    contacts: list[dict[str, Any]],
    meta: dict[str, Any] | None,
    *,
    max_contacts: int,
    max_bytes: int,
) -> list[tuple[int, list[dict[str, Any]]]]:
    """Split wire contacts, in order, into ``(first_index, contacts)`` request batches.

    A body's size is exact: the empty body's size, plus each contact's serialized size, plus one
    comma between contacts (compact JSON joins array items with ``,``).
    """
    base = len(dumps(import_body(meta, [])))
    batches: list[tuple[int, list[dict[str, Any]]]] = []
    current: list[dict[str, Any]] = []
    start = 0
    size = base
    for index, contact in enumerate(contacts):
        item = len(dumps(contact))
        if base + item > max_bytes:
            raise ValidationError(
                f"contacts[{index}] alone makes a {base + item:,}-byte request; one import "
                f"request may hold at most {max_bytes:,} bytes",
                field=f"contacts[{index}]",
            )
        added = item + 1 if current else item
        if current and (len(current) >= max_contacts or size + added > max_bytes):
            batches.append((start, current))
            current, start, size, added = [], index, base, item
        current.append(contact)
        size += added
    batches.append((start, current))
    return batches


def check_limits(max_contacts_per_job: int, max_bytes_per_job: int) -> None:
    if (
        isinstance(max_contacts_per_job, bool)
        or not isinstance(max_contacts_per_job, int)
        or not 1 <= max_contacts_per_job <= MAX_CONTACTS_PER_JOB
    ):
        raise ValidationError(
            f"max_contacts_per_job must be an integer from 1 to {MAX_CONTACTS_PER_JOB:,} "
            "(Qualtrics' limit per import)",
            field="max_contacts_per_job",
        )
    if (
        isinstance(max_bytes_per_job, bool)
        or not isinstance(max_bytes_per_job, int)
        or not 1 <= max_bytes_per_job <= MAX_BYTES_PER_JOB
    ):
        raise ValidationError(
            f"max_bytes_per_job must be an integer from 1 to {MAX_BYTES_PER_JOB:,} "
            "(Qualtrics' 5 MB limit per import)",
            field="max_bytes_per_job",
        )
