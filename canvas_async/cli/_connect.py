"""Open a client from the environment, from key files, or on the bundled emulator.

The auth mode comes from ``--auth``, else ``CANVAS_AUTH``, else ``auto`` (the
client asks ``/Authenticate``: ``true`` means key mode, a token object token
mode; spec: "Authentication"). When the server refuses the credentials, the
message names the mode in use and what was refused: the keys, an access
token or a refresh token.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import AsyncIterator
from typing import Final

import aiohttp
import attrs
import yarl

from canvas_async._auth import Mode
from canvas_async._client import (
    Canvas,
    organization_key,
    resolve_base_url,
)
from canvas_async._config import (
    AUTH_VAR,
    CONSUMER_VAR,
    ENV_VAR,
    SECRET_KEY_VAR,
    auth_mode_from,
    env_from_environ,
    read_key_file,
    read_key_variable,
)
from canvas_async._defaults import DEFAULT_MAX_CONCURRENCY, AuthMode
from canvas_async._errors import (
    APIError,
    AuthenticationError,
    CanvasError,
    NotFoundError,
    UnexpectedResponseError,
    ValidationError,
)
from canvas_async._timeouts import DEFAULT_TIMEOUT, Timeout
from canvas_async.cli._output import Out
from canvas_async.cli._run import UsageError
from canvas_async.cli._shards import Writes, leased
from canvas_async.testing._cli import DEMO_ACCOUNTS

# What the server's GetMetaData lists in token mode only (spec: "Authentication").
_TOKEN_OPERATIONS: Final = frozenset({"RefreshAccessToken", "DeleteToken"})
_CHECK_KEYS: Final = f"check {CONSUMER_VAR} / {SECRET_KEY_VAR} and the server ({ENV_VAR})"


@attrs.frozen
class AuthChoice:
    """The auth mode asked for, and where it was asked (for messages)."""

    mode: AuthMode
    source: str

    def describe(self, in_use: Mode | None) -> str:
        """Name the mode in use, e.g. ``token mode (detected by auto)``."""
        if in_use is None:
            return f"auto mode ({self.source}), not detected yet"
        how = "detected by auto" if self.mode == "auto" else f"from {self.source}"
        return f"{'key' if in_use == 'keys' else 'token'} mode ({how})"


def refusal(
    operation: str,
    choice: AuthChoice,
    in_use: Mode | None,
    *,
    catalogue: Mode | None = None,
) -> str:
    """Say what the server refused with 401, in which mode, and what to check.

    Args:
        operation: The refused operation's name, e.g. ``"Authenticate"``.
        choice: The mode asked for.
        in_use: The mode in use when it was refused (None: ``auto`` had not
            detected one, since ``/Authenticate`` refused the keys).
        catalogue: The mode the server's GetMetaData shows, if it was read.
    """
    mode = choice.describe(in_use)
    if operation == "Authenticate":
        return f"{mode}: the server refused the keys at Authenticate: {_CHECK_KEYS}"
    if operation in _TOKEN_OPERATIONS:
        return (
            f"{mode}: the server refused the refresh token at {operation} "
            "(the keys had been accepted): it expired, or another client revoked it"
        )
    if in_use == "token":
        return (
            f"{mode}: the server refused the access token for {operation}, also after "
            "renewing it (the keys were accepted at Authenticate): check the server "
            f"({ENV_VAR}) and that it accepts this client's address"
        )
    if catalogue == "token":
        return (
            f"{mode}: the server refused the keys for {operation}: it speaks token mode "
            "(its GetMetaData lists RefreshAccessToken and DeleteToken): "
            f"use --auth token or --auth auto (or unset {AUTH_VAR})"
        )
    return f"{mode}: the server refused the keys for {operation}: {_CHECK_KEYS}"


async def _catalogue_mode(canvas: Canvas) -> Mode | None:
    """Return the mode the server's GetMetaData shows; None if it cannot be read."""
    try:
        names = {endpoint.name for endpoint in await canvas.meta.endpoints()}
    except CanvasError:
        return None
    return "token" if names & _TOKEN_OPERATIONS else "keys"


@attrs.frozen
class Connection:
    """An open client, and whether it talks to the bundled emulator."""

    canvas: Canvas
    emulator: bool
    where: str
    auth: AuthChoice


def _key(args: argparse.Namespace, file_attr: str, var: str, what: str) -> str:
    path = getattr(args, file_attr, None)
    flag = "--" + file_attr.replace("_", "-")
    try:  # the file the flag names, else the variable or the file VAR_FILE names
        if path:
            return read_key_file(path, what, flag, stdin=True)
        value = read_key_variable(var, what)
    except ValidationError as error:
        raise UsageError(str(error)) from None
    if value is None:
        raise UsageError(
            f"no {what}: set {var} or pass {flag} "
            "(or use --emulator to try everything on the bundled emulator)"
        )
    return value


