"""Cron.parse: the Quartz grammar, the canonical form, and the refusals."""

from __future__ import annotations

import pickle

import attrs
import pytest

from canvas_async import ValidationError
from canvas_async._cron import canonical as _cron_canonical
from canvas_async.schedule import Cron, CronError


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # The spec's examples (spec: "Schedules") and the seed's.
        ("0 0/5 * ? * * *", "0 0/5 * ? * * *"),
        ("0 0 2,6 ? * TUE *", "0 0 2,6 ? * TUE *"),
        ("0 0 * ? * *", "0 0 * ? * * *"),
        ("0 0 0/1 ? * * *", "0 0 * ? * * *"),
        # Increments in every spelling.
        ("0 */5 * ? * *", "0 0/5 * ? * * *"),
        ("0 /5 * ? * *", "0 0/5 * ? * * *"),
        ("0 0-59/5 * ? * *", "0 0/5 * ? * * *"),
        ("0 0-55/5 * ? * *", "0 0/5 * ? * * *"),
        ("3-59/7 * * ? * *", "3/7 * * ? * * *"),
        ("0 10-40/10 * ? * *", "0 10-40/10 * ? * * *"),
        ("0 0 12 */5 * ?", "0 0 12 1/5 * ? *"),
        ("0 0 12 1 * ? 2024/2", "0 0 12 1 * ? 2024/2"),
        ("0 0 12 ? 1/3 MON", "0 0 12 ? JAN,APR,JUL,OCT MON *"),
        # Ranges and lists, wrapping ranges, order and duplicates.
        ("0 0 22-2 ? * *", "0 0 0-2,22,23 ? * * *"),
        ("0 0 6,2,2 ? * *", "0 0 2,6 ? * * *"),
        ("0 0 9-17 ? * *", "0 0 9-17 ? * * *"),
        ("0 0 0 1-3,5 * ?", "0 0 0 1-3,5 * ? *"),
        # Day-of-week numbers: 1 = SUN ... 7 = SAT; names either way.
        ("0 0 12 ? * 1", "0 0 12 ? * SUN *"),
        ("0 0 12 ? * 7", "0 0 12 ? * SAT *"),
        ("0 0 12 ? * 2-6", "0 0 12 ? * MON-FRI *"),
        ("0 0 12 ? * mon-fri", "0 0 12 ? * MON-FRI *"),
        ("0 0 12 ? * FRI-MON", "0 0 12 ? * SUN,MON,FRI,SAT *"),
        ("0 0 12 ? * 1,7", "0 0 12 ? * SUN,SAT *"),
        ("0 0 12 1 1,jul ?", "0 0 12 1 JAN,JUL ? *"),
        ("0 0 12 1 JAN-MAR ?", "0 0 12 1 JAN-MAR ? *"),
        # Every day has one form.
        ("0 0 12 * * ?", "0 0 12 ? * * *"),
        ("0 0 12 1-31 * ?", "0 0 12 ? * * *"),
        ("0 0 12 ? * SUN-SAT", "0 0 12 ? * * *"),
        ("0 0 12 ? * 1-7 *", "0 0 12 ? * * *"),
        # The special characters.
        ("0 0 12 L * ?", "0 0 12 L * ? *"),
        ("0 0 12 L-0 * ?", "0 0 12 L * ? *"),
        ("0 0 12 L-3 * ?", "0 0 12 L-3 * ? *"),
        ("0 0 12 LW * ?", "0 0 12 LW * ? *"),
        ("0 0 12 L-3W * ?", "0 0 12 L-3W * ? *"),
        ("0 0 12 15W * ?", "0 0 12 15W * ? *"),
        ("0 0 12 lw * ?", "0 0 12 LW * ? *"),
        ("0 0 12 ? * 6L", "0 0 12 ? * 6L *"),
        ("0 0 12 ? * FRIL", "0 0 12 ? * 6L *"),
        ("0 0 12 ? * 6#3", "0 0 12 ? * 6#3 *"),
        ("0 0 12 ? * FRI#3", "0 0 12 ? * 6#3 *"),
        ("0 0 12 ? * L", "0 0 12 ? * SAT *"),
        # Years and layout.
        ("0 0 12 1 1 ? 2030", "0 0 12 1 JAN ? 2030"),
        ("0 0 12 1 1 ? 2030-2035", "0 0 12 1 JAN ? 2030-2035"),
        ("0 0 12 1 1 ? 1970-2099", "0 0 12 1 JAN ? *"),
        ("  0  0 12 ?\t* MON  ", "0 0 12 ? * MON *"),
    ],
)
def test_canonical_form(text: str, canonical: str) -> None:
    cron = Cron.parse(text)

    assert str(cron) == canonical
    assert Cron.parse(canonical) == cron
    assert _cron_canonical.canonical(text) == canonical  # what is sent and compared


