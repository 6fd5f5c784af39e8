"""The canonical text of a :class:`Spec`.

The canonical form is written from what fires, not from how it was typed, so
two expressions that fire at the same times read the same: ``*/5``, ``/5``,
``0/5`` and ``0-59/5`` all become ``0/5``; ``3`` and ``TUE`` in day-of-week
become ``TUE``; ``6,2`` becomes ``2,6``; ``0/1`` becomes ``*``. Every day is
``? *``, the year is always written (``*`` for any), and only forms every
Quartz parser reads alike are used: no wrapping ranges, numbers (never names)
around ``/``, ``L`` and ``#``, names for months and days of the week elsewhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Final

import attrs

from . import fields

#: Fewest values written as ``a-b`` (two consecutive values stay a list).
_MIN_RANGE: Final = 3
#: Fewest values written as an increment ``a/k`` or ``a-b/k``.
_MIN_STEP: Final = 3


@attrs.frozen
class Part:
    """One item of a field's list: ``a`` (``stop == start``, ``step == 1``),
    ``a-b`` (``step == 1``), ``a/k`` (``stop`` is None) or ``a-b/k``."""

    start: int
    stop: int | None
    step: int = 1


def decompose(mask: int, field: fields.Field) -> list[Part] | None:
    """Split a field's mask into list items; None when every value is set.

    Months and days of the week never use increments: a list of names reads
    better than ``1/3`` and means the same to every Quartz parser.
    """
    if mask == field.full:
        return None
    values = fields.values_of(mask, field.base)
    if len(values) >= _MIN_STEP and field not in (fields.MONTH, fields.DAY_OF_WEEK):
        step = values[1] - values[0]
        if step > 1 and all(b - a == step for a, b in itertools.pairwise(values)):
            reaches_end = values[-1] + step > field.high
            return [Part(values[0], None if reaches_end else values[-1], step)]
    parts: list[Part] = []
    run_start = previous = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        if previous - run_start + 1 >= _MIN_RANGE:
            parts.append(Part(run_start, previous))
        else:
            parts.extend(Part(v, v) for v in range(run_start, previous + 1))
        if value is not None:
            run_start = previous = value
    return parts


def part_texts(
    parts: Sequence[Part],
    name: Callable[[int], str],
    *,
    through: str,
    increment: Callable[[Part], str],
) -> list[str]:
    """Name each part: one value, a range (``start``, ``through``, ``stop``), or an
    increment as ``increment`` writes it."""
    texts = []
    for part in parts:
        if part.step != 1:
            texts.append(increment(part))
        elif part.stop == part.start:
            texts.append(name(part.start))
        else:
            assert part.stop is not None
            texts.append(f"{name(part.start)}{through}{name(part.stop)}")
    return texts


def render_field(mask: int, field: fields.Field) -> str:
    """Return the canonical text of one plain field."""
    parts = decompose(mask, field)
    if parts is None:
        return "*"

    def increment(part: Part) -> str:  # numbers, as Quartz reads them in increments
        stop = "" if part.stop is None else f"-{part.stop}"
        return f"{part.start}{stop}/{part.step}"

    return ",".join(part_texts(parts, field.name_of, through="-", increment=increment))


def render_days(rule: fields.DayRule) -> tuple[str, str]:
    """Return the canonical day-of-month and day-of-week texts of a day rule."""
    if rule == fields.EVERY_DAY:
        return "?", "*"
    if isinstance(rule, fields.DaysOfMonth):
        return render_field(rule.mask, fields.DAY_OF_MONTH), "?"
    if isinstance(rule, fields.DaysOfWeek):
        return "?", render_field(rule.mask, fields.DAY_OF_WEEK)
    if isinstance(rule, fields.LastDayOfMonth):
        offset = f"-{rule.offset}" if rule.offset else ""
        return f"L{offset}{'W' if rule.weekday else ''}", "?"
    if isinstance(rule, fields.NearestWeekday):
        return f"{rule.day}W", "?"
    if isinstance(rule, fields.LastWeekdayOfMonth):
        return "?", f"{rule.weekday}L"
    assert isinstance(rule, fields.NthWeekdayOfMonth)
    return "?", f"{rule.weekday}#{rule.nth}"


def render(spec: fields.Spec) -> str:
    """Return the canonical seven-field text of ``spec``."""
    day_of_month, day_of_week = render_days(spec.days)
    return " ".join(
        (
            render_field(spec.seconds, fields.SECOND),
            render_field(spec.minutes, fields.MINUTE),
            render_field(spec.hours, fields.HOUR),
            day_of_month,
            render_field(spec.months, fields.MONTH),
            day_of_week,
            render_field(spec.years, fields.YEAR),
        )
    )
