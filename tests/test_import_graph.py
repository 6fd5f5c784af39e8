"""The package's import graph: no cycle, and a pure core that never touches aiohttp.

Read from the source with ``ast``, imports inside functions included, so a
cycle hidden in a function-level import fails here too. Cycles count the
imports of ``if TYPE_CHECKING:`` blocks as well: a circle that only the type
checker walks is still two modules that cannot be read apart, and it keeps
``typing.get_type_hints`` from resolving their names. What the pure core and
the emulator reach counts what runs only.
"""

from __future__ import annotations

import ast
from collections.abc import Container, Iterator
from pathlib import Path

import canvas_async

PACKAGE = "canvas_async"
ROOT = Path(canvas_async.__file__).parent

#: The pure core (design: "Three layers"): no I/O, nothing above it.
PURE_CORE = (
    "canvas_async._auth",
    "canvas_async._catalogue",
    "canvas_async._checks",
    "canvas_async._convert",
    "canvas_async._errors",
    "canvas_async._operations",
    "canvas_async._retry",
    "canvas_async._routes",
    "canvas_async._sentinel",
    "canvas_async._tokens",
    "canvas_async._validate",
    "canvas_async.models",
    "canvas_async.schedule",
)
#: What the pure core may not import, directly or through another module.
ABOVE_THE_CORE = ("aiohttp", "canvas_async._client", "canvas_async._transport")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, *, type_checking: bool) -> Iterator[ast.AST]:
    """Every node under ``node``; the bodies of ``if TYPE_CHECKING:`` only if ``type_checking``."""
    for child in ast.iter_child_nodes(node):
        if not type_checking and isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield other
                yield from _walk(other, type_checking=type_checking)
            continue
        yield child
        yield from _walk(child, type_checking=type_checking)


def _imports(module: str, path: Path, modules: Container[str], *, type_checking: bool) -> set[str]:
    """The modules ``module`` imports (package-relative imports resolved).

    ``from package import submodule`` counts as importing the submodule only:
    a module's own packages are imported before it anyway.
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _walk(tree, type_checking=type_checking):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = node.module or ""
            if node.level:
                source = f"{base}.{source}" if source else base
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in modules else source)
    return found


def _graph(*, type_checking: bool = False) -> dict[str, set[str]]:
    """Each module's imports; those only the type checker reads if ``type_checking``."""
    modules = {_module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for target in _imports(name, path, modules, type_checking=type_checking):
            if target in modules and target != name:
                edges.add(target)
            elif not target.startswith(PACKAGE):
                edges.add(target.partition(".")[0])
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a path, or None."""
    done: set[str] = set()
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> list[str] | None:
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_stack:
                return [*stack[stack.index(target) :], target]
            if target in graph and target not in done:
                found = visit(target)
                if found is not None:
                    return found
        stack.pop()
        on_stack.discard(node)
        done.add(node)
        return None

    for node in sorted(graph):
        if node not in done:
            found = visit(node)
            if found is not None:
                return found
    return None


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        for target in graph.get(node, ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_the_walk_sees_what_it_must() -> None:
    """The graph holds the package's known edges: the test can fail."""
    graph = _graph()

    assert "canvas_async._transport" in graph["canvas_async._client"]
    assert "aiohttp" in graph["canvas_async._transport"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle() -> None:
    """No module of the package imports itself through others, for the type checker either."""
    assert _cycle(_graph(type_checking=True)) is None


def test_type_checking_imports_are_edges() -> None:
    """An import under ``if TYPE_CHECKING:`` is an edge of the graph the cycle test reads."""
    # canvas_async imports its public names for the type checker only.
    assert "canvas_async._client" in _graph(type_checking=True)["canvas_async"]
    assert "canvas_async._client" not in _graph()["canvas_async"]


def test_pure_core_imports_nothing_above_it() -> None:
    """No module of the pure core reaches aiohttp, the transport or the client."""
    graph = _graph()
    leaks = {
        module: sorted(_reachable(graph, module) & set(ABOVE_THE_CORE))
        for module in PURE_CORE
        if module in graph
    }

    assert {module: found for module, found in leaks.items() if found} == {}
    assert set(PURE_CORE) <= set(graph)


def test_the_emulator_depends_on_nothing_above_the_core() -> None:
    """The emulator (``canvas_async.testing``) shares the core's route table and
    cron engine, and nothing of the client it tests."""
    graph = _graph()
    core = set(PURE_CORE).union(*(_reachable(graph, module) for module in PURE_CORE))
    emulator = [module for module in graph if module.startswith(f"{PACKAGE}.testing")]
    above = {
        module: sorted(
            target
            for target in _reachable(graph, module)
            if target.startswith(f"{PACKAGE}.")
            and not target.startswith(f"{PACKAGE}.testing")
            and target not in core
        )
        for module in emulator
    }

    assert "canvas_async._routes" in graph["canvas_async.testing._app"]
    assert {module: found for module, found in above.items() if found} == {}
