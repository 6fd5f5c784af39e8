"""Cron.describe: one line of English."""

from __future__ import annotations

import pytest

from canvas_async.schedule import Cron


@pytest.mark.parametrize(
    ("expression", "description"),
    [
        ("0 0/5 * ? * * *", "every 5 minutes"),
        ("0 0 2,6 ? * TUE *", "at 02:00 and 06:00 on Tuesday"),
        ("0 0 * ? * *", "every hour"),
        ("0 0 0/1 ? * * *", "every hour"),
        ("* * * ? * *", "every second"),
        ("0/15 * * ? * *", "every 15 seconds"),
        ("0 * * ? * *", "every minute"),
        ("30 * * ? * *", "every minute at second 30"),
        ("0 15 * ? * *", "every hour at minute 15"),
        ("0 0,30 * ? * *", "every hour at minutes 0 and 30"),
        ("0 0 0/2 ? * *", "every 2 hours"),
        ("0 30 1/3 ? * *", "every 3 hours from 01:30"),
        ("0 0 12 * * ?", "at 12:00 every day"),
        ("0 30 10 ? * *", "at 10:30 every day"),
        ("15 30 10 ? * *", "at 10:30:15 every day"),
        ("0 0 9-17 ? * MON-FRI", "every hour from 09:00 to 17:00 on Monday through Friday"),
        (
            "0 0/15 9-17 ? * 2-6",
            "every 15 minutes between 09:00 and 17:59 on Monday through Friday",
        ),
        ("0 0 12 ? * 1,7", "at 12:00 on Sunday and Saturday"),
        ("0 0 12 L * ?", "at 12:00 on the last day of the month"),
        ("0 0 12 L-3 * ?", "at 12:00 on the last day of the month minus 3 days"),
        ("0 0 12 LW * ?", "at 12:00 on the last weekday of the month"),
        ("0 0 12 15W * ?", "at 12:00 on the weekday nearest day 15 of the month"),
        ("0 0 12 ? * 6L", "at 12:00 on the last Friday of the month"),
        ("0 0 12 ? * 2#1", "at 12:00 on the first Monday of the month"),
        ("0 0 12 ? * L", "at 12:00 on Saturday"),
        ("0 0 12 1,15 * ?", "at 12:00 on days 1 and 15 of the month"),
        ("0 0 12 1/5 * ?", "at 12:00 on every 5th day of the month from day 1"),
        ("0 0 12 1 1 ? 2030", "at 12:00 on day 1 of January in 2030"),
        ("0 0 0 L FEB ?", "at 00:00 on the last day of February"),
        ("0 0 12 ? JAN,JUL 2#1", "at 12:00 on the first Monday of January and July"),
        ("0 0 12 ? * * 2024/2", "at 12:00 every day every 2nd year from 2024"),
        ("0 0/5 * ? 6-8 *", "every 5 minutes in June through August"),
    ],
)
def test_describe(expression: str, description: str) -> None:
    assert Cron.parse(expression).describe() == description


def test_describe_is_one_line_for_a_busy_expression() -> None:
    text = Cron.parse("1,2,3 4,5 6,7,8,9 ? 1,3,5 2#3 2020-2025,2030").describe()

    assert "\n" not in text
    assert text == (
        "every hour at minutes 4 and 5, seconds 1 through 3 between 06:00 and 09:59"
        " on the third Monday of January, March and May in 2020 through 2025 and 2030"
    )
