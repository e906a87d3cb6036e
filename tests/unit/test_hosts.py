"""Datacenter validation and URL safety: no configured or returned value can move the token."""

from __future__ import annotations

import pytest
from yarl import URL

from qualtrics_sdk import (
    ConfigurationError,
    InvalidDatacenterError,
    QualtricsClient,
    UnsafeURLError,
)
from qualtrics_sdk._hosts import check_trigger_url, is_qualtrics_host, proxy_notice_host

HOSTILE_DATACENTERS = [
    "evil.example/x?",
    "iad1.qualtrics.com.evil.example",
    "iad1/..",
    "iad1:443",
    "iad1@evil.example",
    "user:pass@iad1",
    "iad1?x=1",
    "iad1#frag",
    "iad1 ",
    " iad1",
    "ia d1",
    "iad1.",
    ".iad1",
    "a..b",
    "org.iad1.extra",
    "-iad1",
    "iad1-",
    "iad1\n",
    "iad1\x00",
    "http://iad1",
    "iad1%2f",
    "iad1\\evil",
    "ïad1",
    "a" * 64,
    "iad1;x",
]


@pytest.mark.parametrize("value", HOSTILE_DATACENTERS)
def test_hostile_datacenters_are_rejected_in_the_constructor(value: str) -> None:
    with pytest.raises(InvalidDatacenterError) as info:
        QualtricsClient(api_token="tok-abcdef", datacenter=value)
    assert isinstance(info.value, ValueError)
    assert "datacenter" in str(info.value)
    assert "tok-abcdef" not in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("iad1", "https://iad1.qualtrics.com"),
        ("IAD1", "https://iad1.qualtrics.com"),
        ("fra1", "https://fra1.qualtrics.com"),
        ("co1", "https://co1.qualtrics.com"),
        ("eu", "https://eu.qualtrics.com"),
        ("myorg.iad1", "https://myorg.iad1.qualtrics.com"),
        ("my-org.ca1", "https://my-org.ca1.qualtrics.com"),
    ],
)
def test_valid_datacenters_build_qualtrics_hosts(value: str, expected: str) -> None:
    client = QualtricsClient(api_token="tok", datacenter=value)
    assert client.base_url == expected


def test_two_label_datacenter_still_stays_under_qualtrics_com() -> None:
    # "evil.example" is syntactically an org.dc pair: it can only ever name a qualtrics.com host.
    client = QualtricsClient(api_token="tok", datacenter="evil.example")
    assert client.base_url == "https://evil.example.qualtrics.com"


def test_datacenter_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALTRICS_DATACENTER", "sjc1")
    monkeypatch.setenv("QUALTRICS_API_TOKEN", "env-token")
    client = QualtricsClient(datacenter="")
    assert client.base_url == "https://sjc1.qualtrics.com"
    assert repr(client.auth) == "ApiToken(***)"


def test_hostile_environment_datacenter_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALTRICS_DATACENTER", "evil.example/")
    with pytest.raises(InvalidDatacenterError):
        QualtricsClient(api_token="tok")


def test_no_host_is_a_clear_error_naming_every_option() -> None:
    with pytest.raises(ConfigurationError) as info:
        QualtricsClient(api_token="tok")
    message = str(info.value)
    for option in ("datacenter=", "QUALTRICS_DATACENTER", "base_url="):
        assert option in message
    assert isinstance(info.value, ValueError)


def test_datacenter_and_base_url_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="not both"):
        QualtricsClient(api_token="tok", datacenter="iad1", base_url="http://127.0.0.1:1")


def test_explicit_base_url_beats_environment_datacenter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUALTRICS_DATACENTER", "iad1")
    client = QualtricsClient(api_token="tok", base_url="http://127.0.0.1:8765/API/v3/")
    assert client.base_url == "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    "base_url",
    ["ftp://x.example", "127.0.0.1:8765", "http://user:pw@127.0.0.1", "http://h?x=1", "/relative"],
)
def test_bad_base_urls_are_rejected(base_url: str) -> None:
    with pytest.raises(ConfigurationError):
        QualtricsClient(api_token="tok", base_url=base_url)


def test_missing_token_is_a_clear_error() -> None:
    with pytest.raises(ConfigurationError, match="QUALTRICS_API_TOKEN"):
        QualtricsClient(datacenter="iad1")


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("iad1.qualtrics.com", True),
        ("myorg.iad1.qualtrics.com", True),
        ("IAD1.Qualtrics.com", True),
        ("qualtrics.com", False),
        ("evilqualtrics.com", False),
        ("qualtrics.com.evil.example", False),
        ("iad1.qualtrics.com.evil.example", False),
        ("127.0.0.1", False),
        ("", False),
        (None, False),
        ("a..qualtrics.com", False),
    ],
)
def test_is_qualtrics_host(host: str | None, expected: bool) -> None:
    assert is_qualtrics_host(host) is expected


ORIGIN = URL("http://127.0.0.1:8765/")


@pytest.mark.parametrize(
    "url",
    [
        "http://iad1.qualtrics.com/inbound-event/v1/events/json/triggers?urlTokenId=x",
        "https://qualtrics.com.evil.example/inbound-event",
        "https://evilqualtrics.com/inbound-event",
        "https://iad1.qualtrics.com@evil.example/inbound-event",
        "https://iad1.qualtrics.com.evil.example/inbound-event",
        "https://93.184.216.34/inbound-event",
        "https://[::1]/inbound-event",
        "https://iad1.qualtrics.com:8443/inbound-event",
        "/inbound-event/v1",
        "http://127.0.0.1:9999/other-port",
    ],
)
def test_trigger_urls_off_qualtrics_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURLError):
        check_trigger_url(url, client_origin=ORIGIN, allow_foreign_host=False)


def test_trigger_url_on_qualtrics_or_own_origin_is_accepted() -> None:
    good = "https://iad1.qualtrics.com/inbound-event/v1/events/json/triggers?urlTokenId=abc"
    assert str(check_trigger_url(good, client_origin=ORIGIN, allow_foreign_host=False)) == good
    own = "http://127.0.0.1:8765/inbound-event/v1/events/json/triggers?urlTokenId=abc"
    assert check_trigger_url(own, client_origin=ORIGIN, allow_foreign_host=False).port == 8765
    foreign = "https://hooks.example.com/x"
    assert check_trigger_url(foreign, client_origin=ORIGIN, allow_foreign_host=True).host == (
        "hooks.example.com"
    )


@pytest.mark.parametrize(
    ("notice", "host"),
    [
        (
            "Request proxied. For faster response times, use this host instead: sjc1.qualtrics.com",
            "sjc1.qualtrics.com",
        ),
        ("Request proxied. use this host instead: evil.example", None),
        ("Request proxied. use this host instead: sjc1.qualtrics.com.evil.example", None),
        ("Something else entirely", None),
    ],
)
def test_proxy_notice_host_only_accepts_qualtrics_hosts(notice: str, host: str | None) -> None:
    assert proxy_notice_host(notice) == host
