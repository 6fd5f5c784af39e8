"""Fault injection: make the emulator slow, failing, flaky or strict about rates.

Add a fault with :meth:`Faults.add`, scoped to some operations (route keys of
``canvas_async._routes.ROUTES``) or to all, for the next ``times`` calls, for a
``fraction`` of calls, or for good::

    emu.faults.add(ErrorStatus(503), times=2, operations={"list_workflows"})
    emu.faults.add(DropConnection(after_effect=True), operations={"create_workflow"}, times=1)
    emu.faults.add(Latency(0.05), fraction=0.5)
    emu.faults.add(RateLimit(per_second=20))
    emu.faults.add(RandomFaults(), fraction=0.1)   # 10% of all requests, of random kinds
    emu.faults.add(ErrorStatus(403), accounts={account_id}, operations=WRITES)
    emu.faults.clear()

A request meets the faults in this order: rate limits, then latency (every
matching latency fault adds its delay), then the first matching fault that
answers *before* the operation (an error status, an envelope, a dropped
connection), then the operation, then the first matching fault that strikes
*after* it (only when the operation took effect). A :class:`RandomFaults`
picks its kind when it fires, before the operation; a kind that strikes after
the effect then strikes after it. Fractions and kinds draw from one
``random.Random(seed)``, so a run is repeatable for a given seed and request
order. Faults act before authentication, as a proxy or load balancer would.
Each fault's ``label`` names it in the request log.
"""

from __future__ import annotations

import asyncio
import collections
import math
import random
import uuid
from collections.abc import Iterable
from typing import ClassVar, Final

import attrs

from canvas_async._routes import ROUTES

_BEFORE_ONLY_STATUSES: Final = frozenset({429, 503})
_WINDOW_SECONDS: Final = 1.0


@attrs.frozen
class Latency:
    """Delay the answer by ``seconds`` before anything else happens."""

    seconds: float = attrs.field(validator=attrs.validators.ge(0))

    label: ClassVar[str] = "latency"

    async def wait(self) -> None:
        """Delay the request."""
        await asyncio.sleep(self.seconds)


@attrs.define(eq=False)
class Hold:
    """Hold every matching request until :meth:`release`: lets a test make clients overlap.

    For instance, hold ``create_workflow`` while two runs read, so that both
    decide before either writes; :attr:`waiting` counts the requests held now.
    """

    waiting: int = attrs.field(default=0, init=False)
    _released: asyncio.Event = attrs.field(factory=asyncio.Event, init=False, repr=False)

    label: ClassVar[str] = "hold"

    def release(self) -> None:
        """Let every held request (and every later one) through."""
        self._released.set()

    async def wait(self) -> None:
        """Hold the request until released."""
        self.waiting += 1
        try:
            await self._released.wait()
        finally:
            self.waiting -= 1


@attrs.frozen
class ErrorStatus:
    """Answer with an HTTP error status instead of (or after) the operation.

    Args:
        status: The status, e.g. 429, 500, 502 or 503.
        retry_after: Seconds for the ``Retry-After`` header, sent with 429
            and 503; ``None`` sends none.
        after_effect: Run the operation first, then answer the error anyway.
            Not allowed for 429 and 503, which say the request was not served.
        message: The answer's text instead of the status's phrase (a
            hostile server's, say: terminal escapes, a megabyte of text).
        echo: Quote the request's headers and body in the text, as careless
            servers do in their error messages.
    """

    status: int
    retry_after: int | None = 1
    after_effect: bool = False
    message: str | None = None
    echo: bool = False

    def __attrs_post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if self.retry_after is not None and self.retry_after < 0:
            raise ValueError("retry_after must not be negative")
        if self.after_effect and self.status in _BEFORE_ONLY_STATUSES:
            raise ValueError(f"a {self.status} answer comes before the operation takes effect")

    @property
    def label(self) -> str:
        return f"status {self.status}{' after effect' if self.after_effect else ''}"


@attrs.frozen
class Drip:
    """Run the operation, then send its answer a few bytes at a time, ``seconds`` apart.

    A server that drips never goes silent for long, so only a limit on the
    whole request (or a deadline) ends the wait.
    """

    seconds: float = attrs.field(validator=attrs.validators.gt(0))
    chunk: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    #: The operation takes effect first (see :meth:`Faults.strike`).
    after_effect: bool = attrs.field(default=True, init=False)

    label: ClassVar[str] = "drip"


