"""The emulator's in-memory model and the rules of every operation that changes it.

Who is who (the vendor's samples disagree, so this is the emulator's reading):

- The keys belong to the **caller**, account ``6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1``
  (the sample token's ``userdata`` claim) of organization
  ``00000000-0000-0000-0000-000000000001``. Without ``ManagedAccountId`` a call
  acts for the caller, who owns the sample registered applications and
  workflows.
- The caller manages a set of accounts: the three sample accounts, the
  synthetic ones, and every account it creates. Accounts lists the managed
  accounts that are active (an account created with ``activated: false`` is
  listed once :meth:`EmulatorState.activate_account` is called, as if the
  person had followed the activation e-mail).
- ``ManagedAccountId`` may name the caller or a managed account. Any other
  account, of another organization or unknown, is refused alike with the
  403 envelope, so the answer does not reveal which accounts exist. The
  samples' own header value (``a4ba9a9b-...``) names no account here.

Every operation checks all of its input first and changes state last, so a
refused request leaves no trace. No lookup a request makes scans the state:
the tables keep indexes (by owning account, by e-mail), so the emulator's
cost per request does not grow with the number of accounts.
"""

from __future__ import annotations

import collections
import copy
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Final, TypeVar

import attrs

from canvas_async import _routes

from ._answers import ApiAnswer, EnvelopeError, bad_request, forbidden, not_found
from ._index import IdList, Records
from ._input import (
    NewAccount,
    NewRegApplication,
    NewWorkflow,
    RunRequest,
    SchedulerUpdate,
    cron_of,
    parse_guid,
)
from ._records import (
    AccountRecord,
    ActivationMail,
    ApplicationRecord,
    Block,
    RegApplicationRecord,
    RequestRecord,
    RunRecord,
    TemplateRecord,
    WorkflowRecord,
)
from ._runs import TimedRuns
from ._time import Clock, net_timestamp, next_schedule, offset_timestamp
from ._tokens import TokenStore

CALLER_ID: Final = uuid.UUID("6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1")

# Role ids of the sample accounts; SuperPartner's is the emulator's own.
ROLE_IDS: Final = {
    "User": uuid.UUID("349889ad-4277-42d0-a268-5cd27230cfc5"),
    "Admin": uuid.UUID("9c525665-df99-4aee-9e52-1a55853db03b"),
    "SuperPartner": uuid.UUID("2897e145-120d-4849-8584-0102d87bd18c"),
}
_CREATABLE_ROLES: Final = ("SuperPartner", "User")
_NEW_WORKFLOW_FREQUENCY: Final = '{ "cronSchedule": "0 0 * ? * *"}'  # as the samples show

_Owned = TypeVar("_Owned", RegApplicationRecord, WorkflowRecord)


def _accounts(value: Mapping[uuid.UUID, AccountRecord]) -> Records[uuid.UUID, AccountRecord]:
    """Accounts, indexed by e-mail (spec: e-mail addresses are unique)."""
    if isinstance(value, Records):
        return value
    return Records(lambda account: account.email.casefold(), value.items())


def _owned(value: Mapping[uuid.UUID, _Owned]) -> Records[uuid.UUID, _Owned]:
    """Records of accounts, indexed by the account they belong to."""
    return value if isinstance(value, Records) else Records(_owner, value.items())


def _owner(record: RegApplicationRecord | WorkflowRecord) -> uuid.UUID:
    return record.account_id


