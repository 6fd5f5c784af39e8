"""Fire times: Quartz semantics, calendar edges, daylight saving, arguments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from canvas_async import ValidationError
from canvas_async.schedule import Cron

OSLO = ZoneInfo("Europe/Oslo")


def utc(  # noqa: PLR0917 - the fields of a datetime, in its order
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fire_days(expression: str, after: datetime, count: int) -> list[str]:
    """The dates of the next ``count`` fire times, as ISO strings."""
    return [t.date().isoformat() for t in Cron.parse(expression).next_fire_times(after, count)]


def test_the_spec_example() -> None:
    """Spec "Schedules": last run 2022-04-26 06:00 UTC, next run 2022-05-03 02:00 UTC."""
    cron = Cron.parse("0 0 2,6 ? * TUE *")

    assert cron.next_fire_time(utc(2022, 4, 26, 6, 0, 28)) == utc(2022, 5, 3, 2, 0, 0)
    assert cron.next_fire_times(utc(2022, 4, 26, 6, 0, 28), 3) == [
        utc(2022, 5, 3, 2),
        utc(2022, 5, 3, 6),
        utc(2022, 5, 10, 2),
    ]


def test_every_five_minutes() -> None:
    times = Cron.parse("0 0/5 * ? * * *").next_fire_times(utc(2024, 1, 31, 23, 52, 10), 3)

    assert times == [utc(2024, 1, 31, 23, 55), utc(2024, 2, 1, 0, 0), utc(2024, 2, 1, 0, 5)]


def test_increments_start_where_they_say() -> None:
    assert Cron.parse("3-59/7 * * ? * *").next_fire_times(utc(2024, 1, 1, 0, 0, 50), 3) == [
        utc(2024, 1, 1, 0, 0, 52),
        utc(2024, 1, 1, 0, 0, 59),
        utc(2024, 1, 1, 0, 1, 3),
    ]
    assert fire_days("0 0 0 /10 * ?", utc(2024, 1, 31, 12), 4) == [
        "2024-02-01",
        "2024-02-11",
        "2024-02-21",
        "2024-03-01",
    ]


def test_a_wrapping_hour_range_crosses_midnight() -> None:
    times = Cron.parse("0 0 22-1 ? * *").next_fire_times(utc(2024, 1, 1, 12), 5)

    assert [t.hour for t in times] == [22, 23, 0, 1, 22]


def test_strictly_after_even_at_a_fire_time_and_with_microseconds() -> None:
    cron = Cron.parse("* * * ? * *")

    assert cron.next_fire_time(utc(2024, 1, 1, 12)) == utc(2024, 1, 1, 12, 0, 1)
    assert cron.next_fire_time(utc(2024, 1, 1, 12).replace(microsecond=1)) == utc(
        2024, 1, 1, 12, 0, 1
    )
    assert Cron.parse("0 0 12 ? * *").next_fire_time(utc(2024, 1, 1, 12)) == utc(2024, 1, 2, 12)


# -- days of the week ----------------------------------------------------------


def test_day_of_week_numbers_run_from_sunday() -> None:
    """1 = SUN ... 7 = SAT; 2024-01-07 is a Sunday."""
    after = utc(2024, 1, 1)
    assert fire_days("0 0 12 ? * 1", after, 1) == ["2024-01-07"]
    assert fire_days("0 0 12 ? * 7", after, 1) == ["2024-01-06"]
    assert fire_days("0 0 12 ? * 2", after, 1) == ["2024-01-01"]
    assert fire_days("0 0 12 ? * 2-6", utc(2024, 1, 5, 13), 2) == ["2024-01-08", "2024-01-09"]
    assert fire_days("0 0 12 ? * SUN,SAT", after, 3) == ["2024-01-06", "2024-01-07", "2024-01-13"]


def test_l_alone_in_day_of_week_is_saturday() -> None:
    assert fire_days("0 0 12 ? * L", utc(2024, 1, 1), 2) == ["2024-01-06", "2024-01-13"]


def test_last_weekday_of_the_month() -> None:
    """``6L``: the last Friday."""
    assert fire_days("0 0 12 ? * 6L", utc(2024, 1, 1), 3) == [
        "2024-01-26",
        "2024-02-23",
        "2024-03-29",
    ]


def test_nth_weekday_of_the_month() -> None:
    """``2#1``: the first Monday; ``6#5``: the fifth Friday, in months that have one."""
    assert fire_days("0 0 12 ? * 2#1", utc(2024, 1, 1), 3) == [
        "2024-01-01",
        "2024-02-05",
        "2024-03-04",
    ]
    assert fire_days("0 0 12 ? * FRI#5", utc(2024, 1, 1), 4) == [
        "2024-03-29",
        "2024-05-31",
        "2024-08-30",
        "2024-11-29",
    ]


