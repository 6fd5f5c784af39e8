"""Every operator input the command cannot take is refused: exit 2, one error line
that says what to do, no traceback, nothing sent."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from canvas_async._text import QUOTE_LIMIT
from canvas_async.cli import _exit
from canvas_async.provision._load import DesiredStateError, file_format, loads
from tests.cli.test_cli import DEMO, Result, _no_traceback, cli

EMULATOR_COMMAND = str(Path(sys.executable).with_name("canvas-async-emulator"))


def _refused(result: Result) -> str:
    """The error line of a refusal (after argparse's usage, if any)."""
    assert result.code == _exit.USAGE, result.err
    _no_traceback(result)
    return result.err.splitlines()[-1]


@pytest.mark.parametrize("port", ["99999", "-1", "http"])
async def test_the_emulator_port_is_a_port(port: str) -> None:
    line = _refused(await cli("emulator", "--port", port))

    assert line.startswith("canvas-async emulator: error: argument --port: ")
    assert ("0 to 65535" in line) != (port == "http")


async def test_only_one_key_can_come_from_standard_input() -> None:
    result = await cli("--consumer-file", "-", "accounts", "--secret-key-file", "-", stdin="key\n")

    assert _refused(result) == (
        "canvas-async: error: only one of --consumer-file and --secret-key-file can be '-' "
        "(standard input holds one key): read the other from a file or its environment variable"
    )


@pytest.mark.parametrize("where", ["before", "after"])
async def test_the_emulator_and_a_server_contradict_each_other(where: str) -> None:
    args = ["--emulator", "--env", "prd", "accounts"]
    if where == "after":
        args = ["accounts", "--env", "prd", "--emulator"]

    assert _refused(await cli(*args)) == (
        "canvas-async: error: --emulator runs on the bundled emulator, with its own server and "
        "keys: --env would be ignored; give one or the other"
    )


@pytest.mark.parametrize(
    "command", [["plan"], ["apply", "--yes"], ["shards", "--shards", "2"]], ids=lambda c: c[0]
)
@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
async def test_a_yaml_file_is_refused_naming_the_formats_read(
    tmp_path: Path, command: list[str], suffix: str
) -> None:
    path = tmp_path / f"state{suffix}"
    path.write_text("version: 1\naccounts:\n  - id: x\n")
    name, *options = command

    result = await cli(name, str(path), *options, "--emulator" if name != "shards" else "--json")

    assert result.code == _exit.USAGE
    assert result.err == (
        f"canvas-async: error: {path}: 1 problem:\n"
        "  YAML is not supported: write the desired state as TOML (.toml) or JSON (.json)\n"
    )


def test_the_formats_read_by_suffix() -> None:
    assert file_format("a.toml") == file_format("A.TOML") == file_format("/dev/fd/63") == "toml"
    assert file_format("a.json") == file_format("https://h/f.json?sig=x#y") == "json"
    with pytest.raises(DesiredStateError, match=r"\.txt is not read: write .* TOML"):
        file_format("accounts.txt")
    with pytest.raises(DesiredStateError, match="YAML is not supported"):
        file_format("https://h/state.yml?sig=x")


async def test_a_latin_1_byte_is_named_by_line_column_and_byte(tmp_path: Path) -> None:
    accounts = [
        f'[[accounts]]\nemail = "ops-{i:03d}@example.org"\nfirst_name = "Ada"\nlast_name = "L"\n'
        for i in range(200)
    ]
    accounts[150] = accounts[150].replace('"Ada"', '"Andr\xe9"')
    text = "version = 1\n" + "".join(accounts)
    path = tmp_path / "latin-1.toml"
    path.write_bytes(text.encode("latin-1"))
    offset = text.encode("latin-1").index(b"\xe9")

    result = await cli("plan", str(path), "--emulator")

    assert result.code == _exit.USAGE
    assert result.err.splitlines()[-1] == (
        f"  line {1 + 150 * 4 + 3}, column 19: not UTF-8 text: byte {offset + 1:,} is 0xE9 "
        "(invalid continuation byte); save the file as UTF-8"
    )


async def test_a_huge_value_is_clipped_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    email = "a" * 1_000_000
    path.write_text(
        f'version = 1\n[[accounts]]\nemail = "{email}"\nfirst_name = "A"\nlast_name = "B"\n'
        f'[[accounts]]\nemail = "{email}@example.org"\nfirst_name = "A"\nlast_name = "B"\n'
    )

    result = await cli("plan", str(path), "--emulator")

    assert result.code == _exit.USAGE
    lines = result.err.splitlines()
    assert lines[1].startswith("  accounts[0].email: not an e-mail address: 'aaaa")
    assert lines[1].endswith("... (1,000,000 characters)")
    assert lines[2].startswith(
        "  accounts[1].email: is 1,000,012 characters long; an e-mail address has at most 254"
    )
    assert len(result.err) < 4 * QUOTE_LIMIT + 400


def test_every_quoted_value_of_the_file_is_clipped() -> None:
    long = "x" * 5000
    text = f"""
version = "{long}"
[defaults.{long}]
[[accounts]]
id = "{long}"
[[accounts]]
email = "a@example.org"
first_name = "A"
last_name = "B"
role = "{long}"
applications.Q = {{ tag = "t", credentials.key = "${long}" }}
workflows.W = {{ template = "T", applications = {{ Q = "{long}" }} }}
"""
    with pytest.raises(DesiredStateError) as caught:
        loads(text)

    problems = caught.value.problems
    assert len(problems) == 6
    for problem in problems:
        assert len(problem) < 3 * QUOTE_LIMIT + 250, problem
        assert re.search(r"\.\.\. \(5,00[0-2] characters\)", problem), problem


async def test_a_demo_file_with_a_wrong_suffix_is_refused_before_reading(tmp_path: Path) -> None:
    copy = tmp_path / "demo.toml.bak"
    copy.write_bytes(DEMO.read_bytes())

    result = await cli("plan", str(copy), "--emulator")

    assert result.code == _exit.USAGE
    assert ".bak is not read" in result.err
    assert "using the bundled Canvas emulator" not in result.err  # nothing started
