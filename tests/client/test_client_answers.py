"""Error answers and unexpected bodies, over HTTP.

Errors come from the emulator's fault injection; bodies the emulator never
sends (a malformed id, a wrong acknowledgement) from a small stand-in server.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from canvas_async import (
    APIError,
    AuthenticationError,
    BadRequestError,
    Canvas,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    Retries,
    ServerError,
    UnexpectedResponseError,
    _routes,
    models,
)
from canvas_async.testing import CanvasEmulator, ErrorEnvelope, ErrorStatus
from canvas_async.testing._records import to_wire
from tests.support import serve

Call = Callable[[Canvas], Awaitable[object]]

ANOTHER_ID = uuid.UUID("4b21594f-888f-45b5-be73-cf2e67069ad0")  # fixed: a test id names it
WORKFLOW_ID = uuid.UUID("ef7a56e6-448f-4787-b58d-47b063d6e983")  # a sample workflow
QUIN_ID = uuid.UUID("97cbc3b3-32c7-4e4a-b788-a332ea82aeff")

# One call per authenticated route key: every one must carry the keys.
AUTHENTICATED_CALLS: dict[str, Call] = {
    "authenticate": lambda c: c._transport.request("authenticate", bool),
    "list_accounts": lambda c: c.accounts.list(),
    "create_account": lambda c: c.accounts.create(
        first_name="A", last_name="B", email="a@example.com"
    ),
    "list_applications": lambda c: c.applications.list(),
    "list_reg_applications": lambda c: c.reg_applications.list(),
    "create_reg_application": lambda c: c._transport.request(
        "create_reg_application",
        str,
        body={"applicationId": str(QUIN_ID), "tagText": "t", "credentialsJson": "{}"},
    ),
    "list_workflow_templates": lambda c: c.templates.list(),
    "list_workflows": lambda c: c.workflows.list(),
    "get_workflow": lambda c: c.workflows.get(WORKFLOW_ID),
    "create_workflow": lambda c: c._transport.request(
        "create_workflow", str, body={"workflowTemplateId": str(uuid.uuid4()), "applications": {}}
    ),
    "delete_workflow": lambda c: c.workflows.delete(WORKFLOW_ID),
    "run_workflow": lambda c: c.workflows.run(WORKFLOW_ID),
    "workflow_scheduler": lambda c: c.workflows.unschedule(WORKFLOW_ID),
}


def test_every_authenticated_key_mode_route_is_covered() -> None:
    key_mode = {
        r.key
        for r in _routes.ROUTES.values()
        if r.auth in (_routes.Auth.KEYS, _routes.Auth.SESSION)
    }
    assert set(AUTHENTICATED_CALLS) == key_mode


@pytest.mark.parametrize("key", sorted(AUTHENTICATED_CALLS))
async def test_wrong_keys_are_refused_everywhere(emu: CanvasEmulator, key: str) -> None:
    async with Canvas(consumer=emu.consumer, secret_key="wrong-secret", env=emu.url) as canvas:
        with pytest.raises(AuthenticationError) as info:
            await AUTHENTICATED_CALLS[key](canvas)

    assert info.value.status == 401
    # Accounts first reads the catalogue (no keys needed) to find its path.
    assert [r.operation for r in emu.log if r.operation != "get_metadata"] == [key]
    assert emu.state.workflows[WORKFLOW_ID]  # nothing happened


class TestEnvelope:
    @pytest.mark.parametrize(
        ("state", "cls"),
        [
            (_routes.NOT_FOUND_STATE, NotFoundError),
            (_routes.BAD_REQUEST_STATE, BadRequestError),
            (_routes.FORBIDDEN_STATE, PermissionDeniedError),
            (_routes.UNKNOWN_TEMPLATE_STATE, ServerError),
        ],
    )
    async def test_with_http_200_is_an_error(
        self, canvas: Canvas, emu: CanvasEmulator, state: int, cls: type[APIError]
    ) -> None:
        """The ``{"State", "Msg"}`` envelope raises even when it comes with 200."""
        emu.faults.add(
            ErrorEnvelope(state, "Injected trouble", http_status=200),
            operations={"list_workflows"},
            times=1,
        )

        with pytest.raises(cls) as info:
            await canvas.workflows.list()

        assert (info.value.status, info.value.http_status) == (state, 200)
        assert info.value.message == "Injected trouble"
        assert info.value.operation == "Workflows"
        assert await canvas.workflows.list()  # the next call is fine

    async def test_with_an_error_status(self, canvas: Canvas, emu: CanvasEmulator) -> None:
        emu.faults.add(
            ErrorEnvelope(404, "Unknown workflow", http_status=404), operations={"run_workflow"}
        )

        with pytest.raises(NotFoundError) as info:
            await canvas.workflows.run(WORKFLOW_ID)

        assert (info.value.status, info.value.http_status) == (404, 404)
        assert emu.state.runs == []


class TestStatuses:
    async def test_rate_limited(self, canvas: Canvas, emu: CanvasEmulator) -> None:
        """With no 429 to wait out left, the 429 is raised with its Retry-After."""
        emu.faults.add(ErrorStatus(429, retry_after=3), operations={"list_accounts"}, times=1)

        with pytest.raises(RateLimitError) as info:
            await canvas.with_retries(Retries(max_rate_limited=0)).accounts.list()

        assert info.value.retry_after == 3.0
        assert info.value.status == 429

    @pytest.mark.parametrize("status", [500, 502, 503, 504])
    async def test_server_errors(self, canvas: Canvas, emu: CanvasEmulator, status: int) -> None:
        emu.faults.add(ErrorStatus(status), operations={"get_workflow"}, times=1)

        with pytest.raises(ServerError) as info:
            await canvas.with_retries(0).workflows.get(WORKFLOW_ID)

        assert info.value.status == status

    async def test_error_after_effect_still_raises(
        self, canvas: Canvas, emu: CanvasEmulator
    ) -> None:
        """The server did the work but answered 500: the caller hears that the
        outcome is unknown, with the 500 chained, and the run is not repeated."""
        emu.faults.add(ErrorStatus(500, after_effect=True), operations={"run_workflow"})

        with pytest.raises(OutcomeUnknownError) as info:
            await canvas.workflows.run(WORKFLOW_ID)

        assert isinstance(info.value.__cause__, ServerError)
        assert len(emu.state.runs) == 1


def _stand_in(answers: dict[str, Any]) -> web.Application:
    """A server answering each path with a fixed body (a str goes out as text)."""

    async def handle(request: web.Request) -> web.Response:
        body = answers[request.path.removeprefix("/api")]
        if isinstance(body, str):
            return web.Response(text=body)
        return web.json_response(body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


_SAMPLES = CanvasEmulator(seed="samples").state
SAMPLE_WORKFLOW: dict[str, Any] = to_wire(_SAMPLES.workflows[WORKFLOW_ID])
SAMPLE_ACCOUNT: dict[str, Any] = to_wire(next(iter(_SAMPLES.accounts.values())))


def _template() -> models.WorkflowTemplate:
    return models.WorkflowTemplate(
        id=uuid.uuid4(), name="T", description=None, date_created=None, date_modified=None,
        state="Published", version=None, draft_is_committed=None, date_committed=None,
        organization_id=None, applications=("QUIN",), chain=(),
    )  # fmt: skip


def _application() -> models.Application:
    return models.Application(
        id=uuid.uuid4(), name="X", short_name="X", description=None, vendor_url=None,
        credential_fields=(), credentials_json=None, tag=None, session_time_mins=0,
        session_sliding_expiry=False,
    )  # fmt: skip


class TestUnexpectedBodies:
    @pytest.mark.parametrize(
        ("path", "body", "call"),
        [
            ("/Workflows", {"workflows": []}, lambda c: c.workflows.list()),
            ("/Workflows", ["not an object"], lambda c: c.workflows.list()),
            ("/Workflow", [], lambda c: c.workflows.get(WORKFLOW_ID)),
            ("/Authenticate", "maybe", lambda c: c.authenticate()),
        ],
    )  # fmt: skip
    async def test_raise_on_reads(self, path: str, body: object, call: Call) -> None:
        async with (
            serve(_stand_in({path: body})) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            with pytest.raises(UnexpectedResponseError) as info:
                await call(canvas)

        assert info.value.status == 200
        assert info.value.body == body
        assert "unexpected answer" in str(info.value)

    async def test_a_field_the_model_cannot_take_fails_the_answer_naming_it(self) -> None:
        """Models are read in full when the answer arrives: every field that
        does not fit is named, with the model, the item and the operation."""
        good = dict(SAMPLE_WORKFLOW)
        bad = dict(SAMPLE_WORKFLOW, id="not-a-guid", isScheduled="yes")
        del bad["name"]
        account = uuid.uuid4()
        async with (
            serve(_stand_in({"/Workflows": [good, bad]})) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            with pytest.raises(UnexpectedResponseError) as info:
                await canvas.for_account(account).workflows.list()

        message = str(info.value)
        assert "badly formed hexadecimal UUID string @ Workflow[1].id" in message
        assert "expected a JSON bool @ Workflow[1].is_scheduled" in message
        assert "missing key 'name' @ Workflow[1].name" in message
        assert "Workflow[0]" not in message
        assert info.value.operation == "Workflows"
        assert info.value.account_id == account
        assert info.value.body == [good, bad]

    @pytest.mark.parametrize(
        ("path", "body", "call"),
        [
            ("/RunWorkflow", "Workflow will not run", lambda c: c.workflows.run(WORKFLOW_ID)),
            ("/DeleteWorkflow", False, lambda c: c.workflows.delete(WORKFLOW_ID)),
            ("/DeleteWorkflow", str(ANOTHER_ID), lambda c: c.workflows.delete(WORKFLOW_ID)),
            ("/WorkflowScheduler", 42, lambda c: c.workflows.unschedule(WORKFLOW_ID)),
        ],
    )  # fmt: skip
    async def test_writes_accept_any_success_body(
        self, path: str, body: object, call: Call
    ) -> None:
        """A 2xx without the error envelope took effect, whatever it says
        (spec: "Where the documentation disagrees with itself")."""
        answers: dict[str, Any] = {path: body, "/Workflow": SAMPLE_WORKFLOW}
        async with (
            serve(_stand_in(answers)) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            await call(canvas)

    @pytest.mark.parametrize("body", ["created!", 42, "", True])
    async def test_account_answered_without_an_id_is_read_back(self, body: object) -> None:
        new_id = uuid.uuid4()
        listing = [{**SAMPLE_ACCOUNT, "id": str(new_id), "email": "A@Example.com"}]
        async with (
            serve(_stand_in({"/Account": body, "/Accounts": listing})) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            created = await canvas.accounts.create(
                first_name="A", last_name="B", email="a@example.com"
            )

        assert created == new_id

    async def test_account_not_found_by_e_mail_is_an_unknown_outcome(self) -> None:
        async with (
            serve(_stand_in({"/Account": "", "/Accounts": []})) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            with pytest.raises(OutcomeUnknownError, match="accepted by the server"):
                await canvas.accounts.create(first_name="A", last_name="B", email="a@example.com")

    @pytest.mark.parametrize(
        ("path", "call"),
        [
            ("/Workflow", lambda c: c.workflows.create(
                _template(), name="n", applications={"QUIN": uuid.uuid4()})),
            ("/RegApplication", lambda c: c.reg_applications.create(
                _application(), tag_text="t", credentials={})),
        ],
    )  # fmt: skip
    async def test_create_without_an_id_is_an_unknown_outcome(self, path: str, call: Call) -> None:
        """Accepted, but nothing says which object it made: never a plain error."""
        async with (
            serve(_stand_in({path: "Created"})) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            with pytest.raises(OutcomeUnknownError, match="without the id"):
                await call(canvas)

    @pytest.mark.parametrize(
        "body", ["Workflow will now run", '"Workflow will now run"', "workflow will now run\n"]
    )
    async def test_text_answer_forms(self, body: str) -> None:
        async with (
            serve(_stand_in({"/RunWorkflow": body})) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            await canvas.workflows.run(WORKFLOW_ID)

    @pytest.mark.parametrize("body", [True, "true", str(WORKFLOW_ID)])
    async def test_delete_answer_forms(self, body: object) -> None:
        """``true`` as documented; GetMetaData says a Guid, so the id is accepted."""
        async with (
            serve(_stand_in({"/DeleteWorkflow": body})) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            await canvas.workflows.delete(WORKFLOW_ID)

    async def test_bare_guid_text_is_an_id(self) -> None:
        new_id = uuid.uuid4()
        async with (
            serve(_stand_in({"/Account": str(new_id)})) as url,
            Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
        ):
            assert (
                await canvas.accounts.create(first_name="A", last_name="B", email="a@example.com")
                == new_id
            )


async def test_turning_a_schedule_off_sends_the_known_cron() -> None:
    """The page's example sends scheduleFrequency when switching off, too."""
    sent: list[Any] = []

    async def scheduler(request: web.Request) -> web.Response:
        sent.append(await request.json())
        return web.Response(text="")

    async def workflow(request: web.Request) -> web.Response:
        return web.json_response(SAMPLE_WORKFLOW)

    app = web.Application()
    app.router.add_post("/api/WorkflowScheduler", scheduler)
    app.router.add_get("/api/Workflow", workflow)
    async with (
        serve(app) as url,
        Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
    ):
        model = await canvas.workflows.get(WORKFLOW_ID)
        await model.unschedule()
        await canvas.workflows.unschedule(WORKFLOW_ID)

    assert model.cron is not None
    assert sent == [
        {"workflowId": str(WORKFLOW_ID), "isScheduled": False,
         "scheduleFrequency": json.dumps({"cronSchedule": model.cron}, separators=(",", ":"))},
        {"workflowId": str(WORKFLOW_ID), "isScheduled": False},
    ]  # fmt: skip
