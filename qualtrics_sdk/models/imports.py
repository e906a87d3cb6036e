"""Bulk contact imports (``transactioncontacts``): the request side and the job's progress models.

Wire shapes follow Qualtrics' Contact Imports reference (S-WTX ``ContactImportsApi``): a request
carries ``contacts`` (and ``transactionMeta`` when contacts carry ``transactionData``); the job is
then polled for ``percentComplete`` and counts, and its per-contact report is paged with
``skipToken``. Every response model keeps unknown wire keys in ``extra``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from .._convert import wire_field
from .._embedded import FlatValue
from .._errors import ValidationError
from ._base import Model

__all__ = [
    "ImportContact",
    "ImportContactCounts",
    "ImportContactsProgress",
    "ImportCreated",
    "ImportCreatedContacts",
    "ImportReportEntry",
    "ImportStatus",
    "ImportSummary",
    "ImportTracking",
    "ImportTransactionCounts",
    "ImportTransactionsProgress",
    "TransactionMeta",
]

#: ``status`` values treated as final. Qualtrics' full status enum for imports is UNCONFIRMED:
#: peers wait for ``"complete"``; the generic request-status enum adds ``"failed"``.
FINAL_STATUSES = frozenset({"complete", "failed"})


# --- request side -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ImportContact:
    """One contact of a bulk import (``client.imports.create``).

    Every field is optional; ``None`` means "not sent" (Qualtrics rejects ``null``, so the key is
    omitted). There is no ``phone``: Qualtrics' import contact model has none (use
    ``client.contacts`` for phone numbers).

    Values are checked when the import is created, with errors naming the contact's index:
    ``embedded_data`` and ``transaction_data`` hold strings, numbers or booleans only, and every
    ``transaction_data`` key must be listed in the import's ``TransactionMeta.fields``.

    Attributes:
        first_name: ``firstName``.
        last_name: ``lastName``.
        email: ``email`` (invalid addresses are reported in ``ImportSummary.invalid_emails``).
        ext_ref: ``extRef``, your own identifier for the contact.
        language: ``language``, e.g. ``"EN"``.
        unsubscribed: ``unsubscribed``.
        embedded_data: ``embeddedData``: keys must not be transaction fields.
        transaction_data: ``transactionData``: creates a transaction for the contact in the
            import's transaction batch.
    """

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    ext_ref: str | None = None
    language: str | None = None
    unsubscribed: bool | None = None
    embedded_data: Mapping[str, FlatValue] | None = None
    transaction_data: Mapping[str, FlatValue] | None = None


def _fields_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ValidationError(
            "transaction_meta.fields must be a list of field names, not one string "
            f"(did you mean [{value!r}]?)",
            field="transaction_meta.fields",
        )
    try:
        return tuple(value)
    except TypeError:
        raise ValidationError(
            f"transaction_meta.fields must be a list of field names, got {type(value).__name__}",
            field="transaction_meta.fields",
        ) from None


@attrs.frozen(kw_only=True)
class TransactionMeta:
    """``transactionMeta`` of an import: the transaction batch, and which keys are transaction data.

    Attributes:
        batch_id: An existing transaction batch id (``BT_...``); Qualtrics creates no transactions
            when it does not exist.
        fields: Every key used in the contacts' ``transaction_data`` (at least one). Embedded data
            keys must not be among them.

    Raises:
        ValidationError: for an empty ``batch_id``, no fields, an empty or duplicate field name.
    """

    batch_id: str
    fields: tuple[str, ...] = attrs.field(converter=_fields_tuple)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.batch_id, str) or not self.batch_id.strip():
            raise ValidationError(
                "transaction_meta.batch_id must be a transaction batch id such as 'BT_...'",
                field="transaction_meta.batch_id",
            )
        if not self.fields:
            raise ValidationError(
                "transaction_meta.fields must name at least one transaction data key",
                field="transaction_meta.fields",
            )
        seen: set[str] = set()
        for name in self.fields:
            if not isinstance(name, str) or not name:
                raise ValidationError(
                    f"transaction_meta.fields entries must be non-empty strings, got {name!r}",
                    field="transaction_meta.fields",
                )
            if name in seen:
                raise ValidationError(
                    f"transaction_meta.fields lists {name!r} twice",
                    field="transaction_meta.fields",
                )
            seen.add(name)

    def to_wire(self) -> dict[str, Any]:
        """The ``transactionMeta`` JSON object."""
        return {"batchId": self.batch_id, "fields": list(self.fields)}


# --- create response ----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ImportCreatedContacts(Model):
    """``result.contacts`` of the create response.

    Attributes:
        unprocessed: Indexes into that request's ``contacts`` array that Qualtrics did not accept.
    """

    unprocessed: tuple[int, ...] = ()


@attrs.frozen(kw_only=True)
class ImportTracking(Model):
    """``result.tracking`` of the create response: where Qualtrics says progress can be read."""

    url: str | None = None


@attrs.frozen(kw_only=True)
class ImportCreated(Model):
    """The create response of one import request (``202``), as sent by Qualtrics.

    Attributes:
        id: The import job id.
        contacts: Per-request contact outcome (``unprocessed`` indexes).
        tracking: The status URL Qualtrics reports (the SDK polls the documented path instead).
        status: The job's initial status.
    """

    id: str = wire_field(wire="id", aliases=("importId",))
    contacts: ImportCreatedContacts | None = None
    tracking: ImportTracking | None = None
    status: str | None = None


# --- progress -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ImportContactCounts(Model):
    """``contacts.count``: contacts added, updated (merged into existing ones) and failed."""

    added: int | None = None
    updated: int | None = None
    failed: int | None = None


@attrs.frozen(kw_only=True)
class ImportContactsProgress(Model):
    """``contacts`` of a status response."""

    count: ImportContactCounts | None = None


@attrs.frozen(kw_only=True)
class ImportTransactionCounts(Model):
    """``transactions.count``: transactions created."""

    created: int | None = None


@attrs.frozen(kw_only=True)
class ImportTransactionsProgress(Model):
    """``transactions`` of a status response."""

    count: ImportTransactionCounts | None = None


@attrs.frozen(kw_only=True)
class ImportStatus(Model):
    """Progress of an import job (``GET .../transactioncontacts/{importId}``).

    All counts 0 with ``percent_complete`` 100 usually means a wrong or deleted directory, mailing
    list or transaction batch id (Qualtrics' FAQ).

    Attributes:
        percent_complete: 0 to 100.
        contacts: Contact counts (also as ``contacts_added`` / ``contacts_updated`` /
            ``contacts_failed``).
        transactions: Transaction counts (also as ``transactions_created``).
        status: Qualtrics' status string; ``"complete"`` is documented by peers, ``"failed"`` by
            the generic request-status enum. The full set is UNCONFIRMED.
    """

    percent_complete: float | None = None
    contacts: ImportContactsProgress | None = None
    transactions: ImportTransactionsProgress | None = None
    status: str | None = None

    @property
    def contacts_added(self) -> int | None:
        """Contacts created by the import."""
        return self._contact_count("added")

    @property
    def contacts_updated(self) -> int | None:
        """Existing contacts updated (deduplicated) by the import."""
        return self._contact_count("updated")

    @property
    def contacts_failed(self) -> int | None:
        """Contacts Qualtrics could not import."""
        return self._contact_count("failed")

    @property
    def transactions_created(self) -> int | None:
        """Transactions created by the import."""
        if self.transactions is None or self.transactions.count is None:
            return None
        return self.transactions.count.created

    @property
    def done(self) -> bool:
        """Whether the job has finished: status ``complete`` or ``failed``, or 100% complete."""
        if self.status is not None and self.status.lower() in FINAL_STATUSES:
            return True
        return self.percent_complete is not None and self.percent_complete >= 100

    @property
    def failed(self) -> bool:
        """Whether Qualtrics reports the job as ``failed``."""
        return self.status is not None and self.status.lower() == "failed"

    def _contact_count(self, name: str) -> int | None:
        if self.contacts is None or self.contacts.count is None:
            return None
        value: int | None = getattr(self.contacts.count, name)
        return value


@attrs.frozen(kw_only=True)
class ImportSummary(ImportStatus):
    """Final summary of an import (``GET .../transactioncontacts/{importId}/summary``).

    Attributes:
        invalid_emails: Email addresses Qualtrics rejected as malformed.
    """

    invalid_emails: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ImportReportEntry(Model):
    """One contact's outcome in the import report (``results.importReportEntries[]``).

    Attributes:
        source_index_id: Qualtrics' reference to the contact in the import request (a string;
            presumably its index in that request's ``contacts``: UNCONFIRMED).
        contact_id: The directory contact id (``CID_...``).
        contact_list_contact_id: The mailing-list membership id.
        transaction_id: The transaction created for this contact, if any.
    """

    source_index_id: str | None = None
    contact_id: str | None = None
    email: str | None = None
    phone: str | None = None
    import_status: str | None = None
    import_status_code: str | None = None
    contact_list_contact_id: str | None = None
    contact_list_contact_status: str | None = None
    contact_list_contact_status_code: str | None = None
    transaction_id: str | None = None
    transaction_status: str | None = None
    transaction_status_code: str | None = None
