"""Export's document, over models built by hand: what is folded, what is said, how it reads."""

from __future__ import annotations

import json
import math
import tomllib
import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canvas_async import Canvas
from canvas_async.models import Account
from canvas_async.provision import _toml, export
from canvas_async.provision._load import from_data
from canvas_async.provision._plan import Catalogue, check, diff
from canvas_async.provision.export import Export, ExportError, Holding, build, variable_name
from canvas_async.testing import CanvasEmulator, ErrorStatus
from tests.provision import provision_factories as f
from tests.provision.test_plan import CATALOGUE, FTP, QUIN, TEMPLATE


def _account(n: int) -> Account:
    return Account(
        id=uuid.UUID(int=n + 1),
        first_name="A",
        last_name=str(n),
        email=f"a{n}@example.org",
        organization_id=f.ORG,
        organization_name="Org",
        role_id=None,
        role="User",
        date_created=None,
    )


def _holding(n: int, *, cron: str | None = "0 0/5 * ? * * *", tag: str = "Quinyx") -> Holding:
    """An account with Quinyx and FTP registered and "Export" bound to both."""
    account = _account(n)
    regs = (f.registration(QUIN, tag, account.id), f.registration(FTP, "FTP", account.id))
    workflow = f.workflow(
        "Export",
        account.id,
        description="by hand",
        template_id=TEMPLATE.id,
        reg_ids=tuple(r.id for r in regs),
        cron=cron,
        is_scheduled=cron is not None,
    )
    return Holding(account, regs, (workflow,))


def _converged(export: Export, holdings: list[Holding], catalogue: Catalogue = CATALOGUE) -> None:
    """The document loads, fits the catalogue, and plans nothing for any account."""
    state = from_data(json.loads(export.json()))
    assert check(state, catalogue) == []
    for spec, holding in zip(state.accounts, holdings, strict=True):
        plan = diff(
            spec,
            catalogue,
            account_id=holding.account.id,
            registrations=holding.registrations,
            workflows=holding.workflows,
        )
        assert plan.converged, (spec.label, plan)


def test_what_most_accounts_share_goes_to_defaults_and_each_writes_what_differs() -> None:
    holdings = [_holding(0), _holding(1), _holding(2, cron=None, tag="Old"), Holding(_account(3))]

    export = build(holdings, CATALOGUE)

    document = export.document
    assert document["defaults"] == {
        "applications": {
            "QUIN": {
                "tag": "Quinyx",
                "credentials": {"apikey": "${QUIN_APIKEY}", "environment": "${QUIN_ENVIRONMENT}"},
            },
            "FTP": {"tag": "FTP", "credentials": {"username": "${FTP_USERNAME}"}},
        },
        "workflows": {
            "Export": {
                "template": TEMPLATE.name,
                "variables": "as-found",
                "schedule": "0 0/5 * ? * * *",
                "description": "by hand",
            }
        },
    }
    assert [a for a in document["accounts"] if len(a) > 1] == [
        {
            "id": str(uuid.UUID(int=3)),
            "applications": {"QUIN": {"tag": "Old"}},
            "workflows": {"Export": {"schedule": False}},
        },
        {
            "id": str(uuid.UUID(int=4)),
            "applications": {"QUIN": False, "FTP": False},
            "workflows": {"Export": False},
        },
    ]
    assert export.variables == ("FTP_USERNAME", "QUIN_APIKEY", "QUIN_ENVIRONMENT")
    assert export.notes == ()
    _converged(export, holdings)


def test_one_account_or_accounts_that_do_not_agree_have_no_defaults() -> None:
    alone = build([_holding(0)], CATALOGUE)
    apart = build([_holding(0), Holding(_account(1)), Holding(_account(2))], CATALOGUE)

    assert "defaults" not in alone.document
    assert "defaults" not in apart.document
    assert alone.document["accounts"][0]["workflows"]["Export"]["variables"] == "as-found"
    _converged(alone, [_holding(0)])


@pytest.mark.parametrize("name", ["  Export  ", str(uuid.UUID(int=99))], ids=["spaced", "an-id"])
def test_a_template_whose_name_would_not_find_it_is_written_by_id(name: str) -> None:
    # Plan reads a template reference stripped, and as an id first: such a name finds
    # nothing (or another template), so the template is written by its id.
    template = attrs.evolve(TEMPLATE, name=name)
    other = attrs.evolve(TEMPLATE, id=uuid.UUID(int=99), name="Other")
    catalogue = Catalogue.of(CATALOGUE.applications.values(), [template, other])

    export = build([_holding(0)], catalogue)

    [account] = export.document["accounts"]
    assert account["workflows"]["Export"]["template"] == str(TEMPLATE.id)
    _converged(export, [_holding(0)], catalogue)


def test_a_second_registration_of_an_application_is_keyed_by_its_tag_and_bound_by_key() -> None:
    holding = _holding(0)
    account_id = holding.account.id
    older = f.registration(QUIN, "Quinyx 2019", account_id)
    workflow = attrs.evolve(
        holding.workflows[0], reg_application_ids=(older.id, holding.registrations[1].id)
    )
    holding = attrs.evolve(
        holding, registrations=(*holding.registrations, older), workflows=(workflow,)
    )

    export = build([holding], CATALOGUE)

    [account] = export.document["accounts"]
    assert set(account["applications"]) == {"QUIN (Quinyx)", "QUIN (Quinyx 2019)", "FTP"}
    assert account["workflows"]["Export"]["applications"] == {"QUIN": "QUIN (Quinyx 2019)"}
    _converged(export, [holding])


