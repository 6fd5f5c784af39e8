"""run_and_wait against the emulator's runs that take time."""

from __future__ import annotations

import uuid

import pytest

from canvas_async import Canvas, RunResult, ValidationError, Workflow
from canvas_async.testing import CanvasEmulator

# Short blocks: the tests assert what the client saw, never how long it took.
BLOCK = 0.05


async def _longest_workflow(canvas: Canvas, emu: CanvasEmulator) -> Workflow:
    """The caller's sample workflow with the most blocks (five)."""
    workflows = await canvas.workflows.list()
    return max(workflows, key=lambda w: len(emu.state.workflows[w.id].chain))


@pytest.mark.canvas_emulator(run_block_seconds=BLOCK)
async def test_returns_once_the_modelled_run_finished(canvas: Canvas, emu: CanvasEmulator) -> None:
    workflow = await _longest_workflow(canvas, emu)
    result = await workflow.run_and_wait(from_block=2, timeout=30, poll=BLOCK / 2)

    assert isinstance(result, RunResult)
    assert result.finished
    assert not result.timed_out
    assert result.before.date_last_run == workflow.date_last_run
    assert result.workflow.date_last_run is not None
    assert result.workflow.date_last_run != workflow.date_last_run
    assert result.workflow.status == "Ready"
    assert result.workflow.current_block == len(emu.state.workflows[workflow.id].chain) == 5
    assert result.polls >= 1
    (run,) = emu.state.runs
    assert (run.workflow_id, run.run_from_block, run.run_till_block) == (workflow.id, 2, 5)


@pytest.mark.canvas_emulator(run_block_seconds=60)
async def test_timeout_returns_the_last_state_flagged(canvas: Canvas, emu: CanvasEmulator) -> None:
    workflow = await _longest_workflow(canvas, emu)

    result = await canvas.workflows.run_and_wait(workflow.id, timeout=2, poll=0.05)

    assert result.timed_out
    assert result.workflow.status == "Running"
    assert result.workflow.date_last_run == workflow.date_last_run
    assert result.polls >= 1


# Blocks long enough for a read right after the run to find it running, even loaded.
@pytest.mark.canvas_emulator(run_block_seconds=1.0)
async def test_block_range_and_emulator_progress(canvas: Canvas, emu: CanvasEmulator) -> None:
    workflow = await _longest_workflow(canvas, emu)

    await canvas.workflows.run(workflow, from_block=2, till_block=4)
    running = await canvas.workflows.get(workflow)
    # A newer run replaces the one going on; the wait ends with the newer one.
    result = await canvas.workflows.run_and_wait(workflow, till_block=1, timeout=30, poll=0.2)

    assert running.status == "Running"
    assert 2 <= running.current_block <= 4
    assert result.finished
    assert result.before.status == "Running"
    assert result.workflow.current_block == 1
    assert len(emu.state.runs) == 2


async def test_immediate_runs_finish_at_the_first_read(canvas: Canvas, emu: CanvasEmulator) -> None:
    workflow = await _longest_workflow(canvas, emu)

    result = await canvas.workflows.run_and_wait(workflow, poll=0.01)

    assert (result.finished, result.polls) == (True, 1)


@pytest.mark.parametrize(("timeout", "poll"), [(0, 1), (1, -1), (True, 1), (1, float("nan"))])
async def test_bad_waits_refused_before_sending(
    canvas: Canvas, emu: CanvasEmulator, timeout: float, poll: float
) -> None:
    with pytest.raises(ValidationError, match="timeout and poll must be positive"):
        await canvas.workflows.run_and_wait(uuid.uuid4(), timeout=timeout, poll=poll)

    assert emu.log == []


def test_emulator_refuses_negative_block_time() -> None:
    with pytest.raises(ValueError, match="run_block_seconds must not be negative"):
        CanvasEmulator(run_block_seconds=-1)
