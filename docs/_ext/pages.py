"""What the documentation pages are made of beyond their own text (standard library only).

Shared by the MkDocs hooks (``hooks.py``), the griffe extension
(``sphinx_roles.py``) and ``tests/test_docs.py``, which runs without the
documentation's dependencies installed.
"""

from __future__ import annotations

import ast
import importlib
import re
import textwrap
import tomllib
from pathlib import Path

import cli_reference  # a neighbour: the importer puts this directory on sys.path

ROOT = Path(__file__).resolve().parents[2]

CLI_MARKER = "<!-- cli-reference -->"
CONTRIB_MARKER = "<!-- contrib-modules -->"
DOCSTRING_MARKER = re.compile(r"<!-- module-docstring: (?P<module>[\w.]+) -->")

#: Where the reference documents each object, first match wins: a name
#: exported by several of these is documented under the first. Every module
#: of ``canvas_async.contrib`` that exists follows (see :func:`contrib_modules`).
PUBLIC_MODULES = (
    "canvas_async.models",
    "canvas_async.schedule",
    "canvas_async",
    "canvas_async.provision",
    "canvas_async.provision.spec",
    "canvas_async.provision.schema",
    "canvas_async.provision.export",
    "canvas_async.provision.lease",
    "canvas_async.provision.shard",
    "canvas_async.bulk",
    "canvas_async.testing",
    "canvas_async.testing.pytest_plugin",
    "canvas_async.contrib",
)
CONTRIB = "canvas_async.contrib"
ROLE = re.compile(r":(?:py:)?(?P<kind>class|meth|func|mod|attr|data|exc|obj):`(?P<body>[^`]+)`")


def expand(markdown: str) -> str:
    """Replace every marker in a page's Markdown with what it stands for."""
    markdown = DOCSTRING_MARKER.sub(lambda m: module_docstring(m["module"]), markdown)
    markdown = markdown.replace(CONTRIB_MARKER, contrib_reference())
    if CLI_MARKER in markdown:
        from canvas_async.cli._parser import build_parser  # noqa: PLC0415

        markdown = markdown.replace(CLI_MARKER, cli_reference.render(build_parser()))
    return markdown


def contrib_modules() -> list[str]:
    """Return every integration under ``canvas_async/contrib`` (a module or a package)."""
    found = []
    for path in sorted((ROOT / "canvas_async" / "contrib").iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        if name.startswith("_") or not (path.suffix == ".py" or (path / "__init__.py").is_file()):
            continue
        found.append(f"{CONTRIB}.{name}")
    return found


def contrib_reference() -> str:
    """Return the mkdocstrings directives of every integration this checkout has."""
    return "\n\n".join(f"::: {module}" for module in contrib_modules())


def module_docstring(name: str) -> str:
    """Return module ``name``'s docstring as Markdown."""
    doc = importlib.import_module(name).__doc__ or ""
    return plain_roles(literal_blocks(doc)).strip()


def plain_roles(text: str) -> str:
    """Turn every role in ``text`` into code, linking nothing (for text outside the API pages)."""

    def code(match: re.Match[str]) -> str:
        title = match["body"].partition(" <")[0].strip()
        title = title.lstrip("~.!").rsplit(".", 1)[-1] if title.startswith("~") else title
        return f"`{title}`"

    return ROLE.sub(code, text)


def literal_blocks(text: str) -> str:
    """Turn reST ``::`` literal blocks into fenced blocks at the paragraph's indent."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.rstrip()
        if not stripped.endswith("::"):
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        head = stripped[:-2].rstrip()
        if head.strip() in {"Example", "Examples"}:
            out.append(" " * indent + "Examples:")  # a doctest: griffe's Examples section
            i += 1
            continue
        if head.strip():
            out.append(head + ":")
        block, i = _indented_block(lines, i + 1, indent)
        body = textwrap.dedent("\n".join(block)).strip("\n")
        pad = " " * indent
        out.extend(["", f"{pad}```{_language(body)}"])
        out.extend(f"{pad}{row}" if row else "" for row in body.split("\n"))
        out.extend([f"{pad}```", ""])
    return "\n".join(out)


def _indented_block(lines: list[str], start: int, indent: int) -> tuple[list[str], int]:
    """Return the lines indented deeper than ``indent`` from ``start``, and the next index."""
    block: list[str] = []
    i = start
    while i < len(lines):
        line = lines[i]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        block.append(line)
        i += 1
    return block, i


def _language(body: str) -> str:
    """Guess a literal block's language: Python, a doctest, TOML, or text."""
    if body.lstrip().startswith(">>>"):
        return "pycon"
    try:
        compile(body, "<docstring>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError:
        pass
    else:
        return "python"
    try:
        tomllib.loads(body)
    except tomllib.TOMLDecodeError:
        return "text"
    return "toml"
