"""Find or create, once: the rules provisioning and the idempotent helpers share.

A registration is matched by :func:`matching_registrations`, a schedule by
:func:`scheduled_as`; :func:`register_once` and :func:`create_workflow_once`
make a create take effect exactly once (:func:`reconcile_write`), reading back
by the same match. The helpers (:func:`ensure_registered`, ...) look before
they create; :mod:`canvas_async.provision` looks in its plan, then creates
through the same two functions.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from canvas_async import _operations as op
from canvas_async._cron.canonical import canonical, canonical_or_none
from canvas_async._resources import send_create

if TYPE_CHECKING:
    from canvas_async._client import AccountView
    from canvas_async.models import Application, RegApplication, Workflow, WorkflowTemplate

from ._engine import step
from ._reconcile import reconcile_write


def matching_registrations(
    registrations: Iterable[RegApplication], application: Application, tag_text: str
) -> list[RegApplication]:
    """Return the registrations of ``application`` tagged ``tag_text``, in listed order.

    The tag text is a registration's identity: credentials cannot be read back.
    """
    return [
        r for r in registrations if r.application_id == application.id and r.tag_text == tag_text
    ]


def scheduled_as(workflow: Workflow, cron: str | None) -> bool:
    """Whether ``workflow`` is scheduled on ``cron`` (in canonical form), or not at all for None.

    Raises:
        ValidationError: ``cron`` is not a valid Quartz cron (a :class:`CronError`).
    """
    if cron is None:
        return not workflow.is_scheduled
    return workflow.is_scheduled and canonical_or_none(workflow.cron) == canonical(cron)


async def register_once(
    view: AccountView,
    application: Application,
    *,
    tag_text: str,
    credentials: Mapping[str, object],
) -> uuid.UUID:
    """Register ``application`` for the account exactly once; return the registration's id."""

    async def find() -> uuid.UUID | None:
        found = matching_registrations(await view.reg_applications.list(), application, tag_text)
        return found[0].id if found else None

    call = op.CREATE_REG_APPLICATION(application, tag_text, credentials)
    what = f"the {application.short_name} registration"
    return await reconcile_write(functools.partial(send_create, view, call, what), find)


async def create_workflow_once(
    view: AccountView,
    template: WorkflowTemplate,
    *,
    name: str,
    applications: Mapping[str, RegApplication | uuid.UUID | str],
    variables: Mapping[str, Mapping[str, Any]] | None,
    description: str | None,
) -> uuid.UUID:
    """Create the workflow exactly once; return its id (read back by name and description)."""

    async def find() -> uuid.UUID | None:
        found = [
            w.id
            for w in await view.workflows.list()
            if w.name == name and (w.description or "") == (description or "")
        ]
        return found[0] if found else None

    call = op.CREATE_WORKFLOW(template, name, applications, variables, description)
    what = f"the workflow {name!r}"
    return await reconcile_write(functools.partial(send_create, view, call, what), find)


async def ensure_registered(
    view: AccountView,
    application: Application | str,
    *,
    tag_text: str,
    credentials: Mapping[str, object],
) -> tuple[uuid.UUID, bool]:
    """Find the account's registration of ``application`` tagged ``tag_text``, or make it.

    The tag text is the registration's identity: credentials cannot be read
    back, so a changed credential needs a new tag text to be registered.

    Args:
        view: The account's view.
        application: The application, or its short name.
        tag_text: The registration's tag text.
        credentials: The credential values, sent only when registering.

    Returns:
        The registration's id, and whether this call created it.
    """
    app = await view.applications.get(application) if isinstance(application, str) else application
    with step(f"find {app.short_name} {tag_text!r}"):
        found = matching_registrations(await view.reg_applications.list(), app, tag_text)
    if found:
        return found[0].id, False
    with step(f"register {app.short_name} {tag_text!r}"):
        return await register_once(view, app, tag_text=tag_text, credentials=credentials), True


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
        found = [w for w in await view.workflows.list() if w.name == name]
    if found:
        return found[0], False
    with step(f"create workflow {name!r}"):
        if isinstance(template, uuid.UUID | str):
            template = await view.templates.get(template)
        new_id = await create_workflow_once(
            view,
            template,
            name=name,
            applications=applications,
            variables=variables,
            description=description,
        )
        return await view.workflows.get(new_id), True


async def ensure_schedule(workflow: Workflow, cron: str | None) -> tuple[Workflow, bool]:
    """Schedule ``workflow`` on ``cron``, or unschedule it for None, only if that changes it.

    Crons are compared in their canonical form (:func:`scheduled_as`), so
    ``0 0/5 * ? * *`` and ``0 0/5 * ? * * *`` are the same schedule.

    Returns:
        The workflow as it now is, and whether this call changed it.
    """
    if scheduled_as(workflow, cron):
        return workflow, False
    if cron is None:
        with step(f"unschedule {workflow.name!r}"):
            return await workflow.unschedule(), True
    with step(f"schedule {workflow.name!r}"):
        return await workflow.schedule(cron), True
