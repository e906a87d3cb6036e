"""``client.imports``: bulk contact imports with transactions (``transactioncontacts``).

An import is asynchronous on Qualtrics' side: the create call answers ``202`` with a job id, and the
job is then polled. Inputs larger than one request allows (10,000 contacts, 5 MB of JSON) are split
into several jobs, sent one after another in input order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any

import attrs

from .._convert import structure
from .._errors import APIError, QualtricsError, ValidationError
from .._pagination import AsyncPaginator, PageRequest, SkipTokenStyle
from ..models._base import parse_result
from ..models.imports import (
    ImportContact,
    ImportCreated,
    ImportReportEntry,
    ImportStatus,
    ImportSummary,
    TransactionMeta,
)
from ._base import Resource, id_segment
from ._import_plan import (
    MAX_BYTES_PER_JOB,
    MAX_CONTACTS_PER_JOB,
    check_limits,
    contact_wire,
    import_body,
    plan_jobs,
)
from ._list_params import check_page_size

__all__ = [
    "ImportJob",
    "ImportJobs",
    "ImportTimeoutError",
    "ImportsResource",
    "PartialImportError",
]

logger = logging.getLogger("qualtrics_sdk")

#: Each wait between polls grows by this factor, up to ``max_interval``.
POLL_BACKOFF = 1.5

Sleep = Callable[[float], Awaitable[None]]


# --- errors ---------------------------------------------------------------------------------------


class ImportTimeoutError(QualtricsError, TimeoutError):
    """An import job did not finish within ``wait(timeout=...)``. The job keeps running.

    Attributes:
        import_id: The job that was still running.
        timeout: The timeout in seconds.
        last_status: The last status read, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        import_id: str,
        timeout: float,
        last_status: ImportStatus | None = None,
    ) -> None:
        super().__init__(message)
        self.import_id = import_id
        self.timeout = timeout
        self.last_status = last_status

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_timeout,
            (self.args, self.import_id, self.timeout, self.last_status),
        )


def _rebuild_timeout(
    args: tuple[Any, ...], import_id: str, timeout: float, last_status: ImportStatus | None
) -> ImportTimeoutError:
    return ImportTimeoutError(*args, import_id=import_id, timeout=timeout, last_status=last_status)


class PartialImportError(QualtricsError):
    """A split import failed part-way: earlier jobs were created, later contacts were not sent.

    The cause (``__cause__``) is the error of the failed request.

    Attributes:
        jobs: The jobs created before the failure (not kept when the error is pickled).
        import_ids: Their ids (kept when pickled).
        first_unsent_index: Index in your input of the first contact not known to be imported;
            every contact from there on belongs to the failed or later jobs.
        ambiguous: ``True`` when the failed request may have been applied anyway (check the
            directory before sending those contacts again).
    """

    def __init__(
        self,
        message: str,
        *,
        import_ids: tuple[str, ...],
        first_unsent_index: int,
        ambiguous: bool,
        jobs: ImportJobs | None = None,
    ) -> None:
        super().__init__(message)
        self.import_ids = tuple(import_ids)
        self.first_unsent_index = first_unsent_index
        self.ambiguous = ambiguous
        self.jobs = jobs

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_partial,
            (self.args, self.import_ids, self.first_unsent_index, self.ambiguous),
        )


def _rebuild_partial(
    args: tuple[Any, ...], import_ids: tuple[str, ...], first_unsent_index: int, ambiguous: bool
) -> PartialImportError:
    return PartialImportError(
        *args, import_ids=import_ids, first_unsent_index=first_unsent_index, ambiguous=ambiguous
    )


# --- jobs -----------------------------------------------------------------------------------------


def _check_wait_args(poll_interval: float, timeout: float, max_interval: float) -> None:
    if not poll_interval > 0:
        raise ValidationError("poll_interval must be > 0 seconds", field="poll_interval")
    if not timeout > 0:
        raise ValidationError("timeout must be > 0 seconds", field="timeout")
    if not max_interval >= poll_interval:
        raise ValidationError("max_interval must be >= poll_interval", field="max_interval")


