"""The Quartz cron grammar: text to :class:`Spec`, or a :class:`CronError`.

Accepted: 6 or 7 whitespace-separated fields ``second minute hour
day-of-month month day-of-week [year]``, case-insensitive, each ``*``, a value,
a range ``a-b`` (wrapping past the field's end where Quartz wraps, e.g.
``FRI-MON``, ``22-2``), an increment ``a/k``, ``a-b/k``, ``*/k`` or ``/k``, or a
comma-separated list of those; month names ``JAN``-``DEC`` and day names
``SUN``-``SAT``; ``?`` in exactly one day field; ``L``, ``L-n``, ``LW``,
``L-nW`` and ``nW`` in day-of-month; ``L``, ``nL`` and ``n#k`` in day-of-week.

Refused, besides what Quartz refuses: forms Quartz parses but then silently
misreads (``W``, ``nL`` or ``n#k`` in a list or range, names longer than three
letters such as ``MONDAY``), ``*`` inside a list, an increment of 0, and an
expression that no date from 1970 to 2099 matches (``0 0 0 30 2 ?``): each
would make a schedule that runs at other times than written, or never.
"""

from __future__ import annotations

import re
from typing import Any, Final, cast

from .arith import Engine
from .fields import (
    DAY_OF_MONTH,
    DAY_OF_WEEK,
    EVERY_DAY,
    FIELDS,
    YEAR,
    CronError,
    DayRule,
    DaysOfMonth,
    DaysOfWeek,
    Field,
    LastDayOfMonth,
    LastWeekdayOfMonth,
    NearestWeekday,
    NthWeekdayOfMonth,
    Spec,
    quote,
    span_mask,
)

#: ``?``: "no specific value", allowed in one of the two day fields.
NO_SPEC: Final = "?"

_VALUE = r"[0-9]+|[A-Z]+"
_ITEM: Final = re.compile(
    rf"(?:(?P<star>\*)|(?P<start>{_VALUE})(?:-(?P<end>{_VALUE}))?)?(?:(?P<slash>/)(?P<step>[0-9]*))?"
)
_DOM_LAST: Final = re.compile(r"L(?:(?P<dash>-)(?P<offset>[0-9]*))?(?P<weekday>W)?")
_DOM_NEAREST: Final = re.compile(r"(?P<day>[0-9]+)W")
_DOW_LAST: Final = re.compile(rf"(?P<weekday>{_VALUE})L")
_DOW_NTH: Final = re.compile(rf"(?P<weekday>{_VALUE})#(?P<nth>[0-9]*)")
_LAST_WEEKDAY_IN_DOM: Final = re.compile(r"[0-9]+L")
_DOM_ONLY: Final = re.compile(r"L-[0-9]*W?|LW|[0-9]+W")
_LAST: Final = re.compile(r"[0-9]*L")

#: Quartz's largest ``L-n`` offset.
_MAX_LAST_OFFSET: Final = 30
#: Quartz's largest ``#`` ordinal.
_MAX_NTH: Final = 5
#: Longer digit strings are out of every field's range (and too long for int()).
_MAX_DIGITS: Final = 6
_DOW_NUMBERING: Final = "Quartz numbers the days of the week 1 = SUN ... 7 = SAT"


class _Refusal(Exception):
    """A field-level refusal (its one argument the reason), turned into a
    :class:`CronError` by the caller."""


def parse(text: str) -> Spec:
    """Parse a Quartz expression.

    Raises:
        TypeError: ``text`` is not a ``str``.
        CronError: The expression is not one Quartz accepts, or never fires.
    """
    check_text(text)
    parts = text.upper().split()
    if len(parts) not in (6, 7):
        hint = ""
        if len(parts) == 5:
            hint = (
                "; this looks like a Unix cron expression, which Cron.from_unix() converts"
                " (Quartz adds seconds first and numbers weekdays 1 = SUN ... 7 = SAT)"
            )
        raise CronError(
            "expected 6 or 7 fields (second minute hour day-of-month month day-of-week"
            f" [year]), got {len(parts)}{hint}",
            expression=text,
        )
    if len(parts) == 6:
        parts.append("*")

    parsed: list[int | str | DayRule] = []
    for field, part in zip(FIELDS, parts, strict=True):
        try:
            parsed.append(parse_field(part, field))
        except _Refusal as refusal:
            raise CronError(str(refusal), expression=text, field=field.name) from None
    # Only the day fields hold more than a mask.
    seconds, minutes, hours, dom, months, dow, years = cast("list[Any]", parsed)
    spec = Spec(seconds, minutes, hours, _day_rule(dom, dow, parts, text), months, years)
    if Engine(spec).next_match((YEAR.low, 1, 1, 0, 0, 0)) is None:
        raise CronError(
            f"never fires: no date from {YEAR.low} to {YEAR.high} has the day, month and"
            " year it asks for",
            expression=text,
        )
    return spec


