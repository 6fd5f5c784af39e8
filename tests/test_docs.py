"""The documentation site (docs/): its code runs, its reference names every public name.

Every fenced ``python`` block of a page runs here, against the bundled
emulator. A block runs as a whole program unless a marker comment on the line
just before its fence says otherwise:

- ``<!-- sample: fragment -->``: lines from inside an async function. It runs
  with top-level ``await``, given ``emu`` (a started emulator with the sample
  data), ``canvas`` (an open client of it), ``account_id`` (an account of it)
  and ``acct`` (``canvas.for_account(account_id)``).
- ``<!-- sample: skip REASON -->``: not run (only compiled), for the reason
  given, e.g. a block that needs a real Canvas or runs under pytest.

The site itself is built by ``.ci/run`` (``mkdocs build --strict``), which
fails on a link, anchor, cross-reference or include that does not resolve.
"""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from canvas_async import Canvas, provision
from canvas_async.cli._parser import build_parser
from canvas_async.testing import CanvasEmulator

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# The modules whose every public name (their ``__all__``) the reference documents.
PUBLIC = (
    "canvas_async",
    "canvas_async.models",
    "canvas_async.schedule",
    "canvas_async.provision",
    "canvas_async.bulk",
    "canvas_async.testing",
)

_FENCE = re.compile(r"^```(?P<lang>[\w-]*)\n(?P<code>.*?)^```$", re.M | re.S)
_MARKER = re.compile(r"<!-- sample: (?P<kind>fragment|skip)(?P<reason>[^>]*?)\s*-->")
_DIRECTIVE = re.compile(r"^::: (?P<identifier>\S+)\n(?P<options>(?:[ \t]+.*\n?)*)", re.M)


def _docs_module(name: str) -> types.ModuleType:
    """Import ``docs/_ext/<name>.py`` (the site's build code, standard library only)."""
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(DOCS / "_ext"))


pages = _docs_module("pages")
cli_reference = _docs_module("cli_reference")


def _markdown_files() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_ext" not in p.parts)


@dataclass(frozen=True)
class Sample:
    """A fenced block of a page."""

    page: str
    line: int
    language: str
    code: str
    kind: str  # "program", "fragment" or "skip"
    reason: str

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def _samples() -> list[Sample]:
    found = []
    for path in _markdown_files():
        text = path.read_text(encoding="utf-8")
        page = str(path.relative_to(ROOT))
        for fence in _FENCE.finditer(text):
            before = text[: fence.start()].rstrip("\n").rsplit("\n", 1)[-1]
            marker = _MARKER.fullmatch(before.strip())
            found.append(
                Sample(
                    page=page,
                    line=text.count("\n", 0, fence.start()) + 2,
                    language=fence["lang"],
                    code=fence["code"],
                    kind=marker["kind"] if marker else "program",
                    reason=marker["reason"].strip() if marker else "",
                )
            )
    return found


SAMPLES = _samples()
PYTHON = [s for s in SAMPLES if s.language == "python"]
PROGRAMS = [s for s in PYTHON if s.kind == "program"]
FRAGMENTS = [s for s in PYTHON if s.kind == "fragment"]


def _compile(sample: Sample) -> types.CodeType:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if sample.kind == "fragment" else 0
    code: types.CodeType = compile(sample.code, sample.name, "exec", flags=flags, dont_inherit=True)
    return code


def test_the_pages_have_samples_of_each_kind() -> None:
    assert len(PROGRAMS) >= 15
    assert len(FRAGMENTS) >= 4


def test_every_marker_sits_on_a_python_block_and_every_skip_says_why() -> None:
    markers = sum(len(_MARKER.findall(p.read_text(encoding="utf-8"))) for p in _markdown_files())
    marked = [s for s in SAMPLES if s.kind != "program"]
    assert len(marked) == markers, "a sample marker is not on the line before a fence"
    assert all(s.language == "python" for s in marked)
    assert all(s.reason for s in marked if s.kind == "skip"), "a skip marker gives no reason"


