"""One apply converges against a server failing a share of all requests at random.

300 accounts (270 existing, 30 created by e-mail), each with two registrations,
one workflow and one schedule, against the emulator failing 10% or 20% of all
requests with faults of random kinds (500, 502, 503, 504, 429, connections
dropped before or after the effect), under fixed seeds. Waits are made short
through the retry and requeue settings; nothing depends on timing.
"""

from __future__ import annotations

import collections
import uuid
from typing import Any

import pytest

from canvas_async import Canvas, Retries, bulk, provision
from canvas_async.provision import DesiredState, Status
from canvas_async.testing import WRITES, CanvasEmulator, ErrorStatus, RandomFaults
from tests.support import BUSY_TIMEOUT

EXISTING = 270
NEW = 30
TEMPLATE = "Quinyx Employee Export Into FTP(CSV)"
ENV = {"QUINYX_KEY": "k-quinyx", "FTP_PASSWORD": "p"}
#: The client's and the requeue's waits, short enough for a test.
FAST_RETRIES = Retries(backoff_initial=0.005, backoff_max=0.02)
FAST_REQUEUE = bulk.Requeue(backoff_initial=0.005, backoff_max=0.02)


def _state(emu: CanvasEmulator) -> DesiredState:
    accounts: list[dict[str, Any]] = [{"id": str(a)} for a in emu.state.managed_ids[:EXISTING]]
    accounts.extend(
        {"email": f"new-{n}@example.org", "first_name": "New", "last_name": f"Client {n}"}
        for n in range(NEW)
    )
    document = {
        "defaults": {
            "applications": {
                "QUIN": {
                    "tag": "Quinyx",
                    "credentials": {"apikey": "${QUINYX_KEY}", "environment": {"plain": "test"}},
                },
                "FTP": {
                    "tag": "FTP",
                    "credentials": {
                        "username": {"plain": "u"},
                        "password": "${FTP_PASSWORD}",
                        "address": {"plain": "ftp.example.org"},
                        "port": {"plain": "21"},
                    },
                },
            },
            "workflows": {
                "Employee export": {
                    "template": TEMPLATE,
                    "schedule": "0 0/15 * ? * * *",
                    "variables": {"FTP Upload": {"filepath": "/exports"}},
                }
            },
        },
        "accounts": accounts,
    }
    return provision.from_data(document, source="faults.toml")


pytestmark = [
    pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=EXISTING, random_seed=11),
    pytest.mark.canvas_client(retries=FAST_RETRIES, timeout=BUSY_TIMEOUT),
]


def _account_ids(emu: CanvasEmulator) -> list[uuid.UUID]:
    by_email = {a.email: a.id for a in emu.state.accounts.values()}
    created = [by_email[f"new-{n}@example.org"] for n in range(NEW)]
    return [*emu.state.managed_ids[:EXISTING], *created]


def assert_exactly_declared(emu: CanvasEmulator, skip: frozenset[uuid.UUID] = frozenset()) -> None:
    """Every account holds exactly the declared state: nothing missing, nothing twice."""
    emails = collections.Counter(a.email for a in emu.state.accounts.values())
    assert all(emails[f"new-{n}@example.org"] == 1 for n in range(NEW))
    regs = collections.defaultdict(list)
    for reg in emu.state.reg_applications.values():
        regs[reg.account_id].append((reg.short_name, reg.tag_text))
    flows = collections.defaultdict(list)
    for flow in emu.state.workflows.values():
        flows[flow.account_id].append(flow)
    for account_id in _account_ids(emu):
        if account_id in skip:
            continue
        assert sorted(regs[account_id]) == [("FTP", "FTP"), ("QUIN", "Quinyx")]
        [flow] = flows[account_id]
        assert flow.name == "Employee export"
        assert flow.is_scheduled
        assert '"0 0/15 * ? * * *"' in str(flow.scheduler_frequency)


def _writes(emu: CanvasEmulator, since: int) -> int:
    return sum(1 for r in emu.log[since:] if r.operation in WRITES)


@pytest.mark.parametrize(("fraction", "seed"), [(0.1, 101), (0.2, 202)])
async def test_one_apply_converges_under_random_faults(
    emu: CanvasEmulator, canvas: Canvas, fraction: float, seed: int
) -> None:
    emu.faults.rng.seed(seed)
    rule = emu.faults.add(RandomFaults(), fraction=fraction)
    state = _state(emu)

    first = await provision.apply(canvas, state, environ=ENV, requeue=FAST_REQUEUE)

    assert first.ok, first.table()
    assert first.count(Status.DONE) == EXISTING + NEW
    assert rule.fired > fraction * len(emu.log) / 2  # the faults did strike, often
    assert_exactly_declared(emu)

    emu.faults.clear()
    before = len(emu.log)
    second = await provision.apply(canvas, state, environ=ENV)
    assert second.ok, second.table()
    assert second.summary()["changes"] == 0
    assert _writes(emu, before) == 0


async def test_an_account_whose_writes_are_refused_fails_alone_with_the_reason(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    emu.faults.rng.seed(303)
    emu.faults.add(RandomFaults(), fraction=0.1)
    refused = emu.state.managed_ids[7]
    emu.faults.add(ErrorStatus(403), operations=WRITES, accounts={refused})
    state = _state(emu)

    report = await provision.apply(canvas, state, environ=ENV, requeue=FAST_REQUEUE)

    failed = [a for a in report.accounts if a.status is not Status.DONE]
    assert [a.account_id for a in failed] == [refused]
    [account] = failed
    assert account.status is Status.FAILED
    assert "403" in str(account.reason)
    assert account.attempts == 1  # a refusal does not use up the budget
    assert report.count(Status.DONE) == EXISTING + NEW - 1
    assert_exactly_declared(emu, skip=frozenset({refused}))
    refused_writes = [
        r for r in emu.log if r.operation in WRITES and r.account_header == str(refused)
    ]
    assert len(refused_writes) == 1  # refused once, not tried again


async def test_an_existing_empty_account_takes_six_requests_and_two_to_check_them(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    """Two reads, four writes, then the two reads again (verify): 8 requests."""
    ids = emu.state.managed_ids[:3]
    state = DesiredState(_state(emu).accounts[:3])
    before = len(emu.log)

    report = await provision.apply(canvas, state, environ=ENV)

    assert report.ok, report.table()
    for account_id in ids:
        sent = collections.Counter(
            r.operation for r in emu.log[before:] if r.account_header == str(account_id)
        )
        assert sent == {
            "list_reg_applications": 2,
            "list_workflows": 2,
            "create_reg_application": 2,
            "create_workflow": 1,
            "workflow_scheduler": 1,
        }
