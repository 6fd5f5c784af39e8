"""Workflows: created from templates, run by blocks, scheduled, deleted."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from canvas_async._routes import RUN_TEXT, SCHEDULER_DISABLED_TEXT, SCHEDULER_ENABLED_TEXT
from canvas_async.testing import ManualClock
from tests.emulator.emulator_support import (
    CALLER,
    CALLER_FTP,
    CALLER_QUIN,
    ORDER_WORKFLOW,
    QUINYX_TEMPLATE,
    Api,
    snapshot,
)

GET_EMPLOYEES = "02d1424a-da90-4c12-9c28-96162e624bd7"
FTP_UPLOAD = "25782580-aabe-4a03-be1c-bc45dacd7e60"
QUINYX_RANDOM = "a78cee1b-adca-4777-9261-f86e4640e7db"
MYSTORE_TEMPLATE = "3b76ca61-bca9-4995-90ba-7190c1dd567b"  # MYST2 + CMAF
FILE_HUB_REG = "dbdd41cf-28de-4d2d-9771-7105c2165bcf"  # the caller's CMAF


def new_workflow(**changes: Any) -> dict[str, Any]:
    return {
        "workflowTemplateId": QUINYX_TEMPLATE,
        "applications": {"QUIN": CALLER_QUIN, "FTP": CALLER_FTP},
        **changes,
    }


# -- Workflow (post) ------------------------------------------------------------------


async def test_a_workflow_copies_its_template(api: Api) -> None:
    overrides = [{"uniqueBlockId": GET_EMPLOYEES, "variables": {"apiKeys": ["xxxx"]}}]
    workflow_id = await api.ok("create_workflow", body=new_workflow(name="Mine", chain=overrides))
    assert await api.ok("get_workflow", query={"id": workflow_id}) == {
        "id": workflow_id,
        "name": "Mine",
        "description": "Quinyx Employee Export Into FTP(CSV)",
        "status": "Ready",
        "isScheduled": False,
        "schedulerFrequency": '{ "cronSchedule": "0 0 * ? * *"}',
        "workflowTemplateId": QUINYX_TEMPLATE,
        "isCustomizedStructure": False,
        "accountId": CALLER,
        "organizationId": "00000000-0000-0000-0000-000000000001",
        "dateCreated": "2022-04-27T10:18:55.1774280",
        "dateModified": "2022-04-27T10:18:55.1774280",
        "dateLastRun": None,
        "dateNextSchedule": None,
        "regApplicationIds": [CALLER_QUIN, CALLER_FTP],
        "currentBlock": 0,
    }
    chain = api.emu.state.workflows[uuid.UUID(workflow_id)].chain
    assert [(str(b.unique_block_id), b.variables) for b in chain] == [
        (GET_EMPLOYEES, {"apiKeys": ["xxxx"], "badgeNo": None}),
        (
            FTP_UPLOAD,
            {
                "filename": "NY_Employees_{date:yyyy-MM-dd-HH-mm}",
                "fileformat": "csv",
                "filepath": "/",
            },
        ),
    ]
    # The template itself is untouched.
    template = api.emu.state.templates[uuid.UUID(QUINYX_TEMPLATE)]
    assert template.chain[0].variables == {"apiKeys": [], "badgeNo": None}


async def test_regapplication_ids_follow_the_templates_order(api: Api) -> None:
    workflow_id = await api.ok(
        "create_workflow",
        body=new_workflow(applications={"FTP": CALLER_FTP, "QUIN": CALLER_QUIN}),
    )
    workflow = await api.ok("get_workflow", query={"id": workflow_id})
    assert workflow["regApplicationIds"] == [CALLER_QUIN, CALLER_FTP]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            new_workflow(chain=[{"uniqueBlockId": FTP_UPLOAD, "variables": {}}] * 2),
            "AddWorkflowApiDto.chain names a block more than once",
        ),
        (
            new_workflow(applications={"QUIN": CALLER_QUIN}),
            "applications must name a registered FTP application",
        ),
        (
            new_workflow(
                applications={"QUIN": CALLER_QUIN, "FTP": CALLER_FTP, "CMAF": FILE_HUB_REG}
            ),
            f"The workflow template {QUINYX_TEMPLATE} does not use CMAF; it uses QUIN, FTP",
        ),
        (
            new_workflow(applications={"QUIN": CALLER_FTP, "FTP": CALLER_QUIN}),
            f"The registered application {CALLER_FTP} is FTP, not QUIN",
        ),
        (
            new_workflow(applications={"QUIN": CALLER_QUIN, "FTP": "nope"}),
            "AddWorkflowApiDto.applications['FTP'] must be a GUID like "
            "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1",
        ),
        (
            new_workflow(applications=[CALLER_QUIN, CALLER_FTP]),
            "AddWorkflowApiDto.applications must be a JSON object",
        ),
        (
            {"applications": {"QUIN": CALLER_QUIN, "FTP": CALLER_FTP}},
            "AddWorkflowApiDto.workflowTemplateId is required",
        ),
        (new_workflow(chain={}), "AddWorkflowApiDto.chain must be a JSON array"),
        (
            new_workflow(chain=[{"variables": {}}]),
            "AddWorkflowApiDto.chain[0].uniqueBlockId is required",
        ),
        (
            new_workflow(chain=[{"uniqueBlockId": FTP_UPLOAD, "variables": []}]),
            "AddWorkflowApiDto.chain[0].variables must be a JSON object",
        ),
    ],
)
async def test_workflow_input_is_checked(api: Api, body: Any, message: str) -> None:
    before = snapshot(api.emu)
    answer = await api.call("create_workflow", body=body)
    assert (answer.status, answer.envelope) == (400, (400, message))
    assert snapshot(api.emu) == before


async def test_an_unknown_block_is_refused(api: Api) -> None:
    block = str(uuid.uuid4())
    answer = await api.call(
        "create_workflow", body=new_workflow(chain=[{"uniqueBlockId": block, "variables": {}}])
    )
    assert answer.envelope == (400, f"Unknown block {block} in workflow template {QUINYX_TEMPLATE}")


async def test_an_unknown_template_is_the_documented_envelope(api: Api) -> None:
    template = str(uuid.uuid4())
    before = snapshot(api.emu)
    answer = await api.call("create_workflow", body=new_workflow(workflowTemplateId=template))
    assert (answer.status, answer.json()) == (
        500,
        {"State": 500, "Msg": f"Unknown workflow template {template}"},
    )
    assert snapshot(api.emu) == before


async def test_every_sample_template_can_be_used(api: Api) -> None:
    # MyStore needs an MYST2 registration first; the caller has a CMAF one.
    mystore = await api.ok(
        "create_reg_application",
        body={
            "applicationId": "4eb4440a-b2f5-4570-94e1-70f942b0349c",
            "credentialsJson": '{"shopurl": "https://shop.example.org", "apikey": "k"}',
        },
    )
    body = {
        "workflowTemplateId": MYSTORE_TEMPLATE,
        "applications": {"MYST2": mystore, "CMAF": FILE_HUB_REG},
    }
    workflow_id = await api.ok("create_workflow", body=body)
    assert len(api.emu.state.workflows[uuid.UUID(workflow_id)].chain) == 2


# -- RunWorkflow ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ({}, (1, 4)),
        ({"runTillBlock": 2}, (1, 2)),
        ({"runFromBlock": 3}, (3, 4)),
        ({"runFromBlock": 4, "runTillBlock": 4}, (4, 4)),
    ],
)
async def test_a_run_is_logged_and_moves_the_workflow(
    api: Api, clock: ManualClock, blocks: dict[str, int], expected: tuple[int, int]
) -> None:
    clock.set(datetime(2022, 4, 12, 10, 36, 57, 877000, tzinfo=UTC))
    assert await api.ok("run_workflow", body={"workflowId": ORDER_WORKFLOW, **blocks}) == RUN_TEXT
    [run] = api.emu.state.runs
    assert (run.run_from_block, run.run_till_block) == expected
    assert (str(run.workflow_id), str(run.account_id), run.at) == (
        ORDER_WORKFLOW,
        CALLER,
        clock.now(),
    )
    workflow = await api.ok("get_workflow", query={"id": ORDER_WORKFLOW})
    assert workflow["dateLastRun"] == "2022-04-12T10:36:57.877+00:00"
    assert workflow["currentBlock"] == expected[1]


@pytest.mark.parametrize(
    ("blocks", "first", "last"),
    [
        ({"runFromBlock": 0}, 0, 4),
        ({"runTillBlock": 5}, 1, 5),
        ({"runFromBlock": 3, "runTillBlock": 2}, 3, 2),
        ({"runFromBlock": -1, "runTillBlock": 2}, -1, 2),
        ({"runFromBlock": 5}, 5, 4),
    ],
)
async def test_blocks_out_of_range_are_refused(
    api: Api, blocks: dict[str, int], first: int, last: int
) -> None:
    before = snapshot(api.emu)
    answer = await api.call("run_workflow", body={"workflowId": ORDER_WORKFLOW, **blocks})
    assert (answer.status, answer.envelope) == (
        400,
        (400, f"Blocks {first} to {last} are out of range: workflow {ORDER_WORKFLOW} has 4 blocks"),
    )
    assert snapshot(api.emu) == before


@pytest.mark.parametrize("value", ["2", 2.5, True, [2]])
async def test_block_numbers_are_whole_numbers(api: Api, value: object) -> None:
    answer = await api.call(
        "run_workflow", body={"workflowId": ORDER_WORKFLOW, "runFromBlock": value}
    )
    assert answer.envelope == (400, "RunMetadataApiDto.runFromBlock must be a whole number")
    assert api.emu.state.runs == []


# -- WorkflowScheduler ------------------------------------------------------------------


async def test_scheduling_computes_the_next_run(api: Api, clock: ManualClock) -> None:
    # The seed's own example: last run 2022-04-26 06:00, next 2022-05-03 02:00.
    clock.set(datetime(2022, 4, 26, 6, 0, 28, 976000, tzinfo=UTC))
    frequency = '{"cronSchedule":"0 0 2,6 ? * TUE *"}'
    body = {"workflowId": ORDER_WORKFLOW, "isScheduled": True, "scheduleFrequency": frequency}
    assert await api.ok("workflow_scheduler", body=body) == SCHEDULER_ENABLED_TEXT
    workflow = await api.ok("get_workflow", query={"id": ORDER_WORKFLOW})
    assert (workflow["isScheduled"], workflow["schedulerFrequency"]) == (True, frequency)
    assert workflow["dateNextSchedule"] == "2022-05-03T02:00:00+00:00"
    assert workflow["dateModified"] == "2022-04-26T06:00:28.9760000"

    off = {"workflowId": ORDER_WORKFLOW, "isScheduled": False}
    assert await api.ok("workflow_scheduler", body=off) == SCHEDULER_DISABLED_TEXT
    workflow = await api.ok("get_workflow", query={"id": ORDER_WORKFLOW})
    assert (workflow["isScheduled"], workflow["dateNextSchedule"]) == (False, None)
    assert workflow["schedulerFrequency"] == frequency


async def test_enabling_without_a_frequency_uses_the_stored_one(
    api: Api, clock: ManualClock
) -> None:
    # The workflow's stored schedule is "0 0 0/1 ? * * *": every hour.
    clock.set(datetime(2022, 4, 26, 6, 0, 28, tzinfo=UTC))
    body = {"workflowId": ORDER_WORKFLOW, "isScheduled": True}
    assert await api.ok("workflow_scheduler", body=body) == SCHEDULER_ENABLED_TEXT
    workflow = await api.ok("get_workflow", query={"id": ORDER_WORKFLOW})
    assert workflow["dateNextSchedule"] == "2022-04-26T07:00:00+00:00"
    assert workflow["schedulerFrequency"] == '{"cronSchedule":"0 0 0/1 ? * * *"}'


@pytest.mark.parametrize("scheduled", [True, False])
@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 0 * * * *", "day-of-week"),
        ("61 0 * ? * *", "second"),
        ("every day", "invalid cron expression"),
        ("0 0 0 30 2 ?", "never"),
    ],
)
async def test_an_invalid_cron_is_a_400_naming_the_problem(
    api: Api, scheduled: bool, cron: str, problem: str
) -> None:
    before = snapshot(api.emu)
    frequency = json.dumps({"cronSchedule": cron})
    body = {"workflowId": QUINYX_RANDOM, "isScheduled": scheduled, "scheduleFrequency": frequency}
    answer = await api.call("workflow_scheduler", body=body)
    assert answer.status == 400
    assert answer.envelope is not None
    assert problem in answer.envelope[1]
    assert snapshot(api.emu) == before


@pytest.mark.parametrize(
    "frequency",
    ["0 0 * ? * *", '{"cron": "0 0 * ? * *"}', '["0 0 * ? * *"]', '{"cronSchedule": 5}'],
)
async def test_the_frequency_must_be_the_json_encoded_object(api: Api, frequency: str) -> None:
    body = {"workflowId": QUINYX_RANDOM, "isScheduled": True, "scheduleFrequency": frequency}
    answer = await api.call("workflow_scheduler", body=body)
    assert answer.status == 400
    assert answer.envelope is not None
    assert "UpdateWorkfowSchedulerApiDto.scheduleFrequency" in answer.envelope[1]


async def test_is_scheduled_is_required(api: Api) -> None:
    answer = await api.call("workflow_scheduler", body={"workflowId": QUINYX_RANDOM})
    assert answer.envelope == (400, "UpdateWorkfowSchedulerApiDto.isScheduled is required")


# -- DeleteWorkflow ---------------------------------------------------------------------


async def test_delete_removes_the_workflow(api: Api) -> None:
    assert await api.ok("delete_workflow", query={"id": ORDER_WORKFLOW}) is True
    assert ORDER_WORKFLOW not in [w["id"] for w in await api.ok("list_workflows")]
    query = {"id": ORDER_WORKFLOW}
    for answer in [
        await api.call("get_workflow", query=query),
        await api.call("delete_workflow", query=query),
        await api.call("run_workflow", body={"workflowId": ORDER_WORKFLOW}),
    ]:
        assert (answer.status, answer.envelope) == (
            404,
            (404, f"Unknown workflow {ORDER_WORKFLOW}"),
        )
