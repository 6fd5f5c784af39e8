"""The README's complete Python examples run as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

# A block that starts with an import is a complete program; fragments are not.
PROGRAMS = [
    block
    for block in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    if block.startswith(("import ", "from "))
]


def test_readme_has_programs() -> None:
    assert len(PROGRAMS) >= 1


def test_the_development_page_gives_the_readme_test_command() -> None:
    page = (README.parent / "docs" / "development.md").read_text(encoding="utf-8")
    assert _try_it_commands()[1] in page


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.splitlines()[-1][:40])
def test_readme_program_runs(program: str) -> None:
    result = subprocess.run(  # noqa: S603 - our interpreter, our README
        [sys.executable, "-W", "error", "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _try_it_commands() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## Try it", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_ci_runs_the_readme_commands_verbatim() -> None:
    commands = _try_it_commands()
    assert len(commands) == 2, "the README starts with the main job and the test command"
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    for command in commands:
        assert command in ci


def test_the_test_command_can_install_groups_on_a_fresh_machine() -> None:
    """``--group`` (PEP 735) needs pip 25.1, newer than a fresh venv's on Python 3.11: the
    README's test command upgrades pip first, and CI installs the suite on every Python
    with the same extras and group."""
    test_command = _try_it_commands()[1]
    install = re.search(r"install -q -e '[^']+' --group dev", test_command)
    assert install is not None, test_command
    assert test_command.index(".venv/bin/pip install -q -U pip && ") < install.start()

    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.count(install.group()) == 2, "the suite on 3.11 and in suite_on, installed alike"
    suite_on = ci.split("suite_on() {", 1)[1].split("\n}", 1)[0]
    assert suite_on.index('"$venv/bin/pip" install -q -U pip') < suite_on.index(install.group())


def test_the_version_is_the_changelogs_newest_release() -> None:
    """``__version__`` names the newest release the changelog has, with ``Unreleased`` above."""
    from canvas_async import __version__

    changelog = (README.parent / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, re.M)
    assert headings[:2] == ["Unreleased", __version__]