@attrs.frozen(kw_only=True)
class ImportJob:
    """One import job on Qualtrics, bound to the client that created it.

    Get one from ``client.imports.create(...)`` (inside the returned :class:`ImportJobs`) or, for a
    job created earlier, from ``client.imports.job(directory_id, mailing_list_id, import_id)``.

    Attributes:
        id: Qualtrics' import id.
        directory_id: The directory imported into.
        mailing_list_id: The mailing list imported into.
        first_index: Index in your input of this job's first contact (0 unless the input was
            split).
        contact_count: How many contacts this job carried (``None`` for a re-attached job).
        unprocessed: Indexes, in your input, of this job's contacts that Qualtrics did not accept.
        created: The create response as sent by Qualtrics (``None`` for a re-attached job).
        sleep: Awaitable sleep used between polls (replaceable in tests).
        clock: Monotonic clock used for ``wait`` timeouts (replaceable in tests).
    """

    imports: ImportsResource = attrs.field(repr=False, eq=False)
    id: str
    directory_id: str
    mailing_list_id: str
    first_index: int = 0
    contact_count: int | None = None
    unprocessed: tuple[int, ...] = ()
    created: ImportCreated | None = attrs.field(default=None, repr=False, eq=False)
    sleep: Sleep = attrs.field(default=asyncio.sleep, repr=False, eq=False)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, repr=False, eq=False)

    async def status(self) -> ImportStatus:
        """Read the job's progress (``GET .../transactioncontacts/{importId}``).

        Raises:
            APIError: (typed subclasses) when the call fails.
        """
        return await self.imports.status(self.directory_id, self.mailing_list_id, self.id)

    async def summary(self) -> ImportSummary:
        """Read the job's summary, with invalid emails (``GET .../{importId}/summary``).

        Raises:
            APIError: (typed subclasses) when the call fails.
        """
        return await self.imports.summary(self.directory_id, self.mailing_list_id, self.id)

    def report(self, *, page_size: int | None = None) -> AsyncPaginator[ImportReportEntry]:
        """Page through the per-contact import report (``GET .../jobs/{importId}/report``).

        Args:
            page_size: Entries per page (Qualtrics' default when ``None``).
        """
        return self.imports.report(self.directory_id, self.id, page_size=page_size)

    async def wait(
        self, poll_interval: float = 1.0, timeout: float = 600.0, *, max_interval: float = 30.0
    ) -> ImportStatus:
        """Poll until the job is done; return its final status.

        Done means status ``complete`` or ``failed``, or ``percentComplete`` 100 (Qualtrics' full
        status enum is UNCONFIRMED). A ``failed`` job is returned, not raised: check
        ``status.failed``. Polls are spaced by an async sleep that starts at ``poll_interval`` and
        grows by 1.5x per poll up to ``max_interval``; the last sleep is shortened so that a final
        poll happens at the deadline.

        Raises:
            ValidationError: for a non-positive interval or timeout.
            ImportTimeoutError: when the job is still running after ``timeout`` seconds.
            APIError: (typed subclasses) when a status call fails.
        """
        _check_wait_args(poll_interval, timeout, max_interval)
        return await self._wait_until(self.clock() + timeout, timeout, poll_interval, max_interval)

    async def _wait_until(
        self, deadline: float, timeout: float, poll_interval: float, max_interval: float
    ) -> ImportStatus:
        interval = poll_interval
        while True:
            status = await self.status()
            if status.done:
                return status
            remaining = deadline - self.clock()
            if remaining <= 0:
                percent = status.percent_complete
                raise ImportTimeoutError(
                    f"import {self.id} did not finish within {timeout:g} s (status "
                    f"{status.status!r}, {percent if percent is not None else '?'}% complete); "
                    "it keeps running on Qualtrics: wait again or check status() later",
                    import_id=self.id,
                    timeout=timeout,
                    last_status=status,
                )
            await self.sleep(min(interval, remaining))
            interval = min(interval * POLL_BACKOFF, max_interval)


def _job_tuple(jobs: Iterable[ImportJob]) -> tuple[ImportJob, ...]:
    return tuple(jobs)