def test_a_held_cron_that_cannot_be_read_has_no_canonical_form() -> None:
    assert _cron_canonical.canonical_or_none(None) is None
    assert _cron_canonical.canonical_or_none("*/5 * * * *") is None  # Unix, not Quartz
    assert _cron_canonical.canonical_or_none("0 */5 * * * ?") == "0 0/5 * ? * * *"
    with pytest.raises(CronError, match="never"):
        _cron_canonical.canonical("0 0 0 30 2 ?")


@pytest.mark.parametrize(
    ("text", "field", "reason"),
    [
        # Field count.
        ("0 0 * ?", None, "expected 6 or 7 fields"),
        ("*/5 * * * *", None, "Cron.from_unix()"),
        ("0 0 12 ? * MON 2024 1", None, "got 8"),
        ("", None, "got 0"),
        # The two day fields.
        ("0 0 12 * * MON", None, "put '?' in day-of-month"),
        ("0 0 12 15 * *", None, "put '?' in day-of-week"),
        ("0 0 12 15 * MON", None, "cannot combine a day of the month with a day of the week"),
        ("0 0 * * * *", None, "both given"),
        ("0 0 12 ? * ?", None, "both '?'"),
        ("? 0 12 ? * *", "second", "'?' is only allowed in day-of-month and day-of-week"),
        ("0 0 12 ?,1 * ?", "day-of-month", "'?' must stand alone"),
        # L, W and #.
        ("0 0 12 L,15 * ?", "day-of-month", "'L' cannot be combined with other values"),
        ("0 0 12 LW,1 * ?", "day-of-month", "cannot be combined"),
        ("0 0 12 1W,15 * ?", "day-of-month", "cannot be combined"),
        ("0 0 12 ? * 6L,2", "day-of-week", "cannot be combined"),
        ("0 0 12 ? * L,MON", "day-of-week", "cannot be combined"),
        ("0 0 12 ? * 2#1,3#2", "day-of-week", "cannot be combined"),
        ("0 0 12 32W * ?", "day-of-month", "'W' needs a day from 1 to 31, got 32"),
        ("0 0 12 0W * ?", "day-of-month", "got 0"),
        ("0 0 12 1-5W * ?", "day-of-month", "'W' takes a single day"),
        ("0 0 12 L-31 * ?", "day-of-month", "offset from the last day must be 0-30"),
        ("0 0 12 L- * ?", "day-of-month", "'L-' must be followed by a number"),
        ("0 0 12 5L * ?", "day-of-month", "only allowed in day-of-week"),
        ("0 0 12 5#2 * ?", "day-of-month", "'#' is only allowed in day-of-week"),
        ("0 0 12 ? * LW", "day-of-week", "only allowed in day-of-month"),
        ("0 0 12 ? * L-2", "day-of-week", "only allowed in day-of-month"),
        ("0 0 12 ? * 15W", "day-of-week", "only allowed in day-of-month"),
        ("0 0 12 ? * 2#6", "day-of-week", "'#' must be followed by a number from 1 to 5"),
        ("0 0 12 ? * 2#0", "day-of-week", "from 1 to 5"),
        ("0 0 12 ? * 2#", "day-of-week", "from 1 to 5"),
        ("0 0 12 ? * 8#1", "day-of-week", "8 is out of range (1-7)"),
        ("0 0 12 ? * 8L", "day-of-week", "8 is out of range (1-7)"),
        ("0 L * ? * *", "minute", "'L' is only allowed in day-of-month and day-of-week"),
        ("0 0 L ? * *", "hour", "'L' is only allowed"),
        ("0 0 12 ? L *", "month", "'L' is only allowed"),
        ("0 0 12 ? 1#2 *", "month", "'#' is only allowed in day-of-week"),
        ("0 0 15W ? * *", "hour", "only allowed in day-of-month"),
        # Increments beyond the field's range, or zero.
        ("0/60 * * ? * *", "second", "increment 60 is beyond the field's range (at most 59)"),
        ("0 0/60 * ? * *", "minute", "at most 59"),
        ("0 0 0/24 ? * *", "hour", "at most 23"),
        ("0 0 12 1/32 * ?", "day-of-month", "at most 31"),
        ("0 0 12 1 1/13 ?", "month", "at most 12"),
        ("0 0 12 ? * 1/8", "day-of-week", "at most 7"),
        ("0 0 12 1 1 ? 2024/130", "year", "at most 129"),
        ("0 0/0 * ? * *", "minute", "increment must be at least 1"),
        ("0 0/ * ? * *", "minute", "'/' must be followed by an increment"),
        ("0 / * ? * *", "minute", "'/' must be followed by an increment"),
        # Out-of-range values.
        ("60 * * ? * *", "second", "60 is out of range (0-59)"),
        ("0 60 * ? * *", "minute", "60 is out of range (0-59)"),
        ("0 0 24 ? * *", "hour", "24 is out of range (0-23)"),
        ("0 0 12 0 * ?", "day-of-month", "0 is out of range (1-31)"),
        ("0 0 12 32 * ?", "day-of-month", "32 is out of range (1-31)"),
        ("0 0 12 1 0 ?", "month", "0 is out of range (1-12)"),
        ("0 0 12 1 13 ?", "month", "13 is out of range (1-12)"),
        ("0 0 12 ? * 0", "day-of-week", "1 = SUN ... 7 = SAT"),
        ("0 0 12 ? * 8", "day-of-week", "8 is out of range (1-7)"),
        ("0 0 12 1 1 ? 1969", "year", "1969 is out of range (1970-2099)"),
        ("0 0 12 1 1 ? 2100", "year", "2100 is out of range (1970-2099)"),
        ("0 0 0-99999999 ? * *", "hour", "out of range"),
        # Names.
        ("0 0 12 1 FOO ?", "month", "unknown month name 'FOO'"),
        ("0 0 12 ? * MONDAY", "day-of-week", "unknown day-of-week name 'MONDAY'"),
        ("0 0 12 ? * MON-FOO", "day-of-week", "unknown day-of-week name 'FOO'"),
        ("0 MON * ? * *", "minute", "'MON' is not a number"),
        ("0 0 12 ? JAN-MON *", "month", "unknown month name 'MON'"),
        # Lists and other syntax.
        ("0 *,5 * ? * *", "minute", "'*' cannot be combined with other values"),
        ("0 1,,2 * ? * *", "minute", "empty value"),
        ("0 1, * ? * *", "minute", "empty value"),
        ("0 1-2-3 * ? * *", "minute", "cannot read '1-2-3'"),
        ("0 -5 * ? * *", "minute", "cannot read '-5'"),
        ("0 0 12 1 1 ? 2030-2020", "year", "year ranges cannot wrap"),
        ("0 0 12 ? * MON\u00a0", None, "ASCII"),
        # Never fires.
        ("0 0 0 30 2 ?", None, "never fires"),
        ("0 0 0 31 APR,JUN,SEP,NOV ?", None, "never fires"),
        ("0 0 0 29 2 ? 2023", None, "never fires"),
    ],
)
def test_refusals_name_the_field_and_the_reason(text: str, field: str | None, reason: str) -> None:
    with pytest.raises(CronError) as caught:
        Cron.parse(text)

    error = caught.value
    assert error.field == field
    assert error.expression == text
    assert reason in error.reason
    assert reason in str(error)
    if field is not None:
        assert f"{field} field" in str(error)


