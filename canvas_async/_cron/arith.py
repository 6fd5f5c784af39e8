"""Fire-time arithmetic on wall-clock fields, over the bit masks of a :class:`Spec`.

The search jumps: a year, month or day that cannot fire is passed over whole,
and within a day each of hour, minute and second is the next set bit of its
mask, so one fire time costs a handful of integer operations however sparse
the schedule. Time zones are not this module's business: it answers in
wall-clock fields, and :mod:`canvas_async.schedule` maps them to instants.
"""

from __future__ import annotations

import calendar

from . import fields

#: ``(year, month, day, hour, minute, second)`` on the wall clock.
WallTime = tuple[int, int, int, int, int, int]

_SATURDAY = 5  # date.weekday() numbering: Monday = 0 ... Sunday = 6
_SUNDAY = 6


def _nearest_weekday(day: int, first_weekday: int, days_in_month: int) -> int:
    """Return the weekday nearest ``day`` that stays in the month (Quartz ``W``).

    A Saturday moves to Friday, or to Monday the 3rd when it is the 1st; a
    Sunday moves to Monday, or to Friday when it is the month's last day.
    """
    weekday = (first_weekday + day - 1) % 7
    if weekday == _SATURDAY:
        return day - 1 if day > 1 else day + 2
    if weekday == _SUNDAY:
        return day + 1 if day < days_in_month else day - 2
    return day