def test_a_rare_rule_is_found_years_away() -> None:
    """A fifth Friday of February needs a leap year whose February starts on Friday."""
    assert fire_days("0 0 12 ? FEB 6#5", utc(2009, 1, 1), 2) == ["2036-02-29", "2064-02-29"]


# -- days of the month -----------------------------------------------------------


def test_last_day_of_the_month() -> None:
    assert fire_days("0 0 0 L * ?", utc(2023, 1, 15), 4) == [
        "2023-01-31",
        "2023-02-28",
        "2023-03-31",
        "2023-04-30",
    ]


def test_days_before_the_last() -> None:
    assert fire_days("0 0 0 L-3 * ?", utc(2024, 1, 1), 4) == [
        "2024-01-28",
        "2024-02-26",
        "2024-03-28",
        "2024-04-27",
    ]


def test_an_offset_longer_than_the_month_skips_it() -> None:
    """``L-29``: the 2nd of 31-day months, the 1st of 30-day months, no day of February."""
    assert fire_days("0 0 0 L-29 * ?", utc(2023, 1, 15), 3) == [
        "2023-03-02",
        "2023-04-01",
        "2023-05-02",
    ]


def test_last_weekday_lw() -> None:
    """March 31 and June 30, 2024 are Sundays, August 31 a Saturday."""
    assert fire_days("0 0 0 LW * ?", utc(2024, 3, 1), 6) == [
        "2024-03-29",
        "2024-04-30",
        "2024-05-31",
        "2024-06-28",
        "2024-07-31",
        "2024-08-30",
    ]


def test_nearest_weekday_does_not_cross_a_month_boundary() -> None:
    """June 1, 2024 is a Saturday: ``1W`` fires Monday the 3rd, not Friday May 31."""
    assert fire_days("0 0 0 1W * ?", utc(2024, 5, 15), 1) == ["2024-06-03"]
    # September 1, 2024 is a Sunday: Monday the 2nd.
    assert fire_days("0 0 0 1W * ?", utc(2024, 8, 15), 1) == ["2024-09-02"]
    # June 30, 2024 is a Sunday and the month's last day: Friday the 28th.
    assert fire_days("0 0 0 30W * ?", utc(2024, 6, 15), 1) == ["2024-06-28"]
    # March 31, 2024 is a Sunday: Friday the 29th, not Monday April 1.
    assert fire_days("0 0 0 31W * ?", utc(2024, 3, 15), 1) == ["2024-03-29"]


def test_nearest_weekday_in_the_middle_of_the_month() -> None:
    """June 15, 2024 is a Saturday (Friday 14th); September 15 a Sunday (Monday 16th)."""
    assert fire_days("0 0 0 15W * ?", utc(2024, 6, 1), 4) == [
        "2024-06-14",
        "2024-07-15",
        "2024-08-15",
        "2024-09-16",
    ]


def test_nearest_weekday_of_a_day_the_month_lacks_skips_the_month() -> None:
    assert fire_days("0 0 0 31W * ?", utc(2024, 4, 1), 2) == ["2024-05-31", "2024-07-31"]


def test_the_31st_skips_short_months() -> None:
    assert fire_days("0 0 0 31 * ?", utc(2024, 1, 31), 4) == [
        "2024-03-31",
        "2024-05-31",
        "2024-07-31",
        "2024-08-31",
    ]


# -- leap years and year ends -----------------------------------------------------


def test_february_29_fires_in_leap_years_only() -> None:
    assert fire_days("0 0 0 29 2 ?", utc(2021, 1, 1), 3) == [
        "2024-02-29",
        "2028-02-29",
        "2032-02-29",
    ]


def test_l_in_february_of_leap_and_common_years() -> None:
    assert fire_days("0 0 0 L FEB ?", utc(2023, 1, 1), 3) == [
        "2023-02-28",
        "2024-02-29",
        "2025-02-28",
    ]
    assert fire_days("0 0 0 LW FEB ?", utc(2025, 1, 1), 1) == ["2025-02-28"]


