"""A second, deliberately plain reading of Quartz cron, to test the real one against.

Hypothesis strategies here draw an expression's text *together with* what it
means: Python sets for the plain fields and a predicate on dates for the day
fields, each written straight from the Quartz documentation with the standard
library's calendar, sharing no code with :mod:`canvas_async._cron`.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date, datetime

import attrs
from hypothesis import strategies as st

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")

DayPredicate = Callable[[date], bool]


@attrs.frozen(repr=False)
class Expected:
    """What an expression means, in plain Python."""

    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    day: DayPredicate
    months: frozenset[int]
    years: frozenset[int]

    def __repr__(self) -> str:
        # Short: Hypothesis prints this next to the expression's text on failure.
        sizes = (self.seconds, self.minutes, self.hours, self.months, self.years)
        counts = "/".join(str(len(values)) for values in sizes)
        return f"Expected({counts} values per field)"

    def matches_wall(self, when: datetime) -> bool:
        """Tell whether the wall-clock fields of ``when`` fire (zone ignored)."""
        return (
            when.second in self.seconds
            and when.minute in self.minutes
            and when.hour in self.hours
            and when.month in self.months
            and when.year in self.years
            and self.day(when.date())
        )


def quartz_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday."""
    return day.isoweekday() % 7 + 1


def last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def nearest_weekday(day: date, target: int) -> bool:
    """Is ``day`` the Monday-to-Friday day of its month closest to day ``target``?"""
    days = range(1, last_day(day) + 1)
    if target not in days:
        return False
    weekdays = [d for d in days if date(day.year, day.month, d).isoweekday() <= 5]
    return day.day == min(weekdays, key=lambda d: abs(d - target))


# -- plain fields ---------------------------------------------------------------


def _value(draw: st.DrawFn, low: int, high: int, names: tuple[str, ...] | None) -> tuple[str, int]:
    value = draw(st.integers(low, high))
    if names and draw(st.booleans()):
        return names[value - low], value
    return str(value), value


@st.composite
def field_item(
    draw: st.DrawFn, low: int, high: int, names: tuple[str, ...] | None = None
) -> tuple[str, frozenset[int]]:
    """One list item of a plain field: value, range (maybe wrapping), or increment."""
    kind = draw(st.sampled_from(["value", "range", "start_step", "star_step", "range_step"]))
    text_a, a = _value(draw, low, high, names)
    if kind == "value":
        return text_a, frozenset({a})
    if kind in ("start_step", "star_step"):
        step = draw(st.integers(1, min(high - low + 1, 7 if names else high - low)))
        start = low if kind == "star_step" else a
        text = f"*/{step}" if kind == "star_step" else f"{a}/{step}"
        return text, frozenset(range(start, high + 1, step))
    text_b, b = _value(draw, low, high, names)
    if low >= 1970:  # year ranges do not wrap
        a, b = min(a, b), max(a, b)
        text_a, text_b = str(a), str(b)
    step = draw(st.integers(1, 5)) if kind == "range_step" else 1
    span = high - low + 1
    stop = b if a <= b else b + span
    values = frozenset(v if v <= high else v - span for v in range(a, stop + 1, step))
    suffix = f"/{step}" if kind == "range_step" else ""
    # Quartz reads text after a name in an increment oddly; use numbers there.
    if suffix:
        text_a, text_b = str(a), str(b)
    return f"{text_a}-{text_b}{suffix}", values


@st.composite
def plain_field(
    draw: st.DrawFn,
    low: int,
    high: int,
    names: tuple[str, ...] | None = None,
    star: float = 0.3,
) -> tuple[str, frozenset[int]]:
    """A plain field: ``*`` or a list of one to three items."""
    if draw(st.floats(0, 1)) < star:
        return "*", frozenset(range(low, high + 1))
    items = draw(st.lists(field_item(low, high, names), min_size=1, max_size=3))
    return ",".join(t for t, _ in items), frozenset().union(*(v for _, v in items))


# -- day fields ---------------------------------------------------------------------


