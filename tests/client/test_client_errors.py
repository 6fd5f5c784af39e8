"""The pure answer-to-exception mapping: no network."""

from __future__ import annotations

import pickle
import uuid
from datetime import UTC, datetime

import pytest
from multidict import CIMultiDict

from canvas_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CanvasConnectionError,
    CanvasError,
    CanvasTimeoutError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnexpectedResponseError,
    ValidationError,
    _routes,
)
from canvas_async._errors import (
    MAX_MESSAGE_CHARS,
    decode_body,
    envelope,
    error_for_answer,
    parse_retry_after,
)

ACCOUNT = uuid.UUID("a4ba9a9b-ce81-4f06-81c6-032bf7d648f5")


def answer(status: int, payload: object, headers: dict[str, str] | None = None) -> APIError:
    # As the transport passes them: case-insensitive, like aiohttp's.
    error = error_for_answer(
        status, CIMultiDict(headers or {}), payload, operation="Workflow (POST)", account_id=ACCOUNT
    )
    assert error is not None
    return error


class TestDecodeBody:
    @pytest.mark.parametrize(
        ("content_type", "raw", "expected"),
        [
            ("application/json; charset=utf-8", b'"296dce4a-3e24-495e-833c-e183ccfbf2d9"',
             "296dce4a-3e24-495e-833c-e183ccfbf2d9"),
            ("application/json", b"true", True),
            ("application/json", b'[{"a": 1}]', [{"a": 1}]),
            ("text/plain", b"Workflow will now run", "Workflow will now run"),
            # JSON sent as text/plain is still JSON.
            ("text/plain", b'{"State": 404, "Msg": "x"}', {"State": 404, "Msg": "x"}),
            (None, b"true", True),
            ("application/json", b"", ""),
            ("application/json", b"Unauthorized", "Unauthorized"),
            ("text/html", b"\xff\xfe", "\ufffd\ufffd"),
            # A byte order mark, and JSON in UTF-16: read as json.loads reads them.
            ("application/json", b"\xef\xbb\xbf[1]", [1]),
            ("application/json", '["\u00e6"]'.encode("utf-16"), ["\u00e6"]),
            ("application/json", b"\xff\xfe", "\ufffd\ufffd"),
        ],
    )  # fmt: skip
    def test_forms(self, content_type: str | None, raw: bytes, expected: object) -> None:
        assert decode_body(content_type, raw) == expected


