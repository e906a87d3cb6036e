"""``client.workflows``: start workflows through JSON-event triggers, and manage workflows.

A JSON-event trigger URL carries its own routing (and, for ``urlTokenId`` URLs, a bearer-like
token), so the SDK takes it verbatim and never builds one. Because the call may carry the API token,
the URL is checked before anything is sent: ``https`` on a ``*.qualtrics.com`` host (or the
client's own ``base_url`` origin) unless the caller explicitly allows another host.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from .._errors import ConfigurationError, ResponseValidationError, ValidationError
from .._hosts import check_trigger_url
from .._pagination import AsyncPaginator
from .._redact import register_secret
from ..models._base import parse_result
from ..models.workflows import TriggerAuth, TriggerResult, Workflow
from ._base import Resource, id_segment
from ._list_params import check_page_size

__all__ = ["MAX_TRIGGER_PAYLOAD_BYTES", "WorkflowsResource"]

#: Qualtrics rejects JSON-event payloads over "100 KB"; the SDK reads that as 100,000 bytes of
#: UTF-8 JSON (the stricter reading), measured exactly as sent.
MAX_TRIGGER_PAYLOAD_BYTES = 100_000

_AUTH_MODES = ("token", "basic", "none")


def _encode_payload(payload: object) -> tuple[dict[str, Any], int]:
    """Check that ``payload`` is a JSON object within Qualtrics' limit; return it and its size."""
    if not isinstance(payload, Mapping):
        raise ValidationError(
            f"payload must be a JSON object (a mapping), got {type(payload).__name__}",
            field="payload",
        )
    body = dict(payload)
    try:
        encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(
            f"payload is not JSON-serializable: {exc} (convert dates, decimals and other "
            "objects to strings or numbers first)",
            field="payload",
        ) from None
    size = len(encoded.encode("utf-8"))
    if size > MAX_TRIGGER_PAYLOAD_BYTES:
        raise ValidationError(
            f"payload is {size:,} bytes as JSON; Qualtrics rejects JSON events over 100 KB "
            f"(the SDK allows {MAX_TRIGGER_PAYLOAD_BYTES:,} bytes): send fewer fields",
            field="payload",
        )
    return body, size


def _check_username(username: object) -> str:
    if not isinstance(username, str) or not username:
        raise ValidationError(
            'auth="basic" needs username= (the Qualtrics user name the token belongs to)',
            field="username",
        )
    if ":" in username or not username.isprintable():
        raise ValidationError(
            "username must not contain ':' or control characters (HTTP basic auth)",
            field="username",
        )
    return username


