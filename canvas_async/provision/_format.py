"""The keys of the desired-state file: one table the loader checks and the schema is made from.

Each table of the file (the file itself, ``defaults``, an account, an
application, a workflow) has its keys listed here, derived from the fields of
the spec class it becomes (:mod:`canvas_async.provision.spec`): every field is
either a key, with what the file may write there (:class:`Key`), or named in
:data:`NOT_KEYS` with the reason it is not one. A field added to a spec class
without either fails at import, so the loader
(:mod:`canvas_async.provision._load`) and the JSON Schema
(:mod:`canvas_async.provision.schema`) cannot miss it.

What the classes cannot say (an e-mail's longest length, the roles an
account may be created with, ``"${NAME}"``, ``schedule = false``) is said once,
here, in the rules, and both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import attrs

from canvas_async._operations import ACCOUNT_ROLES

from .spec import (
    AS_FOUND,
    ENV_REF_PATTERN,
    AccountSpec,
    ApplicationSpec,
    NewAccount,
    WorkflowSpec,
)

FORMAT_VERSION: Final = 1
#: Longest e-mail address (RFC 5321's path limit, less its angle brackets).
EMAIL_LIMIT: Final = 254
#: The roles an account may be created with (the server refuses Admin: spec "Shapes").
ROLES: Final = tuple(str(role) for role in ACCOUNT_ROLES)
#: The top-level key an editor reads the schema's location from (JSON files).
SCHEMA_KEY: Final = "$schema"

#: Text that is not only blanks: what the loader calls non-empty text.
TEXT: Final[Mapping[str, Any]] = {"type": "string", "pattern": r"\S"}
_OPTIONAL_TEXT: Final[Mapping[str, Any]] = {"anyOf": [{"type": "string"}, {"type": "null"}]}
#: ``"${NAME}"``, the whole string: a reference to an environment variable.
ENV_REF: Final[Mapping[str, Any]] = {
    "type": "string",
    "pattern": f"^{ENV_REF_PATTERN.pattern}$",
    "description": 'An environment variable, written "${NAME}"; read when applying.',
}


@attrs.frozen
class Key:
    """One key of a table of the file.

    Attributes:
        name: The key.
        doc: What it means.
        schema: Its value's JSON Schema (references to other tables by name,
            ``{"$ref": "#/definitions/workflow"}``).
    """

    name: str
    doc: str
    schema: Mapping[str, Any]


def _table_of(ref: str) -> Mapping[str, Any]:
    return {"$ref": f"#/definitions/{ref}"}


def _named(what: str) -> Mapping[str, Any]:
    """A table of ``what`` by name, where ``false`` drops one the defaults declare."""
    return {
        "type": "object",
        "propertyNames": {"pattern": r"\S"},
        "additionalProperties": {"anyOf": [_table_of(what), {"const": False}]},
    }


#: Every spec field that is not a key of its table, and why.
NOT_KEYS: Final[Mapping[tuple[type, str], str]] = {
    (AccountSpec, "new"): "its fields are keys of the account itself (NewAccount)",
    (AccountSpec, "index"): "the account's position in the file",
    (ApplicationSpec, "key"): "the application's table key",
    (WorkflowSpec, "name"): "the workflow's table key",
}

_RULES: Final[Mapping[type, tuple[Key, ...]]] = {
    NewAccount: (
        Key("first_name", "The first name of an account created by e-mail.", TEXT),
        Key("last_name", "The last name of an account created by e-mail.", TEXT),
        Key(
            "role",
            "The role of an account created by e-mail (default: User).",
            {"type": "string", "enum": list(ROLES)},
        ),
        Key("phone", "The phone number of an account created by e-mail.", _OPTIONAL_TEXT),
        Key(
            "country",
            "The ISO 3166 alpha-2 country code of an account created by e-mail, e.g. NO.",
            # Any case: it is sent upper case.
            {**_OPTIONAL_TEXT, "pattern": "^[A-Za-z]{2}$"},
        ),
        Key(
            "activated",
            "Whether an account created by e-mail is active at once (default: true); "
            "false sends an activation e-mail.",
            {"type": "boolean"},
        ),
        Key(
            "global_notifications",
            "An account created by e-mail gets global notifications.",
            {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        ),
        Key(
            "notification_email",
            "Where an account created by e-mail gets notifications.",
            _OPTIONAL_TEXT,
        ),
    ),
    AccountSpec: (
        Key("id", "The account's id: an existing account.", {"type": "string", "format": "uuid"}),
        Key(
            "email",
            "The account's e-mail: found, or created with first_name and last_name.",
            {"type": "string", "pattern": "@", "maxLength": EMAIL_LIMIT},
        ),
        Key(
            "applications",
            "Applications to register, by key (usually the short name); false drops one "
            "the defaults declare.",
            _named("application"),
        ),
        Key(
            "workflows",
            "Workflows, by name; false drops one the defaults declare.",
            _named("workflow"),
        ),
    ),
    ApplicationSpec: (
        Key(
            "application",
            "The application's short name, e.g. QUIN (default: the table's key).",
            TEXT,
        ),
        Key(
            "tag",
            "The registration's tag text, which identifies it: credentials cannot be read "
            "back, so new credentials need a new tag.",
            TEXT,
        ),
        Key(
            "credentials",
            'Credential short name to "${VARIABLE}" or { plain = ... }; never the value.',
            {"type": "object", "additionalProperties": _table_of("credential")},
        ),
    ),
    WorkflowSpec: (
        Key("template", "The template's name or id.", TEXT),
        Key(
            "applications",
            "Template application short name to the key of one of the account's "
            "applications (default: the key of the same name).",
            {"type": "object", "additionalProperties": {"type": "string"}},
        ),
        Key(
            "variables",
            f'Block name or uniqueBlockId to variable values; or "{AS_FOUND}": the '
            "workflow's variables as they are (an existing workflow taken as found, "
            "never recreated for what plan cannot read).",
            {
                "anyOf": [
                    {"type": "object", "additionalProperties": {"type": "object"}},
                    {"const": AS_FOUND},
                ]
            },
        ),
        Key(
            "schedule",
            "A Quartz cron (seconds first), or false for a scheduler that is off.",
            {"anyOf": [TEXT, {"const": False}, {"type": "null"}]},
        ),
        Key("description", "The workflow's description.", _OPTIONAL_TEXT),
    ),
}


def _keys(cls: type) -> tuple[Key, ...]:
    """Return the keys of ``cls``'s table: its fields that are keys, with their rules."""
    rules = {key.name: key for key in _RULES[cls]}
    keys = []
    for field in attrs.fields(cls):
        if (cls, field.name) in NOT_KEYS:
            continue
        if field.name not in rules:
            raise LookupError(
                f"{cls.__name__}.{field.name} has no rule in the desired-state file's table: "
                "say what the file writes there, or why it is not a key (NOT_KEYS)"
            )
        keys.append(rules[field.name])
    return tuple(keys)


#: The keys an account is named by (exactly one), each with the keys it needs beside it.
NAMED_BY: Final[Mapping[str, tuple[str, ...]]] = {"id": (), "email": ("first_name", "last_name")}
#: The keys of an account: its identity, what it holds, how it is created.
ACCOUNT: Final = (*_keys(AccountSpec), *_keys(NewAccount))
#: The keys of ``defaults``: what accounts share (not their identity nor their names).
DEFAULTS: Final = tuple(k for k in ACCOUNT if k.name not in {*NAMED_BY, *NAMED_BY["email"]})
APPLICATION: Final = _keys(ApplicationSpec)
WORKFLOW: Final = _keys(WorkflowSpec)
#: The keys of the file itself.
FILE: Final = (
    Key(
        SCHEMA_KEY,
        "Where editors find this schema (JSON files; in TOML, a #:schema comment).",
        {"type": "string"},
    ),
    Key(
        "version",
        f"The file format's version: {FORMAT_VERSION} (the default).",
        {"const": FORMAT_VERSION},
    ),
    Key("defaults", "What every account has unless it says otherwise.", _table_of("defaults")),
    Key(
        "accounts",
        "The accounts, each named by id or by e-mail.",
        {"type": "array", "items": _table_of("account")},
    ),
)
