"""Quartz cron schedules: parse, check, and compute fire times.

Canvas schedules workflows with **Quartz** cron expressions (spec:
"Schedules"), not Unix cron::

    second minute hour day-of-month month day-of-week [year]

    0 0/5 * ? * * *       every 5 minutes
    0 0 2,6 ? * TUE *     at 02:00 and 06:00 on Tuesday
    0 0 12 ? * 2#1        at 12:00 on the first Monday of the month

The differences that catch people out: seconds come first; day-of-week runs
1 = SUN ... 7 = SAT (Unix: 0 = SUN); exactly one of day-of-month and
day-of-week must be ``?``. :meth:`Cron.parse` refuses whatever Quartz refuses
with a :class:`CronError` naming the field and the reason, so a wrong schedule
cannot be sent; :meth:`Cron.from_unix` converts a Unix expression.

The full grammar, per field: ``*``; a value; a range ``a-b`` (ranges wrap past
the field's end as in Quartz: ``FRI-MON``, ``22-2``); an increment ``a/k``,
``a-b/k``, ``*/k`` or ``/k``; a comma-separated list of those; names
``JAN``-``DEC`` and ``SUN``-``SAT``; and in the day fields ``?`` (no specific
value), ``L`` (last day of the month; in day-of-week alone, Saturday), ``L-n``
(n days before the last), ``LW`` (last weekday), ``nW`` (the weekday nearest
day n, never crossing into another month: ``1W`` on a Saturday is Monday the
3rd), ``nL`` (the last weekday n of the month, e.g. ``6L`` = last Friday) and
``n#k`` (the k-th weekday n, e.g. ``2#1`` = first Monday). Years run from 1970
to 2099. A few forms Quartz parses but then misreads are refused as well (``W``,
``nL`` or ``n#k`` inside a list, ``MONDAY`` for ``MON``), and so is an
expression that can never fire, such as ``0 0 0 30 2 ?``.

``str(cron)`` is the canonical form, the text the SDK sends: seven fields,
upper case, written from what fires, so equal schedules read the same
(``*/5`` and ``0-59/5`` are ``0/5``; ``3`` in day-of-week is ``TUE``; every
day is ``? *``). Two :class:`Cron` are equal when their canonical forms are.

Time zones: fire times are wall-clock times in the zone given (UTC unless
told otherwise; a :class:`zoneinfo.ZoneInfo`, or any ``tzinfo`` that honours
``fold``). On a daylight-saving change, a wall-clock time that does not exist
(02:30 on a spring-forward day in Europe/Oslo) is skipped, not moved; one that
happens twice (02:30 on a fall-back day) fires once, at its first occurrence.
So an hourly schedule has one run fewer on the spring-forward day, and one
every two hours across the repeated hour of the fall-back day.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timezone, tzinfo
from typing import Final

import attrs

from ._cron.arith import Engine
from ._cron.describe import describe
from ._cron.fields import YEAR, CronError, Spec
from ._cron.parse import parse
from ._cron.render import render
from ._cron.unix import quartz_from_unix
from ._errors import ValidationError

__all__ = ["Cron", "CronError"]

# Outside these bounds no wall clock in any zone is within Quartz's years, and
# converting to a zone could overflow datetime's range.
_START: Final = datetime(YEAR.low - 1, 12, 30, tzinfo=UTC)
_END: Final = datetime(YEAR.high + 1, 1, 2, tzinfo=UTC)


@attrs.frozen(init=False, repr=False)
class Cron:
    """A valid Quartz cron expression.

    Build one with :meth:`parse` (or ``Cron(text)``, the same) or
    :meth:`from_unix`. Frozen and hashable; equal when the canonical forms are.

    Example::

        >>> cron = Cron.parse("0 0 2,6 ? * TUE *")
        >>> cron.describe()
        'at 02:00 and 06:00 on Tuesday'
        >>> cron.next_fire_time(datetime(2022, 4, 26, 6, 0, 28, tzinfo=UTC))
        datetime.datetime(2022, 5, 3, 2, 0, tzinfo=datetime.timezone.utc)
    """

    _expression: str
    _spec: Spec = attrs.field(eq=False)
    _engine: Engine = attrs.field(eq=False)

    def __init__(self, expression: str) -> None:
        """Parse ``expression``; see :meth:`parse`."""
        spec = parse(expression)
        self.__attrs_init__(render(spec), spec, Engine(spec))

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse a Quartz expression of 6 or 7 fields.

        Raises:
            CronError: ``text`` is not an expression Quartz accepts, or it can
                never fire; the error names the field and the reason.
        """
        return cls(text)

    @classmethod
    def from_unix(cls, text: str) -> Cron:
        """Convert a 5-field Unix cron expression (``*/5 * * * *``, ``0 2 * * 1-5``).

        Seconds become 0, day-of-week numbers move to Quartz's 1 = SUN, and the
        unused day field becomes ``?``. The ``@hourly``, ``@daily``,
        ``@midnight``, ``@weekly``, ``@monthly``, ``@yearly`` and
        ``@annually`` shorthands are understood.

        Raises:
            CronError: ``text`` is not valid Unix cron, or it restricts both day
                fields, which Unix reads as "either" and Quartz cannot express.
        """
        return cls(quartz_from_unix(text))

    def __str__(self) -> str:
        return self._expression

    def __repr__(self) -> str:
        return f"Cron({self._expression!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (Cron, (self._expression,))

    def describe(self) -> str:
        """Return a one-line English description, e.g. ``every 5 minutes``."""
        return describe(self._spec)

    def matches(self, when: datetime) -> bool:
        """Tell whether the schedule fires at the second ``when`` falls in.

        ``when`` is read on its own zone's wall clock; sub-second digits are
        ignored (as Quartz does). Consistent with :meth:`next_fire_times`, a
        wall-clock time that does not exist in its zone never matches, and one
        that happens twice matches only at its first occurrence.

        Raises:
            ValidationError: ``when`` is naive.
        """
        _check_aware(when, "when")
        wall = (when.year, when.month, when.day, when.hour, when.minute, when.second)
        if not self._engine.matches(wall):
            return False
        zone = when.tzinfo
        if isinstance(zone, timezone):
            return True
        if when.fold and when.replace(fold=0).utcoffset() != when.utcoffset():
            return False  # the second occurrence of a repeated wall-clock time
        return _exists(when, wall)

    def next_fire_time(self, after: datetime, tz: tzinfo = UTC) -> datetime | None:
        """Return the first fire time strictly after ``after``, or None if none is left.

        Args:
            after: An aware datetime.
            tz: The zone whose wall clock the expression is read on.
        """
        return next(self._fire_times(after, tz), None)

    def next_fire_times(self, after: datetime, count: int = 1, tz: tzinfo = UTC) -> list[datetime]:
        """Return the next ``count`` fire times strictly after ``after``, in order.

        Fewer come back when the schedule ends first (its last year passes).

        Args:
            after: An aware datetime (a naive one is refused: it names no instant).
            count: How many fire times to return.
            tz: The zone whose wall clock the expression is read on; the results
                are aware datetimes in it. Daylight-saving changes: a wall-clock
                time that does not exist is skipped, and one that happens twice
                fires once, at its first occurrence.

        Raises:
            ValidationError: ``after`` is naive, or ``count`` is negative.
        """
        if isinstance(count, bool) or not isinstance(count, int):
            raise TypeError(f"count must be an int, not {type(count).__name__}")
        if count < 0:
            raise ValidationError(f"count must be at least 0, got {count}")
        return list(itertools.islice(self._fire_times(after, tz), count))

    def _fire_times(self, after: datetime, tz: tzinfo) -> Iterator[datetime]:
        """Check the arguments, then iterate over the fire times after ``after``."""
        _check_aware(after, "after")
        if not isinstance(tz, tzinfo):
            raise TypeError(f"tz must be a tzinfo, not {type(tz).__name__}")
        if after >= _END:
            return iter(())
        return self._iter_fire_times(max(after, _START), tz)

    def _iter_fire_times(self, after: datetime, tz: tzinfo) -> Iterator[datetime]:
        """Yield the fire times strictly after ``after``, wall clock in ``tz``."""
        local = after.astimezone(tz)
        # The first whole second after ``after`` (microseconds included).
        found = self._engine.next_match(
            (local.year, local.month, local.day, local.hour, local.minute, local.second + 1)
        )
        next_after = self._engine.next_after
        if isinstance(tz, timezone):  # a fixed offset: the wall clock is the timeline
            while found is not None:
                yield datetime(*found, tzinfo=tz)
                found = next_after(found)
            return
        # Wall-clock order is time order for the first occurrences of the times
        # that exist, so once one candidate is after ``after`` all later ones are;
        # before that, a candidate can be a repeated time's first occurrence that
        # ``after`` (a second occurrence) is already past.
        after_utc = after.astimezone(UTC)
        started = False
        while found is not None:
            # fold=0: a repeated wall-clock time stands for its first occurrence.
            candidate = datetime(*found, tzinfo=tz)
            exists = candidate.utcoffset() == candidate.replace(fold=1).utcoffset() or _exists(
                candidate, found
            )
            # Compare in UTC: datetimes sharing a tzinfo compare by wall clock.
            if exists and (started or candidate.astimezone(UTC) > after_utc):
                started = True
                yield candidate
            found = next_after(found)


def _exists(when: datetime, wall: tuple[int, ...]) -> bool:
    """Tell whether ``when``'s wall-clock time exists in its zone (no DST gap)."""
    back = when.astimezone(UTC).astimezone(when.tzinfo)
    return (back.year, back.month, back.day, back.hour, back.minute, back.second) == wall[:6]


def _check_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(
            f"{name} must be timezone-aware (e.g. datetime.now(UTC)); a naive datetime"
            " names no instant"
        )
