"""Typed filters for directory contact search (``client.contacts.search``).

Build criteria from the fields of :class:`ContactFilter` and combine them with
:meth:`ContactFilter.all_of`::

    from qualtrics_sdk import ContactFilter as F

    F.email.eq("peter@example.com")
    F.all_of(F.ext_ref.eq("97980cfea0067"), F.created.gte(date(2024, 1, 1)), F.in_list("CG_1"))

Each criterion compiles to the JSON Qualtrics documents for ``POST .../contacts/search``; a single
criterion is sent bare, 2 to 5 are joined with ``{"conjunction": "and", "filters": [...]}``.
Qualtrics refuses more than 5, so :meth:`ContactFilter.all_of` raises :class:`ValidationError`
for more than 5 (or none) before anything is sent.

What is confirmed (Qualtrics' own reference text, via the OpenAPI-generated client): the
``filterType`` and ``comparison`` names; string comparisons ``eq`` / ``neq`` are not case
sensitive and values are trimmed; date values are ``"yyyy-MM-dd"`` or ``"yyyy-MM-dd hh:mm:ss"``;
the ``inList`` example uses a JSON ``true``; 2 to 5 filters per conjunction and only ``and``. Not
confirmed: the time zone Qualtrics applies to a date value (this module sends UTC, 24-hour clock),
``inList`` with ``false``, and ``embeddedData`` filters in search (not offered here; pass a raw
dict filter to experiment).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, TypeAlias

import attrs

from .._convert import format_qualtrics_datetime
from .._errors import ValidationError

__all__ = [
    "MAX_FILTER_CRITERIA",
    "ContactCriterion",
    "ContactDateCriterion",
    "ContactFieldStateCriterion",
    "ContactFilter",
    "ContactFilterGroup",
    "ContactListCriterion",
    "ContactSearchFilter",
    "ContactTextCriterion",
    "DateField",
    "StateTextField",
    "TextField",
    "compile_contact_filter",
]

#: Qualtrics: "The number of filters should be ranged from 2 to 5".
MAX_FILTER_CRITERIA = 5

TextComparison = Literal["eq", "neq"]
DateComparison = Literal["eq", "neq", "gt", "lt", "gte", "lte"]
TextFilterType = Literal["email", "firstName", "lastName", "language", "phone", "extRef"]
DateFilterType = Literal["created", "lastModified"]
StateFilterField = Literal["email", "extRef", "firstName", "lastName"]

_TEXT_TYPES = frozenset({"email", "firstName", "lastName", "language", "phone", "extRef"})
_DATE_TYPES = frozenset({"created", "lastModified"})
_STATE_FIELDS = frozenset({"email", "extRef", "firstName", "lastName"})
_TEXT_COMPARISONS = frozenset({"eq", "neq"})
_DATE_COMPARISONS = frozenset({"eq", "neq", "gt", "lt", "gte", "lte"})


def _check_choice(name: str, value: object, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise ValidationError(
            f"{name} must be one of {', '.join(sorted(allowed))}; got {value!r}", field=name
        )


@attrs.frozen
class ContactCriterion:
    """Base of one search criterion; :meth:`to_wire` gives Qualtrics' JSON for it."""

    def to_wire(self) -> dict[str, Any]:
        """The criterion as Qualtrics' filter JSON."""
        raise NotImplementedError


@attrs.frozen
class ContactTextCriterion(ContactCriterion):
    """``field eq|neq value`` on a text field (not case sensitive, per Qualtrics).

    Raises:
        ValidationError: when ``value`` is not a non-blank string (test for a missing value with
            ``is_empty()`` instead).
    """

    filter_type: TextFilterType
    comparison: TextComparison
    value: str

    def __attrs_post_init__(self) -> None:
        _check_choice("filter_type", self.filter_type, _TEXT_TYPES)
        _check_choice("comparison", self.comparison, _TEXT_COMPARISONS)
        if not isinstance(self.value, str) or not self.value.strip():
            raise ValidationError(
                f"contact filter on {self.filter_type} needs a non-blank string value, got "
                f"{self.value!r} (to match a missing value use ContactFilter.<field>.is_empty())",
                field=self.filter_type,
            )

    def to_wire(self) -> dict[str, Any]:
        return {"filterType": self.filter_type, "comparison": self.comparison, "value": self.value}


def _format_filter_date(value: object, field: str) -> str:
    if isinstance(value, dt.datetime):
        return format_qualtrics_datetime(value, field=field)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise ValidationError(
        f"contact filter on {field} needs a datetime.date or an aware datetime.datetime, got "
        f"{type(value).__name__}",
        field=field,
    )


