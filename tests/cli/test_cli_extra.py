"""The command's packages are the ``cli`` extra: the library never imports them, and the
command without them says how to install them."""

from __future__ import annotations

import sys

import pytest

from canvas_async.cli import _CLI_EXTRA, _exit, main
from tests.test_import_graph import _graph


def test_only_the_command_imports_the_cli_extra() -> None:
    """A library user installs ``canvas-async`` without ``[cli]``: nothing outside
    ``canvas_async.cli`` may reach rich or argcomplete."""
    graph = _graph()
    importers = {module for module, targets in graph.items() if targets & set(_CLI_EXTRA)}

    assert importers  # the walk sees them: the test can fail
    assert {module for module in importers if not module.startswith("canvas_async.cli")} == set()


@pytest.mark.parametrize("absent", [("rich",), ("argcomplete",), ("rich", "argcomplete")])
def test_the_command_without_its_extra_says_how_to_install_it(
    absent: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in absent:
        monkeypatch.setitem(sys.modules, name, None)  # not importable, as when not installed

    code = main(["--version"])

    out, err = capsys.readouterr()
    assert code == _exit.USAGE
    assert out == ""
    assert err == (
        f"canvas-async: error: the command needs {' and '.join(absent)}, "
        "installed with it by: pip install 'canvas-async[cli]'\n"
    )
