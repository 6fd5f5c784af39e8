"""Deleting a workflow whose first delete took effect but whose answer was lost."""

from __future__ import annotations

import pytest

from canvas_async import Canvas, NotFoundError
from canvas_async.testing import CanvasEmulator, DropConnection


@pytest.mark.parametrize("missing_ok", [True, False])
async def test_a_retried_delete_that_already_took_effect(
    emu: CanvasEmulator, canvas: Canvas, missing_ok: bool
) -> None:
    workflow = (await canvas.workflows.list())[0]
    emu.faults.add(DropConnection(after_effect=True), operations={"delete_workflow"}, times=1)

    if missing_ok:
        await workflow.delete(missing_ok=True)
    else:
        with pytest.raises(NotFoundError):
            await workflow.delete()

    deletes = [entry for entry in emu.log if entry.operation == "delete_workflow"]
    # The dropped one (it took effect), and the repeat that found nothing.
    assert len(deletes) == 2
    assert workflow.id not in {w.id for w in await canvas.workflows.list()}


async def test_deleting_an_unknown_workflow_with_missing_ok_is_quiet(canvas: Canvas) -> None:
    workflow = (await canvas.workflows.list())[0]
    await workflow.delete()

    await workflow.delete(missing_ok=True)
    with pytest.raises(NotFoundError):
        await workflow.delete()
