"""Bad input gets a 4xx naming the problem; an emulator bug gets a loud 500."""

from __future__ import annotations

import io
import logging

import pytest

from canvas_async._routes import ROUTES
from canvas_async.testing import EmulatorState
from tests.emulator.emulator_support import ORDER_WORKFLOW, Api, snapshot

BODY_KEYS = [route.key for route in ROUTES.values() if route.body is not None]


@pytest.mark.parametrize("key", BODY_KEYS)
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "body is not valid JSON"),
        (b"", "body is not valid JSON"),
        (b"\xff\xfe\x00", "body is not valid JSON"),
        (b'{"a": NaN}', "body is not valid JSON"),
        (b"[" * 100_000, "body is not valid JSON"),
        (b"null", "must be a JSON object"),
        (b"[]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"{}", "is required"),
    ],
)
async def test_malformed_bodies(api: Api, key: str, data: bytes, message: str) -> None:
    before = snapshot(api.emu)
    answer = await api.call(
        key, data=data, headers={**api.keys, "Content-Type": "application/json"}
    )
    assert answer.status == 400
    assert answer.envelope is not None
    assert message in answer.envelope[1]
    assert snapshot(api.emu) == before


@pytest.mark.parametrize("key", BODY_KEYS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_bodies_must_be_sent_as_json(api: Api, key: str, content_type: str | None) -> None:
    headers = dict(api.keys)
    if content_type is not None:
        headers["Content-Type"] = content_type
    answer = await api.call(key, data=b'{"workflowId": "x"}', headers=headers)
    assert answer.status == 415
    assert "must be sent as application/json" in answer.text


async def test_json_variants_are_accepted(api: Api) -> None:
    for content_type in ("application/json; charset=utf-8", "text/json", "application/x+json"):
        headers = {**api.keys, "Content-Type": content_type}
        answer = await api.call(
            "run_workflow", data=f'{{"workflowId": "{ORDER_WORKFLOW}"}}', headers=headers
        )
        assert answer.status == 200, content_type


async def test_an_oversized_body_is_a_413(api: Api) -> None:
    data = io.BytesIO(b'{"workflowId": "' + b"x" * 2_000_000 + b'"}')
    answer = await api.call(
        "run_workflow", data=data, headers={**api.keys, "Content-Type": "application/json"}
    )
    assert answer.status == 413


@pytest.mark.parametrize("key", ["get_workflow", "delete_workflow"])
@pytest.mark.parametrize(
    "query",
    [{}, {"id": ""}, {"id": "b459cf22"}, {"Id": ORDER_WORKFLOW}, {"id": ORDER_WORKFLOW + "0"}],
)
async def test_bad_id_queries(api: Api, key: str, query: dict[str, str]) -> None:
    before = snapshot(api.emu)
    answer = await api.call(key, query=query)
    assert answer.status == 400
    assert answer.envelope is not None
    assert "id" in answer.envelope[1]
    assert snapshot(api.emu) == before


async def test_an_unexpected_exception_is_a_logged_500(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: EmulatorState) -> list[object]:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(EmulatorState, "listed_accounts", broken)
    with caplog.at_level(logging.ERROR, logger="canvas_async.testing"):
        answer = await api.call("list_accounts")
    assert (answer.status, answer.text) == (500, "Internal emulator error; see the log")
    assert api.emu.state.internal_errors == ["list_accounts: ZeroDivisionError: a bug"]
    assert "GET /api/Accounts" in caplog.text
    assert api.emu.log[-1].status == 500
    api.emu.state.internal_errors.clear()  # seen; the fixture checks for others