@pytest.mark.parametrize("sample", PYTHON, ids=lambda s: s.name)
def test_every_python_block_compiles(sample: Sample) -> None:
    _compile(sample)


@pytest.mark.parametrize("sample", PROGRAMS, ids=lambda s: s.name)
def test_program_runs(sample: Sample) -> None:
    exec(_compile(sample), {"__name__": "__main__"})  # noqa: S102 - our own pages' code


@pytest.mark.parametrize("sample", FRAGMENTS, ids=lambda s: s.name)
async def test_fragment_runs(sample: Sample, emu: CanvasEmulator, canvas: Canvas) -> None:
    account_id = (await canvas.accounts.list())[0].id
    scope: dict[str, Any] = {
        "emu": emu,
        "canvas": canvas,
        "account_id": account_id,
        "acct": canvas.for_account(account_id),
    }
    result = eval(_compile(sample), scope)  # noqa: S307 - our own pages' code
    if inspect.isawaitable(result):
        await result


@pytest.mark.parametrize(
    "sample",
    [s for s in SAMPLES if s.language == "toml" and s.code.startswith("version = ")],
    ids=lambda s: s.name,
)
def test_desired_state_files_in_the_pages_load(sample: Sample) -> None:
    state = provision.loads(sample.code, source=sample.name)
    assert state.accounts


def _resolve(identifier: str) -> object:
    """Return what an mkdocstrings identifier names (attributes first, as griffe does)."""
    parts = identifier.split(".")
    obj: object = importlib.import_module(parts[0])
    for index, part in enumerate(parts[1:], start=1):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[: index + 1]))
    return obj


@functools.cache
def _documented() -> dict[str, object]:
    """Return every identifier the pages document, a whole module standing for its names."""
    directives: list[tuple[str, str]] = []
    for path in _markdown_files():
        text = path.read_text(encoding="utf-8")
        directives += [(m["identifier"], m["options"]) for m in _DIRECTIVE.finditer(text)]
    for module in pages.contrib_modules():
        if importlib.util.find_spec(module) is not None:
            directives.append((module, ""))
    documented: dict[str, object] = {}
    for identifier, options in directives:
        obj = _resolve(identifier)
        documented[identifier] = obj
        if isinstance(obj, types.ModuleType) and "members:" not in options:
            for name in getattr(obj, "__all__", ()):
                documented[f"{identifier}.{name}"] = getattr(obj, name)
    return documented


def _importable_contrib() -> list[str]:
    found = []
    for module in pages.contrib_modules():
        try:
            importlib.import_module(module)
        except ImportError:  # its extra is not installed
            continue
        found.append(module)
    return found


@pytest.mark.parametrize("module", [*PUBLIC, *_importable_contrib()])
def test_the_reference_documents_every_public_name(module: str) -> None:
    documented = _documented()
    same_object = {
        id(obj)
        for obj in documented.values()
        if inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj)
    }
    namespace = importlib.import_module(module)
    missing = [
        name
        for name in namespace.__all__
        if f"{module}.{name}" not in documented
        and not (
            (inspect.isclass(obj := getattr(namespace, name)) or inspect.isroutine(obj))
            and id(obj) in same_object
        )
    ]
    assert not missing, f"no page documents {module}.{{{', '.join(missing)}}}"


def test_every_reference_entry_names_something() -> None:
    assert len(_documented()) > 150


def test_the_command_line_page_renders_every_command_and_option() -> None:
    assert pages.CLI_MARKER in (DOCS / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    text = cli_reference.render(parser)
    sections = re.split(r"^#+ ", text, flags=re.M)
    commands = cli_reference.commands(parser)
    assert {"canvas-async apply", "canvas-async temporal worker"} <= set(commands)
    for name, command in commands.items():
        section = next((s for s in sections if s.startswith(f"`{name}`\n")), None)
        assert section is not None, f"no section for {name}"
        for action in command._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in section or "as for [" in section, (name, option)
    apply = next(s for s in sections if s.startswith("`canvas-async apply`\n"))
    assert "`--deadline SECONDS`" in apply
    assert "(default: 64)" in apply  # --concurrency's default, as --help says it
