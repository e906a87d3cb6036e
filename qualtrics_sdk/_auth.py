"""Credentials: an API token, or OAuth 2.0 client credentials with a cached, refreshed token.

Credentials hide their secrets: ``repr`` masks them, pickling is refused, and their values are
registered with the log redactor.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn, Protocol

from ._errors import ConfigurationError
from ._redact import REDACTED, register_secret

__all__ = ["ApiToken", "Auth", "OAuthClientCredentials", "OAuthToken", "TokenFetcher"]


class OAuthToken(Protocol):
    """What a token endpoint returned."""

    access_token: str
    expires_in: float


class TokenFetcher(Protocol):
    """The transport's side of the OAuth exchange."""

    async def fetch_oauth_token(
        self, client_id: str, client_secret: str, scope: str | None
    ) -> tuple[str, float]:
        """POST the client-credentials grant; return ``(access_token, expires_in_seconds)``."""
        ...


class Auth(abc.ABC):
    """How requests are authenticated. Subclass it to plug in another scheme."""

    #: Whether Qualtrics' JSON-event triggers accept this credential (they refuse OAuth).
    accepted_by_json_events: bool = False

    @abc.abstractmethod
    async def headers(self, fetcher: TokenFetcher) -> Mapping[str, str]:
        """Return the headers that authenticate one request."""

    def cached_headers(self) -> Mapping[str, str] | None:
        """Headers usable right now without I/O, or ``None`` to call :meth:`headers`.

        A fast path: the transport calls this on every request and awaits :meth:`headers` only
        when it returns ``None``.
        """
        return None

    def invalidate(self, used: Mapping[str, str]) -> bool:
        """Called after a 401 for a request sent with ``used`` headers.

        Returns ``True`` when asking :meth:`headers` again may succeed (a refreshed token), so the
        transport replays the request once.
        """
        return False

    def api_token(self) -> str | None:
        """The plain API token for JSON-event triggers, if this credential has one."""
        return None

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} holds a secret and cannot be pickled")


class ApiToken(Auth):
    """Authenticate with a Qualtrics API token, sent as the ``X-API-TOKEN`` header."""

    accepted_by_json_events = True
    __slots__ = ("_headers", "_token")

    def __init__(self, token: str) -> None:
        if not isinstance(token, str) or not token.strip():
            raise ConfigurationError(
                "api_token must be a non-empty string (Account Settings > Qualtrics IDs)"
            )
        if any(c in token for c in "\r\n"):
            raise ConfigurationError("api_token must not contain line breaks")
        self._token = token
        self._headers = {"X-API-TOKEN": token}
        register_secret(token)

    async def headers(self, fetcher: TokenFetcher) -> Mapping[str, str]:
        return self._headers

    def cached_headers(self) -> Mapping[str, str]:
        return self._headers

    def api_token(self) -> str:
        return self._token

    def __repr__(self) -> str:
        return f"ApiToken({REDACTED})"


class OAuthClientCredentials(Auth):
    """OAuth 2.0 client-credentials grant against ``{host}/oauth2/token``.

    The access token is cached until ``refresh_margin`` seconds before ``expires_in`` runs out;
    concurrent requests share one refresh. After a 401 the token is dropped and the request is
    replayed once with a fresh one. Several scopes are joined with spaces (the OAuth 2.0 standard;
    Qualtrics' own separator is not published).
    """

    __slots__ = (
        "_cached",
        "_client_secret",
        "_clock",
        "_lock",
        "client_id",
        "refresh_margin",
        "scopes",
    )

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        scopes: Iterable[str] = ("manage:all",),
        *,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id or not isinstance(client_id, str):
            raise ConfigurationError("client_id must be a non-empty string")
        if not client_secret or not isinstance(client_secret, str):
            raise ConfigurationError("client_secret must be a non-empty string")
        if isinstance(scopes, str):
            scopes = scopes.split()
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = tuple(scopes)
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._cached: tuple[str, float] | None = None
        self._lock: asyncio.Lock | None = None
        register_secret(client_secret)

    def _valid_token(self) -> str | None:
        if self._cached is None:
            return None
        token, expires_at = self._cached
        return token if self._clock() < expires_at else None

    async def headers(self, fetcher: TokenFetcher) -> Mapping[str, str]:
        token = self._valid_token()
        if token is None:
            token = await self._refresh(fetcher)
        return {"Authorization": f"Bearer {token}"}

    def cached_headers(self) -> Mapping[str, str] | None:
        token = self._valid_token()
        return None if token is None else {"Authorization": f"Bearer {token}"}

    async def _refresh(self, fetcher: TokenFetcher) -> str:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            token = self._valid_token()
            if token is not None:  # another task refreshed while we waited
                return token
            scope = " ".join(self.scopes) or None
            token, expires_in = await fetcher.fetch_oauth_token(
                self.client_id, self._client_secret, scope
            )
            register_secret(token)
            lifetime = max(float(expires_in) - self.refresh_margin, 0.0)
            self._cached = (token, self._clock() + lifetime)
            return token

    def invalidate(self, used: Mapping[str, str]) -> bool:
        if self._cached is not None and used.get("Authorization") == f"Bearer {self._cached[0]}":
            self._cached = None
        return True

    def __repr__(self) -> str:
        return f"OAuthClientCredentials(client_id={self.client_id!r}, client_secret={REDACTED})"


def resolve_auth(api_token: str | None, auth: Auth | None, env: Mapping[str, Any]) -> Auth:
    """Pick the credential from ``auth=``, ``api_token=`` or ``QUALTRICS_API_TOKEN``.

    Raises:
        ConfigurationError: when both or none are given.
    """
    if auth is not None and api_token:
        raise ConfigurationError("pass either api_token= or auth=, not both")
    if auth is not None:
        if not isinstance(auth, Auth):
            raise ConfigurationError(
                "auth must be an ApiToken, OAuthClientCredentials or another Auth subclass"
            )
        return auth
    token = api_token or env.get("QUALTRICS_API_TOKEN")
    if not token:
        raise ConfigurationError(
            "no credentials: pass api_token=, auth=, or set the QUALTRICS_API_TOKEN environment "
            "variable"
        )
    return ApiToken(str(token))
