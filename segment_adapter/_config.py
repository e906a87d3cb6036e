"""Subscriptions (which action runs for which events, with which mapping) and config files.

A :class:`Subscription` is what a user configures in Segment for one action: the action, its
trigger (FQL) and its mapping. :func:`compile_routes` validates a list of them once, up front,
so that a configuration that can never work (an unknown action, a bad FQL condition or mapping,
no mapping at all for a required field) is refused before any event is sent (decision 10), and
so that events do no parsing or validation of the configuration.

:func:`read_config` reads the JSON configuration of ``QualtricsDestination.from_config``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from .actions._defaults import ACTIONS, ActionSpec, FieldSpec
from .actions._payloads import PayloadError, coerce_field, parse_transaction_date
from .errors import ConfigError, MappingError, SubscriptionSyntaxError
from .mapping import CompiledMapping
from .subscriptions import SubscriptionFilter, parse_subscription

__all__ = [
    "DestinationSettings",
    "Route",
    "Subscription",
    "compile_routes",
    "read_config",
]


def _optional_text(name: str) -> Any:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value is not None and not isinstance(value, str):
            raise ConfigError(
                f"{name} must be a string or None, got {type(value).__name__}", field=name
            )

    return check


@attrs.frozen(kw_only=True)
class Subscription:
    """One configured action: when it runs and how its fields are mapped from the event.

    Checked when a destination is built (see :func:`compile_routes`), not here, so that the error
    can name the subscription's position.

    Attributes:
        action: ``"addContactToXmd"``, ``"upsertContactTransaction"`` or
            ``"triggerXflowWorkflow"``.
        subscribe: The trigger in Segment's subscription (FQL) syntax, e.g.
            ``'type = "track" and event = "Order Completed"'``. ``None`` uses the action's
            default (``type = "identify"`` for ``addContactToXmd``, ``type = "track", event =
            "Transaction Created"`` for ``upsertContactTransaction``); ``triggerXflowWorkflow``
            has none, so it must be given.
        mapping: The action's mapping, exactly as in Segment (field name to raw value or
            mapping-kit directive), e.g. ``{"directoryId": "POOL_1", "embeddedData": {"plan":
            {"@path": "$.traits.plan"}}}``.
        use_default_mappings: Give fields the mapping does not mention the action's default
            mapping (see ``segment_adapter.actions.default_mapping``).
        name: A label for reports and errors. It is also the subscription's identity in
            transaction keys and the delivery ledger; without it the identity is
            ``<action>#<n>`` (the n-th subscription of that action), which changes if you
            reorder subscriptions, so name them in production.
    """

    action: str = attrs.field(validator=_optional_text("action"))
    subscribe: str | None = attrs.field(default=None, validator=_optional_text("subscribe"))
    mapping: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    use_default_mappings: bool = True
    name: str | None = attrs.field(default=None, validator=_optional_text("name"))


@attrs.frozen(kw_only=True)
class Route:
    """A validated, compiled subscription.

    Attributes:
        index: Position in the destination's list.
        name: The subscription's name, if any.
        key: The subscription's identity for transaction keys and the ledger.
        spec: The action.
        predicate: The compiled trigger.
        mapping: The compiled effective mapping (defaults applied).
    """

    index: int
    name: str | None
    key: str
    spec: ActionSpec
    predicate: SubscriptionFilter
    mapping: CompiledMapping

    @property
    def label(self) -> str:
        """The name, else ``#<index>``."""
        return self.name if self.name is not None else f"#{self.index}"


def _is_constant(value: Any) -> bool:
    """Whether a mapping value contains no directive (so it is the same for every event)."""
    if isinstance(value, Mapping):
        return not any(key.startswith("@") for key in value) and all(
            _is_constant(item) for item in value.values()
        )
    if isinstance(value, list):
        return all(_is_constant(item) for item in value)
    return True


def _check_constant(field: FieldSpec, value: Any, where: int | str) -> None:
    """Refuse a constant mapping that fails every event."""
    if value is None or value == "":
        if field.required:
            raise ConfigError(
                f"subscription {where}: the required field {field.name!r} is mapped to "
                f"{json.dumps(value)}, so every event would fail; map it to a value or a "
                'directive such as {"@path": "$.traits.x"}',
                subscription=where,
                field=field.name,
            )
        return
    try:
        coerced = coerce_field(field, value)
        if field.kind == "datetime":
            parse_transaction_date(coerced)
    except PayloadError as exc:
        raise ConfigError(
            f"subscription {where}: {exc}", subscription=where, field=field.name
        ) from None


