"""A stateful fake Qualtrics server for tests: ``FakeQualtrics``.

Run it in your event loop (``async with FakeQualtrics() as fake``), in a background thread
(``with FakeQualtrics() as fake`` or the pytest fixture ``fake_qualtrics``), or standalone
(``python -m qualtrics_sdk.testing``). See ``docs/testing.md``.
"""

from ._clock import FakeClock
from ._fake import FakeQualtrics
from ._faults import FaultRule, Faults
from ._records import (
    ContactRecord,
    DirectoryRecord,
    FakeStats,
    ImportJobRecord,
    MailingListRecord,
    MembershipRecord,
    OAuthGrantRecord,
    RecordedRequest,
    TransactionBatchRecord,
    TransactionRecord,
    TriggerEventRecord,
)

__all__ = [
    "ContactRecord",
    "DirectoryRecord",
    "FakeClock",
    "FakeQualtrics",
    "FakeStats",
    "FaultRule",
    "Faults",
    "ImportJobRecord",
    "MailingListRecord",
    "MembershipRecord",
    "OAuthGrantRecord",
    "RecordedRequest",
    "TransactionBatchRecord",
    "TransactionRecord",
    "TriggerEventRecord",
]
