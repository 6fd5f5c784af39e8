"""canvas.request: any path, through the same auth, limits, retries and error mapping."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from canvas_async import (
    Canvas,
    NotFoundError,
    OutcomeUnknownError,
    ValidationError,
)
from canvas_async.testing import CanvasEmulator, Dialect, DropConnection, ErrorStatus
from canvas_async.testing._records import to_wire
from tests.support import client_of, started

WORKFLOW_ID = uuid.UUID("ef7a56e6-448f-4787-b58d-47b063d6e983")  # a sample workflow
MANAGED = uuid.UUID("41a31538-1120-4bdf-a6cb-675eeedd7d2d")  # a sample account


async def test_get_returns_the_decoded_listing(canvas: Canvas, emu: CanvasEmulator) -> None:
    listing = await canvas.request("GET", "/Workflows")

    expected: Any = to_wire(emu.state.workflows_of(emu.state.caller))
    assert listing == expected
    assert [r.account_header for r in emu.log] == [None]


async def test_a_429_is_waited_out(canvas: Canvas, emu: CanvasEmulator) -> None:
    emu.faults.add(ErrorStatus(429, retry_after=0), operations={"list_workflows"}, times=1)

    listing = await canvas.request("GET", "/Workflows")

    assert [r.status for r in emu.log] == [429, 200]
    assert len(listing) == len(emu.state.workflows_of(emu.state.caller))


async def test_an_account_view_sends_its_account(canvas: Canvas, emu: CanvasEmulator) -> None:
    assert await canvas.for_account(MANAGED).request("GET", "/Workflows") == []
    assert [r.account_header for r in emu.log] == [str(MANAGED)]


async def test_post_with_a_body_and_query_parameters(canvas: Canvas, emu: CanvasEmulator) -> None:
    started = await canvas.request("POST", "/RunWorkflow", json={"workflowId": str(WORKFLOW_ID)})
    one = await canvas.request("get", "/Workflow", params={"id": str(WORKFLOW_ID)})

    assert started == "Workflow will now run"
    assert [r.workflow_id for r in emu.state.runs] == [WORKFLOW_ID]
    assert one["id"] == str(WORKFLOW_ID)


async def test_errors_are_mapped(canvas: Canvas) -> None:
    with pytest.raises(NotFoundError) as envelope:
        await canvas.request("GET", "/Workflow", params={"id": str(uuid.uuid4())})
    with pytest.raises(NotFoundError) as unknown_path:
        await canvas.request("GET", "/NoSuchOperation")

    assert envelope.value.http_status == 404
    assert envelope.value.operation == "GET /Workflow"
    assert unknown_path.value.operation == "GET /NoSuchOperation"


async def test_a_post_is_not_repeated_after_an_ambiguous_failure(
    canvas: Canvas, emu: CanvasEmulator
) -> None:
    emu.faults.add(DropConnection(after_effect=True), operations={"run_workflow"}, times=1)

    with pytest.raises(OutcomeUnknownError):
        await canvas.request("POST", "/RunWorkflow", json={"workflowId": str(WORKFLOW_ID)})

    assert len(emu.state.runs) == 1


# A body that contains itself.
_CIRCULAR: dict[str, Any] = {"workflowId": "x"}
_CIRCULAR["again"] = [_CIRCULAR]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (("FETCH", "/Workflows", {}), "method must be one of"),
        ((None, "/Workflows", {}), "method must be one of"),
        (("GET", "Workflows", {}), "path must be a path starting with '/'"),
        (("GET", "//evil.example/Workflows", {}), "path must be a path starting with '/'"),
        (("GET", "/Workflow?id=1", {}), "pass query parameters as params"),
        (("GET", "/../Workflows", {}), "must be a plain path"),
        (("GET", "/Workflow", {"params": {"id": 1}}), "params must map parameter names to"),
        (("POST", "/RunWorkflow", {"json": {"at": object()}}), "the request body is not JSON"),
        (("POST", "/RunWorkflow", {"json": _CIRCULAR}), "the request body is not JSON"),
    ],
)
async def test_bad_input_is_refused_before_sending(
    canvas: Canvas, emu: CanvasEmulator, call: tuple[Any, str, Any], message: str
) -> None:
    method, path, kwargs = call
    with pytest.raises(ValidationError, match=message):
        await canvas.request(method, path, **kwargs)

    assert emu.log == []


class TestPaths:
    async def test_the_table_when_the_catalogue_cannot_be_read(self, emu: CanvasEmulator) -> None:
        emu.faults.add(ErrorStatus(503), operations={"get_metadata"})
        async with client_of(emu, retries=0) as canvas:
            assert await canvas.accounts.list()
            assert await canvas.accounts.list()

        assert [r.operation for r in emu.log] == ["get_metadata", "list_accounts", "list_accounts"]

    async def test_turned_off_and_pinned(self) -> None:
        async with started(CanvasEmulator(dialect=Dialect(accounts_path="clients"))) as emu:
            async with client_of(emu, catalogue=False) as canvas:
                with pytest.raises(NotFoundError):
                    await canvas.accounts.list()
            async with client_of(emu, catalogue=False, paths={"list_accounts": "/Clients"}) as c:
                assert len(await c.accounts.list()) == 3
            async with client_of(emu, paths={"list_accounts": "/Clients"}) as canvas:
                assert len(await canvas.accounts.list()) == 3

        assert "get_metadata" not in [r.operation for r in emu.log]

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"catalogue": "yes"}, "catalogue must be True or False"),
            ({"paths": {"accounts": "/Clients"}}, "paths names no such operation: accounts"),
            ({"paths": {"list_accounts": "Clients"}}, r"paths\['list_accounts'\] must be a path"),
            ({"paths": ["/Clients"]}, "paths must map route keys"),
        ],
    )
    def test_bad_options(self, options: Any, message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            Canvas(consumer="c" * 8, secret_key="s" * 8, **options)
