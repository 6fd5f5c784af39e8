"""MkDocs hooks: the generated command-line reference, module docstrings, the benchmark chart.

- A page holding ``<!-- cli-reference -->`` gets, in its place, the reference
  of every command and option, rendered from ``build_parser()`` at each build.
- ``<!-- module-docstring: NAME -->`` becomes the module's docstring (its
  roles as code): for a private module, which the API pages do not show
  (``canvas_async.provision._load``, the desired-state file format).
- ``<!-- contrib-modules -->`` becomes the reference of every integration
  under ``canvas_async/contrib`` this checkout has.
- ``benchmarks/results.png`` (written by ``benchmarks/run.py`` beside its
  ``results.md``) is published as ``performance/results.png``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

# Hooks are loaded by path, not as a package: their neighbours are not importable.
sys.path.insert(0, str(Path(__file__).parent))
import pages


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Put the generated parts where the page asks for them."""
    return pages.expand(markdown)


def on_files(files: Files, config: Any, **kwargs: Any) -> Files:
    """Publish the benchmark chart next to the performance page."""
    chart = File.generated(
        config,
        "performance/results.png",
        abs_src_path=str(pages.ROOT / "benchmarks" / "results.png"),
    )
    files.append(chart)
    return files