@st.composite
def day_fields(draw: st.DrawFn, special: bool = True) -> tuple[str, str, DayPredicate]:
    """Day-of-month and day-of-week texts (one of them ``?``) and their predicate."""
    kinds = ["every", "dom", "dow"]
    if special:
        kinds += ["L", "L-n", "LW", "L-nW", "nW", "nL", "n#k", "dow-L"]
    kind = draw(st.sampled_from(kinds))
    if kind == "every":
        if draw(st.booleans()):
            return "?", "*", lambda d: True
        return "*", "?", lambda d: True
    if kind == "dom":
        text, days = draw(plain_field(1, 31, star=0))
        return text, "?", lambda d: d.day in days
    if kind == "dow":
        text, weekdays = draw(plain_field(1, 7, WEEKDAY_NAMES, star=0))
        return "?", text, lambda d: quartz_weekday(d) in weekdays
    if kind == "L":
        return "L", "?", lambda d: d.day == last_day(d)
    if kind == "L-n":
        n = draw(st.integers(1, 30))
        return f"L-{n}", "?", lambda d: d.day == last_day(d) - n
    if kind == "LW":
        return (
            "LW",
            "?",
            lambda d: (
                d.day
                == max(
                    x
                    for x in range(1, last_day(d) + 1)
                    if date(d.year, d.month, x).isoweekday() <= 5
                )
            ),
        )
    if kind == "L-nW":
        n = draw(st.integers(1, 30))
        return f"L-{n}W", "?", lambda d: nearest_weekday(d, last_day(d) - n)
    if kind == "nW":
        n = draw(st.integers(1, 31))
        return f"{n}W", "?", lambda d: nearest_weekday(d, n)
    text_w, weekday = _value(draw, 1, 7, WEEKDAY_NAMES)
    if kind == "nL":
        return (
            "?",
            f"{weekday}L",
            lambda d: quartz_weekday(d) == weekday and d.day + 7 > last_day(d),
        )
    if kind == "n#k":
        k = draw(st.integers(1, 5))
        return (
            "?",
            f"{text_w}#{k}",
            lambda d: quartz_weekday(d) == weekday and (d.day - 1) // 7 + 1 == k,
        )
    return "?", "L", lambda d: quartz_weekday(d) == 7  # 'L' alone: Saturday


# -- whole expressions ------------------------------------------------------------


def _fixed(*pairs: tuple[str, range | list[int]]) -> list[tuple[str, frozenset[int]]]:
    return [(text, frozenset(values)) for text, values in pairs]


DENSE_SECONDS = _fixed(
    ("*", range(60)),
    ("0", [0]),
    ("0/15", [0, 15, 30, 45]),
    ("59", [59]),
    ("7,30", [7, 30]),
)
DENSE_MINUTES = _fixed(
    ("*", range(60)),
    ("0/5", range(0, 60, 5)),
    ("*/10", range(0, 60, 10)),
    ("3-59/7", range(3, 60, 7)),
    ("0-29", range(30)),
    ("50-10", [*range(50, 60), *range(11)]),
    ("0-10,30-40", [*range(11), *range(30, 41)]),
)
DENSE_HOURS = _fixed(
    ("*", range(24)),
    ("0/2", range(0, 24, 2)),
    ("1/2", range(1, 24, 2)),
    ("0-2,22-23", [0, 1, 2, 22, 23]),
    ("21-3", [21, 22, 23, 0, 1, 2, 3]),
)


@st.composite
def expressions(
    draw: st.DrawFn,
    *,
    dense: bool = False,
    special_days: bool = True,
    time_of_day: tuple[int, int, int] | None = None,
) -> tuple[str, Expected]:
    """A valid Quartz expression and what it means.

    Args:
        dense: Fire often (at least every few minutes), for second-by-second checks.
        special_days: Draw ``L``, ``W`` and ``#`` day rules too.
        time_of_day: Fire once a day at this (hour, minute, second).
    """
    if time_of_day is not None:
        hour, minute, second = time_of_day
        s_text, seconds = str(second), frozenset({second})
        m_text, minutes = str(minute), frozenset({minute})
        h_text, hours = str(hour), frozenset({hour})
    elif dense:
        s_text, seconds = draw(st.sampled_from(DENSE_SECONDS))
        m_text, minutes = draw(st.sampled_from(DENSE_MINUTES))
        h_text, hours = draw(st.sampled_from(DENSE_HOURS))
    else:
        s_text, seconds = draw(plain_field(0, 59))
        m_text, minutes = draw(plain_field(0, 59))
        h_text, hours = draw(plain_field(0, 23))
    dom, dow, day = draw(day_fields(special=special_days))
    mo_text, months = draw(plain_field(1, 12, MONTH_NAMES, star=0.7 if not dense else 1))
    fields = [s_text, m_text, h_text, dom, mo_text, dow]
    years = frozenset(range(1970, 2100))
    if not dense and draw(st.booleans()):
        y_text, years = draw(plain_field(1970, 2099, star=0.5))
        fields.append(y_text)
    elif draw(st.booleans()):
        fields.append("*")
    text = " ".join(fields)
    if draw(st.booleans()):
        text = text.lower()
    return text, Expected(seconds, minutes, hours, day, months, years)
