"""Every operation of the route table, in key mode, against the emulator over HTTP.

Each test reads the side effect back from the emulator's state, not only from
what the client returned.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import attrs
import pytest

from canvas_async import (
    Account,
    AccountView,
    Application,
    AuthenticationError,
    BadRequestError,
    Canvas,
    ConflictError,
    NotBoundError,
    NotFoundError,
    PermissionDeniedError,
    RegApplication,
    Role,
    ServerError,
    TemplateState,
    ValidationError,
    Workflow,
    WorkflowStatus,
    WorkflowTemplate,
    _routes,
)
from canvas_async._operations import guid_in as parse_guid
from canvas_async.schedule import Cron, CronError
from canvas_async.testing import CanvasEmulator

EXPORT_TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"


@pytest.fixture
async def acct(canvas: Canvas) -> AccountView:
    """A view of a freshly created managed account."""
    new_id = await canvas.accounts.create(
        first_name="Ada", last_name="Lovelace", email="ada@example.com", country_key="GB"
    )
    return canvas.for_account(new_id)


@pytest.fixture
async def regs(acct: AccountView, secret: Callable[[str], str]) -> dict[str, RegApplication]:
    """Quinyx and FTP registered for ``acct``."""
    quinyx = await acct.applications.get("QUIN")
    ftp = await acct.applications.get("FTP")
    return {
        "QUIN": await quinyx.register(
            tag_text="Quinyx 2022-04-28",
            credentials={"apikey": secret("01d6-3e54-cff2-c7d8"), "environment": "test"},
        ),
        "FTP": await ftp.register(
            tag_text="FTP 2022-05-03",
            credentials={
                "username": "ftp-user",
                "password": secret("ftp-pa55-w0rd"),
                "port": "21",
                "address": "ftp.example.com",
                "secure": True,
            },
        ),
    }


@pytest.fixture
async def workflow(acct: AccountView, regs: dict[str, RegApplication]) -> Workflow:
    """An export workflow of ``acct``."""
    template = await acct.templates.get(EXPORT_TEMPLATE)
    return await template.create_workflow(name="Export", applications=regs)


class TestMeta:
    async def test_endpoints_cover_the_route_table(self, canvas: Canvas) -> None:
        """GetMetaData lists every operation the table has (drift check)."""
        endpoints = await canvas.meta.endpoints()

        listed = {(e.name, e.verb) for e in endpoints}
        key_mode = {
            (r.operation, r.method)
            for r in _routes.ROUTES.values()
            if r.auth is not _routes.Auth.REFRESH
        }
        assert key_mode <= listed

    async def test_describe(self, canvas: Canvas) -> None:
        props = await canvas.meta.describe("AddWorkflowApiDto")

        assert [(p.property_name, p.type_name, p.is_required) for p in props][:1] == [
            ("workflowTemplateId", "guid", True)
        ]
        assert {p.property_name for p in props} >= {"applications", "chain"}

    async def test_describe_unknown(self, canvas: Canvas) -> None:
        with pytest.raises(NotFoundError) as info:
            await canvas.meta.describe("NoSuchDto")
        assert info.value.operation == "Describe"

    async def test_meta_needs_no_keys(self, emu: CanvasEmulator) -> None:
        async with Canvas(consumer="wrong-key", secret_key="wrong-key", env=emu.url) as canvas:
            assert await canvas.meta.endpoints()


class TestAuthenticate:
    async def test_good_keys(self, canvas: Canvas) -> None:
        assert await canvas.authenticate() is True

    async def test_wrong_keys(self, emu: CanvasEmulator) -> None:
        async with Canvas(consumer=emu.consumer, secret_key="not-the-key", env=emu.url) as c:
            assert await c.authenticate() is False
            with pytest.raises(AuthenticationError) as info:
                await c.accounts.list()

        assert info.value.status == 401
        assert info.value.message == _routes.UNAUTHORIZED_TEXT


class TestAccounts:
    async def test_list(self, canvas: Canvas, emu: CanvasEmulator) -> None:
        accounts = await canvas.accounts.list()

        assert [a.id for a in accounts] == emu.state.managed_ids
        assert accounts[0].role is Role.USER
        assert accounts[1].role is Role.ADMIN

    async def test_create(self, canvas: Canvas, emu: CanvasEmulator) -> None:
        new_id = await canvas.accounts.create(
            first_name="John",
            last_name="Smeet",
            email="john.smeet@company.com",
            phone="+470568765432",
            role="SuperPartner",
            country_key="DE",
            global_notifications=True,
            default_notification_email="support@connectmyapps.com",
        )

        record = emu.state.accounts[new_id]
        assert (record.first_name, record.email, record.role) == (
            "John",
            "john.smeet@company.com",
            "SuperPartner",
        )
        assert (record.country_key, record.phone, record.activated) == ("DE", "+470568765432", True)
        assert new_id in [a.id for a in await canvas.accounts.list()]

    async def test_create_inactive_sends_the_activation_mail(
        self, canvas: Canvas, emu: CanvasEmulator
    ) -> None:
        new_id = await canvas.accounts.create(
            first_name="In", last_name="Active", email="inactive@example.com", activated=False
        )

        assert emu.state.accounts[new_id].activated is False
        assert [(m.account_id, m.email) for m in emu.state.outbox] == [
            (new_id, "inactive@example.com")
        ]

    async def test_existing_email_is_a_conflict(self, canvas: Canvas) -> None:
        with pytest.raises(ConflictError) as info:
            await canvas.accounts.create(
                first_name="N", last_name="B", email="nathan.bray@connectmyapps.com"
            )

        assert info.value.message == _routes.ACCOUNT_EXISTS_TEXT
        assert info.value.status == _routes.TEXT_ERROR_STATUS

    async def test_admin_role_is_refused_before_sending(
        self, canvas: Canvas, emu: CanvasEmulator
    ) -> None:
        with pytest.raises(ValidationError, match="role must be 'User' or 'SuperPartner'"):
            await canvas.accounts.create(
                first_name="A", last_name="B", email="a@example.com", role="Admin"
            )
        assert emu.log == []

    async def test_server_refuses_admin_too(self, canvas: Canvas) -> None:
        """The documented answer, sent past the client-side check."""
        body = {"firstName": "A", "lastName": "B", "email": "a@example.com", "roleName": "Admin"}

        with pytest.raises(BadRequestError) as info:
            await canvas._transport.request("create_account", parse_guid, body=body)

        assert info.value.message == _routes.ADMIN_ROLE_REFUSED_TEXT


class TestApplications:
    async def test_list_and_get(self, canvas: Canvas) -> None:
        apps = await canvas.applications.list()
        quinyx = await canvas.applications.get("QUIN")

        assert quinyx in apps
        assert await canvas.applications.get(quinyx.id) == quinyx
        assert await canvas.applications.get(str(quinyx.id)) == quinyx
        assert await canvas.applications.get("quin") == quinyx
        assert [f.short_name for f in quinyx.credential_fields] == ["apikey", "environment"]

    async def test_get_unknown(self, canvas: Canvas) -> None:
        with pytest.raises(NotFoundError, match="no application 'NOPE'") as info:
            await canvas.applications.get("NOPE")
        assert (info.value.status, info.value.http_status) == (404, 200)


class TestRegApplications:
    async def test_register_stores_credentials_and_returns_the_registration(
        self, acct: AccountView, emu: CanvasEmulator, regs: dict[str, RegApplication]
    ) -> None:
        quin = regs["QUIN"]

        record = emu.state.reg_applications[quin.id]
        assert record.account_id == acct.account_id
        assert record.credentials == {"apikey": "01d6-3e54-cff2-c7d8", "environment": "test"}
        assert (quin.short_name, quin.tag_text, quin.account_id) == (
            "QUIN",
            "Quinyx 2022-04-28",
            acct.account_id,
        )
        assert "01d6-3e54-cff2-c7d8" not in repr(quin)
        assert {r.id for r in await acct.reg_applications.list()} == {
            regs["QUIN"].id,
            regs["FTP"].id,
        }

    async def test_register_by_short_name(self, acct: AccountView, emu: CanvasEmulator) -> None:
        reg = await acct.reg_applications.create("CMAF", tag_text="File Hub", credentials={})

        assert emu.state.reg_applications[reg.id].short_name == "CMAF"

    async def test_bad_credentials_are_refused_before_sending(
        self, acct: AccountView, emu: CanvasEmulator, secret: Callable[[str], str]
    ) -> None:
        ftp = await acct.applications.get("FTP")
        sent = len(emu.log)

        with pytest.raises(ValidationError) as info:
            await ftp.register(tag_text="FTP", credentials={"password": secret("s3cr3t-pass")})

        assert "username (User name) is required" in str(info.value)
        assert len(emu.log) == sent

    async def test_server_names_every_missing_field(self, acct: AccountView) -> None:
        """The documented multi-line answer, sent past the client-side check."""
        ftp = await acct.applications.get("FTP")
        body = {"applicationId": str(ftp.id), "tagText": "FTP", "credentialsJson": "{}"}

        with pytest.raises(BadRequestError) as info:
            await acct._transport.request(
                "create_reg_application", parse_guid, body=body, account_id=acct.account_id
            )

        lines = info.value.message.splitlines()
        assert lines[0] == "Authentication Error: You must enter a value for User name."
        assert "You must enter a value for Password." in lines


class TestTemplates:
    async def test_list_and_get(self, canvas: Canvas) -> None:
        templates = await canvas.templates.list()
        export = await canvas.templates.get(EXPORT_TEMPLATE)

        assert export in templates
        assert export.state is TemplateState.PUBLISHED
        assert export.applications == ("QUIN", "FTP")
        assert [b.block_name for b in export.chain] == ["API - Get Employees", "FTP Upload"]
        assert await canvas.templates.get(export.id) == export

    async def test_get_unknown(self, canvas: Canvas) -> None:
        with pytest.raises(NotFoundError, match="no workflow template 'Nope'"):
            await canvas.templates.get("Nope")


class TestWorkflows:
    async def test_create_from_template(
        self,
        acct: AccountView,
        emu: CanvasEmulator,
        regs: dict[str, RegApplication],
    ) -> None:
        template = await acct.templates.get(EXPORT_TEMPLATE)

        wf = await template.create_workflow(
            name="Export",
            description="Nightly",
            applications={"QUIN": regs["QUIN"], "FTP": regs["FTP"].id},
            variables={"API - Get Employees": {"apiKeys": ["k"]}},
        )

        record = emu.state.workflows[wf.id]
        assert record.account_id == acct.account_id
        assert (wf.name, wf.description, wf.workflow_template_id) == (
            "Export",
            "Nightly",
            template.id,
        )
        assert wf.status is WorkflowStatus.READY
        assert set(wf.reg_application_ids) == {regs["QUIN"].id, regs["FTP"].id}
        assert record.chain[0].variables == {"apiKeys": ["k"], "badgeNo": None}

    async def test_create_by_template_name_and_id(
        self, acct: AccountView, regs: dict[str, RegApplication]
    ) -> None:
        template = await acct.templates.get(EXPORT_TEMPLATE)

        by_name = await acct.workflows.create(EXPORT_TEMPLATE, name="A", applications=regs)
        by_id = await acct.workflows.create(str(template.id), name="B", applications=regs)

        assert by_name.workflow_template_id == by_id.workflow_template_id == template.id
        assert {w.name for w in await acct.workflows.list()} == {"A", "B"}

    async def test_create_checks_before_sending(
        self, acct: AccountView, emu: CanvasEmulator, regs: dict[str, RegApplication]
    ) -> None:
        template = await acct.templates.get(EXPORT_TEMPLATE)
        sent = len(emu.log)

        with pytest.raises(ValidationError, match="missing registrations for FTP"):
            await template.create_workflow(name="X", applications={"QUIN": regs["QUIN"]})
        with pytest.raises(ValidationError, match="no block 'Nope'"):
            await template.create_workflow(name="X", applications=regs, variables={"Nope": {}})
        with pytest.raises(ValidationError, match="name must be a non-empty string"):
            await template.create_workflow(name=" ", applications=regs)

        assert len(emu.log) == sent

    async def test_unknown_template_is_the_documented_envelope(
        self, acct: AccountView, regs: dict[str, RegApplication]
    ) -> None:
        template = await acct.templates.get(EXPORT_TEMPLATE)
        ghost = attrs.evolve(template, id=uuid.UUID("1be52876-aca2-4ece-ba31-11e0d98ddc19"))

        with pytest.raises(ServerError) as info:
            await ghost.create_workflow(name="X", applications=regs)

        assert info.value.status == _routes.UNKNOWN_TEMPLATE_STATE
        assert info.value.message == _routes.UNKNOWN_TEMPLATE_TEXT.format(id=ghost.id)
        assert info.value.account_id == acct.account_id

    async def test_get_list_refresh(self, acct: AccountView, workflow: Workflow) -> None:
        assert await acct.workflows.get(workflow.id) == workflow
        assert await acct.workflows.get(str(workflow.id)) == workflow
        assert await workflow.refresh() == workflow
        assert await acct.workflows.list() == [workflow]

    async def test_get_unknown(self, acct: AccountView) -> None:
        with pytest.raises(NotFoundError) as info:
            await acct.workflows.get(uuid.uuid4())

        assert info.value.status == _routes.NOT_FOUND_STATE
        assert info.value.http_status in (200, 404)

    @pytest.mark.parametrize(
        ("blocks", "ran"), [({}, (1, 2)), ({"from_block": 2}, (2, 2)), ({"till_block": 1}, (1, 1))]
    )
    async def test_run(
        self,
        emu: CanvasEmulator,
        acct: AccountView,
        workflow: Workflow,
        blocks: dict[str, int],
        ran: tuple[int, int],
    ) -> None:
        await workflow.run(**blocks)

        (run,) = emu.state.runs
        assert (run.workflow_id, run.account_id) == (workflow.id, acct.account_id)
        assert (run.run_from_block, run.run_till_block) == ran

    async def test_run_out_of_range_is_the_servers_call(
        self, emu: CanvasEmulator, workflow: Workflow
    ) -> None:
        with pytest.raises(BadRequestError) as info:
            await workflow.run(from_block=2, till_block=4)

        assert info.value.status == _routes.BAD_REQUEST_STATE
        assert emu.state.runs == []

    async def test_run_checks_blocks_before_sending(
        self, emu: CanvasEmulator, workflow: Workflow
    ) -> None:
        sent = len(emu.log)

        with pytest.raises(ValidationError, match=r"from_block \(2\) must not be after"):
            await workflow.run(from_block=2, till_block=1)
        with pytest.raises(ValidationError, match="till_block must be >= 1"):
            await workflow.run(till_block=0)

        assert len(emu.log) == sent

    async def test_schedule_and_unschedule(self, emu: CanvasEmulator, workflow: Workflow) -> None:
        scheduled = await workflow.schedule("0 0/5 * ? * * *")

        record = emu.state.workflows[workflow.id]
        assert record.is_scheduled
        assert json.loads(record.scheduler_frequency or "") == {"cronSchedule": "0 0/5 * ? * * *"}
        assert (scheduled.is_scheduled, scheduled.cron) == (True, "0 0/5 * ? * * *")
        assert scheduled.date_next_schedule is not None
        assert scheduled.next_runs(2, after=datetime(2022, 5, 3, 2, 1, tzinfo=UTC)) == [
            datetime(2022, 5, 3, 2, 5, tzinfo=UTC),
            datetime(2022, 5, 3, 2, 10, tzinfo=UTC),
        ]

        off = await scheduled.unschedule()

        assert not emu.state.workflows[workflow.id].is_scheduled
        assert (off.is_scheduled, off.cron, off.next_runs()) == (False, "0 0/5 * ? * * *", [])

    async def test_schedule_sends_the_canonical_form(
        self, emu: CanvasEmulator, workflow: Workflow
    ) -> None:
        await workflow.schedule(Cron.parse("0 */5 * * * ?"))

        assert json.loads(emu.state.workflows[workflow.id].scheduler_frequency or "") == {
            "cronSchedule": str(Cron.parse("0 */5 * * * ?"))
        }

    async def test_bad_cron_is_refused_before_sending(
        self, emu: CanvasEmulator, workflow: Workflow
    ) -> None:
        sent = len(emu.log)

        with pytest.raises(CronError) as info:
            await workflow.schedule("*/5 * * * *")  # Unix, not Quartz

        assert isinstance(info.value, ValidationError)
        assert len(emu.log) == sent

    async def test_delete(self, emu: CanvasEmulator, acct: AccountView, workflow: Workflow) -> None:
        await workflow.delete()

        assert workflow.id not in emu.state.workflows
        assert await acct.workflows.list() == []
        with pytest.raises(NotFoundError):
            await workflow.refresh()

    async def test_foreign_account_is_refused(self, canvas: Canvas, emu: CanvasEmulator) -> None:
        mine = {*emu.state.managed_ids, emu.state.caller_id}
        foreign = next(a for a in emu.state.accounts if a not in mine)

        with pytest.raises(PermissionDeniedError) as info:
            await canvas.for_account(foreign).workflows.list()

        assert info.value.account_id == foreign
        assert str(foreign) in str(info.value)

    async def test_the_callers_own_workflows(self, canvas: Canvas, emu: CanvasEmulator) -> None:
        """Without ``for_account``, the caller's own account is used (sample data)."""
        workflows = await canvas.workflows.list()

        assert {w.account_id for w in workflows} == {emu.state.caller_id}
        quinyx_random = next(w for w in workflows if w.name == "QuinyxRandom")
        # The documented example: last run 2022-04-26 06:00, next 2022-05-03 02:00.
        assert quinyx_random.next_runs(1, after=quinyx_random.date_last_run) == [
            datetime(2022, 5, 3, 2, 0, tzinfo=UTC)
        ]


