"""Idempotent helpers: look before writing; write through :func:`reconcile_write`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from canvas_async._cron.canonical import canonical, canonical_or_none

if TYPE_CHECKING:
    from canvas_async._client import AccountView
    from canvas_async.models import Application, RegApplication, Workflow, WorkflowTemplate

from ._engine import T, step
from ._reconcile import reconcile_write


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

    async def find() -> RegApplication | None:
        registrations = await view.reg_applications.list()
        return _first(r for r in registrations if _matches_app(r, app, tag_text))

    async def register() -> RegApplication:
        return await view.reg_applications.create(app, tag_text=tag_text, credentials=credentials)

    with step(f"find {app.short_name} {tag_text!r}"):
        found = await find()
    if found is not None:
        return found, False
    with step(f"register {app.short_name} {tag_text!r}"):
        created = await reconcile_write(register, find)
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

    async def find() -> Workflow | None:
        return _first(w for w in await view.workflows.list() if w.name == name)

    with step(f"find workflow {name!r}"):
        found = await find()
    if found is not None:
        return found, False
    with step(f"create workflow {name!r}"):
        if isinstance(template, uuid.UUID | str):
            tpl = await view.templates.get(template)
        else:
            tpl = template

        async def create() -> Workflow:
            return await view.workflows.create(
                tpl,
                name=name,
                applications=applications,
                variables=variables,
                description=description,
            )

        created = await reconcile_write(create, find)
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
    wanted = canonical(cron)
    if workflow.is_scheduled and canonical_or_none(workflow.cron) == wanted:
        return workflow, False
    with step(f"schedule {workflow.name!r}"):
        return await workflow.schedule(wanted), True


def _first(values: Iterable[T]) -> T | None:
    return next(iter(values), None)
