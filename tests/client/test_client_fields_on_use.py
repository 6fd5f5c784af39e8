"""Models read from answers read each field on first use, with the eager rules.

What a client's read returns must be indistinguishable from the model
:func:`canvas_async._convert.structure` builds from the same JSON (values,
equality, hashing, repr, ``extra``), except for when a bad field fails: where
it is used, not where the answer arrived.
"""

from __future__ import annotations

import copy
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


def _hash(model: object) -> int | str:
    try:
        return hash(model)
    except TypeError as error:  # a field holds free-form JSON (a dict)
        return str(error)


@pytest.mark.parametrize(("path", "read", "cls"), READS, ids=[path for path, _, _ in READS])
async def test_the_same_models_as_structured_at_once(
    canvas: Canvas, emu: CanvasEmulator, path: str, read: Read, cls: type
) -> None:
    account = canvas.for_account(emu.state.managed_ids[0])
    compared = 0
    for scope in (canvas, account):
        sent = await scope.request("GET", path)
        read_on_use = await read(scope)  # type: ignore[arg-type]
        at_once: list[models.Model] = _convert.structure(sent, list[cls])  # type: ignore[valid-type]

        assert len(read_on_use) == len(sent)
        compared += len(sent)
        assert all(type(model) is cls for model in read_on_use)
        assert read_on_use == at_once
        assert [_hash(model) for model in read_on_use] == [_hash(model) for model in at_once]
        assert [repr(model) for model in read_on_use] == [repr(model) for model in at_once]
        for model, eager in zip(read_on_use, at_once, strict=True):
            assert isinstance(model, models.Model)
            for field in attrs.fields(cls):
                if field.eq:  # the account view and extra are not data
                    assert getattr(model, field.name) == getattr(eager, field.name)
            assert model.extra == eager.extra
    assert compared > 0


async def test_a_workflow_fetched_by_id_is_read_on_use_and_acts(canvas: Canvas) -> None:
    listed = await canvas.workflows.list()
    fetched = await canvas.workflows.get(listed[0].id)

    assert vars(fetched).keys() == {"_source", "_view"}  # nothing read yet
    assert fetched == listed[0]
    assert (await fetched.refresh()) == fetched  # acts through the view it came through


def test_the_first_field_used_reads_them_all_and_lets_the_json_go() -> None:
    reader = _convert.field_reader(Workflow, "Workflows")
    (workflow,) = reader.listing(None, [dict(WORKFLOW)])

    first = workflow.reg_application_ids
    assert "_source" not in vars(workflow)
    assert vars(workflow).keys() == {field.name for field in attrs.fields(Workflow)}
    assert workflow.reg_application_ids is first
    assert workflow == _convert.structure(dict(WORKFLOW), Workflow)


def test_a_bound_view_survives_the_reading() -> None:
    view = object()
    workflow = _convert.field_reader(Workflow, "Workflows").one(view, dict(WORKFLOW))

    assert workflow.name == WORKFLOW["name"]
    assert vars(workflow)["_view"] is view


def test_unknown_fields_are_extra_and_optional_ones_take_their_default() -> None:
    reader = _convert.field_reader(models.CredentialField, "Applications")
    field = reader.one(None, {"ShortName": "user", "Colour": "blue", "Hidden": True})

    assert field.short_name == "user"
    assert field.name is None
    assert field.options == ()
    assert field.hidden is True
    assert dict(field.extra) == {"Colour": "blue"}
    assert field == models.CredentialField(short_name="user", hidden=True)


def test_copies_evolve_and_asdict_see_the_fields() -> None:
    reader = _convert.field_reader(Workflow, "Workflows")
    workflow = reader.one(None, dict(WORKFLOW, ownerEmail="ops@example.org"))
    eager = _convert.structure(dict(WORKFLOW, ownerEmail="ops@example.org"), Workflow)

    assert copy.copy(workflow) == eager
    assert copy.deepcopy(workflow) == eager
    assert attrs.asdict(workflow) == attrs.asdict(eager)
    renamed = attrs.evolve(workflow, name="renamed")
    assert renamed.name == "renamed"
    assert renamed.id == eager.id
    assert dict(renamed.extra) == {"ownerEmail": "ops@example.org"}


def test_an_unknown_attribute_is_an_attribute_error() -> None:
    workflow = _convert.field_reader(Workflow, "Workflows").one(None, dict(WORKFLOW))
    eager = _convert.structure(dict(WORKFLOW), Workflow)

    for model in (workflow, eager):
        assert not hasattr(model, "no_such_field")
        with pytest.raises(AttributeError, match="no_such_field"):
            _ = model.no_such_field  # type: ignore[union-attr]


@pytest.mark.parametrize("key", sorted(WORKFLOW))
@pytest.mark.parametrize("value", [{"a": 1}, ["x"], 1.5])
def test_a_bad_field_fails_on_use_where_structuring_fails(key: str, value: object) -> None:
    """Whatever the eager rules refuse, reading the field refuses (and only it)."""
    payload = dict(WORKFLOW, **{key: value})
    try:
        _convert.structure(payload, Workflow)
    except (ValueError, TypeError, KeyError, AttributeError):  # as the transport takes them
        refused = True
    else:
        refused = False
    workflow = _convert.field_reader(Workflow, "Workflows").one(None, payload)
    name = next(name for name, wire in _convert.wire_keys(Workflow).items() if wire == key)

    for other in _convert.wire_keys(Workflow):  # any order: the first use reads all
        if other != name:
            getattr(workflow, other)  # the rest stays readable
    for _ in range(2):  # and the bad one fails each time it is used
        if refused:
            with pytest.raises(UnexpectedResponseError, match=f"Workflow.{name} "):
                getattr(workflow, name)
        else:
            getattr(workflow, name)
    assert ("_source" in vars(workflow)) is refused


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"workflows": []}, "expected a JSON array of Workflow"),
        ([WORKFLOW, "text"], "expected a JSON object for Workflow"),
    ],
)
async def test_the_answer_shape_is_checked_at_once(body: object, problem: str) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/api/Workflows", answer)
    async with (
        serve(app) as url,
        Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
    ):
        with pytest.raises(UnexpectedResponseError, match=problem):
            await canvas.workflows.list()


def test_one_reader_per_class_and_operation() -> None:
    reader = _convert.field_reader(Workflow, "Workflows")

    assert _convert.field_reader(Workflow, "Workflows") is reader
    assert _convert.field_reader(Workflow, "Workflow (GET)") is not reader
    assert copy.deepcopy(reader) is reader


def test_an_error_names_the_account_of_the_view() -> None:
    account = uuid.uuid4()

    class View:
        account_id = account

    workflow = _convert.field_reader(Workflow, "Workflows").one(View(), dict(WORKFLOW, name=1))
    with pytest.raises(UnexpectedResponseError) as info:
        _ = workflow.name

    assert info.value.account_id == account
    assert info.value.status == 200
    assert info.value.operation == "Workflows"
