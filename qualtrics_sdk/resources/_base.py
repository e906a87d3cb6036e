"""What every resource shares: access to the transport and safe path building."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from .._convert import structure
from .._errors import ValidationError
from .._pagination import AsyncPaginator, NextPageStyle, PageRequest
from .._transport import Transport

if TYPE_CHECKING:
    from .._client import QualtricsClient

__all__ = ["Resource", "id_segment"]

T = TypeVar("T")

_FORBIDDEN_IN_ID = frozenset("/?#%\\ \t\r\n")
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+").fullmatch


def id_segment(field: str, value: object) -> str:
    """Validate a Qualtrics id used in a URL path and return it percent-encoded.

    Raises:
        ValidationError: for a non-string, empty, padded or path-like value (``/``, ``..``,
            ``?``...), which could otherwise change which endpoint is called.
    """
    if value.__class__ is str and _PLAIN_ID(value):
        return value  # the common case: nothing to check further or to encode
    if not isinstance(value, str) or not value:
        raise ValidationError(f"{field} must be a non-empty string id, got {value!r}", field=field)
    if value in (".", "..") or any(c in _FORBIDDEN_IN_ID for c in value):
        raise ValidationError(
            f"{field} {value!r} is not a Qualtrics id (ids look like 'POOL_...', 'CID_...', "
            "'CG_...'; they contain no '/', '?', '#', '%' or spaces)",
            field=field,
        )
    return quote(value, safe="")


class Resource:
    """Base class of ``client.<area>`` resources: thin request builders over the transport."""

    def __init__(self, client: QualtricsClient) -> None:
        self._client = client

    @property
    def _transport(self) -> Transport:
        return self._client._transport

    def _paginate(
        self,
        path: str,
        item_type: type[T],
        *,
        params: dict[str, Any] | None = None,
    ) -> AsyncPaginator[T]:
        """A ``nextPage``-style listing of ``item_type`` under ``path``."""
        return AsyncPaginator(
            self._transport,
            PageRequest(method="GET", target=path, params=params),
            NextPageStyle(),
            lambda raw: structure(raw, item_type),
        )
