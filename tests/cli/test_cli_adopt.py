"""export, schema and init through the command: an organization adopted as it is.

The acceptance test: 300 accounts, some converged by apply, some made by hand
through the client, some written straight into the emulator's state, some
empty; ``export`` writes them as a file, ``plan --detailed-exitcode`` on that
file finds nothing to change, and the file validates against ``schema``.
"""

from __future__ import annotations

import json
import tomllib
import uuid
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from canvas_async import Canvas, provision
from canvas_async.cli import _exit
from canvas_async.cli._adopt import starter_text
from canvas_async.testing import CanvasEmulator
from tests.cli.test_cli import _keys, _no_traceback, cli
from tests.provision.test_apply import ENV as APPLY_ENV
from tests.provision.test_apply import TEMPLATE, _document

ACCOUNTS = 300
MAIL = "MyStore Customers Send email"
ENV = {**APPLY_ENV, "SHOP_KEY": "s"}

pytestmark = pytest.mark.canvas_emulator(seed="empty", synthetic_accounts=ACCOUNTS, random_seed=11)


def _applied(ids: list[uuid.UUID]) -> dict[str, Any]:
    """What apply converges: the provisioning tests' file (some accounts on their own
    schedule or none), with a description, and a second workflow on some accounts."""
    document = _document(ids)
    document["defaults"]["workflows"]["Employee export"]["description"] = "Employees to FTP"
    for n, account in enumerate(document["accounts"]):
        if n % 25 == 0:
            account["applications"] = {
                "MYST2": {
                    "tag": "MyStore",
                    "credentials": {
                        "shopurl": {"plain": "https://shop.example.org"},
                        "apikey": "${SHOP_KEY}",
                    },
                },
                "CMAF": {"tag": "File Hub"},
            }
            account["workflows"] = {"Customer mail": {"template": MAIL}}
    return document


async def _by_hand(canvas: Canvas, account_id: uuid.UUID, n: int) -> None:
    """What a person made in the UI: other tags, own variables, sometimes two Quinyx keys."""
    view = canvas.for_account(account_id)
    quin = await view.reg_applications.create(
        "QUIN", tag_text="Quinyx legacy", credentials={"apikey": "k", "environment": "live"}
    )
    if n % 3 == 0:  # a second Quinyx registration, the one the workflow uses
        quin = await view.reg_applications.create(
            "QUIN", tag_text="Quinyx 2019", credentials={"apikey": "k2", "environment": "test"}
        )
    ftp = await view.reg_applications.create(
        "FTP",
        tag_text="FTP legacy",
        credentials={"username": "u", "password": "p", "address": "a", "port": "21"},
    )
    workflow = await view.workflows.create(
        TEMPLATE,
        name="Employee export",
        applications={"QUIN": quin, "FTP": ftp},
        variables={"FTP Upload": {"filepath": f"/by-hand/{n}"}},
        description=None if n % 2 else "made by hand",
    )
    if n % 2 == 0:
        await workflow.schedule("0 0 * ? * * *")


def _in_state(emu: CanvasEmulator, source: uuid.UUID, target: uuid.UUID, n: int) -> None:
    """Copy ``source``'s registrations and workflows into ``target`` straight in the state,
    with a workflow that was not made from a template (the file cannot declare it)."""
    regs = {}
    for reg in [r for r in emu.state.reg_applications.values() if r.account_id == source]:
        reg_copy = attrs.evolve(reg, id=uuid.uuid4(), account_id=target)
        emu.state.reg_applications[reg_copy.id] = regs[reg.id] = reg_copy
    for flow in [w for w in emu.state.workflows.values() if w.account_id == source]:
        copy = attrs.evolve(
            flow,
            id=uuid.uuid4(),
            account_id=target,
            reg_application_ids=[regs[r].id for r in flow.reg_application_ids],
            description=f"copied {n}" if n % 2 else flow.description,
            is_scheduled=bool(n % 4),
        )
        emu.state.workflows[copy.id] = copy
        untemplated = attrs.evolve(
            copy, id=uuid.uuid4(), name="Made from scratch", workflow_template_id=None
        )
        emu.state.workflows[untemplated.id] = untemplated


async def _organization(emu: CanvasEmulator, canvas: Canvas) -> None:
    ids = list(emu.state.managed_ids)
    applied = await provision.apply(
        canvas, provision.from_data(_applied(ids[:200])), environ=ENV, concurrency=64
    )
    assert applied.ok, applied.table()
    for n, account_id in enumerate(ids[200:250]):
        await _by_hand(canvas, account_id, n)
    for n, account_id in enumerate(ids[250:280]):
        _in_state(emu, ids[n], account_id, n)
    # ids[280:] hold nothing.


