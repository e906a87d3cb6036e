"""Workflows: the result of a JSON-event trigger, and the (experimental) workflow object."""

from __future__ import annotations

from typing import Any, Literal

import attrs

from .._convert import wire_field
from .._transport import ResponseInfo
from ._base import Model

__all__ = ["TriggerAuth", "TriggerResult", "Workflow"]

#: How a JSON-event trigger call authenticates: ``X-API-TOKEN``, Qualtrics' modified basic auth
#: (``base64("username:token")``), or no credentials (for triggers whose authentication is off).
TriggerAuth = Literal["token", "basic", "none"]


@attrs.frozen(kw_only=True)
class TriggerResult:
    """Qualtrics accepted a JSON event (any 2xx). The workflow then runs asynchronously.

    Qualtrics returns no run id (UNCONFIRMED); the body may be ``{}``, the usual ``meta``
    envelope, or empty.

    Attributes:
        status: The HTTP status (Segment's tests expect 202).
        request_id: ``meta.requestId``, when the body carried one.
        body: The decoded JSON body, the raw text when it was not JSON, or ``None`` when empty.
        response_info: Status, request id, notice and retries of the call.
    """

    status: int
    request_id: str | None = None
    body: Any = attrs.field(default=None, repr=False)
    response_info: ResponseInfo | None = attrs.field(default=None, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class Workflow(Model):
    """A workflow (EXPERIMENTAL: Qualtrics' workflow management reference is UNCONFIRMED).

    Every field is optional and unknown keys are kept in ``extra``, since the wire shape has not
    been confirmed against the live API.

    Attributes:
        id: The workflow id (wire ``id`` or ``workflowId``).
        name: Its name (wire ``name`` or ``title``).
        description: Its description.
        enabled: Whether it is switched on.
        status: A status string, if Qualtrics sends one instead of (or besides) ``enabled``.
        type: The workflow type (for example event-based or scheduled).
        owner_id: Its owner (``UR_...``).
    """

    id: str | None = wire_field(wire="id", aliases=("workflowId",), default=None)
    name: str | None = wire_field(wire="name", aliases=("title",), default=None)
    description: str | None = None
    enabled: bool | None = None
    status: str | None = None
    type: str | None = None
    owner_id: str | None = None
