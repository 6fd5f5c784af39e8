"""The package's public surface: one sorted ``__all__``, every name accounted for."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import canvas_async
from canvas_async import _errors
from tests.test_docs import pages

# Public modules whose every name is re-exported by the package.
REEXPORTED = ("canvas_async.models", "canvas_async.schedule")
# Public modules and packages used as namespaces of their own
# (``from canvas_async.testing import CanvasEmulator``).
NAMESPACES = (
    "canvas_async.bulk",
    "canvas_async.cli",
    "canvas_async.provision",
    "canvas_async.testing",
)
# Integrations of the extras: imported only where the extra is installed.
EXTRAS = ("canvas_async.contrib",)
# Public modules below the first level, each a namespace of its own that the
# API reference documents (docs/_ext/pages.py: PUBLIC_MODULES). Every other
# module below the first level is private (a leading underscore) or an
# integration under canvas_async.contrib.
SUBMODULES = (
    "canvas_async.provision.export",
    "canvas_async.provision.lease",
    "canvas_async.provision.schema",
    "canvas_async.provision.shard",
    "canvas_async.provision.spec",
    "canvas_async.testing.pytest_plugin",
)


def _ruff_order(name: str) -> tuple[int, str]:
    # The order ``ruff`` keeps (RUF022): CONSTANTS, then Classes, then the rest.
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_is_sorted_and_unique() -> None:
    names = canvas_async.__all__

    assert names == sorted(names, key=_ruff_order)
    assert len(names) == len(set(names))


def test_every_name_is_importable() -> None:
    for name in canvas_async.__all__:
        assert hasattr(canvas_async, name), name


def test_every_public_module_is_accounted_for() -> None:
    public = {
        f"canvas_async.{info.name}"
        for info in pkgutil.iter_modules(canvas_async.__path__)
        if not info.name.startswith("_")
    }

    assert public == set(REEXPORTED) | set(NAMESPACES) | set(EXTRAS)


def _public_modules() -> set[str]:
    """Every module of the package, at any depth, whose dotted name has no private part."""
    return {
        info.name
        for info in pkgutil.walk_packages(canvas_async.__path__, "canvas_async.")
        if not any(part.startswith("_") for part in info.name.split("."))
    }


def test_every_public_module_below_the_first_level_is_accounted_for() -> None:
    below = {name for name in _public_modules() if name.count(".") > 1}
    contrib = {name for name in below if name.startswith("canvas_async.contrib.")}

    assert below - contrib == set(SUBMODULES)
    assert set(SUBMODULES) <= set(pages.PUBLIC_MODULES)  # each documented


def test_every_public_module_declares_its_names() -> None:
    checked = 0
    for module_name in sorted(_public_modules()):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            missing = exc.name or "canvas_async"
            if module_name.startswith(EXTRAS) and not missing.startswith("canvas_async"):
                continue  # an integration whose extra is not installed
            raise
        assert isinstance(getattr(module, "__all__", None), list), module_name
        for name in module.__all__:
            assert hasattr(module, name), f"{module_name}.{name}"
        checked += 1
    assert checked >= len(REEXPORTED) + len(NAMESPACES) + len(SUBMODULES)


def test_reexported_modules_are_fully_exported() -> None:
    for module_name in REEXPORTED:
        module = importlib.import_module(module_name)
        missing = set(module.__all__) - set(canvas_async.__all__)
        assert not missing, f"{module_name} names not exported: {sorted(missing)}"


def test_namespaces_declare_their_names() -> None:
    for module_name in NAMESPACES:
        module = importlib.import_module(module_name)
        assert module.__all__, module_name
        for name in module.__all__:
            assert hasattr(module, name), f"{module_name}.{name}"


def test_every_exception_is_exported() -> None:
    errors = {
        name
        for name, obj in vars(_errors).items()
        if inspect.isclass(obj) and issubclass(obj, Exception) and not name.startswith("_")
    }

    assert errors <= set(canvas_async.__all__)


def test_private_names_present_as_the_package() -> None:
    """Classes from private modules show as ``canvas_async.X`` (reprs, pickles)."""
    for name in canvas_async.__all__:
        obj = getattr(canvas_async, name)
        if inspect.isclass(obj):
            assert not obj.__module__.startswith("canvas_async._"), name
            assert getattr(importlib.import_module(obj.__module__), name) is obj
