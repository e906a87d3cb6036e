"""client.imports: validation before sending, splitting into jobs, polling, summary and report."""

from __future__ import annotations

import json
import pickle
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aioresponses import aioresponses

from qualtrics_sdk import (
    BadRequestError,
    ImportContact,
    ImportJob,
    ImportJobs,
    ImportReportEntry,
    ImportStatus,
    ImportSummary,
    ImportTimeoutError,
    PartialImportError,
    QualtricsClient,
    QualtricsError,
    RetryPolicy,
    ServerError,
    TransactionMeta,
    ValidationError,
)

API = "https://iad1.qualtrics.com/API/v3"
IMPORTS = f"{API}/directories/POOL_1/mailinglists/CG_1/transactioncontacts"
JOB = f"{IMPORTS}/PGR_1"
REPORT = f"{API}/directories/POOL_1/imports/api-import/jobs/PGR_1/report"
META_202 = {"httpStatus": "202 - Accepted", "requestId": "req-202"}
META = {"httpStatus": "200 - OK", "requestId": "req-1"}


def accepted(import_id: str, unprocessed: list[int] | None = None) -> dict[str, Any]:
    return {
        "result": {
            "id": import_id,
            "contacts": {"unprocessed": unprocessed or []},
            "tracking": {"url": f"{IMPORTS}/{import_id}"},
            "status": "inProgress",
        },
        "meta": META_202,
    }


def progress(percent: float, status: str = "inProgress", **extra: Any) -> dict[str, Any]:
    result = {
        "percentComplete": percent,
        "contacts": {"count": {"added": 2, "updated": 1, "failed": 0}},
        "transactions": {"count": {"created": 3}},
        "status": status,
        **extra,
    }
    return {"result": result, "meta": META}


def bodies(m: aioresponses, method: str = "POST") -> list[bytes]:
    """Raw JSON bodies sent with ``method``, in order."""
    return [
        call.kwargs["data"]
        for (verb, _), calls in m.requests.items()
        if verb == method
        for call in calls
    ]


def request_count(m: aioresponses) -> int:
    return sum(len(calls) for calls in m.requests.values())


@pytest.fixture
async def client() -> AsyncIterator[QualtricsClient]:
    policy = RetryPolicy(max_retries=2, initial_delay=0)
    async with QualtricsClient(api_token="tok", datacenter="iad1", retry_policy=policy) as c:
        yield c


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


# --- create: wire format -------------------------------------------------------------------------


async def test_create_sends_documented_body_and_returns_job(client: QualtricsClient) -> None:
    contacts = [
        ImportContact(
            first_name="A",
            last_name="B",
            email="a@b.com",
            ext_ref="u1",
            language="EN",
            unsubscribed=False,
            embedded_data={"tier": "gold"},
            transaction_data={"purchase_amount": 12.5, "store": "Provo"},
        ),
        ImportContact(email="c@d.com"),
    ]
    meta = TransactionMeta(batch_id="BT_1", fields=["purchase_amount", "store"])
    with aioresponses() as m:
        m.post(IMPORTS, status=202, payload=accepted("PGR_1", [1]))
        jobs = await client.imports.create("POOL_1", "CG_1", contacts, meta)

    assert json.loads(bodies(m)[0]) == {
        "transactionMeta": {"batchId": "BT_1", "fields": ["purchase_amount", "store"]},
        "contacts": [
            {
                "firstName": "A",
                "lastName": "B",
                "email": "a@b.com",
                "extRef": "u1",
                "language": "EN",
                "unsubscribed": False,
                "embeddedData": {"tier": "gold"},
                "transactionData": {"purchase_amount": 12.5, "store": "Provo"},
            },
            {"email": "c@d.com"},
        ],
    }
    assert isinstance(jobs, ImportJobs)
    assert len(jobs) == 1
    job = jobs[0]
    assert (job.id, job.directory_id, job.mailing_list_id) == ("PGR_1", "POOL_1", "CG_1")
    assert (job.first_index, job.contact_count, job.unprocessed) == (0, 2, (1,))
    assert jobs.ids == ("PGR_1",)
    assert jobs.unprocessed == (1,)
    assert job.created is not None
    assert job.created.status == "inProgress"
    assert job.created.tracking is not None
    assert job.created.tracking.url == JOB
    assert job.created.response_info is not None
    assert job.created.response_info.request_id == "req-202"


