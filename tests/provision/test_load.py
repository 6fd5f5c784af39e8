"""Reading desired-state files: format, defaults, references, and every refusal."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from canvas_async.provision._load import DesiredStateError, load, loads
from canvas_async.provision.spec import EnvRef, MissingEnvironmentError, Plain, resolve

ACME = "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1"

GOOD = f"""
version = 1

[defaults.applications.QUIN]
tag = "Quinyx 2022-04-28"
credentials.apikey = "${{QUINYX_KEY}}"
credentials.environment = {{ plain = "test" }}

[defaults.applications.FTP]
tag = "FTP 2022-05-03"
credentials = {{ username = "${{FTP_USER}}", password = "${{FTP_PASSWORD}}" }}

[defaults.workflows."Employee export"]
template = "Quinyx Employee Export Into FTP(CSV)"
schedule = "0 0/5 * ? * * *"
variables."API - Get Employees".apiKeys = ["${{QUINYX_KEY}}"]
variables."FTP Upload".filepath = "/exports"

[[accounts]]
id = "{ACME}"

[[accounts]]
email = "ops@example.com"
first_name = "Ada"
last_name = "Lovelace"
country = "no"
applications.QUIN.credentials.apikey = "${{QUINYX_KEY_OPS}}"
workflows."Employee export".schedule = false
workflows."Employee export".variables."FTP Upload".filename = "ops"
"""


def test_a_good_file_merges_defaults_into_each_account() -> None:
    state = loads(GOOD, source="good.toml")

    acme, ops = state.accounts
    assert acme.id == uuid.UUID(ACME)
    assert acme.email is None
    assert acme.new is None
    assert [a.key for a in acme.applications] == ["QUIN", "FTP"]
    quin = acme.application("QUIN")
    assert quin is not None
    assert quin.credentials == {"apikey": EnvRef("QUINYX_KEY"), "environment": Plain("test")}
    [export] = acme.workflows
    assert export.schedule is not None
    assert export.variables == {
        "API - Get Employees": {"apiKeys": [EnvRef("QUINYX_KEY")]},
        "FTP Upload": {"filepath": "/exports"},
    }

    assert ops.email == "ops@example.com"
    assert ops.new is not None
    assert (ops.new.first_name, ops.new.role, ops.new.country, ops.new.activated) == (
        "Ada",
        "User",
        "NO",
        True,
    )
    ops_quin = ops.application("QUIN")
    assert ops_quin is not None
    assert ops_quin.credentials["apikey"] == EnvRef("QUINYX_KEY_OPS")
    assert ops_quin.credentials["environment"] == Plain("test")  # merged from the defaults
    [ops_export] = ops.workflows
    assert ops_export.schedule is None
    assert ops_export.variables is not None
    assert ops_export.variables["FTP Upload"] == {"filepath": "/exports", "filename": "ops"}
    assert state.env_names() == {"QUINYX_KEY", "QUINYX_KEY_OPS", "FTP_USER", "FTP_PASSWORD"}


def test_schedules_are_kept_in_canonical_form() -> None:
    from canvas_async.schedule import Cron

    state = loads(GOOD)

    assert state.accounts[0].workflows[0].schedule == str(Cron.parse("0 0/5 * ? * * *"))


def test_json_reads_the_same_as_toml(tmp_path: Path) -> None:
    import tomllib

    path = tmp_path / "state.json"
    path.write_text(json.dumps(tomllib.loads(GOOD)))

    assert load(path).accounts == loads(GOOD).accounts
    assert load(path).source == str(path)


def test_an_account_may_drop_what_the_defaults_declare() -> None:
    text = (
        GOOD
        + f"""