@attrs.frozen
class ImportJobs:
    """The jobs of one ``client.imports.create`` call, in input order (one unless split).

    Indexing and iteration give the :class:`ImportJob` objects; ``status``, ``summary`` and
    ``wait`` act on all of them.

    Attributes:
        jobs: The jobs, in input order.
    """

    jobs: tuple[ImportJob, ...] = attrs.field(converter=_job_tuple)

    def __attrs_post_init__(self) -> None:
        if not self.jobs:
            raise ValueError("ImportJobs needs at least one job")

    def __len__(self) -> int:
        return len(self.jobs)

    def __iter__(self) -> Iterator[ImportJob]:
        return iter(self.jobs)

    def __getitem__(self, index: int) -> ImportJob:
        return self.jobs[index]

    @property
    def ids(self) -> tuple[str, ...]:
        """The import ids, in input order."""
        return tuple(job.id for job in self.jobs)

    @property
    def unprocessed(self) -> tuple[int, ...]:
        """Indexes, in your input, of every contact Qualtrics did not accept (sorted)."""
        return tuple(sorted(i for job in self.jobs for i in job.unprocessed))

    async def status(self) -> tuple[ImportStatus, ...]:
        """Each job's progress, in order (one request per job).

        Raises:
            APIError: (typed subclasses) when a call fails.
        """
        return tuple([await job.status() for job in self.jobs])

    async def summary(self) -> tuple[ImportSummary, ...]:
        """Each job's summary, in order (one request per job).

        Raises:
            APIError: (typed subclasses) when a call fails.
        """
        return tuple([await job.summary() for job in self.jobs])

    async def wait(
        self, poll_interval: float = 1.0, timeout: float = 600.0, *, max_interval: float = 30.0
    ) -> tuple[ImportStatus, ...]:
        """Wait for every job (one after another) within one overall ``timeout``.

        See :meth:`ImportJob.wait` for the polling rules.

        Raises:
            ValidationError: for a non-positive interval or timeout.
            ImportTimeoutError: naming the first job still running at the deadline.
            APIError: (typed subclasses) when a status call fails.
        """
        _check_wait_args(poll_interval, timeout, max_interval)
        deadline = self.jobs[0].clock() + timeout
        return tuple(
            [
                await job._wait_until(deadline, timeout, poll_interval, max_interval)
                for job in self.jobs
            ]
        )


def _caller_indexes(created: ImportCreated, first_index: int, count: int) -> tuple[int, ...]:
    raw = created.contacts.unprocessed if created.contacts is not None else ()
    for position in raw:
        if not 0 <= position < count:
            logger.warning(
                "import %s reported unprocessed index %d outside its %d contacts",
                created.id,
                position,
                count,
            )
    return tuple(first_index + position for position in raw)


# --- resource -------------------------------------------------------------------------------------


