"""The sans-I/O envelope decoder and the typed errors it produces, from real-shaped bodies."""

from __future__ import annotations

import json
import pickle

import pytest

from qualtrics_sdk import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)
from qualtrics_sdk._envelope import decode_response, parse_retry_after


def body(obj: object) -> bytes:
    return json.dumps(obj).encode()


def error_body(http_status: str, message: str, code: str | None = "QVAL_1") -> bytes:
    error: dict[str, str] = {"errorMessage": message}
    if code is not None:
        error["errorCode"] = code
    return body({"meta": {"httpStatus": http_status, "requestId": "req-9", "error": error}})


def test_success_returns_result_and_meta() -> None:
    raw = body(
        {
            "result": {"userName": "peter"},
            "meta": {
                "httpStatus": "200 - OK",
                "requestId": "9860c302",
                "notice": "Request proxied. For faster response times, use this host instead: "
                "sjc1.qualtrics.com",
            },
        }
    )
    decoded = decode_response(200, {}, raw)
    assert decoded.result == {"userName": "peter"}
    assert decoded.meta.request_id == "9860c302"
    assert decoded.meta.notice is not None
    assert decoded.meta.notice.endswith("sjc1.qualtrics.com")


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_success_and_meta_only_replies_have_no_result(status: int) -> None:
    decoded = decode_response(status, {}, body({"meta": {"httpStatus": f"{status} - OK"}}))
    assert decoded.result is None
    assert decode_response(status, {}, b"").result is None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (418, APIStatusError),
    ],
)
def test_every_status_maps_to_its_error_class(status: int, cls: type[APIStatusError]) -> None:
    raw = error_body(f"{status} - Something", "Parameter skipToken should not be empty.", "QVAL_5")
    with pytest.raises(cls) as info:
        decode_response(status, {}, raw, method="GET", url="https://iad1.qualtrics.com/API/v3/x")
    error = info.value
    assert type(error) is cls
    assert error.status == status
    assert error.error_code == "QVAL_5"
    assert error.error_message == "Parameter skipToken should not be empty."
    assert error.request_id == "req-9"
    assert error.body["meta"]["requestId"] == "req-9"
    text = str(error)
    assert str(status) in text
    assert "Parameter skipToken should not be empty." in text
    assert "QVAL_5" in text
    assert "req-9" in text


def test_error_without_error_code_like_the_real_404() -> None:
    raw = body(
        {
            "meta": {
                "httpStatus": "404 - Not Found",
                "error": {"errorMessage": "API call does not exist: GET /API/v3/doesnotexist"},
            }
        }
    )
    with pytest.raises(NotFoundError) as info:
        decode_response(404, {}, raw)
    assert info.value.error_code is None
    assert "API call does not exist" in str(info.value)


def test_error_inside_a_2xx_envelope_is_detected() -> None:
    raw = error_body("400 - Bad Request", "Invalid filter", None)
    with pytest.raises(BadRequestError) as info:
        decode_response(200, {}, raw)
    assert info.value.status == 400


def test_non_json_error_bodies_still_give_typed_errors() -> None:
    with pytest.raises(ServerError) as info:
        decode_response(502, {}, b"<html>Bad gateway</html>")
    assert info.value.body == "<html>Bad gateway</html>"


def test_non_json_success_is_a_validation_error_unless_allowed() -> None:
    with pytest.raises(ResponseValidationError):
        decode_response(200, {}, b"<html>proxy login</html>")
    assert decode_response(202, {}, b"Accepted", require_json=False).body == "Accepted"


def test_rate_limit_error_carries_retry_after_from_header_or_body() -> None:
    with pytest.raises(RateLimitError) as info:
        decode_response(429, {"Retry-After": "7"}, error_body("429 - Too Many", "slow down"))
    assert info.value.retry_after == 7.0
    raw = body({"meta": {"httpStatus": "429", "error": {"errorMessage": "x", "retryAfter": 3}}})
    with pytest.raises(RateLimitError) as info:
        decode_response(429, {}, raw)
    assert info.value.retry_after == 3.0


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470) == 10
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412490) == 0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    "error",
    [
        RateLimitError(
            "slow",
            status=429,
            http_status="429 - Too Many Requests",
            request_id="r1",
            error_code="RL",
            error_message="slow",
            notice="n",
            body={"meta": {}},
            retry_after=2.0,
            method="POST",
            url="https://iad1.qualtrics.com/API/v3/x",
            retries_taken=3,
            ambiguous=False,
        ),
        APITimeoutError("timed out", method="GET", url="u", retries_taken=1, ambiguous=True),
        APIConnectionError("reset", method="POST", url="u", ambiguous=True),
        ResponseValidationError("bad", body={"x": 1}, method="GET", url="u"),
    ],
)
def test_errors_pickle_with_their_attributes(error: Exception) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert vars(clone) == vars(error)
