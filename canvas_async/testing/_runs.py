"""Runs that take time: a workflow runs block by block, then is ready again.

The API documents no run states (spec: "Other points"), so this models the
emulator's reading: RunWorkflow answers at once; while the run goes on the
workflow's ``status`` is ``"Running"`` and ``currentBlock`` moves from the
first block of the range to the last, one block every ``block_seconds``;
when the last block is done, ``status`` is ``"Ready"`` again and
``dateLastRun`` is stamped. With ``block_seconds == 0`` a run is done the
moment it is accepted, as before.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Final

import attrs

from ._records import WorkflowRecord
from ._time import Clock, offset_timestamp

RUNNING: Final = "Running"
READY: Final = "Ready"


@attrs.define
class TimedRuns:
    """The runs in progress, each moved on by timers of the running loop.

    Attributes:
        block_seconds: How long each block of a run takes.
    """

    block_seconds: float = attrs.field(default=0.0, validator=attrs.validators.ge(0))
    _timers: dict[uuid.UUID, list[asyncio.TimerHandle]] = attrs.field(factory=dict, repr=False)

    def start(self, workflow: WorkflowRecord, first: int, last: int, clock: Clock) -> None:
        """Start a run of blocks ``first``..``last``; a newer run of the same
        workflow replaces one still going."""
        for timer in self._timers.pop(workflow.id, ()):
            timer.cancel()
        if self.block_seconds == 0:
            _finish(workflow, last, clock)
            return
        workflow.status = RUNNING
        workflow.current_block = first
        loop = asyncio.get_running_loop()
        steps = [
            loop.call_later(step * self.block_seconds, _advance, workflow, block)
            for step, block in enumerate(range(first + 1, last + 1), start=1)
        ]
        steps.append(
            loop.call_later(
                (last - first + 1) * self.block_seconds, self._end, workflow, last, clock
            )
        )
        self._timers[workflow.id] = steps

    def cancel(self) -> None:
        """Drop every pending step (the emulator is closing)."""
        for timers in self._timers.values():
            for timer in timers:
                timer.cancel()
        self._timers.clear()

    def _end(self, workflow: WorkflowRecord, last: int, clock: Clock) -> None:
        del self._timers[workflow.id]
        _finish(workflow, last, clock)


def _advance(workflow: WorkflowRecord, block: int) -> None:
    workflow.current_block = block


def _finish(workflow: WorkflowRecord, last: int, clock: Clock) -> None:
    workflow.status = READY
    workflow.current_block = last
    workflow.date_last_run = offset_timestamp(clock.now())
