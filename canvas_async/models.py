"""The Canvas resources as frozen attrs classes, with their active-record methods.

Every model is plain data (JSON keys become snake_case fields; the converter in
:mod:`canvas_async._convert` does the mapping). A model loaded through a client
remembers the account view it came from, so ``await workflow.run()`` acts for
the same ``ManagedAccountId`` it was read with, even when many accounts are
handled at once. Each active-record method is a one-liner handing off to that
view's resource API, where the checks and the request live.

Values the server may extend (role, status, state, field type) are typed
``SomeEnum | str``: known values arrive as the enum member (a ``StrEnum``, so it
also compares equal to its text), unknown ones stay plain strings.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from ._defaults import DEFAULT_POLL, DEFAULT_RUN_WAIT
from ._errors import NotBoundError
from ._sentinel import USE_CLIENT_DEFAULT, UseClientDefault
from .schedule import Cron

if TYPE_CHECKING:
    from ._timeouts import TimeoutTypes

__all__ = [
    "Account",
    "Application",
    "Block",
    "CredentialField",
    "CredentialFieldType",
    "CredentialOption",
    "EndpointInfo",
    "Model",
    "PropertyInfo",
    "RegApplication",
    "Role",
    "RunResult",
    "RunStarted",
    "TemplateState",
    "Workflow",
    "WorkflowStatus",
    "WorkflowTemplate",
]


class Role(enum.StrEnum):
    """An account's role (spec: "Shapes", Account)."""

    USER = "User"
    ADMIN = "Admin"
    SUPER_PARTNER = "SuperPartner"


class WorkflowStatus(enum.StrEnum):
    """A workflow's status; only ``Ready`` is documented, others stay strings."""

    READY = "Ready"


class TemplateState(enum.StrEnum):
    """A workflow template's state."""

    PUBLISHED = "Published"
    DRAFT = "Draft"


class CredentialFieldType(enum.StrEnum):
    """How a credential field is entered; unlisted types stay strings."""

    TEXT = "text"
    SELECT = "select"
    PASSWORD = "password"
    CHECKBOX = "checkbox"


class View(Protocol):
    """What a model acts through: the account view it was loaded through.

    Models need only the resource APIs their active-record methods hand off
    to, so they depend on this, not on the client nor on the APIs' module.
    """

    @property
    def reg_applications(self) -> _RegApplications:
        """Registrations of applications for the view's account."""
        ...

    @property
    def workflows(self) -> _Workflows:
        """The view's account's workflows."""
        ...


# The methods of the resource APIs that models call, typed by what they
# return only: their arguments are the APIs' own, and spelling them here would
# make this module import the APIs' module, which imports this one.
class _RegApplications(Protocol):
    """The methods of :class:`~canvas_async.RegApplicationsAPI` models call."""

    @property
    def create(self) -> Callable[..., Awaitable[RegApplication]]: ...


class _Workflows(Protocol):
    """The methods of :class:`~canvas_async.WorkflowsAPI` models call."""

    @property
    def create(self) -> Callable[..., Awaitable[Workflow]]: ...
    @property
    def run(self) -> Callable[..., Awaitable[RunStarted]]: ...
    @property
    def run_and_wait(self) -> Callable[..., Awaitable[RunResult]]: ...
    @property
    def schedule(self) -> Callable[..., Awaitable[Workflow]]: ...
    @property
    def unschedule(self) -> Callable[..., Awaitable[Workflow]]: ...
    @property
    def get(self) -> Callable[..., Awaitable[Workflow]]: ...
    @property
    def delete(self) -> Callable[..., Awaitable[None]]: ...


def _bound(view: View | None, model: object) -> View:
    if view is None:
        name = type(model).__name__
        raise NotBoundError(
            f"this {name} was not loaded through a Canvas client; "
            "call the resource API of a client instead"
        )
    return view


NO_EXTRA: Final[Mapping[str, Any]] = MappingProxyType({})


@attrs.frozen
class Model:
    """What every model read from the server has: the fields it did not know.

    A server that grows sends fields this SDK has no attribute for; they are
    kept, as the server sent them, in :attr:`extra` (spec: "Where the
    documentation disagrees with itself"; design: "Forward compatible").

    A model is read in full when its answer arrives: an answer with a field
    the model cannot take raises :class:`~canvas_async.UnexpectedResponseError`
    naming the field, and a model returned never fails when a field is used.
    """

    # Not data the SDK understands: left out of equality (and of hashing).
    _extra: Mapping[str, Any] = attrs.field(
        default=NO_EXTRA, eq=False, repr=False, kw_only=True, alias="extra"
    )

    @property
    def extra(self) -> Mapping[str, Any]:
        """The fields the server sent that this model has no attribute for, by
        their JSON key (in key order), as sent (read-only; empty when none)."""
        return self._extra