def day_mask(rule: fields.DayRule, year: int, month: int) -> int:
    """Return the days of ``year``-``month`` that ``rule`` fires on, as bits 1-31."""
    first_weekday, days_in_month = calendar.monthrange(year, month)
    month_days = (1 << (days_in_month + 1)) - 2
    # Quartz day-of-week (1 = SUN ... 7 = SAT) of the 1st of the month.
    first = (first_weekday + 1) % 7 + 1
    if isinstance(rule, fields.DaysOfMonth):
        return rule.mask & month_days
    if isinstance(rule, fields.DaysOfWeek):
        mask = 0
        for weekday in range(1, 8):
            if rule.mask >> weekday & 1:
                for day in range(1 + (weekday - first) % 7, days_in_month + 1, 7):
                    mask |= 1 << day
        return mask
    if isinstance(rule, fields.LastDayOfMonth):
        day = days_in_month - rule.offset
        if day < 1:
            return 0  # e.g. L-30 in February: no such day, no fire
        if rule.weekday:
            day = _nearest_weekday(day, first_weekday, days_in_month)
        return 1 << day
    if isinstance(rule, fields.NearestWeekday):
        if rule.day > days_in_month:
            return 0  # e.g. 31W in April, as plain 31 does not fire in April
        return 1 << _nearest_weekday(rule.day, first_weekday, days_in_month)
    if isinstance(rule, fields.LastWeekdayOfMonth):
        day = 1 + (rule.weekday - first) % 7
        return 1 << (day + 7 * ((days_in_month - day) // 7))
    # NthWeekdayOfMonth
    day = 1 + (rule.weekday - first) % 7 + 7 * (rule.nth - 1)
    return 1 << day if day <= days_in_month else 0


def _next_bit(mask: int, start: int) -> int:
    """Return the lowest set bit of ``mask`` at or above ``start``, or -1."""
    rest = mask >> start
    if not rest:
        return -1
    return start + (rest & -rest).bit_length() - 1


class Engine:
    """Find the wall-clock times a :class:`Spec` fires at.

    Keeps a cache of each month's matching days, so it is stateful and not
    shared across threads without care (the cache only ever grows by idempotent
    writes, which CPython's dict makes safe).
    """

    __slots__ = (
        "_days",
        "_first_minute",
        "_first_second",
        "_rule",
        "hours",
        "minutes",
        "months",
        "seconds",
        "years",
    )

    def __init__(self, spec: fields.Spec) -> None:
        self.seconds = spec.seconds
        self.minutes = spec.minutes
        self.hours = spec.hours
        self.months = spec.months
        self.years = spec.years
        self._rule = spec.days
        self._days: dict[int, int] = {}
        self._first_second = _next_bit(spec.seconds, 0)
        self._first_minute = _next_bit(spec.minutes, 0)

    def days(self, year: int, month: int) -> int:
        """Return the days of ``year``-``month`` that fire, as bits 1-31."""
        key = year * 16 + month
        mask = self._days.get(key)
        if mask is None:
            mask = self._days[key] = day_mask(self._rule, year, month)
        return mask

    def matches(self, when: WallTime) -> bool:
        """Tell whether the schedule fires at the wall-clock time ``when``."""
        year, month, day, hour, minute, second = when
        return bool(
            fields.YEAR.low <= year <= fields.YEAR.high
            and self.years >> (year - fields.YEAR.low) & 1
            and self.months >> month & 1
            and self.hours >> hour & 1
            and self.minutes >> minute & 1
            and self.seconds >> second & 1
            and self.days(year, month) >> day & 1
        )

    def next_after(self, match: WallTime) -> WallTime | None:
        """Return the first wall-clock time after ``match``, itself a time that fires.

        The fast path of a run of fire times: since ``match``'s day fires, the
        next time is often later in the same day, found without looking at the
        calendar again.
        """
        year, month, day, hour, minute, second = match
        rest = self.seconds >> (second + 1)
        if rest:
            return year, month, day, hour, minute, second + (rest & -rest).bit_length()
        rest = self.minutes >> (minute + 1)
        if rest:
            return year, month, day, hour, minute + (rest & -rest).bit_length(), self._first_second
        rest = self.hours >> (hour + 1)
        if rest:
            hour += (rest & -rest).bit_length()
            return year, month, day, hour, self._first_minute, self._first_second
        return self.next_match((year, month, day + 1, 0, 0, 0))

    def next_match(self, start: WallTime) -> WallTime | None:
        """Return the first wall-clock time at or after ``start`` that fires.

        ``start`` may overflow its fields (second 60, minute 60, hour 24, day
        32, month 13): the search carries into the next larger field. Returns
        None when nothing fires up to the end of :data:`YEAR`'s range.
        """
        year, month, day, hour, minute, second = start
        if year < fields.YEAR.low:
            year, month, day, hour, minute, second = fields.YEAR.low, 1, 1, 0, 0, 0
        while True:
            found = _next_bit(self.years, year - fields.YEAR.low)
            if found < 0:
                return None
            if found + fields.YEAR.low != year:
                year, month, day, hour, minute, second = found + fields.YEAR.low, 1, 1, 0, 0, 0
            found = _next_bit(self.months, month)
            if found < 0:
                year, month, day, hour, minute, second = year + 1, 1, 1, 0, 0, 0
                continue
            if found != month:
                month, day, hour, minute, second = found, 1, 0, 0, 0
            found = _next_bit(self.days(year, month), day)
            if found < 0:
                month, day, hour, minute, second = month + 1, 1, 0, 0, 0
                continue
            if found != day:
                day, hour, minute, second = found, 0, 0, 0
            time = self._time_of_day(hour, minute, second)
            if time is None:
                day, hour, minute, second = day + 1, 0, 0, 0
                continue
            return year, month, day, *time

    def _time_of_day(self, hour: int, minute: int, second: int) -> tuple[int, int, int] | None:
        """Return the first time of day at or after ``hour:minute:second`` that fires."""
        found = _next_bit(self.hours, hour)
        if found < 0:
            return None
        if found != hour:
            return found, self._first_minute, self._first_second
        found = _next_bit(self.minutes, minute)
        if found == minute:
            found = _next_bit(self.seconds, second)
            if found >= 0:
                return hour, minute, found
            found = _next_bit(self.minutes, minute + 1)
        if found >= 0:
            return hour, found, self._first_second
        found = _next_bit(self.hours, hour + 1)
        if found < 0:
            return None
        return found, self._first_minute, self._first_second
