"""The JSON Schema of the desired-state file: it takes what the loader takes, by its own list.

The keys each table accepts are asked of the loader itself (the list its
"unknown key" problem gives), so the schema and the loader cannot drift
apart unnoticed; the files are validated by ``jsonschema``, an implementation
other than the code the schema is made from, as an editor would.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
import uuid
from importlib import resources
from typing import Any, cast

import attrs
import jsonschema
import pytest

from canvas_async.provision import _format
from canvas_async.provision._load import DesiredStateError, from_data
from canvas_async.provision.schema import json_schema, schema_text
from canvas_async.provision.spec import WorkflowSpec
from tests.support import ROOT

DEMO = ROOT / "examples" / "demo-accounts.toml"
ACCOUNT = "6fa122e4-0d4c-4a1d-8869-7c0a86a37bf1"
UNKNOWN = "zzzzzz"  # close to no key, so the loader lists them all instead of guessing

#: A small valid file with every kind of table, and where each table sits in it.
BASE: dict[str, Any] = {
    "version": 1,
    "defaults": {"role": "User"},
    "accounts": [
        {
            "id": ACCOUNT,
            "applications": {"QUIN": {"tag": "Quinyx", "credentials": {"apikey": "${K}"}}},
            "workflows": {"Export": {"template": "T", "variables": "as-found"}},
        }
    ],
}
TABLES = {
    "file": ((), ""),
    "defaults": (("defaults",), "defaults"),
    "account": (("accounts", 0), "account"),
    "application": (("accounts", 0, "applications", "QUIN"), "application"),
    "workflow": (("accounts", 0, "workflows", "Export"), "workflow"),
}


def _validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(json_schema())


def _errors(document: object) -> list[str]:
    return [error.message for error in _validator().iter_errors(document)]


def _at(document: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    table: Any = document
    for step in path:
        table = table[step]
    assert isinstance(table, dict)
    return table


def _with_unknown_key(table: str) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    _at(document, TABLES[table][0])[UNKNOWN] = 1
    return document


def _loader_keys(table: str) -> set[str]:
    """The keys the loader accepts in ``table``, as its own refusal lists them."""
    with pytest.raises(DesiredStateError) as info:
        from_data(_with_unknown_key(table))
    [problem] = info.value.problems
    found = re.search(r"unknown key \(expected one of: (.*)\)$", problem)
    assert found, problem
    return set(found[1].split(", "))


def _schema_keys(table: str) -> set[str]:
    schema = json_schema()
    definition = schema if table == "file" else schema["definitions"][TABLES[table][1]]
    assert definition["additionalProperties"] is False
    return set(definition["properties"])


def test_the_schema_is_valid_draft_7() -> None:
    jsonschema.Draft7Validator.check_schema(json_schema())
    assert json.loads(schema_text()) == json_schema()


def test_the_base_file_is_valid_for_both() -> None:
    assert from_data(copy.deepcopy(BASE)).accounts[0].workflows[0].adopted
    assert _errors(BASE) == []


@pytest.mark.parametrize("table", TABLES)
def test_every_key_the_loader_accepts_is_in_the_schema_and_no_other(table: str) -> None:
    assert _schema_keys(table) == _loader_keys(table)


@pytest.mark.parametrize("table", TABLES)
def test_an_unknown_key_is_refused_by_the_schema_as_by_the_loader(table: str) -> None:
    errors = _errors(_with_unknown_key(table))

    assert errors
    assert any(UNKNOWN in error for error in errors) or table == "account", errors


def test_the_demo_file_validates() -> None:
    document = tomllib.loads(DEMO.read_text(encoding="utf-8"))

    assert _errors(document) == []
    assert from_data(document).accounts


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"credentials": {"apikey": "s3cret"}}, "a literal credential"),
        ({"credentials": {"apikey": {"plain": "x", "other": 1}}}, "a plain value with more"),
        ({"tag": "  "}, "a blank tag"),
    ],
)
def test_what_the_loader_refuses_in_an_application_the_schema_refuses(
    change: dict[str, Any], why: str
) -> None:
    document = copy.deepcopy(BASE)
    _at(document, TABLES["application"][0]).update(change)

    with pytest.raises(DesiredStateError):
        from_data(document)
    assert _errors(document), why


@pytest.mark.parametrize(
    ("account", "why"),
    [
        ({}, "no name"),
        ({"id": ACCOUNT, "email": "a@example.org"}, "two names"),
        ({"email": "a@example.org", "first_name": "A"}, "no last name"),
        ({"id": ACCOUNT, "first_name": "A"}, "a first name for an account named by id"),
        ({"email": "not-an-address", "first_name": "A", "last_name": "B"}, "no @"),
        (
            {"email": "a@example.org", "first_name": "A", "last_name": "B", "role": "Admin"},
            "a role accounts are not created with",
        ),
        ({"id": ACCOUNT, "workflows": {"W": {"template": "T", "variables": "as found"}}}, "typo"),
        ({"id": ACCOUNT, "workflows": {"W": {"template": "T", "schedule": True}}}, "true"),
    ],
)
def test_what_the_loader_refuses_in_an_account_the_schema_refuses(
    account: dict[str, Any], why: str
) -> None:
    document = {"accounts": [account]}

    with pytest.raises(DesiredStateError):
        from_data(document)
    assert _errors(document), why


def test_an_account_by_email_with_what_it_is_created_with_validates() -> None:
    account = {
        "email": "new@example.org",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "role": "SuperPartner",
        "country": "NO",
        "activated": False,
        "applications": {"FTP": False},
        "workflows": {"Old": False, "New": {"template": str(uuid.uuid4()), "schedule": False}},
    }
    document = {"$schema": "desired-state.schema.json", "accounts": [account]}

    assert from_data(document).accounts[0].new is not None
    assert _errors(document) == []


def test_a_spec_field_without_a_rule_fails_where_the_keys_are_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    @attrs.frozen
    class Wider(WorkflowSpec):
        retries: int = 0

    rules = cast(dict[type, Any], _format._RULES)
    monkeypatch.setitem(cast(dict[Any, str], _format.NOT_KEYS), (Wider, "name"), "its key")
    monkeypatch.setitem(rules, Wider, _format._RULES[WorkflowSpec])
    with pytest.raises(LookupError, match=r"Wider\.retries has no rule"):
        _format._keys(Wider)


def test_the_package_ships_the_schema_it_makes() -> None:
    """The file in the package is what ``canvas-async schema`` prints (regenerate it with
    ``canvas-async schema -o canvas_async/provision/desired-state.schema.json``)."""
    shipped = resources.files("canvas_async.provision") / "desired-state.schema.json"
    assert shipped.read_text(encoding="utf-8") == schema_text()
