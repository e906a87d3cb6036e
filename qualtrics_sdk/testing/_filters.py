"""Search filter semantics of ``POST /directories/{d}/contacts/search``.

A filter is one criterion or ``{"conjunction": "and", "filters": [2..5 criteria]}``. String
comparisons (``eq`` / ``neq``) are case-insensitive on trimmed values; ``neq`` also matches a
contact without the field. ``created`` / ``lastModified`` take ``yyyy-MM-dd`` (compared by UTC
day) or ``yyyy-MM-dd HH:mm:ss`` (compared to the second). ``inList`` tests mailing-list membership,
``infoFieldState`` whether a field is empty. ``embeddedData`` (in Qualtrics' enum, UNCONFIRMED for
search) compares one embedded-data field with ``eq`` / ``neq`` / ``empty`` / ``notEmpty``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from ._records import ContactRecord
from ._wire import bad_request

Predicate = Callable[[ContactRecord], bool]
MembershipTest = Callable[[str, str], bool]

STRING_FIELDS: Final[Mapping[str, str]] = {
    "email": "email",
    "firstName": "first_name",
    "lastName": "last_name",
    "language": "language",
    "phone": "phone",
    "extRef": "ext_ref",
}
DATE_FIELDS: Final[Mapping[str, str]] = {
    "created": "creation_date_ms",
    "lastModified": "last_modified_ms",
}
INFO_FIELDS: Final[Mapping[str, str]] = {
    "email": "email",
    "extRef": "ext_ref",
    "firstName": "first_name",
    "lastName": "last_name",
}
INDEXED_FIELDS: Final = frozenset({"email", "extRef", "phone"})
FILTER_TYPES: Final = (
    *STRING_FIELDS,
    *DATE_FIELDS,
    "inList",
    "infoFieldState",
    "embeddedData",
)
_NUMERIC_COMPARISONS: Final = frozenset({"eq", "neq", "gt", "lt", "gte", "lte"})
_KNOWN_KEYS: Final = frozenset({"filterType", "comparison", "value", "field", "mailingListId"})
MIN_FILTERS: Final = 2
MAX_FILTERS: Final = 5


def normalize(value: str) -> str:
    """The form values are compared in: trimmed and case-folded."""
    return value.strip().casefold()


@attrs.frozen
class CompiledFilter:
    """A compiled search filter.

    ``lookups`` lists ``(filterType, normalized value)`` pairs of ``eq`` criteria on indexed fields
    that every match must satisfy, so the caller can start from an index instead of a scan.
    """

    predicate: Predicate
    lookups: tuple[tuple[str, str], ...]


def compile_filter(body: Any, in_list: MembershipTest) -> CompiledFilter:
    """Validate a search request body and compile its filter.

    Args:
        body: The parsed JSON body, ``{"filter": ...}``.
        in_list: ``in_list(contact_id, mailing_list_id)`` tells whether a contact is a member.

    Raises:
        ApiError: 400 describing the first problem found.
    """
    if not isinstance(body, dict) or not isinstance(body.get("filter"), dict):
        raise bad_request('The request body must be a JSON object with a "filter" object.')
    unexpected = sorted(set(body) - {"filter"})
    if unexpected:
        raise bad_request(f"Unexpected json key provided: {unexpected[0]}")
    spec: dict[str, Any] = body["filter"]
    if "conjunction" in spec or "filters" in spec:
        return _compile_conjunction(spec, in_list)
    predicate, lookup = _compile_criterion(spec, in_list)
    return CompiledFilter(predicate, (lookup,) if lookup else ())


def _compile_conjunction(spec: dict[str, Any], in_list: MembershipTest) -> CompiledFilter:
    conjunction = spec.get("conjunction")
    if not isinstance(conjunction, str) or conjunction.strip() != "and":
        raise bad_request(f"Invalid conjunction {conjunction!r}; only 'and' is supported.")
    filters = spec.get("filters")
    if not isinstance(filters, list):
        raise bad_request('A conjunction needs a "filters" array.')
    if not MIN_FILTERS <= len(filters) <= MAX_FILTERS:
        raise bad_request("The number of filters should be ranged from 2 to 5.")
    predicates: list[Predicate] = []
    lookups: list[tuple[str, str]] = []
    for item in filters:
        if not isinstance(item, dict) or "conjunction" in item:
            raise bad_request("Each entry of filters must be a single filter criterion.")
        predicate, lookup = _compile_criterion(item, in_list)
        predicates.append(predicate)
        if lookup:
            lookups.append(lookup)

    def all_match(contact: ContactRecord) -> bool:
        return all(predicate(contact) for predicate in predicates)

    return CompiledFilter(all_match, tuple(lookups))


def _compile_criterion(
    spec: dict[str, Any], in_list: MembershipTest
) -> tuple[Predicate, tuple[str, str] | None]:
    unexpected = sorted(set(spec) - _KNOWN_KEYS)
    if unexpected:
        raise bad_request(f"Unexpected json key provided: {unexpected[0]}")
    filter_type = spec.get("filterType")
    comparison = spec.get("comparison")
    if not isinstance(filter_type, str):
        raise bad_request(
            f"Invalid filterType {filter_type!r}; expected one of {', '.join(FILTER_TYPES)}."
        )
    if filter_type in STRING_FIELDS:
        return _string_criterion(filter_type, comparison, spec)
    if filter_type in DATE_FIELDS:
        return _date_criterion(filter_type, comparison, spec), None
    if filter_type == "inList":
        return _in_list_criterion(comparison, spec, in_list), None
    if filter_type == "infoFieldState":
        return _info_field_criterion(comparison, spec), None
    if filter_type == "embeddedData":
        return _embedded_criterion(comparison, spec), None
    raise bad_request(
        f"Invalid filterType {filter_type!r}; expected one of {', '.join(FILTER_TYPES)}."
    )


def _string_value(spec: Mapping[str, Any], filter_type: str) -> str:
    value = spec.get("value")
    if not isinstance(value, str):
        raise bad_request(f'Filter {filter_type} needs a string "value".')
    return value.strip()


def _comparison_error(comparison: object, filter_type: str) -> Exception:
    return bad_request(f"Invalid comparison {comparison!r} for filterType {filter_type}.")


def _string_criterion(
    filter_type: str, comparison: object, spec: Mapping[str, Any]
) -> tuple[Predicate, tuple[str, str] | None]:
    if comparison not in ("eq", "neq"):
        raise _comparison_error(comparison, filter_type)
    wanted = normalize(_string_value(spec, filter_type))
    attribute = STRING_FIELDS[filter_type]

    def equal(contact: ContactRecord) -> bool:
        value: str | None = getattr(contact, attribute)
        return value is not None and normalize(value) == wanted

    if comparison == "eq":
        lookup = (filter_type, wanted) if filter_type in INDEXED_FIELDS else None
        return equal, lookup
    return (lambda contact: not equal(contact)), None


def _parse_filter_date(raw: str, filter_type: str) -> tuple[int, bool]:
    """Return (epoch seconds, date_only) for ``yyyy-MM-dd`` or ``yyyy-MM-dd HH:mm:ss`` (UTC)."""
    for fmt, date_only in (("%Y-%m-%d", True), ("%Y-%m-%d %H:%M:%S", False)):
        try:
            moment = dt.datetime.strptime(raw, fmt).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            continue
        return int(moment.timestamp()), date_only
    raise bad_request(
        f"Invalid date {raw!r} for filterType {filter_type}; use yyyy-MM-dd or yyyy-MM-dd HH:mm:ss."
    )


def _date_criterion(filter_type: str, comparison: object, spec: Mapping[str, Any]) -> Predicate:
    if comparison not in _NUMERIC_COMPARISONS:
        raise _comparison_error(comparison, filter_type)
    wanted, date_only = _parse_filter_date(_string_value(spec, filter_type), filter_type)
    granularity = 86400 if date_only else 1
    wanted //= granularity
    attribute = DATE_FIELDS[filter_type]
    compare = _ORDERINGS[str(comparison)]

    def matches(contact: ContactRecord) -> bool:
        ms: int = getattr(contact, attribute)
        return compare(ms // 1000 // granularity, wanted)

    return matches


_ORDERINGS: Final[Mapping[str, Callable[[int, int], bool]]] = {
    "eq": lambda a, b: a == b,
    "neq": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "gte": lambda a, b: a >= b,
    "lte": lambda a, b: a <= b,
}


def _in_list_criterion(
    comparison: object, spec: Mapping[str, Any], in_list: MembershipTest
) -> Predicate:
    if comparison in (True, "true"):
        member = True
    elif comparison in (False, "false"):
        member = False
    else:
        raise _comparison_error(comparison, "inList")
    list_id = spec.get("mailingListId")
    if not isinstance(list_id, str) or not list_id.strip():
        raise bad_request('Filter inList needs a "mailingListId".')
    list_id = list_id.strip()
    return lambda contact: in_list(contact.id, list_id) is member


def _info_field_criterion(comparison: object, spec: Mapping[str, Any]) -> Predicate:
    if comparison not in ("empty", "notEmpty"):
        raise _comparison_error(comparison, "infoFieldState")
    raw_field = spec.get("field")
    field = raw_field.strip() if isinstance(raw_field, str) else ""
    if field not in INFO_FIELDS:
        raise bad_request(
            f"Invalid field {raw_field!r} for filterType infoFieldState; expected one of "
            f"{', '.join(INFO_FIELDS)}."
        )
    attribute = INFO_FIELDS[field]
    want_empty = comparison == "empty"

    def matches(contact: ContactRecord) -> bool:
        value: str | None = getattr(contact, attribute)
        return (value is None or not value.strip()) is want_empty

    return matches


def _embedded_criterion(comparison: object, spec: Mapping[str, Any]) -> Predicate:
    field = spec.get("field")
    if not isinstance(field, str) or not field.strip():
        raise bad_request('Filter embeddedData needs a "field".')
    name = field.strip()
    if comparison in ("empty", "notEmpty"):
        want_empty = comparison == "empty"
        return lambda contact: (not contact.embedded_data.get(name, "").strip()) is want_empty
    if comparison not in ("eq", "neq"):
        raise _comparison_error(comparison, "embeddedData")
    wanted = normalize(_string_value(spec, "embeddedData"))
    is_eq = comparison == "eq"

    def matches(contact: ContactRecord) -> bool:
        value = contact.embedded_data.get(name)
        return (value is not None and normalize(value) == wanted) is is_eq

    return matches
