"""The public surface as tools see it: ``dir()``, ``help()``, type hints, the exception tree."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import pydoc
import re
import types
import typing

import pytest

import canvas_async
import canvas_async.testing
from canvas_async import _errors


def _public_modules() -> list[types.ModuleType]:
    """Every importable module of the package whose dotted name has no private part."""
    found = [canvas_async]
    for info in pkgutil.walk_packages(canvas_async.__path__, "canvas_async."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        try:
            found.append(importlib.import_module(info.name))
        except ModuleNotFoundError as exc:  # an integration whose extra is not installed
            if exc.name is None or exc.name.startswith("canvas_async"):
                raise
    return found


def _public_classes() -> list[tuple[str, type]]:
    classes = {}
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj):
                classes[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return sorted(classes.items())


@pytest.mark.parametrize("package", [canvas_async, canvas_async.testing])
def test_dir_lists_every_lazy_name(package: types.ModuleType) -> None:
    assert set(package.__all__) <= set(dir(package))


def test_help_shows_the_public_classes() -> None:
    text = pydoc.plain(pydoc.render_doc(canvas_async))

    for name in ("Canvas", "AccountView", "Hooks", "TokenAuth", "CanvasError", "Workflow"):
        assert re.search(rf"\bclass {name}\b", text), name


def test_type_hints_resolve_on_every_public_class() -> None:
    classes = _public_classes()
    failures = {}
    for path, cls in classes:
        try:
            typing.get_type_hints(cls)
        except Exception as exc:  # every failure is collected and shown
            failures[path] = repr(exc)

    assert len(classes) > 100  # the walk found the package's classes
    assert failures == {}


def _drawn_tree() -> dict[str, str | None]:
    """Each class the ``_errors`` docstring draws, with the class drawn above it."""
    doc = _errors.__doc__ or ""
    block = doc.partition("::\n\n")[2].partition("\n\n")[0]
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in block.splitlines():
        depth = len(line) - len(line.lstrip())
        name = line.split()[0]
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
    return parents


def test_the_exception_tree_drawn_is_the_real_one() -> None:
    drawn = _drawn_tree()
    exported = {
        name: obj
        for name in canvas_async.__all__
        if inspect.isclass(obj := getattr(canvas_async, name)) and issubclass(obj, Exception)
    }

    assert set(drawn) == set(exported)
    for name, parent in drawn.items():
        cls = exported[name]
        # The nearest exported class above it is the one drawn above it.
        above = next((b.__name__ for b in cls.__mro__[1:] if b.__name__ in exported), None)
        assert above == parent, name
    assert drawn["CanvasError"] is None


def test_every_exception_of_a_public_module_is_a_canvas_error() -> None:
    for module in _public_modules():
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, Exception):
                assert issubclass(obj, canvas_async.CanvasError), f"{module.__name__}.{name}"