@attrs.frozen
class ContactDateCriterion(ContactCriterion):
    """A comparison of ``created`` or ``lastModified`` with a date or an aware datetime.

    A ``date`` is sent as ``"yyyy-MM-dd"``; a ``datetime`` is converted to UTC and sent as
    ``"yyyy-MM-dd HH:MM:SS"``.

    Raises:
        ValidationError: for a naive datetime (its time zone would be a guess) or a non-date.
    """

    filter_type: DateFilterType
    comparison: DateComparison
    value: dt.date

    def __attrs_post_init__(self) -> None:
        _check_choice("filter_type", self.filter_type, _DATE_TYPES)
        _check_choice("comparison", self.comparison, _DATE_COMPARISONS)
        _format_filter_date(self.value, self.filter_type)

    def to_wire(self) -> dict[str, Any]:
        return {
            "filterType": self.filter_type,
            "comparison": self.comparison,
            "value": _format_filter_date(self.value, self.filter_type),
        }


@attrs.frozen
class ContactListCriterion(ContactCriterion):
    """Membership (``member=True``) or non-membership of a mailing list (``inList``).

    Raises:
        ValidationError: when ``mailing_list_id`` is not a non-empty string.
    """

    mailing_list_id: str
    member: bool = True

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.mailing_list_id, str) or not self.mailing_list_id.strip():
            raise ValidationError(
                f"in_list needs a mailing list id such as 'CG_...', got {self.mailing_list_id!r}",
                field="mailing_list_id",
            )
        if not isinstance(self.member, bool):
            raise ValidationError("member must be True or False", field="member")

    def to_wire(self) -> dict[str, Any]:
        return {
            "filterType": "inList",
            "comparison": self.member,
            "mailingListId": self.mailing_list_id,
        }


@attrs.frozen
class ContactFieldStateCriterion(ContactCriterion):
    """Whether a contact field is empty (``infoFieldState``)."""

    field: StateFilterField
    empty: bool

    def __attrs_post_init__(self) -> None:
        _check_choice("field", self.field, _STATE_FIELDS)
        if not isinstance(self.empty, bool):
            raise ValidationError("empty must be True or False", field="empty")

    def to_wire(self) -> dict[str, Any]:
        return {
            "filterType": "infoFieldState",
            "field": self.field,
            "comparison": "empty" if self.empty else "notEmpty",
        }


def _flatten(criteria: tuple[object, ...]) -> tuple[ContactCriterion, ...]:
    out: list[ContactCriterion] = []
    for item in criteria:
        if isinstance(item, ContactFilterGroup):
            out.extend(item.criteria)
        elif isinstance(item, ContactCriterion):
            out.append(item)
        else:
            raise ValidationError(
                "all_of takes criteria built with ContactFilter (e.g. "
                f"ContactFilter.email.eq(...)), got {type(item).__name__}",
                field="filter",
            )
    return tuple(out)


@attrs.frozen
class ContactFilterGroup:
    """Criteria that must all hold (Qualtrics' ``"conjunction": "and"``); 1 to 5 of them.

    Nested groups are flattened (``and`` is associative), then counted.

    Raises:
        ValidationError: for no criteria or more than :data:`MAX_FILTER_CRITERIA`.
    """

    criteria: tuple[ContactCriterion, ...] = attrs.field(converter=_flatten)

    def __attrs_post_init__(self) -> None:
        count = len(self.criteria)
        if count == 0:
            raise ValidationError("all_of needs at least one criterion", field="filter")
        if count > MAX_FILTER_CRITERIA:
            raise ValidationError(
                f"a contact search combines at most {MAX_FILTER_CRITERIA} criteria, got {count}; "
                "narrow it with fewer criteria and filter the rest client-side",
                field="filter",
            )

    def to_wire(self) -> dict[str, Any]:
        """One criterion bare; 2 to 5 under ``{"conjunction": "and", "filters": [...]}``."""
        if len(self.criteria) == 1:
            return self.criteria[0].to_wire()
        return {"conjunction": "and", "filters": [c.to_wire() for c in self.criteria]}


class TextField:
    """A text contact field usable in search: ``eq`` / ``neq`` (case-insensitive)."""

    def __init__(self, filter_type: TextFilterType) -> None:
        self.filter_type: TextFilterType = filter_type

    def eq(self, value: str) -> ContactTextCriterion:
        """Contacts whose field equals ``value`` (ignoring case)."""
        return ContactTextCriterion(self.filter_type, "eq", value)

    def neq(self, value: str) -> ContactTextCriterion:
        """Contacts whose field differs from ``value`` (ignoring case)."""
        return ContactTextCriterion(self.filter_type, "neq", value)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.filter_type!r})"


