"""The emulator speaks the wire on its own: an oracle the SDK is tested against.

Its records write and read the spec's keys themselves (no converter, model or
request class of the SDK in between), so a key the SDK gets wrong fails
against the emulator instead of passing on both sides.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import attrs
import pytest

from canvas_async.testing import (
    AccountRecord,
    ApplicationRecord,
    Block,
    CanvasEmulator,
    CredentialField,
    RegApplicationRecord,
    TemplateRecord,
    WorkflowRecord,
)
from canvas_async.testing._records import to_wire
from tests.emulator.emulator_support import CALLER_FTP, QUINYX_TEMPLATE
from tests.support import ROOT, client_of

#: What the emulator must not load: the SDK's wire format (its converter,
#: models and request bodies), its public cron type and its client.
SDK_WIRE_MODULES = (
    "canvas_async._client",
    "canvas_async._convert",
    "canvas_async._operations",
    "canvas_async.models",
    "canvas_async.schedule",
    "cattrs",
)

# Every module of the package, imported in a fresh interpreter.
_LOAD_THE_EMULATOR = """
import importlib, json, pkgutil, sys
import canvas_async.testing as package
for module in pkgutil.iter_modules(package.__path__):
    importlib.import_module(f"{package.__name__}.{module.name}")
print(json.dumps(sorted(sys.modules)))
"""

#: The keys of each shape, in the order the spec lists them ("Shapes").
SPEC_KEYS: dict[str, tuple[str, ...]] = {
    "Account": (
        "id", "firstName", "lastName", "email", "organizationId", "organizationName",
        "roleId", "role", "dateCreated",
    ),
    "Application": (
        "id", "name", "shortName", "description", "vendorUrl", "credentialFields",
        "credentialsJson", "tag", "sessionTimeMins", "sessionSlidingExpiry",
    ),
    "CredentialField": (
        "ShortName", "Name", "Type", "Value", "Options", "Optional", "Desc", "Hidden",
    ),
    "RegApplication": (
        "id", "shortName", "accountId", "applicationId", "name", "tagText", "description",
        "isAuthenticated", "isOAuthApp", "dateModified", "dateTimeUtcAuthenticated",
        "dateTimeForReAuth", "sessionTimeMins", "sessionSlidingExpiry", "faulted",
    ),
    "WorkflowTemplate": (
        "id", "name", "description", "dateCreated", "dateModified", "state", "version",
        "draftIsCommitted", "dateCommitted", "organizationId", "applications", "chain",
    ),
    "Block": ("uniqueBlockId", "blockName", "variables"),
    "Workflow": (
        "id", "name", "description", "status", "isScheduled", "schedulerFrequency",
        "workflowTemplateId", "isCustomizedStructure", "accountId", "organizationId",
        "dateCreated", "dateModified", "dateLastRun", "dateNextSchedule",
        "regApplicationIds", "currentBlock",
    ),
}  # fmt: skip

SAMPLES = CanvasEmulator(seed="samples", synthetic_accounts=3).state


def test_the_emulator_loads_nothing_of_the_sdks_wire_format() -> None:
    """Importing every emulator module leaves the SDK's converter, models and bodies unloaded."""
    done = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", _LOAD_THE_EMULATOR],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    loaded = set(json.loads(done.stdout))

    assert {"canvas_async.testing._server", "canvas_async._routes"} <= loaded  # the probe works
    assert sorted(loaded.intersection(SDK_WIRE_MODULES)) == []


def test_every_record_writes_the_spec_keys_in_order() -> None:
    shapes: list[tuple[str, dict[str, Any]]] = []
    shapes += [("Account", to_wire(account)) for account in SAMPLES.accounts.values()]
    shapes += [("RegApplication", to_wire(reg)) for reg in SAMPLES.reg_applications.values()]
    shapes += [("Workflow", to_wire(flow)) for flow in SAMPLES.workflows.values()]
    for app in SAMPLES.applications.values():
        wire = to_wire(app)
        shapes += [("Application", wire)]
        shapes += [("CredentialField", field) for field in wire["credentialFields"]]
    for template in SAMPLES.templates.values():
        wire = to_wire(template)
        shapes += [("WorkflowTemplate", wire), *(("Block", block) for block in wire["chain"])]

    wrong = {
        (shape, tuple(wire))
        for shape, wire in shapes
        # ``Options`` is sent for select fields only.
        if tuple(wire) != tuple(key for key in SPEC_KEYS[shape] if key in wire)
        or set(SPEC_KEYS[shape]) - set(wire) - {"Options"}
    }
    assert wrong == set()
    assert {shape for shape, _ in shapes} == set(SPEC_KEYS)
    assert any("Options" in wire for shape, wire in shapes if shape == "CredentialField")


def test_what_is_kept_but_not_sent_stays_off_the_wire() -> None:
    flow = next(flow for flow in SAMPLES.workflows.values() if flow.chain)
    reg = attrs.evolve(next(iter(SAMPLES.reg_applications.values())), credentials={"pw": "s3"})
    account = attrs.evolve(SAMPLES.caller, phone="+47 1", activated=False)

    assert "chain" not in to_wire(flow)
    assert "s3" not in json.dumps(to_wire(reg))
    assert set(to_wire(account)) == set(SPEC_KEYS["Account"])


