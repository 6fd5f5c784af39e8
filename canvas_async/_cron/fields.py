"""The fields of a Quartz cron expression, the parsed form, and the error.

A parsed expression is a :class:`Spec`: one bit mask per plain field (bit
``v`` set when value ``v`` fires; for the year, bit ``v - 1970``) and one
:data:`DayRule` for the two day fields, of which Quartz lets only one be given.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from canvas_async._errors import ValidationError

#: Longest expression quoted in a :class:`CronError` message.
_MAX_QUOTED: Final = 80
#: Longest part of an expression quoted in a reason.
_MAX_QUOTED_PART: Final = 24


def quote(part: str) -> str:
    """Quote a piece of an expression for a message, clipped if long."""
    if len(part) > _MAX_QUOTED_PART:
        part = part[: _MAX_QUOTED_PART - 1] + "…"
    return repr(part)


class CronError(ValidationError):
    """A cron expression that Quartz would refuse, or that can never fire.

    Attributes:
        field: The field at fault (``"second"``, ``"minute"``, ``"hour"``,
            ``"day-of-month"``, ``"month"``, ``"day-of-week"``, ``"year"``), or
            ``None`` when the problem is the expression as a whole.
        expression: The expression as it was given.
        reason: What is wrong, without the expression or field name.
    """

    def __init__(self, reason: str, *, expression: str, field: str | None = None) -> None:
        self.reason = reason
        self.expression = expression
        self.field = field
        quoted = expression if len(expression) <= _MAX_QUOTED else expression[:_MAX_QUOTED] + "…"
        where = f", {field} field" if field else ""
        super().__init__(f"invalid cron expression {quoted!r}{where}: {reason}")


def span_mask(low: int, high: int, base: int = 0) -> int:
    """Return the mask of the values ``low`` to ``high`` (bit ``v - base`` per value)."""
    return ((1 << (high - low + 1)) - 1) << (low - base)


@attrs.frozen
class Field:
    """One field of a Quartz expression: its range, names and largest increment.

    Attributes:
        name: The field's name as error messages and :attr:`CronError.field`
            give it.
        low: The smallest value.
        high: The largest value.
        max_step: The largest increment Quartz accepts after ``/``.
        names: Three-letter names the field accepts for its values.
        base: The value bit 0 of the field's mask stands for.
    """

    name: str
    low: int
    high: int
    max_step: int
    names: Mapping[str, int] = MappingProxyType({})
    base: int = 0
    full: int = attrs.field(init=False)
    """The mask with every value of the field set."""

    @full.default
    def _full(self) -> int:
        return span_mask(self.low, self.high, self.base)

    def name_of(self, value: int) -> str:
        """Return the name of ``value``, or its digits if the field has no names."""
        return next((name for name, number in self.names.items() if number == value), str(value))


#: The months and days of the week in English; the first three letters, upper
#: case, are the names an expression takes.
MONTH_NAMES: Final = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Quartz numbers the days of the week 1 = SUN ... 7 = SAT (not Unix's 0 = SUN).
WEEKDAY_NAMES: Final = (
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
)


def _short_names(names: tuple[str, ...]) -> Mapping[str, int]:
    return MappingProxyType({name[:3].upper(): i for i, name in enumerate(names, 1)})


SECOND: Final = Field("second", 0, 59, 59)
MINUTE: Final = Field("minute", 0, 59, 59)
HOUR: Final = Field("hour", 0, 23, 23)
DAY_OF_MONTH: Final = Field("day-of-month", 1, 31, 31)
MONTH: Final = Field("month", 1, 12, 12, _short_names(MONTH_NAMES))
DAY_OF_WEEK: Final = Field("day-of-week", 1, 7, 7, _short_names(WEEKDAY_NAMES))
# Quartz's documented year range; the increment may span it.
YEAR: Final = Field("year", 1970, 2099, 2099 - 1970, base=1970)

#: The fields in the order an expression lists them.
FIELDS: Final = (SECOND, MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK, YEAR)


def values_of(mask: int, base: int = 0) -> list[int]:
    """Return the sorted values whose bits are set in ``mask``."""
    values = []
    while mask:
        low = mask & -mask
        values.append(low.bit_length() - 1 + base)
        mask ^= low
    return values


# -- the day rules --------------------------------------------------------------


@attrs.frozen
class DaysOfMonth:
    """Plain days of the month (``15``, ``1,15``, ``1-7``, ``1/5``); bits 1-31."""

    mask: int


@attrs.frozen
class DaysOfWeek:
    """Plain days of the week (``TUE``, ``MON-FRI``, ``L``); bits 1 (SUN) - 7 (SAT)."""

    mask: int


@attrs.frozen
class LastDayOfMonth:
    """``L``, ``L-n``, ``LW``, ``L-nW``: ``offset`` days before the month's last,
    moved to the nearest weekday of the same month if ``weekday``."""

    offset: int = 0
    weekday: bool = False


@attrs.frozen
class NearestWeekday:
    """``nW``: the weekday nearest day ``day`` without leaving its month."""

    day: int


@attrs.frozen
class LastWeekdayOfMonth:
    """``nL`` in day-of-week: the month's last ``weekday`` (1 = SUN ... 7 = SAT)."""

    weekday: int


@attrs.frozen
class NthWeekdayOfMonth:
    """``n#k`` in day-of-week: the ``nth`` ``weekday`` of the month."""

    weekday: int
    nth: int


DayRule = (
    DaysOfMonth
    | DaysOfWeek
    | LastDayOfMonth
    | NearestWeekday
    | LastWeekdayOfMonth
    | NthWeekdayOfMonth
)

#: Every day: the one form ``* ?``, ``? *``, ``1-31 ?`` and ``? SUN-SAT`` share.
EVERY_DAY: Final = DaysOfMonth(DAY_OF_MONTH.full)


@attrs.frozen
class Spec:
    """A parsed expression: what fires, field by field."""

    seconds: int
    minutes: int
    hours: int
    days: DayRule
    months: int
    years: int
