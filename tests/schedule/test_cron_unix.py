"""Cron.from_unix: 5-field Unix cron to Quartz."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from canvas_async.schedule import Cron, CronError


@pytest.mark.parametrize(
    ("unix", "quartz"),
    [
        ("*/5 * * * *", "0 0/5 * ? * * *"),
        ("0 2 * * 1-5", "0 0 2 ? * MON-FRI *"),
        ("0 * * * *", "0 0 * ? * * *"),
        ("30 4 1,15 * *", "0 30 4 1,15 * ? *"),
        ("0 0 1 * *", "0 0 0 1 * ? *"),
        ("0 0 * * 0", "0 0 0 ? * SUN *"),
        ("0 0 * * 7", "0 0 0 ? * SUN *"),
        ("0 0 * * 6", "0 0 0 ? * SAT *"),
        ("0 0 * * 5-7", "0 0 0 ? * SUN,FRI,SAT *"),
        ("0 0 * * 0-6", "0 0 0 ? * * *"),
        ("0 0 * * */2", "0 0 0 ? * SUN,TUE,THU,SAT *"),
        ("0 0 * * 1-5/2", "0 0 0 ? * MON,WED,FRI *"),
        ("0 0 * * sat,sun", "0 0 0 ? * SUN,SAT *"),
        ("0 0 * * MON-FRI", "0 0 0 ? * MON-FRI *"),
        ("0 12 * jan,jul *", "0 0 12 ? JAN,JUL * *"),
        ("0 9-17/2 * * *", "0 0 9-17/2 ? * * *"),
        ("  15   3 * *   *  ", "0 15 3 ? * * *"),
        ("@hourly", "0 0 * ? * * *"),
        ("@daily", "0 0 0 ? * * *"),
        ("@midnight", "0 0 0 ? * * *"),
        ("@weekly", "0 0 0 ? * SUN *"),
        ("@monthly", "0 0 0 1 * ? *"),
        ("@yearly", "0 0 0 1 JAN ? *"),
        ("@ANNUALLY", "0 0 0 1 JAN ? *"),
    ],
)
def test_conversion(unix: str, quartz: str) -> None:
    cron = Cron.from_unix(unix)

    assert str(cron) == quartz
    assert cron == Cron.parse(quartz)


def test_weekdays_fire_on_the_same_days() -> None:
    """2024-01-05 is a Friday: Unix 1-5 (Mon-Fri) next fires on Monday the 8th."""
    times = Cron.from_unix("0 9 * * 1-5").next_fire_times(datetime(2024, 1, 5, 10, tzinfo=UTC), 2)

    assert times == [datetime(2024, 1, 8, 9, tzinfo=UTC), datetime(2024, 1, 9, 9, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("unix", "field", "reason"),
    [
        ("0 0 1 * 1", None, "fires on days matching either"),
        ("0 0 */2 * 1", None, "both restricted"),
        ("0 0 * * * *", None, "looks like a Quartz expression"),
        ("0 0 * *", None, "expected 5 fields"),
        ("@reboot", None, "unknown shorthand '@reboot'"),
        ("60 * * * *", "minute", "60 is out of range (0-59)"),
        ("0 24 * * *", "hour", "24 is out of range"),
        ("0 0 32 * *", "day-of-month", "32 is out of range"),
        ("0 0 * 13 *", "month", "13 is out of range"),
        ("0 0 ? * *", "day-of-month", "cannot read '?' as Unix cron"),
        ("0 0 L * *", "day-of-month", "cannot read 'L' as Unix cron"),
        ("0 0 * * 8", "day-of-week", "8 is out of range (0-7; Unix numbers"),
        ("0 0 * * 5-1", "day-of-week", "runs backwards"),
        ("0 0 * * 1/0", "day-of-week", "increment must be 1-7"),
        ("0 0 * * MONDAY", "day-of-week", "unknown day-of-week name 'MONDAY'"),
        ("0 0 * * 5L", "day-of-week", "cannot read '5L' as Unix cron"),
        ("0 0 * * 1#2", "day-of-week", "cannot read '1#2' as Unix cron"),
        ("0 0 * * 123", "day-of-week", "out of range"),
    ],
)
def test_refusals(unix: str, field: str | None, reason: str) -> None:
    with pytest.raises(CronError) as caught:
        Cron.from_unix(unix)

    assert caught.value.field == field
    assert caught.value.expression == unix
    assert reason in str(caught.value)
