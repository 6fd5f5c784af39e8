"""Shell completion, in real bash, zsh and fish: ``canvas-async completion SHELL``'s
script, sourced as a user would, asks the command's own parser at each Tab.

Each shell calls its completion the way it would on Tab: bash through its
completion function with ``COMP_WORDS``/``COMP_LINE`` set; zsh through the
function ``compdef`` registered, with ``_describe`` (what adds the matches)
printing them; fish through ``complete -C``, its own "complete this line".
.ci/run installs zsh and fish; elsewhere a missing shell skips its tests.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.leak_check import record_text
from tests.support import ROOT, bare_env

SHELLS = ("bash", "zsh", "fish")
#: The directory of ``canvas-async``, the name the scripts run.
BIN = str(Path(sys.executable).parent)


def _shell(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed: .ci/run installs it (apt-get install {name})")
        pytest.skip(f"{name} is not installed (apt-get install zsh fish)")
    return found


def _script(shell: str) -> str:
    done = subprocess.run(  # noqa: S603 - our interpreter
        [sys.executable, "-m", "canvas_async.cli", "completion", shell],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return done.stdout


#: What each shell is asked (the words after ``canvas-async``), and what it must offer.
CASES: dict[tuple[str, ...], list[str]] = {
    # nested commands and their options
    ("temporal", "worker", "--ma"): ["--max-concurrent-activities"],
    ("temporal", "w"): ["worker"],
    ("cron", "ex"): ["explain"],
    ("cron", "explain", "--u"): ["--unix"],
    # options before the command's name, one with a value
    ("--env", "prd", "apply", "--ye"): ["--yes"],
    ("--emulator", "--json", "pl"): ["plan"],
    # commands, options, and the file argument completed from the file system
    ("tem",): ["templates", "temporal"],
    ("apply", "--re"): ["--replace", "--report"],
    ("plan", "examples/demo-"): ["examples/demo-accounts.toml"],
}
#: Printed between two completions' matches.
_END = "--end--"

_BASH = """\
eval "$(canvas-async completion bash)"
complete_words() {
    COMP_WORDS=(canvas-async "$@")
    COMP_CWORD=$#
    COMP_LINE="canvas-async $*"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _python_argcomplete canvas-async
    printf '%s\\n' "${COMPREPLY[@]}"
}
"""
_BASH_CALL = "complete_words {words}"

_ZSH = """\
autoload -U compinit && compinit -u -D
eval "$(canvas-async completion zsh)"
_describe() { print -rl -- "${(@P)2}"; }
complete_words() {
    words=(canvas-async "$@")
    BUFFER="${words[*]}"
    CURSOR=${#BUFFER}
    _python_argcomplete
}
"""
_ZSH_CALL = "complete_words {words}"

_FISH = """\
canvas-async completion fish | source
"""
_FISH_CALL = "complete -C {line}"


def complete(shell: str, cases: list[tuple[str, ...]]) -> list[list[str]]:
    """Return what ``shell`` offers at the end of ``canvas-async WORDS``, for each
    case (descriptions dropped), from one shell that sourced the script once."""
    program = {"bash": _BASH, "zsh": _ZSH, "fish": _FISH}[shell]
    for words in cases:
        quoted = " ".join(shlex.quote(w) for w in words)
        line = shlex.quote(" ".join(["canvas-async", *words]))
        call = {"bash": _BASH_CALL, "zsh": _ZSH_CALL, "fish": _FISH_CALL}[shell]
        program += call.format(words=quoted, line=line) + f"\necho {_END}\n"
    flags = {"bash": ["--norc", "--noprofile"], "zsh": ["-f"], "fish": ["--no-config"]}[shell]
    env = bare_env(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", HOME=str(ROOT))
    done = subprocess.run(  # noqa: S603 - a shell of this machine, our script
        [_shell(shell), *flags, "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    record_text(f"{shell} completions", done.stdout + done.stderr)
    separator = {"bash": None, "zsh": ":", "fish": "\t"}[shell]
    answers: list[list[str]] = [[]]
    for line in done.stdout.splitlines():
        if line == _END:
            answers.append([])
        elif line.strip():
            answers[-1].append(line.split(separator, 1)[0].strip())
    assert answers.pop() == [], done.stdout
    return [sorted(a) for a in answers]


@pytest.mark.parametrize("shell", SHELLS)
def test_each_shell_completes_nested_commands_options_first_and_files(shell: str) -> None:
    asked = list(CASES)

    offered = complete(shell, asked)

    assert dict(zip(asked, offered, strict=True)) == CASES


@pytest.mark.parametrize(
    ("shell", "registers"),
    [
        ("bash", "-F _python_argcomplete canvas-async"),
        ("zsh", "compdef _python_argcomplete canvas-async"),
        ("fish", "complete --command canvas-async"),
    ],
)
def test_the_script_registers_the_command(shell: str, registers: str) -> None:
    assert registers in _script(shell)
