"""Checks and renderings of listing/query arguments shared by the XM Directory resources."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .._errors import ValidationError

__all__ = ["check_id_list", "check_page_size", "format_since"]


def check_page_size(page_size: int | None, *, maximum: int | None = None) -> int | None:
    """Return ``page_size`` if it is ``None`` or a positive int within ``maximum``.

    Raises:
        ValidationError: for a non-int, a value below 1, or one above ``maximum`` (the message
            names the cap, so the caller can fix it before any request is sent).
    """
    if page_size is None:
        return None
    if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
        raise ValidationError(
            f"page_size must be a positive integer, got {page_size!r}", field="page_size"
        )
    if maximum is not None and page_size > maximum:
        raise ValidationError(
            f"page_size {page_size} is above Qualtrics' maximum of {maximum} for this listing; "
            f"pass page_size={maximum} or less",
            field="page_size",
        )
    return page_size


def format_since(since: dt.datetime | dt.date | None) -> str | None:
    """Render a ``since`` filter: an aware datetime as UTC ISO-8601 (``...Z``), a date as ISO.

    Raises:
        ValidationError: for a naive datetime or any other type.
    """
    if since is None:
        return None
    if isinstance(since, dt.datetime):
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValidationError(
                "since must be a timezone-aware datetime (for example "
                "datetime(2024, 5, 1, tzinfo=timezone.utc)) or a date",
                field="since",
            )
        return since.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(since, dt.date):
        return since.isoformat()
    raise ValidationError(
        f"since must be a datetime or a date, got {type(since).__name__}", field="since"
    )


def check_id_list(field: str, ids: Iterable[str]) -> list[str]:
    """Return ``ids`` as a list of non-empty strings.

    Raises:
        ValidationError: for a bare string (a common slip for a one-element list), a non-string
            or empty element.
    """
    if isinstance(ids, str | bytes):
        raise ValidationError(
            f"{field} must be a list of ids, not a single string (wrap it: [{ids!r}])",
            field=field,
        )
    out: list[str] = []
    for index, value in enumerate(ids):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(
                f"{field}[{index}] must be a non-empty string id, got {value!r}", field=field
            )
        out.append(value)
    return out
