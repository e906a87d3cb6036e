"""Contact imports (``transactioncontacts``): validation, progress over polls, summary, report."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fakewire import D, Raw, assert_error

from qualtrics_sdk.testing import FakeQualtrics


def contact(i: int, **extra: Any) -> dict[str, Any]:
    return {"email": f"u{i}@example.com", "firstName": f"U{i}", "extRef": f"ext-{i}", **extra}


@pytest.fixture
def imports(fake: FakeQualtrics) -> str:
    return f"{D}/mailinglists/{fake.default_mailing_list_id}/transactioncontacts"


async def test_import_is_202_and_completes_after_the_configured_polls(
    raw: Raw, fake: FakeQualtrics, imports: str
) -> None:
    batch_id = fake.add_transaction_batch()
    body = {
        "transactionMeta": {"batchId": batch_id, "fields": ["amount", "store"]},
        "contacts": [
            contact(0, transactionData={"amount": 12.5, "store": "Provo"}),
            contact(1, embeddedData={"tier": "gold"}),
        ],
    }
    created = await raw.post(imports, body)
    assert created.status == 202
    assert created.body["meta"]["httpStatus"] == "202 - Accepted"
    job_id = created.result["id"]
    assert job_id.startswith("PGR_")
    assert created.result["contacts"] == {"unprocessed": []}
    assert created.result["tracking"]["url"] == f"{fake.base_url}{imports}/{job_id}"
    assert created.result["status"] == "inProgress"
    assert fake.contacts() == []

    first = await raw.get(created.result["tracking"]["url"])
    assert first.result == {
        "percentComplete": 50.0,
        "contacts": {"count": {"added": 0, "updated": 0, "failed": 0}},
        "transactions": {"count": {"created": 0}},
        "status": "inProgress",
    }
    second = await raw.get(f"{imports}/{job_id}")
    assert second.result == {
        "percentComplete": 100.0,
        "contacts": {"count": {"added": 2, "updated": 0, "failed": 0}},
        "transactions": {"count": {"created": 1}},
        "status": "complete",
    }
    (transaction,) = fake.transactions()
    assert transaction.data == {"amount": "12.5", "store": "Provo"}
    assert transaction.mailing_list_id == fake.default_mailing_list_id
    assert fake.transaction_batches()[0].transaction_ids == (transaction.id,)
    assert len(fake.memberships()) == 2
    (job,) = fake.imports()
    assert (job.status, job.polls, job.added) == ("complete", 2, 2)


async def test_import_dedups_and_reports_invalid_emails(
    raw: Raw, fake: FakeQualtrics, imports: str
) -> None:
    existing = fake.add_contact(email="u0@example.com", first_name="Old")
    fake.import_polls_to_complete = 0
    body = {"contacts": [contact(0), {"email": "not-an-email", "firstName": "X"}, contact(2)]}
    created = await raw.post(imports, body)
    assert created.result["status"] == "complete"
    summary = await raw.get(f"{imports}/{created.result['id']}/summary")
    assert summary.result["contacts"]["count"] == {"added": 1, "updated": 1, "failed": 1}
    assert summary.result["invalidEmails"] == ["not-an-email"]
    assert fake.get_contact(existing).first_name == "U0"

    report = await raw.get(f"{D}/imports/api-import/jobs/{created.result['id']}/report")
    assert set(report.body) == {"results", "meta"}
    entries = report.body["results"]["importReportEntries"]
    assert [(e["sourceIndexId"], e["importStatus"]) for e in entries] == [
        (0, "updated"),
        (1, "failed"),
        (2, "added"),
    ]
    assert set(entries[0]) == {
        "sourceIndexId",
        "contactId",
        "email",
        "phone",
        "importStatus",
        "importStatusCode",
        "contactListContactId",
        "contactListContactStatus",
        "contactListContactStatusCode",
        "transactionId",
        "transactionStatus",
        "transactionStatusCode",
    }
    assert entries[0]["contactId"] == existing
    assert entries[0]["contactListContactId"].startswith("CGC_")


async def test_report_pages_with_a_top_level_skip_token(
    raw: Raw, fake: FakeQualtrics, imports: str
) -> None:
    fake.import_polls_to_complete = 0
    created = await raw.post(imports, {"contacts": [contact(i) for i in range(5)]})
    report = f"{D}/imports/api-import/jobs/{created.result['id']}/report"
    first = await raw.get(report, params={"pageSize": "3"})
    assert base64.b64decode(first.body["skipToken"]) == b"3"
    assert "result" not in first.body
    second = await raw.get(report, params={"pageSize": "3", "skipToken": first.body["skipToken"]})
    assert "skipToken" not in second.body
    indexes = [e["sourceIndexId"] for e in first.body["results"]["importReportEntries"]]
    indexes += [e["sourceIndexId"] for e in second.body["results"]["importReportEntries"]]
    assert indexes == [0, 1, 2, 3, 4]
    assert (await raw.get(report, params={"skipToken": ""})).status == 400


async def test_contacts_breaking_transaction_meta_rules_are_unprocessed(
    raw: Raw, fake: FakeQualtrics, imports: str
) -> None:
    batch_id = fake.add_transaction_batch()
    body = {
        "transactionMeta": {"batchId": batch_id, "fields": ["amount"]},
        "contacts": [
            contact(0, transactionData={"amount": 1}),
            contact(1, transactionData={"amount": 1, "store": "x"}),
            contact(2, embeddedData={"amount": "5"}),
            contact(3, phone="+1555"),
            contact(4, embeddedData={"deep": {"x": 1}}),
        ],
    }
    created = await raw.post(imports, body)
    assert created.status == 202
    assert created.result["contacts"]["unprocessed"] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"contacts": []}, "contacts must be an array of 1 to 10,000 contacts."),
        ({}, "contacts must be an array of 1 to 10,000 contacts."),
        (
            {"contacts": [contact(0, lastName=None)]},
            "The value null is not valid (contacts[0].lastName); omit the key instead.",
        ),
        (
            {"contacts": [contact(0, transactionData={"a": 1})]},
            "transactionMeta is required when transactionData is supplied.",
        ),
        (
            {"transactionMeta": {"batchId": "BT_1", "fields": []}, "contacts": [contact(0)]},
            "transactionMeta.fields must be a non-empty array of field names.",
        ),
        (
            {"transactionMeta": {"fields": ["a"]}, "contacts": [contact(0)]},
            "transactionMeta.batchId must be a transaction batch id.",
        ),
        ({"contacts": [contact(0)], "extra": 1}, "Unexpected json key provided: extra"),
    ],
)
async def test_invalid_imports_are_400(raw: Raw, imports: str, body: Any, message: str) -> None:
    assert_error(await raw.post(imports, body), 400, message, "QVAL_1")


async def test_more_than_10000_contacts_is_400(raw: Raw, imports: str) -> None:
    answer = await raw.post(imports, {"contacts": [{"firstName": "x"}] * 10_001})
    assert_error(answer, 400, "contacts must be an array of 1 to 10,000 contacts.", "QVAL_1")


async def test_body_over_5_mb_is_413(raw: Raw, imports: str) -> None:
    big = {"contacts": [{"firstName": "x" * 1000}] * 5300}
    answer = await raw.post(imports, big)
    assert_error(answer, 413, "The request body exceeds the 5 MB limit of contact imports.")
    assert answer.body["meta"]["httpStatus"] == "413 - Request Entity Too Large"


async def test_unknown_list_completes_with_zero_counts(raw: Raw, fake: FakeQualtrics) -> None:
    fake.import_polls_to_complete = 1
    path = f"{D}/mailinglists/CG_missing/transactioncontacts"
    created = await raw.post(path, {"contacts": [contact(0)]})
    assert created.status == 202
    status = await raw.get(f"{path}/{created.result['id']}")
    assert status.result["status"] == "complete"
    assert status.result["percentComplete"] == 100.0
    assert status.result["contacts"]["count"] == {"added": 0, "updated": 0, "failed": 0}
    assert fake.contacts() == []


async def test_missing_batch_imports_contacts_without_transactions(
    raw: Raw, fake: FakeQualtrics, imports: str
) -> None:
    fake.import_polls_to_complete = 0
    body = {
        "transactionMeta": {"batchId": "BT_missing", "fields": ["amount"]},
        "contacts": [contact(0, transactionData={"amount": 3})],
    }
    created = await raw.post(imports, body)
    report = await raw.get(f"{D}/imports/api-import/jobs/{created.result['id']}/report")
    (entry,) = report.body["results"]["importReportEntries"]
    assert entry["importStatus"] == "added"
    assert entry["transactionStatus"] == "failed"
    assert fake.transactions() == []


async def test_unknown_import_is_404(raw: Raw, imports: str) -> None:
    assert (await raw.get(f"{imports}/PGR_missing")).status == 404
    assert (await raw.get(f"{D}/imports/api-import/jobs/PGR_missing/report")).status == 404
