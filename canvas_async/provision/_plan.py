"""The difference between desired and current state, computed over plain data.

:func:`check` holds a :class:`DesiredState` against the organization's
:class:`Catalogue` (applications and templates) and lists every problem before
anything is sent. :func:`diff` compares one account's spec with what the
account holds now and returns the :class:`Change` list that brings it there.
Neither does I/O: the models they read are built by the client or by a test.

Workflow variables cannot be read back from the API, so a workflow created
here carries a fingerprint of its declared variables at the end of its
description (``[canvas-async:<hex>]``): that is how a later plan sees that the
file's variables changed. Variables, template, bound applications and
description cannot be updated in place: such drift is reported, and the
workflow is only recreated when ``replace`` is asked for.

A workflow whose file says ``variables = "as-found"`` (adopted: its variables
are whatever it has) is held to what the API returns only: its template,
bound applications, description and schedule; its variables are never
checked, so one not created here is not drift for that, and it is never
recreated, ``replace`` or not (recreating it would lose variables nobody
declared): what differs is drift for a person to resolve. Once the file
declares its variables, it is handled as any other workflow.

Two writers that meet (the API offers no conditional write) can leave an
account holding two of what the file declares once: :func:`diff` reports each
such :class:`Duplicate`. The extra workflows it created itself are deleted
(``delete-duplicate``); registrations cannot be deleted through the API, so a
duplicate registration is left for a person to remove.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

import attrs

from canvas_async._errors import ValidationError
from canvas_async._operations import (
    UNRESOLVED,
    credential_problems,
    find_block,
    resolve_variables,
)
from canvas_async._resources._templates import matching_templates
from canvas_async.bulk._ensure import matching_registrations, scheduled_as
from canvas_async.models import Application, RegApplication, Workflow, WorkflowTemplate

from ._load import did_you_mean, key_path
from .spec import AS_FOUND, AccountSpec, ApplicationSpec, DesiredState, EnvRef, Plain, WorkflowSpec

#: The fingerprint a managed workflow's description ends with.
MARKER_PATTERN: Final = re.compile(r"\s*\[canvas-async:([0-9a-f]{16})\]\s*\Z")


class Action(enum.StrEnum):
    """What a change does."""

    CREATE_ACCOUNT = "create-account"
    REGISTER = "register"
    CREATE_WORKFLOW = "create-workflow"
    REPLACE_WORKFLOW = "replace-workflow"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    DELETE_WORKFLOW = "delete-workflow"
    DELETE_DUPLICATE = "delete-duplicate"


@attrs.frozen
class Change:
    """One write that brings an account closer to its desired state.

    Attributes:
        action: What it does.
        target: What it acts on: an account, an application key or a
            workflow name.
        detail: A human reading of it (tag text, cron, reasons).
        workflow_id: The existing workflow it acts on, if any.
        application: The application spec to register.
        workflow: The workflow spec to create.
        cron: The canonical cron to schedule on.
    """

    action: Action
    target: str
    detail: str = ""
    workflow_id: uuid.UUID | None = None
    application: ApplicationSpec | None = attrs.field(default=None, repr=False)
    workflow: WorkflowSpec | None = attrs.field(default=None, repr=False)
    cron: str | None = None

    def describe(self) -> str:
        """Return ``action target (detail)`` for tables and logs."""
        detail = f" ({self.detail})" if self.detail else ""
        return f"{self.action} {self.target}{detail}"


@attrs.frozen
class Drift:
    """A workflow that differs in what cannot be changed in place.

    Attributes:
        workflow: The workflow's name.
        workflow_id: Its id.
        reasons: What differs, one phrase each.
    """

    workflow: str
    workflow_id: uuid.UUID
    reasons: tuple[str, ...]

    def describe(self) -> str:
        """Return ``name: reason; reason``."""
        return f"{self.workflow}: {'; '.join(self.reasons)}"


@attrs.frozen
class Duplicate:
    """More than one object where the file declares one.

    Attributes:
        kind: ``"workflow"`` (workflows created here with the declared name)
            or ``"registration"`` (registrations of the declared application
            and tag).
        target: The workflow's name, or the application's key in the file.
        what: How a person finds them in Canvas (``QUIN tagged 'Quinyx'``).
        kept: The one plan and apply use (see :func:`diff` for the rule).
        extra: The others.
    """

    kind: Literal["workflow", "registration"]
    target: str
    what: str
    kept: uuid.UUID
    extra: tuple[uuid.UUID, ...]

    @property
    def removable(self) -> bool:
        """Whether apply deletes the extras: workflows yes, registrations never (the API can't)."""
        return self.kind == "workflow"

    def describe(self) -> str:
        """Return what was found and what to do about it, ids included."""
        count = len(self.extra) + 1
        ids = f"{self.kept} in use, extra {', '.join(map(str, self.extra))}"
        if self.removable:
            return f"{count} workflows named {self.what} ({ids}): apply deletes the extra ones"
        return (
            f"{count} registrations of {self.what} ({ids}): the API cannot delete "
            "registrations; remove the extra ones in Canvas, then run apply again"
        )


@attrs.frozen
class AccountPlan:
    """What one account needs.

    Attributes:
        spec: The account's desired state.
        account_id: Its id; None while it is still to be created.
        changes: The writes, in the order they are to be made.
        drift: Drift left in place because ``replace`` was not asked for.
        notes: Things worth knowing that need no write (workflows of a
            declared name not created here, undeclared workflows that
            ``prune`` would delete).
        registrations: Application key to the id of its existing registration.
        duplicates: Everything the account holds twice (or more) that the
            file declares once; the extra workflows are also in ``changes``.
    """

    spec: AccountSpec
    account_id: uuid.UUID | None
    changes: tuple[Change, ...] = ()
    drift: tuple[Drift, ...] = ()
    notes: tuple[str, ...] = ()
    registrations: Mapping[str, uuid.UUID] = attrs.field(factory=dict)
    duplicates: tuple[Duplicate, ...] = ()

    @property
    def converged(self) -> bool:
        """Whether the account is as declared: nothing to write, no drift, no duplicate."""
        return not self.changes and not self.drift and not self.duplicates

    @property
    def unfixable(self) -> bool:
        """Whether it differs in what apply leaves in place: drift, duplicate registrations."""
        return bool(self.drift) or any(not d.removable for d in self.duplicates)


@attrs.frozen
class Catalogue:
    """What the organization offers: applications by short name, and templates."""

    applications: Mapping[str, Application]
    templates: tuple[WorkflowTemplate, ...]

    @classmethod
    def of(
        cls, applications: Iterable[Application], templates: Iterable[WorkflowTemplate]
    ) -> Catalogue:
        """Build a catalogue from the lists the API returns."""
        return cls({a.short_name: a for a in applications}, tuple(templates))

    def template(self, ref: str) -> WorkflowTemplate | None:
        """Return the template ``ref`` names by id or by name; None if unknown or ambiguous."""
        found = matching_templates(self.templates, ref)
        return found[0] if len(found) == 1 else None


# -- checking a file against the catalogue --------------------------------------------


def check(state: DesiredState, catalogue: Catalogue) -> list[str]:
    """Return every problem of ``state`` against ``catalogue``, each with its path.

    Checked: applications exist; credentials name the application's fields,
    give every required one, and plain ``select`` values are allowed options;
    templates exist (by id, or by a unique name); every template application
    is bound to an application of the account; variables name blocks and
    variables the template has.
    """
    problems: list[str] = []
    for account in state.accounts:
        path = f"accounts[{account.index}]"
        for app in account.applications:
            where = key_path(key_path(path, "applications"), app.key)
            problems.extend(_check_application(app, catalogue, where))
        for workflow in account.workflows:
            where = key_path(key_path(path, "workflows"), workflow.name)
            problems.extend(_check_workflow(workflow, account, catalogue, where))
    return problems


def _check_application(app: ApplicationSpec, catalogue: Catalogue, path: str) -> list[str]:
    known = catalogue.applications.get(app.application)
    if known is None:
        names = ", ".join(sorted(catalogue.applications)) or "none"
        hint = did_you_mean(app.application, catalogue.applications)
        return [f"{path}: unknown application {app.application!r}{hint} (known: {names})"]
    # The client's own rule (it runs again before the registration is sent),
    # on what the file says: a ${NAME} is not read by plan, only by apply.
    values = {
        name: value.value if isinstance(value, Plain) else UNRESOLVED
        for name, value in app.credentials.items()
    }
    return [f"{path}.credentials: {p}" for p in credential_problems(known, values)]


def _check_workflow(
    workflow: WorkflowSpec, account: AccountSpec, catalogue: Catalogue, path: str
) -> list[str]:
    candidates = matching_templates(catalogue.templates, workflow.template)
    if not candidates:
        hint = did_you_mean(workflow.template, (t.name for t in catalogue.templates))
        return [f"{path}.template: unknown template {workflow.template!r}{hint}"]
    if len(candidates) > 1:
        return [
            f"{path}.template: {len(candidates)} templates are named {workflow.template!r}; "
            "name it by id"
        ]
    template = candidates[0]
    problems = []
    bindings = key_path(path, "applications")
    for short in workflow.applications:
        if short not in template.applications:
            problems.append(
                f"{key_path(bindings, short)}: template {template.name!r} "
                f"does not use {short} "
                f"(it uses: {', '.join(template.applications)})"
            )
    for short in template.applications:
        key = workflow.applications.get(short, short)
        app = account.application(key)
        if app is None:
            problems.append(
                f"{path}: template {template.name!r} needs application {short}; declare "
                f"applications.{short} for this account or bind it in applications.{short}"
            )
        elif app.application != short:
            problems.append(
                f"{key_path(bindings, short)}: bound to {key!r}, which registers "
                f"{app.application}, not {short}"
            )
    variables = workflow.variables or {}
    before = len(problems)
    for block_ref, values in variables.items():
        where = key_path(key_path(path, "variables"), block_ref)
        try:
            block = find_block(template, block_ref)
        except ValidationError as error:
            problems.append(f"{where} (template {template.name!r}): {error}")
            continue
        unknown = sorted(set(values) - set(block.variables))
        if unknown:
            has = ", ".join(block.variables) or "none"
            problems.append(
                f"{where}: block {block.block_name!r} has no variable {', '.join(unknown)} "
                f"(it has: {has})"
            )
    if len(problems) == before:
        # What else the client refuses in variables (a block named twice, by its
        # name and by its id): apply would otherwise keep one of the two silently.
        try:
            resolve_variables(template, variables)
        except ValidationError as error:
            problems.append(f"{key_path(path, 'variables')}: {error}")
    return problems


# -- what a managed workflow looks like ----------------------------------------------


def block_variables(
    workflow: WorkflowSpec, template: WorkflowTemplate
) -> dict[str, dict[str, Any]]:
    """Return the declared variables keyed by ``uniqueBlockId``, each block's template
    values filled in (references left unresolved)."""
    out: dict[str, dict[str, Any]] = {}
    for ref, values in (workflow.variables or {}).items():
        block = find_block(template, ref)
        out[str(block.unique_block_id)] = {**dict(block.variables), **dict(values)}
    return out


def fingerprint(workflow: WorkflowSpec, template: WorkflowTemplate) -> str:
    """Return 16 hex digits that change whenever the declared variables change.

    Computed over references as written (``${NAME}``), never over their
    values, so no secret, however short, can be recovered from it. A workflow
    taken as found is created with the template's variables: none declared.
    """
    declared = {
        str(find_block(template, ref).unique_block_id): values
        for ref, values in (workflow.variables or {}).items()
    }
    canonical = json.dumps(declared, sort_keys=True, default=_ref_text, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _ref_text(value: object) -> str:
    if isinstance(value, EnvRef):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def managed_description(description: str | None, marker: str) -> str:
    """Return the description to send: the declared one, then the fingerprint."""
    tag = f"[canvas-async:{marker}]"
    return f"{description} {tag}" if description else tag


def split_description(description: str | None) -> tuple[str, str | None]:
    """Return a workflow's description without the fingerprint, and the fingerprint."""
    text = description or ""
    match = MARKER_PATTERN.search(text)
    if match is None:
        return text, None
    return text[: match.start()], match.group(1)


# -- the diff ----------------------------------------------------------------------


def diff(
    spec: AccountSpec,
    catalogue: Catalogue,
    *,
    account_id: uuid.UUID | None,
    registrations: Sequence[RegApplication] = (),
    workflows: Sequence[Workflow] = (),
    replace: bool = False,
    prune: bool = False,
) -> AccountPlan:
    """Return what ``spec`` needs, given what the account holds now.

    ``spec`` must have passed :func:`check` against ``catalogue``.

    A declared workflow is found by its name, a declared application by its
    application and tag (``matching_registrations``). When more than one
    matches, one is kept and the others are :class:`Duplicate` entries:

    - of registrations, the one a workflow of the account is bound to (the
      oldest such workflow's), else the first listed: removing the others
      breaks no binding;
    - of workflows, the first by: matching the file in what cannot be
      updated in place (template, bindings, fingerprint, description: keeping
      another would force a replacement), created here, scheduled as
      declared (nothing to write), oldest (``dateCreated``), lowest id. The
      others created here are deleted (``delete-duplicate``, with or without
      ``prune``); one not created here is never touched, only noted.

    Args:
        spec: The account's desired state.
        catalogue: The organization's applications and templates.
        account_id: The account's id; None when it does not exist yet (then
            it holds nothing, and its creation comes first).
        registrations: The account's registered applications.
        workflows: The account's workflows.
        replace: Recreate workflows that drifted in what cannot be updated.
        prune: Delete workflows created here that the file no longer declares.
    """
    planner = _Planner(catalogue, sorted(workflows, key=_age), replace=replace, prune=prune)
    if account_id is None:
        planner.changes.append(Change(Action.CREATE_ACCOUNT, spec.label, "not found"))
    reg_ids = {app.key: planner.registration(app, registrations) for app in spec.applications}
    for wf_spec in spec.workflows:
        planner.workflow(wf_spec, reg_ids)
    planner.leftovers()
    return AccountPlan(
        spec,
        account_id,
        tuple(planner.changes),
        tuple(planner.drift),
        tuple(planner.notes),
        {key: reg_id for key, reg_id in reg_ids.items() if reg_id is not None},
        tuple(planner.duplicates),
    )


@attrs.define
class _Planner:
    """Collects one account's changes, drift and notes while :func:`diff` walks it."""

    catalogue: Catalogue
    workflows: list[Workflow]
    replace: bool
    prune: bool
    changes: list[Change] = attrs.Factory(list)
    drift: list[Drift] = attrs.Factory(list)
    notes: list[str] = attrs.Factory(list)
    duplicates: list[Duplicate] = attrs.Factory(list)
    kept: set[uuid.UUID] = attrs.Factory(set)

    def registration(
        self, app: ApplicationSpec, registrations: Sequence[RegApplication]
    ) -> uuid.UUID | None:
        """Return the id of ``app``'s registration, planning it when there is none."""
        found = matching_registrations(
            registrations, self.catalogue.applications[app.application], app.tag
        )
        if not found:
            detail = f"{app.application} tag {app.tag!r}"
            self.changes.append(Change(Action.REGISTER, app.key, detail, application=app))
            return None
        if len(found) == 1:
            return found[0].id
        # The workflows are sorted oldest first: the oldest binding wins.
        bound = [r for w in self.workflows for r in w.reg_application_ids]
        ids = [r.id for r in found]
        kept = min(ids, key=lambda i: bound.index(i) if i in bound else len(bound))
        self.duplicates.append(
            Duplicate(
                "registration",
                app.key,
                f"{app.application} tagged {app.tag!r}",
                kept,
                tuple(i for i in ids if i != kept),
            )
        )
        return kept

    def workflow(self, spec: WorkflowSpec, reg_ids: Mapping[str, uuid.UUID | None]) -> None:
        """Plan one declared workflow."""
        template = self.catalogue.template(spec.template)
        assert template is not None, "diff() needs a spec that passed check()"
        marker = fingerprint(spec, template)
        wanted = {reg_ids[spec.applications.get(short, short)] for short in template.applications}
        same_name = [w for w in self.workflows if w.name == spec.name]
        if not same_name:
            detail = f"{template.name}, with its variables" if spec.adopted else template.name
            self.changes.append(Change(Action.CREATE_WORKFLOW, spec.name, detail, workflow=spec))
            self.changes.extend(_schedule_changes(spec, None))
            return
        judged = [(w, _drift_reasons(w, spec, template, marker, wanted)) for w in same_name]
        # The rule diff() documents; same_name is sorted oldest first, so min() keeps
        # the oldest of equals.
        current, reasons = min(
            judged,
            key=lambda pair: (
                bool(pair[1]),
                not _managed(pair[0]),
                bool(_schedule_changes(spec, pair[0])),
            ),
        )
        self.kept.add(current.id)
        self._duplicates(spec.name, current, [w for w, _ in judged if w.id != current.id])
        if reasons and spec.adopted:
            # Never recreated: its variables are known to nobody (the module's docstring).
            reasons.append(f'variables are "{AS_FOUND}": declare them to let --replace recreate it')
        elif reasons and self.replace:
            why = "; ".join(reasons)
            replace = Change(Action.REPLACE_WORKFLOW, spec.name, why, current.id, workflow=spec)
            self.changes += [replace, *_schedule_changes(spec, None)]
            return
        if reasons:
            self.drift.append(Drift(spec.name, current.id, tuple(reasons)))
        self.changes.extend(_schedule_changes(spec, current))

    def _duplicates(self, name: str, current: Workflow, others: list[Workflow]) -> None:
        """Plan deleting the extra workflows named ``name`` that were created here."""
        self.kept.update(other.id for other in others)  # never pruned as undeclared
        extra = tuple(other.id for other in others if _managed(other) and _managed(current))
        for other in others:
            if other.id not in extra:
                self.notes.append(
                    f"another workflow named {name!r} ({other.id}) was not created here; left alone"
                )
        if extra:
            self.duplicates.append(Duplicate("workflow", name, repr(name), current.id, extra))
        why = f"duplicate of {current.id}"
        self.changes += [Change(Action.DELETE_DUPLICATE, name, why, workflow_id=i) for i in extra]

    def leftovers(self) -> None:
        """Plan the workflows created here that the file no longer declares."""
        for workflow in self.workflows:
            if workflow.id in self.kept or not _managed(workflow):
                continue  # declared, or not created here: never touched
            name = workflow.name or str(workflow.id)
            if self.prune:
                self.changes.append(
                    Change(
                        Action.DELETE_WORKFLOW, name, "no longer declared", workflow_id=workflow.id
                    )
                )
            else:
                self.notes.append(f"workflow {name!r} is no longer declared; --prune deletes it")


def _managed(workflow: Workflow) -> bool:
    return split_description(workflow.description)[1] is not None


def _age(workflow: Workflow) -> tuple[bool, float, int]:
    """Sort key: oldest first, those without a creation date last, then by lowest id."""
    created = workflow.date_created
    return (created is None, created.timestamp() if created else 0.0, workflow.id.int)


def _drift_reasons(
    workflow: Workflow,
    spec: WorkflowSpec,
    template: WorkflowTemplate,
    marker: str,
    wanted_regs: set[uuid.UUID | None],
) -> list[str]:
    reasons = []
    if workflow.workflow_template_id != template.id:
        reasons.append("template differs")
    if None in wanted_regs:
        reasons.append("bound applications differ (a registration is new)")
    elif set(workflow.reg_application_ids) != wanted_regs:
        reasons.append("bound applications differ")
    description, found = split_description(workflow.description)
    if not spec.adopted:  # an adopted workflow's variables are whatever it has
        if found is None:
            reasons.append(
                "not created by canvas-async: its variables cannot be checked "
                f'(variables = "{AS_FOUND}" takes it as it is)'
            )
            return reasons  # its description has no fingerprint to compare either
        if found != marker:
            reasons.append("variables differ")
    if description != (spec.description or ""):
        reasons.append("description differs")
    return reasons


def _schedule_changes(spec: WorkflowSpec, workflow: Workflow | None) -> list[Change]:
    """Return what schedules ``workflow`` as declared (None: one about to be created, which
    starts with its scheduler off)."""
    cron = spec.schedule
    if workflow is None:
        if cron is None:  # created with its scheduler off, as declared
            return []
    elif scheduled_as(workflow, cron):
        return []
    workflow_id = None if workflow is None else workflow.id
    if cron is None:
        return [Change(Action.UNSCHEDULE, spec.name, workflow_id=workflow_id)]
    return [Change(Action.SCHEDULE, spec.name, cron, workflow_id=workflow_id, cron=cron)]
