"""One handler per operation of the route table: read the request, answer.

A handler receives a :class:`Call` whose authentication and account scope the
application has already settled; it reads its input through the call (which
refuses malformed input with a 4xx), asks the state to do the work, and turns
the result into the documented answer.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from types import MappingProxyType
from typing import Any, Final

import attrs
from aiohttp import web

from canvas_async import _routes
from canvas_async._routes import ROUTES, Auth, Route

from ._answers import ApiAnswer, bad_request, not_found
from ._describe import describe, endpoint_descriptors
from ._dialect import Dialect
from ._faults import Faults
from ._input import (
    NewAccount,
    NewRegApplication,
    NewWorkflow,
    RunRequest,
    SchedulerUpdate,
    parse_guid,
    parse_json,
)
from ._records import AccountRecord, to_wire
from ._state import EmulatorState

_JSON_TYPES: Final = ("application/json", "text/json")
_dumps: Final = partial(json.dumps, ensure_ascii=False)


def json_answer(value: Any, *, status: int = 200) -> web.Response:
    """Return ``value`` as a JSON answer."""
    return web.json_response(value, status=status, dumps=_dumps)


def text_answer(text: str, *, status: int = 200) -> web.Response:
    """Return a plain-text answer."""
    return web.Response(text=text, status=status, content_type="text/plain", charset="utf-8")


@attrs.define
class Emulation:
    """What the application serves from: state, faults, keys and mode.

    The application holds this, not the emulator, so that an emulator left
    running is still collected (and warns that it was not closed).
    """

    state: EmulatorState
    faults: Faults
    token_mode: bool
    consumer: str = attrs.field(repr=False)
    secret_key: str = attrs.field(repr=False)
    dialect: Dialect

    served: tuple[Route, ...] = attrs.field(init=False)
    """The routes this emulator answers: refresh-token routes in token mode only."""

    def __attrs_post_init__(self) -> None:
        self.served = tuple(
            route for route in ROUTES.values() if self.token_mode or route.auth is not Auth.REFRESH
        )


@attrs.frozen
class Call:
    """One authenticated request, as a handler sees it.

    Attributes:
        route: The operation called.
        request: The aiohttp request.
        emulation: What the emulator serves from.
        account: The account the call acts for (the caller's, for an
            operation that needs no session).
    """

    route: Route
    request: web.Request
    emulation: Emulation
    account: AccountRecord

    @property
    def state(self) -> EmulatorState:
        """The emulator's state."""
        return self.emulation.state

    async def body(self) -> Any:
        """Return the JSON body; 415 for another content type, 400 for bad JSON."""
        content_type = self.request.content_type
        if content_type not in _JSON_TYPES and not (
            content_type.startswith("application/") and content_type.endswith("+json")
        ):
            raise ApiAnswer(
                f"{self.route.body} must be sent as application/json",
                status=415,
            )
        return parse_json(await self.request.read(), f"The {self.route.body} body")

    def query(self, *names: str) -> str:
        """Return the query parameter sent under one of ``names``; 400 if none is.

        Args:
            names: Accepted names; the route's own first parameter when omitted.
        """
        names = names or self.route.query[:1]
        values = {self.request.query[name] for name in names if name in self.request.query}
        if len(values) != 1:
            shown = " or ".join(names)
            raise bad_request(f"The query needs exactly one value for {shown}")
        return values.pop()

    def query_guid(self) -> uuid.UUID:
        """Return the route's GUID query parameter (``id``)."""
        name = self.route.query[0]
        return parse_guid(self.query(), f"The {name} query parameter")


Handler = Callable[[Call], Awaitable[web.Response]]


# -- help ----------------------------------------------------------------------


async def _get_metadata(call: Call) -> web.Response:
    emulation = call.emulation
    return json_answer(
        endpoint_descriptors(
            emulation.served, token_mode=emulation.token_mode, dialect=emulation.dialect
        )
    )


async def _describe(call: Call) -> web.Response:
    name = call.query()
    properties = describe(name, call.emulation.dialect)
    if properties is None:
        raise not_found(f"Unknown object {name}")
    return json_answer(properties)


