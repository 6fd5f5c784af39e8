"""What a request waits for before it is sent: a slot, the rate, the pause.

One :class:`Limits` belongs to a client and is shared by all its
``for_account`` views, so hundreds of accounts driven at once through one
client stay within one concurrency limit, one request rate, and one pause
after the server answers 429 with ``Retry-After``.

The client-side rate is aiolimiter's leaky bucket: small, typed, without
dependencies, and it wakes waiters in order from one timer instead of a
sleeping loop per task.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable

import attrs
from aiolimiter import AsyncLimiter

from ._checks import concurrency, number
from ._errors import CanvasError


class ClientPausedError(CanvasError):
    """The client is paused for longer than a call may wait.

    Internal: the transport turns it into a
    :class:`~canvas_async.RateLimitError` naming the operation.

    Attributes:
        remaining: Seconds until the pause ends.
        max_wait: The longest the call could wait.
    """

    def __init__(self, remaining: float, max_wait: float) -> None:
        super().__init__(f"the client is paused for another {remaining:.3g} s")
        self.remaining = remaining
        self.max_wait = max_wait


@attrs.define
class PauseGate:
    """Holds back every request of a client until a time the server named.

    After a 429 with ``Retry-After``, :meth:`pause` closes the gate and every
    task of the client, not only the one that was refused, waits at
    :meth:`wait` until the pause is over. So that the waiting tasks do not all
    come back in the same instant, each resumes at a random moment within
    ``spread`` seconds after the pause (at most the pause's own length).

    Args:
        clock: Monotonic seconds; the default is ``time.monotonic``, the clock
            of asyncio's event loop.
        sleep: Waits a number of seconds.
        random: Uniform numbers in ``[0, 1)``.
        max_spread: Upper bound on the random spread after a pause, seconds.
    """

    _clock: Callable[[], float] = attrs.field(default=time.monotonic, alias="clock")
    _sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, alias="sleep")
    _random: Callable[[], float] = attrs.field(default=random.random, alias="random")
    max_spread: float = 1.0
    _until: float = attrs.field(default=-math.inf, init=False)
    _spread: float = attrs.field(default=0.0, init=False)

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now.

        A pause never shortens one already in force.
        """
        until = self._clock() + seconds
        if until > self._until:
            self._until = until
            self._spread = min(seconds, self.max_spread)

    def remaining(self) -> float:
        """Return the seconds until the pause ends; 0 when open."""
        return max(0.0, self._until - self._clock())

    def is_open(self) -> bool:
        """Whether requests may be sent now."""
        return self._until <= self._clock()

    async def wait(self, max_wait: float | None = None) -> None:
        """Return once the gate is open.

        Args:
            max_wait: The longest pause to wait out, in seconds; ``None`` for
                no limit.

        Raises:
            ClientPausedError: The pause lasts longer than ``max_wait``.
        """
        while (remaining := self._until - self._clock()) > 0:
            if max_wait is not None and remaining > max_wait:
                raise ClientPausedError(remaining, max_wait)
            await self._sleep(remaining + self._random() * self._spread)


@attrs.define
class Limits:
    """The limits every request of one client passes through.

    Args:
        max_concurrency: Requests in flight at once; ``None`` for no limit. The
            client sizes its connection pool to match, so no request waits
            for a connection inside aiohttp, where the wait would count
            against its timeout.
        rate_limit: Requests sent per second, evenly spaced (no bursts, so a
            server limit of the same rate is never exceeded); ``None`` for no
            limit.
        gate: The pause after a 429, shared by every task of the client.
    """

    max_concurrency: int | None = attrs.field(default=None, validator=concurrency)
    rate_limit: float | None = attrs.field(
        default=None, validator=number(unit="requests per second", positive=True, optional=True)
    )
    gate: PauseGate = attrs.field(factory=PauseGate)
    _slots: asyncio.Semaphore | None = attrs.field(init=False, default=None)
    _rate: AsyncLimiter | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        # Neither binds to an event loop before its first use, so a client may
        # be built outside the loop that later runs it.
        if self.max_concurrency is not None:
            self._slots = asyncio.Semaphore(self.max_concurrency)
        if self.rate_limit is not None:
            # One request per 1/rate seconds: a bucket of size one.
            self._rate = AsyncLimiter(1, 1 / self.rate_limit)

    async def acquire(self, max_wait: float | None = None) -> None:
        """Take a concurrency slot, with the rate and the pause satisfied.

        Args:
            max_wait: The longest pause to wait out (see :meth:`PauseGate.wait`).

        Raises:
            ClientPausedError: The client is paused for longer than ``max_wait``
                (no slot is held then).
        """
        if self._slots is not None:
            await self._slots.acquire()
        try:
            if self._rate is None and self.gate.is_open():
                return  # no rate to keep and no pause: the slot is all it takes
            while True:
                await self.gate.wait(max_wait)
                if self._rate is not None:
                    await self._rate.acquire()
                # A 429 may have paused the client while this task waited for
                # the rate: then wait again, so nothing is sent during a pause.
                if self.gate.is_open():
                    return
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Give back the slot taken by :meth:`acquire`."""
        if self._slots is not None:
            self._slots.release()
