"""Turn Segment ``identify`` / ``track`` events into Qualtrics XM Directory and workflow calls."""

from .actions import default_mapping, default_subscription
from .destination import EventResult, QualtricsDestination, Subscription, SubscriptionResult
from .errors import (
    AdapterError,
    ConfigError,
    EventValidationError,
    MappingError,
    SubscriptionSyntaxError,
)
from .ledger import DeliveryLedger, LedgerEntry, MemoryLedger, SQLiteLedger

__all__ = [
    "AdapterError",
    "ConfigError",
    "DeliveryLedger",
    "EventResult",
    "EventValidationError",
    "LedgerEntry",
    "MappingError",
    "MemoryLedger",
    "QualtricsDestination",
    "SQLiteLedger",
    "Subscription",
    "SubscriptionResult",
    "SubscriptionSyntaxError",
    "default_mapping",
    "default_subscription",
]
