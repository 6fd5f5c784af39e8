"""Dialects: each documented answer where the pages disagree, and a drifting catalogue."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from canvas_async._routes import RUN_TEXT, SCHEDULER_DISABLED_TEXT, SCHEDULER_ENABLED_TEXT
from canvas_async.testing import CanvasEmulator, Dialect
from canvas_async.testing._cli import _parser, main
from tests.emulator.emulator_support import MANAGED, ORDER_WORKFLOW, Api
from tests.support import started

NEW_ACCOUNT = {"firstName": "Ada", "lastName": "L", "email": "ada@example.org", "roleName": "User"}


@pytest.fixture
async def dialect_api(
    session: aiohttp.ClientSession, request: pytest.FixtureRequest
) -> AsyncIterator[Api]:
    dialect: Dialect = request.param
    async with started(CanvasEmulator(dialect=dialect)) as emu:
        yield Api(session, emu)


def _with(**fields: Any) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("dialect_api", [Dialect(**fields)], indirect=True)


class TestAnswers:
    @pytest.mark.parametrize(
        ("form", "expected"), [("text", RUN_TEXT), ("empty", ""), ("true", True), ("guid", None)]
    )
    async def test_run_workflow(
        self, session: aiohttp.ClientSession, form: str, expected: object
    ) -> None:
        dialect = Dialect(run=form)  # type: ignore[arg-type]
        async with started(CanvasEmulator(dialect=dialect)) as emu:
            answer = await Api(session, emu).ok("run_workflow", body={"workflowId": ORDER_WORKFLOW})
            (run,) = emu.state.runs

        assert answer == (str(run.id) if form == "guid" else expected)

    @pytest.mark.parametrize(
        ("form", "on", "off"),
        [
            ("text", SCHEDULER_ENABLED_TEXT, SCHEDULER_DISABLED_TEXT),
            ("empty", "", ""),
            ("true", True, True),
        ],
    )
    async def test_workflow_scheduler(
        self, session: aiohttp.ClientSession, form: str, on: object, off: object
    ) -> None:
        dialect = Dialect(scheduler=form)  # type: ignore[arg-type]
        async with started(CanvasEmulator(dialect=dialect)) as emu:
            api = Api(session, emu)
            body = {"workflowId": ORDER_WORKFLOW, "isScheduled": True}
            assert await api.ok("workflow_scheduler", body=body) == on
            assert await api.ok("workflow_scheduler", body={**body, "isScheduled": False}) == off
            assert emu.state.workflows[uuid.UUID(ORDER_WORKFLOW)].is_scheduled is False

    @pytest.mark.parametrize("form", ["id", "empty"])
    async def test_account(self, session: aiohttp.ClientSession, form: str) -> None:
        dialect = Dialect(account=form)  # type: ignore[arg-type]
        async with started(CanvasEmulator(dialect=dialect)) as emu:
            answer = await Api(session, emu).ok("create_account", body=NEW_ACCOUNT)
            (created,) = [a for a in emu.state.accounts.values() if a.email == "ada@example.org"]

        assert answer == (str(created.id) if form == "id" else "")

    @pytest.mark.parametrize("form", ["true", "empty", "guid"])
    async def test_delete_workflow(self, session: aiohttp.ClientSession, form: str) -> None:
        dialect = Dialect(delete=form)  # type: ignore[arg-type]
        async with started(CanvasEmulator(dialect=dialect)) as emu:
            answer = await Api(session, emu).ok("delete_workflow", query={"id": ORDER_WORKFLOW})
            assert uuid.UUID(ORDER_WORKFLOW) not in emu.state.workflows

        assert answer == {"true": True, "empty": "", "guid": ORDER_WORKFLOW}[form]


class TestCatalogue:
    @_with()
    async def test_documented_lists_accounts_and_serves_both_paths(self, dialect_api: Api) -> None:
        names = [e["name"] for e in await dialect_api.ok("get_metadata")]

        assert "Accounts" in names
        assert "Clients" not in names
        assert await dialect_api.ok("list_accounts") == await dialect_api.ok(
            "list_accounts", alias=True
        )

    @_with(accounts_path="clients")
    async def test_clients_only(self, dialect_api: Api) -> None:
        names = [e["name"] for e in await dialect_api.ok("get_metadata")]

        assert "Clients" in names
        assert "Accounts" not in names
        assert (await dialect_api.call("list_accounts")).status == 404
        assert len(await dialect_api.ok("list_accounts", alias=True)) == 3

    @_with(accounts_path="accounts")
    async def test_accounts_only(self, dialect_api: Api) -> None:
        assert (await dialect_api.call("list_accounts", alias=True)).status == 404
        assert len(await dialect_api.ok("list_accounts")) == 3

    @_with(renamed={"RunWorkflow": "StartWorkflow"})
    async def test_a_renamed_operation_is_listed_and_served_under_its_new_name(
        self, dialect_api: Api
    ) -> None:
        listed = {e["name"]: e for e in await dialect_api.ok("get_metadata")}
        url = dialect_api.emu.url + "/StartWorkflow"
        body = {"workflowId": ORDER_WORKFLOW}
        async with dialect_api.session.post(url, json=body, headers=dialect_api.keys) as response:
            assert response.status == 200

        assert "RunWorkflow" not in listed
        assert listed["StartWorkflow"]["verb"] == "POST"
        assert (await dialect_api.call("run_workflow", body=body)).status == 404
        assert len(dialect_api.emu.state.runs) == 1

    @_with(required={"AddAccountApiDto.phone", "addaccountapidto.language"})
    async def test_required_fields_in_describe(self, dialect_api: Api) -> None:
        described = await dialect_api.ok("describe", query={"name": "AddAccountApiDto"})
        required = {p["propertyName"] for p in described if p["isRequired"]}
        other = await dialect_api.ok("describe", query={"name": "AddWorkflowApiDto"})

        assert required == {"firstName", "lastName", "email", "roleName", "phone", "language"}
        assert [p["isRequired"] for p in other] == [True, False, False, True, False]

    @_with()
    async def test_the_account_header_still_scopes_calls(self, dialect_api: Api) -> None:
        assert await dialect_api.ok("list_workflows", account=MANAGED) == []


class TestOptions:
    def test_metadata_preset(self) -> None:
        dialect = Dialect.metadata()

        assert (dialect.run, dialect.scheduler, dialect.account, dialect.delete) == (
            "guid",
            "empty",
            "empty",
            "guid",
        )
        assert dialect.accounts_path == "clients"
        assert Dialect().with_option("metadata") == dialect

    def test_options_compose(self) -> None:
        dialect = (
            Dialect()
            .with_option("run=guid")
            .with_option("accounts=clients")
            .with_option("rename=RunWorkflow:StartWorkflow")
            .with_option("require=AddAccountApiDto.phone")
        )

        assert dialect.run == "guid"
        assert dialect.accounts_path == "clients"
        assert dict(dialect.renamed) == {"RunWorkflow": "StartWorkflow"}
        assert dialect.required == {"AddAccountApiDto.phone"}

    @pytest.mark.parametrize(
        ("option", "message"),
        [
            ("run=maybe", "run must be one of text, guid, empty, true"),
            ("colour=blue", "unknown answer option 'colour'"),
            ("run", "expected NAME=VALUE"),
            ("rename=RunWorkflow", "expected rename=Old:New"),
            ("require=phone", "expected require=Dto.property"),
        ],
    )
    def test_bad_options_are_named(self, option: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            Dialect().with_option(option)

    def test_a_bad_value_is_refused_at_construction(self) -> None:
        with pytest.raises(ValueError, match="delete must be one of true, empty, guid"):
            Dialect(delete="false")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="dialect must be a Dialect"):
            CanvasEmulator(dialect="metadata")  # type: ignore[arg-type]

    def test_the_command_takes_answers(self) -> None:
        args = _parser().parse_args(["--answer", "metadata", "--answer", "run=true"])

        assert args.answer == ["metadata", "run=true"]

    def test_the_command_refuses_a_bad_answer(self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as info:
            main(["--answer", "run=maybe"])

        assert info.value.code == 2
        assert "run must be one of" in capsys.readouterr().err
