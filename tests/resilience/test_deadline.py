"""A deadline bounds every wait: request timeouts, Retry-After pauses, backoff.

Each test's server would keep the call busy for a minute or an hour without
the deadline (a read that never answers, a 429 asking to come back in 50 s
or 3600 s), so "ended long before that" is a bound no load can break.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from canvas_async import (
    CanvasTimeoutError,
    DeadlineExceededError,
    RateLimitError,
    Retries,
    ValidationError,
    deadline,
    provision,
)
from canvas_async._deadline import GRACE, remaining
from canvas_async.cli import _exit
from canvas_async.provision.shard import load_file
from canvas_async.testing import CanvasEmulator, Drip, ErrorStatus, Latency
from tests.shards.shard_support import ENV, cli_env, write_file
from tests.support import client_of, finish, spawn

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=4, random_seed=3)

#: Far below what each server here would cost without a deadline (60 s and more).
BOUND = 30.0
#: A client as an operator runs it: a minute per request, patient retries.
PATIENT = Retries(max_retries=3, max_rate_limited=5, max_retry_after=3600)


async def test_a_server_that_never_answers_is_given_up_at_the_deadline(
    emu: CanvasEmulator,
) -> None:
    emu.faults.add(Latency(3600), operations={"list_accounts"})
    async with client_of(emu, timeout=60, retries=PATIENT) as canvas:
        started = time.monotonic()
        with deadline(0.5), pytest.raises(CanvasTimeoutError):
            await canvas.accounts.list()
        assert time.monotonic() - started < BOUND


@pytest.mark.parametrize("retry_after", [50, 3600])
async def test_a_retry_after_past_the_deadline_is_not_waited_out(
    emu: CanvasEmulator, retry_after: int
) -> None:
    emu.faults.add(ErrorStatus(429, retry_after=retry_after), operations={"list_accounts"})
    async with client_of(emu, timeout=60, retries=PATIENT) as canvas:
        started = time.monotonic()
        with deadline(1), pytest.raises(RateLimitError):
            await canvas.accounts.list()
        # Another call of the same client meets the shared pause: not waited out either.
        with deadline(1), pytest.raises(RateLimitError, match="paused"):
            await canvas.templates.list()
        assert time.monotonic() - started < BOUND
    assert [r.operation for r in emu.log].count("list_templates") == 0


async def test_nothing_is_sent_once_the_deadline_has_passed(emu: CanvasEmulator) -> None:
    async with client_of(emu) as canvas:
        await canvas.accounts.list()
        sent = len(emu.log)
        with deadline(0), pytest.raises(DeadlineExceededError, match="was not sent"):
            await canvas.accounts.list()
        assert len(emu.log) == sent


def test_deadlines_nest_to_the_earlier_and_refuse_nonsense() -> None:
    assert remaining() is None
    with deadline(100):
        outer = remaining()
        assert outer is not None
        with deadline(1000):
            inner = remaining()
            assert inner is not None
            assert inner <= outer
        with deadline(1):
            inner = remaining()
            assert inner is not None
            assert inner <= 1
        with deadline(None):
            assert remaining() is not None
    assert remaining() is None
    for bad in (-1, float("nan"), "5"):
        with pytest.raises(ValidationError, match="deadline"), deadline(bad):  # type: ignore[arg-type]
            pass


@pytest.mark.parametrize(
    "fault",
    [Latency(3600), ErrorStatus(429, retry_after=3600), ErrorStatus(429, retry_after=50)],
    ids=["never-answers", "retry-after-3600", "retry-after-50"],
)
async def test_apply_ends_within_its_deadline_and_grace_whatever_the_server_does(
    emu: CanvasEmulator, tmp_path: Path, fault: Latency | ErrorStatus
) -> None:
    path = write_file(tmp_path / "state.json", emu.state.managed_ids[:4])
    emu.faults.add(fault, operations={"list_reg_applications"})
    started = time.monotonic()
    code, out, err = await finish(
        await spawn("apply", str(path), "--deadline", "2", "--no-lease", env=cli_env(emu))
    )
    took = time.monotonic() - started
    assert code == _exit.FAILED, err
    assert "Traceback" not in err
    # The deadline, the grace and the interpreter's start, with room for a loaded machine.
    assert took < 2 + GRACE + BOUND
    assert "4" in out + err  # the accounts left are counted


async def test_provision_apply_with_a_deadline_ends_within_it_and_its_grace(
    emu: CanvasEmulator, tmp_path: Path
) -> None:
    state = load_file(write_file(tmp_path / "state.json", emu.state.managed_ids[:4]))
    emu.faults.add(Latency(3600), operations={"list_workflows"})
    async with client_of(emu, timeout=60, retries=PATIENT) as canvas:
        started = time.monotonic()
        report = await provision.apply(canvas, state, environ=ENV, deadline=1)
        assert time.monotonic() - started < BOUND
    assert not report.ok
    assert {a.status for a in report.accounts} <= {
        provision.Status.FAILED,
        provision.Status.CANCELLED,
        provision.Status.SKIPPED,
    }


async def test_a_dripping_answer_is_cut_at_the_deadline(emu: CanvasEmulator) -> None:
    # A byte a second: never silent long enough for a read limit, endless all the same.
    dripping = emu.faults.add(Drip(1.0), operations={"list_accounts"})
    async with client_of(emu, timeout=60, retries=PATIENT) as canvas:
        started = time.monotonic()
        with deadline(1), pytest.raises(CanvasTimeoutError, match="deadline"):
            await canvas.accounts.list()
        assert time.monotonic() - started < BOUND
    assert dripping.fired == 1
