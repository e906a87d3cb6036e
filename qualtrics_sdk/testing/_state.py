"""The fake's in-memory data and the domain rules that change it (dedup, memberships, imports).

Everything here runs under ``FakeState.lock`` (the server thread and test threads share it); nothing
here does I/O. Lookups that fail raise :class:`~._wire.ApiError` so handlers can answer directly.
"""

from __future__ import annotations

import random
import re
import secrets
import string
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final

import attrs

from ._clock import FakeClock
from ._filters import CompiledFilter, normalize
from ._ordered import OrderedIds
from ._records import (
    ContactRecord,
    DirectoryRecord,
    ImportJobRecord,
    MailingListRecord,
    MembershipRecord,
    OAuthGrantRecord,
    TransactionBatchRecord,
    TransactionRecord,
    TriggerEventRecord,
)
from ._wire import ApiError, iso_from_ms, not_found, tx_date_from_seconds

DEFAULT_DIRECTORY_ID: Final = "POOL_DEFAULT"
DEDUP_FIELDS: Final[Mapping[str, str]] = {
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "extRef": "ext_ref",
    "phone": "phone",
}
CRITERIA_KEYS: Final[Mapping[str, str]] = {
    "email": "email",
    "firstName": "firstName",
    "lastName": "lastName",
    "extRef": "externalDataReference",
    "phone": "phone",
}
_INDEXED: Final[Mapping[str, str]] = {"email": "email", "extRef": "ext_ref", "phone": "phone"}
MAX_DEDUP_RULES: Final = 3
_EMAIL_RE: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_ID_ALPHABET: Final = string.ascii_letters + string.digits
IMPORT_IN_PROGRESS: Final = "inProgress"
IMPORT_COMPLETE: Final = "complete"

ContactFields = dict[str, Any]
"""Python-named contact fields: first_name ... language (str), unsubscribed (bool),
embedded_data (dict[str, str])."""


def valid_email(value: str) -> bool:
    """Whether ``value`` looks like an email address (the import's ``invalidEmails`` rule)."""
    return _EMAIL_RE.fullmatch(value) is not None


# -- a compact multi-map: normalized value -> one id (str) or several (list) --------------------


def _index_add(index: dict[str, str | list[str]], key: str, item: str) -> None:
    current = index.get(key)
    if current is None:
        index[key] = item
    elif isinstance(current, str):
        index[key] = [current, item]
    else:
        current.append(item)


def _index_remove(index: dict[str, str | list[str]], key: str, item: str) -> None:
    current = index.get(key)
    if current is None:
        return
    if isinstance(current, str):
        if current == item:
            del index[key]
        return
    if item in current:
        current.remove(item)
    if len(current) == 1:
        index[key] = current[0]


def _index_get(index: Mapping[str, str | list[str]], key: str) -> list[str]:
    current = index.get(key)
    if current is None:
        return []
    return [current] if isinstance(current, str) else list(current)


# -- internal mutable containers ---------------------------------------------------------------


@attrs.define(slots=True, eq=False)
class MailingList:
    """A mailing list and its members (internal, mutable)."""

    id: str
    directory_id: str
    name: str
    owner_id: str
    creation_ms: int
    modified_ms: int
    members: dict[str, MembershipRecord] = attrs.field(factory=dict)
    order: OrderedIds = attrs.field(factory=OrderedIds)

    def snapshot(self) -> MailingListRecord:
        """A frozen copy for introspection."""
        return MailingListRecord(
            id=self.id,
            directory_id=self.directory_id,
            name=self.name,
            owner_id=self.owner_id,
            creation_date_ms=self.creation_ms,
            last_modified_ms=self.modified_ms,
            contact_count=len(self.members),
        )


@attrs.define(slots=True, eq=False)
class Batch:
    """A transaction batch (internal, mutable): transaction id -> epoch ms it was added."""

    id: str
    directory_id: str
    creation_date: str
    added: dict[str, int] = attrs.field(factory=dict)
    order: OrderedIds = attrs.field(factory=OrderedIds)

    def snapshot(self) -> TransactionBatchRecord:
        """A frozen copy for introspection."""
        return TransactionBatchRecord(
            id=self.id,
            directory_id=self.directory_id,
            creation_date=self.creation_date,
            transaction_ids=tuple(self.order),
        )