class StateTextField(TextField):
    """A text field that can also be tested for emptiness (``infoFieldState``)."""

    def __init__(self, filter_type: StateFilterField) -> None:
        super().__init__(filter_type)
        self.state_field: StateFilterField = filter_type

    def is_empty(self) -> ContactFieldStateCriterion:
        """Contacts with no value in this field."""
        return ContactFieldStateCriterion(self.state_field, True)

    def is_not_empty(self) -> ContactFieldStateCriterion:
        """Contacts with a value in this field."""
        return ContactFieldStateCriterion(self.state_field, False)


class DateField:
    """``created`` or ``lastModified``: compared with a ``date`` or an aware ``datetime``."""

    def __init__(self, filter_type: DateFilterType) -> None:
        self.filter_type: DateFilterType = filter_type

    def _make(self, comparison: DateComparison, value: dt.date) -> ContactDateCriterion:
        return ContactDateCriterion(self.filter_type, comparison, value)

    def eq(self, value: dt.date) -> ContactDateCriterion:
        """On ``value``."""
        return self._make("eq", value)

    def neq(self, value: dt.date) -> ContactDateCriterion:
        """Not on ``value``."""
        return self._make("neq", value)

    def gt(self, value: dt.date) -> ContactDateCriterion:
        """After ``value``."""
        return self._make("gt", value)

    def gte(self, value: dt.date) -> ContactDateCriterion:
        """On or after ``value``."""
        return self._make("gte", value)

    def lt(self, value: dt.date) -> ContactDateCriterion:
        """Before ``value``."""
        return self._make("lt", value)

    def lte(self, value: dt.date) -> ContactDateCriterion:
        """On or before ``value``."""
        return self._make("lte", value)

    def __repr__(self) -> str:
        return f"DateField({self.filter_type!r})"


class ContactFilter:
    """The contact search filter builder (a namespace; not instantiated).

    Fields:
        ``email``, ``first_name``, ``last_name``, ``ext_ref``: ``eq``, ``neq``, ``is_empty``,
        ``is_not_empty``. ``phone``, ``language``: ``eq``, ``neq``. ``created``,
        ``last_modified``: ``eq``, ``neq``, ``gt``, ``gte``, ``lt``, ``lte``.

    Example::

        F = ContactFilter
        F.all_of(F.email.eq("a@b.com"), F.last_modified.gte(date(2024, 1, 1)))
    """

    email: ClassVar[StateTextField] = StateTextField("email")
    first_name: ClassVar[StateTextField] = StateTextField("firstName")
    last_name: ClassVar[StateTextField] = StateTextField("lastName")
    ext_ref: ClassVar[StateTextField] = StateTextField("extRef")
    phone: ClassVar[TextField] = TextField("phone")
    language: ClassVar[TextField] = TextField("language")
    created: ClassVar[DateField] = DateField("created")
    last_modified: ClassVar[DateField] = DateField("lastModified")

    @staticmethod
    def in_list(mailing_list_id: str) -> ContactListCriterion:
        """Contacts that are members of the mailing list ``mailing_list_id`` (``CG_...``)."""
        return ContactListCriterion(mailing_list_id, True)

    @staticmethod
    def not_in_list(mailing_list_id: str) -> ContactListCriterion:
        """Contacts that are not members of the mailing list (sends ``comparison: false``)."""
        return ContactListCriterion(mailing_list_id, False)

    @staticmethod
    def all_of(*criteria: ContactCriterion | ContactFilterGroup) -> ContactFilterGroup:
        """Contacts matching every criterion (1 to 5 criteria).

        Raises:
            ValidationError: for no criteria or more than 5, before anything is sent.
        """
        return ContactFilterGroup(criteria)


#: What ``client.contacts.search`` accepts as its filter: a criterion, a group, or (for power
#: users) Qualtrics' raw filter JSON, i.e. the value of the body's ``"filter"`` key.
ContactSearchFilter: TypeAlias = ContactCriterion | ContactFilterGroup | Mapping[str, Any]


def compile_contact_filter(search_filter: ContactSearchFilter) -> dict[str, Any]:
    """The value of ``"filter"`` in a search body.

    A raw mapping is sent as given (Qualtrics validates it), except that a mapping wrapped in a
    ``"filter"`` key is refused, since it would be sent as ``{"filter": {"filter": ...}}``.

    Raises:
        ValidationError: for anything that is not a criterion, group or mapping.
    """
    if isinstance(search_filter, ContactFilterGroup | ContactCriterion):
        return search_filter.to_wire()
    if isinstance(search_filter, Mapping):
        if "filter" in search_filter and not (
            "filterType" in search_filter or "conjunction" in search_filter
        ):
            raise ValidationError(
                'pass the inner filter object, without the outer {"filter": ...} wrapper',
                field="filter",
            )
        return dict(search_filter)
    raise ValidationError(
        "filter must be built with ContactFilter (e.g. ContactFilter.email.eq('a@b.com')) or be "
        f"a dict of Qualtrics filter JSON, got {type(search_filter).__name__}",
        field="filter",
    )