@attrs.define
class EmulatorState:
    """Everything the emulator knows; tests read (and may arrange) it directly.

    Attributes:
        clock: What "now" is for timestamps and token expiry.
        tokens: Issued tokens and exchange counters (token mode).
        caller_id: The account the keys belong to.
        accounts: Every account, of every organization (a mapping indexed by
            e-mail as well; assign a plain dict and it is indexed too).
        managed_ids: The accounts the caller manages, in the order Accounts
            lists them (a list whose ``in`` is a set lookup).
        applications: The application catalog.
        reg_applications: Registered applications of all accounts (indexed by
            account: replace a record rather than change its ``account_id``).
        templates: Workflow templates.
        workflows: Workflows of all accounts (indexed like ``reg_applications``).
        runs: Every accepted RunWorkflow call, oldest first.
        outbox: Activation e-mails "sent" for accounts created inactive.
        requests: The requests received, oldest first (the newest ``log_limit``
            of them when the emulator was given a limit).
        timed_runs: The runs in progress, and how long a block takes.
        internal_errors: Unexpected exceptions the emulator hit (its own bugs),
            as ``"<route>: <exception>"``; always empty unless something is wrong.
    """

    clock: Clock
    tokens: TokenStore
    caller_id: uuid.UUID = CALLER_ID
    accounts: Records[uuid.UUID, AccountRecord] = attrs.field(factory=dict, converter=_accounts)
    managed_ids: IdList[uuid.UUID] = attrs.field(factory=list, converter=IdList)
    applications: dict[uuid.UUID, ApplicationRecord] = attrs.field(factory=dict)
    reg_applications: Records[uuid.UUID, RegApplicationRecord] = attrs.field(
        factory=dict, converter=_owned
    )
    templates: dict[uuid.UUID, TemplateRecord] = attrs.field(factory=dict)
    workflows: Records[uuid.UUID, WorkflowRecord] = attrs.field(factory=dict, converter=_owned)
    runs: list[RunRecord] = attrs.field(factory=list)
    outbox: list[ActivationMail] = attrs.field(factory=list)
    requests: collections.deque[RequestRecord] = attrs.field(factory=collections.deque)
    internal_errors: list[str] = attrs.field(factory=list)
    timed_runs: TimedRuns = attrs.field(factory=TimedRuns)

    @property
    def caller(self) -> AccountRecord:
        """The account the keys belong to."""
        return self.accounts[self.caller_id]

    # -- arranging (tests and seeds) -------------------------------------------

    def add_managed_account(self, account: AccountRecord) -> None:
        """Store ``account`` as one the caller manages."""
        self.accounts[account.id] = account
        if account.id not in self.managed_ids:
            self.managed_ids.append(account.id)

    def activate_account(self, account_id: uuid.UUID) -> None:
        """Activate an account, as if its activation e-mail had been followed."""
        self.accounts[account_id].activated = True

    # -- scoping (spec: "Account scoping") ------------------------------------

    def acting_account(self, header: str | None) -> AccountRecord:
        """Return the account a request acts for, given its ``ManagedAccountId``.

        Raises:
            EnvelopeError: 400 for a malformed GUID; 403 for any account the
                caller does not manage (foreign and unknown alike).
        """
        if header is None:
            return self.caller
        account_id = parse_guid(header.strip(), f"The {_routes.ACCOUNT_HEADER} header")
        if account_id != self.caller_id and account_id not in self.managed_ids:
            raise forbidden(f"Account {account_id} is not managed by your organization")
        return self.accounts[account_id]

    # -- reads ----------------------------------------------------------------

    def listed_accounts(self) -> list[AccountRecord]:
        """Return what Accounts answers: the caller's active managed accounts."""
        managed = (self.accounts[account_id] for account_id in self.managed_ids)
        return [account for account in managed if account.activated]

    def visible_templates(self, account: AccountRecord) -> list[TemplateRecord]:
        """Return the templates of CMA and of ``account``'s organization."""
        return [t for t in self.templates.values() if _visible(t, account)]

    def reg_applications_of(self, account: AccountRecord) -> list[RegApplicationRecord]:
        """Return the applications registered for ``account``."""
        return self.reg_applications.group(account.id)

    def workflows_of(self, account: AccountRecord) -> list[WorkflowRecord]:
        """Return the workflows of ``account``."""
        return self.workflows.group(account.id)

    def workflow_of(self, account: AccountRecord, workflow_id: uuid.UUID) -> WorkflowRecord:
        """Return ``account``'s workflow ``workflow_id``; 404 envelope if it has none such."""
        workflow = self.workflows.get(workflow_id)
        if workflow is None or workflow.account_id != account.id:
            raise not_found(f"Unknown workflow {workflow_id}")
        return workflow

    # -- Account --------------------------------------------------------------

    def create_account(self, acting: AccountRecord, new: NewAccount) -> AccountRecord:
        """Register an account in ``acting``'s organization, managed by the caller."""
        if new.role_name == "Admin":
            raise ApiAnswer(_routes.ADMIN_ROLE_REFUSED_TEXT, status=_routes.TEXT_ERROR_STATUS)
        if new.role_name not in _CREATABLE_ROLES:
            raise bad_request("AddAccountApiDto.roleName must be SuperPartner or User")
        if self.accounts.group(new.email.casefold()):
            raise ApiAnswer(_routes.ACCOUNT_EXISTS_TEXT, status=_routes.TEXT_ERROR_STATUS)
        now = self.clock.now()
        account = AccountRecord(
            id=uuid.uuid4(),
            first_name=new.first_name,
            last_name=new.last_name,
            email=new.email,
            organization_id=acting.organization_id,
            organization_name=acting.organization_name,
            role_id=ROLE_IDS[new.role_name],
            role=new.role_name,
            date_created=net_timestamp(now),
            phone=new.phone,
            country_key=new.country_key,
            # The server's defaults for what the body left out.
            global_notifications=bool(new.global_notifications),
            default_notification_email=new.default_notification_email,
            activated=new.activated is not False,
        )
        self.add_managed_account(account)
        if not account.activated:
            self.outbox.append(ActivationMail(account.id, account.email, now))
        return account

    # -- RegApplication -------------------------------------------------------

    def register_application(
        self, acting: AccountRecord, new: NewRegApplication
    ) -> RegApplicationRecord:
        """Register an application with credentials for ``acting``."""
        app = self.applications.get(new.application_id)
        if app is None:
            raise not_found(f"Unknown application {new.application_id}")
        missing = [
            field.name
            for field in app.credential_fields
            if not field.optional and new.credentials.get(field.short_name) in (None, "")
        ]
        if missing:
            # One line per missing field; the first carries the prefix (spec).
            lines = [_routes.MISSING_CREDENTIAL_TEXT.format(name=name) for name in missing]
            text = _routes.CREDENTIALS_ERROR_PREFIX + "\n".join(lines)
            raise ApiAnswer(text, status=_routes.TEXT_ERROR_STATUS)
        stamp = net_timestamp(self.clock.now())
        reg = RegApplicationRecord(
            id=uuid.uuid4(),
            short_name=app.short_name,
            account_id=acting.id,
            application_id=app.id,
            name=app.name,
            tag_text=app.name if new.tag_text is None else new.tag_text,
            description=app.description,
            is_authenticated=True,
            is_o_auth_app=False,
            date_modified=stamp,
            date_time_utc_authenticated=stamp,
            date_time_for_re_auth=stamp,
            session_time_mins=app.session_time_mins,
            session_sliding_expiry=app.session_sliding_expiry,
            faulted=False,
            credentials=dict(new.credentials),
        )
        self.reg_applications[reg.id] = reg
        return reg

    # -- Workflow -------------------------------------------------------------

    def create_workflow(self, acting: AccountRecord, new: NewWorkflow) -> WorkflowRecord:
        """Create a workflow for ``acting`` from a template."""
        template = self.templates.get(new.template_id)
        if template is None or not _visible(template, acting):
            raise EnvelopeError(
                _routes.UNKNOWN_TEMPLATE_STATE,
                _routes.UNKNOWN_TEMPLATE_TEXT.format(id=new.template_id),
            )
        reg_ids = list(self._reg_applications_for(acting, template, new.applications))
        known_blocks = {block.unique_block_id for block in template.chain}
        unknown_blocks = [str(block_id) for block_id in new.chain if block_id not in known_blocks]
        if unknown_blocks:
            raise bad_request(
                f"Unknown block {', '.join(unknown_blocks)} in workflow template {template.id}"
            )
        chain = [
            Block(
                block.unique_block_id,
                block.block_name,
                {**copy.deepcopy(block.variables), **new.chain.get(block.unique_block_id, {})},
            )
            for block in template.chain
        ]
        stamp = net_timestamp(self.clock.now())
        workflow = WorkflowRecord(
            id=uuid.uuid4(),
            name=template.name if new.name is None else new.name,
            description=template.description if new.description is None else new.description,
            status="Ready",
            is_scheduled=False,
            scheduler_frequency=_NEW_WORKFLOW_FREQUENCY,
            workflow_template_id=template.id,
            is_customized_structure=False,
            account_id=acting.id,
            organization_id=acting.organization_id,
            date_created=stamp,
            date_modified=stamp,
            date_last_run=None,
            date_next_schedule=None,
            reg_application_ids=reg_ids,
            current_block=0,
            chain=chain,
        )
        self.workflows[workflow.id] = workflow
        return workflow

    def _reg_applications_for(
        self, acting: AccountRecord, template: TemplateRecord, chosen: dict[str, uuid.UUID]
    ) -> Iterator[uuid.UUID]:
        """Check the ``applications`` map against the template; yield the ids in its order."""
        extra = sorted(set(chosen) - set(template.applications))
        if extra:
            raise bad_request(
                f"The workflow template {template.id} does not use {', '.join(extra)}; "
                f"it uses {', '.join(template.applications)}"
            )
        for short_name in template.applications:
            reg_id = chosen.get(short_name)
            if reg_id is None:
                raise bad_request(f"applications must name a registered {short_name} application")
            reg = self.reg_applications.get(reg_id)
            if reg is None or reg.account_id != acting.id:
                raise bad_request(f"Unknown registered application {reg_id}")
            if reg.short_name != short_name:
                raise bad_request(
                    f"The registered application {reg_id} is {reg.short_name}, not {short_name}"
                )
            yield reg_id

    def delete_workflow(self, acting: AccountRecord, workflow_id: uuid.UUID) -> None:
        """Delete ``acting``'s workflow."""
        del self.workflows[self.workflow_of(acting, workflow_id).id]

    def run_workflow(self, acting: AccountRecord, run: RunRequest) -> RunRecord:
        """Start a run of the whole chain or of a block range (1-based, inclusive)."""
        workflow = self.workflow_of(acting, run.workflow_id)
        blocks = len(workflow.chain)
        first = 1 if run.run_from_block is None else run.run_from_block
        last = blocks if run.run_till_block is None else run.run_till_block
        if not 1 <= first <= last <= blocks:
            raise bad_request(
                f"Blocks {first} to {last} are out of range: workflow {workflow.id} "
                f"has {blocks} block{'s' if blocks != 1 else ''}"
            )
        record = RunRecord(workflow.id, acting.id, first, last, self.clock.now())
        self.timed_runs.start(workflow, first, last, self.clock)
        self.runs.append(record)
        return record

    def schedule_workflow(self, acting: AccountRecord, update: SchedulerUpdate) -> None:
        """Switch a workflow's schedule on or off, storing the new frequency if given.

        A frequency sent is checked even when switching off; switching on
        without one uses the stored frequency.
        """
        workflow = self.workflow_of(acting, update.workflow_id)
        now = self.clock.now()
        cron = update.cron
        if cron is None and update.is_scheduled:
            cron = _stored_cron(workflow)
        next_run: datetime | None = None
        if cron is not None:
            try:
                next_run = next_schedule(cron, now)
            except ValueError as exc:  # CronError names the field and the reason
                raise bad_request(str(exc)) from exc
        if update.schedule_frequency is not None:
            workflow.scheduler_frequency = update.schedule_frequency
        workflow.is_scheduled = update.is_scheduled
        workflow.date_next_schedule = (
            offset_timestamp(next_run) if update.is_scheduled and next_run else None
        )
        workflow.date_modified = net_timestamp(now)


def _visible(template: TemplateRecord, account: AccountRecord) -> bool:
    """Whether ``account`` sees ``template``: CMA's and its organization's."""
    return template.organization_id in (None, account.organization_id)


def _stored_cron(workflow: WorkflowRecord) -> str:
    if workflow.scheduler_frequency is None:
        raise bad_request("scheduleFrequency is required: the workflow has no schedule yet")
    return cron_of(workflow.scheduler_frequency, "The workflow's schedulerFrequency")
