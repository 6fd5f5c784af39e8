"""Malformed requests at every route: always a 4xx, never a 500, never a change.

Each example takes a route and breaks one thing the route reads (its
credentials, its account header, its query, its body or the body's content
type), so every example must be refused. The single documented 500, the
envelope for an unknown workflow template, is allowed where that is the only
defect.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from canvas_async._routes import (
    ACCOUNT_HEADER,
    AUTHORIZATION_HEADER,
    CONSUMER_HEADER,
    ROUTES,
    SECRET_KEY_HEADER,
    Auth,
)
from canvas_async.testing._describe import describe
from tests.emulator.emulator_support import (
    CALLER,
    CALLER_FTP,
    CALLER_QUIN,
    MANAGED,
    ORDER_WORKFLOW,
    QUINYX_APP,
    QUINYX_TEMPLATE,
    Api,
    snapshot,
)

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# A DTO: the body that would succeed, and each field's JSON kind.
DTOS: dict[str, tuple[dict[str, Any], dict[str, tuple[str, bool]]]] = {
    "create_account": (
        {
            "firstName": "Fuzz",
            "lastName": "Tester",
            "email": "fuzz.tester@example.org",
            "phone": "+4700000000",
            "roleName": "User",
            "countryKey": "NO",
            "globalNotifications": False,
            "defaultNotificationEmail": "ops@example.org",
            "activated": False,
        },
        {
            "firstName": ("string", True),
            "lastName": ("string", True),
            "email": ("string", True),
            "phone": ("string", False),
            "roleName": ("string", True),
            "countryKey": ("string", False),
            "globalNotifications": ("boolean", False),
            "defaultNotificationEmail": ("string", False),
            "activated": ("boolean", False),
        },
    ),
    "create_reg_application": (
        {
            "applicationId": QUINYX_APP,
            "tagText": "fuzz",
            "credentialsJson": '{"apikey": "k", "environment": "test"}',
        },
        {
            "applicationId": ("guid", True),
            "tagText": ("string", False),
            "credentialsJson": ("string", True),
        },
    ),
    "create_workflow": (
        {
            "workflowTemplateId": QUINYX_TEMPLATE,
            "name": "fuzz",
            "description": "fuzz",
            "applications": {"QUIN": CALLER_QUIN, "FTP": CALLER_FTP},
            "chain": [{"uniqueBlockId": "02d1424a-da90-4c12-9c28-96162e624bd7", "variables": {}}],
        },
        {
            "workflowTemplateId": ("guid", True),
            "name": ("string", False),
            "description": ("string", False),
            "applications": ("object", True),
            "chain": ("array", False),
        },
    ),
    "run_workflow": (
        {"workflowId": ORDER_WORKFLOW, "runFromBlock": 1, "runTillBlock": 2},
        {
            "workflowId": ("guid", True),
            "runFromBlock": ("integer", False),
            "runTillBlock": ("integer", False),
        },
    ),
    "workflow_scheduler": (
        {
            "workflowId": ORDER_WORKFLOW,
            "isScheduled": True,
            "scheduleFrequency": '{"cronSchedule": "0 0/5 * ? * * *"}',
        },
        {
            "workflowId": ("guid", True),
            "isScheduled": ("boolean", True),
            "scheduleFrequency": ("string", False),
        },
    ),
}

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
KINDS: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "guid": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@attrs.frozen
class Request:
    """A request with one defect; ``with_keys`` adds the emulator's valid keys."""

    key: str
    defect: str
    with_keys: bool
    headers: dict[str, str]
    query: dict[str, str]
    data: bytes | None
    content_type: str | None

    def may_be_unknown_template(self) -> bool:
        return self.defect == "unknown id: workflowTemplateId"


def good_query(key: str) -> dict[str, str]:
    return {"id": ORDER_WORKFLOW} if ROUTES[key].query == ("id",) else {}


def _is_guid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


def defects_of(key: str, *, token_mode: bool) -> list[str]:
    """What can be broken in a request to ``key``."""
    route = ROUTES[key]
    if token_mode and route.auth is Auth.SESSION:
        return ["auth"]  # without a valid token nothing else is read
    defects = []
    if route.auth in (Auth.KEYS, Auth.SESSION):
        defects.append("auth")
    if route.auth is Auth.SESSION:
        defects.append("account")
    if route.query:
        defects.append("query")
    if route.body:
        fields = DTOS[key][1]
        defects += ["not an object", "missing", "wrong type", "content type", "bytes"]
        if any(kind == "guid" for kind, _ in fields.values()):
            defects += ["unknown id", "bad guid"]
    return defects


