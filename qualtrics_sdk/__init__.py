"""Typed async client for the Qualtrics v3 API.

Everything importable from this module is the public API; modules whose names start with ``_``
are private and may change without notice.
"""

from ._auth import ApiToken, Auth, OAuthClientCredentials
from ._client import QualtricsClient
from ._envelope import Meta
from ._errors import (
    AmbiguousContactError,
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    InvalidDatacenterError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    QualtricsError,
    RateLimitError,
    ResponseValidationError,
    SearchDepthExceededError,
    ServerError,
    UnprocessableEntityError,
    UnprocessedTransactionsError,
    UnsafeURLError,
    ValidationError,
)
from ._pagination import AsyncPaginator, Page
from ._retry import RetryBudget, RetryPolicy
from ._transport import APIResponse, RequestEvent, ResponseEvent, ResponseInfo
from ._version import __version__
from .models._base import Model
from .models.common import DeduplicationCriteria, Directory, WhoAmI

# --- contacts (issue 3) ---
from .models.contact_filters import (
    ContactCriterion,
    ContactDateCriterion,
    ContactFieldStateCriterion,
    ContactFilter,
    ContactFilterGroup,
    ContactListCriterion,
    ContactSearchFilter,
    ContactTextCriterion,
)
from .models.contacts import (
    Contact,
    ContactTransaction,
    CreatedContact,
    MailingListMembership,
    SegmentMembership,
    UpsertResult,
)

# --- end contacts ---
# --- mailing lists (issue 3) ---
from .models.mailing_lists import (
    CreatedMailingList,
    CreatedMailingListContact,
    MailingList,
    MailingListContact,
)

# --- end mailing lists ---
# --- transactions and batches (issue 3) ---
from .models.transactions import (
    BatchTransaction,
    CreatedTransactionBatch,
    Transaction,
    TransactionBatch,
    TransactionCreate,
    TransactionError,
    TransactionResult,
)
from .resources.transactions import TransactionChunkError

# --- end transactions and batches ---
# --- imports (issue 3) ---
# isort: split
from .models.imports import (
    ImportContact,
    ImportContactCounts,
    ImportContactsProgress,
    ImportCreated,
    ImportCreatedContacts,
    ImportReportEntry,
    ImportStatus,
    ImportSummary,
    ImportTracking,
    ImportTransactionCounts,
    ImportTransactionsProgress,
    TransactionMeta,
)
from .resources.imports import ImportJob, ImportJobs, ImportTimeoutError, PartialImportError

# --- end imports ---
# --- workflows (issue 3) ---
# isort: split
from .models.workflows import TriggerAuth, TriggerResult, Workflow

# --- end workflows ---

__all__ = [
    "AmbiguousContactError",
    "UnprocessedTransactionsError",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIStatusError",
    "APITimeoutError",
    "ApiToken",
    "AsyncPaginator",
    "Auth",
    "AuthenticationError",
    "BadRequestError",
    "BatchTransaction",
    "ConfigurationError",
    "ConflictError",
    "Contact",
    "ContactCriterion",
    "ContactDateCriterion",
    "ContactFieldStateCriterion",
    "ContactFilter",
    "ContactFilterGroup",
    "ContactListCriterion",
    "ContactSearchFilter",
    "ContactTextCriterion",
    "ContactTransaction",
    "CreatedContact",
    "CreatedMailingList",
    "CreatedMailingListContact",
    "CreatedTransactionBatch",
    "DeduplicationCriteria",
    "Directory",
    "ImportContact",
    "ImportContactCounts",
    "ImportContactsProgress",
    "ImportCreated",
    "ImportCreatedContacts",
    "ImportJob",
    "ImportJobs",
    "ImportReportEntry",
    "ImportStatus",
    "ImportSummary",
    "ImportTimeoutError",
    "ImportTracking",
    "ImportTransactionCounts",
    "ImportTransactionsProgress",
    "InvalidDatacenterError",
    "MailingList",
    "MailingListContact",
    "MailingListMembership",
    "Meta",
    "Model",
    "NotFoundError",
    "OAuthClientCredentials",
    "Page",
    "PaginationError",
    "PartialImportError",
    "PermissionDeniedError",
    "QualtricsClient",
    "QualtricsError",
    "RateLimitError",
    "RequestEvent",
    "ResponseEvent",
    "ResponseInfo",
    "ResponseValidationError",
    "RetryBudget",
    "RetryPolicy",
    "SearchDepthExceededError",
    "SegmentMembership",
    "ServerError",
    "Transaction",
    "TransactionBatch",
    "TransactionChunkError",
    "TransactionCreate",
    "TransactionError",
    "TransactionMeta",
    "TransactionResult",
    "TriggerAuth",
    "TriggerResult",
    "UnprocessableEntityError",
    "UnsafeURLError",
    "UpsertResult",
    "ValidationError",
    "WhoAmI",
    "Workflow",
    "__version__",
]
