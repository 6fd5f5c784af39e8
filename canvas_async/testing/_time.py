"""Clocks the emulator reads, and the server's timestamp forms.

The emulator asks its clock for "now" whenever it stamps a record or checks a
token's expiry, so a test can hand it a :class:`ManualClock` and move time
forward instead of sleeping. Request-log times and rate limits use the real
monotonic clock instead: they measure how a client behaves in real time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

import attrs

# The SDK's Quartz engine, not a second one: fire times are arithmetic, not a
# wire format, and the cron tests hold the engine against Quartz itself. The
# pure engine is imported, not the public Cron, which the SDK sends with.
from canvas_async._cron.arith import Engine
from canvas_async._cron.parse import parse


@runtime_checkable
class Clock(Protocol):
    """Tells the emulator what time it is."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


@attrs.frozen
class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("the clock needs a timezone-aware datetime")
    return moment.astimezone(UTC)


@attrs.define
class ManualClock:
    """A clock that stands still until a test moves it.

    Args:
        current: The time to start at (timezone-aware); defaults to the real
            time at construction.
    """

    current: datetime = attrs.field(factory=lambda: datetime.now(UTC), converter=_utc)

    def now(self) -> datetime:
        """Return the clock's time."""
        return self.current

    def advance(self, by: timedelta | float) -> None:
        """Move the clock forward.

        Args:
            by: A ``timedelta``, or a number of seconds.
        """
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        if step < timedelta(0):
            raise ValueError("a clock only moves forward")
        self.current += step

    def set(self, moment: datetime) -> None:
        """Jump to ``moment`` (timezone-aware)."""
        self.current = _utc(moment)


# -- the server's timestamp forms (spec: "Timestamps") ------------------------


def _seconds(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%S")


def net_timestamp(moment: datetime) -> str:
    """Format as the server stamps records: ``2022-04-19T15:56:22.1133746``.

    Seven fractional digits (.NET ticks) and no offset; the time is UTC.
    """
    return f"{_seconds(moment)}.{_utc(moment).microsecond:06d}0"


def offset_timestamp(moment: datetime) -> str:
    """Format as the server sends run times: ``2022-04-12T10:36:57.877+00:00``.

    Milliseconds without trailing zeros (none at all on a whole second, as in
    ``2022-05-03T02:00:00+00:00``), then the offset.
    """
    millis = f"{_utc(moment).microsecond // 1000:03d}".rstrip("0")
    return f"{_seconds(moment)}{'.' + millis if millis else ''}+00:00"


def token_timestamp(moment: datetime) -> str:
    """Format as token expiries: ``2022-04-27T10:33:55.1774282+00:00``."""
    return f"{net_timestamp(moment)}+00:00"


# -- schedules ----------------------------------------------------------------


def next_schedule(cron: str, after: datetime) -> datetime:
    """Return when the Quartz expression ``cron`` fires next after ``after``.

    Raises:
        ValueError: ``cron`` is not a valid Quartz expression (a
            :class:`~canvas_async.schedule.CronError` naming the problem), or
            it never fires again.
    """
    at = _utc(after)
    # The first whole second after ``after``; the wall clock is UTC's.
    found = Engine(parse(cron)).next_match(
        (at.year, at.month, at.day, at.hour, at.minute, at.second + 1)
    )
    if found is None:
        raise ValueError(f"the schedule {cron!r} never fires after {offset_timestamp(after)}")
    return datetime(*found, tzinfo=UTC)
