"""Models are read in full when their answer arrives.

What a client's read returns is the model :func:`canvas_async._convert.structure`
builds from the same JSON, bound to the view it came through; a field that
does not fit fails the answer, naming the field, and a model returned never
fails when a field is used.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest
from aiohttp import web

from canvas_async import Canvas, UnexpectedResponseError, Workflow, _convert, models
from canvas_async.testing import CanvasEmulator
from canvas_async.testing._records import to_wire
from tests.support import serve

Read = Callable[[Canvas], Awaitable[Any]]

# Every read that answers with models: its path, its call and the model class.
READS: list[tuple[str, Read, type]] = [
    ("/Accounts", lambda c: c.accounts.list(), models.Account),
    ("/Applications", lambda c: c.applications.list(), models.Application),
    ("/RegApplications", lambda c: c.reg_applications.list(), models.RegApplication),
    ("/WorkflowTemplates", lambda c: c.templates.list(), models.WorkflowTemplate),
    ("/Workflows", lambda c: c.workflows.list(), models.Workflow),
    ("/GetMetaData", lambda c: c.meta.endpoints(), models.EndpointInfo),
]

SAMPLES = CanvasEmulator(seed="samples").state
WORKFLOW: dict[str, Any] = to_wire(next(iter(SAMPLES.workflows.values())))


@pytest.mark.parametrize(("path", "read", "cls"), READS, ids=[path for path, _, _ in READS])
async def test_a_read_returns_the_models_structured_from_the_answer(
    canvas: Canvas, emu: CanvasEmulator, path: str, read: Read, cls: type
) -> None:
    account = canvas.for_account(emu.state.managed_ids[0])
    compared = 0
    for scope in (canvas, account):
        sent = await scope.request("GET", path)
        returned = await read(scope)  # type: ignore[arg-type]
        structured: list[models.Model] = _convert.structure(sent, list[cls])  # type: ignore[valid-type]

        compared += len(sent)
        assert all(type(model) is cls for model in returned)
        assert returned == structured
        assert [repr(model) for model in returned] == [repr(model) for model in structured]
        for model, expected in zip(returned, structured, strict=True):
            for field in attrs.fields(cls):
                if field.eq:  # the account view and extra are not data
                    assert getattr(model, field.name) == getattr(expected, field.name)
            assert model.extra == expected.extra
    assert compared > 0


async def test_a_workflow_fetched_by_id_acts_through_its_view(canvas: Canvas) -> None:
    listed = await canvas.workflows.list()
    fetched = await canvas.workflows.get(listed[0].id)

    assert fetched == listed[0]
    assert (await fetched.refresh()) == fetched


def test_the_view_is_bound_to_every_model_that_acts() -> None:
    view = object()

    (workflow,) = _convert.structure([dict(WORKFLOW)], list[Workflow], view)
    field = _convert.structure({"ShortName": "user"}, models.CredentialField, view)

    assert workflow._view is view
    assert workflow == _convert.structure(dict(WORKFLOW), Workflow)
    assert not hasattr(field, "_view")  # it acts through nothing


def test_unknown_fields_are_extra_and_optional_ones_take_their_default() -> None:
    field = _convert.structure(
        {"ShortName": "user", "Colour": "blue", "Hidden": True}, models.CredentialField
    )

    assert field.name is None
    assert field.options == ()
    assert dict(field.extra) == {"Colour": "blue"}
    assert field == models.CredentialField(short_name="user", hidden=True)


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    workflow = _convert.structure(dict(WORKFLOW), Workflow)

    with pytest.raises(AttributeError, match="no_such_field"):
        _ = workflow.no_such_field  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", sorted(WORKFLOW))
@pytest.mark.parametrize("value", [{"a": 1}, ["x"], 1.5, None])
def test_a_field_that_does_not_fit_fails_naming_it(key: str, value: object) -> None:
    """A value of another shape is refused naming that field alone, or taken;
    either way nothing fails later, when a field is used."""
    name = next(name for name, wire in _convert.wire_keys(Workflow).items() if wire == key)
    try:
        workflow = _convert.structure(dict(WORKFLOW, **{key: value}), Workflow)
    except ValueError as error:
        (problem,) = str(error).split("; ")
        assert f" @ Workflow.{name}" in problem
    else:
        for field in attrs.fields(Workflow):
            getattr(workflow, field.name)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"workflows": []}, "expected a JSON array of Workflow\\)"),
        ([WORKFLOW, "text"], r"expected a JSON object for Workflow @ Workflow\[1\]\)"),
    ],
)
async def test_the_answer_shape_is_checked(body: object, problem: str) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/api/Workflows", answer)
    account = uuid.uuid4()
    async with (
        serve(app) as url,
        Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
    ):
        with pytest.raises(UnexpectedResponseError, match=problem) as info:
            await canvas.for_account(account).workflows.list()

    assert info.value.account_id == account
    assert info.value.status == 200
    assert info.value.operation == "Workflows"
