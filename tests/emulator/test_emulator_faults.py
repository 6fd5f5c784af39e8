"""Fault injection fires as configured and stops when it should; the request log tells."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from canvas_async.testing import (
    CanvasEmulator,
    DropConnection,
    ErrorEnvelope,
    ErrorStatus,
    Faults,
    Latency,
    RateLimit,
)
from tests.emulator.emulator_support import (
    MANAGED,
    NEW_WORKFLOW,
    Api,
    snapshot,
)
from tests.support import started


async def statuses(api: Api, key: str, count: int, **kwargs: Any) -> list[int]:
    return [(await api.call(key, **kwargs)).status for _ in range(count)]


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_status_fault_fires_times_then_stops(api: Api, status: int) -> None:
    rule = api.emu.faults.add(ErrorStatus(status), times=2, operations={"create_workflow"})
    before = snapshot(api.emu)
    assert await statuses(api, "create_workflow", 2, body=NEW_WORKFLOW) == [status, status]
    assert snapshot(api.emu) == before  # answered before the operation
    assert await api.ok("list_workflows")  # other operations are not affected
    assert await statuses(api, "create_workflow", 1, body=NEW_WORKFLOW) == [200]
    assert (rule.fired, rule.remaining) == (2, 0)

    log = [r for r in api.emu.log if r.operation == "create_workflow"]
    assert [(r.status, r.faults, r.took_effect) for r in log] == [
        (status, (f"status {status}",), False),
        (status, (f"status {status}",), False),
        (200, (), True),
    ]


async def test_429_and_503_carry_retry_after(api: Api) -> None:
    api.emu.faults.add(ErrorStatus(429, retry_after=7), times=1)
    api.emu.faults.add(ErrorStatus(503, retry_after=3), times=1)
    api.emu.faults.add(ErrorStatus(500), times=1)
    first, second, third = [await api.call("list_workflows") for _ in range(3)]
    assert (first.status, first.headers["Retry-After"], first.text) == (
        429,
        "7",
        "Too Many Requests",
    )
    assert (second.status, second.headers["Retry-After"]) == (503, "3")
    assert (third.status, "Retry-After" in third.headers) == (500, False)


async def test_a_500_after_effect_changes_state_and_still_fails(api: Api) -> None:
    api.emu.faults.add(ErrorStatus(500, after_effect=True), times=1, operations={"create_workflow"})
    count = len(api.emu.state.workflows)
    answer = await api.call("create_workflow", body=NEW_WORKFLOW)
    assert answer.status == 500
    assert len(api.emu.state.workflows) == count + 1
    [record] = [r for r in api.emu.log if r.operation == "create_workflow"]
    assert (record.status, record.faults, record.took_effect) == (
        500,
        ("status 500 after effect",),
        True,
    )


async def test_after_effect_faults_wait_for_an_operation_that_takes_effect(api: Api) -> None:
    rule = api.emu.faults.add(ErrorStatus(502, after_effect=True), times=1)
    refused = await api.call("create_workflow", body={})  # a 400: nothing took effect
    assert refused.status == 400
    assert rule.fired == 0
    assert (await api.call("list_workflows")).status == 502


async def test_an_envelope_fault_comes_with_http_200(api: Api) -> None:
    api.emu.faults.add(ErrorEnvelope(state=503, message="Busy"), times=1)
    answer = await api.call("list_accounts")
    assert (answer.status, answer.envelope) == (200, (503, "Busy"))
    assert await api.ok("list_accounts")


async def test_dropping_before_the_operation(api: Api) -> None:
    api.emu.faults.add(DropConnection(), times=1, operations={"create_workflow"})
    before = snapshot(api.emu)
    with pytest.raises(aiohttp.ClientOSError):  # a TCP reset
        await api.call("create_workflow", body=NEW_WORKFLOW)
    assert snapshot(api.emu) == before
    [record] = [r for r in api.emu.log if r.operation == "create_workflow"]
    assert (record.status, record.faults, record.took_effect) == (
        None,
        ("drop before effect",),
        False,
    )


async def test_dropping_after_the_operation_leaves_its_change(api: Api) -> None:
    api.emu.faults.add(
        DropConnection(after_effect=True, reset=False), times=1, operations={"create_workflow"}
    )
    count = len(api.emu.state.workflows)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.call("create_workflow", body=NEW_WORKFLOW)
    assert len(api.emu.state.workflows) == count + 1
    [record] = [r for r in api.emu.log if r.operation == "create_workflow"]
    assert (record.status, record.took_effect) == (None, True)
    # The server keeps serving.
    assert await api.ok("create_workflow", body=NEW_WORKFLOW)


async def test_latency_delays_the_answer(api: Api) -> None:
    api.emu.faults.add(Latency(0.05), operations={"list_workflows"})
    api.emu.faults.add(Latency(0.05), operations={"list_workflows"}, times=1)
    started = time.monotonic()
    assert await api.ok("list_workflows")
    assert time.monotonic() - started >= 0.1
    assert await api.ok("list_workflows")
    assert [record.faults for record in api.emu.log] == [("latency", "latency"), ("latency",)]


async def test_fractions_are_repeatable_under_a_seed(session: aiohttp.ClientSession) -> None:
    runs = []
    for _ in range(2):
        async with started(CanvasEmulator(random_seed=7)) as emu:
            emu.faults.add(ErrorStatus(503), fraction=0.5)
            runs.append(await statuses(Api(session, emu), "list_workflows", 30))
    assert runs[0] == runs[1]
    assert set(runs[0]) == {200, 503}


async def test_a_rate_limit_refuses_the_excess_with_retry_after(api: Api) -> None:
    api.emu.faults.add(RateLimit(per_second=3), operations={"list_workflows", "list_accounts"})
    answers = [await api.call("list_workflows") for _ in range(3)]
    answers.append(await api.call("list_accounts"))
    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert answers[-1].headers["Retry-After"] == "1"
    assert api.emu.log[-1].faults == ("rate limit",)
    # Operations outside the limit pass.
    assert await api.ok("list_reg_applications", account=MANAGED) == []


def test_a_rate_limit_window_slides() -> None:
    faults = Faults()
    limit = RateLimit(per_second=2)
    rule = faults.add(limit)
    refused = (limit, 1)
    assert [faults.throttle("list_workflows", t) for t in (0.0, 0.2, 0.4)] == [None, None, refused]
    assert faults.throttle("list_workflows", 0.99) == refused
    assert faults.throttle("list_workflows", 1.0) is None  # the call at 0.0 left the window
    assert faults.throttle("list_workflows", 1.1) == refused
    assert faults.throttle("list_workflows", 1.21) is None
    assert rule.fired == 3


async def test_clear_and_remove(api: Api) -> None:
    first = api.emu.faults.add(ErrorStatus(500))
    api.emu.faults.add(ErrorStatus(502))
    assert (await api.call("list_workflows")).status == 500
    api.emu.faults.remove(first)
    assert (await api.call("list_workflows")).status == 502
    api.emu.faults.clear()
    assert (await api.call("list_workflows")).status == 200


async def test_faults_act_before_authentication(api: Api) -> None:
    api.emu.faults.add(ErrorStatus(503), times=1)
    assert (await api.call("list_workflows", headers={})).status == 503
    assert (await api.call("list_workflows", headers={})).status == 401


@pytest.mark.parametrize(
    ("fault", "options", "message"),
    [
        (ErrorStatus(500), {"operations": {"no_such_operation"}}, "unknown operations"),
        (ErrorStatus(500), {"operations": set()}, "unknown operations"),
        (ErrorStatus(500), {"times": 0}, "times must be at least 1"),
        (ErrorStatus(500), {"fraction": 0.0}, "fraction must be in"),
        (ErrorStatus(500), {"fraction": 1.5}, "fraction must be in"),
        (RateLimit(5), {"times": 1}, "a rate limit takes neither"),
        (RateLimit(5), {"fraction": 0.5}, "a rate limit takes neither"),
    ],
)
def test_bad_fault_options_are_refused(fault: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Faults().add(fault, **options)


def test_operations_is_a_collection() -> None:
    with pytest.raises(TypeError, match="collection of route keys"):
        Faults().add(ErrorStatus(500), operations="list_workflows")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ErrorStatus(503, after_effect=True), "comes before the operation"),
        (lambda: ErrorStatus(429, after_effect=True), "comes before the operation"),
        (lambda: ErrorStatus(200), "must be an HTTP error status"),
        (lambda: ErrorStatus(429, retry_after=-1), "must not be negative"),
        (lambda: Latency(-0.1), "must be >= 0"),
        (lambda: RateLimit(0), "must be at least 1"),
    ],
)
def test_bad_faults_are_refused(make: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


async def test_the_log_records_every_request(api: Api) -> None:
    await api.call("list_workflows", account=MANAGED)
    await api.call("get_workflow", query={"id": "x"})
    async with api.session.get(api.emu.url + "/NoSuchThing") as response:
        assert response.status == 404
    async with api.session.post(api.emu.url + "/Accounts") as response:
        assert response.status == 405
    first, second, missing, wrong_verb = api.emu.log
    assert (first.operation, first.method, first.path, first.account_header, first.status) == (
        "list_workflows",
        "GET",
        "/api/Workflows",
        MANAGED,
        200,
    )
    assert (second.operation, second.status, second.took_effect) == ("get_workflow", 400, False)
    assert (missing.operation, missing.status) == (None, 404)
    assert (wrong_verb.operation, wrong_verb.status) == (None, 405)
    assert first.time <= second.time <= missing.time <= wrong_verb.time
