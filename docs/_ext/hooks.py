"""MkDocs hooks: the generated command-line reference, README sections, the benchmark chart.

- A page holding ``<!-- cli-reference -->`` gets, in its place, the reference
  of every command and option, rendered from ``build_parser()`` at each build.
- A page holding ``<!-- readme-section: TITLE -->`` gets the README's section
  ``## TITLE`` as it stands, so the two never say different things. Links to
  files of the repository become links to a copy of each file at the end of
  the page; links to the README's own headings keep their text only.
- ``<!-- module-docstring: NAME -->`` becomes the module's docstring (its
  roles as code): for a module whose path the API pages give to another
  object (``canvas_async.provision.load`` is also the function ``load``).
- ``<!-- contrib-modules -->`` becomes the reference of every integration
  under ``canvas_async/contrib`` this checkout has.
- ``benchmarks/results.png`` (written by ``benchmarks/run.py`` beside its
  ``results.md``) is published as ``performance/results.png``.
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

# Hooks are loaded by path, not as a package: their neighbours are not importable.
sys.path.insert(0, str(Path(__file__).parent))
import cli_reference
import sphinx_roles

MARKER = "<!-- cli-reference -->"
CONTRIB_MARKER = "<!-- contrib-modules -->"
DOCSTRING_MARKER = re.compile(r"<!-- module-docstring: (?P<module>[\w.]+) -->")
README_MARKER = re.compile(r"<!-- readme-section: (?P<title>.+?) -->")
_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
_LANGUAGES = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".py": "python", ".json": "json"}
_ROOT = Path(__file__).resolve().parents[2]


def readme_section(title: str, readme: Path = _ROOT / "README.md") -> str:
    """Return the README's ``## title`` section, without its heading, links made local.

    Raises:
        ValueError: The README has no such section.
    """
    text = readme.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no section '## {title}'")
    files: list[str] = []

    def local(link: re.Match[str]) -> str:
        target = link["target"]
        if target.startswith("#"):
            return link["text"]
        if "://" in target or not (_ROOT / target).is_file():
            return link[0]  # a web address, or a broken link the strict build reports
        if target not in files:
            files.append(target)
        return f"[{link['text']}](#{_file_anchor(target)})"

    body = _LINK.sub(local, match[1]).strip()
    for path in files:
        language = _LANGUAGES.get(Path(path).suffix, "text")
        content = (_ROOT / path).read_text(encoding="utf-8").rstrip()
        body += f"\n\n### `{path}` {{ #{_file_anchor(path)} }}\n\n```{language}\n{content}\n```"
    return body


def module_docstring(name: str) -> str:
    """Return module ``name``'s docstring as Markdown."""
    doc = importlib.import_module(name).__doc__ or ""
    return sphinx_roles.plain_roles(sphinx_roles.literal_blocks(doc)).strip()


def contrib_reference() -> str:
    """Return the mkdocstrings directives of every integration this checkout has."""
    return "\n\n".join(f"::: {module}" for module in sphinx_roles.contrib_modules())


def _file_anchor(path: str) -> str:
    return "file-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Put the generated parts where the page asks for them."""
    markdown = README_MARKER.sub(lambda m: readme_section(m["title"]), markdown)
    markdown = DOCSTRING_MARKER.sub(lambda m: module_docstring(m["module"]), markdown)
    markdown = markdown.replace(CONTRIB_MARKER, contrib_reference())
    if MARKER not in markdown:
        return markdown
    from canvas_async.cli._parser import build_parser  # noqa: PLC0415

    return markdown.replace(MARKER, cli_reference.render(build_parser()))


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    """Publish the benchmark chart next to the performance page."""
    chart = File.generated(
        config, "performance/results.png", abs_src_path=str(_ROOT / "benchmarks" / "results.png")
    )
    files.append(chart)
    return files