def check_text(text: str) -> None:
    """Refuse what is no expression at all: not a ``str``, or not ASCII."""
    if not isinstance(text, str):
        raise TypeError(f"a cron expression is a str, not {type(text).__name__}")
    if not text.isascii():
        raise CronError("contains characters other than ASCII", expression=text)


def _day_rule(
    dom: int | str | DayRule, dow: int | str | DayRule, parts: list[str], text: str
) -> DayRule:
    """Combine the two day fields: Quartz needs ``?`` in exactly one of them."""
    if dom == NO_SPEC and dow == NO_SPEC:
        raise CronError(
            "day-of-month and day-of-week are both '?'; exactly one of them must be '?'"
            " (put '*' in the other to fire every day)",
            expression=text,
        )
    if NO_SPEC not in (dom, dow):
        if parts[3] == "*":
            fix = "put '?' in day-of-month to fire on the days of the week given"
        elif parts[5] == "*":
            fix = "put '?' in day-of-week to fire on the days of the month given"
        else:
            fix = "Quartz cannot combine a day of the month with a day of the week"
        raise CronError(
            f"day-of-month ({quote(parts[3])}) and day-of-week ({quote(parts[5])}) are both given;"
            f" exactly one of them must be '?': {fix}",
            expression=text,
        )
    rule: int | str | DayRule
    if dom == NO_SPEC:
        rule = DaysOfWeek(dow) if isinstance(dow, int) else dow
    else:
        rule = DaysOfMonth(dom) if isinstance(dom, int) else dom
    assert not isinstance(rule, (int, str))
    if rule in (DaysOfMonth(DAY_OF_MONTH.full), DaysOfWeek(DAY_OF_WEEK.full)):
        return EVERY_DAY
    return rule


def parse_field(text: str, field: Field) -> int | str | DayRule:
    """Parse one upper-cased field: a mask, :data:`NO_SPEC`, or a special day rule.

    Raises:
        _Refusal: The field is not valid; the reason names no field.
    """
    if text == NO_SPEC:
        if field not in (DAY_OF_MONTH, DAY_OF_WEEK):
            raise _Refusal("'?' is only allowed in day-of-month and day-of-week")
        return NO_SPEC
    if NO_SPEC in text:
        raise _Refusal("'?' must stand alone")
    items = text.split(",")
    if "" in items:
        raise _Refusal(f"empty value in {quote(text)}")
    if field is DAY_OF_MONTH:
        specials = [item for item in items if "L" in item or "W" in item]
    elif field is DAY_OF_WEEK:
        specials = [item for item in items if item.endswith("L") or "#" in item]
    else:
        specials = []
    if specials:
        rule = _special_day(specials[0], field)
        if len(items) > 1:
            raise _Refusal(f"{quote(specials[0])} cannot be combined with other values")
        return rule
    mask = 0
    for item in items:
        if item == "*" and len(items) > 1:
            raise _Refusal("'*' cannot be combined with other values")
        mask |= _item_mask(item, field)
    return mask


def _item_mask(item: str, field: Field) -> int:
    """Return the mask of one list item: ``*``, value, range, or increment."""
    misplaced = _misplaced(item, field)
    if misplaced:
        raise _Refusal(misplaced)
    match = _ITEM.fullmatch(item)
    if match is None:
        raise _Refusal(f"cannot read {quote(item)}")
    start, end, slash, step_text = match.group("start", "end", "slash", "step")
    step = 1
    if slash:
        if not step_text:
            raise _Refusal(f"'/' must be followed by an increment in {quote(item)}")
        step = _number(step_text, "increment")
        if step < 1:
            raise _Refusal(f"increment must be at least 1 in {quote(item)}")
        if step > field.max_step:
            raise _Refusal(
                f"increment {step} is beyond the field's range (at most {field.max_step})"
            )
    if start is None:  # "*", "*/k" or "/k": the whole range
        low, high = field.low, field.high
    else:
        low = _value(start, field)
        high = _value(end, field) if end is not None else field.high if slash else low
    if step == 1 and low <= high:
        return span_mask(low, high, field.base)
    span = field.high - field.low + 1
    if high < low:
        if field is YEAR:
            raise _Refusal(f"range {quote(item)} runs backwards; year ranges cannot wrap")
        high += span  # Quartz wraps a backward range past the field's end
    mask = 0
    for value in range(low, high + 1, step):
        mask |= 1 << ((value if value <= field.high else value - span) - field.base)
    return mask


