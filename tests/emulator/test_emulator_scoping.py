"""ManagedAccountId: acting for a managed account, and never for anyone else."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from canvas_async._routes import ROUTES, Auth
from tests.emulator.emulator_support import (
    CALLER,
    CALLER_FTP,
    CALLER_QUIN,
    FOREIGN,
    FOREIGN_REG_APP,
    FOREIGN_WORKFLOW,
    FTP_APP,
    MANAGED,
    ORDER_WORKFLOW,
    PAYLOADS,
    QUINYX_APP,
    QUINYX_TEMPLATE,
    Api,
    snapshot,
)

SESSION_KEYS = [route.key for route in ROUTES.values() if route.auth is Auth.SESSION]

QUINYX_CREDENTIALS = '{"apikey": "k", "environment": "test"}'
FTP_CREDENTIALS = '{"username": "u", "password": "p", "port": 21, "address": "ftp.example.org"}'


def plausible_body(key: str, workflow_id: str) -> dict[str, Any]:
    """A body that would succeed for the caller, for routes that take one."""
    bodies: dict[str, dict[str, Any]] = {
        "create_account": {**PAYLOADS["Account:body"], "email": f"{uuid.uuid4()}@example.org"},
        "create_reg_application": PAYLOADS["RegApplication:body1"],
        "create_workflow": {
            "workflowTemplateId": QUINYX_TEMPLATE,
            "applications": {"QUIN": CALLER_QUIN, "FTP": CALLER_FTP},
        },
        "run_workflow": {"workflowId": workflow_id},
        "workflow_scheduler": {**PAYLOADS["WorkflowScheduler:body"], "workflowId": workflow_id},
    }
    return bodies.get(key, {})


@pytest.mark.parametrize("key", SESSION_KEYS)
@pytest.mark.parametrize("account", [FOREIGN, str(uuid.uuid4())], ids=["foreign", "unknown"])
async def test_other_accounts_are_forbidden_on_every_route(
    api: Api, key: str, account: str
) -> None:
    before = snapshot(api.emu)
    answer = await api.call(
        key, account=account, query={"id": ORDER_WORKFLOW}, body=plausible_body(key, ORDER_WORKFLOW)
    )
    assert answer.status == 403
    assert answer.envelope == (403, f"Account {account} is not managed by your organization")
    assert snapshot(api.emu) == before


@pytest.mark.parametrize("key", SESSION_KEYS)
@pytest.mark.parametrize("header", ["not-a-guid", "", "41a31538-1120-4bdf-a6cb-675eeedd7d2", "{x}"])
async def test_a_malformed_account_header_is_a_400(api: Api, key: str, header: str) -> None:
    before = snapshot(api.emu)
    answer = await api.call(
        key, account=header, query={"id": ORDER_WORKFLOW}, body=plausible_body(key, ORDER_WORKFLOW)
    )
    assert answer.status == 400
    assert answer.envelope is not None
    assert "ManagedAccountId" in answer.envelope[1]
    assert snapshot(api.emu) == before


async def test_the_callers_own_id_acts_as_without_the_header(api: Api) -> None:
    assert await api.ok("list_workflows", account=CALLER) == PAYLOADS["Workflows"]
    assert (
        await api.ok("list_reg_applications", account=CALLER.upper()) == PAYLOADS["RegApplications"]
    )


async def test_a_managed_account_sees_only_its_own_data(api: Api) -> None:
    assert await api.ok("list_workflows", account=MANAGED) == []
    assert await api.ok("list_reg_applications", account=MANAGED) == []
    # The catalog and the accounts list do not depend on the account.
    assert await api.ok("list_accounts", account=MANAGED) == PAYLOADS["Accounts"]
    assert await api.ok("list_workflow_templates", account=MANAGED) == PAYLOADS["WorkflowTemplates"]


@pytest.mark.parametrize(
    ("key", "query", "body"),
    [
        ("get_workflow", {"id": FOREIGN_WORKFLOW}, None),
        ("delete_workflow", {"id": FOREIGN_WORKFLOW}, None),
        ("run_workflow", None, {"workflowId": FOREIGN_WORKFLOW}),
        (
            "workflow_scheduler",
            None,
            {"workflowId": FOREIGN_WORKFLOW, "isScheduled": False},
        ),
    ],
)
@pytest.mark.parametrize("account", [None, MANAGED])
async def test_foreign_workflows_are_unknown(
    api: Api, key: str, query: dict[str, str] | None, body: Any, account: str | None
) -> None:
    before = snapshot(api.emu)
    answer = await api.call(key, query=query, body=body, account=account)
    assert answer.status == 404
    assert answer.envelope == (404, f"Unknown workflow {FOREIGN_WORKFLOW}")
    assert snapshot(api.emu) == before


async def test_callers_workflow_is_unknown_to_a_managed_account(api: Api) -> None:
    answer = await api.call("get_workflow", query={"id": ORDER_WORKFLOW}, account=MANAGED)
    assert answer.envelope == (404, f"Unknown workflow {ORDER_WORKFLOW}")


async def test_writes_land_on_the_managed_account(api: Api) -> None:
    quin = await api.ok(
        "create_reg_application",
        account=MANAGED,
        body={"applicationId": QUINYX_APP, "credentialsJson": QUINYX_CREDENTIALS},
    )
    ftp = await api.ok(
        "create_reg_application",
        account=MANAGED,
        body={"applicationId": FTP_APP, "credentialsJson": FTP_CREDENTIALS},
    )
    regs = await api.ok("list_reg_applications", account=MANAGED)
    assert [(reg["id"], reg["accountId"]) for reg in regs] == [(quin, MANAGED), (ftp, MANAGED)]
    assert await api.ok("list_reg_applications") == PAYLOADS["RegApplications"]

    body = {"workflowTemplateId": QUINYX_TEMPLATE, "applications": {"QUIN": quin, "FTP": ftp}}
    workflow_id = await api.ok("create_workflow", account=MANAGED, body=body)
    workflow = await api.ok("get_workflow", account=MANAGED, query={"id": workflow_id})
    assert workflow["accountId"] == MANAGED
    assert workflow["organizationId"] == "00000000-0000-0000-0000-000000000000"  # Nathan's
    assert await api.ok("list_workflows") == PAYLOADS["Workflows"]


@pytest.mark.parametrize("account", [None, MANAGED])
async def test_registered_applications_of_others_cannot_be_used(
    api: Api, account: str | None
) -> None:
    # The caller's own QUIN is foreign to the managed account, and the foreign
    # organization's QUIN is foreign to both.
    quin = FOREIGN_REG_APP if account is None else CALLER_QUIN
    before = snapshot(api.emu)
    answer = await api.call(
        "create_workflow",
        account=account,
        body={"workflowTemplateId": QUINYX_TEMPLATE, "applications": {"QUIN": quin, "FTP": quin}},
    )
    assert answer.envelope == (400, f"Unknown registered application {quin}")
    assert snapshot(api.emu) == before


async def test_new_accounts_become_managed(api: Api) -> None:
    body = {**PAYLOADS["Account:body"], "email": "new.person@example.org"}
    account_id = await api.ok("create_account", body=body, account=MANAGED)
    assert await api.ok("list_workflows", account=account_id) == []
    account = api.emu.state.accounts[uuid.UUID(account_id)]
    # Created in the organization of the account the call acted for.
    assert str(account.organization_id) == "00000000-0000-0000-0000-000000000000"
