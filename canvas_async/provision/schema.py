"""The JSON Schema of the desired-state file, for editors and other tools.

Made when asked (``canvas-async schema``), from the table of keys the loader
itself checks files against, so it cannot fall behind the loader: every key
the loader accepts is in it with what may be written there, and any other key
is refused (``additionalProperties: false``), as the loader refuses it. It is
written in JSON Schema draft-07, which the TOML and JSON tools of editors read
(taplo / Even Better TOML, VS Code's JSON).

What it cannot say, the loader still checks: that a template, an application
or a block exists (``plan`` checks the file against the organization), that a
cron is valid, that a workflow binds applications the account declares.
"""

from __future__ import annotations

import json
from typing import Any, Final

from . import _format
from ._format import Key

__all__ = ["DRAFT", "json_schema", "schema_text"]

#: The JSON Schema dialect the schema is written in.
DRAFT: Final = "http://json-schema.org/draft-07/schema#"


_PLAIN: Final = {
    "type": "object",
    "description": "A setting that is not a secret, written in the file on purpose.",
    "properties": {"plain": {"type": ["string", "number", "boolean", "null"]}},
    "required": ["plain"],
    "additionalProperties": False,
}


def _table(keys: tuple[Key, ...], doc: str) -> dict[str, Any]:
    """A table that holds ``keys`` and nothing else."""
    return {
        "type": "object",
        "description": doc,
        "properties": {key.name: {**key.schema, "description": key.doc} for key in keys},
        "additionalProperties": False,
    }


def _named_once(table: dict[str, Any]) -> dict[str, Any]:
    """``table`` (an account's) named by exactly one key of ``NAMED_BY``, with what it needs."""
    needs = {k for wanted in _format.NAMED_BY.values() for k in wanted}
    branches = []
    for name, wanted in _format.NAMED_BY.items():
        others = (set(_format.NAMED_BY) - {name}) | (needs - set(wanted))
        branches.append(
            {
                "required": [name, *wanted],
                "not": {"anyOf": [{"required": [other]} for other in sorted(others)]},
            }
        )
    return {**table, "oneOf": branches}


def json_schema() -> dict[str, Any]:
    """Return the JSON Schema of the desired-state file (TOML or JSON), as data."""
    schema = _table(_format.FILE, "The desired state of a Canvas organization's accounts.")
    return {
        "$schema": DRAFT,
        "title": "canvas-async desired-state file",
        **schema,
        "required": ["accounts"],
        "definitions": {
            "defaults": _table(
                _format.DEFAULTS, "What every account has unless it says otherwise."
            ),
            "account": _named_once(
                _table(_format.ACCOUNT, "One account, named by id or by e-mail.")
            ),
            "application": _table(_format.APPLICATION, "An application to register."),
            "credential": {"anyOf": [_format.ENV_REF, _PLAIN]},
            "workflow": _table(_format.WORKFLOW, "A workflow, made from a template."),
        },
    }


def schema_text() -> str:
    """Return :func:`json_schema` as the text ``canvas-async schema`` prints."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