@attrs.define(slots=True, eq=False)
class ImportContact:
    """One accepted contact of an import: its index in the request and its parsed fields."""

    index: int
    fields: ContactFields
    transaction_data: dict[str, str] | None


@attrs.define(slots=True, eq=False)
class ImportJob:
    """A contact import job (internal, mutable)."""

    id: str
    directory_id: str
    mailing_list_id: str
    batch_id: str | None
    contacts: list[ImportContact]
    contacts_submitted: int
    unprocessed: tuple[int, ...]
    polls_to_complete: int
    status: str = IMPORT_IN_PROGRESS
    polls: int = 0
    added: int = 0
    updated: int = 0
    failed: int = 0
    transactions_created: int = 0
    invalid_emails: list[str] = attrs.field(factory=list)
    report: list[dict[str, Any]] = attrs.field(factory=list)

    @property
    def percent_complete(self) -> float:
        """Progress as Qualtrics reports it (a float, 100.0 when complete)."""
        if self.status == IMPORT_COMPLETE:
            return 100.0
        return round(100.0 * self.polls / max(self.polls_to_complete, 1), 1)

    def snapshot(self) -> ImportJobRecord:
        """A frozen copy for introspection."""
        return ImportJobRecord(
            id=self.id,
            directory_id=self.directory_id,
            mailing_list_id=self.mailing_list_id,
            batch_id=self.batch_id,
            status=self.status,
            percent_complete=self.percent_complete,
            polls=self.polls,
            contacts_submitted=self.contacts_submitted,
            unprocessed=self.unprocessed,
            added=self.added,
            updated=self.updated,
            failed=self.failed,
            transactions_created=self.transactions_created,
            invalid_emails=tuple(self.invalid_emails),
        )


@attrs.define(slots=True, eq=False)
class Directory:
    """A directory with its contacts, indexes, lists, transactions and batches (internal)."""

    id: str
    name: str
    is_default: bool
    dedup_rules: tuple[tuple[str, ...], ...]
    contacts: dict[str, ContactRecord] = attrs.field(factory=dict)
    order: OrderedIds = attrs.field(factory=OrderedIds)
    index: dict[str, dict[str, str | list[str]]] = attrs.field(
        factory=lambda: {field: {} for field in _INDEXED}
    )
    lists: dict[str, MailingList] = attrs.field(factory=dict)
    list_order: OrderedIds = attrs.field(factory=OrderedIds)
    contact_lists: dict[str, dict[str, None]] = attrs.field(factory=dict)
    transactions: dict[str, TransactionRecord] = attrs.field(factory=dict)
    contact_transactions: dict[str, OrderedIds] = attrs.field(factory=dict)
    batches: dict[str, Batch] = attrs.field(factory=dict)
    batch_order: OrderedIds = attrs.field(factory=OrderedIds)

    def snapshot(self) -> DirectoryRecord:
        """A frozen copy for introspection."""
        return DirectoryRecord(
            id=self.id,
            name=self.name,
            is_default=self.is_default,
            dedup_rules=self.dedup_rules,
            contact_count=len(self.contacts),
        )

    def criteria(self) -> dict[str, bool]:
        """``deduplicationCriteria`` as ``GET /directories`` shows it (fields used by any rule)."""
        used = {field for rule in self.dedup_rules for field in rule}
        return {wire: field in used for field, wire in CRITERIA_KEYS.items()}