async def test_create_without_transactions_sends_contacts_only(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(IMPORTS, status=202, payload=accepted("PGR_1"))
        jobs = await client.imports.create(
            "POOL_1", "CG_1", (c for c in [ImportContact(ext_ref="u1", unsubscribed=True)])
        )
    assert json.loads(bodies(m)[0]) == {"contacts": [{"extRef": "u1", "unsubscribed": True}]}
    assert jobs.unprocessed == ()


# --- create: validation before sending -----------------------------------------------------------

META_AMOUNT = TransactionMeta(batch_id="BT_1", fields=["amount"])
OK = ImportContact(email="ok@example.com")


@pytest.mark.parametrize(
    ("contacts", "meta", "field", "fragment"),
    [
        ([], None, "contacts", "at least one contact"),
        ([OK, OK, {"email": "x@y.z"}], None, "contacts[2]", "must be an ImportContact"),
        (
            [OK, ImportContact(transaction_data={"amount": 1})],
            None,
            "transaction_meta",
            "contacts[1].transaction_data is set but transaction_meta is None",
        ),
        (
            [OK, ImportContact(transaction_data={"amount": 1, "store": "x"})],
            META_AMOUNT,
            "contacts[1].transaction_data['store']",
            "not listed in transaction_meta.fields",
        ),
        (
            [ImportContact(embedded_data={"amount": "5"})],
            META_AMOUNT,
            "contacts[0].embedded_data['amount']",
            "also listed in transaction_meta.fields",
        ),
        (
            [OK, OK, OK, ImportContact(embedded_data={"tier": None})],  # type: ignore[dict-item]
            None,
            "contacts[3].embedded_data['tier']",
            "None",
        ),
        (
            [ImportContact(transaction_data={"amount": None})],  # type: ignore[dict-item]
            META_AMOUNT,
            "contacts[0].transaction_data['amount']",
            "None",
        ),
        (
            [ImportContact(embedded_data={"prefs": {"a": 1}})],  # type: ignore[dict-item]
            None,
            "contacts[0].embedded_data['prefs']",
            "values must be strings, numbers or booleans",
        ),
        (
            [ImportContact(embedded_data={"note": "x" * 1025})],
            None,
            "contacts[0].embedded_data['note']",
            "1024",
        ),
        (
            [ImportContact(first_name=42)],  # type: ignore[arg-type]
            None,
            "contacts[0].first_name",
            "must be a string",
        ),
        (
            [OK, ImportContact(unsubscribed="yes")],  # type: ignore[arg-type]
            None,
            "contacts[1].unsubscribed",
            "True or False",
        ),
    ],
)
async def test_invalid_input_is_refused_before_any_request(
    client: QualtricsClient,
    contacts: list[Any],
    meta: TransactionMeta | None,
    field: str,
    fragment: str,
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError) as info:
            await client.imports.create("POOL_1", "CG_1", contacts, meta)
        assert request_count(m) == 0
    assert info.value.field == field
    assert fragment in str(info.value)


async def test_an_invalid_contact_in_a_later_job_stops_every_job(client: QualtricsClient) -> None:
    contacts = [OK, OK, ImportContact(embedded_data={"k": None})]  # type: ignore[dict-item]
    with aioresponses() as m:
        with pytest.raises(ValidationError, match=r"contacts\[2\]"):
            await client.imports.create("POOL_1", "CG_1", contacts, max_contacts_per_job=1)
        assert request_count(m) == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_contacts_per_job": 10_001}, "max_contacts_per_job"),
        ({"max_contacts_per_job": 0}, "max_contacts_per_job"),
        ({"max_bytes_per_job": 5_000_001}, "max_bytes_per_job"),
    ],
)
async def test_limits_above_qualtrics_are_refused(
    client: QualtricsClient, kwargs: dict[str, int], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await client.imports.create("POOL_1", "CG_1", [OK], **kwargs)
    assert info.value.field == field


async def test_a_contact_too_large_for_one_request_is_named(client: QualtricsClient) -> None:
    contacts = [OK, ImportContact(embedded_data={"note": "x" * 1000})]
    with aioresponses() as m:
        with pytest.raises(ValidationError) as info:
            await client.imports.create("POOL_1", "CG_1", contacts, max_bytes_per_job=500)
        assert request_count(m) == 0
    assert info.value.field == "contacts[1]"
    assert "500 bytes" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"batch_id": "", "fields": ["a"]}, "batch_id"),
        ({"batch_id": "BT_1", "fields": []}, "at least one"),
        ({"batch_id": "BT_1", "fields": "amount"}, "not one string"),
        ({"batch_id": "BT_1", "fields": ["a", "a"]}, "twice"),
        ({"batch_id": "BT_1", "fields": ["a", ""]}, "non-empty"),
    ],
)
def test_transaction_meta_is_validated(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        TransactionMeta(**kwargs)


# --- create: splitting ---------------------------------------------------------------------------


async def test_25000_contacts_make_three_jobs_in_order(client: QualtricsClient) -> None:
    contacts = [
        ImportContact(ext_ref=f"u{i}", transaction_data={"amount": i}) for i in range(25_000)
    ]
    with aioresponses() as m:
        m.post(IMPORTS, status=202, payload=accepted("PGR_1"))
        m.post(IMPORTS, status=202, payload=accepted("PGR_2", [0, 9999]))
        m.post(IMPORTS, status=202, payload=accepted("PGR_3", [4]))
        jobs = await client.imports.create("POOL_1", "CG_1", contacts, META_AMOUNT)

    sent = [json.loads(body) for body in bodies(m)]
    assert [len(body["contacts"]) for body in sent] == [10_000, 10_000, 5_000]
    assert all(
        body["transactionMeta"] == {"batchId": "BT_1", "fields": ["amount"]} for body in sent
    )
    refs = [contact["extRef"] for body in sent for contact in body["contacts"]]
    assert refs == [f"u{i}" for i in range(25_000)]
    assert jobs.ids == ("PGR_1", "PGR_2", "PGR_3")
    assert [job.first_index for job in jobs] == [0, 10_000, 20_000]
    assert [job.contact_count for job in jobs] == [10_000, 10_000, 5_000]
    assert jobs[1].unprocessed == (10_000, 19_999)
    assert jobs.unprocessed == (10_000, 19_999, 20_004)


async def test_split_by_bytes_fills_each_request_without_exceeding(
    client: QualtricsClient,
) -> None:
    contacts = [
        ImportContact(ext_ref=f"u{i}", embedded_data={"note": "é" * (100 + 37 * (i % 7))})
        for i in range(60)
    ]
    limit = 3_000
    with aioresponses() as m:
        for n in range(60):
            m.post(IMPORTS, status=202, payload=accepted(f"PGR_{n}"))
        jobs = await client.imports.create("POOL_1", "CG_1", contacts, max_bytes_per_job=limit)

    sent = bodies(m)
    decoded = [json.loads(body) for body in sent]
    assert len(sent) == len(jobs) > 1
    assert all(len(body) <= limit for body in sent)
    refs = [c["extRef"] for body in decoded for c in body["contacts"]]
    assert refs == [f"u{i}" for i in range(60)]
    # Greedy: the next job's first contact would not have fitted into the previous request.
    for body, following in zip(sent[:-1], decoded[1:], strict=True):
        first = json.dumps(following["contacts"][0], separators=(",", ":"), ensure_ascii=False)
        assert len(body) + 1 + len(first.encode()) > limit
    assert [job.first_index for job in jobs] == [
        sum(len(b["contacts"]) for b in decoded[:n]) for n in range(len(decoded))
    ]


def _size(count: int) -> int:
    body = {"contacts": [{"extRef": f"u{i}"} for i in range(count)]}
    return len(json.dumps(body, separators=(",", ":")).encode())


@pytest.mark.parametrize(
    ("limit", "per_job"),
    [
        (_size(2), [2, 2]),  # a request may be exactly the limit
        (_size(3) - 1, [2, 2]),  # one byte short: the separating commas are counted
        (_size(3), [3, 1]),
    ],
)
async def test_byte_limit_is_measured_exactly(
    client: QualtricsClient, limit: int, per_job: list[int]
) -> None:
    contacts = [ImportContact(ext_ref=f"u{i}") for i in range(4)]  # all serialize equally long
    with aioresponses() as m:
        for n in range(len(per_job)):
            m.post(IMPORTS, status=202, payload=accepted(f"PGR_{n}"))
        await client.imports.create("POOL_1", "CG_1", contacts, max_bytes_per_job=limit)
    sent = bodies(m)
    assert [len(json.loads(body)["contacts"]) for body in sent] == per_job
    assert all(len(body) <= limit for body in sent)
    assert len(sent[0]) == _size(per_job[0])


async def test_a_later_failure_reports_the_jobs_already_created(client: QualtricsClient) -> None:
    contacts = [ImportContact(ext_ref=f"u{i}") for i in range(5)]
    with aioresponses() as m:
        m.post(IMPORTS, status=202, payload=accepted("PGR_1"))
        m.post(IMPORTS, status=500, payload={"meta": {"httpStatus": "500 - Internal Error"}})
        with pytest.raises(PartialImportError) as info:
            await client.imports.create("POOL_1", "CG_1", contacts, max_contacts_per_job=2)
        assert len(bodies(m)) == 2  # the failed write is not retried, the third is not sent

    error = info.value
    assert error.import_ids == ("PGR_1",)
    assert error.first_unsent_index == 2
    assert error.ambiguous is True
    assert isinstance(error.__cause__, ServerError)
    assert error.jobs is not None
    assert error.jobs.ids == ("PGR_1",)
    assert "index 2" in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.import_ids, copy.first_unsent_index, copy.ambiguous) == (("PGR_1",), 2, True)