# -- authentication --------------------------------------------------------------


async def _authenticate(call: Call) -> web.Response:
    if call.emulation.token_mode:
        return json_answer(call.state.tokens.issue(call.state.caller))
    return json_answer(True)


def _refresh_token(call: Call) -> str:
    return call.query(*_routes.QUERY_ALIASES["token"])


async def _refresh_access_token(call: Call) -> web.Response:
    return json_answer(call.state.tokens.refresh(_refresh_token(call)))


async def _delete_token(call: Call) -> web.Response:
    call.state.tokens.delete(_refresh_token(call))
    return json_answer(True)


# -- reads -----------------------------------------------------------------------

# Read operation -> the records it answers with.
_READS: Final[Mapping[str, Callable[[Call], Any]]] = {
    "list_accounts": lambda call: call.state.listed_accounts(),
    "list_applications": lambda call: list(call.state.applications.values()),
    "list_reg_applications": lambda call: call.state.reg_applications_of(call.account),
    "list_workflow_templates": lambda call: call.state.visible_templates(call.account),
    "list_workflows": lambda call: call.state.workflows_of(call.account),
    "get_workflow": lambda call: call.state.workflow_of(call.account, call.query_guid()),
}


async def _read(call: Call) -> web.Response:
    return json_answer(to_wire(_READS[call.route.key](call)))


# -- writes ----------------------------------------------------------------------


async def _create_account(call: Call) -> web.Response:
    new = NewAccount.parse(await call.body())
    account = call.state.create_account(call.account, new)
    form = "guid" if call.emulation.dialect.account == "id" else call.emulation.dialect.account
    return _acknowledgement(form, guid=account.id)


async def _create_reg_application(call: Call) -> web.Response:
    new = NewRegApplication.parse(await call.body())
    return json_answer(str(call.state.register_application(call.account, new).id))


async def _create_workflow(call: Call) -> web.Response:
    new = NewWorkflow.parse(await call.body())
    return json_answer(str(call.state.create_workflow(call.account, new).id))


async def _delete_workflow(call: Call) -> web.Response:
    workflow_id = call.query_guid()
    call.state.delete_workflow(call.account, workflow_id)
    return _acknowledgement(call.emulation.dialect.delete, guid=workflow_id)


async def _run_workflow(call: Call) -> web.Response:
    run = call.state.run_workflow(call.account, RunRequest.parse(await call.body()))
    return _acknowledgement(call.emulation.dialect.run, text=_routes.RUN_TEXT, guid=run.id)


async def _workflow_scheduler(call: Call) -> web.Response:
    update = SchedulerUpdate.parse(await call.body())
    call.state.schedule_workflow(call.account, update)
    enabled = update.is_scheduled
    text = _routes.SCHEDULER_ENABLED_TEXT if enabled else _routes.SCHEDULER_DISABLED_TEXT
    return _acknowledgement(call.emulation.dialect.scheduler, text=text)


def _acknowledgement(form: str, *, text: str = "", guid: uuid.UUID | None = None) -> web.Response:
    """Answer a write in the documented ``form`` the dialect picked (spec:
    "Where the documentation disagrees with itself")."""
    if form == "guid" and guid is not None:
        return json_answer(str(guid))
    if form == "true":
        return json_answer(True)
    return text_answer("" if form == "empty" else text)


HANDLERS: Final[Mapping[str, Handler]] = MappingProxyType(
    {
        **dict.fromkeys(_READS, _read),
        "get_metadata": _get_metadata,
        "describe": _describe,
        "authenticate": _authenticate,
        "refresh_access_token": _refresh_access_token,
        "delete_token": _delete_token,
        "create_account": _create_account,
        "create_reg_application": _create_reg_application,
        "create_workflow": _create_workflow,
        "delete_workflow": _delete_workflow,
        "run_workflow": _run_workflow,
        "workflow_scheduler": _workflow_scheduler,
    }
)
"""Route key -> handler; the application checks it covers the route table exactly."""
