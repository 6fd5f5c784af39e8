"""Unknown fields: never a parse failure, always readable as ``model.extra``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from aiohttp import web

from canvas_async import (
    Account,
    AccountView,
    Application,
    Canvas,
    Workflow,
    WorkflowTemplate,
    _convert,
)
from canvas_async.models import NO_EXTRA
from canvas_async.testing import CanvasEmulator
from canvas_async.testing._records import to_wire
from tests.support import serve

SAMPLES = CanvasEmulator(seed="samples").state
WORKFLOW: dict[str, Any] = to_wire(next(iter(SAMPLES.workflows.values())))
ACCOUNT: dict[str, Any] = to_wire(next(iter(SAMPLES.accounts.values())))
TEMPLATE: dict[str, Any] = to_wire(next(iter(SAMPLES.templates.values())))
APPLICATION: dict[str, Any] = to_wire(next(iter(SAMPLES.applications.values())))


def test_a_listing_keeps_unknown_fields_per_object() -> None:
    payload = [{**WORKFLOW, "ownerEmail": "ops@example.org", "tags": ["a"]}, WORKFLOW]

    first, second = _convert.structure(payload, list[Workflow])

    assert dict(first.extra) == {"ownerEmail": "ops@example.org", "tags": ["a"]}
    assert list(first.extra) == ["ownerEmail", "tags"]
    assert second.extra is NO_EXTRA
    assert first == second  # not data the SDK understands: left out of equality


def test_one_object_and_nested_objects() -> None:
    chain = [{**block, "position": n} for n, block in enumerate(TEMPLATE["chain"])]
    template = _convert.structure({**TEMPLATE, "chain": chain, "owner": None}, WorkflowTemplate)

    assert dict(template.extra) == {"owner": None}
    assert [dict(block.extra) for block in template.chain] == [
        {"position": n} for n in range(len(chain))
    ]


def test_optional_known_fields_missing_and_unknown_present() -> None:
    """Credential fields may leave known keys out: unknown ones are still found."""
    fields = [{"ShortName": "apikey", "Secret": True}]

    app = _convert.structure({**APPLICATION, "credentialFields": fields}, Application)

    assert dict(app.credential_fields[0].extra) == {"Secret": True}
    assert app.extra is NO_EXTRA


def test_extra_is_read_only_and_not_in_repr() -> None:
    account = _convert.structure({**ACCOUNT, "apiToken": "tok-sEcReT"}, Account)

    with pytest.raises(TypeError):
        account.extra["apiToken"] = "x"  # type: ignore[index]
    assert "tok-sEcReT" not in repr(account)
    assert hash(account) == hash(_convert.structure(ACCOUNT, Account))


async def test_over_http_through_a_view() -> None:
    managed = uuid.uuid4()

    async def workflows(request: web.Request) -> web.Response:
        return web.json_response([{**WORKFLOW, "ownerEmail": "ops@example.org"}])

    app = web.Application()
    app.router.add_get("/api/Workflows", workflows)
    async with (
        serve(app) as url,
        Canvas(consumer="c" * 8, secret_key="s" * 8, env=str(url)) as canvas,
    ):
        (workflow,) = await canvas.for_account(managed).workflows.list()

    assert workflow.extra == {"ownerEmail": "ops@example.org"}
    assert isinstance(workflow._view, AccountView)
    assert workflow._view.account_id == managed
