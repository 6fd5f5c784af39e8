"""One-line English descriptions of a :class:`Spec`.

Written from the same decomposition as the canonical text, so a description
speaks of ``every 5 minutes`` whenever the canonical form says ``0/5``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from . import fields
from .render import Part, decompose, part_texts

_NTH: Final = ("first", "second", "third", "fourth", "fifth")
#: Most times of day listed one by one ("at 02:00 and 06:00").
_MAX_TIMES: Final = 6


def describe(spec: fields.Spec) -> str:
    """Return a one-line English description of ``spec``."""
    months = decompose(spec.months, fields.MONTH)
    month_names = None if months is None else _list(months, _month)
    time = _time(spec)
    days = _days(spec.days, month_names)
    words = [time]
    if days:
        words.append(days)
    elif time.startswith("at "):
        words.append("every day")
    if month_names and not _names_month(spec.days):
        words.append(f"in {month_names}")
    years = decompose(spec.years, fields.YEAR)
    if years is not None:
        if len(years) == 1 and years[0].step != 1 and years[0].stop is None:
            words.append(f"every {_ordinal(years[0].step)} year from {years[0].start}")
        else:
            words.append(f"in {_list(years, str)}")
    return " ".join(words)


# -- time of day ----------------------------------------------------------------


def _time(spec: fields.Spec) -> str:
    seconds = decompose(spec.seconds, fields.SECOND)
    minutes = decompose(spec.minutes, fields.MINUTE)
    hours = decompose(spec.hours, fields.HOUR)
    second_values = fields.values_of(spec.seconds)
    minute_values = fields.values_of(spec.minutes)
    hour_values = fields.values_of(spec.hours)
    if (
        seconds is not None
        and minutes is not None
        and hours is not None
        and len(second_values) * len(minute_values) * len(hour_values) <= _MAX_TIMES
    ):
        return "at " + _join(
            [_clock(h, m, s) for h in hour_values for m in minute_values for s in second_values]
        )
    if len(second_values) == 1 and len(minute_values) == 1:
        return _hourly(hours, hour_values, minute_values[0], second_values[0])
    return _within_hour(seconds, minutes) + _during_hours(hours)


def _hourly(hours: list[Part] | None, hour_values: list[int], minute: int, second: int) -> str:
    """Describe a schedule firing once an hour at ``minute``:``second``."""
    if hours is None:
        if minute == second == 0:
            return "every hour"
        if second == 0:
            return f"every hour at minute {minute}"
        return f"every hour at minute {minute}, second {second}"
    if len(hours) == 1 and hours[0].stop != hours[0].start:  # a range or an increment
        part = hours[0]
        if part.stop is None and part.start == minute == second == 0:
            return f"every {part.step} hours"
        every = "every hour" if part.step == 1 else f"every {part.step} hours"
        to = "" if part.stop is None else f" to {_clock(part.stop, minute, second)}"
        return f"{every} from {_clock(part.start, minute, second)}{to}"
    return "at " + _join([_clock(h, minute, second) for h in hour_values])


def _within_hour(seconds: list[Part] | None, minutes: list[Part] | None) -> str:
    """Describe how often a schedule fires within the hours it fires in."""
    if seconds is None or _is_step(seconds):
        base = "every second" if seconds is None else _every(seconds[0], "second")
        if minutes is None:
            return base
        return f"{base} during {_units(minutes, 'minute')}"
    on_the_minute = seconds == [Part(0, 0)]
    at_seconds = "" if on_the_minute else f" at {_units(seconds, 'second')}"
    if minutes is None:
        return "every minute" + at_seconds
    if _is_step(minutes):
        return _every(minutes[0], "minute") + at_seconds
    at_minutes = f"every hour at {_units(minutes, 'minute')}"
    return at_minutes if on_the_minute else f"{at_minutes}, {_units(seconds, 'second')}"


def _during_hours(hours: list[Part] | None) -> str:
    if hours is None:
        return ""
    if len(hours) == 1:
        part = hours[0]
        if part.step == 1:
            assert part.stop is not None
            return f" between {part.start:02}:00 and {part.stop:02}:59"
        if part.stop is None:
            start = f" from {part.start:02}:00" if part.start else ""
            return f" during every {_ordinal(part.step)} hour{start}"
    return f" during {_units(hours, 'hour')}"


# -- days, months ------------------------------------------------------------------


def _days(rule: fields.DayRule, month_names: str | None) -> str:
    of_month = f"of {month_names}" if month_names else "of the month"
    if rule == fields.EVERY_DAY:
        return ""
    if isinstance(rule, fields.DaysOfMonth):
        parts = decompose(rule.mask, fields.DAY_OF_MONTH)
        assert parts is not None
        if _is_step(parts) and parts[0].stop is None:
            return f"on every {_ordinal(parts[0].step)} day {of_month} from day {parts[0].start}"
        plural = "s" if len(fields.values_of(rule.mask)) > 1 else ""
        return f"on day{plural} {_list(parts, str)} {of_month}"
    if isinstance(rule, fields.DaysOfWeek):
        parts = decompose(rule.mask, fields.DAY_OF_WEEK)
        assert parts is not None
        return f"on {_list(parts, _weekday)}"
    if isinstance(rule, fields.LastDayOfMonth):
        day = "weekday nearest the last day" if rule.weekday and rule.offset else "last day"
        if rule.weekday and not rule.offset:
            day = "last weekday"
        less = f" minus {rule.offset} day{'s' if rule.offset > 1 else ''}" if rule.offset else ""
        return f"on the {day} {of_month}{less}"
    if isinstance(rule, fields.NearestWeekday):
        return f"on the weekday nearest day {rule.day} {of_month}"
    if isinstance(rule, fields.LastWeekdayOfMonth):
        return f"on the last {_weekday(rule.weekday)} {of_month}"
    return f"on the {_NTH[rule.nth - 1]} {_weekday(rule.weekday)} {of_month}"


def _names_month(rule: fields.DayRule) -> bool:
    """Tell whether the day phrase of ``rule`` already names the months."""
    return rule != fields.EVERY_DAY and not isinstance(rule, fields.DaysOfWeek)


# -- words ------------------------------------------------------------------------


def _clock(hour: int, minute: int, second: int) -> str:
    return f"{hour:02}:{minute:02}" + (f":{second:02}" if second else "")


def _weekday(value: int) -> str:
    return fields.WEEKDAY_NAMES[value - 1]


def _month(value: int) -> str:
    return fields.MONTH_NAMES[value - 1]


def _is_step(parts: list[Part]) -> bool:
    return len(parts) == 1 and parts[0].step != 1


def _every(part: Part, unit: str) -> str:
    """``every 5 minutes``, ``every 5 minutes from minute 3 to 48``."""
    words = f"every {part.step} {unit}s"
    if part.stop is not None:
        return f"{words} from {unit} {part.start} to {part.stop}"
    return f"{words} from {unit} {part.start}" if part.start else words


def _units(parts: list[Part], unit: str) -> str:
    """``minute 5``, ``minutes 0 through 4``, ``minutes 0, 10 and 20``."""
    plural = len(parts) > 1 or parts[0].stop != parts[0].start
    return f"{unit}{'s' if plural else ''} {_list(parts, str)}"


def _list(parts: Sequence[Part], name: Callable[[int], str]) -> str:
    def increment(part: Part) -> str:
        stop = "" if part.stop is None else f" through {name(part.stop)}"
        return f"every {_ordinal(part.step)} from {name(part.start)}{stop}"

    return _join(part_texts(parts, name, through=" through ", increment=increment))


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