def test_the_search_carries_into_the_next_year() -> None:
    cron = Cron.parse("0 0 0 1 1 ?")

    assert cron.next_fire_time(utc(2024, 12, 31, 23, 59, 59)) == utc(2025, 1, 1)


def test_none_when_the_schedule_has_ended() -> None:
    assert Cron.parse("0 0 0 1 1 ? 2020").next_fire_time(utc(2024, 1, 1)) is None
    assert Cron.parse("0 0 0 1 1 ? 2020").next_fire_times(utc(2024, 1, 1), 5) == []
    # 2096 is the last leap year Quartz's years reach.
    assert Cron.parse("0 0 0 29 2 ?").next_fire_time(utc(2096, 3, 1)) is None
    assert Cron.parse("* * * ? * *").next_fire_time(datetime.max.replace(tzinfo=UTC)) is None


def test_fewer_results_when_the_schedule_ends_first() -> None:
    times = Cron.parse("0 0 0 1 1 ? 2025-2027").next_fire_times(utc(2024, 1, 1), 10)

    assert times == [utc(2025, 1, 1), utc(2026, 1, 1), utc(2027, 1, 1)]


def test_an_instant_before_1970_starts_at_the_first_fire_time() -> None:
    assert Cron.parse("0 0 0 1 1 ?").next_fire_time(datetime.min.replace(tzinfo=UTC)) == utc(
        1970, 1, 1
    )


# -- time zones -----------------------------------------------------------------


def test_results_are_aware_in_the_zone_asked_for() -> None:
    new_york = ZoneInfo("America/New_York")

    times = Cron.parse("0 0 9 ? * *").next_fire_times(utc(2024, 1, 1), 2, tz=new_york)

    assert times == [
        datetime(2024, 1, 1, 9, tzinfo=new_york),
        datetime(2024, 1, 2, 9, tzinfo=new_york),
    ]
    assert all(t.tzinfo is new_york for t in times)
    assert times[0].astimezone(UTC) == utc(2024, 1, 1, 14)


def test_a_fixed_offset_zone() -> None:
    minus_five = timezone(timedelta(hours=-5))

    time = Cron.parse("0 0 9 ? * *").next_fire_time(utc(2024, 1, 1, 15), tz=minus_five)

    assert time == datetime(2024, 1, 2, 9, tzinfo=minus_five)


def test_after_may_be_in_any_zone() -> None:
    cron = Cron.parse("0 0 12 ? * *")
    after = datetime(2024, 1, 1, 12, 30, tzinfo=OSLO)  # 11:30 UTC

    assert cron.next_fire_time(after) == utc(2024, 1, 1, 12)


def test_spring_forward_skips_a_time_that_does_not_exist() -> None:
    """Oslo 2024-03-31: 02:00 jumps to 03:00, so there is no 02:30 that day."""
    cron = Cron.parse("0 30 2 ? * *")

    times = cron.next_fire_times(datetime(2024, 3, 30, 12, tzinfo=OSLO), 2, tz=OSLO)

    assert times == [
        datetime(2024, 4, 1, 2, 30, tzinfo=OSLO),
        datetime(2024, 4, 2, 2, 30, tzinfo=OSLO),
    ]
    assert not cron.matches(datetime(2024, 3, 31, 2, 30, tzinfo=OSLO))


def test_spring_forward_with_a_frequent_schedule() -> None:
    times = Cron.parse("0 0/30 * ? * *").next_fire_times(
        datetime(2024, 3, 31, 0, 45, tzinfo=OSLO), 4, tz=OSLO
    )

    assert [t.strftime("%H:%M%z") for t in times] == [
        "01:00+0100",
        "01:30+0100",
        "03:00+0200",
        "03:30+0200",
    ]