class TestErrorForAnswer:
    @pytest.mark.parametrize("status", [200, 201, 204])
    def test_success_returns(self, status: int) -> None:
        assert error_for_answer(status, {}, [], operation="Accounts") is None

    @pytest.mark.parametrize(
        ("status", "cls"),
        [
            (400, BadRequestError),
            (401, AuthenticationError),
            (403, PermissionDeniedError),
            (404, NotFoundError),
            (409, ConflictError),
            (429, RateLimitError),
            (500, ServerError),
            (503, ServerError),
            (418, APIError),
        ],
    )
    def test_status_maps_to_class(self, status: int, cls: type[APIError]) -> None:
        error = answer(status, "Unauthorized" if status == 401 else "nope")

        assert type(error) is cls
        assert error.status == error.http_status == status
        assert error.operation == "Workflow (POST)"
        assert error.account_id == ACCOUNT

    def test_message_names_operation_status_and_account(self) -> None:
        error = answer(401, _routes.UNAUTHORIZED_TEXT)

        assert str(error) == (
            f"Workflow (POST) failed with 401 Unauthorized (account {ACCOUNT}): Unauthorized"
        )

    @pytest.mark.parametrize("http_status", [200, 400, 500])
    def test_envelope_raises_by_state_whatever_the_status(self, http_status: int) -> None:
        """The ``{"State", "Msg"}`` envelope is an error even with HTTP 200."""
        body = {"State": 404, "Msg": "Unknown workflow 0fdfd78c"}

        error = answer(http_status, body)

        assert type(error) is NotFoundError
        assert (error.status, error.http_status) == (404, http_status)
        assert error.message == "Unknown workflow 0fdfd78c"
        assert error.body == body

    def test_documented_unknown_template_envelope(self) -> None:
        template_id = "1be52876-aca2-4ece-ba31-11e0d98ddc19"
        msg = _routes.UNKNOWN_TEMPLATE_TEXT.format(id=template_id)

        error = answer(200, {"State": _routes.UNKNOWN_TEMPLATE_STATE, "Msg": msg})

        assert type(error) is ServerError
        assert template_id in str(error)

    @pytest.mark.parametrize(
        "payload",
        [{"State": "500", "Msg": "x"}, {"State": True}, {"state": 500}, [{"State": 500}]],
    )
    def test_lookalikes_are_not_the_envelope(self, payload: object) -> None:
        assert envelope(payload) is None
        assert error_for_answer(200, {}, payload, operation="Workflows") is None

    def test_account_exists_text_is_a_conflict(self) -> None:
        """The documented text names the error better than its (assumed) 400."""
        error = answer(_routes.TEXT_ERROR_STATUS, _routes.ACCOUNT_EXISTS_TEXT)

        assert type(error) is ConflictError
        assert error.status == 400

    def test_missing_credentials_text_keeps_every_line(self) -> None:
        text = (
            _routes.CREDENTIALS_ERROR_PREFIX
            + _routes.MISSING_CREDENTIAL_TEXT.format(name="User name")
            + "\n"
            + _routes.MISSING_CREDENTIAL_TEXT.format(name="Password")
        )

        error = answer(400, text)

        assert type(error) is BadRequestError
        assert "User name" in str(error)
        assert "Password" in str(error)

    @pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
    def test_redirect_is_an_error(self, status: int) -> None:
        """Redirects are not followed, and not mistaken for success."""
        error = answer(status, "", {"Location": "https://elsewhere.example/api"})

        assert type(error) is APIError
        assert "redirect" in error.message

    def test_long_text_is_clipped_in_the_message_only(self) -> None:
        error = answer(500, "x" * 5000)

        assert str(error).endswith(": " + "x" * MAX_MESSAGE_CHARS + "... (5,000 characters)")
        assert error.message == "x" * 5000

    def test_rate_limit_reads_retry_after(self) -> None:
        error = answer(429, "slow down", {"retry-after": "7"})

        assert isinstance(error, RateLimitError)
        assert error.retry_after == 7.0

    def test_errors_pickle(self) -> None:
        error = answer(429, "slow down", {"Retry-After": "3"})

        clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

        assert type(clone) is RateLimitError
        assert (clone.status, clone.operation, clone.account_id) == (429, error.operation, ACCOUNT)
        assert clone.retry_after == 3.0
        assert str(clone) == str(error)


class TestRetryAfter:
    NOW = datetime(2022, 4, 27, 10, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("5", 5.0),
            (" 1.5 ", 1.5),
            ("-3", 0.0),
            ("Wed, 27 Apr 2022 10:00:30 GMT", 30.0),
            ("Wed, 27 Apr 2022 09:00:00 GMT", 0.0),
            ("soon", None),
            ("inf", None),
            (None, None),
        ],
    )
    def test_forms(self, value: str | None, expected: float | None) -> None:
        assert parse_retry_after(value, now=self.NOW) == expected


def test_hierarchy() -> None:
    """One base; bad input is also a ValueError; transport failures are apart."""
    assert issubclass(ValidationError, CanvasError)
    assert issubclass(ValidationError, ValueError)
    assert issubclass(CanvasTimeoutError, TimeoutError)
    for transport in (CanvasConnectionError, CanvasTimeoutError):
        assert issubclass(transport, CanvasError)
        assert not issubclass(transport, APIError)
    for api in (AuthenticationError, RateLimitError, ServerError, UnexpectedResponseError):
        assert issubclass(api, APIError)


@pytest.mark.parametrize(
    "error",
    [
        CanvasConnectionError("lost", operation="Workflows", account_id=ACCOUNT),
        CanvasTimeoutError("slow", operation="Workflows"),
        OutcomeUnknownError("maybe", operation="Workflow (POST)", account_id=ACCOUNT),
        ValidationError("bad input"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_error_pickles(error: CanvasError) -> None:
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert vars(clone) == vars(error)