def validate_dedup_rules(rules: Iterable[str | Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    """Normalize dedup rules: each a field name or a sequence of field names, at most three.

    Raises:
        ValueError: an unknown field, an empty rule or more than three rules.
    """
    out: list[tuple[str, ...]] = []
    for rule in rules:
        fields = (rule,) if isinstance(rule, str) else tuple(rule)
        if not fields:
            raise ValueError("A dedup rule needs at least one field")
        for field in fields:
            if field not in DEDUP_FIELDS:
                raise ValueError(
                    f"Unknown dedup field {field!r}; use one of {', '.join(DEDUP_FIELDS)}"
                )
        out.append(fields)
    if len(out) > MAX_DEDUP_RULES:
        raise ValueError(f"A directory has at most {MAX_DEDUP_RULES} dedup rules, got {len(out)}")
    return tuple(out)


class FakeState:
    """All of the fake's data. Callers hold :attr:`lock` around every use."""

    def __init__(self, clock: FakeClock, seed: int | None) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._rng = random.Random(seed) if seed is not None else random.Random()
        self._ids: set[str] = set()
        self.directories: dict[str, Directory] = {}
        self.directory_order = OrderedIds()
        self.imports: dict[str, ImportJob] = {}
        self.api_tokens: set[str] = set()
        self.oauth_clients: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.access_tokens: dict[str, OAuthGrantRecord] = {}
        self.oauth_grants: list[OAuthGrantRecord] = []
        self.triggers: dict[str, str] = {}
        self.trigger_events: list[TriggerEventRecord] = []
        self.requests_seen = 0
        self.rate_limited = 0
        self.user_id = self.new_id("UR_", 15)

    # -- ids ----------------------------------------------------------------------------------

    def new_id(self, prefix: str, length: int = 15) -> str:
        """A fresh id like ``CID_`` + 15 random letters and digits (seeded when a seed is set)."""
        while True:
            candidate = prefix + "".join(self._rng.choices(_ID_ALPHABET, k=length))
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def new_uuid(self) -> str:
        """A random UUID4 text (used for trigger ``urlTokenId`` values)."""
        value = self._rng.getrandbits(128)
        value = (value & ~(0xF << 76)) | (0x4 << 76)
        value = (value & ~(0x3 << 62)) | (0x2 << 62)
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"

    @staticmethod
    def new_secret() -> str:
        """An unguessable token (never seeded)."""
        return secrets.token_hex(20)

    # -- directories --------------------------------------------------------------------------

    def add_directory(
        self,
        directory_id: str | None,
        name: str,
        is_default: bool,
        dedup_rules: tuple[tuple[str, ...], ...],
    ) -> Directory:
        """Create a directory; making it the default clears the flag on the others."""
        new_id = directory_id or self.new_id("POOL_", 15)
        if new_id in self.directories:
            raise ValueError(f"Directory {new_id} already exists")
        self._ids.add(new_id)
        if is_default:
            for other in self.directories.values():
                other.is_default = False
        directory = Directory(id=new_id, name=name, is_default=is_default, dedup_rules=dedup_rules)
        self.directories[new_id] = directory
        self.directory_order.add(new_id)
        return directory

    def directory(self, directory_id: str) -> Directory:
        """Look up a directory. Raises ApiError 404."""
        found = self.directories.get(directory_id)
        if found is None:
            raise not_found(f"Directory {directory_id} not found.")
        return found

    # -- contacts -----------------------------------------------------------------------------

    def contact(self, directory: Directory, contact_id: str) -> ContactRecord:
        """Look up a contact of ``directory``. Raises ApiError 404."""
        found = directory.contacts.get(contact_id)
        if found is None:
            raise not_found(f"Contact {contact_id} not found in directory {directory.id}.")
        return found

    def insert_contact(
        self,
        directory: Directory,
        fields: ContactFields,
        *,
        contact_id: str | None = None,
        created_ms: int | None = None,
        modified_ms: int | None = None,
    ) -> ContactRecord:
        """Add a new contact without deduplication (seeding, or after dedup found nothing)."""
        now = self.clock.now_ms()
        new_id = contact_id or self.new_id("CID_", 15)
        if contact_id is not None:
            if contact_id in directory.contacts:
                raise ValueError(f"Contact {contact_id} already exists in {directory.id}")
            self._ids.add(contact_id)
        unsubscribed = bool(fields.get("unsubscribed", False))
        created = created_ms if created_ms is not None else now
        record = ContactRecord(
            id=new_id,
            directory_id=directory.id,
            first_name=fields.get("first_name"),
            last_name=fields.get("last_name"),
            email=fields.get("email"),
            phone=fields.get("phone"),
            ext_ref=fields.get("ext_ref"),
            language=fields.get("language"),
            unsubscribed=unsubscribed,
            unsubscribe_date_ms=now if unsubscribed else None,
            embedded_data=dict(fields.get("embedded_data") or {}),
            creation_date_ms=created,
            last_modified_ms=modified_ms if modified_ms is not None else created,
        )
        directory.contacts[new_id] = record
        directory.order.add(new_id)
        self._reindex(directory, None, record)
        return record

    def _reindex(
        self, directory: Directory, old: ContactRecord | None, new: ContactRecord | None
    ) -> None:
        for wire, attribute in _INDEXED.items():
            old_value = getattr(old, attribute) if old is not None else None
            new_value = getattr(new, attribute) if new is not None else None
            if old_value == new_value:
                continue
            index = directory.index[wire]
            if old_value is not None and old is not None:
                _index_remove(index, normalize(old_value), old.id)
            if new_value is not None and new is not None:
                _index_add(index, normalize(new_value), new.id)

    def lookup(self, directory: Directory, wire_field: str, normalized: str) -> list[str]:
        """Ids of contacts whose indexed field (email, extRef, phone) equals ``normalized``."""
        return _index_get(directory.index[wire_field], normalized)

    def find_duplicate(self, directory: Directory, fields: ContactFields) -> ContactRecord | None:
        """Apply the directory's dedup rules in order; the first rule that finds a match wins.

        A rule is skipped when the new contact lacks one of its fields; within a rule all fields
        must match (trimmed, case-insensitive). Among several matches the oldest contact wins.
        """
        for rule in directory.dedup_rules:
            wanted: dict[str, str] = {}
            for wire in rule:
                value = fields.get(DEDUP_FIELDS[wire])
                if not isinstance(value, str) or not value.strip():
                    break
                wanted[DEDUP_FIELDS[wire]] = normalize(value)
            else:
                match = self._first_match(directory, rule, wanted)
                if match is not None:
                    return match
        return None

    def _first_match(
        self, directory: Directory, rule: tuple[str, ...], wanted: Mapping[str, str]
    ) -> ContactRecord | None:
        indexed = [wire for wire in rule if wire in _INDEXED]
        if indexed:
            first = indexed[0]
            ids: Iterable[str] = sorted(
                self.lookup(directory, first, wanted[DEDUP_FIELDS[first]]),
                key=directory.order.position,
            )
        else:
            ids = iter(directory.order)
        for contact_id in ids:
            contact = directory.contacts[contact_id]
            if all(
                (value := getattr(contact, attribute)) is not None and normalize(value) == expected
                for attribute, expected in wanted.items()
            ):
                return contact
        return None

    def merge_contact(
        self, directory: Directory, existing: ContactRecord, fields: ContactFields
    ) -> ContactRecord:
        """Update ``existing`` with the fields given; embedded data is merged key by key."""
        now = self.clock.now_ms()
        changes: dict[str, Any] = {
            attribute: value
            for attribute, value in fields.items()
            if attribute not in ("embedded_data", "unsubscribed")
        }
        if "embedded_data" in fields:
            changes["embedded_data"] = {**existing.embedded_data, **fields["embedded_data"]}
        if "unsubscribed" in fields and bool(fields["unsubscribed"]) != existing.unsubscribed:
            changes["unsubscribed"] = bool(fields["unsubscribed"])
            changes["unsubscribe_date_ms"] = now if fields["unsubscribed"] else None
        updated = attrs.evolve(existing, last_modified_ms=now, **changes)
        directory.contacts[existing.id] = updated
        self._reindex(directory, existing, updated)
        return updated

    def upsert_contact(
        self, directory: Directory, fields: ContactFields
    ) -> tuple[ContactRecord, bool]:
        """Create a contact, or merge into the duplicate the dedup rules find. Returns (contact,
        created)."""
        existing = self.find_duplicate(directory, fields)
        if existing is not None:
            return self.merge_contact(directory, existing, fields), False
        return self.insert_contact(directory, fields), True

    def delete_contact(self, directory: Directory, contact_id: str) -> None:
        """Remove a contact, its memberships and its transactions."""
        contact = self.contact(directory, contact_id)
        for list_id in list(directory.contact_lists.get(contact_id, {})):
            self.remove_member(directory, directory.lists[list_id], contact_id)
        directory.contact_lists.pop(contact_id, None)
        for transaction_id in list(directory.contact_transactions.get(contact_id, OrderedIds())):
            self.delete_transaction(directory, transaction_id)
        directory.contact_transactions.pop(contact_id, None)
        del directory.contacts[contact_id]
        directory.order.discard(contact_id)
        self._reindex(directory, contact, None)

    def search(
        self, directory: Directory, compiled: CompiledFilter, limit: int
    ) -> list[ContactRecord]:
        """The first ``limit`` contacts matching ``compiled``, in directory order."""
        if compiled.lookups:
            wire, value = compiled.lookups[0]
            ids: Iterable[str] = sorted(
                self.lookup(directory, wire, value), key=directory.order.position
            )
        else:
            ids = directory.order
        found: list[ContactRecord] = []
        for contact_id in ids:
            contact = directory.contacts[contact_id]
            if compiled.predicate(contact):
                found.append(contact)
                if len(found) >= limit:
                    break
        return found

    def in_list(self, directory: Directory, contact_id: str, list_id: str) -> bool:
        """Whether a contact is a member of a mailing list."""
        return list_id in directory.contact_lists.get(contact_id, {})

    # -- mailing lists ------------------------------------------------------------------------

    def mailing_list(self, directory: Directory, list_id: str) -> MailingList:
        """Look up a mailing list. Raises ApiError 404."""
        found = directory.lists.get(list_id)
        if found is None:
            raise not_found(f"Mailing list {list_id} not found in directory {directory.id}.")
        return found

    def add_mailing_list(
        self, directory: Directory, name: str, owner_id: str | None, list_id: str | None = None
    ) -> MailingList:
        """Create a mailing list (owner defaults to the fake's user)."""
        now = self.clock.now_ms()
        new_id = list_id or self.new_id("CG_", 15)
        if list_id is not None:
            if self._list_exists(list_id):
                raise ValueError(f"Mailing list {list_id} already exists")
            self._ids.add(list_id)
        mailing_list = MailingList(
            id=new_id,
            directory_id=directory.id,
            name=name,
            owner_id=owner_id or self.user_id,
            creation_ms=now,
            modified_ms=now,
        )
        directory.lists[new_id] = mailing_list
        directory.list_order.add(new_id)
        return mailing_list

    def _list_exists(self, list_id: str) -> bool:
        return any(list_id in directory.lists for directory in self.directories.values())

    def delete_mailing_list(self, directory: Directory, list_id: str) -> None:
        """Delete a list; its contacts stay in the directory."""
        mailing_list = self.mailing_list(directory, list_id)
        for contact_id in list(mailing_list.members):
            self.remove_member(directory, mailing_list, contact_id)
        del directory.lists[list_id]
        directory.list_order.discard(list_id)

    def member(self, mailing_list: MailingList, contact_id: str) -> MembershipRecord:
        """Look up a membership. Raises ApiError 404."""
        found = mailing_list.members.get(contact_id)
        if found is None:
            raise not_found(f"Contact {contact_id} not found in mailing list {mailing_list.id}.")
        return found

    def add_member(
        self,
        directory: Directory,
        mailing_list: MailingList,
        contact_id: str,
        *,
        private_embedded_data: Mapping[str, str] | None = None,
        unsubscribed: bool | None = None,
        bounced: bool | None = None,
    ) -> MembershipRecord:
        """Add a contact to a list, or update its existing membership."""
        now = self.clock.now_ms()
        existing = mailing_list.members.get(contact_id)
        if existing is None:
            record = MembershipRecord(
                mailing_list_id=mailing_list.id,
                contact_id=contact_id,
                directory_id=directory.id,
                contact_lookup_id=self.new_id("CGC_", 15),
                private_embedded_data=dict(private_embedded_data or {}),
                unsubscribed=bool(unsubscribed),
                unsubscribe_date_ms=now if unsubscribed else None,
                bounced=bool(bounced),
                bounce_date_ms=now if bounced else None,
                added_ms=now,
            )
            mailing_list.order.add(contact_id)
            directory.contact_lists.setdefault(contact_id, {})[mailing_list.id] = None
        else:
            changes: dict[str, Any] = {}
            if private_embedded_data is not None:
                merged = {**existing.private_embedded_data, **private_embedded_data}
                changes["private_embedded_data"] = merged
            if unsubscribed is not None and unsubscribed != existing.unsubscribed:
                changes["unsubscribed"] = unsubscribed
                changes["unsubscribe_date_ms"] = now if unsubscribed else None
            if bounced is not None and bounced != existing.bounced:
                changes["bounced"] = bounced
                changes["bounce_date_ms"] = now if bounced else None
            record = attrs.evolve(existing, **changes)
        mailing_list.members[contact_id] = record
        mailing_list.modified_ms = now
        return record

    def remove_member(
        self, directory: Directory, mailing_list: MailingList, contact_id: str
    ) -> None:
        """Take a contact off a list (it stays in the directory)."""
        self.member(mailing_list, contact_id)
        del mailing_list.members[contact_id]
        mailing_list.order.discard(contact_id)
        mailing_list.modified_ms = self.clock.now_ms()
        lists = directory.contact_lists.get(contact_id)
        if lists is not None:
            lists.pop(mailing_list.id, None)

    # -- transactions -------------------------------------------------------------------------

    def transaction(self, directory: Directory, transaction_id: str) -> TransactionRecord:
        """Look up a transaction. Raises ApiError 404."""
        found = directory.transactions.get(transaction_id)
        if found is None:
            raise not_found(f"Transaction {transaction_id} not found in directory {directory.id}.")
        return found

    def add_transaction(
        self,
        directory: Directory,
        *,
        contact_id: str,
        mailing_list_id: str,
        transaction_date: str,
        data: Mapping[str, str],
        key: str | None,
    ) -> TransactionRecord:
        """Record a transaction for an existing contact."""
        record = TransactionRecord(
            id=self.new_id("CTR_", 15),
            directory_id=directory.id,
            contact_id=contact_id,
            mailing_list_id=mailing_list_id,
            transaction_date=transaction_date,
            data=dict(data),
            key=key,
            created_ms=self.clock.now_ms(),
        )
        directory.transactions[record.id] = record
        directory.contact_transactions.setdefault(contact_id, OrderedIds()).add(record.id)
        return record

    def replace_transaction(self, directory: Directory, record: TransactionRecord) -> None:
        """Store an updated transaction."""
        directory.transactions[record.id] = record

    def delete_transaction(self, directory: Directory, transaction_id: str) -> None:
        """Remove a transaction from its contact and from every batch."""
        record = self.transaction(directory, transaction_id)
        del directory.transactions[transaction_id]
        owned = directory.contact_transactions.get(record.contact_id)
        if owned is not None:
            owned.discard(transaction_id)
        for batch in directory.batches.values():
            if batch.added.pop(transaction_id, None) is not None:
                batch.order.discard(transaction_id)

    # -- batches ------------------------------------------------------------------------------

    def batch(self, directory: Directory, batch_id: str) -> Batch:
        """Look up a transaction batch. Raises ApiError 404."""
        found = directory.batches.get(batch_id)
        if found is None:
            raise not_found(f"Transaction batch {batch_id} not found in directory {directory.id}.")
        return found

    def add_batch(self, directory: Directory, creation_date: str | None = None) -> Batch:
        """Create an empty transaction batch."""
        batch = Batch(
            id=self.new_id("BT_", 15),
            directory_id=directory.id,
            creation_date=creation_date or iso_from_ms(self.clock.now_ms()) or "",
        )
        directory.batches[batch.id] = batch
        directory.batch_order.add(batch.id)
        return batch

    def add_to_batch(self, directory: Directory, batch: Batch, ids: Iterable[str]) -> None:
        """Add existing transactions to a batch (all or nothing).

        Raises:
            ApiError: 400 naming the transaction ids that do not exist.
        """
        wanted = list(ids)
        missing = [item for item in wanted if item not in directory.transactions]
        if missing:
            raise ApiError(400, f"Transactions not found: {', '.join(missing)}", code="QVAL_1")
        now = self.clock.now_ms()
        for item in wanted:
            if item not in batch.added:
                batch.added[item] = now
                batch.order.add(item)

    def delete_batch(self, directory: Directory, batch_id: str) -> None:
        """Delete a batch (its transactions remain)."""
        self.batch(directory, batch_id)
        del directory.batches[batch_id]
        directory.batch_order.discard(batch_id)

    # -- imports ------------------------------------------------------------------------------

    def add_import(self, job: ImportJob) -> None:
        """Register a new import job; a job needing no polls completes at once."""
        self.imports[job.id] = job
        if job.polls_to_complete <= 0:
            self.complete_import(job)

    def import_job(self, import_id: str) -> ImportJob:
        """Look up an import job. Raises ApiError 404."""
        found = self.imports.get(import_id)
        if found is None:
            raise not_found(f"Import {import_id} not found.")
        return found

    def poll_import(self, job: ImportJob) -> None:
        """Count one status poll; the poll that reaches ``polls_to_complete`` completes the job."""
        if job.status == IMPORT_COMPLETE:
            return
        job.polls += 1
        if job.polls >= job.polls_to_complete:
            self.complete_import(job)

    def complete_import(self, job: ImportJob) -> None:
        """Apply an import: dedup-create contacts, add them to the list, create transactions.

        As Qualtrics' FAQ describes, a job whose directory or mailing list does not exist completes
        with all counts 0.
        """
        job.status = IMPORT_COMPLETE
        directory = self.directories.get(job.directory_id)
        mailing_list = directory.lists.get(job.mailing_list_id) if directory else None
        if directory is None or mailing_list is None:
            return
        batch = directory.batches.get(job.batch_id) if job.batch_id else None
        for item in job.contacts:
            job.report.append(self._import_one(directory, mailing_list, batch, job, item))

    def _import_one(
        self,
        directory: Directory,
        mailing_list: MailingList,
        batch: Batch | None,
        job: ImportJob,
        item: ImportContact,
    ) -> dict[str, Any]:
        email = item.fields.get("email")
        entry: dict[str, Any] = {
            "sourceIndexId": item.index,
            "contactId": None,
            "email": email,
            "phone": None,
            "importStatus": "failed",
            "importStatusCode": "INVALID_EMAIL",
            "contactListContactId": None,
            "contactListContactStatus": None,
            "contactListContactStatusCode": None,
            "transactionId": None,
            "transactionStatus": None,
            "transactionStatusCode": None,
        }
        if isinstance(email, str) and not valid_email(email):
            job.failed += 1
            job.invalid_emails.append(email)
            return entry
        contact, created = self.upsert_contact(directory, item.fields)
        job.added += created
        job.updated += not created
        membership = self.add_member(directory, mailing_list, contact.id)
        entry.update(
            contactId=contact.id,
            importStatus="added" if created else "updated",
            importStatusCode="OK",
            contactListContactId=membership.contact_lookup_id,
            contactListContactStatus="added",
            contactListContactStatusCode="OK",
        )
        if item.transaction_data is not None:
            if batch is None:
                entry.update(transactionStatus="failed", transactionStatusCode="BATCH_NOT_FOUND")
            else:
                transaction = self.add_transaction(
                    directory,
                    contact_id=contact.id,
                    mailing_list_id=mailing_list.id,
                    transaction_date=tx_date_from_seconds(self.clock.now()),
                    data=item.transaction_data,
                    key=None,
                )
                self.add_to_batch(directory, batch, [transaction.id])
                job.transactions_created += 1
                entry.update(
                    transactionId=transaction.id,
                    transactionStatus="created",
                    transactionStatusCode="OK",
                )
        return entry

    # -- OAuth and triggers -------------------------------------------------------------------

    def grant(self, client_id: str, scopes: tuple[str, ...], lifetime: float) -> tuple[str, float]:
        """Issue an access token; returns (token, expires_at)."""
        token = self.new_secret()
        now = self.clock.now()
        record = OAuthGrantRecord(
            client_id=client_id, scopes=scopes, issued_at=now, expires_at=now + lifetime
        )
        self.access_tokens[token] = record
        self.oauth_grants.append(record)
        return token, record.expires_at

    def bearer_valid(self, token: str) -> bool:
        """Whether an access token was issued and has not expired on the fake clock."""
        record = self.access_tokens.get(token)
        return record is not None and self.clock.now() < record.expires_at

    # -- iteration helpers for introspection --------------------------------------------------

    def iter_directories(self) -> Iterator[Directory]:
        """Directories in creation order."""
        return (self.directories[item] for item in self.directory_order)
