"""Idempotent helpers: look before writing, read back after an unknown outcome."""

from __future__ import annotations

import uuid
from collections.abc import (
    Awaitable,
    Callable,
    Iterable,
    Mapping,
)
from typing import TYPE_CHECKING, Any, Final

from canvas_async._errors import CanvasError, OutcomeUnknownError, ServerError, TransportError
from canvas_async.schedule import Cron, CronError

if TYPE_CHECKING:
    from canvas_async._client import AccountView
    from canvas_async.models import Application, RegApplication, Workflow, WorkflowTemplate

from ._engine import T, step

#: Failures of a create after which it may have taken effect: read back first.
DOUBTFUL: Final = (OutcomeUnknownError, TransportError, ServerError)


class WriteNotDoneError(CanvasError):
    """A write whose outcome was in doubt did not take effect: reading back showed so.

    Attributes:
        operation: The operation of the write that failed.
    """

    def __init__(self, cause: Exception) -> None:
        super().__init__(f"{cause} (read back: it did not take effect)")
        operation = getattr(cause, "operation", None)
        self.operation = operation if isinstance(operation, str) else None


async def read_back(exc: Exception, read: Callable[[], Awaitable[list[T]]]) -> list[T]:
    """Read once to settle a create that failed with ``exc`` (one of :data:`DOUBTFUL`).

    A server error that leaves no doubt (a 501, say) is raised again at once.
    When the read fails too, the outcome stays unknown, and that is raised
    as an :class:`OutcomeUnknownError`.
    """
    if isinstance(exc, ServerError) and exc.status not in (500, 502, 504):
        raise exc
    try:
        with step("read back after an unknown outcome"):
            return await read()
    except CanvasError as read_error:
        if isinstance(exc, OutcomeUnknownError):
            raise exc from read_error
        unknown = OutcomeUnknownError(
            f"{exc}; reading back failed too, so it may or may not have taken effect",
            operation=str(getattr(exc, "operation", "write")),
            account_id=getattr(exc, "account_id", None),
        )
        raise unknown from exc


def _matches_app(reg: RegApplication, app: Application, tag_text: str) -> bool:
    return reg.application_id == app.id and reg.tag_text == tag_text


async def ensure_registered(
    view: AccountView,
    application: Application | str,
    *,
    tag_text: str,
    credentials: Mapping[str, object],
) -> tuple[RegApplication, bool]:
    """Find the account's registration of ``application`` tagged ``tag_text``, or make it.

    The tag text is the registration's identity: credentials cannot be read
    back, so a changed credential needs a new tag text to be registered.

    Args:
        view: The account's view.
        application: The application, or its short name.
        tag_text: The registration's tag text.
        credentials: The credential values, sent only when registering.

    Returns:
        The registration, and whether this call created it.
    """
    app = await view.applications.get(application) if isinstance(application, str) else application
    with step(f"find {app.short_name} {tag_text!r}"):
        existing = await view.reg_applications.list()
    found = _first(r for r in existing if _matches_app(r, app, tag_text))
    if found is not None:
        return found, False
    with step(f"register {app.short_name} {tag_text!r}"):
        try:
            created = await view.reg_applications.create(
                app, tag_text=tag_text, credentials=credentials
            )
        except DOUBTFUL as exc:
            # The request may have registered it: look once before giving up.
            again = await read_back(exc, view.reg_applications.list)
            found = _first(r for r in again if _matches_app(r, app, tag_text))
            if found is None:
                raise WriteNotDoneError(exc) from exc
            return found, True
    return created, True


async def ensure_workflow(
    view: AccountView,
    *,
    name: str,
    template: WorkflowTemplate | uuid.UUID | str,
    applications: Mapping[str, RegApplication | uuid.UUID | str],
    variables: Mapping[str, Mapping[str, Any]] | None = None,
    description: str | None = None,
) -> tuple[Workflow, bool]:
    """Find the account's workflow called ``name``, or create it from ``template``.

    An existing workflow is returned as it is: its variables cannot be read
    back, so to change them, delete it and call again (or use
    :mod:`canvas_async.provision`, which tracks them).

    Returns:
        The workflow, and whether this call created it.
    """
    with step(f"find workflow {name!r}"):
        existing = await view.workflows.list()
    found = _first(w for w in existing if w.name == name)
    if found is not None:
        return found, False
    with step(f"create workflow {name!r}"):
        if isinstance(template, uuid.UUID | str):
            tpl = await view.templates.get(template)
        else:
            tpl = template
        try:
            created = await view.workflows.create(
                tpl,
                name=name,
                applications=applications,
                variables=variables,
                description=description,
            )
        except DOUBTFUL as exc:
            again = await read_back(exc, view.workflows.list)
            found = _first(w for w in again if w.name == name)
            if found is None:
                raise WriteNotDoneError(exc) from exc
            return found, True
    return created, True


async def ensure_schedule(workflow: Workflow, cron: str | None) -> tuple[Workflow, bool]:
    """Schedule ``workflow`` on ``cron``, or unschedule it for None, only if that changes it.

    Crons are compared in their canonical form, so ``0 0/5 * ? * *`` and
    ``0 0/5 * ? * * *`` are the same schedule.

    Returns:
        The workflow as it now is, and whether this call changed it.
    """

    if cron is None:
        if not workflow.is_scheduled:
            return workflow, False
        with step(f"unschedule {workflow.name!r}"):
            return await workflow.unschedule(), True
    wanted = str(Cron.parse(cron))
    if workflow.is_scheduled and workflow.cron and _canonical(workflow.cron) == wanted:
        return workflow, False
    with step(f"schedule {workflow.name!r}"):
        return await workflow.schedule(wanted), True


def _canonical(cron: str) -> str | None:
    try:
        return str(Cron.parse(cron))
    except CronError:
        return None  # a schedule the server holds that we cannot read differs


def _first(values: Iterable[T]) -> T | None:
    return next(iter(values), None)
