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
from .events import (
    Event,
    IdentifyEvent,
    ParsedItem,
    SegmentEvent,
    TrackEvent,
    parse_event,
    parse_events,
    parse_json,
    traits_of,
)
from .ledger import DeliveryLedger, LedgerEntry, MemoryLedger, SQLiteLedger
from .mapping import CompiledMapping, validate_mapping
from .subscriptions import SubscriptionFilter, parse_subscription

__all__ = [
    "AdapterError",
    "CompiledMapping",
    "ConfigError",
    "DeliveryLedger",
    "Event",
    "EventResult",
    "EventValidationError",
    "IdentifyEvent",
    "LedgerEntry",
    "MappingError",
    "MemoryLedger",
    "ParsedItem",
    "QualtricsDestination",
    "SQLiteLedger",
    "SegmentEvent",
    "Subscription",
    "SubscriptionFilter",
    "SubscriptionResult",
    "SubscriptionSyntaxError",
    "TrackEvent",
    "default_mapping",
    "default_subscription",
    "parse_event",
    "parse_events",
    "parse_json",
    "parse_subscription",
    "traits_of",
    "validate_mapping",
]
