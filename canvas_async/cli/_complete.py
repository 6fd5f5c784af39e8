"""Shell completion scripts, written from the parser itself so they never fall behind it.

bash gets a completion function; zsh loads the same through ``bashcompinit``;
fish gets one ``complete`` line per command and option.
"""

from __future__ import annotations

import argparse
import shlex

from canvas_async.cli._parser import build_parser

__all__ = ["script"]

_FILE_COMMANDS = ("plan", "apply")


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.help != argparse.SUPPRESS]


def _commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _words(parser: argparse.ArgumentParser) -> list[str]:
    words = [s for a in _options(parser) for s in a.option_strings if s.startswith("--")]
    for action in parser._actions:
        if (
            not action.option_strings
            and action.choices
            and not isinstance(action, argparse._SubParsersAction)
        ):
            words.extend(str(c) for c in action.choices)
    return [*words, *_commands(parser)]


def _bash(parser: argparse.ArgumentParser) -> str:
    cases = []
    for name, sub in _commands(parser).items():
        words = _words(sub)
        for action_name, action_parser in _commands(sub).items():
            action_words = shlex.quote(" ".join(_words(action_parser)))
            cases.append(f"        '{name} {action_name}') words={action_words} ;;")
        cases.append(f"        {name}) words={shlex.quote(' '.join(words))} ;;")
    top = shlex.quote(" ".join(_words(parser)))
    files = "|".join(_FILE_COMMANDS)
    return f"""# canvas-async completion for bash (eval "$(canvas-async completion bash)")
_canvas_async() {{
    local cur=${{COMP_WORDS[COMP_CWORD]}} cmd="" words i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${{COMP_WORDS[i]}} in
            -*) ;;
            *) if [[ -z $cmd ]]; then cmd=${{COMP_WORDS[i]}}
               elif [[ $cmd == cron ]]; then cmd="cron ${{COMP_WORDS[i]}}"; fi ;;
        esac
    done
    case $cmd in
{chr(10).join(cases)}
        *) words={top} ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    case $cmd in
        {files}) [[ $cur != -* ]] && COMPREPLY+=($(compgen -f -- "$cur")) ;;
    esac
}}
complete -o default -F _canvas_async canvas-async
"""


def _zsh(parser: argparse.ArgumentParser) -> str:
    return (
        '# canvas-async completion for zsh (eval "$(canvas-async completion zsh)")\n'
        "autoload -U +X compinit && compinit\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + _bash(parser).split("\n", 1)[1]
    )


def _fish(parser: argparse.ArgumentParser) -> str:
    lines = [
        "# canvas-async completion for fish (canvas-async completion fish | source)",
        "complete -c canvas-async -f",
    ]
    for action in _options(parser):
        lines.append(_fish_option("__fish_use_subcommand", action))
    for name, sub in _commands(parser).items():
        lines.append(
            f"complete -c canvas-async -n __fish_use_subcommand -a {name} "
            f"-d {shlex.quote(sub.description or '')}"
        )
        seen = f"'__fish_seen_subcommand_from {name}'"
        lines.extend(_fish_option(seen, action) for action in _options(sub))
        for action in sub._actions:
            if (
                not action.option_strings
                and action.choices
                and not isinstance(action, argparse._SubParsersAction)
            ):
                lines.append(f"complete -c canvas-async -n {seen} -a '{' '.join(action.choices)}'")
        for action_name in _commands(sub):
            lines.append(f"complete -c canvas-async -n {seen} -a {action_name}")
        if name in _FILE_COMMANDS:
            lines.append(f"complete -c canvas-async -n {seen} -F")
    return "\n".join(lines) + "\n"


def _fish_option(condition: str, action: argparse.Action) -> str:
    parts = [f"complete -c canvas-async -n {condition}"]
    for flag in action.option_strings:
        parts.append(f"-l {flag[2:]}" if flag.startswith("--") else f"-s {flag[1:]}")
    if action.choices:
        parts.append(f"-r -a {shlex.quote(' '.join(str(c) for c in action.choices))}")
    elif action.nargs != 0:
        parts.append("-r")
    if action.help:
        parts.append(f"-d {shlex.quote(action.help.split(' (')[0])}")
    return " ".join(parts)


def script(shell: str) -> str:
    """Return the completion script for ``shell`` (bash, zsh or fish)."""
    parser = build_parser()
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](parser)
