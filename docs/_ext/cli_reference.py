"""Render the ``canvas-async`` command's parser as Markdown: every command, every option.

The page is made from ``canvas_async.cli._parser.build_parser()`` at each build,
with each option's help expanded exactly as ``--help`` prints it (defaults
included), so it cannot fall behind the command.
"""

from __future__ import annotations

import argparse
import html
import os
import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def render(parser: argparse.ArgumentParser) -> str:
    """Return the Markdown reference of ``parser`` and all its subcommands.

    Usage lines are wrapped at 80 columns whatever the terminal, so the page
    does not depend on where it was built.
    """
    parts: list[str] = []
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse's HelpFormatter reads the width from here
    try:
        _command(parser, parser.prog, 2, parts, shared={})
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return "\n".join(parts)


def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """Return every command's full name (``canvas-async temporal apply``) and its parser."""
    found = {parser.prog: parser}
    for _, sub in _subcommands(parser):
        found.update(commands(sub))
    return found


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    found: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.extend(action.choices.items())
    return found


def _text(value: str) -> str:
    """Escape ``value`` for Markdown prose and table cells."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(value, quote=False))


def _command(
    parser: argparse.ArgumentParser,
    name: str,
    level: int,
    parts: list[str],
    shared: dict[tuple[str, ...], str],
) -> None:
    """Append ``parser``'s section, then its subcommands' one level deeper.

    An option group the top command already listed in full (``shared``: its
    options, and the command that listed them) is named with a link instead.
    """
    formatter = parser._get_formatter()
    parts += [f"{'#' * level} `{name}`", ""]
    if parser.description:
        parts += [_text(parser.description), ""]
    parts += ["```text", parser.format_usage().removeprefix("usage: ").strip(), "```", ""]
    for group in parser._action_groups:
        rows = [
            _row(action, formatter)
            for action in group._group_actions
            if action.help != argparse.SUPPRESS
            and not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction))
        ]
        if not rows:
            continue
        title = _text((group.title or "options").capitalize())
        options = tuple(o for action in group._group_actions for o in action.option_strings)
        if options in shared and group.title not in {"options", "positional arguments"}:
            owner = shared[options]
            parts += [f"**{title}**: as for [`{owner}`](#{_anchor(owner)}).", ""]
            continue
        shared.setdefault(options, name)
        what = "argument" if group.title == "positional arguments" else "option"
        parts += [f"**{title}**", "", f"| {what} | |", "| --- | --- |", *rows, ""]
    subs = _subcommands(parser)
    if subs:
        parts += ["**Commands**", "", "| command | |", "| --- | --- |"]
        parts += [
            f"| [`{sub_name}`](#{_anchor(f'{name} {sub_name}')}) | {_text(sub.description or '')} |"
            for sub_name, sub in subs
        ]
        parts.append("")
    if parser.epilog:
        parts += ["```text", parser.epilog.strip(), "```", ""]
    for sub_name, sub in subs:
        _command(sub, f"{name} {sub_name}", level + 1, parts, shared)


def _row(action: argparse.Action, formatter: argparse.HelpFormatter) -> str:
    if action.option_strings:
        metavar = (
            "" if action.nargs == 0 else " " + formatter._format_args(action, action.dest.upper())
        )
        names = ", ".join(f"`{option}{metavar}`" for option in action.option_strings)
    else:
        names = f"`{formatter._format_args(action, action.dest)}`"
    text = _text(formatter._expand_help(action)) if action.help else ""
    if action.required and action.option_strings:
        text = f"**required**; {text}"
    return f"| {names} | {text} |"


def _anchor(heading: str) -> str:
    """Return the id mkdocs gives a heading (its default slugify)."""
    return re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", heading).strip().lower())