class ImportsResource(Resource):
    """Bulk contact imports into a mailing list, optionally creating transactions.

    Qualtrics runs at most 25 import jobs at once per brand and queues up to 100; imports into one
    mailing list are processed one after another.
    """

    async def create(
        self,
        directory_id: str,
        mailing_list_id: str,
        contacts: Iterable[ImportContact],
        transaction_meta: TransactionMeta | None = None,
        *,
        max_contacts_per_job: int = MAX_CONTACTS_PER_JOB,
        max_bytes_per_job: int = MAX_BYTES_PER_JOB,
    ) -> ImportJobs:
        """Import contacts (``POST /directories/{d}/mailinglists/{ml}/transactioncontacts``).

        Every contact is validated before anything is sent. The input is then split, in order,
        into requests of at most ``max_contacts_per_job`` contacts and ``max_bytes_per_job`` bytes
        of JSON (measured exactly as sent), and the requests are sent one after another. Each
        request is a write and is never retried after it may have reached Qualtrics.

        Args:
            directory_id: The directory (``POOL_...``).
            mailing_list_id: The mailing list (``CG_...``).
            contacts: At least one :class:`ImportContact`.
            transaction_meta: Required when any contact has ``transaction_data``; sent with every
                request.
            max_contacts_per_job: Contacts per request, 1 to 10,000 (Qualtrics' limit).
            max_bytes_per_job: JSON bytes per request, up to 5,000,000 (Qualtrics' 5 MB).

        Returns:
            :class:`ImportJobs`: one job per request; ``jobs.unprocessed`` holds the indexes, in
            your input, of contacts Qualtrics did not accept.

        Raises:
            ValidationError: naming the contact index and key: no contacts, a non-contact item,
                a wrong type, a ``None`` or nested value, a ``transaction_data`` key missing from
                ``transaction_meta.fields`` (or no ``transaction_meta``), an ``embedded_data`` key
                that is a transaction field, embedded data over 200/1,024 characters, or one
                contact too large for a request.
            APIError: (typed subclasses) when the first request fails.
            PartialImportError: when a later request fails; it lists the jobs already created.
        """
        directory = id_segment("directory_id", directory_id)
        mailing_list = id_segment("mailing_list_id", mailing_list_id)
        check_limits(max_contacts_per_job, max_bytes_per_job)
        if transaction_meta is not None and not isinstance(transaction_meta, TransactionMeta):
            raise ValidationError(
                "transaction_meta must be a TransactionMeta(batch_id=..., fields=[...])",
                field="transaction_meta",
            )
        items = list(contacts)
        if not items:
            raise ValidationError(
                "contacts is empty; an import needs at least one contact", field="contacts"
            )
        fields = frozenset(transaction_meta.fields) if transaction_meta is not None else None
        wire = [contact_wire(index, item, fields) for index, item in enumerate(items)]
        meta = transaction_meta.to_wire() if transaction_meta is not None else None
        batches = plan_jobs(
            wire, meta, max_contacts=max_contacts_per_job, max_bytes=max_bytes_per_job
        )
        path = f"/directories/{directory}/mailinglists/{mailing_list}/transactioncontacts"
        jobs: list[ImportJob] = []
        for number, (first_index, batch) in enumerate(batches, start=1):
            try:
                response = await self._transport.request(
                    "POST", path, json=import_body(meta, batch), idempotent=False
                )
                created = parse_result(response, ImportCreated)
            except QualtricsError as exc:
                if not jobs:
                    raise
                raise _partial_failure(exc, jobs, number, len(batches), first_index) from exc
            jobs.append(
                ImportJob(
                    imports=self,
                    id=created.id,
                    directory_id=directory_id,
                    mailing_list_id=mailing_list_id,
                    first_index=first_index,
                    contact_count=len(batch),
                    unprocessed=_caller_indexes(created, first_index, len(batch)),
                    created=created,
                )
            )
        return ImportJobs(jobs)

    def job(self, directory_id: str, mailing_list_id: str, import_id: str) -> ImportJob:
        """Re-attach to an import created earlier (for example by another process).

        No request is made; ``unprocessed`` is empty since the create response is not known.

        Raises:
            ValidationError: for an id that is not a Qualtrics id.
        """
        id_segment("directory_id", directory_id)
        id_segment("mailing_list_id", mailing_list_id)
        id_segment("import_id", import_id)
        return ImportJob(
            imports=self,
            id=import_id,
            directory_id=directory_id,
            mailing_list_id=mailing_list_id,
        )

    async def status(self, directory_id: str, mailing_list_id: str, import_id: str) -> ImportStatus:
        """Read an import's progress (``GET .../transactioncontacts/{importId}``).

        Raises:
            ValidationError: for an id that is not a Qualtrics id.
            APIError: (typed subclasses) when the call fails.
        """
        path = self._job_path(directory_id, mailing_list_id, import_id)
        return parse_result(await self._transport.request("GET", path), ImportStatus)

    async def summary(
        self, directory_id: str, mailing_list_id: str, import_id: str
    ) -> ImportSummary:
        """Read an import's summary (``GET .../transactioncontacts/{importId}/summary``).

        Raises:
            ValidationError: for an id that is not a Qualtrics id.
            APIError: (typed subclasses) when the call fails.
        """
        path = self._job_path(directory_id, mailing_list_id, import_id) + "/summary"
        return parse_result(await self._transport.request("GET", path), ImportSummary)

    def report(
        self, directory_id: str, import_id: str, *, page_size: int | None = None
    ) -> AsyncPaginator[ImportReportEntry]:
        """Page through an import's per-contact report.

        ``GET /directories/{d}/imports/api-import/jobs/{importId}/report``: entries are in
        ``results.importReportEntries`` and the next page's ``skipToken`` is at the top level of
        the body. Qualtrics documents this report for XM Directory only.

        Args:
            directory_id: The directory imported into.
            import_id: The import job id.
            page_size: Entries per page (Qualtrics' default when ``None``).

        Raises:
            ValidationError: for an id that is not a Qualtrics id, or a page size below 1.
        """
        directory = id_segment("directory_id", directory_id)
        job = id_segment("import_id", import_id)
        path = f"/directories/{directory}/imports/api-import/jobs/{job}/report"
        return AsyncPaginator(
            self._transport,
            PageRequest(method="GET", target=path, params={"pageSize": check_page_size(page_size)}),
            SkipTokenStyle(
                container_key="results", items_key="importReportEntries", token_at_top=True
            ),
            lambda raw: structure(raw, ImportReportEntry),
        )

    @staticmethod
    def _job_path(directory_id: str, mailing_list_id: str, import_id: str) -> str:
        directory = id_segment("directory_id", directory_id)
        mailing_list = id_segment("mailing_list_id", mailing_list_id)
        job = id_segment("import_id", import_id)
        return f"/directories/{directory}/mailinglists/{mailing_list}/transactioncontacts/{job}"


def _partial_failure(
    exc: QualtricsError, jobs: Sequence[ImportJob], number: int, total: int, first_index: int
) -> PartialImportError:
    ambiguous = isinstance(exc, APIError) and exc.ambiguous
    ids = tuple(job.id for job in jobs)
    message = (
        f"import request {number} of {total} failed ({exc}); {len(jobs)} earlier job(s) were "
        f"created ({', '.join(ids)}); contacts from index {first_index} on were not imported"
    )
    if ambiguous:
        message += " (the failed request may have been applied: check before sending it again)"
    return PartialImportError(
        message,
        import_ids=ids,
        first_unsent_index=first_index,
        ambiguous=ambiguous,
        jobs=ImportJobs(jobs),
    )