def _effective_mapping(
    subscription: Subscription, spec: ActionSpec, where: int | str
) -> dict[str, Any]:
    mapping = subscription.mapping
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            f"subscription {where}: mapping must be a JSON object of field names, got "
            f"{type(mapping).__name__}",
            subscription=where,
            field="mapping",
        )
    for key in mapping:
        if key not in spec.field_names:
            raise ConfigError(
                f"subscription {where}: {spec.name} has no field {key!r}; its fields are "
                f"{', '.join(spec.field_names)}",
                subscription=where,
                field=str(key),
            )
    if subscription.use_default_mappings:
        return {**spec.default_mapping(), **mapping}
    return dict(mapping)


def _compile_one(subscription: Subscription, index: int, key: str) -> Route:
    where: int | str = subscription.name if subscription.name is not None else index
    spec = ACTIONS.get(subscription.action)
    if spec is None:
        raise ConfigError(
            f"subscription {where}: unknown action {subscription.action!r}; use one of "
            f"{', '.join(ACTIONS)}",
            subscription=where,
            field="action",
        )
    if not isinstance(subscription.use_default_mappings, bool):
        raise ConfigError(
            f"subscription {where}: use_default_mappings must be true or false",
            subscription=where,
            field="use_default_mappings",
        )
    text = subscription.subscribe
    if text is None:
        text = spec.default_subscription
    if text is None or not text.strip():
        raise ConfigError(
            f"subscription {where}: {spec.name} has no default subscription; give subscribe, "
            'e.g. type = "track" and event = "Order Completed"',
            subscription=where,
            field="subscribe",
        )
    try:
        predicate = parse_subscription(text)
    except SubscriptionSyntaxError as exc:
        raise ConfigError(
            f"subscription {where}: bad subscribe: {exc}", subscription=where, field="subscribe"
        ) from None
    effective = _effective_mapping(subscription, spec, where)
    try:
        compiled = CompiledMapping(effective)
    except MappingError as exc:
        field = exc.path.split("/")[1] if exc.path.count("/") >= 1 else "mapping"
        raise ConfigError(
            f"subscription {where}: {exc}", subscription=where, field=field.replace("~1", "/")
        ) from None
    for field_spec in spec.fields:
        if field_spec.name not in effective:
            if field_spec.required:
                raise ConfigError(
                    f"subscription {where}: {spec.name} needs the field {field_spec.name!r} "
                    f"({field_spec.description}) and the mapping has none; add e.g. "
                    f'"{field_spec.name}": "<value>" or a directive',
                    subscription=where,
                    field=field_spec.name,
                )
            continue
        value = effective[field_spec.name]
        if _is_constant(value):
            _check_constant(field_spec, value, where)
    return Route(
        index=index,
        name=subscription.name,
        key=key,
        spec=spec,
        predicate=predicate,
        mapping=compiled,
    )


def compile_routes(subscriptions: Sequence[Subscription]) -> tuple[Route, ...]:
    """Validate and compile subscriptions, in order.

    Raises:
        ConfigError: naming the subscription (its name, else its index) and the field: an
            unknown action or mapping field, bad FQL, a bad mapping directive, a required field
            the mapping (with defaults) never produces, a constant that can never be valid, or
            two subscriptions with the same name.
    """
    if isinstance(subscriptions, Subscription | str | bytes | Mapping):
        raise ConfigError("subscriptions must be a list of Subscription", field="subscriptions")
    routes: list[Route] = []
    names: set[str] = set()
    per_action: dict[str, int] = {}
    for index, subscription in enumerate(subscriptions):
        if not isinstance(subscription, Subscription):
            raise ConfigError(
                f"subscription {index} must be a Subscription, got {type(subscription).__name__}",
                subscription=index,
            )
        if subscription.name is not None:
            if subscription.name in names:
                raise ConfigError(
                    f"subscription {index}: the name {subscription.name!r} is already used; "
                    "names identify subscriptions in the delivery ledger, so they must be unique",
                    subscription=index,
                    field="name",
                )
            names.add(subscription.name)
            key = subscription.name
        else:
            ordinal = per_action.get(subscription.action, 0)
            key = f"{subscription.action}#{ordinal}"
        per_action[subscription.action] = per_action.get(subscription.action, 0) + 1
        routes.append(_compile_one(subscription, index, key))
    return tuple(routes)


# ---------------------------------------------------------------------------------------------
# Config files

_TOP_KEYS: Final = ("settings", "subscriptions")
_SETTINGS_KEYS: Final = (
    "datacenter",
    "apiToken",
    "baseUrl",
    "ledgerPath",
    "rateLimit",
    "maxConcurrency",
    "sharedSecret",
)
_SUBSCRIPTION_KEYS: Final = ("action", "subscribe", "mapping", "useDefaultMappings", "name")


