"""CanvasEmulator: a Canvas API server in your test's event loop."""

from __future__ import annotations

import collections
import random
import secrets
import uuid
import warnings
from datetime import timedelta
from types import TracebackType
from typing import Literal, Self

from aiohttp import web

from ._app import API_PREFIX, build_app
from ._dialect import Dialect
from ._faults import Faults
from ._handlers import Emulation
from ._records import RequestRecord
from ._runs import TimedRuns
from ._seed import SeedName, seed_state
from ._state import EmulatorState
from ._time import Clock, SystemClock
from ._tokens import Lifetime, TokenStore, lifetime

AuthMode = Literal["keys", "token"]
"""``"keys"``: every call carries the key headers (seed 001). ``"token"``: the
keys are exchanged at Authenticate for a bearer token (seed 000)."""


class CanvasEmulator:
    """An in-process Canvas API with in-memory state, fault injection and a request log.

    Use it as an async context manager; it listens on ``host`` at a free port
    and serves the API under :attr:`url`::

        async with CanvasEmulator(auth="token") as emu:
            keys = {"consumer": emu.consumer, "secret_key": emu.secret_key}
            async with Canvas(env=emu.url, **keys) as canvas:
                ...
            assert emu.state.tokens.refreshes == 0

    Args:
        auth: ``"keys"`` or ``"token"`` (see :data:`AuthMode`).
        seed: ``"samples"`` (the documented sample data) or ``"empty"`` (only the
            caller's account, the application catalog and the templates).
        synthetic_accounts: Add this many generated managed accounts, each able
            to register applications and create workflows from the templates.
        random_seed: Seeds the synthetic accounts and the fault fractions, so
            a run is repeatable.
        clock: Where "now" comes from (timestamps, token expiry); pass a
            :class:`ManualClock` to move time in tests.
        access_token_lifetime: How long an access token is valid (token mode):
            a ``timedelta`` or seconds, e.g. ``4`` to see renewals within a
            test. Expiry goes by ``clock``; a token past it gets 401.
        refresh_token_lifetime: How long a refresh token is valid (token
            mode), likewise; past it, RefreshAccessToken answers "not found".
        host: The address to listen on (loopback by default).
        port: The port; 0 picks a free one.
        log_limit: Keep only the newest ``log_limit`` requests in the request
            log (for long runs); all of them by default.
        run_block_seconds: How long each block of a workflow run takes: while
            a run goes on, the workflow's ``status`` is ``"Running"`` and its
            ``currentBlock`` moves on; at the end it is ``"Ready"`` again and
            ``dateLastRun`` is stamped. 0 (the default): a run is done at once.
        dialect: Which documented answer each operation gives where the
            vendor's pages disagree, and any drift of the catalogue (see
            :class:`Dialect`); the pages' own examples by default.
        finish_abandoned: Serve a request to the end when its client hangs up
            before the answer (a timeout, a cancelled task), as a real server
            does: a write then takes effect unanswered (``took_effect`` and
            ``hung_up`` in the log). ``False`` stops the request at the
            hang-up instead, so one still delayed by :class:`Latency` takes
            no effect.

    Attributes:
        consumer: The ``Consumer`` key the emulator accepts (random per instance).
        secret_key: The ``SecretKey`` it accepts (random per instance).
        state: Everything the emulator holds; inspect or arrange it.
        faults: Faults to inject (see :class:`Faults`).
        clock: The clock in use.
        dialect: The answers given where the pages disagree.
        finish_abandoned: Whether a request whose client hung up is served to the end.
    """

    def __init__(
        self,
        *,
        auth: AuthMode = "keys",
        seed: SeedName = "samples",
        synthetic_accounts: int = 0,
        random_seed: int = 0,
        clock: Clock | None = None,
        access_token_lifetime: Lifetime = timedelta(minutes=10),
        refresh_token_lifetime: Lifetime = timedelta(days=1),
        host: str = "127.0.0.1",
        port: int = 0,
        log_limit: int | None = None,
        run_block_seconds: float = 0.0,
        dialect: Dialect | None = None,
        finish_abandoned: bool = True,
    ) -> None:
        if auth not in ("keys", "token"):
            raise ValueError(f"auth must be 'keys' or 'token', not {auth!r}")
        if seed not in ("samples", "empty"):
            raise ValueError(f"seed must be 'samples' or 'empty', not {seed!r}")
        if synthetic_accounts < 0:
            raise ValueError("synthetic_accounts must not be negative")
        if log_limit is not None and log_limit < 0:
            raise ValueError("log_limit must not be negative")
        if run_block_seconds < 0:
            raise ValueError("run_block_seconds must not be negative")
        access = lifetime(access_token_lifetime, "access_token_lifetime")
        refresh = lifetime(refresh_token_lifetime, "refresh_token_lifetime")
        if dialect is not None and not isinstance(dialect, Dialect):
            raise TypeError(f"dialect must be a Dialect, not {type(dialect).__name__}")
        self.auth = auth
        self.clock = SystemClock() if clock is None else clock
        self.state = EmulatorState(
            self.clock,
            TokenStore(self.clock, access, refresh),
            requests=collections.deque(maxlen=log_limit),
            timed_runs=TimedRuns(run_block_seconds),
        )
        rng = random.Random(random_seed)
        seed_state(self.state, seed, synthetic=synthetic_accounts, rng=rng)
        self.faults = Faults(rng)
        self.host = host
        self.dialect = Dialect() if dialect is None else dialect
        self.finish_abandoned = finish_abandoned
        # The keys' formats follow the documentation's examples.
        self.consumer = secrets.token_hex(32).upper()
        self.secret_key = str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))
        self._port = port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:43121/api``; set once started."""
        if self._url is None:
            raise RuntimeError("the emulator is not running; use 'async with' or start()")
        return self._url

    @property
    def log(self) -> list[RequestRecord]:
        """The requests received so far, oldest first (a copy of ``state.requests``)."""
        return list(self.state.requests)

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (token mode)."""
        self.state.tokens.expire_access_tokens()

    async def start(self) -> None:
        """Start listening; :attr:`url` is set when this returns."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        emulation = Emulation(
            self.state,
            self.faults,
            token_mode=self.auth == "token",
            consumer=self.consumer,
            secret_key=self.secret_key,
            dialect=self.dialect,
        )
        # In-flight requests get a second to finish when the emulator closes.
        runner = web.AppRunner(
            build_app(emulation),
            access_log=None,
            shutdown_timeout=1.0,
            handler_cancellation=not self.finish_abandoned,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        host, port = runner.addresses[0][:2]
        origin = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        self.state.tokens.issuer = origin
        self._runner = runner
        self._url = origin + API_PREFIX

    async def close(self) -> None:
        """Stop listening and drop open connections; safe to call twice."""
        runner, self._runner = self._runner, None
        self.state.timed_runs.cancel()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        where = self._url if self._runner is not None else "not running"
        return f"<CanvasEmulator auth={self.auth!r} {where}>"

    def __del__(self) -> None:
        if getattr(self, "_runner", None) is not None:
            warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self, stacklevel=1)
