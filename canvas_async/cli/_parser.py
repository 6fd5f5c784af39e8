"""The command line: one ``argparse`` parser with a subcommand per job."""

from __future__ import annotations

import argparse
import math
from typing import Any

from canvas_async.bulk import Requeue
from canvas_async.cli import _commands, _shards, _temporal
from canvas_async.cli._connect import DEMO_ACCOUNTS

__all__ = ["build_parser"]

_EPILOG = """\
keys: CANVAS_CONSUMER and CANVAS_SECRET_KEY (or --consumer-file / --secret-key-file),
server: CANVAS_ENV or --env (dev, prd, or a base URL).
exit status: 0 done, 1 failed, 2 bad input (nothing sent), 3 outcome unknown
(apply again), 4 plan --detailed-exitcode found changes, 130 interrupted
(SIGINT), 143 terminated (SIGTERM).
"""


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Add the options every command takes, before or after its name.

    On subcommands the defaults are suppressed, so a value given before the
    command name is not overwritten by the subcommand's default.
    """

    def default(value: Any) -> Any:
        return value if top else argparse.SUPPRESS

    group = parser.add_argument_group("connection and output")
    group.add_argument(
        "--env",
        default=default(None),
        help="server: dev, prd or a base URL (default: $CANVAS_ENV, else dev)",
    )
    group.add_argument(
        "--consumer-file",
        metavar="PATH",
        default=default(None),
        help="read the consumer key from PATH ('-' for stdin) instead of $CANVAS_CONSUMER",
    )
    group.add_argument(
        "--secret-key-file",
        metavar="PATH",
        default=default(None),
        help="read the secret key from PATH ('-' for stdin) instead of $CANVAS_SECRET_KEY",
    )
    group.add_argument(
        "--emulator",
        action="store_true",
        default=default(False),
        help=f"run against the bundled emulator ({DEMO_ACCOUNTS} demo accounts, no keys needed)",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print JSON on stdout instead of tables",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


_Commands = Any  # argparse's private _SubParsersAction


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _budget_options(sub: argparse.ArgumentParser) -> None:
    defaults = Requeue()
    sub.add_argument(
        "--max-attempts",
        type=_positive,
        default=defaults.max_attempts,
        metavar="N",
        help="tries per account after transient failures, the first included "
        f"(default {defaults.max_attempts})",
    )
    sub.add_argument(
        "--account-timeout",
        type=_seconds,
        default=defaults.timeout,
        metavar="SECONDS",
        help=f"time per account over all its tries (default {defaults.timeout:g})",
    )
    sub.add_argument(
        "--deadline",
        type=_seconds,
        metavar="SECONDS",
        help="start no new work after SECONDS; the report says what is left",
    )


def _command(commands: _Commands, name: str, handler: Any, text: str) -> argparse.ArgumentParser:
    sub: argparse.ArgumentParser = commands.add_parser(name, help=text, description=text)
    sub.set_defaults(handler=handler)
    _common(sub, top=False)
    return sub


def _account_option(sub: argparse.ArgumentParser, *, required: bool) -> None:
    sub.add_argument(
        "--account",
        "-a",
        required=required,
        metavar="ID_OR_EMAIL",
        help="the managed account to act for, by id or e-mail",
    )


def _times_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--count", "-n", type=_positive, default=5, help="fire times to show (default 5)"
    )
    sub.add_argument("--tz", metavar="ZONE", help="time zone of the fire times (default UTC)")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``canvas-async`` command."""
    parser = argparse.ArgumentParser(
        prog="canvas-async",
        description="Work with the Canvas REST API of ConnectMyApps, one account or hundreds.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser, top=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _reading_commands(commands)
    _workflow_commands(commands)
    _state_commands(commands)
    _temporal.add_commands(commands)
    emu = _command(commands, "emulator", _commands.emulator, "serve the bundled emulator")
    emu.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    emu.add_argument(
        "--accounts",
        type=int,
        default=DEMO_ACCOUNTS,
        help=f"demo accounts to seed (default {DEMO_ACCOUNTS})",
    )
    emu.add_argument("--auth", choices=("keys", "token"), default="keys", help="auth mode")
    return parser


def _reading_commands(commands: _Commands) -> None:
    _command(commands, "auth", _commands.auth, "check that the keys are accepted")
    _command(commands, "accounts", _commands.accounts, "list the organization's accounts")
    _command(
        commands,
        "doctor",
        _commands.doctor,
        "compare the server's own catalogue with what canvas-async sends (exit 1 if a call breaks)",
    )
    for name, handler, text in (
        ("applications", _commands.applications, "list the applications Canvas supports"),
        ("registered", _commands.registered, "list an account's registered applications"),
        ("templates", _commands.templates, "list workflow templates"),
        ("workflows", _commands.workflows, "list an account's workflows"),
    ):
        _account_option(_command(commands, name, handler, text), required=False)


def _workflow_commands(commands: _Commands) -> None:
    run = _command(commands, "run", _commands.run, "run a workflow, whole or a block range")
    _account_option(run, required=True)
    run.add_argument("workflow", help="the workflow's id or name")
    run.add_argument("--from", dest="from_block", type=_positive, help="first block (1-based)")
    run.add_argument("--till", dest="till_block", type=_positive, help="last block (inclusive)")

    sched = _command(commands, "schedule", _commands.schedule, "schedule a workflow (Quartz cron)")
    _account_option(sched, required=True)
    sched.add_argument("workflow", help="the workflow's id or name")
    sched.add_argument("cron", help='Quartz cron, e.g. "0 0/5 * ? * * *" (quote it)')
    _times_options(sched)

    unsched = _command(commands, "unschedule", _commands.unschedule, "turn a scheduler off")
    _account_option(unsched, required=True)
    unsched.add_argument("workflow", help="the workflow's id or name")

    cron = _command(commands, "cron", _commands.cron_explain, "explain a cron expression")
    actions = cron.add_subparsers(title="cron commands", metavar="ACTION", required=True)
    explain = _command(
        actions, "explain", _commands.cron_explain, "say what a cron means and when it fires"
    )
    explain.add_argument("expression", help='e.g. "0 0 2,6 ? * TUE *" (quote it)')
    explain.add_argument(
        "--unix", action="store_true", help="read a five-field Unix cron and show it as Quartz"
    )
    _times_options(explain)


def _state_commands(commands: _Commands) -> None:
    for name, handler, text in (
        ("plan", _commands.plan, "show what apply would change in every account; write nothing"),
        ("apply", _commands.apply, "bring every account of a desired-state file to its state"),
    ):
        sub = _command(commands, name, handler, text)
        sub.add_argument("file", help="the desired-state file (.toml or .json)")
        sub.add_argument(
            "--replace",
            action="store_true",
            help="recreate workflows that drifted in what cannot be updated in place",
        )
        sub.add_argument(
            "--prune",
            action="store_true",
            help="delete workflows created by canvas-async that the file no longer declares",
        )
        sub.add_argument("--concurrency", type=_positive, help="most accounts handled at once")
        sub.add_argument("--report", metavar="PATH", help="also write the JSON report to PATH")
        if name == "apply":
            sub.add_argument(
                "--fail-fast", action="store_true", help="stop at the first account that fails"
            )
            _budget_options(sub)
        else:
            sub.add_argument(
                "--detailed-exitcode",
                action="store_true",
                help="exit 4 when there is anything to apply",
            )
        _shards.add_options(sub, apply=name == "apply")
    shards = _command(
        commands, "shards", _shards.shards, "show which shard every account of a file belongs to"
    )
    shards.add_argument("file", help="the desired-state file (.toml or .json)")
    shards.add_argument("--shards", type=_positive, required=True, metavar="N", help="shards")
