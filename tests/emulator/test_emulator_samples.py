"""Every documented example of seed 001 comes back field for field."""

from __future__ import annotations

import json
import uuid

import pytest

from canvas_async._routes import ROUTES, Auth
from tests.emulator.emulator_support import (
    CALLER_FTP,
    CALLER_QUIN,
    ORDER_WORKFLOW,
    PAYLOADS,
    QUINYX_TEMPLATE,
    Api,
)


def _is_guid(value: object) -> bool:
    return isinstance(value, str) and str(uuid.UUID(value)) == value


@pytest.mark.parametrize(
    ("key", "query", "payload"),
    [
        ("get_metadata", None, "GetMetaData"),
        ("describe", {"name": "AddWorkflowApiDto"}, "Describe:AddWorkflowApiDto"),
        ("authenticate", None, "Authenticate"),
        ("list_accounts", None, "Accounts"),
        ("list_reg_applications", None, "RegApplications"),
        ("list_workflow_templates", None, "WorkflowTemplates"),
        ("list_workflows", None, "Workflows"),
        ("get_workflow", {"id": ORDER_WORKFLOW}, "Workflow"),
        ("delete_workflow", {"id": ORDER_WORKFLOW}, "DeleteWorkflow"),
    ],
)
async def test_documented_answers(api: Api, key: str, query: dict[str, str], payload: str) -> None:
    served = await api.ok(key, query=query)
    assert served == PAYLOADS[payload]
    # Keys come in the documented order too.
    assert json.dumps(served) == json.dumps(PAYLOADS[payload])


async def test_clients_is_an_alias_of_accounts(api: Api) -> None:
    assert await api.ok("list_accounts", alias=True) == PAYLOADS["Accounts"]


async def test_documented_applications_are_served_in_place(api: Api) -> None:
    # The page elides applications between Quinyx and Talent Manager ("...").
    served = await api.ok("list_applications")
    documented = PAYLOADS["Applications"]
    assert served[:2] == documented[:2]
    assert served[-1] == documented[-1]
    assert json.dumps(served[:2] + served[-1:]) == json.dumps(documented)
    assert {app["shortName"] for app in served} >= {"FTP", "CMAF", "MSQL", "MYST2", "FIKE"}


async def test_sample_application_references_resolve(api: Api) -> None:
    apps = {app["id"]: app for app in await api.ok("list_applications")}
    for reg in PAYLOADS["RegApplications"]:
        assert apps[reg["applicationId"]]["shortName"] == reg["shortName"]
        assert apps[reg["applicationId"]]["name"] == reg["name"]
    short_names = {app["shortName"] for app in apps.values()}
    for template in PAYLOADS["WorkflowTemplates"]:
        assert set(template["applications"]) <= short_names


async def test_account_examples(api: Api) -> None:
    body = PAYLOADS["Account:body"]
    account_id = await api.ok("create_account", body=body)
    assert _is_guid(account_id)
    listed = {account["id"]: account for account in await api.ok("list_accounts")}
    assert listed[account_id]["email"] == body["email"]

    again = await api.call("create_account", body=body)
    assert (again.status, again.text) == (400, PAYLOADS["Account:errors"][0])
    admin = await api.call("create_account", body={**body, "email": "x@y.z", "roleName": "Admin"})
    assert (admin.status, admin.text) == (400, PAYLOADS["Account:errors"][1])


async def test_reg_application_examples(api: Api) -> None:
    reg_id = await api.ok("create_reg_application", body=PAYLOADS["RegApplication:body1"])
    assert _is_guid(reg_id)

    refused = await api.call("create_reg_application", body=PAYLOADS["RegApplication:body2"])
    assert (refused.status, refused.text) == (400, PAYLOADS["RegApplication:error"])
    assert refused.headers["Content-Type"].startswith("text/plain")


async def test_workflow_examples(api: Api) -> None:
    # The example's application ids name no registered application here; the
    # caller's own QUIN and FTP registrations stand in for them.
    body = {**PAYLOADS["Workflow:body"], "applications": {"QUIN": CALLER_QUIN, "FTP": CALLER_FTP}}
    workflow_id = await api.ok("create_workflow", body=body)
    assert _is_guid(workflow_id)

    unknown = PAYLOADS["Workflow:error"]["Msg"].removeprefix("Unknown workflow template ")
    refused = await api.call("create_workflow", body={**body, "workflowTemplateId": unknown})
    assert refused.json() == PAYLOADS["Workflow:error"]


async def test_run_workflow_examples(api: Api) -> None:
    answer = PAYLOADS["RunWorkflow:answer"]
    for example in ("RunWorkflow:body1", "RunWorkflow:body2", "RunWorkflow:body3"):
        body = {**PAYLOADS[example], "workflowId": ORDER_WORKFLOW}
        assert await api.ok("run_workflow", body=body) == answer


async def test_run_example_3_is_out_of_range_for_a_two_block_workflow(api: Api) -> None:
    body = {**PAYLOADS["Workflow:body"], "applications": {"QUIN": CALLER_QUIN, "FTP": CALLER_FTP}}
    workflow_id = await api.ok("create_workflow", body=body)
    assert body["workflowTemplateId"] == QUINYX_TEMPLATE  # a chain of 2 blocks

    refused = await api.call(
        "run_workflow", body={**PAYLOADS["RunWorkflow:body3"], "workflowId": workflow_id}
    )
    assert refused.status == 400
    assert refused.envelope == (
        400,
        f"Blocks 2 to 4 are out of range: workflow {workflow_id} has 2 blocks",
    )


async def test_workflow_scheduler_examples(api: Api) -> None:
    enabled, disabled = PAYLOADS["WorkflowScheduler:answers"]
    body = {**PAYLOADS["WorkflowScheduler:body"], "workflowId": ORDER_WORKFLOW}
    assert await api.ok("workflow_scheduler", body=body) == enabled
    assert await api.ok("workflow_scheduler", body={**body, "isScheduled": False}) == disabled


@pytest.mark.parametrize(
    "key", [route.key for route in ROUTES.values() if route.auth in (Auth.SESSION, Auth.KEYS)]
)
async def test_unauthorized_without_keys(api: Api, key: str) -> None:
    answer = await api.call(key, headers={})
    assert (answer.status, answer.text) == (401, PAYLOADS["Unauthorized"])
