"""The command line: one ``argparse`` parser with a subcommand per job.

Kept light on purpose: building the parser imports nothing but the standard
library, and each command names its handler as ``module:function`` text,
imported only when that command runs, so ``--help``, ``cron explain`` and
``completion`` never load aiohttp.
"""

from __future__ import annotations

import argparse
from typing import Any, Final

from canvas_async._defaults import (
    AUTH_MODES,
    DEFAULT_ACCOUNT_TIMEOUT,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_CONCURRENCY,
)

# Light on purpose (argparse only), and shared with canvas-async-emulator.
from canvas_async.testing._cli import DEMO_ACCOUNTS, add_emulator_options, at_least, seconds

#: The destinations of the connection options, for checks and completion (not
#: ``auth``: the emulator command has an ``--auth`` of its own).
CONNECTION_OPTIONS: Final = ("env", "consumer_file", "secret_key_file", "emulator", "max_requests")
#: ``--lease-store``'s choices (``CANVAS_LEASE_STORE`` takes the same).
LEASE_STORES: Final = ("file", "kubernetes")

_EPILOG = """\
keys: CANVAS_CONSUMER and CANVAS_SECRET_KEY (or --consumer-file / --secret-key-file),
server: CANVAS_ENV or --env (dev, prd, or a base URL ending in /api),
auth mode: CANVAS_AUTH or --auth (keys, token, or auto: ask the server; the default).
output: colour on a terminal unless NO_COLOR is set (FORCE_COLOR forces it).
exit status: 0 done, 1 failed, 2 bad input (nothing sent), 3 outcome unknown
(apply again), 4 plan --detailed-exitcode found changes, 5 apply left only what
another apply will not fix (drift without --replace, duplicate registrations),
130 interrupted (SIGINT), 141 stdout closed (| head), 143 terminated (SIGTERM).
"""

_ADOPT: Final = "canvas_async.cli._adopt"
_COMMANDS: Final = "canvas_async.cli._commands"
_OFFLINE: Final = "canvas_async.cli._offline"
_SHARDS: Final = "canvas_async.cli._shards"
_TEMPORAL: Final = "canvas_async.cli._temporal"


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Help that says every default, without repeating ``(default: None)``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            "default" not in text
            and action.default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
        ):
            text += " (default: %(default)s)"
        return text


def _shared(*, top: bool) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Return the connection options and ``--json``, shared by the commands that take them.

    On subcommands the defaults are suppressed, so a value given before the
    command name (``canvas-async --emulator apply ...``) is kept.
    """
    connection, json = (
        argparse.ArgumentParser(add_help=False, argument_default=None if top else argparse.SUPPRESS)
        for _ in range(2)
    )
    group = connection.add_argument_group("connection")
    group.add_argument(
        "--env",
        help="server: dev, prd or a base URL (default: $CANVAS_ENV, else dev)",
    )
    group.add_argument(
        "--consumer-file",
        metavar="PATH",
        help="read the consumer key from PATH ('-' for stdin) instead of $CANVAS_CONSUMER",
    )
    group.add_argument(
        "--secret-key-file",
        metavar="PATH",
        help="read the secret key from PATH ('-' for stdin) instead of $CANVAS_SECRET_KEY",
    )
    group.add_argument(
        "--auth",
        choices=AUTH_MODES,
        help="keys: the keys on every request; token: keys exchanged for bearer tokens, "
        "revoked at the end; auto: whichever the server speaks "
        "(default: $CANVAS_AUTH, else auto)",
    )
    group.add_argument(
        "--emulator",
        action="store_true",
        help=f"run against the bundled emulator ({DEMO_ACCOUNTS} demo accounts, no keys needed)",
    )
    group.add_argument(
        "--max-requests",
        type=positive,
        metavar="N",
        help="most requests in flight at once, across all accounts: the client's connection "
        f"pool (default: {DEFAULT_MAX_CONCURRENCY}, or --concurrency where that is higher)",
    )
    json.add_argument(
        "--json", action="store_true", help="print JSON on stdout instead of tables and text"
    )
    return connection, json


positive = at_least(1)


_Commands = Any  # argparse's private _SubParsersAction
_SUB_PARENTS: Final = _shared(top=False)


def _command(
    commands: _Commands,
    name: str,
    handler: str,
    text: str,
    *,
    connects: bool = True,
    json: bool = True,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``, with the shared options that fit it."""
    parents = [p for p, wanted in zip(_SUB_PARENTS, (connects, json), strict=True) if wanted]
    sub: argparse.ArgumentParser = commands.add_parser(
        name, help=text, description=text, parents=parents, formatter_class=_Formatter
    )
    sub.set_defaults(handler=handler, connects=connects)
    return sub