async def test_a_rejected_later_request_is_not_ambiguous(client: QualtricsClient) -> None:
    contacts = [ImportContact(ext_ref=f"u{i}") for i in range(2)]
    with aioresponses() as m:
        m.post(IMPORTS, status=202, payload=accepted("PGR_1"))
        m.post(IMPORTS, status=400, payload={"meta": {"httpStatus": "400 - Bad Request"}})
        with pytest.raises(PartialImportError) as info:
            await client.imports.create("POOL_1", "CG_1", contacts, max_contacts_per_job=1)
    assert info.value.ambiguous is False
    assert isinstance(info.value.__cause__, BadRequestError)


async def test_a_first_request_failure_is_raised_as_is(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.post(IMPORTS, status=400, payload={"meta": {"httpStatus": "400 - Bad Request"}})
        with pytest.raises(BadRequestError):
            await client.imports.create("POOL_1", "CG_1", [OK])


# --- status, summary -----------------------------------------------------------------------------


async def test_status_reads_progress_and_keeps_unknown_fields(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.get(JOB, payload=progress(45.5, newField="kept"))
        status = await client.imports.job("POOL_1", "CG_1", "PGR_1").status()
    assert [(method, str(url)) for method, url in m.requests] == [("GET", JOB)]
    assert isinstance(status, ImportStatus)
    assert status.percent_complete == 45.5
    assert (status.contacts_added, status.contacts_updated, status.contacts_failed) == (2, 1, 0)
    assert status.transactions_created == 3
    assert status.done is False
    assert status.extra == {"newField": "kept"}


@pytest.mark.parametrize(
    ("result", "done", "failed"),
    [
        ({"percentComplete": 100}, True, False),
        ({"percentComplete": 60, "status": "complete"}, True, False),
        ({"percentComplete": 60, "status": "FAILED"}, True, True),
        ({"percentComplete": 99.5, "status": "inProgress"}, False, False),
        ({}, False, False),
    ],
)
def test_done_and_failed(result: dict[str, Any], done: bool, failed: bool) -> None:
    from qualtrics_sdk._convert import structure

    status = structure(result, ImportStatus)
    assert (status.done, status.failed) == (done, failed)


async def test_summary_lists_invalid_emails(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.get(f"{JOB}/summary", payload=progress(100, "complete", invalidEmails=["bad@", "x"]))
        summary = await client.imports.job("POOL_1", "CG_1", "PGR_1").summary()
    assert isinstance(summary, ImportSummary)
    assert summary.invalid_emails == ("bad@", "x")
    assert summary.done is True
    assert summary.response_info is not None
    assert summary.response_info.request_id == "req-1"


def test_job_refuses_path_like_ids(client: QualtricsClient) -> None:
    with pytest.raises(ValidationError) as info:
        client.imports.job("POOL_1", "CG_1", "../PGR_1")
    assert info.value.field == "import_id"


# --- wait ----------------------------------------------------------------------------------------


def fake_job(client: QualtricsClient, fake: FakeTime, import_id: str = "PGR_1") -> ImportJob:
    job = client.imports.job("POOL_1", "CG_1", import_id)
    return attrs.evolve(job, sleep=fake.sleep, clock=fake.clock)


async def test_wait_polls_with_growing_sleeps_until_done(client: QualtricsClient) -> None:
    fake = FakeTime()
    with aioresponses() as m:
        m.get(JOB, payload=progress(10))
        m.get(JOB, payload=progress(50))
        m.get(JOB, payload=progress(100, "complete"))
        status = await fake_job(client, fake).wait(poll_interval=1.0, timeout=60)
        polls = len(next(iter(m.requests.values())))
    assert status.status == "complete"
    assert polls == 3
    assert fake.sleeps == [1.0, 1.5]


async def test_wait_sleep_is_capped_by_max_interval(client: QualtricsClient) -> None:
    fake = FakeTime()
    with aioresponses() as m:
        for _ in range(5):
            m.get(JOB, payload=progress(10))
        m.get(JOB, payload=progress(100))
        await fake_job(client, fake).wait(1.0, 600, max_interval=2.0)
    assert fake.sleeps == [1.0, 1.5, 2.0, 2.0, 2.0]


async def test_wait_times_out_with_a_final_poll_at_the_deadline(client: QualtricsClient) -> None:
    fake = FakeTime()
    with aioresponses() as m:
        for _ in range(10):
            m.get(JOB, payload=progress(42))
        with pytest.raises(ImportTimeoutError) as info:
            await fake_job(client, fake).wait(poll_interval=1.0, timeout=10.0)
        polls = len(next(iter(m.requests.values())))
    # 1 + 1.5 + 2.25 + 3.375 = 8.125 s, then the remaining 1.875 s: never more than the timeout,
    # never a zero-length sleep, one poll after each sleep.
    assert fake.sleeps == [1.0, 1.5, 2.25, 3.375, 1.875]
    assert all(seconds > 0 for seconds in fake.sleeps)
    assert polls == len(fake.sleeps) + 1
    error = info.value
    assert isinstance(error, QualtricsError)
    assert isinstance(error, TimeoutError)
    assert error.import_id == "PGR_1"
    assert error.last_status is not None
    assert error.last_status.percent_complete == 42
    assert "42" in str(error)
    assert pickle.loads(pickle.dumps(error)).import_id == "PGR_1"


async def test_wait_returns_a_failed_job_instead_of_raising(client: QualtricsClient) -> None:
    fake = FakeTime()
    with aioresponses() as m:
        m.get(JOB, payload=progress(30, "failed"))
        status = await fake_job(client, fake).wait()
    assert status.failed is True
    assert fake.sleeps == []


@pytest.mark.parametrize(
    "kwargs",
    [{"poll_interval": 0}, {"timeout": 0}, {"poll_interval": 5, "max_interval": 1}],
)
async def test_wait_refuses_intervals_that_would_busy_loop(
    client: QualtricsClient, kwargs: dict[str, float]
) -> None:
    with aioresponses() as m:
        with pytest.raises(ValidationError):
            await fake_job(client, FakeTime()).wait(**kwargs)
        assert request_count(m) == 0


async def test_jobs_wait_for_every_job_within_one_deadline(client: QualtricsClient) -> None:
    fake = FakeTime()
    jobs = ImportJobs([fake_job(client, fake, "PGR_1"), fake_job(client, fake, "PGR_2")])
    with aioresponses() as m:
        m.get(JOB, payload=progress(50))
        m.get(JOB, payload=progress(100, "complete"))
        m.get(f"{IMPORTS}/PGR_2", payload=progress(80))
        m.get(f"{IMPORTS}/PGR_2", payload=progress(80))
        m.get(f"{IMPORTS}/PGR_2", payload=progress(80))
        with pytest.raises(ImportTimeoutError) as info:
            await jobs.wait(poll_interval=2.0, timeout=5.0)
    # PGR_1 used 2 s of the 5 s budget; PGR_2 gets the remaining 3 s (2 s, then 1 s).
    assert fake.sleeps == [2.0, 2.0, 1.0]
    assert info.value.import_id == "PGR_2"


# --- report --------------------------------------------------------------------------------------


def entry(index: int, **extra: Any) -> dict[str, Any]:
    return {
        "sourceIndexId": str(index),
        "contactId": f"CID_{index}",
        "email": f"p{index}@example.com",
        "phone": None,
        "importStatus": "created",
        "importStatusCode": "200",
        "transactionId": f"CTR_{index}",
        "transactionStatus": "created",
        "transactionStatusCode": "200",
        "contactListContactId": f"MLRP_{index}",
        "contactListContactStatus": "created",
        "contactListContactStatusCode": "200",
        **extra,
    }


async def test_report_pages_with_top_level_skip_token(client: QualtricsClient) -> None:
    page1 = {
        "results": {"importReportEntries": [entry(0), entry(1, newKey=1)]},
        "skipToken": "Mg==",
        "meta": META,
    }
    page2 = {"results": {"importReportEntries": [entry(2)]}, "meta": META}
    with aioresponses() as m:
        m.get(f"{REPORT}?pageSize=2", payload=page1)
        m.get(f"{REPORT}?pageSize=2&skipToken=Mg%3D%3D", payload=page2)
        entries = await client.imports.job("POOL_1", "CG_1", "PGR_1").report(page_size=2).collect()
    params = [call.kwargs["params"] for calls in m.requests.values() for call in calls]
    assert params == [{"pageSize": "2"}, {"pageSize": "2", "skipToken": "Mg=="}]
    assert all(isinstance(e, ImportReportEntry) for e in entries)
    assert [e.source_index_id for e in entries] == ["0", "1", "2"]
    assert entries[1].contact_id == "CID_1"
    assert entries[1].transaction_id == "CTR_1"
    assert entries[1].contact_list_contact_status == "created"
    assert entries[1].extra == {"newKey": 1}


async def test_report_without_page_size_sends_no_query(client: QualtricsClient) -> None:
    with aioresponses() as m:
        m.get(REPORT, payload={"results": {"importReportEntries": []}, "meta": META})
        entries = await client.imports.report("POOL_1", "PGR_1").collect()
    assert entries == []
    assert [call.kwargs["params"] for calls in m.requests.values() for call in calls] == [None]


async def test_report_refuses_a_bad_page_size(client: QualtricsClient) -> None:
    with pytest.raises(ValidationError) as info:
        client.imports.report("POOL_1", "PGR_1", page_size=0)
    assert info.value.field == "page_size"