def test_what_a_file_cannot_declare_is_left_out_and_said() -> None:
    holding = _holding(0)
    account_id = holding.account.id
    flows = (
        *holding.workflows,
        f.workflow("Scratch", account_id, template_id=None),
        f.workflow("Half bound", account_id, template_id=TEMPLATE.id, reg_ids=(uuid.uuid4(),)),
        attrs.evolve(holding.workflows[0], id=uuid.uuid4()),  # a second "Export"
    )
    untagged = attrs.evolve(f.registration(FTP, "", account_id), tag_text=None)
    holding = attrs.evolve(
        holding, workflows=flows, registrations=(*holding.registrations, untagged)
    )

    export = build([holding], CATALOGUE)

    assert list(export.document["accounts"][0]["workflows"]) == ["Export"]
    notes = "\n".join(export.notes)
    assert f"registration {untagged.id} of FTP has no tag" in notes
    assert "'Scratch'" in notes
    assert "not made from a template" in notes
    assert "'Half bound'" in notes
    assert "cannot name" in notes
    assert "has the name of an older one" in notes
    assert all(n.startswith(f"{account_id} (a0@example.org): ") for n in export.notes)


def test_what_a_file_cannot_bind_or_schedule_is_left_out_too() -> None:
    holding = _holding(0)
    account_id = holding.account.id
    [export_flow] = holding.workflows
    quin, _ = holding.registrations
    other_app = attrs.evolve(
        f.registration(QUIN, "Gone", account_id), application_id=uuid.uuid4(), short_name="GONE"
    )
    flows = (
        export_flow,
        attrs.evolve(export_flow, id=uuid.uuid4(), name=" "),
        attrs.evolve(
            export_flow, id=uuid.uuid4(), name="Twice", reg_application_ids=(quin.id,) * 2
        ),
        attrs.evolve(export_flow, id=uuid.uuid4(), name="Odd cron", cron="not a cron"),
    )
    holding = attrs.evolve(
        holding, workflows=flows, registrations=(*holding.registrations, other_app)
    )

    export = build([holding], CATALOGUE)

    assert list(export.document["accounts"][0]["workflows"]) == ["Export"]
    assert list(export.document["accounts"][0]["applications"]) == ["QUIN", "FTP"]
    notes = "\n".join(export.notes)
    assert "has no name" in notes
    assert "is bound to QUIN, QUIN, not to one of each application of its template" in notes
    assert "cron that cannot be read ('not a cron')" in notes
    assert "an application not offered to the organization" in notes
    _converged(export, [attrs.evolve(holding, workflows=(export_flow,))])


def test_variable_names_are_environment_names() -> None:
    assert variable_name("QUIN", "apikey") == "QUIN_APIKEY"
    assert variable_name("MYST2", "shop-url") == "MYST2_SHOP_URL"
    assert variable_name("3CX", "api key") == "_3CX_API_KEY"


def test_json_escapes_what_would_drive_a_terminal_and_reads_back_the_same() -> None:
    holding = _holding(0)
    name = "Export \u202e\x9b\x7f\t"
    holding = attrs.evolve(holding, workflows=(attrs.evolve(holding.workflows[0], name=name),))

    export = build([holding], CATALOGUE)

    for text in (export.json(), export.toml()):
        assert not any(c in text for c in "\u202e\x9b\x7f\t")
    assert json.loads(export.json()) == tomllib.loads(export.toml()) == export.document
    assert name in export.document["accounts"][0]["workflows"]


async def test_an_account_that_cannot_be_read_fails_the_export_naming_it(
    emu: CanvasEmulator, canvas: Canvas
) -> None:
    broken = emu.state.managed_ids[1]
    emu.faults.add(ErrorStatus(403), operations={"list_workflows"}, accounts={broken})

    with pytest.raises(ExportError) as info:
        await export.read(canvas)

    assert [account for account, _ in info.value.failures] == [broken]
    assert str(info.value).startswith(
        f"1 of {len(emu.state.managed_ids)} accounts could not be read, so nothing was "
        f"exported: {broken}: read registered applications and workflows: Workflows failed "
        "with 403"
    )


# -- the TOML writer --------------------------------------------------------------------

_SCALARS = (
    st.text()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=12,
)
_TABLES = st.dictionaries(st.text(), _VALUES, max_size=4)


@settings(max_examples=150, deadline=None)
@given(
    top=_TABLES,
    entries=st.lists(st.dictionaries(st.text(), _VALUES, max_size=3), min_size=1, max_size=3),
)
def test_the_toml_writer_writes_what_tomllib_reads_back(
    top: dict[str, Any], entries: list[dict[str, Any]]
) -> None:
    document = {**top, "accounts": entries}

    text = _toml.dumps(document, header=["a\nheader"], notes={"accounts": ["x\x1b[2J"]})

    assert tomllib.loads(text) == document
    assert "\x1b" not in text


def test_the_toml_writer_refuses_none_and_writes_infinities() -> None:
    assert tomllib.loads(_toml.dumps({"x": math.inf, "y": -math.inf})) == {
        "x": math.inf,
        "y": -math.inf,
    }
    with pytest.raises(ValueError, match="TOML has no null"):
        _toml.dumps({"x": None})