class TestActiveRecord:
    async def test_models_act_through_their_view(
        self, canvas: Canvas, acct: AccountView, workflow: Workflow
    ) -> None:
        assert workflow._view == acct
        listed = await acct.workflows.list()
        assert listed[0]._view == acct

    async def test_unbound_model_says_so(self) -> None:
        wf = Workflow(
            id=uuid.uuid4(),
            name="x",
            description=None,
            status="Ready",
            is_scheduled=False,
            cron=None,
            workflow_template_id=None,
            is_customized_structure=False,
            account_id=uuid.uuid4(),
            organization_id=uuid.uuid4(),
            date_created=None,
            date_modified=None,
            date_last_run=None,
            date_next_schedule=None,
            reg_application_ids=(),
            current_block=0,
        )

        with pytest.raises(NotBoundError, match="this Workflow was not loaded through"):
            await wf.refresh()

    def test_for_account_takes_an_account_model(self, canvas: Canvas) -> None:
        account = Account(
            id=uuid.uuid4(),
            first_name="a",
            last_name="b",
            email="a@b.co",
            organization_id=uuid.uuid4(),
            organization_name="o",
            role_id=uuid.uuid4(),
            role=Role.USER,
            date_created=None,
        )
        assert canvas.for_account(account).account_id == account.id

    async def test_application_and_template_are_bound(self, acct: AccountView) -> None:
        app = await acct.applications.get("QUIN")
        template = await acct.templates.get(EXPORT_TEMPLATE)

        assert isinstance(app, Application)
        assert isinstance(template, WorkflowTemplate)
        assert app._view == template._view == acct