def _budget_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--max-attempts",
        type=positive,
        default=DEFAULT_MAX_ATTEMPTS,
        metavar="N",
        help="tries per account after transient failures, the first included",
    )
    sub.add_argument(
        "--account-timeout",
        type=seconds,
        default=DEFAULT_ACCOUNT_TIMEOUT,
        metavar="SECONDS",
        help="time per account over all its tries",
    )
    sub.add_argument(
        "--deadline",
        type=seconds,
        metavar="SECONDS",
        help="start no new work after SECONDS and end within 2 s of it, whatever the "
        "server does (requests, Retry-After pauses, retries and the lease wait are all cut "
        "short); the report says what is left",
    )


def _account_option(sub: argparse.ArgumentParser, *, required: bool) -> None:
    sub.add_argument(
        "--account",
        "-a",
        required=required,
        metavar="ID_OR_EMAIL",
        help="the managed account to act for, by id or e-mail",
    )


def _times_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--count", "-n", type=positive, default=5, help="fire times to show")
    sub.add_argument("--tz", metavar="ZONE", help="time zone of the fire times (default: UTC)")
    sub.add_argument(
        "--unix", action="store_true", help="read a five-field Unix cron and show it as Quartz"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``canvas-async`` command."""
    parser = argparse.ArgumentParser(
        prog="canvas-async",
        description="Work with the Canvas REST API of ConnectMyApps, one account or thousands.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
        parents=list(_shared(top=True)),
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.set_defaults(connects=False, handler=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _reading_commands(commands)
    _workflow_commands(commands)
    _state_commands(commands)
    _adoption_commands(commands)
    _temporal_commands(commands)
    emu = _command(
        commands,
        "emulator",
        "canvas_async.testing._cli:command",
        "serve the bundled emulator (same as canvas-async-emulator)",
        connects=False,
        json=False,
    )
    add_emulator_options(emu)
    completion = _command(
        commands,
        "completion",
        f"{_OFFLINE}:completion",
        "print a shell completion script, e.g. canvas-async completion bash >> ~/.bashrc",
        connects=False,
        json=False,
    )
    completion.add_argument("shell", choices=("bash", "zsh", "fish"))
    return parser


def _reading_commands(commands: _Commands) -> None:
    _command(commands, "auth", f"{_COMMANDS}:auth", "check that the keys are accepted")
    _command(commands, "accounts", f"{_COMMANDS}:accounts", "list the organization's accounts")
    _command(
        commands,
        "doctor",
        f"{_COMMANDS}:doctor",
        "compare the server's own catalogue with what canvas-async sends (exit 1 if a call breaks)",
    )
    for name, text in (
        ("applications", "list the applications Canvas supports"),
        ("registered", "list an account's registered applications"),
        ("templates", "list workflow templates"),
        ("workflows", "list an account's workflows"),
    ):
        _account_option(_command(commands, name, f"{_COMMANDS}:{name}", text), required=False)


def _workflow_commands(commands: _Commands) -> None:
    run = _command(commands, "run", f"{_COMMANDS}:run", "run a workflow, whole or a block range")
    _account_option(run, required=True)
    run.add_argument("workflow", help="the workflow's id or name")
    run.add_argument("--from", dest="from_block", type=positive, help="first block (1-based)")
    run.add_argument("--till", dest="till_block", type=positive, help="last block (inclusive)")

    sched = _command(
        commands, "schedule", f"{_COMMANDS}:schedule", "schedule a workflow (Quartz cron)"
    )
    _account_option(sched, required=True)
    sched.add_argument("workflow", help="the workflow's id or name")
    sched.add_argument("cron", help='Quartz cron, e.g. "0 0/5 * ? * * *" (quote it)')
    _times_options(sched)

    unsched = _command(commands, "unschedule", f"{_COMMANDS}:unschedule", "turn a scheduler off")
    _account_option(unsched, required=True)
    unsched.add_argument("workflow", help="the workflow's id or name")

    cron = _command(
        commands,
        "cron",
        f"{_OFFLINE}:cron_explain",
        "explain a cron expression (no connection)",
        connects=False,
        json=False,
    )
    actions = cron.add_subparsers(title="cron commands", metavar="ACTION", required=True)
    explain = _command(
        actions,
        "explain",
        f"{_OFFLINE}:cron_explain",
        "say what a cron means and when it fires",
        connects=False,
    )
    explain.add_argument("expression", help='e.g. "0 0 2,6 ? * TUE *" (quote it)')
    _times_options(explain)


def _state_commands(commands: _Commands) -> None:
    for name, text in (
        ("plan", "show what apply would change in every account; write nothing"),
        ("apply", "bring every account of a desired-state file to its state"),
    ):
        sub = _command(commands, name, f"{_COMMANDS}:{name}", text)
        sub.add_argument("file", help="the desired-state file (.toml or .json)")
        sub.add_argument(
            "--replace",
            action="store_true",
            help="delete and recreate workflows that drifted in what cannot be updated in "
            "place (template, bound applications, variables, description); registrations "
            "are never recreated",
        )
        sub.add_argument(
            "--prune",
            action="store_true",
            help="delete workflows created by canvas-async that the file no longer declares",
        )
        sub.add_argument(
            "--concurrency",
            type=positive,
            default=DEFAULT_MAX_CONCURRENCY,
            help="most accounts handled at once; a higher value raises the client's pool "
            "to match, unless --max-requests sets it",
        )
        sub.add_argument("--report", metavar="PATH", help="also write the JSON report to PATH")
        sub.add_argument(
            "--verbose",
            "-v",
            action="store_true",
            help="list every account (apply: a row each; plan: its changes one by one)",
        )
        if name == "apply":
            sub.add_argument(
                "--fail-fast", action="store_true", help="stop at the first account that fails"
            )
            sub.add_argument(
                "--yes",
                "-y",
                action="store_true",
                help="apply without showing the plan and asking first (never asked when "
                "standard input is not a terminal)",
            )
            _budget_options(sub)
        else:
            sub.add_argument(
                "--detailed-exitcode",
                action="store_true",
                help="exit 4 when there is anything to apply, drift or a duplicate",
            )
        _shard_options(sub, apply=name == "apply")
    shards = _command(
        commands,
        "shards",
        f"{_SHARDS}:shards",
        "show which shard every account of a file belongs to (no connection)",
        connects=False,
    )
    shards.add_argument("file", help="the desired-state file (.toml or .json)")
    shards.add_argument("--shards", type=positive, required=True, metavar="N", help="shards")


def _adoption_commands(commands: _Commands) -> None:
    """Add ``export``, ``schema`` and ``init``: a desired-state file from what exists, or new."""
    export = _command(
        commands,
        "export",
        f"{_ADOPT}:export",
        "write the organization as it is as a desired-state file (plan on it shows "
        "nothing to change)",
        json=False,
    )
    _output_option(export)
    export.add_argument(
        "--format",
        choices=("toml", "json"),
        help="the file's format (default: as -o's name says, else toml)",
    )
    export.add_argument(
        "--account",
        "-a",
        action="append",
        metavar="ID_OR_EMAIL",
        help="export only this account, by id or e-mail (repeat for more)",
    )
    export.add_argument(
        "--shard",
        metavar="I/N",
        help="export only the accounts of shard I of N, the organization's accounts "
        "ranked as 'shards' ranks a file's",
    )
    export.add_argument(
        "--concurrency",
        type=positive,
        default=DEFAULT_MAX_CONCURRENCY,
        help="accounts read at once",
    )
    schema = _command(
        commands,
        "schema",
        f"{_ADOPT}:schema",
        "print the JSON Schema of the desired-state file, for editors (no connection)",
        connects=False,
        json=False,
    )
    _output_option(schema)
    init = _command(
        commands,
        "init",
        f"{_ADOPT}:init",
        "write a commented starter desired-state file (no connection)",
        connects=False,
        json=False,
    )
    _output_option(init)
    init.add_argument("--force", action="store_true", help="replace the file -o names")


def _output_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        help="write to PATH, whole or not at all (default: standard output)",
    )


def _shard_options(sub: argparse.ArgumentParser, *, apply: bool) -> None:
    """Add the shard options to ``plan`` (``apply=False``) or ``apply``."""
    group = sub.add_argument_group("shards (one worker of several)")
    group.add_argument(
        "--shard", metavar="I/N", help="handle only shard I of N (0-based), e.g. 2/8"
    )
    group.add_argument(
        "--shard-from-env",
        metavar="VAR",
        help="take the shard index from $VAR (e.g. JOB_COMPLETION_INDEX); needs --shards",
    )
    group.add_argument("--shards", type=int, metavar="N", help="the number of shards")
    group.add_argument(
        "--expect-hash",
        metavar="HASH",
        help="refuse the file (exit 2) unless its content hash is HASH (see 'shards')",
    )
    if not apply:
        return
    group.add_argument(
        "--lease-dir",
        metavar="DIR",
        help="where shard leases (lock files) live (default: $CANVAS_LEASE_DIR, "
        "else canvas-async-leases in the temporary directory)",
    )
    group.add_argument(
        "--lease-wait",
        type=float,
        metavar="SECONDS",
        help="give up (exit 1) when another attempt holds the shard's lease this long "
        "(default: wait until it is free)",
    )
    group.add_argument(
        "--no-lease",
        action="store_true",
        help="do not take the shard's lease (two attempts of one shard may then overlap)",
    )
    group.add_argument(
        "--lease-store",
        choices=LEASE_STORES,
        help="where the lease lives: file (lock files on this machine) or kubernetes "
        "(a Lease object in the cluster, the kubernetes extra) (default: $CANVAS_LEASE_STORE, "
        "else file)",
    )
    group.add_argument(
        "--lease-namespace",
        metavar="NS",
        help="the Kubernetes Lease's namespace (default: $CANVAS_LEASE_NAMESPACE, else the "
        "pod's, else the kubeconfig context's)",
    )
    group.add_argument(
        "--lease-duration",
        type=float,
        metavar="SECONDS",
        help="a Kubernetes Lease lasts this long without a renewal; this run stops sending "
        "a third of it earlier (default: 30)",
    )


def _temporal_commands(commands: _Commands) -> None:
    """Add ``temporal worker`` and ``temporal apply`` (the temporal extra; none imported here)."""
    text = "converge files on Temporal, one activity per shard (the temporal extra)"
    top = _command(commands, "temporal", f"{_TEMPORAL}:worker", text, connects=False, json=False)
    actions = top.add_subparsers(title="temporal commands", metavar="ACTION", required=True)
    run = _temporal_command(actions, "worker", "run a worker: converge shards as activities")
    run.add_argument(
        "--max-concurrent-activities",
        type=positive,
        default=8,
        metavar="N",
        help="shards this worker converges at once",
    )
    start = _temporal_command(actions, "apply", "converge a file: one activity per shard")
    start.add_argument("file", help="the file, as every worker reads it: a path or http(s) URL")
    start.add_argument("--shards", type=positive, required=True, metavar="N", help="activities")
    start.add_argument(
        "--schedule",
        metavar="CRON",
        help='converge daily instead: a Temporal Schedule on a five-field cron, e.g. "30 2 * * *"',
    )
    start.add_argument("--replace", action="store_true", help="as apply --replace")
    start.add_argument("--prune", action="store_true", help="as apply --prune")
    start.add_argument(
        "--heartbeat-timeout",
        type=seconds,
        default=60.0,
        metavar="SECONDS",
        help="presume a shard's attempt lost after this long without a heartbeat (at least 5)",
    )
    start.add_argument(
        "--shard-deadline",
        type=seconds,
        default=6 * 3600.0,
        metavar="SECONDS",
        help="retry a shard, as often as it takes, for this long before failing",
    )
    start.add_argument(
        "--no-wait",
        action="store_true",
        help="return once a worker has started (or joined) the convergence",
    )


def _temporal_command(actions: _Commands, name: str, text: str) -> argparse.ArgumentParser:
    sub = _command(actions, name, f"{_TEMPORAL}:{name}", text, connects=False)
    sub.add_argument("--task-queue", default="canvas-async", help="Temporal's task queue")
    sub.add_argument(
        "--address", help="Temporal's host:port (default: $TEMPORAL_ADDRESS, else localhost:7233)"
    )
    sub.add_argument("--namespace", help="(default: $TEMPORAL_NAMESPACE, else default)")
    return sub
