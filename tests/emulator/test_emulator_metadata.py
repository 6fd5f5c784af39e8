"""GetMetaData and Describe: the API as it describes itself."""

from __future__ import annotations

import attrs
import pytest

from canvas_async._routes import ROUTES, Auth
from canvas_async.testing._describe import DESCRIPTORS, endpoint_descriptors
from tests.emulator.emulator_support import Api

DESCRIBED = [
    "AddAccountApiDto",
    "AddRegApplicationApiDto",
    "AddWorkflowApiDto",
    "RunMetadataApiDto",
    "UpdateWorkfowSchedulerApiDto",
    "ChainApiDto",
    "Account",
    "Application",
    "RegApplication",
    "WorkflowTemplate",
    "Workflow",
]
WIRE_KEYS = {
    "Account": "list_accounts",
    "RegApplication": "list_reg_applications",
    "WorkflowTemplate": "list_workflow_templates",
    "Workflow": "list_workflows",
    "Application": "list_applications",
}


def served_operations(token_mode: bool) -> set[tuple[str, str]]:
    return {
        (route.operation, route.method)
        for route in ROUTES.values()
        if token_mode or route.auth is not Auth.REFRESH
    }


async def test_metadata_lists_what_key_mode_serves(api: Api) -> None:
    listed = await api.ok("get_metadata")
    assert {(d["name"], d["verb"]) for d in listed} == served_operations(token_mode=False)
    assert len(listed) == len(ROUTES) - 2


async def test_metadata_lists_the_token_routes_in_token_mode(token_api: Api) -> None:
    listed = await token_api.ok("get_metadata")
    assert {(d["name"], d["verb"]) for d in listed} == served_operations(token_mode=True)
    by_name = {d["name"]: d for d in listed}
    assert by_name["RefreshAccessToken"]["parameters"] == "String refreshToken"
    assert by_name["DeleteToken"]["verb"] == "DELETE"
    assert by_name["Authenticate"]["returns"] == "JSON"


async def test_every_listed_operation_is_served(token_api: Api) -> None:
    # Probe each route: nothing GetMetaData lists may answer 404 or 405.
    for route in ROUTES.values():
        answer = await token_api.call(route.key, headers={})
        assert answer.status not in (404, 405), route.key


@pytest.mark.parametrize("name", DESCRIBED)
async def test_describe_knows_every_dto_of_the_spec(api: Api, name: str) -> None:
    properties = await api.ok("describe", query={"name": name})
    assert properties
    for prop in properties:
        assert set(prop) == {"typeName", "propertyName", "genericParameters", "isRequired"}
    assert await api.ok("describe", query={"name": name.lower()}) == properties


@pytest.mark.parametrize(("model", "key"), WIRE_KEYS.items())
async def test_describe_names_every_field_a_model_is_sent_with(
    api: Api, model: str, key: str
) -> None:
    described = [p["propertyName"] for p in await api.ok("describe", query={"name": model})]
    sent = (await api.ok(key))[0]
    assert described == list(sent)


async def test_describe_an_unknown_name(api: Api) -> None:
    answer = await api.call("describe", query={"name": "Nothing"})
    assert (answer.status, answer.envelope) == (404, (404, "Unknown object Nothing"))
    missing = await api.call("describe")
    assert (missing.status, missing.envelope) == (
        400,
        (400, "The query needs exactly one value for name"),
    )


def test_an_operation_the_page_does_not_list_is_described_all_the_same() -> None:
    """Adding an operation takes its route and handler; GetMetaData names it unasked."""
    new = attrs.evolve(ROUTES["get_workflow"], key="get_workflow_stats", operation="Stats")
    described = endpoint_descriptors([ROUTES["get_workflow"], new], token_mode=False)
    assert [d["name"] for d in described] == ["Workflow", "Stats"]
    assert described[1]["verb"] == "GET"
    assert described[1]["description"] == "Stats"


def test_every_line_of_the_vendors_page_names_a_route() -> None:
    # A key the route table does not have would leave its operation described from
    # its route alone, as one the page does not list.
    assert DESCRIPTORS.keys() <= ROUTES.keys()


def test_an_operation_the_page_does_not_list_is_described_from_its_route() -> None:
    route = attrs.evolve(
        ROUTES["get_workflow"], key="get_account", operation="Account", query=("id",)
    )
    (listed,) = endpoint_descriptors([route], token_mode=False)
    assert (listed["name"], listed["verb"], listed["parameters"]) == ("Account", "GET", "String id")
    body = attrs.evolve(ROUTES["create_workflow"], key="new_op", query=("a", "b"))
    (listed,) = endpoint_descriptors([body], token_mode=False)
    assert listed["parameters"] == "[FromBody]AddWorkflowApiDto data, String a, String b"
