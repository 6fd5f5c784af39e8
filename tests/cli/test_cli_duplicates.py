"""Duplicates through the command: plan's exit status and lines, apply's status and report."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import attrs
import pytest

from canvas_async.cli import _exit
from canvas_async.testing import CanvasEmulator
from tests.cli.test_cli import SECRET_VALUE, _file, _keys, _no_traceback, cli

pytestmark = pytest.mark.canvas_emulator(seed="samples", synthetic_accounts=4, random_seed=9)


async def test_duplicates_show_in_plan_apply_deletes_its_own_and_fails_on_registrations(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    env = _keys(emu, QUINYX_KEY=SECRET_VALUE, FTP_USER="ftp-user")
    path = str(_file(tmp_path, emu))
    assert (await cli("apply", path, env=env)).code == _exit.OK
    first, second = emu.state.managed_ids[-4:-2]
    [workflow] = [w for w in emu.state.workflows.values() if w.account_id == first]
    extra_workflow = attrs.evolve(
        workflow, id=uuid.uuid4(), date_created="2999-01-01T00:00:00.0000000"
    )
    emu.state.workflows[extra_workflow.id] = extra_workflow

    planned = await cli("plan", path, "--detailed-exitcode", env=env)

    assert planned.code == _exit.PENDING, planned.err
    assert f"- delete-duplicate Export (duplicate of {workflow.id}) on {first}" in planned.out
    assert "Plan: 0 to add, 0 to change, 1 to destroy, across 1 of 4 accounts." in planned.out
    assert "Not fixed by apply" not in planned.out

    [quinyx] = [
        r
        for r in emu.state.reg_applications.values()
        if r.account_id == second and r.short_name == "QUIN"
    ]
    extra_registration = attrs.evolve(quinyx, id=uuid.uuid4())
    emu.state.reg_applications[extra_registration.id] = extra_registration

    planned = await cli("plan", path, "--detailed-exitcode", env=env)
    assert planned.code == _exit.PENDING
    assert "Not fixed by apply: 1 duplicate registration on 1 account" in planned.out
    named = f"duplicate 2 registrations of QUIN tagged 'Quinyx' ({quinyx.id} in use"
    assert named in planned.out

    report = tmp_path / "report.json"
    applied = await cli("apply", path, "--json", "--report", str(report), env=env)

    assert applied.code == _exit.UNFIXABLE, applied.err
    data = applied.json()
    assert data == json.loads(report.read_text())
    assert isinstance(data, dict)
    assert data["summary"]["unfixable"] == 1
    assert data["summary"]["destroy"] == 1
    by_id = {a["account_id"]: a for a in data["accounts"]}
    assert by_id[str(first)]["status"] == "done"
    assert by_id[str(second)]["status"] == "failed"
    assert by_id[str(second)]["unfixable"] is True
    [listed] = by_id[str(second)]["duplicates"]
    assert listed["extra"] == [str(extra_registration.id)]
    assert extra_workflow.id not in emu.state.workflows
    assert workflow.id in emu.state.workflows

    text = await cli("apply", path, env=env)
    assert text.code == _exit.UNFIXABLE
    assert f"{second}: failed: duplicates: 2 registrations of QUIN" in text.out
    assert "remove the extra ones in Canvas (ids above), then apply again" in text.out

    del emu.state.reg_applications[extra_registration.id]  # removed in Canvas by a person
    again = await cli("apply", path, "--json", env=env)
    assert again.code == _exit.OK
    summary = again.json()
    assert isinstance(summary, dict)
    assert summary["summary"]["changes"] == 0
    for result in (planned, applied, text, again):
        _no_traceback(result)
