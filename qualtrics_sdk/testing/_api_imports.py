"""Handlers: contact imports (``transactioncontacts``) and their status, summary and report."""

from __future__ import annotations

from typing import Any, Final

from ._api_contacts import CONTACT_STRING_KEYS, parse_contact_fields
from ._http import Call, Context, RouteTable
from ._state import ImportContact, ImportJob
from ._wire import (
    ApiError,
    Reply,
    bad_request,
    decode_skip_token,
    encode_skip_token,
    flat_values,
    parse_page_size,
)

routes = RouteTable()

MAX_BODY_BYTES: Final = 5 * 1024 * 1024
MAX_CONTACTS: Final = 10_000
REPORT_PAGE_SIZE: Final = 100
_IMPORT_STRING_KEYS: Final = {k: v for k, v in CONTACT_STRING_KEYS.items() if k != "phone"}


def _find_null(value: Any, where: str) -> str | None:
    if value is None:
        return where
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_null(item, f"{where}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_null(item, f"{where}[{index}]")
            if found:
                return found
    return None


def _transaction_meta(body: dict[str, Any]) -> tuple[str | None, frozenset[str] | None]:
    if "transactionMeta" not in body:
        return None, None
    meta = body["transactionMeta"]
    if not isinstance(meta, dict):
        raise bad_request("transactionMeta must be a JSON object.")
    unexpected = sorted(set(meta) - {"batchId", "fields"})
    if unexpected:
        raise bad_request(f"Unexpected json key provided: transactionMeta.{unexpected[0]}")
    batch_id = meta.get("batchId")
    if not isinstance(batch_id, str) or not batch_id:
        raise bad_request("transactionMeta.batchId must be a transaction batch id.")
    fields = meta.get("fields")
    if (
        not isinstance(fields, list)
        or not fields
        or not all(isinstance(item, str) for item in fields)
    ):
        raise bad_request("transactionMeta.fields must be a non-empty array of field names.")
    return batch_id, frozenset(fields)


def _accept_contact(index: int, spec: Any, fields: frozenset[str] | None) -> ImportContact | None:
    """Parse one contact; ``None`` when it must be listed as unprocessed."""
    try:
        parsed, extras = parse_contact_fields(
            spec, extra_keys=frozenset({"transactionData"}), string_keys=_IMPORT_STRING_KEYS
        )
        data = (
            flat_values(extras["transactionData"], "transactionData")
            if "transactionData" in extras
            else None
        )
    except ApiError:
        return None
    if data is not None and (fields is None or not set(data) <= fields):
        return None
    if fields is not None and set(parsed.get("embedded_data", {})) & fields:
        return None
    return ImportContact(index=index, fields=parsed, transaction_data=data)


@routes.add("POST", "/API/v3/directories/{d}/mailinglists/{ml}/transactioncontacts")
def create_import(ctx: Context, call: Call) -> Reply:
    """``POST .../mailinglists/{ml}/transactioncontacts``: validate, queue a job, answer 202.

    The whole request is refused (413 over 5 MB; 400 for 0 or more than 10,000 contacts, a null
    anywhere, a bad ``transactionMeta``, or ``transactionData`` without ``transactionMeta``).
    Contacts whose ``transactionData`` keys are not all in ``transactionMeta.fields``, whose
    ``embeddedData`` keys are in it, or that have unknown keys or bad values are listed in
    ``contacts.unprocessed`` by index. An unknown directory or list is not checked here: the job
    completes with all counts 0, as Qualtrics' FAQ describes.
    """
    state = ctx.state
    if len(call.body) > MAX_BODY_BYTES:
        raise ApiError(413, "The request body exceeds the 5 MB limit of contact imports.")
    body = call.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    unexpected = sorted(set(body) - {"transactionMeta", "contacts"})
    if unexpected:
        raise bad_request(f"Unexpected json key provided: {unexpected[0]}")
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not 1 <= len(contacts) <= MAX_CONTACTS:
        raise bad_request("contacts must be an array of 1 to 10,000 contacts.")
    null_at = _find_null(contacts, "contacts")
    if null_at:
        raise bad_request(f"The value null is not valid ({null_at}); omit the key instead.")
    batch_id, fields = _transaction_meta(body)
    if fields is None and any(isinstance(c, dict) and "transactionData" in c for c in contacts):
        raise bad_request("transactionMeta is required when transactionData is supplied.")
    accepted: list[ImportContact] = []
    unprocessed: list[int] = []
    for index, spec in enumerate(contacts):
        item = _accept_contact(index, spec, fields)
        if item is None:
            unprocessed.append(index)
        else:
            accepted.append(item)
    job = ImportJob(
        id=state.new_id("PGR_", 15),
        directory_id=call.params["d"],
        mailing_list_id=call.params["ml"],
        batch_id=batch_id,
        contacts=accepted,
        contacts_submitted=len(contacts),
        unprocessed=tuple(unprocessed),
        polls_to_complete=ctx.settings.import_polls_to_complete,
    )
    state.add_import(job)
    tracking = f"{call.origin}{call.path}/{job.id}"
    return Reply(
        status=202,
        result={
            "id": job.id,
            "contacts": {"unprocessed": list(job.unprocessed)},
            "tracking": {"url": tracking},
            "status": job.status,
        },
    )


def _job(ctx: Context, call: Call, *, with_list: bool) -> ImportJob:
    job = ctx.state.import_job(call.params["id"])
    if job.directory_id != call.params["d"] or (
        with_list and job.mailing_list_id != call.params["ml"]
    ):
        raise ApiError(404, f"Import {job.id} not found.")
    return job


def _progress(job: ImportJob) -> dict[str, Any]:
    return {
        "percentComplete": job.percent_complete,
        "contacts": {"count": {"added": job.added, "updated": job.updated, "failed": job.failed}},
        "transactions": {"count": {"created": job.transactions_created}},
        "status": job.status,
    }


@routes.add("GET", "/API/v3/directories/{d}/mailinglists/{ml}/transactioncontacts/{id}")
def import_status(ctx: Context, call: Call) -> Reply:
    """``GET .../transactioncontacts/{id}``: one poll; the job advances on every poll."""
    job = _job(ctx, call, with_list=True)
    ctx.state.poll_import(job)
    return Reply(result=_progress(job))


@routes.add("GET", "/API/v3/directories/{d}/mailinglists/{ml}/transactioncontacts/{id}/summary")
def import_summary(ctx: Context, call: Call) -> Reply:
    """``GET .../transactioncontacts/{id}/summary``: a poll, plus ``invalidEmails``."""
    job = _job(ctx, call, with_list=True)
    ctx.state.poll_import(job)
    return Reply(result={**_progress(job), "invalidEmails": list(job.invalid_emails)})


@routes.add("GET", "/API/v3/directories/{d}/imports/api-import/jobs/{id}/report")
def import_report(ctx: Context, call: Call) -> Reply:
    """``GET /directories/{d}/imports/api-import/jobs/{id}/report``.

    The body is ``{"results": {"importReportEntries": [...]}, "skipToken": ..., "meta": ...}``:
    ``results`` (plural) and a top-level ``skipToken``, present when the page is full. Empty until
    the job completes. Reading the report does not advance the job.
    """
    job = _job(ctx, call, with_list=False)
    size = parse_page_size(call.q("pageSize"), default=REPORT_PAGE_SIZE)
    start = decode_skip_token(call.q("skipToken"))
    entries = job.report[start : start + size]
    top: dict[str, Any] = {"results": {"importReportEntries": entries}}
    if len(entries) == size:
        top["skipToken"] = encode_skip_token(start + size)
    return Reply(top=top)