def test_fall_back_fires_a_repeated_time_once_at_its_first_occurrence() -> None:
    """Oslo 2024-10-27: 03:00 CEST goes back to 02:00 CET, so 02:30 happens twice."""
    cron = Cron.parse("0 30 2 ? * *")

    times = cron.next_fire_times(datetime(2024, 10, 26, 12, tzinfo=OSLO), 3, tz=OSLO)

    assert [t.astimezone(UTC) for t in times] == [
        utc(2024, 10, 27, 0, 30),  # 02:30 CEST, the first occurrence
        utc(2024, 10, 28, 1, 30),  # 02:30 CET the next day
        utc(2024, 10, 29, 1, 30),
    ]
    assert times[0].utcoffset() == timedelta(hours=2)
    assert cron.matches(datetime(2024, 10, 27, 2, 30, fold=0, tzinfo=OSLO))
    assert not cron.matches(datetime(2024, 10, 27, 2, 30, fold=1, tzinfo=OSLO))


def test_fall_back_with_a_frequent_schedule() -> None:
    times = Cron.parse("0 0/30 * ? * *").next_fire_times(
        datetime(2024, 10, 27, 1, 45, tzinfo=OSLO), 4, tz=OSLO
    )

    assert [t.astimezone(UTC).strftime("%H:%M") for t in times] == [
        "00:00",
        "00:30",
        "02:00",
        "02:30",
    ]
    assert [t.strftime("%H:%M%z") for t in times] == [
        "02:00+0200",
        "02:30+0200",
        "03:00+0100",
        "03:30+0100",
    ]


def test_after_inside_the_repeated_hour() -> None:
    """From 02:10 CET (the second 02:10), 02:30 CEST is past: next is 03:00 CET."""
    after = datetime(2024, 10, 27, 2, 10, fold=1, tzinfo=OSLO)

    time = Cron.parse("0 0/30 * ? * *").next_fire_time(after, tz=OSLO)

    assert time is not None
    assert time.astimezone(UTC) == utc(2024, 10, 27, 2, 0)


def test_utc_has_no_daylight_saving() -> None:
    times = Cron.parse("0 30 2 ? * *").next_fire_times(utc(2024, 3, 30, 12), 2)

    assert times == [utc(2024, 3, 31, 2, 30), utc(2024, 4, 1, 2, 30)]


# -- matches ---------------------------------------------------------------------


def test_matches_reads_the_wall_clock_of_the_zone_given() -> None:
    cron = Cron.parse("0 0 12 ? * MON")

    assert cron.matches(utc(2024, 1, 1, 12))
    assert cron.matches(utc(2024, 1, 1, 12).replace(microsecond=999_999))
    assert not cron.matches(utc(2024, 1, 1, 12, 0, 1))
    assert not cron.matches(utc(2024, 1, 2, 12))
    assert cron.matches(datetime(2024, 1, 1, 12, tzinfo=OSLO))
    assert not cron.matches(datetime(2024, 1, 1, 12, tzinfo=OSLO).astimezone(UTC))


# -- arguments -------------------------------------------------------------------


def test_a_naive_datetime_is_refused() -> None:
    cron = Cron.parse("0 0 12 ? * *")

    with pytest.raises(ValidationError, match="after must be timezone-aware"):
        cron.next_fire_times(datetime(2024, 1, 1), 1)
    with pytest.raises(ValidationError, match="after must be timezone-aware"):
        cron.next_fire_time(datetime(2024, 1, 1))
    with pytest.raises(ValidationError, match="when must be timezone-aware"):
        cron.matches(datetime(2024, 1, 1))


def test_a_naive_datetime_is_refused_even_for_no_results() -> None:
    with pytest.raises(ValidationError):
        Cron.parse("0 0 12 ? * *").next_fire_times(datetime(2024, 1, 1), 0)


def test_count() -> None:
    cron = Cron.parse("0 0 12 ? * *")

    assert cron.next_fire_times(utc(2024, 1, 1), 0) == []
    assert len(cron.next_fire_times(utc(2024, 1, 1), 400)) == 400
    with pytest.raises(ValidationError, match="count must be at least 0"):
        cron.next_fire_times(utc(2024, 1, 1), -1)
    with pytest.raises(TypeError, match="count must be an int"):
        cron.next_fire_times(utc(2024, 1, 1), 1.5)  # type: ignore[arg-type]


def test_wrong_argument_types() -> None:
    cron = Cron.parse("0 0 12 ? * *")

    with pytest.raises(TypeError, match="after must be a datetime"):
        cron.next_fire_time("2024-01-01")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tz must be a tzinfo"):
        cron.next_fire_time(utc(2024, 1, 1), tz="Europe/Oslo")  # type: ignore[arg-type]
