"""Authentication of v3 calls, the OAuth token endpoint, the rate limit, and JSON-event triggers."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final, Literal

from multidict import CIMultiDict, CIMultiDictProxy

from ._http import Call, Context, RouteTable
from ._records import TriggerEventRecord
from ._wire import (
    CODE_BAD_TOKEN,
    CODE_MISSING_AUTH,
    ApiError,
    Reply,
    not_found,
)

routes = RouteTable()

TriggerAuth = Literal["required", "token", "basic", "none"]
TRIGGER_AUTH_MODES: Final = ("required", "token", "basic", "none")
TRIGGER_PATH: Final = "/inbound-event/v1/events/json/triggers"
MAX_EVENT_BYTES: Final = 100 * 1024
MISSING_AUTH_STATUS: Final = 400  # what Qualtrics answers without credentials (ATP_2)
_SECRET_HEADERS: Final = frozenset({"x-api-token", "authorization"})


def redact_headers(headers: Any) -> list[tuple[str, str]]:
    """Header pairs with the values of ``X-API-TOKEN`` and ``Authorization`` replaced by ``***``."""
    return [
        (name, "***" if name.lower() in _SECRET_HEADERS else value)
        for name, value in headers.items()
    ]


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    """Decode ``Authorization: Basic base64(user:secret)``; ``None`` if absent or not Basic."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError):
        return None
    user, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return user, secret


def _is_bearer(header: str | None) -> bool:
    return bool(header) and str(header).strip().lower().startswith("bearer")