def test_a_seeded_record_reads_back_as_it_was_written() -> None:
    records: list[Any] = [
        *SAMPLES.accounts.values(),
        *SAMPLES.applications.values(),
        *SAMPLES.reg_applications.values(),
        *SAMPLES.templates.values(),
        *(attrs.evolve(flow, chain=[]) for flow in SAMPLES.workflows.values()),
    ]

    assert [type(record).from_wire(to_wire(record)) for record in records] == records
    block = SAMPLES.templates[next(iter(SAMPLES.templates))].chain[0]
    assert Block.from_wire(block.to_wire()) == block


ACCOUNT = to_wire(SAMPLES.caller)


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (
            {**ACCOUNT, "FirstName": "x"},
            "Account has keys the emulator does not know: ['FirstName']",
        ),
        ({k: v for k, v in ACCOUNT.items() if k != "email"}, "Account has no 'email'"),
        ({**ACCOUNT, "email": None}, "Account.email must not be null"),
        ({**ACCOUNT, "email": 7}, "Account.email must be str, got 7"),
        ({**ACCOUNT, "roleId": "admin"}, "Account.roleId must be a GUID, got 'admin'"),
        ([ACCOUNT], "Account must be a JSON object, not list"),
    ],
)
def test_reading_refuses_a_shape_not_the_specs(wire: object, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        AccountRecord.from_wire(wire)


@pytest.mark.parametrize(
    "field",
    [
        CredentialField("k", "Key", "text", ""),
        CredentialField("k", "Key", "text", "v", optional=True, desc="d", hidden=True),
        CredentialField("e", "Env", "select", "", "a|A,b|B"),
    ],
)
def test_a_credential_field_reads_back_and_sends_options_only_when_set(
    field: CredentialField,
) -> None:
    wire = field.to_wire()

    assert CredentialField.from_wire(wire) == field
    assert ("Options" in wire) is (field.options is not None)


async def test_the_sdk_reads_every_key_the_emulator_sends(emu: CanvasEmulator) -> None:
    """The SDK's models know each key the emulator writes from the spec: none is left over."""
    async with client_of(emu) as canvas:
        accounts = await canvas.accounts.list()
        applications = await canvas.applications.list()
        regs = await canvas.reg_applications.list()
        templates = await canvas.templates.list()
        workflows = await canvas.workflows.list()
        one = await canvas.workflows.get(workflows[0].id)
        endpoints = await canvas.meta.endpoints()
        properties = await canvas.meta.describe("Workflow")
    state = emu.state
    models = [
        *accounts,
        *applications,
        *(field for app in applications for field in app.credential_fields),
        *regs,
        *templates,
        *(block for template in templates for block in template.chain),
        *workflows,
        one,
        *endpoints,
        *properties,
    ]

    assert [(type(model).__name__, dict(model.extra)) for model in models if model.extra] == []
    assert [account.id for account in accounts] == [a.id for a in state.listed_accounts()]
    assert [app.short_name for app in applications] == [
        app.short_name for app in state.applications.values()
    ]
    assert [reg.is_o_auth_app for reg in regs] == [
        reg.is_o_auth_app for reg in state.reg_applications_of(state.caller)
    ]
    assert one == workflows[0]
    assert [prop.property_name for prop in properties] == list(SPEC_KEYS["Workflow"])


async def test_every_optional_key_the_sdk_sends_takes_effect(emu: CanvasEmulator) -> None:
    """The emulator ignores keys it does not know, as the server does: a misspelt
    optional key would pass unseen, so each one's effect is checked."""
    async with client_of(emu) as canvas:
        account_id = await canvas.accounts.create(
            first_name="Ada",
            last_name="Lovelace",
            email="ada@example.org",
            role="SuperPartner",
            phone="+47 22 00 00 00",
            country_key="NO",
            global_notifications=True,
            default_notification_email="ops@example.org",
            activated=False,
        )
        reg = await canvas.reg_applications.create(
            "QUIN", tag_text="Quinyx 2022", credentials={"apikey": "k-1", "environment": "test"}
        )
        flow = await canvas.workflows.create(
            QUINYX_TEMPLATE,
            name="Nightly",
            applications={"QUIN": reg, "FTP": CALLER_FTP},
            variables={"FTP Upload": {"filepath": "/out"}},
            description="Employees to FTP",
        )
        await canvas.workflows.run(flow, from_block=2, till_block=2)
        await canvas.workflows.schedule(flow, "0 0/5 * ? * * *")
    account = emu.state.accounts[account_id]
    stored = emu.state.workflows[flow.id]

    assert (account.role, account.phone, account.country_key) == (
        "SuperPartner",
        "+47 22 00 00 00",
        "NO",
    )
    assert (account.global_notifications, account.default_notification_email) == (
        True,
        "ops@example.org",
    )
    assert not account.activated
    assert emu.state.reg_applications[reg.id].tag_text == "Quinyx 2022"
    assert (stored.name, stored.description) == ("Nightly", "Employees to FTP")
    assert stored.chain[1].variables["filepath"] == "/out"
    assert (emu.state.runs[-1].run_from_block, emu.state.runs[-1].run_till_block) == (2, 2)
    assert stored.is_scheduled
    assert stored.scheduler_frequency == '{"cronSchedule":"0 0/5 * ? * * *"}'


@pytest.mark.parametrize(
    "cls",
    [AccountRecord, ApplicationRecord, RegApplicationRecord, TemplateRecord, WorkflowRecord],
)
def test_every_shape_refuses_what_is_not_an_object(cls: Any) -> None:
    with pytest.raises(ValueError, match="must be a JSON object"):
        cls.from_wire("{}")
