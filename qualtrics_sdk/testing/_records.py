"""Typed, read-only snapshots of the fake's state, for assertions in tests.

Dates are epoch milliseconds (``*_ms``) on the fake clock unless the field says otherwise. Mapping
fields must be treated as read-only: the fake never mutates them in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen(kw_only=True)
class DirectoryRecord:
    """A directory (``POOL_...``) and its deduplication rules.

    ``dedup_rules`` holds up to three rules, evaluated in order; each rule is a tuple of wire field
    names (``email``, ``firstName``, ``lastName``, ``extRef``, ``phone``) that must all match.
    """

    id: str
    name: str
    is_default: bool
    dedup_rules: tuple[tuple[str, ...], ...]
    contact_count: int


@attrs.frozen(kw_only=True)
class ContactRecord:
    """A directory contact (``CID_...``). ``unsubscribed`` is the directory-level opt-out."""

    id: str
    directory_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    ext_ref: str | None = None
    language: str | None = None
    unsubscribed: bool = False
    unsubscribe_date_ms: int | None = None
    embedded_data: Mapping[str, str] = attrs.field(factory=dict)
    creation_date_ms: int
    last_modified_ms: int


@attrs.frozen(kw_only=True)
class MailingListRecord:
    """A mailing list (``CG_...``) of one directory."""

    id: str
    directory_id: str
    name: str
    owner_id: str
    creation_date_ms: int
    last_modified_ms: int
    contact_count: int


@attrs.frozen(kw_only=True)
class MembershipRecord:
    """A contact's membership of a mailing list (``contactLookupId`` = ``CGC_...``).

    ``unsubscribed`` is the list-level opt-out (``mailingListUnsubscribed``).
    """

    mailing_list_id: str
    contact_id: str
    directory_id: str
    contact_lookup_id: str
    private_embedded_data: Mapping[str, str] = attrs.field(factory=dict)
    unsubscribed: bool = False
    unsubscribe_date_ms: int | None = None
    bounced: bool = False
    bounce_date_ms: int | None = None
    added_ms: int


@attrs.frozen(kw_only=True)
class TransactionRecord:
    """A contact transaction (``CTR_...``); ``data`` values are stored as strings, like Qualtrics.

    ``key`` is the client-chosen key the transaction was created under (``None`` when seeded or
    created by an import).
    """

    id: str
    directory_id: str
    contact_id: str
    mailing_list_id: str
    transaction_date: str
    data: Mapping[str, str] = attrs.field(factory=dict)
    key: str | None = None
    created_ms: int


@attrs.frozen(kw_only=True)
class TransactionBatchRecord:
    """A transaction batch (``BT_...``) and the transactions in it, in the order they were added."""

    id: str
    directory_id: str
    creation_date: str
    transaction_ids: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ImportJobRecord:
    """A contact import job (``PGR_...``) from ``POST .../transactioncontacts``.

    ``unprocessed`` lists the indexes of contacts rejected at submission. Counts are filled in when
    the job completes (after ``import_polls_to_complete`` status polls).
    """

    id: str
    directory_id: str
    mailing_list_id: str
    batch_id: str | None
    status: str
    percent_complete: float
    polls: int
    contacts_submitted: int
    unprocessed: tuple[int, ...]
    added: int
    updated: int
    failed: int
    transactions_created: int
    invalid_emails: tuple[str, ...]


@attrs.frozen(kw_only=True)
class TriggerEventRecord:
    """A JSON event received by a workflow trigger.

    ``auth`` is how the caller authenticated: ``"token"`` (``X-API-TOKEN``), ``"basic"`` (Qualtrics'
    modified Basic auth, ``username`` set) or ``"none"``. ``headers`` are redacted.
    """

    url_token_id: str
    payload: Any
    auth: str
    username: str | None
    headers: Mapping[str, str]
    received_at: float
    request_id: str


@attrs.frozen(kw_only=True)
class OAuthGrantRecord:
    """One access token issued by ``POST /oauth2/token`` (the token itself is not kept here)."""

    client_id: str
    scopes: tuple[str, ...]
    issued_at: float
    expires_at: float


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """A request the fake received, as it arrived, with secrets redacted.

    ``headers`` is case-insensitive; the values of ``X-API-TOKEN`` and ``Authorization`` are
    ``"***"``. ``json`` is the parsed JSON body (``None`` when the body is empty or not JSON);
    ``form`` the parsed form body of ``/oauth2/token`` (``client_secret`` redacted). ``status``
    is the answer's status code, ``None`` when the connection was dropped before processing;
    ``fault`` names the injected fault that fired (``"status"``, ``"delay"``, ``"drop_before"``,
    ``"drop_after"``), if any. ``query`` keeps the last value of each parameter.
    """

    sequence: int
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    json: Any
    form: Mapping[str, str] | None
    body_size: int
    status: int | None
    fault: str | None
    request_id: str
    received_at: float


@attrs.frozen(kw_only=True)
class FakeStats:
    """Counters for assertions: requests seen, 429s from the rate limiter, OAuth grants, events."""

    requests: int
    rate_limited: int
    oauth_grants: int
    trigger_events: int
    faults_fired: Mapping[str, int]
