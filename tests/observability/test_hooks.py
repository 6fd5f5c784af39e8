"""Hooks and structured logs: what a caller sees of each call, in order."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import pytest

import canvas_async._config
from canvas_async import (
    CallEvent,
    Canvas,
    CanvasConnectionError,
    Hooks,
    NotFoundError,
    Retries,
)
from canvas_async.testing import CanvasEmulator, ErrorStatus
from tests.leak_check import record_text
from tests.support import client_of

FAST = Retries(max_retries=2, backoff_initial=0.01, backoff_max=0.02)


class Recorder:
    """Hooks recording every event (and handing their reprs to the leak check)."""

    def __init__(self) -> None:
        self.events: list[CallEvent] = []

    async def __call__(self, event: CallEvent) -> None:
        record_text("hook event", repr(event))
        self.events.append(event)

    def hooks(self) -> Hooks:
        return Hooks(
            on_request=self,
            on_response=self,
            on_retry=self,
            on_give_up=self,
            on_success=self,
        )

    @property
    def kinds(self) -> list[str]:
        return [event.kind for event in self.events]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def canvas(emu: CanvasEmulator, recorder: Recorder) -> AsyncIterator[Canvas]:
    """A client of ``emu`` whose every event ``recorder`` records."""
    async with client_of(emu, catalogue=False, retries=FAST, hooks=recorder.hooks()) as client:
        yield client


async def test_success_in_order_with_fields(
    canvas: Canvas, emu: CanvasEmulator, recorder: Recorder
) -> None:
    account = emu.state.managed_ids[0]

    await canvas.for_account(account).workflows.list()

    assert recorder.kinds == ["request", "response", "success"]
    request, response, success = recorder.events
    assert {event.call for event in recorder.events} == {request.call}
    assert request.operation == "Workflows"
    assert request.account_id == account
    assert request.call.method == "GET"
    assert request.call.path == "/Workflows"
    assert request.request_id is not None
    assert [e.attempt for e in recorder.events] == [1, 1, 1]
    assert response.status == success.status == 200
    assert response.duration is not None
    assert success.duration is not None
    assert success.duration >= response.duration
    assert response.headers is not None
    assert "application/json" in response.headers["Content-Type"]


async def test_retry_names_the_wait_and_the_failure(
    canvas: Canvas, emu: CanvasEmulator, recorder: Recorder
) -> None:
    emu.faults.add(ErrorStatus(503, retry_after=None), operations={"list_accounts"}, times=1)

    await canvas.accounts.list()

    assert recorder.kinds == ["request", "response", "retry", "request", "response", "success"]
    retry = recorder.events[2]
    assert (retry.attempt, retry.status, retry.error) == (1, 503, "503")
    assert retry.wait is not None
    assert 0 <= retry.wait <= FAST.backoff_initial
    assert [e.attempt for e in recorder.events[3:]] == [2, 2, 2]


async def test_error_answer_gives_up(canvas: Canvas, recorder: Recorder) -> None:
    with pytest.raises(NotFoundError) as info:
        await canvas.workflows.get(uuid.uuid4())

    assert recorder.kinds == ["request", "response", "give_up"]
    give_up = recorder.events[-1]
    assert (give_up.status, give_up.error) == (404, "NotFoundError")
    assert give_up.request_id == info.value.request_id


async def test_no_answer_retried_then_given_up(recorder: Recorder) -> None:
    async with Canvas(
        consumer="c" * 8,
        secret_key="s" * 8,
        env="http://127.0.0.1:9/api",
        catalogue=False,  # the discard port: nothing listens
        retries=FAST,
        hooks=recorder.hooks(),
    ) as canvas:
        with pytest.raises(CanvasConnectionError):
            await canvas.accounts.list()

    assert recorder.kinds == [
        "request",
        "retry",
        "request",
        "retry",
        "request",
        "give_up",
    ]
    assert {e.error for e in recorder.events if e.kind == "retry"} == {"CanvasConnectionError"}
    assert recorder.events[-1].error == "CanvasConnectionError"
    assert recorder.events[-1].attempt == 3


async def test_raising_hook_is_logged_and_the_call_goes_on(
    emu: CanvasEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    async def broken(event: CallEvent) -> None:
        raise RuntimeError("hook bug")

    async def after(event: CallEvent) -> None:
        seen.append(event.kind)

    async with client_of(
        emu, catalogue=False, hooks=Hooks(on_request=[broken, after], on_success=broken)
    ) as canvas:
        with caplog.at_level(logging.WARNING, logger="canvas_async"):
            accounts = await canvas.accounts.list()

    assert len(accounts) == 3
    assert seen == ["request"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "Accounts: the request hook test_raising_hook_is_logged_and_the_call_goes_on.<locals>"
        ".broken raised RuntimeError; the call goes on",
        "Accounts: the success hook test_raising_hook_is_logged_and_the_call_goes_on.<locals>"
        ".broken raised RuntimeError; the call goes on",
    ]


async def test_added_hooks_run_after_the_clients_own(
    emu: CanvasEmulator, recorder: Recorder
) -> None:
    seen: list[str] = []

    async def first(event: CallEvent) -> None:
        seen.append(f"first {event.kind}")

    async def second(event: CallEvent) -> None:
        seen.append(f"second {event.kind}")

    async with client_of(emu, catalogue=False, hooks=Hooks(on_success=first)) as client:
        client.add_hooks(Hooks(on_request=second, on_success=second))
        client.add_hooks(recorder.hooks())
        await client.for_account(emu.state.managed_ids[0]).workflows.list()

    assert seen == ["second request", "first success", "second success"]
    assert recorder.kinds == ["request", "response", "success"]


def test_hooks_add_up_kind_by_kind() -> None:
    async def one(event: CallEvent) -> None: ...

    async def two(event: CallEvent) -> None: ...

    both = Hooks(on_request=one, on_retry=one) + Hooks(on_request=two, on_give_up=two)

    assert both == Hooks(on_request=[one, two], on_retry=one, on_give_up=two)


def test_hooks_must_be_callable() -> None:
    with pytest.raises(TypeError, match="a hook must be an async callable"):
        Hooks(on_request=["not callable"])  # type: ignore[list-item]


class TestStructuredLogs:
    async def test_attempt_and_retry_records_carry_fields(
        self, canvas: Canvas, emu: CanvasEmulator, caplog: pytest.LogCaptureFixture
    ) -> None:
        account = emu.state.managed_ids[0]
        emu.faults.add(ErrorStatus(503, retry_after=None), operations={"list_workflows"}, times=1)

        with caplog.at_level(logging.DEBUG, logger="canvas_async"):
            await canvas.for_account(account).workflows.list()

        records = [r for r in caplog.records if r.name == "canvas_async"]
        assert [r.levelname for r in records] == ["DEBUG", "INFO", "DEBUG"]
        first, retry, second = records
        for record, attempt, status in ((first, 1, 503), (retry, 1, 503), (second, 2, 200)):
            assert record.__dict__["operation"] == "Workflows"
            assert record.__dict__["account"] == str(account)
            assert record.__dict__["attempt"] == attempt
            assert record.__dict__["status"] == status
        assert first.__dict__["request_id"] == second.__dict__["request_id"] is not None
        assert second.__dict__["duration"] > 0
        assert retry.__dict__["wait"] >= 0

    def test_canvas_log_switches_a_stderr_handler_on_once(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        logger = logging.getLogger("canvas_async")
        before = list(logger.handlers)
        level = logger.level
        monkeypatch.setattr(canvas_async._config, "_configured", False)
        try:
            canvas_async._config.setup_logging_from_environ({"CANVAS_LOG": "info"})
            canvas_async._config.setup_logging_from_environ({"CANVAS_LOG": "info"})
            added = [h for h in logger.handlers if h not in before]
            assert len(added) == 1
            assert logger.level == logging.INFO
        finally:
            for handler in logger.handlers:
                if handler not in before:
                    logger.removeHandler(handler)
            logger.setLevel(level)

    def test_canvas_log_unknown_value_warns(
        self, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
    ) -> None:
        monkeypatch.setattr(canvas_async._config, "_configured", False)
        before = list(logging.getLogger("canvas_async").handlers)

        with caplog.at_level(logging.WARNING, logger="canvas_async"):
            canvas_async._config.setup_logging_from_environ({"CANVAS_LOG": "loud"})

        assert "CANVAS_LOG must be one of debug, info, warning" in caplog.text
        assert logging.getLogger("canvas_async").handlers == before


def test_canvas_log_without_code() -> None:
    code = (
        "import logging; from canvas_async import Canvas; "
        "Canvas(consumer='c' * 8, secret_key='s' * 8); "
        "logging.getLogger('canvas_async').debug('seen at debug')"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "CANVAS_LOG": "debug"},
    )

    assert "DEBUG canvas_async seen at debug" in result.stderr
