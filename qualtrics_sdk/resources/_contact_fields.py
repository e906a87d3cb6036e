"""The contact fields shared by directory and mailing-list contact writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .._convert import unstructure
from .._embedded import validate_flat_map
from .._errors import ValidationError

__all__ = ["check_text", "contact_body"]


@attrs.frozen(kw_only=True)
class _ContactWrite:
    """Body of a contact create / update; ``None`` fields are omitted on the wire.

    ``private_embedded_data`` exists only on mailing-list contacts (Qualtrics'
    ``CreateMailingListContactRequest``); directory contacts never set it.
    """

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    ext_ref: str | None = None
    language: str | None = None
    unsubscribed: bool | None = None
    embedded_data: dict[str, Any] | None = None
    private_embedded_data: dict[str, Any] | None = None


def check_text(field: str, value: object) -> None:
    """Refuse a non-string contact field (``None`` passes).

    Raises:
        ValidationError: naming the field and the fix.
    """
    if value is not None and not isinstance(value, str):
        raise ValidationError(
            f"{field} must be a string, got {type(value).__name__} (convert it with str(); a "
            "phone number as an int would lose its leading '+' or zeros)",
            field=field,
        )


def contact_body(
    *,
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    phone: str | None,
    ext_ref: str | None,
    language: str | None,
    unsubscribed: bool | None,
    embedded_data: Mapping[str, Any] | None,
    json_encode_nested: bool,
    private_embedded_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate contact fields and render the camelCase wire body of the ones given.

    Raises:
        ValidationError: for a non-string text field, a non-bool ``unsubscribed`` or bad embedded
            data (the message names the key).
    """
    texts = {
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "phone": phone,
        "ext_ref": ext_ref,
        "language": language,
    }
    for field, value in texts.items():
        check_text(field, value)
    if unsubscribed is not None and not isinstance(unsubscribed, bool):
        raise ValidationError(
            f"unsubscribed must be True or False, got {unsubscribed!r}", field="unsubscribed"
        )
    embedded = validate_flat_map(
        "embedded_data", embedded_data, json_encode_nested=json_encode_nested
    )
    private = validate_flat_map(
        "private_embedded_data", private_embedded_data, json_encode_nested=json_encode_nested
    )
    body = _ContactWrite(
        first_name=first_name,
        last_name=last_name,
        email=email,
        phone=phone,
        ext_ref=ext_ref,
        language=language,
        unsubscribed=unsubscribed,
        embedded_data=dict(embedded) if embedded is not None else None,
        private_embedded_data=dict(private) if private is not None else None,
    )
    rendered: dict[str, Any] = unstructure(body)
    return rendered