def _special_day(item: str, field: Field) -> DayRule:
    """Parse ``L``, ``L-n``, ``LW``, ``L-nW``, ``nW``, or ``L``, ``nL``, ``n#k``."""
    if field is DAY_OF_MONTH:
        if last := _DOM_LAST.fullmatch(item):
            offset = 0
            if last.group("dash"):
                if not last.group("offset"):
                    raise _Refusal(f"'L-' must be followed by a number of days in {quote(item)}")
                offset = _number(last.group("offset"), "offset")
                if offset > _MAX_LAST_OFFSET:
                    raise _Refusal(
                        f"offset from the last day must be 0-{_MAX_LAST_OFFSET}, got {offset}"
                    )
            return LastDayOfMonth(offset, weekday=bool(last.group("weekday")))
        if nearest := _DOM_NEAREST.fullmatch(item):
            day = _number(nearest.group("day"), "day")
            if not DAY_OF_MONTH.low <= day <= DAY_OF_MONTH.high:
                raise _Refusal(f"'W' needs a day from 1 to 31, got {day}")
            return NearestWeekday(day)
    else:
        if item == "L":  # Quartz: 'L' alone in day-of-week is 7, Saturday
            return DaysOfWeek(1 << 7)
        if last := _DOW_LAST.fullmatch(item):
            return LastWeekdayOfMonth(_value(last.group("weekday"), field))
        if nth := _DOW_NTH.fullmatch(item):
            weekday = _value(nth.group("weekday"), field)
            ordinal = nth.group("nth")
            if not ordinal or not 1 <= _number(ordinal, "'#'") <= _MAX_NTH:
                raise _Refusal(f"'#' must be followed by a number from 1 to {_MAX_NTH}")
            return NthWeekdayOfMonth(weekday, int(ordinal))
    raise _Refusal(_misplaced(item, field) or f"cannot read {quote(item)}")


def _value(token: str, field: Field) -> int:
    """Return the number a value token stands for, checked against the range."""
    if token.isdigit():
        value = _number(token, "value")
        if not field.low <= value <= field.high:
            hint = f"; {_DOW_NUMBERING}" if field is DAY_OF_WEEK else ""
            raise _Refusal(f"{value} is out of range ({field.low}-{field.high}){hint}")
        return value
    if not field.names:
        raise _Refusal(f"{quote(token)} is not a number")
    if token not in field.names:
        raise _Refusal(
            f"unknown {field.name} name {quote(token)} (use one of {', '.join(field.names)})"
        )
    return field.names[token]


def _number(digits: str, what: str) -> int:
    if len(digits) > _MAX_DIGITS:
        raise _Refusal(f"{what} {digits[:_MAX_DIGITS]}... is out of range")
    return int(digits)


def _misplaced(item: str, field: Field) -> str | None:
    """Explain a special character used where it is not allowed, if that is the fault."""
    if "#" in item and field is not DAY_OF_WEEK:
        return "'#' is only allowed in day-of-week"
    if field is DAY_OF_MONTH:
        if _LAST_WEEKDAY_IN_DOM.fullmatch(item):
            return f"{quote(item)} (the last given weekday) is only allowed in day-of-week"
        if "W" in item:
            return f"{quote(item)}: 'W' takes a single day, e.g. '15W'"
    elif _DOM_ONLY.fullmatch(item):
        return f"{quote(item)}: 'L-n', 'LW' and 'nW' are only allowed in day-of-month"
    elif field is not DAY_OF_WEEK and _LAST.fullmatch(item):
        return f"{quote(item)}: 'L' is only allowed in day-of-month and day-of-week"
    return None
