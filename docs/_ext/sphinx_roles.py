"""A griffe extension: read the package's reST docstrings as Markdown.

The docstrings are Google style with Sphinx's inline roles (``:class:`Canvas```,
``:meth:`Canvas.for_account <canvas_async.Canvas.for_account>```) and ``::``
literal blocks. Before mkdocstrings renders them, each role becomes a
cross-reference to the public path the reference documents the object under,
found through the docstring's own module scope (its imports, as Python would
look the name up); each literal block becomes a fenced code block.

A role naming something that does not exist is logged as a warning, so
``mkdocs build --strict`` fails on it; a role naming a public object that the
reference does not document fails there too (autorefs cannot find it). Roles
naming private objects, the standard library or other packages stay code.
"""

from __future__ import annotations

import builtins
import logging
import re
import sys
from pathlib import Path
from typing import Any

import griffe

sys.path.insert(0, str(Path(__file__).parent))  # loaded by path: make its neighbour importable
from pages import CONTRIB, PUBLIC_MODULES, ROLE, contrib_modules, literal_blocks

_LOG = logging.getLogger("mkdocs.plugins.canvas_async_docs")


_CALLABLE_KINDS = frozenset({"meth", "func"})
#: Names a role may use without linking: builtins, the standard library and
#: the packages canvas-async works with (their documentation is elsewhere).
_FOREIGN = frozenset(
    {*vars(builtins), *sys.stdlib_module_names, "aiohttp", "attrs", "cattrs", "yarl", "pytest",
     "rich", "temporalio", "opentelemetry", "aiolimiter"}
)  # fmt: skip


class SphinxRoles(griffe.Extension):
    """Rewrite roles and literal blocks in every docstring of the package."""

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        """Rewrite the docstrings once the whole package is loaded (exports expanded)."""
        if pkg.path != "canvas_async":
            return
        public = _public_paths(loader)
        for obj in _walk(pkg):
            if obj.docstring is None and obj.is_attribute:
                _comment_docstring(obj)
            if obj.docstring is not None:
                text = literal_blocks(obj.docstring.value)
                obj.docstring.value = ROLE.sub(lambda m, o=obj: _link(m, o, loader, public), text)


def _walk(obj: griffe.Object) -> list[griffe.Object]:
    """Return ``obj`` and every object defined under it (not aliases)."""
    found = [obj]
    for member in obj.members.values():
        if not member.is_alias:
            found.extend(_walk(member))  # type: ignore[arg-type]
    return found


def _comment_docstring(attr: griffe.Object) -> None:
    """Give an attribute documented by ``#:`` comments above it (Sphinx's way) that docstring."""
    if attr.lineno is None or attr.filepath is None or isinstance(attr.filepath, list):
        return
    try:
        lines = attr.lines_collection[attr.filepath]  # a mapping without .get()
    except KeyError:
        return
    comment: list[str] = []
    index = attr.lineno - 2  # the line above, 0-based
    while index >= 0 and lines[index].lstrip().startswith("#:"):
        comment.insert(0, lines[index].lstrip()[2:].removeprefix(" "))
        index -= 1
    if comment:
        attr.docstring = griffe.Docstring("\n".join(comment), parent=attr)


def _lookup(loader: griffe.GriffeLoader, path: str) -> griffe.Object | None:
    """Return the object at ``path``, following re-exports at every step."""
    parts = path.split(".")
    try:
        obj: Any = loader.modules_collection[parts[0]]
        for part in parts[1:]:
            obj = obj.members[part]
            if obj.is_alias:
                obj = obj.final_target
    except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return None
    return obj  # type: ignore[no-any-return]


def _public_paths(loader: griffe.GriffeLoader) -> dict[str, str]:
    """Map each canonical path to the public path the reference documents it under."""
    public: dict[str, str] = {}
    for module_path in (*PUBLIC_MODULES, *contrib_modules()):
        module = _lookup(loader, module_path)
        if module is None:
            continue
        public.setdefault(module.path, module_path)
        if module.exports is not None:
            # Only what its __all__ names is documented: nothing under the module itself.
            public.setdefault(f"{module.path}.", "")
        for name in sorted(module.exports or ()):
            target = _lookup(loader, f"{module_path}.{name}")
            if target is not None:
                public.setdefault(target.path, f"{module_path}.{name}")
    return public


def _resolve(obj: griffe.Object, target: str, loader: griffe.GriffeLoader) -> str | None:
    """Return the canonical path ``target`` names in ``obj``'s scope, or None."""
    first, _, rest = target.partition(".")
    candidates = []
    if first == "canvas_async":
        candidates.append(target)
    scope: griffe.Object | None = obj
    while scope is not None:
        if first in scope.members:
            member = scope.members[first]
            base = member.target_path if member.is_alias else member.path  # type: ignore[union-attr]
            candidates.append(f"{base}.{rest}" if rest else base)
        scope = scope.parent
    candidates.extend(f"{module}.{target}" for module in PUBLIC_MODULES)
    for candidate in candidates:
        found = _lookup(loader, candidate)
        if found is not None:
            return found.path
    return None


def _link(
    match: re.Match[str], obj: griffe.Object, loader: griffe.GriffeLoader, public: dict[str, str]
) -> str:
    kind, body = match["kind"], match["body"].strip()
    title, _, explicit = body.partition(" <")
    if explicit:
        target = explicit.rstrip(">").strip()
    else:
        target = title.lstrip("~.!")
        title = target.rsplit(".", 1)[-1] if title.startswith("~") else target
    target = target.lstrip("~.!")
    text = f"`{title}()`" if kind in _CALLABLE_KINDS and not explicit else f"`{title}`"
    canonical = _resolve(obj, target, loader)
    if canonical is None:
        if kind == "mod" and target.startswith(f"{CONTRIB}."):
            # An integration this checkout does not have (each is optional): code, not a link.
            _LOG.info("%s: %s is not in this checkout", obj.path, match[0])
        elif target.split(".")[0] not in _FOREIGN:
            _LOG.warning("%s: %s names nothing this docstring can reach", obj.path, match[0])
        return text
    documented = _documented_path(canonical, public)
    return f"[{text}][{documented}]" if documented else text


def _documented_path(canonical: str, public: dict[str, str]) -> str | None:
    """Return the public path of ``canonical`` (or of its owner, plus the rest), or None.

    None means an object no page documents: private, or left out of its
    module's ``__all__``.
    """
    parts = canonical.split(".")
    for end in range(len(parts), 0, -1):
        head, rest = ".".join(parts[:end]), parts[end:]
        if any(part.startswith("_") for part in rest):
            return None
        if head in public:
            closed = rest and f"{head}." in public  # a module with an __all__
            return None if closed else ".".join([public[head], *rest])
    return None
