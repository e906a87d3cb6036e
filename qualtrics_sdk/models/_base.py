"""What every response model shares: unknown wire fields, and the info of the call behind it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from .._convert import structure
from .._transport import APIResponse, ResponseInfo

__all__ = ["Model", "parse_result"]

M = TypeVar("M", bound="Model")


@attrs.frozen(kw_only=True)
class Model:
    """Base of response models.

    Attributes:
        extra: Wire fields this version of the SDK does not know, kept verbatim (camelCase keys), so
            a new Qualtrics field is never lost.
    """

    extra: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    _response_info: ResponseInfo | None = attrs.field(
        default=None, init=False, eq=False, repr=False
    )

    @property
    def response_info(self) -> ResponseInfo | None:
        """Request id, status, notice and retries of the call that returned this object.

        Set on objects returned by single-object calls (``get``, ``create``...); items yielded by a
        paginator carry ``None`` (see ``Page.info`` for theirs).
        """
        return self._response_info


def parse_result(response: APIResponse, cls: type[M]) -> M:
    """Structure ``response.result`` into ``cls`` and attach the response info.

    Raises:
        ResponseValidationError: when the result does not fit ``cls``.
    """
    model = structure(response.result, cls)
    object.__setattr__(model, "_response_info", response.info)
    return model