class WorkflowsResource(Resource):
    """JSON-event triggers and (experimental) workflow management."""

    def _trigger_headers(self, auth: object, username: object) -> dict[str, str]:
        if auth not in _AUTH_MODES:
            raise ValidationError(
                f"auth must be 'token', 'basic' or 'none', got {auth!r}", field="auth"
            )
        if username is not None and auth != "basic":
            raise ValidationError(
                f'username= is only used with auth="basic" (got auth={auth!r})', field="username"
            )
        if auth == "none":
            return {}
        credential = self._transport.auth
        token = credential.api_token() if credential.accepted_by_json_events else None
        if not token:
            raise ConfigurationError(
                f"auth={auth!r} needs an API token, but this client authenticates with "
                f"{type(credential).__name__}; Qualtrics refuses OAuth and other credentials on "
                "JSON events. Use a client created with api_token=..., or auth='none' if the "
                "trigger's authentication is switched off"
            )
        if auth == "token":
            return {"X-API-TOKEN": token}
        name = _check_username(username)
        basic = base64.b64encode(f"{name}:{token}".encode()).decode("ascii")
        register_secret(basic)
        return {"Authorization": f"Basic {basic}"}

    async def trigger_event(
        self,
        url: str,
        payload: Mapping[str, Any],
        *,
        auth: TriggerAuth = "token",
        username: str | None = None,
        allow_foreign_host: bool = False,
        timeout: float | None = None,
    ) -> TriggerResult:
        """POST a JSON event to a workflow's JSON-event trigger URL.

        The URL is used verbatim, as copied from the workflow's JSON-event setup (e.g.
        ``https://iad1.qualtrics.com/inbound-event/v1/events/json/triggers?urlTokenId=...``).
        Everything is checked before anything is sent. The call goes through the client's
        transport (rate limit, hooks, logging with secrets redacted) but is never retried after it
        may have reached Qualtrics, since a replay could start the workflow twice.

        Args:
            url: The trigger URL.
            payload: The event, a JSON object (at most 100,000 bytes as compact UTF-8 JSON).
            auth: ``"token"`` sends ``X-API-TOKEN``; ``"basic"`` sends Qualtrics' modified basic
                auth, ``base64("username:token")``; ``"none"`` sends no credentials (for triggers
                whose authentication is switched off).
            username: The Qualtrics user name, required with ``auth="basic"`` only.
            allow_foreign_host: Allow a host other than ``*.qualtrics.com`` / the client's origin
                (and plain http). Credentials then go to that host: use only for a relay you trust.
            timeout: Per-request timeout override in seconds.

        Returns:
            :class:`TriggerResult` for any 2xx answer.

        Raises:
            UnsafeURLError: the URL is not https on a ``*.qualtrics.com`` host (look-alike hosts,
                user info, IP literals, other ports, control characters...).
            ConfigurationError: ``auth="token"``/``"basic"`` on a client without an API token
                (OAuth), which Qualtrics refuses for JSON events.
            ValidationError: a bad ``auth``/``username``, or a payload that is not a JSON object,
                not serializable, or over 100 KB.
            APIError: (typed subclasses) when Qualtrics answers with an error or the call fails;
                ``ambiguous=True`` when the event may have been delivered anyway.
        """
        target = check_trigger_url(
            url, client_origin=self._transport.origin, allow_foreign_host=allow_foreign_host
        )
        headers = self._trigger_headers(auth, username)
        body, _ = _encode_payload(payload)
        response = await self._transport.request(
            "POST",
            target,
            json=body,
            headers=headers,
            authenticate=False,
            idempotent=False,
            require_json=False,
            timeout=timeout,
        )
        return TriggerResult(
            status=response.info.status,
            request_id=response.info.request_id,
            body=response.body,
            response_info=response.info,
        )

    # --- management (EXPERIMENTAL) ---------------------------------------------------------------

    def list(
        self, *, project_id: str | None = None, page_size: int | None = None
    ) -> AsyncPaginator[Workflow]:
        """List workflows (``GET /workflows?projectId=...``). EXPERIMENTAL.

        UNCONFIRMED: no public Qualtrics reference or client shows this path, its query
        parameters or its paging; it assumes the usual ``result.elements`` + ``nextPage``.

        Args:
            project_id: The project (survey ``SV_...`` or other project id) whose workflows to list.
            page_size: Items per page (Qualtrics' default when ``None``).

        Raises:
            ValidationError: for a bad id or page size.
        """
        if project_id is not None:
            id_segment("project_id", project_id)
        return self._paginate(
            "/workflows",
            Workflow,
            params={"projectId": project_id, "pageSize": check_page_size(page_size)},
        )

    async def get(self, workflow_id: str) -> Workflow:
        """Get one workflow (``GET /workflows/{workflowId}``). EXPERIMENTAL (path UNCONFIRMED).

        Raises:
            ValidationError: for an id that is not a Qualtrics id.
            APIError: (typed subclasses) when the call fails.
        """
        path = f"/workflows/{id_segment('workflow_id', workflow_id)}"
        return parse_result(await self._transport.request("GET", path), Workflow)

    async def set_enabled(self, workflow_id: str, enabled: bool) -> None:
        """Switch a workflow on or off. EXPERIMENTAL (path and body UNCONFIRMED).

        Reads the workflow (``GET /workflows/{workflowId}``) and sends it back with ``enabled``
        changed (``PUT /workflows/{workflowId}``). The whole object is sent because a ``PUT``
        replaces it: a body with only ``enabled`` could erase the workflow's configuration if
        Qualtrics follows ``PUT`` semantics. Changes made by someone else between the two calls
        are overwritten.

        Raises:
            ValidationError: for a bad id or a non-bool ``enabled``.
            ResponseValidationError: when the workflow read back is not a JSON object.
            APIError: (typed subclasses) when a call fails.
        """
        if not isinstance(enabled, bool):
            raise ValidationError(
                f"enabled must be True or False, got {enabled!r}", field="enabled"
            )
        path = f"/workflows/{id_segment('workflow_id', workflow_id)}"
        current = (await self._transport.request("GET", path)).result
        if not isinstance(current, dict):
            raise ResponseValidationError(
                f"GET {path} did not return a workflow object; not sending an update",
                body=current,
                method="GET",
                url=path,
            )
        await self._transport.request("PUT", path, json={**current, "enabled": enabled})

    async def enable(self, workflow_id: str) -> None:
        """Switch a workflow on: ``set_enabled(workflow_id, True)``. EXPERIMENTAL."""
        await self.set_enabled(workflow_id, True)

    async def disable(self, workflow_id: str) -> None:
        """Switch a workflow off: ``set_enabled(workflow_id, False)``. EXPERIMENTAL."""
        await self.set_enabled(workflow_id, False)

    async def delete(self, workflow_id: str) -> None:
        """Delete a workflow (``DELETE /workflows/{workflowId}``). EXPERIMENTAL (UNCONFIRMED).

        Raises:
            ValidationError: for an id that is not a Qualtrics id.
            APIError: (typed subclasses) when the call fails.
        """
        path = f"/workflows/{id_segment('workflow_id', workflow_id)}"
        await self._transport.request("DELETE", path)
