"""Workflows: create from a template, run, schedule, delete."""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import Mapping
from typing import Any, Final

from canvas_async import _operations as op
from canvas_async import _validate, models
from canvas_async._defaults import DEFAULT_POLL, DEFAULT_RUN_WAIT
from canvas_async._errors import CanvasError, NotFoundError, ValidationError
from canvas_async._timeouts import USE_CLIENT_DEFAULT, TimeoutTypes, UseClientDefault
from canvas_async.schedule import Cron

from ._base import Resource, send, send_create
from ._templates import TemplatesAPI

_WorkflowRef = models.Workflow | uuid.UUID | str
_TemplateRef = models.WorkflowTemplate | uuid.UUID | str


MAX_POLL: Final = 30.0
"""The longest interval between its reads (unless ``poll`` is longer)."""

# Statuses taken to mean "still running" (assumed: the API documents none).
_RUNNING_STATUSES: Final = frozenset(
    {"running", "inprogress", "in progress", "executing", "started"}
)


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


class WorkflowsAPI(Resource):
    """``view.workflows``: the account's workflows."""

    async def list(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> builtins.list[models.Workflow]:
        """Return the account's workflows."""
        return await send(self._view, op.LIST_WORKFLOWS(), timeout)

    async def get(
        self,
        workflow: _WorkflowRef,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.Workflow:
        """Return one workflow by id (or read a :class:`~canvas_async.Workflow` again).

        Raises:
            NotFoundError: The account has no such workflow.
        """
        return await send(self._view, op.GET_WORKFLOW(workflow), timeout)

    async def create(
        self,
        template: _TemplateRef,
        *,
        name: str,
        applications: Mapping[str, models.RegApplication | uuid.UUID | str],
        variables: Mapping[str, Mapping[str, Any]] | None = None,
        description: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.Workflow:
        """Create a workflow from ``template`` and return it.

        Args:
            template: The :class:`~canvas_async.WorkflowTemplate`, or its id or
                name (then the templates are listed to check against: pass the
                model when creating many workflows from one template).
            name: The workflow's name.
            applications: For each application short name the template uses,
                exactly, the registration to use (a
                :class:`~canvas_async.RegApplication` of that application, or
                its id).
            variables: Block variables to override, by block name or
                ``uniqueBlockId``; each is laid over the block's own variables.
            description: The workflow's description.
            timeout: The timeout of each request made.

        Raises:
            ValidationError: Applications or variables do not fit the
                template, or the name is empty (nothing was sent).
            OutcomeUnknownError: The create failed in a way that leaves open
                whether the workflow exists, or it was created but could not
                be read back (the message names its id); list the workflows
                to find out.
        """
        if not isinstance(template, models.WorkflowTemplate):
            _validate.check_name(name, "name")  # before the templates are listed
            template = await TemplatesAPI(self._view).get(template, timeout=timeout)
        call = op.CREATE_WORKFLOW(template, name, applications, variables, description)
        new_id = await send_create(self._view, call, f"the workflow {name!r}", timeout)
        try:
            return await self.get(new_id, timeout=timeout)
        except CanvasError as error:
            # The workflow exists: say so, lest the caller create it again.
            problem = f"the workflow was created (id {new_id}); reading it back failed"
            raise op.accepted_write_error("create_workflow", problem, self.account_id) from error

    async def run(
        self,
        workflow: _WorkflowRef,
        *,
        from_block: int | None = None,
        till_block: int | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.RunStarted:
        """Start a run of the whole chain, or of blocks ``from_block``..``till_block``.

        Block numbers are 1-based and inclusive; either may be left out (from
        the first, till the last). The server starts the run and answers at
        once; it does not wait for the run to finish. The result carries the
        run's id where the server answers with one.

        Raises:
            ValidationError: A block number below 1, or ``from_block`` after
                ``till_block`` (nothing was sent).
        """
        call = op.RUN_WORKFLOW(workflow, from_block, till_block)
        run_id = await send(self._view, call, timeout)
        return models.RunStarted(_validate.as_uuid(workflow, "workflow id"), run_id)

    async def run_and_wait(
        self,
        workflow: _WorkflowRef,
        *,
        from_block: int | None = None,
        till_block: int | None = None,
        timeout: float = DEFAULT_RUN_WAIT,
        poll: float = DEFAULT_POLL,
        request_timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.RunResult:
        """Run the workflow (as :meth:`run`) and wait until the server shows
        the run finished; return the workflow as it then reads.

        The API documents no run states (spec: "Other points"), so this
        assumes: the server stamps ``dateLastRun`` when a run finishes, and a
        workflow whose ``status`` reads ``"Running"`` (or ``"InProgress"``,
        ``"Executing"``, ``"Started"``, any case) is still running. The run is
        taken as finished once ``dateLastRun`` differs from its value before
        the run and the status is not one of those. A server that stamps
        ``dateLastRun`` when a run *starts* makes this return at the start.

        The workflow is read before the run (``dateLastRun``,
        ``currentBlock``, ``status``) and then every ``poll`` seconds, the
        interval growing by half each time up to :data:`MAX_POLL` seconds;
        each read is an ordinary call, under the client's limits and retries.

        Args:
            workflow: The workflow or its id.
            from_block: First block to run (1-based), as :meth:`run`.
            till_block: Last block to run (inclusive), as :meth:`run`.
            timeout: Seconds to wait for the run to finish. On timeout the
                last state read is returned with ``finished=False``; the run
                itself goes on on the server.
            poll: Seconds before the first read after the run starts.
            request_timeout: The timeout of each request made.

        Raises:
            ValidationError: Bad block numbers, or a ``timeout``/``poll``
                that is not a positive number (nothing was sent).
        """
        if not _positive(timeout) or not _positive(poll):
            raise ValidationError("timeout and poll must be positive numbers of seconds")
        before = await self.get(workflow, timeout=request_timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        started = await self.run(
            before, from_block=from_block, till_block=till_block, timeout=request_timeout
        )
        run_id = started.run_id  # where RunWorkflow answered with a GUID
        state, polls, interval = before, 0, poll
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return models.RunResult(state, before, finished=False, polls=polls, run_id=run_id)
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 1.5, max(poll, MAX_POLL))
            state = await self.get(before, timeout=request_timeout)
            polls += 1
            running = str(state.status).casefold() in _RUNNING_STATUSES
            if state.date_last_run != before.date_last_run and not running:
                return models.RunResult(state, before, finished=True, polls=polls, run_id=run_id)

    async def schedule(
        self,
        workflow: _WorkflowRef,
        cron: str | Cron,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.Workflow:
        """Turn the workflow's scheduler on with the Quartz ``cron``; return it updated.

        Args:
            workflow: The workflow or its id.
            cron: A Quartz expression, e.g. ``"0 0/5 * ? * * *"`` (every five
                minutes), or a :class:`~canvas_async.schedule.Cron`; checked
                before sending, and sent in its canonical form.
            timeout: The timeout of each request made.

        Raises:
            CronError: ``cron`` is not a valid Quartz expression (a
                :class:`~canvas_async.ValidationError`; nothing was sent).
        """
        workflow_id = _validate.as_uuid(workflow, "workflow id")
        await send(self._view, op.WORKFLOW_SCHEDULER(workflow_id, op.check_cron(cron)), timeout)
        return await self.get(workflow_id, timeout=timeout)

    async def unschedule(
        self,
        workflow: _WorkflowRef,
        *,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> models.Workflow:
        """Turn the workflow's scheduler off (its cron is kept); return it updated.

        Given the :class:`~canvas_async.Workflow`, its cron is sent along, as
        the documentation's example does when turning a schedule off (spec:
        "Where the documentation disagrees with itself").
        """
        workflow_id = _validate.as_uuid(workflow, "workflow id")
        cron = workflow.cron if isinstance(workflow, models.Workflow) else None
        await send(self._view, op.WORKFLOW_SCHEDULER(workflow_id, cron, enabled=False), timeout)
        return await self.get(workflow_id, timeout=timeout)

    async def delete(
        self,
        workflow: _WorkflowRef,
        *,
        missing_ok: bool = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> None:
        """Delete the workflow.

        Args:
            workflow: The workflow or its id.
            missing_ok: Take "no such workflow" as done. A delete is retried
                after a lost connection, and the retry of a delete that had
                already taken effect finds nothing to delete; so code that
                must converge (clean-ups, provisioning) passes True.
            timeout: This call's timeout.

        Raises:
            NotFoundError: No such workflow, unless ``missing_ok``.
        """
        call = op.DELETE_WORKFLOW(workflow)
        try:
            await send(self._view, call, timeout)
        except NotFoundError:
            if not missing_ok:
                raise
