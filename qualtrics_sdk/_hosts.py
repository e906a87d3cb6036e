"""Where requests may go: datacenter validation, API roots and URL safety checks.

The token travels with every request, so every rule here exists to make sure no value from
configuration, from a mapping or from a server response can move it to a host that is not
Qualtrics' (or the explicit ``base_url`` the user chose).
"""

from __future__ import annotations

import re

from yarl import URL

from ._errors import ConfigurationError, InvalidDatacenterError, UnsafeURLError

API_PATH = "/API/v3"
QUALTRICS_DOMAIN = "qualtrics.com"

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DATACENTER = re.compile(rf"{_LABEL}(?:\.{_LABEL})?")
_HOST_LABEL = re.compile(_LABEL)


def normalize_datacenter(value: str) -> str:
    """Validate a datacenter id (``iad1``) or organization prefix (``myorg.iad1``), lower-cased.

    Raises:
        InvalidDatacenterError: for anything else (slashes, ports, userinfo, spaces, other
            domains, empty labels...), so that the value can never move requests to another host.
    """
    lowered = value.lower()
    if not _DATACENTER.fullmatch(lowered):
        raise InvalidDatacenterError(
            f"invalid datacenter {value!r}: expected a datacenter id such as 'iad1' or an "
            "organization host prefix such as 'myorg.iad1' (letters, digits and hyphens only); "
            "to call another host on purpose, pass base_url= instead"
        )
    return lowered


def datacenter_origin(datacenter: str) -> URL:
    """Return ``https://{datacenter}.qualtrics.com`` for a validated datacenter."""
    return URL.build(scheme="https", host=f"{normalize_datacenter(datacenter)}.{QUALTRICS_DOMAIN}")


def parse_base_url(base_url: str) -> URL:
    """Parse an explicit ``base_url`` override into an origin (scheme, host, port, optional prefix).

    A trailing ``/API/v3`` is accepted and removed, since the SDK appends it.

    Raises:
        ConfigurationError: when the URL is not absolute http(s), carries userinfo, a query or a
            fragment.
    """
    url = URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url must be an absolute http(s) URL such as 'http://127.0.0.1:8765', "
            f"got {base_url!r}"
        )
    if url.user is not None or url.password is not None:
        raise ConfigurationError("base_url must not contain a user name or password")
    if url.query_string or url.fragment:
        raise ConfigurationError("base_url must not contain a query string or fragment")
    path = url.path.rstrip("/")
    if path.endswith(API_PATH):
        path = path[: -len(API_PATH)]
    return url.with_path(path or "/")


def is_qualtrics_host(host: str | None) -> bool:
    """True for a syntactically valid ``*.qualtrics.com`` host name (never an IP literal)."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    suffix = "." + QUALTRICS_DOMAIN
    if not host.endswith(suffix):
        return False
    labels = host[: -len(suffix)].split(".")
    return all(_HOST_LABEL.fullmatch(label) for label in labels)


def same_origin(a: URL, b: URL) -> bool:
    """True when two URLs share scheme, host and port."""
    return (a.scheme, (a.host or "").lower(), a.port) == (b.scheme, (b.host or "").lower(), b.port)


_AUTHORITY_END = re.compile(r"[/?#]")


def _printable_ascii(text: str) -> bool:
    return all("!" <= ch <= "~" for ch in text)


def check_trigger_url(url: object, *, client_origin: URL, allow_foreign_host: bool) -> URL:
    """Validate a JSON-event trigger URL before any credential is attached; return it verbatim.

    Accepted: ``https`` on a ``*.qualtrics.com`` host (port 443), or the client's own explicit
    origin (tests and proxies). Everything else needs ``allow_foreign_host=True``. Refused even
    then: whitespace, control and non-ASCII characters (URL parsers silently drop or re-map them,
    e.g. a full-width letter becoming a different host), backslashes, any ``@`` in the authority
    (even an empty user info), schemes other than http(s), and URLs that two parsers read as
    different hosts. The returned URL is the caller's exact bytes (no re-encoding).

    Raises:
        UnsafeURLError: describing why the URL was refused; it never echoes the URL's query,
            which may hold the trigger's token.
    """
    if not isinstance(url, str):
        raise UnsafeURLError(f"workflow URL must be a string, got {type(url).__name__}")
    if not _printable_ascii(url):
        raise UnsafeURLError(
            "workflow URL contains whitespace, control or non-ASCII characters; paste it exactly "
            "as Qualtrics shows it (percent-encode anything else)"
        )
    if "\\" in url:
        raise UnsafeURLError("workflow URL must not contain backslashes")
    _, separator, rest = url.partition("://")
    if separator and "@" in _AUTHORITY_END.split(rest, maxsplit=1)[0]:
        raise UnsafeURLError("workflow URL must not contain a user name or password ('@')")
    try:
        parsed = URL(url)
        verbatim = URL(url, encoded=True)
    except (TypeError, ValueError) as exc:
        raise UnsafeURLError(f"workflow URL is not a valid URL: {exc}") from None
    if not parsed.is_absolute() or not parsed.host:
        raise UnsafeURLError("workflow URL must be absolute (https://<dc>.qualtrics.com/...)")
    if parsed.scheme not in ("http", "https"):
        raise UnsafeURLError(f"workflow URL must use https, got {parsed.scheme!r}")
    if not same_origin(verbatim, parsed):
        raise UnsafeURLError("workflow URL is ambiguous: it parses to two different hosts")
    if allow_foreign_host or same_origin(parsed, client_origin):
        return verbatim
    if parsed.scheme != "https":
        raise UnsafeURLError(
            f"workflow URL must use https, got {parsed.scheme!r}; pass allow_foreign_host=True "
            "only if you trust that endpoint with your token"
        )
    if parsed.explicit_port and parsed.port != 443:
        raise UnsafeURLError("workflow URL must not name a port other than 443")
    if not is_qualtrics_host(parsed.host):
        raise UnsafeURLError(
            f"workflow URL host {parsed.host!r} is not a *.qualtrics.com host; the API token is "
            "only sent to Qualtrics (pass allow_foreign_host=True to override)"
        )
    return verbatim


def proxy_notice_host(notice: str) -> str | None:
    """Extract the host from Qualtrics' "Request proxied ... use this host instead: X" notice.

    Returns the host only if it is a valid ``*.qualtrics.com`` host, else ``None``.
    """
    match = re.search(r"use this host instead:\s*([A-Za-z0-9.-]+?)\.?\s*$", notice)
    if match and is_qualtrics_host(match.group(1)):
        return match.group(1).lower()
    return None
