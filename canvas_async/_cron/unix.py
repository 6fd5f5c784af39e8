"""Unix (5-field) cron to Quartz.

Unix cron has no seconds, numbers the days of the week 0 = SUN ... 6 = SAT
(7 is Sunday too) and has no ``?``; Quartz numbers them 1 = SUN ... 7 = SAT and
needs ``?`` in one day field. When both day fields are restricted Unix fires on
days matching *either* (Vixie cron), which no single Quartz expression can say,
so that is refused rather than converted into something else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from .fields import DAY_OF_WEEK, CronError, quote
from .parse import check_text, parse
from .render import render_field

_SHORTHANDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "@yearly": "0 0 1 1 *",
        "@annually": "0 0 1 1 *",
        "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0",
        "@daily": "0 0 * * *",
        "@midnight": "0 0 * * *",
        "@hourly": "0 * * * *",
    }
)
_FIELD_NAMES: Final = ("minute", "hour", "day-of-month", "month", "day-of-week")
_NUMERIC: Final = re.compile(r"[0-9*,/-]+")
_MONTHS: Final = re.compile(r"[0-9A-Z*,/-]+")
_WEEKDAY_ITEM: Final = re.compile(
    r"(?:(?P<star>\*)|(?P<start>[0-9]+|[A-Z]+)(?:-(?P<end>[0-9]+|[A-Z]+))?)(?:/(?P<step>[0-9]{1,2}))?"
)
_LAST_UNIX_WEEKDAY: Final = 7  # 7 is Sunday again


def quartz_from_unix(text: str) -> str:
    """Return the Quartz expression equivalent to the Unix expression ``text``.

    Raises:
        TypeError: ``text`` is not a ``str``.
        CronError: ``text`` is not valid Unix cron, or has no Quartz equivalent.
    """
    check_text(text)
    body = text.strip()
    if body.startswith("@"):
        if body.lower() not in _SHORTHANDS:
            raise CronError(
                f"unknown shorthand {quote(body)} (use one of {', '.join(_SHORTHANDS)})",
                expression=text,
            )
        body = _SHORTHANDS[body.lower()]
    parts = body.upper().split()
    if len(parts) != len(_FIELD_NAMES):
        hint = ""
        if len(parts) in (6, 7):
            hint = "; this looks like a Quartz expression, which Cron.parse() reads"
        raise CronError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
            f"{hint}",
            expression=text,
        )
    minute, hour, day_of_month, month, day_of_week = parts
    for name, part in zip(_FIELD_NAMES[:4], parts[:4], strict=True):
        pattern = _MONTHS if name == "month" else _NUMERIC
        if not pattern.fullmatch(part):
            raise CronError(f"cannot read {quote(part)} as Unix cron", expression=text, field=name)
    weekdays = render_field(_weekday_mask(day_of_week, text), DAY_OF_WEEK)
    if day_of_month == "*":
        day_of_month = "?"
    elif day_of_week == "*":
        weekdays = "?"
    else:
        raise CronError(
            f"day-of-month ({quote(day_of_month)}) and day-of-week ({quote(day_of_week)}) are both"
            " restricted; Unix cron then fires on days matching either, which Quartz"
            " cannot express (use two schedules, one per day field)",
            expression=text,
        )
    quartz = f"0 {minute} {hour} {day_of_month} {month} {weekdays} *"
    try:
        parse(quartz)
    except CronError as error:
        raise CronError(error.reason, expression=text, field=error.field) from None
    return quartz


def _weekday_mask(text: str, expression: str) -> int:
    """Read a Unix day-of-week field into a Quartz day-of-week mask."""
    mask = 0
    for item in text.split(","):
        match = _WEEKDAY_ITEM.fullmatch(item)
        if match is None:
            raise _refuse(f"cannot read {quote(item)} as Unix cron", expression)
        star, start, end, step = match.group("star", "start", "end", "step")
        if star:
            low, high = 0, _LAST_UNIX_WEEKDAY
        else:
            low = _unix_weekday(start, expression)
            high = low
            if end:
                high = _unix_weekday(end, expression)
            elif step:
                high = _LAST_UNIX_WEEKDAY
        if high < low:
            raise _refuse(f"range {quote(item)} runs backwards", expression)
        increment = int(step) if step else 1
        if not 1 <= increment <= _LAST_UNIX_WEEKDAY:
            raise _refuse(f"increment must be 1-{_LAST_UNIX_WEEKDAY}, got {increment}", expression)
        for day in range(low, high + 1, increment):
            mask |= 1 << (day % 7 + 1)  # Unix 0 (or 7) = SUN is Quartz 1
    return mask


def _unix_weekday(token: str, expression: str) -> int:
    if token.isdigit():
        day = int(token) if len(token) <= 2 else _LAST_UNIX_WEEKDAY + 1
        if day > _LAST_UNIX_WEEKDAY:
            raise _refuse(
                f"{token} is out of range (0-7; Unix numbers the days of the week"
                " 0 = SUN ... 6 = SAT, and 7 = SUN)",
                expression,
            )
        return day
    names = DAY_OF_WEEK.names
    if token not in names:
        raise _refuse(
            f"unknown day-of-week name {quote(token)} (use one of {', '.join(names)})", expression
        )
    return names[token] - 1


def _refuse(reason: str, expression: str) -> CronError:
    return CronError(reason, expression=expression, field="day-of-week")