@attrs.frozen
class RawAnswer:
    """Answer ``body`` as it is, instead of the operation (e.g. JSON nested 100,000 deep)."""

    body: str
    status: int = 200
    content_type: str = "application/json"

    @property
    def label(self) -> str:
        return f"raw answer {self.status}"


@attrs.frozen
class ErrorEnvelope:
    """Answer ``{"State": state, "Msg": message}`` with HTTP ``http_status`` (200 by default)."""

    state: int = 500
    message: str = "Injected error"
    http_status: int = 200

    @property
    def label(self) -> str:
        return f"envelope {self.state}"


@attrs.frozen
class DropConnection:
    """Close the connection without an answer.

    Args:
        after_effect: Run the operation first, so its change is stored but the
            client never hears of it (tests duplicate side effects).
        reset: Abort with a TCP reset (the client sees "connection reset");
            otherwise close cleanly (the client sees "server disconnected").
    """

    after_effect: bool = False
    reset: bool = True

    @property
    def label(self) -> str:
        return f"drop {'after' if self.after_effect else 'before'} effect"


@attrs.frozen
class RateLimit:
    """Serve at most ``per_second`` requests in any one-second window; refuse the
    rest with 429 and ``Retry-After`` (whole seconds until the window frees up)."""

    per_second: int

    def __attrs_post_init__(self) -> None:
        if self.per_second < 1:
            raise ValueError("per_second must be at least 1")

    label: ClassVar[str] = "rate limit"


_Kinds = tuple[ErrorStatus | DropConnection, ...]

#: What a real server and the network do now and then: what :class:`RandomFaults`
#: picks from by default. 429 and 503 ask to come back at once (``Retry-After: 0``).
TRANSIENT_FAULTS: Final[_Kinds] = (
    ErrorStatus(500, retry_after=None),
    ErrorStatus(500, retry_after=None, after_effect=True),
    ErrorStatus(502, retry_after=None),
    ErrorStatus(503, retry_after=0),
    ErrorStatus(504, retry_after=None),
    ErrorStatus(429, retry_after=0),
    DropConnection(),
    DropConnection(after_effect=True),
)

#: The operations that change state, for faults that refuse writes only.
WRITES: Final = frozenset(key for key, route in ROUTES.items() if route.method == "POST") | {
    "delete_workflow"
}


def _kinds(value: Iterable[ErrorStatus | DropConnection]) -> _Kinds:
    kinds = tuple(value)
    if not kinds or not all(isinstance(k, ErrorStatus | DropConnection) for k in kinds):
        raise ValueError("kinds must be ErrorStatus and DropConnection faults, at least one")
    return kinds


@attrs.frozen
class RandomFaults:
    """Fail with a fault of a kind drawn at random, each time it fires.

    Add it with a ``fraction`` to fail that share of all requests, as a
    flaky server and network would: ``faults.add(RandomFaults(), fraction=0.1)``.

    Args:
        kinds: What to pick from, uniformly; :data:`TRANSIENT_FAULTS` by default.
    """

    kinds: _Kinds = attrs.field(default=TRANSIENT_FAULTS, converter=_kinds)

    label: ClassVar[str] = "random"  # the kind picked is logged instead


Fault = (
    Latency
    | Hold
    | ErrorStatus
    | ErrorEnvelope
    | RawAnswer
    | Drip
    | DropConnection
    | RateLimit
    | RandomFaults
)
"""Any fault :meth:`Faults.add` accepts."""


@attrs.define(eq=False)
class FaultRule:
    """A fault added to the emulator, with what is left of it.

    Attributes:
        fault: What happens.
        operations: Route keys it applies to; ``None`` for all.
        remaining: Calls it still fires for; ``None`` for no limit.
        fraction: Share of matching calls it fires for; ``None`` for all.
        accounts: ``ManagedAccountId`` values (lower-case text) it applies to;
            ``None`` for any request.
        fired: How often it fired so far.
    """

    fault: Fault
    operations: frozenset[str] | None
    remaining: int | None
    fraction: float | None
    accounts: frozenset[str] | None = None
    fired: int = 0
    window: collections.deque[float] = attrs.field(
        factory=collections.deque, repr=False, init=False
    )
    """Arrival times admitted within the last second (rate limits only)."""

    def applies_to(self, operation: str, account: str | None = None) -> bool:
        """Whether the rule is still active for ``operation`` sent for ``account``."""
        return (
            (self.operations is None or operation in self.operations)
            and (self.remaining is None or self.remaining > 0)
            and (self.accounts is None or (account or "").strip().lower() in self.accounts)
        )