@attrs.frozen
class Account(Model):
    """An account of the organization (``Accounts``)."""

    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    organization_id: uuid.UUID
    organization_name: str | None
    role_id: uuid.UUID | None
    role: Role | str
    date_created: datetime | None


@attrs.frozen
class CredentialOption:
    """One choice of a ``select`` credential field (``value|Label``)."""

    value: str
    label: str


@attrs.frozen
class CredentialField(Model):
    """One credential an application asks for (PascalCase keys in JSON).

    Attributes:
        short_name: The key in the credentials object (``ShortName``).
        name: The label the server's error messages use (``Name``).
        type: ``text``, ``select``, ...
        options: For ``select``: the allowed values with their labels.
        optional: Whether the field may be left empty.
    """

    short_name: str
    name: str | None = None
    type: CredentialFieldType | str | None = None
    # A preset value; kept out of repr in case a server ever fills it in.
    value: str | None = attrs.field(default=None, repr=False)
    options: tuple[CredentialOption, ...] = ()
    optional: bool = False
    desc: str | None = None
    hidden: bool = False


@attrs.frozen
class Application(Model):
    """A third-party application Canvas supports (``Applications``)."""

    id: uuid.UUID
    name: str
    short_name: str
    description: str | None
    vendor_url: str | None
    credential_fields: tuple[CredentialField, ...]
    credentials_json: Mapping[str, Any] | None
    tag: str | None
    session_time_mins: int
    session_sliding_expiry: bool
    # The account view it was loaded through: not data (no eq, no repr).
    _view: View | None = attrs.field(default=None, eq=False, repr=False, alias="view")

    @property
    def tags(self) -> tuple[str, ...]:
        """The comma-separated :attr:`tag` as a tuple of trimmed tags."""
        return tuple(t.strip() for t in (self.tag or "").split(",") if t.strip())

    async def register(
        self,
        *,
        tag_text: str,
        credentials: Mapping[str, object],
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> RegApplication:
        """Register this application for the account it was loaded for.

        See :meth:`canvas_async.RegApplicationsAPI.create`.
        """
        api = _bound(self._view, self).reg_applications
        return await api.create(self, tag_text=tag_text, credentials=credentials, timeout=timeout)


@attrs.frozen
class RegApplication(Model):
    """An application registered for an account (``RegApplications``).

    Its credentials are never sent back by the server and never stored here.
    """

    id: uuid.UUID
    short_name: str
    account_id: uuid.UUID
    application_id: uuid.UUID
    name: str | None
    tag_text: str | None
    description: str | None
    is_authenticated: bool
    is_o_auth_app: bool
    date_modified: datetime | None
    date_time_utc_authenticated: datetime | None
    date_time_for_re_auth: datetime | None
    session_time_mins: int
    session_sliding_expiry: bool
    faulted: bool


@attrs.frozen
class Block(Model):
    """One block of a template's chain."""

    unique_block_id: uuid.UUID
    block_name: str
    variables: Mapping[str, Any]


@attrs.frozen
class WorkflowTemplate(Model):
    """A template workflows are created from (``WorkflowTemplates``)."""

    id: uuid.UUID
    name: str
    description: str | None
    date_created: datetime | None
    date_modified: datetime | None
    state: TemplateState | str
    version: str | None
    draft_is_committed: bool | None
    date_committed: datetime | None
    organization_id: uuid.UUID | None
    applications: tuple[str, ...]
    chain: tuple[Block, ...]
    # The account view it was loaded through: not data (no eq, no repr).
    _view: View | None = attrs.field(default=None, eq=False, repr=False, alias="view")

    async def create_workflow(
        self,
        *,
        name: str,
        applications: Mapping[str, RegApplication | uuid.UUID | str],
        variables: Mapping[str, Mapping[str, Any]] | None = None,
        description: str | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> Workflow:
        """Create a workflow from this template for the account it was loaded for.

        See :meth:`canvas_async.WorkflowsAPI.create`.
        """
        api = _bound(self._view, self).workflows
        return await api.create(
            self,
            name=name,
            applications=applications,
            variables=variables,
            description=description,
            timeout=timeout,
        )


@attrs.frozen
class Workflow(Model):
    """A workflow of an account (``Workflows``, ``Workflow``).

    Attributes:
        cron: The Quartz cron expression decoded from ``schedulerFrequency``
            (a JSON-encoded ``{"cronSchedule": ...}`` on the wire), or None.
        is_scheduled: Whether the scheduler is on; :attr:`cron` is kept when off.
    """

    id: uuid.UUID
    name: str
    description: str | None
    status: WorkflowStatus | str
    is_scheduled: bool
    cron: str | None
    workflow_template_id: uuid.UUID | None
    is_customized_structure: bool
    account_id: uuid.UUID
    organization_id: uuid.UUID
    date_created: datetime | None
    date_modified: datetime | None
    date_last_run: datetime | None
    date_next_schedule: datetime | None
    reg_application_ids: tuple[uuid.UUID, ...]
    current_block: int
    # The account view it was loaded through: not data (no eq, no repr).
    _view: View | None = attrs.field(default=None, eq=False, repr=False, alias="view")

    async def run(
        self,
        *,
        from_block: int | None = None,
        till_block: int | None = None,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> RunStarted:
        """Run the whole chain, or the blocks ``from_block``..``till_block`` (1-based)."""
        api = _bound(self._view, self).workflows
        return await api.run(self, from_block=from_block, till_block=till_block, timeout=timeout)

    async def run_and_wait(
        self,
        *,
        from_block: int | None = None,
        till_block: int | None = None,
        timeout: float = DEFAULT_RUN_WAIT,
        poll: float = DEFAULT_POLL,
        request_timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> RunResult:
        """Run, then wait for the server to show the run finished; see
        :meth:`WorkflowsAPI.run_and_wait` (and what it assumes)."""
        return await _bound(self._view, self).workflows.run_and_wait(
            self,
            from_block=from_block,
            till_block=till_block,
            timeout=timeout,
            poll=poll,
            request_timeout=request_timeout,
        )

    async def schedule(
        self, cron: str | Cron, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> Workflow:
        """Turn the scheduler on with a Quartz ``cron``; return the updated workflow."""
        return await _bound(self._view, self).workflows.schedule(self, cron, timeout=timeout)

    async def unschedule(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> Workflow:
        """Turn the scheduler off; return the updated workflow."""
        return await _bound(self._view, self).workflows.unschedule(self, timeout=timeout)

    async def refresh(
        self, *, timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT
    ) -> Workflow:
        """Read this workflow again; return the fresh copy."""
        return await _bound(self._view, self).workflows.get(self.id, timeout=timeout)

    async def delete(
        self,
        *,
        missing_ok: bool = False,
        timeout: TimeoutTypes | UseClientDefault = USE_CLIENT_DEFAULT,
    ) -> None:
        """Delete this workflow; ``missing_ok`` takes "already gone" as done."""
        await _bound(self._view, self).workflows.delete(
            self, missing_ok=missing_ok, timeout=timeout
        )

    def next_runs(self, count: int = 1, *, after: datetime | None = None) -> list[datetime]:
        """Return the next ``count`` fire times (UTC) of the schedule after ``after``.

        Computed locally from :attr:`cron`; empty when the scheduler is off.

        Args:
            count: How many fire times to return.
            after: Start of the search; now when omitted. A naive value is UTC.
        """
        if not self.is_scheduled or not self.cron:
            return []
        start = datetime.now(UTC) if after is None else after
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        return Cron.parse(self.cron).next_fire_times(start, count=count)


@attrs.frozen
class EndpointInfo(Model):
    """One operation as ``GetMetaData`` describes it."""

    name: str
    parameters: str
    verb: str
    authenticate: bool
    description: str
    returns: str


@attrs.frozen
class PropertyInfo(Model):
    """One property of a DTO as ``Describe`` describes it."""

    property_name: str
    type_name: str
    generic_parameters: str
    is_required: bool


@attrs.frozen
class RunStarted:
    """A run the server accepted (``RunWorkflow``): it started, and may still be running.

    Attributes:
        workflow_id: The workflow started.
        run_id: The run's id where the server sends one: the page shows the
            text ``Workflow will now run``, its GetMetaData says a Guid
            (spec: "Where the documentation disagrees with itself"); None
            when the answer carries no GUID.
    """

    workflow_id: uuid.UUID
    run_id: uuid.UUID | None = None


@attrs.frozen
class RunResult:
    """What :meth:`WorkflowsAPI.run_and_wait` saw.

    Attributes:
        workflow: The workflow as last read: after the run when
            ``finished``, else the state when the wait ran out.
        before: The workflow as read just before the run.
        finished: Whether the server showed the run finished in time.
        polls: How many times the workflow was read after the run started.
        run_id: The run's id, where RunWorkflow answered with one; None when
            it answered with its documented text.
    """

    workflow: Workflow
    before: Workflow = attrs.field(repr=False)
    finished: bool
    polls: int
    run_id: uuid.UUID | None = None

    @property
    def timed_out(self) -> bool:
        """The wait ran out before the server showed the run finished."""
        return not self.finished