[[accounts]]
id = "{uuid.UUID(int=1)}"
applications.FTP = false
workflows."Employee export" = false
"""
    )
    third = loads(text).accounts[2]

    assert [a.key for a in third.applications] == ["QUIN"]
    assert third.workflows == ()


def test_accounts_share_what_they_take_from_the_defaults() -> None:
    text = GOOD + "".join(f'[[accounts]]\nid = "{uuid.UUID(int=n)}"\n' for n in (1, 2))
    acme, ops, first, second = loads(text).accounts

    # One spec of each default application and workflow, not a copy per account.
    assert first.applications is acme.applications is second.applications
    assert first.workflows is acme.workflows
    # ops overrides QUIN's key and the workflow: FTP is still shared; QUIN is its own.
    assert ops.application("FTP") is acme.application("FTP")
    assert ops.application("QUIN") is not acme.application("QUIN")
    # One reference object per variable, wherever it is written.
    [export], [ops_export] = acme.workflows, ops.workflows
    assert ops_export is not export
    assert ops_export.variables is not None
    assert export.variables is not None
    assert (
        ops_export.variables["API - Get Employees"]["apiKeys"][0]
        is (export.variables["API - Get Employees"]["apiKeys"][0])
    )


def test_a_problem_in_the_defaults_is_reported_once_where_it_is_written() -> None:
    text = f"""
[defaults.workflows.Export]
template = "Quinyx Employee Export Into FTP(CSV)"
schedule = "0 0 25 * * ?"
[[accounts]]
id = "{uuid.UUID(int=1)}"
[[accounts]]
id = "{uuid.UUID(int=2)}"
"""
    problems = _problems(text)

    assert [p.split(":")[0] for p in problems] == ["defaults.workflows.Export.schedule"]
    assert problems[0].endswith("(inherited by 2 accounts)")


def _problems(text: str) -> list[str]:
    with pytest.raises(DesiredStateError) as info:
        loads(text, source="bad.toml")
    assert str(info.value).startswith("bad.toml: ")
    return info.value.problems


@pytest.mark.parametrize("country", ["XX", "n0", "NOR"])
def test_a_country_the_client_would_refuse_is_a_problem_of_the_file(country: str) -> None:
    # Two letters are not enough: plan would pass and every new account's apply fail.
    problems = _problems(
        f"""
[[accounts]]
email = "new@example.org"
first_name = "N"
last_name = "N"
country = "{country}"
"""
    )
    assert problems == [
        "accounts[0].country: must be an ISO 3166-1 alpha-2 code such as 'DE', "
        f"got {country.upper()!r}"
    ]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('notification_email = "a@b"', "accounts[0].notification_email: must be an e-mail"),
        ('email = "n@localhost"', "accounts[0].email: must be an e-mail address"),
        ('first_name = " "', "accounts[0].first_name: must be non-empty text"),
    ],
)
def test_a_new_account_the_client_would_refuse_is_a_problem_of_the_file(
    line: str, problem: str
) -> None:
    # The client's own rule: plan passing such a file, every create of apply would fail.
    fields = {"email": '"new@example.org"', "first_name": '"N"', "last_name": '"N"'}
    key = line.split(" = ", maxsplit=1)[0]
    lines = [f"{k} = {v}" for k, v in fields.items() if k != key] + [line]
    problems = _problems("[[accounts]]\n" + "\n".join(lines) + "\n")
    assert len(problems) == 1
    assert problems[0].startswith(problem)


def test_a_literal_credential_is_refused_without_echoing_it() -> None:
    problems = _problems(
        f"""
[[accounts]]
id = "{ACME}"
applications.QUIN.tag = "t"
applications.QUIN.credentials.apikey = "01d6-3e54-cff2-c7d8"
"""
    )

    [problem] = problems
    assert problem.startswith("accounts[0].applications.QUIN.credentials.apikey: ")
    assert "literal credential value" in problem
    assert "${VARIABLE}" in problem
    assert "01d6" not in problem


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12345", "literal credential"),
        ("prefix-${KEY}", "literal credential"),
        ("{ plain = [1] }", "plain value must be"),
        ("{ secret = 'x' }", "must be"),
    ],
)
def test_every_non_reference_credential_is_refused(value: str, expected: str) -> None:
    literal = value if value.startswith("{") else json.dumps(value)
    problems = _problems(
        f"""
[[accounts]]
id = "{ACME}"
applications.QUIN = {{ tag = "t", credentials = {{ apikey = {literal} }} }}
"""
    )

    assert len(problems) == 1
    assert expected in problems[0]


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    problems = _problems(
        f"""
version = 2
surprise = 1

[[accounts]]
id = "not-a-uuid"

[[accounts]]
email = "x@example.com"
role = "Admin"