@attrs.define
class Faults:
    """The faults configured on one emulator (``emu.faults``)."""

    rng: random.Random = attrs.field(factory=lambda: random.Random(0), repr=False)
    rules: list[FaultRule] = attrs.field(factory=list)

    def add(
        self,
        fault: Fault,
        *,
        operations: Iterable[str] | None = None,
        times: int | None = None,
        fraction: float | None = None,
        accounts: Iterable[uuid.UUID | str] | None = None,
    ) -> FaultRule:
        """Add a fault; return its rule (to read ``fired`` or to :meth:`remove` it).

        Args:
            fault: What should happen.
            operations: Route keys it applies to (e.g. ``"create_workflow"``);
                all operations when omitted.
            times: Fire for the next ``times`` matching calls only.
            fraction: Fire for this share (0 < fraction <= 1) of matching
                calls, drawn from the emulator's seeded random generator.
            accounts: Only for requests sent for these accounts
                (``ManagedAccountId``); any request when omitted.
        """
        if isinstance(operations, str):
            raise TypeError("operations takes a collection of route keys, e.g. {'list_workflows'}")
        names = None if operations is None else frozenset(operations)
        if names is not None:
            unknown = sorted(names - ROUTES.keys())
            if unknown or not names:
                raise ValueError(f"unknown operations {unknown}; use keys of ROUTES")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        if fraction is not None and not 0 < fraction <= 1:
            raise ValueError("fraction must be in (0, 1]")
        if isinstance(fault, RateLimit) and (times is not None or fraction is not None):
            raise ValueError("a rate limit takes neither times nor fraction")
        scope = None if accounts is None else frozenset(str(a).lower() for a in accounts)
        rule = FaultRule(fault, names, times, fraction, scope)
        self.rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Remove one fault."""
        self.rules.remove(rule)

    def clear(self) -> None:
        """Remove every fault."""
        self.rules.clear()

    # -- used by the application, in this order --------------------------------

    def throttle(self, operation: str, now: float) -> tuple[RateLimit, int] | None:
        """Apply the rate limits at monotonic time ``now``.

        Returns:
            ``None`` if the request may pass (it then counts against every
            matching limit), else the limit that refuses it and the seconds
            for ``Retry-After``.
        """
        limits = [
            (rule, rule.fault)
            for rule in self.rules
            if isinstance(rule.fault, RateLimit) and rule.applies_to(operation)
        ]
        for rule, limit in limits:
            window = rule.window
            while window and window[0] <= now - _WINDOW_SECONDS:
                window.popleft()
            if len(window) >= limit.per_second:
                rule.fired += 1
                return limit, max(1, math.ceil(window[0] + _WINDOW_SECONDS - now))
        for rule, _ in limits:
            rule.window.append(now)
        return None

    def latencies(self, operation: str, account: str | None = None) -> list[Latency | Hold]:
        """Return the latency and hold faults that fire for this call."""
        return [
            rule.fault
            for rule in self.rules
            if isinstance(rule.fault, Latency | Hold)
            and rule.applies_to(operation, account)
            and self._draw(rule)
        ]

    def strike(
        self, operation: str, *, after_effect: bool, account: str | None = None
    ) -> Fault | None:
        """Return the first answering fault that fires for this call, if any.

        A :class:`RandomFaults` fires only when looking before the effect,
        and returns the kind it picked, which may strike after the effect:
        the caller then applies it after the operation.

        Args:
            operation: The route key.
            after_effect: Look for faults that strike after the operation
                took effect, rather than instead of it.
            account: The request's ``ManagedAccountId``, if any.
        """
        for rule in self.rules:
            fault = rule.fault
            if isinstance(fault, Latency | Hold | RateLimit) or not rule.applies_to(
                operation, account
            ):
                continue
            if isinstance(fault, RandomFaults):
                if not after_effect and self._draw(rule):
                    return self.rng.choice(fault.kinds)
                continue
            if getattr(fault, "after_effect", False) == after_effect and self._draw(rule):
                return fault
        return None

    def _draw(self, rule: FaultRule) -> bool:
        """Decide whether an applicable rule fires now; count it if it does."""
        if rule.fraction is not None and self.rng.random() >= rule.fraction:
            return False
        rule.fired += 1
        if rule.remaining is not None:
            rule.remaining -= 1
        return True