def test_cron_error_is_a_validation_error_and_a_value_error() -> None:
    with pytest.raises(ValidationError):
        Cron.parse("0 0 12 * * MON")
    with pytest.raises(ValueError, match="day-of-week"):
        Cron.parse("0 0 12 ? * 9")


def test_cron_error_pickles() -> None:
    with pytest.raises(CronError) as caught:
        Cron.parse("0 0 12 ? * 9")

    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301

    assert (copy.field, copy.expression, copy.reason, str(copy)) == (
        caught.value.field,
        caught.value.expression,
        caught.value.reason,
        str(caught.value),
    )


def test_a_long_expression_is_clipped_in_the_message() -> None:
    text = "0 0 12 ? * MON " + "1," * 200
    with pytest.raises(CronError) as caught:
        Cron.parse(text)

    assert caught.value.expression == text
    assert len(str(caught.value)) < 300


def test_leap_day_in_a_leap_year_is_accepted() -> None:
    assert str(Cron.parse("0 0 0 29 2 ? 2024")) == "0 0 0 29 FEB ? 2024"


def test_a_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="str"):
        Cron.parse(5)  # type: ignore[arg-type]


def test_equality_and_hash_follow_the_canonical_form() -> None:
    spellings = ["0 0 12 ? * 2-6", "0 0 12 ? * MON-FRI *", "0 0 12 ? * mon,tue,wed,thu,fri"]
    crons = [Cron.parse(text) for text in spellings]

    assert len(set(crons)) == 1
    assert crons[0] == crons[1] == crons[2]
    assert Cron.parse("0 0 12 ? * MON") != Cron.parse("0 0 12 ? * TUE")
    text: object = "0 0 12 ? * MON-FRI *"  # typed object: comparing unlike types is the point
    assert crons[0] != text


def test_cron_is_frozen_and_reads_back() -> None:
    cron = Cron("0 0/5 * ? * *")

    assert cron == Cron.parse("0 0/5 * ? * *")
    assert repr(cron) == "Cron('0 0/5 * ? * * *')"
    assert pickle.loads(pickle.dumps(cron)) == cron  # noqa: S301
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        cron._expression = "* * * ? * *"  # type: ignore[misc]