def authenticate_api(ctx: Context, call: Call) -> None:
    """Check ``X-API-TOKEN`` or ``Authorization: Bearer`` (an unexpired OAuth token).

    Raises:
        ApiError: 401 ``DCD_7`` for an unknown token or an unknown/expired bearer token; 400
            ``ATP_2`` when no credentials are sent (what Qualtrics does).
    """
    state = ctx.state
    token = call.headers.get("X-API-TOKEN")
    if token:
        if token in state.api_tokens:
            return
        raise ApiError(401, "Unrecognized X-API-TOKEN.", code=CODE_BAD_TOKEN)
    authorization = call.headers.get("Authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and state.bearer_valid(value.strip()):
            return
        raise ApiError(401, "Invalid or expired OAuth access token.", code=CODE_BAD_TOKEN)
    raise ApiError(
        MISSING_AUTH_STATUS,
        "Expected authorization in headers, but none provided.",
        code=CODE_MISSING_AUTH,
    )


def enforce_rate_limit(ctx: Context) -> None:
    """Count one request against the brand-wide limit.

    Raises:
        ApiError: 429 with ``Retry-After`` in real seconds (fractional) when over the limit.
    """
    wait = ctx.limiter.try_acquire()
    if wait is None:
        return
    ctx.state.rate_limited += 1
    raise ApiError(
        429,
        "Too many requests. The rate limit for your brand has been exceeded; retry later.",
        headers={"Retry-After": format_seconds(wait)},
    )


def format_seconds(seconds: float) -> str:
    """``Retry-After`` text: whole seconds as ``"2"``, fractions as ``"0.25"``."""
    if seconds == int(seconds):
        return str(int(seconds))
    return f"{seconds:.3f}".rstrip("0")


# -- OAuth client credentials --------------------------------------------------------------------

_SCOPE_SPLIT: Final = re.compile(r"[\s,]+")


def _oauth_error(status: int, error: str, description: str) -> Reply:
    return Reply(status=status, raw={"error": error, "error_description": description})


@routes.add("POST", "/oauth2/token", auth="oauth")
def oauth_token(ctx: Context, call: Call) -> Reply:
    """``POST /oauth2/token``: client credentials (Basic client auth, form body).

    Answers the standard OAuth JSON (no Qualtrics envelope): ``access_token``, ``token_type``,
    ``expires_in``, ``scope``. Errors are standard OAuth errors (``invalid_client`` 401,
    ``unsupported_grant_type`` / ``invalid_scope`` / ``invalid_request`` 400).
    """
    state = ctx.state
    form = call.form or {}
    credentials = _basic_credentials(call.headers.get("Authorization"))
    if credentials is None and "client_id" in form:
        credentials = (form["client_id"], form.get("client_secret", ""))
    client = state.oauth_clients.get(credentials[0]) if credentials else None
    if credentials is None or client is None or client[0] != credentials[1]:
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    grant_type = form.get("grant_type")
    if grant_type is None:
        return _oauth_error(400, "invalid_request", "grant_type is required.")
    if grant_type != "client_credentials":
        return _oauth_error(
            400, "unsupported_grant_type", f"Grant type {grant_type!r} is not supported."
        )
    allowed = client[1]
    requested = tuple(s for s in _SCOPE_SPLIT.split(form.get("scope", "")) if s)
    if not requested:
        requested = allowed
    elif "manage:all" not in allowed and not set(requested) <= set(allowed):
        denied = sorted(set(requested) - set(allowed))
        return _oauth_error(400, "invalid_scope", f"Scopes not allowed: {' '.join(denied)}")
    lifetime = ctx.settings.oauth_token_lifetime
    token, _expires_at = state.grant(credentials[0], requested, lifetime)
    return Reply(
        raw={
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(lifetime),
            "scope": " ".join(requested),
        }
    )


# -- Workflows JSON-event triggers ---------------------------------------------------------------


def _trigger_auth(ctx: Context, call: Call, mode: str) -> tuple[str, str | None]:
    """Authenticate a trigger call per the trigger's mode; returns (how, username).

    Raises:
        ApiError: 401 for OAuth bearer tokens (never accepted) and wrong or missing credentials.
    """
    authorization = call.headers.get("Authorization")
    if _is_bearer(authorization):
        raise ApiError(
            401,
            "OAuth and other forms of authentication are incompatible with JSON events.",
            code=CODE_BAD_TOKEN,
        )
    tokens = ctx.state.api_tokens
    token = call.headers.get("X-API-TOKEN")
    basic = _basic_credentials(authorization)
    if mode == "none":
        if token and token in tokens:
            return "token", None
        if basic and basic[1] in tokens:
            return "basic", basic[0]
        return "none", None
    if token and mode in ("required", "token"):
        if token not in tokens:
            raise ApiError(401, "Unrecognized X-API-TOKEN.", code=CODE_BAD_TOKEN)
        return "token", None
    if basic and mode in ("required", "basic"):
        username, secret = basic
        if not username or secret not in tokens:
            raise ApiError(401, "Invalid username or API token.", code=CODE_BAD_TOKEN)
        return "basic", username
    expected = {
        "required": "X-API-TOKEN or Basic username:token",
        "token": "X-API-TOKEN",
        "basic": "Basic username:token",
    }[mode]
    raise ApiError(401, f"This trigger requires {expected} authentication.", code=CODE_MISSING_AUTH)


@routes.add("POST", TRIGGER_PATH, auth="trigger")
def json_event(ctx: Context, call: Call) -> Reply:
    """``POST /inbound-event/v1/events/json/triggers?urlTokenId=...``: record an event, 202.

    Payloads over 100 KB (102,400 bytes) get 413; bodies that are not JSON get 400.
    """
    state = ctx.state
    url_token_id = call.q("urlTokenId")
    mode = state.triggers.get(url_token_id or "")
    if url_token_id is None or mode is None:
        raise not_found(f"No JSON event trigger found for urlTokenId {url_token_id!r}.")
    how, username = _trigger_auth(ctx, call, mode)
    enforce_rate_limit(ctx)
    if len(call.body) > MAX_EVENT_BYTES:
        raise ApiError(413, "Payloads exceeding 100 KB are not accepted by JSON events.")
    payload = call.json()
    state.trigger_events.append(
        TriggerEventRecord(
            url_token_id=url_token_id,
            payload=payload,
            auth=how,
            username=username,
            headers=CIMultiDictProxy(CIMultiDict(redact_headers(call.headers))),
            received_at=state.clock.now(),
            request_id=call.request_id,
        )
    )
    return Reply(status=202)


def check_trigger_mode(auth: str) -> str:
    """Validate an ``add_workflow_trigger`` auth mode.

    Raises:
        ValueError: not one of ``required``, ``token``, ``basic``, ``none``.
    """
    if auth not in TRIGGER_AUTH_MODES:
        raise ValueError(f"auth must be one of {', '.join(TRIGGER_AUTH_MODES)}, got {auth!r}")
    return auth
