"""Properties of Cron checked against the plain reading in ``cron_reference``."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvas_async.schedule import Cron, CronError
from tests.schedule.cron_reference import Expected, expressions

OSLO = ZoneInfo("Europe/Oslo")
NEW_YORK = ZoneInfo("America/New_York")
INDIA = timezone(timedelta(hours=5, minutes=30))

# Instants near where a search carries or a clock jumps, with a zone to read
# the wall clock in: month and year ends, leap day, and the 2024 daylight-saving
# changes of Oslo (01:00 UTC on 31 March and 27 October) and New York.
EDGES: list[tuple[datetime, tzinfo]] = [
    (datetime(2024, 3, 31, 0, 0, tzinfo=UTC), OSLO),
    (datetime(2024, 10, 27, 0, 0, tzinfo=UTC), OSLO),
    (datetime(2024, 3, 10, 6, 0, tzinfo=UTC), NEW_YORK),
    (datetime(2024, 11, 3, 5, 0, tzinfo=UTC), NEW_YORK),
    (datetime(2024, 1, 31, 22, 0, tzinfo=UTC), UTC),
    (datetime(2024, 2, 28, 22, 0, tzinfo=UTC), UTC),
    (datetime(2023, 2, 28, 22, 0, tzinfo=UTC), INDIA),
    (datetime(2024, 12, 31, 22, 0, tzinfo=UTC), OSLO),
]
WINDOW = timedelta(hours=2)


@st.composite
def instants(draw: st.DrawFn) -> tuple[datetime, tzinfo]:
    """An instant up to an hour after an edge, and the edge's zone."""
    base, zone = draw(st.sampled_from(EDGES))
    seconds = draw(st.integers(0, 3600))
    microseconds = draw(st.sampled_from([0, 1, 500_000]))
    return base + timedelta(seconds=seconds, microseconds=microseconds), zone


def fires_at(expected: Expected, when: datetime) -> bool:
    """Reference: does the schedule fire at ``when`` (an instant, shown in its zone)?"""
    if not expected.matches_wall(when):
        return False
    # A repeated wall-clock time fires at its first occurrence only.
    return not (when.fold == 1 and when.replace(fold=0).utcoffset() != when.utcoffset())


@settings(max_examples=100, deadline=None)
@given(expressions())
def test_canonical_form_round_trips(drawn: tuple[str, Expected]) -> None:
    """Whatever parse accepts, its canonical form parses to an equal Cron and is stable."""
    text, _ = drawn
    try:
        cron = Cron.parse(text)
    except CronError as error:
        refusal = error.reason
    else:
        refusal = ""
    if refusal:
        # The strategy draws only valid grammar, so the one refusal is a date
        # that cannot exist, such as 31 in months of 30 days.
        assert refusal.startswith("never fires"), refusal
        return
    again = Cron.parse(str(cron))
    assert again == cron
    assert hash(again) == hash(cron)
    assert str(again) == str(cron)
    assert len(str(cron).split()) == 7


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions(dense=True, special_days=False), instants())
def test_fire_times_are_every_matching_second(
    drawn: tuple[str, Expected], start: tuple[datetime, tzinfo]
) -> None:
    """next_fire_times finds exactly the seconds a brute-force scan finds."""
    text, expected = drawn
    after, zone = start
    cron = Cron.parse(text)
    end = after + WINDOW
    scan = []
    second = after.replace(microsecond=0) + timedelta(seconds=1)
    while second <= end:
        local = second.astimezone(zone)
        if fires_at(expected, local):
            scan.append(local)
        second += timedelta(seconds=1)

    found = cron.next_fire_times(after, count=len(scan) + 1, tz=zone)

    assert found[: len(scan)] == scan
    assert [t.utcoffset() for t in found[: len(scan)]] == [t.utcoffset() for t in scan]
    if len(found) > len(scan):
        assert found[len(scan)] > end
    assert all(t.tzinfo is zone for t in found)
    assert all(cron.matches(t) for t in found)
    in_utc = [t.astimezone(UTC) for t in found]
    assert all(a < b for a, b in itertools.pairwise(in_utc))
    assert not found or in_utc[0] > after


@settings(max_examples=50, deadline=None)
@given(
    expressions(time_of_day=(12, 0, 0)),
    st.dates(date(1999, 12, 1), date(2096, 1, 1)),
)
def test_fire_days_match_a_day_by_day_scan(drawn: tuple[str, Expected], start: date) -> None:
    """L, W, #, names and lists pick the same days as the plain reading."""
    text, expected = drawn
    try:
        cron = Cron.parse(text)
    except CronError:
        return  # never fires; the round-trip property covers the refusal
    after = datetime(start.year, start.month, start.day, tzinfo=UTC)
    days: list[datetime] = []
    day = start
    horizon = start + timedelta(days=800)
    while day < horizon and len(days) < 12:
        if expected.day(day) and day.month in expected.months and day.year in expected.years:
            days.append(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
        day += timedelta(days=1)

    found = cron.next_fire_times(after, count=len(days) + 1)

    assert found[: len(days)] == days
    if len(found) > len(days) and len(days) < 12:
        assert found[len(days)].date() >= horizon


@settings(max_examples=100, deadline=None)
@given(expressions(), st.datetimes(datetime(1970, 1, 1), datetime(2099, 12, 31)))
def test_matches_agrees_with_the_plain_reading(drawn: tuple[str, Expected], when: datetime) -> None:
    text, expected = drawn
    try:
        cron = Cron.parse(text)
    except CronError:
        return
    assert cron.matches(when.replace(tzinfo=UTC)) == expected.matches_wall(when)


CRON_CHARACTERS = st.sampled_from([*"0123456789*?/-,#LW ", "JAN", "MON", "SUN", "L-", "15W"])


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(CRON_CHARACTERS, max_size=30).map("".join)))
def test_any_string_parses_or_raises_cron_error(text: str) -> None:
    for convert in (Cron.parse, Cron.from_unix):
        try:
            cron = convert(text)
        except CronError as error:
            refused: CronError | None = error
        else:
            refused = None
            assert Cron.parse(str(cron)) == cron
        assert refused is None or refused.expression == text
