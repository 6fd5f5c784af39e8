"""Write a desired-state document as TOML, the way a person writes one.

The standard library reads TOML but does not write it. ``tomli-w`` would, but
it cannot write comments, and an exported file wants them (the e-mail beside
each account id, which variables to set); its layout (a table per key, no
dotted keys) is also far from how these files are written by hand. The
documents are small in shape (tables, arrays of tables, text, numbers,
booleans, arrays), so this writer is small too, and a test reads back what it
writes with :mod:`tomllib` for arbitrary values.

Layout: the top level's values first, then every table down to
:data:`SECTION_DEPTH` as a ``[section]``, deeper tables as dotted keys
(``credentials.apikey = "${QUIN_APIKEY}"``), and each array of tables as
``[[name]]`` entries written with dotted keys, as in ``examples/``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from canvas_async._text import _CONTROL, safe_json

#: Tables this deep (``defaults.applications.QUIN``) or less get a ``[section]`` header.
SECTION_DEPTH: Final = 3
_BARE_KEY: Final = re.compile(r"[A-Za-z0-9_-]+")
# What a comment must not hold: line ends, controls, what reorders a terminal.
_UNFIT: Final = re.compile(f"[\t\n]|{_CONTROL.pattern}")


def dumps(
    document: Mapping[str, Any],
    *,
    header: Sequence[str] = (),
    notes: Mapping[str, Sequence[str | None]] | None = None,
) -> str:
    """Return ``document`` as TOML text.

    Args:
        document: Tables, arrays, text, numbers and booleans (no None: TOML
            has no null).
        header: Comment lines to start the file with (without ``#``).
        notes: For an array of tables by name, a comment for each entry,
            written beside its ``[[name]]`` (None for none).

    Raises:
        ValueError: A value TOML cannot hold (None, another type).
    """
    lines = [f"# {_comment(line)}".rstrip() for line in header]
    if lines:
        lines.append("")
    tables: list[tuple[str, Mapping[str, Any]]] = []
    arrays: list[tuple[str, Sequence[Mapping[str, Any]]]] = []
    for name, item in document.items():
        if isinstance(item, Mapping) and item:
            tables.append((name, item))
        elif isinstance(item, list) and item and all(isinstance(e, Mapping) for e in item):
            arrays.append((name, item))
        else:
            lines.append(f"{key(name)} = {value(item)}")
    for name, table in tables:
        _section(lines, (name,), table)
    for name, entries in arrays:
        entry_notes = (notes or {}).get(name, ())
        for entry, note in itertools.zip_longest(entries, entry_notes[: len(entries)]):
            comment = f"  # {_comment(note)}" if note else ""
            lines += ["", f"[[{key(name)}]]{comment}", *_dotted((), entry)]
    return "\n".join(lines).lstrip("\n") + "\n"


def _section(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any]) -> None:
    """Append ``[path]`` with its values, then its sub-tables' sections."""
    own: list[str] = []
    subsections: list[tuple[str, Mapping[str, Any]]] = []
    for name, item in table.items():
        if isinstance(item, Mapping) and item and len(path) < SECTION_DEPTH:
            subsections.append((name, item))
        else:
            own += _dotted((name,), item)
    if own or not subsections:
        lines += ["", f"[{'.'.join(key(p) for p in path)}]", *own]
    for name, item in subsections:
        _section(lines, (*path, name), item)


def _dotted(prefix: tuple[str, ...], item: Any) -> list[str]:
    """Return ``item`` as ``dotted.key = value`` lines (a non-empty table: one per leaf)."""
    if isinstance(item, Mapping) and (item or not prefix):
        return [line for name, sub in item.items() for line in _dotted((*prefix, name), sub)]
    return [f"{'.'.join(key(p) for p in prefix)} = {value(item)}"]


def key(name: str) -> str:
    """Return ``name`` as a TOML key: bare when it can be, else quoted."""
    return name if _BARE_KEY.fullmatch(name) else _string(name)


def value(item: Any) -> str:
    """Return ``item`` as an inline TOML value.

    Raises:
        ValueError: TOML cannot hold it (None, or a type other than text,
            numbers, booleans, arrays and tables).
    """
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, str):
        return _string(item)
    if isinstance(item, int | float):
        return repr(item)  # TOML writes nan, inf and -inf as Python does
    if isinstance(item, Mapping):
        inner = ", ".join(f"{key(k)} = {value(v)}" for k, v in item.items())
        return f"{{ {inner} }}" if inner else "{}"
    if isinstance(item, list | tuple):
        return f"[{', '.join(value(v) for v in item)}]"
    what = "nothing (None): TOML has no null" if item is None else type(item).__name__
    raise ValueError(f"TOML cannot hold {what}")


def _string(text: str) -> str:
    # A JSON string is a TOML basic string (the same escapes, \uXXXX included); safe_json
    # escapes too what would drive or reorder a terminal showing the file (DEL, C1, bidi).
    return safe_json(json.dumps(text, ensure_ascii=False))


def _comment(text: str) -> str:
    """``text`` fit for a comment: one line, no control character."""
    return _UNFIT.sub(" ", text)
