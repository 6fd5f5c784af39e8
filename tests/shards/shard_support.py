"""A desired-state file for many accounts, and what the emulator holds against it."""

from __future__ import annotations

import asyncio
import collections
import json
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from canvas_async.provision import AccountSpec
from canvas_async.testing import CanvasEmulator
from tests.leak_check import register_secret
from tests.provision.test_apply import _document
from tests.support import bare_env

#: The credentials the file refers to; none is a real secret, all are leak-checked.
ENV = {"QUINYX_KEY": "k-quinyx-shards", "FTP_USER": "u-shards", "FTP_PASSWORD": "p-shards-pw"}
for _value in ENV.values():
    register_secret(_value)


def write_file(path: Path, account_ids: list[uuid.UUID]) -> Path:
    """Write the apply tests' desired-state file (JSON) for ``account_ids``: two
    registrations and a workflow each, scheduled or not; return its path."""
    path.write_text(json.dumps(_document(account_ids), indent=1), encoding="utf-8")
    return path


def duplicates(emu: CanvasEmulator) -> int:
    """Count the objects made more than once: registrations by (account, app, tag),
    workflows by (account, name)."""
    regs = collections.Counter(
        (r.account_id, r.short_name, r.tag_text) for r in emu.state.reg_applications.values()
    )
    flows = collections.Counter((w.account_id, w.name) for w in emu.state.workflows.values())
    return sum(n - 1 for n in regs.values()) + sum(n - 1 for n in flows.values())


def duplicate_workflows(emu: CanvasEmulator) -> int:
    """Count the workflows made more than once, by (account, name)."""
    flows = collections.Counter((w.account_id, w.name) for w in emu.state.workflows.values())
    return sum(n - 1 for n in flows.values())


def converged(emu: CanvasEmulator, account_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """Return the accounts that do not hold exactly the file's registrations and workflow."""
    wrong = []
    for account_id in account_ids:
        regs = sorted(
            (r.short_name, r.tag_text)
            for r in emu.state.reg_applications.values()
            if r.account_id == account_id
        )
        flows = [w.name for w in emu.state.workflows.values() if w.account_id == account_id]
        if regs != [("FTP", "FTP 2024"), ("QUIN", "Quinyx 2024")] or flows != ["Employee export"]:
            wrong.append(account_id)
    return wrong


def changes_of(accounts: Iterable[AccountSpec]) -> int:
    """Count the changes converging ``accounts`` from nothing takes."""
    return sum(
        len(a.applications) + len(a.workflows) + sum(1 for w in a.workflows if w.schedule)
        for a in accounts
    )


#: The operations that change state (DeleteWorkflow is a GET).
WRITES = frozenset(
    {
        "create_account",
        "create_reg_application",
        "create_workflow",
        "delete_workflow",
        "workflow_scheduler",
        "run_workflow",
    }
)


def writes(emu: CanvasEmulator) -> int:
    """Count the requests that changed state."""
    return sum(1 for r in emu.log if r.took_effect and r.operation in WRITES)


def reads_of(emu: CanvasEmulator, account: uuid.UUID | str) -> int:
    """How many times a run has listed the workflows of ``account``."""
    return sum(
        1 for r in emu.log if r.operation == "list_workflows" and r.account_header == str(account)
    )


async def until(condition: Callable[[], bool]) -> None:
    """Wait until ``condition()``, checking between the emulator's answers.

    The emulator runs in this event loop, so a process it serves cannot get
    further than one answer past the moment ``condition`` became true.
    """
    while not condition():  # noqa: ASYNC110 - the state is the emulator's, not an event
        await asyncio.sleep(0.002)


def cli_env(emu: CanvasEmulator, **extra: str) -> dict[str, str]:
    """The environment of a ``canvas-async`` process pointed at ``emu``."""
    return {
        **bare_env(),
        **ENV,
        "COLUMNS": "200",
        "CANVAS_ENV": emu.url,
        "CANVAS_CONSUMER": emu.consumer,
        "CANVAS_SECRET_KEY": emu.secret_key,
        **extra,
    }