def pool_size(args: argparse.Namespace) -> int:
    """Return the client's ``max_concurrency``: ``--max-requests``, else the client's
    default raised to ``--concurrency`` (an account waiting for a request slot only
    spends its ``--account-timeout``)."""
    requests: int | None = getattr(args, "max_requests", None)
    if requests is not None:
        return requests
    return max(DEFAULT_MAX_CONCURRENCY, getattr(args, "concurrency", None) or 0)


@contextlib.asynccontextmanager
async def connect(
    args: argparse.Namespace, out: Out, *, writes: Writes | None = None
) -> AsyncIterator[Connection]:
    """Open the client the arguments ask for; close it (and any emulator) on exit.

    ``writes``, for a command that writes, is what it converges: the client
    then sends through a session that holds the organization's lease
    (:func:`~canvas_async.cli._shards.leased`, its pool :func:`pool_size`)
    unless ``--no-lease``. Closing revokes the tokens in token mode (one
    DeleteToken), whether the command succeeded, failed or was interrupted. A
    refusal (401) raises with a note that names the mode and what was refused
    (:func:`refusal`).
    """
    try:  # --auth, else CANVAS_AUTH, else auto
        choice = AuthChoice(*auth_mode_from(getattr(args, "auth", None)))
    except ValidationError as exc:
        raise UsageError(str(exc)) from None
    requests: int | None = getattr(args, "max_requests", None)
    accounts: int | None = getattr(args, "concurrency", None)
    if requests is not None and accounts is not None and accounts > requests:
        out.info(
            f"--concurrency {accounts} is above --max-requests {requests}: at most "
            f"{requests} requests are in flight, so the other accounts wait for one"
        )
    async with contextlib.AsyncExitStack() as stack:
        base_url: str | yarl.URL
        if args.emulator:
            from canvas_async.testing import CanvasEmulator  # noqa: PLC0415 - only when asked

            served: Mode = "token" if choice.mode == "token" else "keys"
            emu = await stack.enter_async_context(
                CanvasEmulator(seed="samples", synthetic_accounts=DEMO_ACCOUNTS, auth=served)
            )
            out.info(
                f"using the bundled Canvas emulator at {emu.url} "
                f"(sample data and {DEMO_ACCOUNTS} demo accounts; nothing leaves this machine)"
            )
            consumer, secret_key, env, base_url = emu.consumer, emu.secret_key, emu.url, emu.url
        else:
            consumer = _key(args, "consumer_file", CONSUMER_VAR, "consumer key")
            secret_key = _key(args, "secret_key_file", SECRET_KEY_VAR, "secret key")
            env = args.env or env_from_environ()
            try:
                base_url = resolve_base_url(env)
            except ValidationError as exc:
                given = f"--env {env}" if args.env else f"{ENV_VAR}={env}"
                raise UsageError(f"{given}: {exc}") from None
        session: aiohttp.ClientSession | None = None
        timeout: Timeout = DEFAULT_TIMEOUT
        if writes is not None and not args.no_lease:
            organization = organization_key(base_url, consumer)
            lease = leased(args, organization, writes, out, pool=pool_size(args))
            session, timeout = await stack.enter_async_context(lease)
        canvas = Canvas(
            consumer=consumer,
            secret_key=secret_key,
            env=env,
            auth=choice.mode,
            session=session,
            timeout=timeout,
            max_concurrency=pool_size(args),
        )
        where = "the bundled emulator" if args.emulator else str(canvas.base_url)
        async with canvas:
            try:
                yield Connection(canvas, bool(args.emulator), where, choice)
            except APIError as exc:
                note = await _failure_note(exc, canvas, choice)
                if note:
                    exc.add_note(note)
                raise


async def _failure_note(exc: APIError, canvas: Canvas, choice: AuthChoice) -> str | None:
    """Say what to check after ``exc``: the mode and what was refused, a missing /api."""
    if isinstance(exc, AuthenticationError):
        in_use = canvas.auth_mode
        # Keys refused after Authenticate: perhaps the server speaks token mode.
        after = in_use == "keys" and exc.operation != "Authenticate"
        catalogue = await _catalogue_mode(canvas) if after else None
        return refusal(exc.operation, choice, in_use, catalogue=catalogue)
    if (
        isinstance(exc, UnexpectedResponseError)
        and exc.operation == "Authenticate"
        and choice.mode == "token"
        and await _catalogue_mode(canvas) == "keys"
    ):
        return (
            f"token mode (from {choice.source}) was asked for, but the server "
            "speaks key mode (its GetMetaData lists no RefreshAccessToken or "
            "DeleteToken): use --auth keys or --auth auto"
        )
    if isinstance(exc, NotFoundError) and not canvas.base_url.path.rstrip("/").endswith("/api"):
        return (
            f"the server is {canvas.base_url}, whose path does not end in /api: "
            "Canvas answers under /api (e.g. https://canvas.connectmyapps.com/api); "
            "is CANVAS_ENV / --env missing it?"
        )
    return None
