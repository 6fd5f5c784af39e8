"""reconcile_write: send; on doubt read back; send again only if provably not done."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import pytest

from canvas_async import (
    APIError,
    Canvas,
    CanvasConnectionError,
    CanvasTimeoutError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    Timeout,
    ValidationError,
    bulk,
)
from canvas_async._operations import CREATE_REG_APPLICATION
from canvas_async._resources import send_create
from canvas_async.testing import CanvasEmulator, DropConnection, ErrorStatus, Latency
from tests.shards.shard_support import until
from tests.support import TEST_TIMEOUT

QUIN_CREDENTIALS = {"apikey": "k", "environment": "test"}


pytestmark = [
    pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=2, random_seed=3),
    pytest.mark.canvas_client(retries=0),
]


class _Register:
    """A registration of Quinyx through reconcile_write, counting what it sends."""

    def __init__(self, emu: CanvasEmulator, canvas: Canvas) -> None:
        self.emu = emu
        self.view = canvas.for_account(emu.state.managed_ids[0])

    async def send(self) -> uuid.UUID:
        app = await self.view.applications.get("QUIN")
        call = CREATE_REG_APPLICATION(app, "Q", QUIN_CREDENTIALS)
        return await send_create(self.view, call, "the Quinyx registration")

    async def find(self) -> uuid.UUID | None:
        found = [r.id for r in await self.view.reg_applications.list() if r.tag_text == "Q"]
        return found[0] if found else None

    def sent(self, operation: str) -> int:
        return [r.operation for r in self.emu.log].count(operation)

    def stored(self) -> list[uuid.UUID]:
        return [r.id for r in self.emu.state.reg_applications.values()]


async def test_a_clear_answer_needs_no_read(emu: CanvasEmulator, canvas: Canvas) -> None:
    reg = _Register(emu, canvas)

    new_id = await bulk.reconcile_write(reg.send, reg.find)

    assert reg.stored() == [new_id]
    assert reg.sent("list_reg_applications") == 0


async def test_a_write_that_took_effect_is_found_not_repeated(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    reg = _Register(emu, canvas)
    emu.faults.add(DropConnection(after_effect=True), operations={"create_reg_application"})

    new_id = await bulk.reconcile_write(reg.send, reg.find)

    assert reg.stored() == [new_id]
    assert reg.sent("create_reg_application") == 1


async def test_a_write_that_did_not_take_effect_is_sent_again(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    reg = _Register(emu, canvas)
    emu.faults.add(ErrorStatus(500), operations={"create_reg_application"}, times=2)

    new_id = await bulk.reconcile_write(reg.send, reg.find)

    assert reg.stored() == [new_id]
    assert reg.sent("create_reg_application") == 3


async def test_a_503_is_sent_again_without_reading(emu: CanvasEmulator, canvas: Canvas) -> None:
    reg = _Register(emu, canvas)
    emu.faults.add(ErrorStatus(503, retry_after=0), operations={"create_reg_application"}, times=1)

    new_id = await bulk.reconcile_write(reg.send, reg.find)

    assert reg.stored() == [new_id]
    assert reg.sent("list_reg_applications") == 0


async def test_a_failed_read_back_is_read_again(emu: CanvasEmulator, canvas: Canvas) -> None:
    reg = _Register(emu, canvas)
    emu.faults.add(DropConnection(after_effect=True), operations={"create_reg_application"})
    emu.faults.add(ErrorStatus(502), operations={"list_reg_applications"}, times=2)

    new_id = await bulk.reconcile_write(reg.send, reg.find)

    assert reg.stored() == [new_id]
    assert reg.sent("list_reg_applications") == 3


async def test_reads_that_keep_failing_leave_the_outcome_unknown(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    reg = _Register(emu, canvas)
    emu.faults.add(DropConnection(after_effect=True), operations={"create_reg_application"})
    emu.faults.add(ErrorStatus(502), operations={"list_reg_applications"})

    with pytest.raises(OutcomeUnknownError):
        await bulk.reconcile_write(reg.send, reg.find, attempts=2)

    assert reg.sent("list_reg_applications") == 2
    assert reg.sent("create_reg_application") == 1


#: How long the emulator holds the write, against a client that waits READ_TIMEOUT.
HOLD = 2.0
READ_TIMEOUT = 0.2


@pytest.mark.canvas_client(retries=0, timeout=Timeout(total=TEST_TIMEOUT, read=READ_TIMEOUT))
async def test_a_write_without_an_answer_in_time_is_not_sent_again(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    """The server may still be serving it: reading back too soon cannot prove it failed."""
    reg = _Register(emu, canvas)
    emu.faults.add(Latency(HOLD), operations={"create_reg_application"}, times=1)

    with pytest.raises(OutcomeUnknownError, match="may still") as info:
        await bulk.reconcile_write(reg.send, reg.find)

    assert bulk.in_flight(info.value)
    assert not bulk.transient(info.value)  # not requeued at once either
    assert reg.sent("list_reg_applications") == 1  # read back, found nothing yet
    # The server finishes the write it was given; it was sent once, so it exists once.
    await until(lambda: reg.sent("create_reg_application") == 1)
    assert len(reg.stored()) == 1


def test_only_an_unknown_outcome_for_want_of_an_answer_is_in_flight() -> None:
    lost = OutcomeUnknownError("lost", operation="RegApplication")
    lost.__cause__ = CanvasConnectionError("reset", operation="RegApplication")
    timed_out = OutcomeUnknownError("no answer", operation="RegApplication")
    timed_out.__cause__ = CanvasTimeoutError("no answer in time", operation="RegApplication")

    never_sent = CanvasTimeoutError("no connection in time", operation="RegApplication")

    assert not bulk.in_flight(lost)
    assert not bulk.in_flight(_server_error(504))
    assert not bulk.in_flight(never_sent)  # a timeout before sending: resending is safe
    assert bulk.in_flight(timed_out)
    assert bulk.transient(lost)
    assert not bulk.transient(timed_out)


async def test_a_clear_refusal_is_raised_at_once(emu: CanvasEmulator, canvas: Canvas) -> None:
    reg = _Register(emu, canvas)
    emu.faults.add(ErrorStatus(501), operations={"create_reg_application"})

    with pytest.raises(ServerError) as info:
        await bulk.reconcile_write(reg.send, reg.find)

    assert info.value.status == 501
    assert reg.sent("create_reg_application") == 1
    assert reg.sent("list_reg_applications") == 0


@pytest.mark.parametrize("attempts", [0, -1, True, 1.5])
async def test_attempts_are_checked(emu: CanvasEmulator, canvas: Canvas, attempts: object) -> None:
    reg = _Register(emu, canvas)

    with pytest.raises(ValidationError, match="attempts"):
        await bulk.reconcile_write(reg.send, reg.find, attempts=attempts)  # type: ignore[arg-type]

    assert reg.sent("create_reg_application") == 0


# -- requeue: an item tried again after transient failures, within its budget ------

NO_WAIT = bulk.Requeue(max_attempts=4, backoff_initial=0.0, backoff_max=0.0)


def _failing(errors: list[Exception]) -> tuple[list[int], Callable[[int], Awaitable[str]]]:
    """Return the attempts seen, and work that raises ``errors`` in turn, then returns."""
    seen: list[int] = []

    async def work(attempt: int) -> str:
        seen.append(attempt)
        if errors:
            raise errors.pop(0)
        return "done"

    return seen, work


def _server_error(status: int) -> ServerError:
    return ServerError("answered", status=status, operation="Workflows")


@pytest.mark.parametrize(
    ("error", "requeued"),
    [
        (RateLimitError("slow down", status=429, operation="Workflows"), True),
        (APIError("request timeout", status=408, operation="Workflows"), True),
        (_server_error(503), True),
        (_server_error(501), False),
        (NotFoundError("gone", status=404, operation="Workflows"), False),
    ],
)
def test_requeue_retries_the_answers_the_client_retries(error: Exception, requeued: bool) -> None:
    """One rule for both (``canvas_async._retry.transient``)."""
    assert bulk.transient(error) is requeued


async def test_requeue_tries_again_after_transient_failures() -> None:
    seen, work = _failing([_server_error(502), bulk.WriteNotDoneError(_server_error(500))])

    assert await bulk.requeue(work, NO_WAIT) == "done"
    assert seen == [1, 2, 3]


async def test_requeue_raises_a_permanent_failure_at_once() -> None:
    seen, work = _failing([PermissionDeniedError("no", status=403, operation="Workflow")])

    with pytest.raises(PermissionDeniedError):
        await bulk.requeue(work, NO_WAIT)
    assert seen == [1]


async def test_requeue_stops_at_the_attempts_budget() -> None:
    seen, work = _failing([_server_error(503) for _ in range(10)])

    with pytest.raises(ServerError):
        await bulk.requeue(work, NO_WAIT)
    assert seen == [1, 2, 3, 4]


async def test_requeue_starts_nothing_once_stopped() -> None:
    stop = bulk.Stop()
    seen, work = _failing([_server_error(500), _server_error(500)])
    stop.ask("interrupted (SIGINT)")

    with pytest.raises(ServerError):
        await bulk.requeue(work, NO_WAIT, stop=stop)
    assert seen == [1]
    with pytest.raises(bulk.StoppedError, match="SIGINT"):
        stop.check(started=True)


async def test_a_passed_deadline_stops() -> None:
    assert bulk.Stop.after(0).reason() == "deadline passed"
    assert bulk.Stop.after(None).reason() is None
    with pytest.raises(ValidationError, match="deadline"):
        bulk.Stop.after(-1)


@pytest.mark.parametrize(
    "settings",
    [{"max_attempts": 0}, {"timeout": 0}, {"backoff_initial": -1}, {"backoff_max": float("nan")}],
)
def test_requeue_settings_are_checked(settings: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match=next(iter(settings))):
        bulk.Requeue(**settings)  # type: ignore[arg-type]


def test_requeue_backoff_is_full_jitter() -> None:
    policy = bulk.Requeue(backoff_initial=1.0, backoff_max=3.0)

    assert [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 3.0, 3.0]
    assert policy.backoff(3, lambda: 0.0) == 0.0