@attrs.frozen(kw_only=True)
class DestinationSettings:
    """The ``settings`` object of a configuration (the token is never shown in ``repr``)."""

    datacenter: str | None = None
    api_token: str | None = attrs.field(default=None, repr=False)
    base_url: str | None = None
    ledger_path: str | None = None
    rate_limit: float | None = None
    max_concurrency: int | None = None
    #: Segment's webhook shared secret, used by the receiver (``qualtrics-segment serve``).
    shared_secret: str | None = attrs.field(default=None, repr=False)


def _unknown(
    obj: Mapping[str, Any], allowed: Sequence[str], where: str, subscription: int | None = None
) -> None:
    for key in obj:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {key!r}; allowed keys are {', '.join(allowed)}",
                subscription=subscription,
                field=f"{where}.{key}" if where != "config" else str(key),
            )


def _text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"{where}.{key} must be a string, got {type(value).__name__}", field=f"{where}.{key}"
        )
    return value


def _positive(obj: Mapping[str, Any], key: str, *, integer: bool) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    if ok and integer:
        ok = isinstance(value, int)
    if not ok or not math.isfinite(value):
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"settings.{key} must be {kind}, got {value!r}", field=f"settings.{key}")
    return value


def _settings(raw: Any, base_dir: Path | None) -> DestinationSettings:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError("settings must be a JSON object", field="settings")
    _unknown(raw, _SETTINGS_KEYS, "settings")
    ledger_path = _text(raw, "ledgerPath", "settings")
    if ledger_path is not None and base_dir is not None and ledger_path != ":memory:":
        ledger_path = str(base_dir / ledger_path)
    return DestinationSettings(
        datacenter=_text(raw, "datacenter", "settings"),
        api_token=_text(raw, "apiToken", "settings"),
        base_url=_text(raw, "baseUrl", "settings"),
        ledger_path=ledger_path,
        rate_limit=_positive(raw, "rateLimit", integer=False),
        max_concurrency=_positive(raw, "maxConcurrency", integer=True),
        shared_secret=_text(raw, "sharedSecret", "settings"),
    )


def _subscription(raw: Any, index: int) -> Subscription:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"subscriptions[{index}] must be a JSON object", subscription=index)
    where = f"subscriptions[{index}]"
    _unknown(raw, _SUBSCRIPTION_KEYS, where, index)
    if "action" not in raw:
        raise ConfigError(f"{where} needs an action", subscription=index, field="action")
    use_defaults = raw.get("useDefaultMappings", True)
    if not isinstance(use_defaults, bool):
        raise ConfigError(
            f"{where}.useDefaultMappings must be true or false",
            subscription=index,
            field="useDefaultMappings",
        )
    mapping = raw.get("mapping", {})
    if mapping is None:
        mapping = {}
    for key in ("action", "subscribe", "name"):
        value = raw.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}.{key} must be a string", subscription=index, field=key)
    return Subscription(
        action=raw["action"],
        subscribe=raw.get("subscribe"),
        mapping=mapping,
        use_default_mappings=use_defaults,
        name=raw.get("name"),
    )


def _load(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[Any, Path | None]:
    if isinstance(source, Mapping):
        return source, None
    if not isinstance(source, str | os.PathLike):
        raise ConfigError(
            f"a configuration is a file path or a dict, got {type(source).__name__}", field=""
        )
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration {path}: {exc.strerror}") from None
    try:
        return json.loads(text), path.parent
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def read_config(
    source: str | os.PathLike[str] | Mapping[str, Any],
) -> tuple[DestinationSettings, list[Subscription]]:
    """Read a destination configuration (see ``QualtricsDestination.from_config``).

    Only the structure is checked here; the subscriptions are validated by
    :func:`compile_routes`. A relative ``ledgerPath`` in a file is relative to the file's
    directory.

    Raises:
        ConfigError: unreadable file, invalid JSON, unknown keys or wrongly typed values.
    """
    raw, base_dir = _load(source)
    if not isinstance(raw, Mapping):
        raise ConfigError("a configuration must be a JSON object", field="")
    _unknown(raw, _TOP_KEYS, "config")
    subscriptions = raw.get("subscriptions")
    if not isinstance(subscriptions, list) or not subscriptions:
        raise ConfigError(
            "subscriptions must be a non-empty JSON array of subscriptions", field="subscriptions"
        )
    settings = _settings(raw.get("settings"), base_dir)
    return settings, [_subscription(item, index) for index, item in enumerate(subscriptions)]