[[accounts]]
id = "{ACME}"
email = "both@example.com"
applications.QUIN.credentials = {{}}
workflows.W.template = "T"
workflows.W.schedule = "every minute"
workflows.W.applications.QUIN = "NOPE"
workflows.W.colour = "blue"

[[accounts]]
id = "{ACME.upper()}"
"""
    )

    joined = "\n".join(problems)
    for expected in [
        "file.surprise: unknown key",
        "version: unsupported format version 2",
        "accounts[0].id: not an account id: 'not-a-uuid'",
        "accounts[1].first_name: is required",
        "accounts[1].last_name: is required",
        "accounts[1].role: must be 'User' or 'SuperPartner', got 'Admin'",
        "accounts[2]: name the account by exactly one of 'id' or 'email'",
        "accounts[2].applications.QUIN.tag: is required",
        "accounts[2].workflows.W.schedule: ",
        "accounts[2].workflows.W.applications.QUIN: names application 'NOPE'",
        "accounts[2].workflows.W.colour: unknown key",
        f"accounts[3]: declares {ACME} again (first at accounts[2])",
    ]:
        assert expected in joined, expected


def test_a_missing_accounts_array_is_named() -> None:
    assert _problems("[defaults]\n") == ["accounts: is required: declare at least one [[accounts]]"]


def test_syntax_errors_are_problems_too() -> None:
    [problem] = _problems("accounts = [")

    assert problem.startswith("not valid TOML")


def test_an_unreadable_file_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(DesiredStateError, match="cannot read the file"):
        load(tmp_path / "missing.toml")


def test_resolve_fills_references_and_unwraps_plain_values() -> None:
    creds = {"apikey": EnvRef("K"), "environment": Plain("test"), "nested": [EnvRef("K")]}

    assert resolve(creds, {"K": "s3cret"}) == {
        "apikey": "s3cret",
        "environment": "test",
        "nested": ["s3cret"],
    }


def test_resolve_names_every_missing_variable() -> None:
    with pytest.raises(MissingEnvironmentError) as info:
        resolve({"a": EnvRef("B"), "b": EnvRef("A")}, {})

    assert info.value.names == ["A", "B"]
    assert "A, B" in str(info.value)


def test_plain_values_and_specs_do_not_show_values_in_repr() -> None:
    assert "test" not in repr(Plain("test"))
    assert "QUINYX_KEY" in repr(loads(GOOD).accounts[0])  # references are not secrets


def test_variables_as_found_adopt_a_workflow_and_a_near_miss_is_named() -> None:
    adopted = GOOD.replace(
        'variables."API - Get Employees".apiKeys = ["${QUINYX_KEY}"]\n'
        'variables."FTP Upload".filepath = "/exports"',
        'variables = "as-found"',
    )
    [workflow] = loads(adopted).accounts[0].workflows
    assert workflow.adopted
    assert workflow.variables is None
    assert not loads(GOOD).accounts[0].workflows[0].adopted

    with pytest.raises(DesiredStateError) as info:
        loads(adopted.replace('"as-found"', '"as found"'))
    assert info.value.problems == [
        'defaults.workflows."Employee export".variables: must be a table of blocks, not the '
        "text 'as found'; did you mean 'as-found'?"
    ]


def test_an_account_declares_the_variables_of_a_workflow_the_defaults_adopt() -> None:
    text = GOOD.replace(
        'variables."API - Get Employees".apiKeys = ["${QUINYX_KEY}"]\n'
        'variables."FTP Upload".filepath = "/exports"',
        'variables = "as-found"',
    ).replace(f'id = "{ACME}"', f'id = "{ACME}"\nworkflows."Employee export".variables.x.y = 1')

    first, second = loads(text).accounts

    assert first.workflows[0].variables == {"x": {"y": 1}}
    assert second.workflows[0].variables == {"FTP Upload": {"filename": "ops"}}


def test_a_json_file_may_name_its_schema_and_only_as_text() -> None:
    document = {"$schema": "desired-state.schema.json", "accounts": [{"id": ACME}]}
    assert loads(json.dumps(document), fmt="json").accounts[0].id == uuid.UUID(ACME)

    with pytest.raises(DesiredStateError) as info:
        loads(json.dumps({**document, "$schema": 1}), fmt="json")
    assert info.value.problems == ['"$schema": must be text (the schema\'s location), not a number']