async def test_an_exported_organization_plans_with_nothing_to_change(
    tmp_path: Path, emu: CanvasEmulator, canvas: Canvas
) -> None:
    await _organization(emu, canvas)
    keys = _keys(emu)
    toml_path, json_path = tmp_path / "org.toml", tmp_path / "org.json"

    exported = await cli("export", "-o", str(toml_path), env=keys)
    as_json = await cli("export", "--format", "json", env=keys)
    schema = await cli("schema")

    assert exported.code == _exit.OK, exported.err
    assert as_json.code == _exit.OK, as_json.err
    json_path.write_text(as_json.out)
    state = provision.load(toml_path)
    assert len(state.accounts) == ACCOUNTS
    assert provision.load(json_path).accounts == state.accounts
    variables = sorted(state.env_names())
    assert variables == [
        *("FTP_ADDRESS", "FTP_PASSWORD", "FTP_PORT", "FTP_USERNAME"),
        *("MYST2_APIKEY", "MYST2_SHOPURL", "QUIN_APIKEY", "QUIN_ENVIRONMENT"),
    ]
    said = "read only when apply registers a missing application: " + ", ".join(variables)
    assert said in " ".join(exported.err.split())
    untemplated = [w for w in emu.state.workflows.values() if w.workflow_template_id is None]
    assert exported.err.count("'Made from scratch'") == len(untemplated) >= 30  # said, left out
    validator = jsonschema.Draft7Validator(json.loads(schema.out))
    assert list(validator.iter_errors(tomllib.loads(toml_path.read_text()))) == []
    assert list(validator.iter_errors(json.loads(as_json.out))) == []

    env = {**keys, **dict.fromkeys(variables, "set")}
    for path in (toml_path, json_path):
        planned = await cli("plan", str(path), "--detailed-exitcode", env=env)
        assert planned.code == _exit.OK, planned.out + planned.err
        assert "Plan: 0 to add, 0 to change, 0 to destroy" in planned.out
        _no_traceback(planned)

    # What most accounts share is in defaults; an account writes what differs.
    text = toml_path.read_text()
    document = tomllib.loads(text)
    assert document["defaults"]["applications"]["QUIN"] == {
        "tag": "Quinyx 2024",
        "credentials": {"apikey": "${QUIN_APIKEY}", "environment": "${QUIN_ENVIRONMENT}"},
    }
    assert document["defaults"]["workflows"]["Employee export"] == {
        "template": TEMPLATE,
        "variables": "as-found",
        "schedule": "0 0/15 * ? * * *",
        "description": "Employees to FTP",
    }
    assert document["accounts"][2]["workflows"] == {"Employee export": {"schedule": False}}
    assert document["accounts"][1]["workflows"] == {
        "Employee export": {"schedule": "0 0 6 ? * MON-FRI *"}
    }
    assert document["accounts"][299] == {
        "id": str(emu.state.managed_ids[299]),
        "applications": {"QUIN": False, "FTP": False},
        "workflows": {"Employee export": False},
    }
    two_keys = document["accounts"][200]
    assert two_keys["workflows"]["Employee export"]["applications"] == {
        "QUIN": "QUIN (Quinyx 2019)"
    }
    assert len(text.splitlines()) < 6 * ACCOUNTS


async def test_export_picks_accounts_by_id_email_and_shard(
    tmp_path: Path, emu: CanvasEmulator
) -> None:
    keys = _keys(emu)
    first, second = emu.state.managed_ids[:2]
    email = emu.state.accounts[second].email.upper()

    picked = await cli("export", "--format", "json", "-a", str(first), "-a", email, env=keys)
    shards = [
        await cli("export", "--format", "json", "--shard", f"{i}/3", env=keys) for i in range(3)
    ]
    unknown = await cli("export", "-a", "nobody@example.org", env=keys)

    assert picked.code == _exit.OK, picked.err
    assert [a["id"] for a in json.loads(picked.out)["accounts"]] == [str(first), str(second)]
    ids = [[a["id"] for a in json.loads(s.out)["accounts"]] for s in shards]
    assert sorted(i for part in ids for i in part) == sorted(map(str, emu.state.managed_ids))
    assert {len(part) for part in ids} == {ACCOUNTS // 3}
    assert unknown.code == _exit.USAGE
    assert "'nobody@example.org'" in unknown.err


async def test_init_writes_a_starter_that_plans_and_applies_on_the_emulator(
    tmp_path: Path,
) -> None:
    path = tmp_path / "accounts.toml"

    written = await cli("init", "-o", str(path))
    again = await cli("init", "-o", str(path))
    printed = await cli("init")

    assert written.code == _exit.OK, written.err
    assert path.read_text() == printed.out == starter_text()
    assert again.code == _exit.USAGE
    assert "exists; pass --force" in again.err
    assert (await cli("init", "-o", str(path), "--force")).code == _exit.OK

    planned = await cli("--emulator", "plan", str(path), "--detailed-exitcode")
    applied = await cli("--emulator", "apply", str(path))

    assert planned.code == _exit.PENDING, planned.err
    assert "create-account first.client@example.org" in planned.out
    assert applied.code == _exit.OK, applied.out + applied.err
    assert "2 done, 0 failed" in applied.out


def test_the_starter_validates_against_the_schema_and_loads() -> None:
    from canvas_async.provision.schema import json_schema

    document = tomllib.loads(starter_text())

    assert list(jsonschema.Draft7Validator(json_schema()).iter_errors(document)) == []
    assert len(provision.loads(starter_text()).accounts) == 2


async def test_schema_writes_its_file_and_refuses_connection_options(tmp_path: Path) -> None:
    path = tmp_path / "desired-state.schema.json"

    written = await cli("schema", "-o", str(path))
    refused = await cli("schema", "--emulator")

    assert written.code == _exit.OK
    assert json.loads(path.read_text())["title"] == "canvas-async desired-state file"
    assert refused.code == _exit.USAGE

    nowhere = await cli("schema", "-o", str(tmp_path / "no-such-dir" / "s.json"))
    assert nowhere.code == _exit.FAILED
    assert "cannot write" in nowhere.err
    assert "No such file or directory" in nowhere.err