@st.composite
def broken_bodies(draw: st.DrawFn, key: str, defect: str) -> tuple[str, Any]:
    """Break the route's valid body in the way ``defect`` names."""
    base, fields = DTOS[key]
    if defect == "not an object":
        return defect, draw(json_values.filter(lambda v: not isinstance(v, dict)))
    body = dict(base)
    if defect == "missing":
        name = draw(st.sampled_from([f for f, (_, required) in fields.items() if required]))
        del body[name]
    elif defect == "wrong type":
        name = draw(st.sampled_from(sorted(fields)))
        kind = KINDS[fields[name][0]]
        body[name] = draw(json_values.filter(lambda v: v is not None and not kind(v)))
    else:
        name = draw(st.sampled_from([f for f, (kind, _) in fields.items() if kind == "guid"]))
        if defect == "unknown id":
            body[name] = str(draw(st.uuids()))
        else:
            body[name] = draw(st.text().filter(lambda t: not _is_guid(t)))
    return f"{defect}: {name}", body


@st.composite
def broken_queries(draw: st.DrawFn, key: str) -> dict[str, str]:
    route = ROUTES[key]
    name = route.query[0]
    if key == "describe":
        value = draw(st.text().filter(lambda t: describe(t) is None))
    elif name == "id":
        value = draw(st.text().filter(lambda t: not _is_guid(t.strip())) | st.uuids().map(str))
    else:  # a refresh token
        value = draw(st.text())
    query: dict[str, str] = draw(
        st.sampled_from([{}, {name: value}, {name.upper(): ORDER_WORKFLOW}, {"other": value}])
    )
    return query


@st.composite
def requests(draw: st.DrawFn, key: str, *, token_mode: bool) -> Request:
    route = ROUTES[key]
    defect = draw(st.sampled_from(defects_of(key, token_mode=token_mode)))
    headers: dict[str, str] = {}
    query = {"id": ORDER_WORKFLOW} if route.query == ("id",) else {}
    data = json.dumps(DTOS[key][0]).encode() if route.body else None
    content_type = "application/json" if route.body else None

    if defect == "auth":
        names = st.sampled_from([CONSUMER_HEADER, SECRET_KEY_HEADER, AUTHORIZATION_HEADER])
        headers = draw(st.dictionaries(names, header_text | header_text.map("Bearer ".__add__)))
    elif defect == "account":
        valid = {MANAGED, CALLER}
        headers[ACCOUNT_HEADER] = draw(
            header_text.filter(lambda t: t.strip().lower() not in valid) | st.uuids().map(str)
        )
    elif defect == "query":
        query = draw(broken_queries(key))
    elif defect == "content type":
        content_type = draw(
            st.sampled_from(["text/plain", "application/xml", "multipart/form-data"])
        )
    elif defect == "bytes":
        data = draw(st.binary(max_size=64))
    else:
        defect, body = draw(broken_bodies(key, defect))
        data = json.dumps(body).encode()
    return Request(key, defect, defect != "auth", headers, query, data, content_type)


async def check(api: Api, request: Request) -> None:
    event(request.defect.partition(":")[0])
    before = snapshot(api.emu)
    headers = {**(api.keys if request.with_keys else {}), **request.headers}
    if request.content_type is not None:
        headers["Content-Type"] = request.content_type
    answer = await api.call(request.key, headers=headers, query=request.query, data=request.data)
    documented_500 = (
        answer.status == 500
        and request.may_be_unknown_template()
        and answer.envelope is not None
        and answer.envelope[1].startswith("Unknown workflow template ")
    )
    assert 400 <= answer.status < 500 or documented_500, (request, answer)
    assert snapshot(api.emu) == before, request
    assert api.emu.state.internal_errors == []


KEY_MODE = [key for key, route in ROUTES.items() if route.auth is not Auth.REFRESH]
TOKEN_MODE = ["authenticate", "refresh_access_token", "delete_token", "list_workflows"]


@pytest.mark.parametrize("key", [key for key in KEY_MODE if key != "get_metadata"])
@FUZZ
@given(data=st.data())
async def test_key_mode_refuses_malformed_requests(api: Api, key: str, data: st.DataObject) -> None:
    await check(api, data.draw(requests(key, token_mode=False)))


@pytest.mark.parametrize("key", TOKEN_MODE)
@FUZZ
@given(data=st.data())
async def test_token_mode_refuses_malformed_requests(
    token_api: Api, key: str, data: st.DataObject
) -> None:
    await check(token_api, data.draw(requests(key, token_mode=True)))
