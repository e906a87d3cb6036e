"""``QualtricsClient``: configuration, resources and lifecycle."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

import aiohttp
from yarl import URL

from ._auth import Auth, resolve_auth
from ._errors import ConfigurationError
from ._hosts import datacenter_origin, normalize_datacenter, parse_base_url
from ._retry import RetryBudget, RetryPolicy
from ._transport import APIResponse, Hook, Transport
from ._version import __version__
from .models._base import parse_result
from .models.common import WhoAmI
from .resources.contacts import ContactsResource
from .resources.directories import DirectoriesResource
from .resources.imports import ImportsResource
from .resources.mailing_lists import MailingListsResource
from .resources.transaction_batches import TransactionBatchesResource
from .resources.transactions import TransactionsResource
from .resources.workflows import WorkflowsResource

__all__ = ["QualtricsClient"]

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_CONCURRENCY = 64
_DEFAULT_BUDGET: Any = object()


def _user_agent() -> str:
    return (
        f"qualtrics-sdk-python/{__version__} aiohttp/{aiohttp.__version__} "
        f"python/{platform.python_version()}"
    )


def resolve_origin(datacenter: str | None, base_url: str | None, env: Mapping[str, str]) -> URL:
    """Where requests go: ``base_url`` if given, else ``https://{datacenter}.qualtrics.com``.

    ``datacenter`` falls back to ``QUALTRICS_DATACENTER``; ``""`` counts as not given.

    Raises:
        InvalidDatacenterError: for a datacenter that is not ``dc`` or ``org.dc``.
        ConfigurationError: when both ``datacenter`` and ``base_url`` are passed, or neither (nor
            the environment variable) is available.
    """
    if datacenter and base_url:
        normalize_datacenter(datacenter)
        raise ConfigurationError(
            "pass either datacenter= (requests go to https://<datacenter>.qualtrics.com) or "
            "base_url= (an explicit host, e.g. a proxy or the fake server), not both"
        )
    if base_url:
        return parse_base_url(base_url)
    chosen = datacenter or env.get("QUALTRICS_DATACENTER") or None
    if chosen:
        return datacenter_origin(chosen)
    raise ConfigurationError(
        "no Qualtrics host configured: pass datacenter= (e.g. 'iad1' or 'myorg.iad1'), set the "
        "QUALTRICS_DATACENTER environment variable, or pass base_url="
    )


class QualtricsClient:
    """Async client for the Qualtrics v3 API.

    Use it as an async context manager (or call :meth:`close`)::

        async with QualtricsClient(api_token="...", datacenter="iad1") as client:
            me = await client.whoami()
            async for directory in client.directories.list():
                print(directory.id, directory.name)

    Args:
        api_token: API token (falls back to ``QUALTRICS_API_TOKEN``); shorthand for
            ``auth=ApiToken(token)``.
        datacenter: Datacenter id (``iad1``) or organization prefix (``myorg.iad1``); falls back to
            ``QUALTRICS_DATACENTER``. Validated strictly so it can only ever name a
            ``*.qualtrics.com`` host.
        base_url: Explicit origin instead of a datacenter (proxies, tests, the fake server), e.g.
            ``http://127.0.0.1:8765``; ``/API/v3`` is appended. Credentials are sent there.
        auth: ``ApiToken`` or ``OAuthClientCredentials`` (or your own ``Auth``).
        timeout: Seconds per attempt (default 30).
        max_retries: Retries per call (default 3); see ``RetryPolicy`` for what is retried.
        rate_limit: Requests per second, paced on the client (``None``: off). Qualtrics documents
            3,000 requests per minute per brand, i.e. ``rate_limit=50``.
        max_concurrency: Requests in flight at once (default 64; ``None``: no cap).
        session: Your own ``aiohttp.ClientSession``; the client uses it and never closes it.
        user_agent: ``User-Agent`` header (a descriptive default names this SDK).
        follow_proxy_notice: When Qualtrics answers "Request proxied ... use this host instead: X"
            and X is a ``*.qualtrics.com`` host, switch to X for later requests (off by default).
        retry_policy: Full retry configuration (overrides ``max_retries``).
        retry_budget: Shared retry budget against retry storms; ``None`` disables it.
        on_request: Hooks called with a ``RequestEvent`` before each attempt (sync or async).
        on_response: Hooks called with a ``ResponseEvent`` after each attempt.
        trace_configs: aiohttp trace configs for the session the client creates.

    Raises:
        ConfigurationError: missing or conflicting configuration (the message says what to pass).
        InvalidDatacenterError: a datacenter that could move requests to another host.
    """

    def __init__(
        self,
        *,
        api_token: str | None = None,
        datacenter: str | None = None,
        base_url: str | None = None,
        auth: Auth | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        rate_limit: float | None = None,
        max_concurrency: int | None = DEFAULT_MAX_CONCURRENCY,
        session: aiohttp.ClientSession | None = None,
        user_agent: str | None = None,
        follow_proxy_notice: bool = False,
        retry_policy: RetryPolicy | None = None,
        retry_budget: RetryBudget | None = _DEFAULT_BUDGET,
        on_request: Sequence[Hook] = (),
        on_response: Sequence[Hook] = (),
        trace_configs: Sequence[aiohttp.TraceConfig] = (),
    ) -> None:
        origin = resolve_origin(datacenter, base_url, os.environ)
        credentials = resolve_auth(api_token, auth, os.environ)
        self._transport = Transport(
            origin=origin,
            auth=credentials,
            timeout=timeout,
            retry_policy=retry_policy or RetryPolicy(max_retries=max_retries),
            retry_budget=RetryBudget() if retry_budget is _DEFAULT_BUDGET else retry_budget,
            rate_limit=rate_limit,
            max_concurrency=max_concurrency,
            session=session,
            user_agent=user_agent or _user_agent(),
            follow_proxy_notice=follow_proxy_notice,
            on_request=on_request,
            on_response=on_response,
            trace_configs=trace_configs,
        )
        self.directories = DirectoriesResource(self)
        self.contacts = ContactsResource(self)
        self.mailing_lists = MailingListsResource(self)
        self.transactions = TransactionsResource(self)
        self.transaction_batches = TransactionBatchesResource(self)
        self.imports = ImportsResource(self)
        self.workflows = WorkflowsResource(self)

    @property
    def base_url(self) -> str:
        """The origin requests go to, without a trailing slash, e.g. ``https://iad1.qualtrics.com``
        or ``http://127.0.0.1:8765``."""
        return str(self._transport.origin).rstrip("/")

    @property
    def timeout(self) -> float:
        """Seconds allowed per attempt."""
        return self._transport.timeout

    @property
    def auth(self) -> Auth:
        """The credential in use (its ``repr`` never shows the secret)."""
        return self._transport.auth

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The underlying aiohttp session, once the first request created it."""
        return self._transport.session

    async def whoami(self) -> WhoAmI:
        """Return the user behind the credentials (``GET /whoami``).

        Raises:
            AuthenticationError: when the credentials are not valid.
            APIError: for any other failure.
        """
        return parse_result(await self._transport.request("GET", "/whoami"), WhoAmI)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Call any v3 endpoint and return the decoded ``result`` (escape hatch).

        Args:
            method: HTTP method.
            path: Path under ``/API/v3``, e.g. ``/directories/POOL_1/contacts``; ids must already be
                percent-encoded.
            params: Query parameters.
            json: JSON body.
            idempotent: Whether a retry after a possible send is harmless (default: by method).

        Raises:
            APIError: (typed subclasses) on failure, as for every other call.
        """
        return (
            await self.raw_request(method, path, params=params, json=json, idempotent=idempotent)
        ).result

    async def raw_request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> APIResponse:
        """Like :meth:`request`, but return the whole :class:`APIResponse` (body, info, URL)."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        return await self._transport.request(
            method, path, params=params, json=json, idempotent=idempotent
        )

    async def close(self) -> None:
        """Close the HTTP session (unless it was passed in). Safe to call twice."""
        await self._transport.close()

    async def __aenter__(self) -> QualtricsClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"QualtricsClient(base_url={self.base_url!r}, auth={self.auth!r})"

    def __reduce__(self) -> NoReturn:
        raise TypeError(
            "QualtricsClient holds credentials and an open session; it cannot be pickled"
        )
