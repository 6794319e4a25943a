"""Tests for celerylint.project.crontab, with Celery's own crontab as the oracle.

* Field parsing, crontab(...) calls and crontab.from_string are compared with
  what ``celery.schedules.crontab`` computes (or rejects).
* Firing times come from Celery's scheduler itself: ``crontab.remaining_delta``
  stepped from firing to firing (UTC app), see ``celery_firings``.
* hotspots() is compared with a brute force over 28 real calendar years
  (2001-2028, which holds every (month, day, weekday), Feb 29 included).
"""

from __future__ import annotations

import itertools
import time
from datetime import date, datetime, timedelta, timezone

import pytest
from celery import Celery
from celery.schedules import crontab
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from celerylint.project.crontab import (
    Crontab,
    Hotspot,
    crontab_from_call,
    crontab_from_string,
    describe_minutes,
    edit_distance,
    entry_identity,
    hotspot_groups,
    hotspot_message,
    hotspots,
    interval_seconds,
    minutes_of_week,
    names_by_last,
    parse_field,
    period_seconds,
    schedule_from_celery,
    suggest,
)

FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
RANGES = {"minute": (0, 59), "hour": (0, 23), "day_of_week": (0, 6), "day_of_month": (1, 31), "month_of_year": (1, 12)}

APP = Celery(set_as_current=False)
APP.conf.enable_utc = True
APP.conf.timezone = "UTC"

SUNDAY = datetime(2023, 1, 1, tzinfo=timezone.utc)  # a Sunday, 00:00
assert SUNDAY.isoweekday() == 7


# --------------------------------------------------------------------------- oracles


def celery_sets(*args, **kwargs):
    """The five sets Celery computes for crontab(*args, **kwargs), or None if it raises."""
    try:
        c = crontab(*args, **kwargs)
    except Exception:
        return None
    return tuple(frozenset(getattr(c, f)) for f in FIELDS)


def celery_field(value, field):
    sets = celery_sets(**{field: value})
    return None if sets is None else sets[FIELDS.index(field)]


def as_tuple(c: Crontab | None):
    return None if c is None else tuple(getattr(c, f) for f in FIELDS)


def celery_firings(c: crontab, start: datetime, end: datetime) -> list[datetime]:
    """Firing times of ``c`` in (start, end), stepped with Celery's own scheduler."""
    c.app = APP
    out = []
    t = start
    while True:
        last, delta, _now = c.remaining_delta(t, tz="UTC")
        t = last + delta
        if t >= end:
            return out
        assert t > last
        out.append(t)


def to_ours(c: crontab) -> Crontab:
    return Crontab(*(frozenset(getattr(c, f)) for f in FIELDS))


# --------------------------------------------------------------------------- strategies

DAY_WORDS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sunday", "monday", "friday", "thurs"]
MONTH_WORDS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", "january", "sept"]


def _case(word):
    return st.sampled_from([word, word.upper(), word.capitalize()])


numbers = st.one_of(
    st.integers(1, 6).map(str),  # valid in every field, so that many specs are accepted
    st.integers(0, 23).map(str),
    st.integers(-2, 65).map(str),
    st.sampled_from(
        DAY_WORDS + MONTH_WORDS + ["x", "mo", "00", "007", "+5", " 5", "5 ", "1_0", "\u0663", "-1", "-0"]
    ).flatmap(_case),
)
steps = st.one_of(st.integers(1, 9).map(str), st.integers(0, 70).map(str), st.sampled_from(["", "x", "-1", "1_0"]))
parts = st.one_of(
    st.just("*"),
    st.builds(lambda s: f"*/{s}", steps),
    numbers,
    st.builds(lambda a, b: f"{a}-{b}", numbers, numbers),
    st.builds(lambda a, b, s: f"{a}-{b}/{s}", numbers, numbers, steps),
    st.builds(lambda p, junk: p + junk, st.sampled_from(["*", "1-5", "*/5", "3", "1-5/2"]),
              st.sampled_from(["/", "/3", "-", "-2", " x", "!", "/2/3", "*"])),
)
field_strings = st.one_of(
    st.lists(parts, min_size=1, max_size=4).map(",".join),
    st.lists(parts, min_size=0, max_size=3).map(lambda ps: ",".join(ps) + ","),  # empty parts
    st.text(alphabet="0123456789*-/, abcdefmnorstuwy_+", max_size=12),
)
field_ints = st.one_of(st.integers(-3, 70), st.booleans())
field_iterables = st.one_of(
    st.lists(st.integers(-1, 62), max_size=6),
    st.lists(st.integers(0, 31), max_size=6).map(tuple),
    st.sets(st.integers(0, 31), max_size=6),
    st.sets(st.integers(0, 31), max_size=6).map(frozenset),
    st.builds(range, st.integers(-1, 62), st.integers(-1, 63), st.integers(1, 7)),
    st.lists(st.one_of(st.integers(0, 12), st.integers(0, 12).map(str)), min_size=1, max_size=4),
)
field_values = st.one_of(field_strings, field_ints, field_iterables, st.none(), st.just(1.5))


# --------------------------------------------------------------------------- parse_field


def expected_field(value, field):
    """Celery's answer, except where the module deliberately says None (empty sets)."""
    got = celery_field(value, field)
    if got is not None and not got:
        return None  # Celery builds crontab(minute=[]) but is_due then fails; see below
    return got


@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow])
@given(value=field_strings, field=st.sampled_from(FIELDS))
def test_parse_field_strings_match_celery(value, field):
    assert parse_field(value, field) == expected_field(value, field)


@settings(max_examples=300)
@given(value=st.one_of(field_ints, field_iterables), field=st.sampled_from(FIELDS))
def test_parse_field_ints_and_iterables_match_celery(value, field):
    assert parse_field(value, field) == expected_field(value, field)


@pytest.mark.parametrize(
    "value, field",
    [
        ("mon-fri", "day_of_week"),
        ("fri-mon", "day_of_week"),  # wraps
        ("sat-sun", "day_of_week"),
        ("Monday", "day_of_week"),
        ("jan", "day_of_week"),  # a month name in day_of_week: Celery reads 1 (Monday)
        ("mon", "minute"),
        ("jan-mar", "month_of_year"),
        ("50-10/15", "minute"),  # wrap, then step over the wrapped list
        ("1-5/2 junk", "minute"),
        ("*/5/7", "minute"),
        ("1-2-3", "minute"),
        (" 5", "minute"),
        ("1_0", "minute"),
        ("*/15", "minute"),
        ("0,8-17/2", "hour"),
        ("2-30/2", "day_of_month"),
    ],
)
def test_parse_field_known_accepted(value, field):
    ours = parse_field(value, field)
    assert ours is not None
    assert ours == celery_field(value, field)


@pytest.mark.parametrize(
    "value, field",
    [
        ("7", "day_of_week"),
        ("5/15", "minute"),
        ("*/0", "minute"),
        ("*/", "minute"),
        ("1-", "hour"),
        ("-5", "minute"),
        ("-0", "minute"),  # int() would read 0; Celery refuses a leading '-'
        ("", "minute"),
        ("1,,2", "minute"),
        ("0", "day_of_month"),
        ("13", "month_of_year"),
        ("60", "minute"),
        (["1", "2"], "minute"),
        (None, "minute"),
        (1.5, "minute"),
        (24, "hour"),
    ],
)
def test_parse_field_known_rejected(value, field):
    assert celery_field(value, field) is None
    assert parse_field(value, field) is None


def test_parse_field_deviations_from_celery():
    # Celery accepts an empty field, but its scheduler cannot run it.
    assert celery_field([], "minute") == frozenset()
    with pytest.raises(ValueError):
        crontab(minute=[], app=APP).remaining_delta(SUNDAY, tz="UTC")
    assert parse_field([], "minute") is None
    # Celery keeps floats from an iterable as they are; we do not guess.
    assert celery_field([1.5], "minute") == {1.5}
    assert parse_field([1.5], "minute") is None


def test_parse_field_huge_range_is_cheap():
    start = time.perf_counter()
    assert parse_field(range(10**12), "minute") is None
    assert parse_field(range(0, 60, 15), "minute") == {0, 15, 30, 45}
    assert time.perf_counter() - start < 0.1


# --------------------------------------------------------------------------- crontab_from_call / from_string

call_values = st.one_of(
    st.sampled_from(["*", "*/15", "0", "mon-fri", "1", "29", "30", "31", "feb", "2", "4", "1-7", "*/5", "x", "7"]),
    st.integers(-1, 32),
    st.none(),
    st.lists(st.integers(0, 31), min_size=1, max_size=3),
)
call_names = st.sampled_from(list(FIELDS) + ["nowfun", "app", "foo", "minutes", "day_of_month"])


@settings(max_examples=500)
@given(args=st.lists(call_values, max_size=6), kwargs=st.dictionaries(call_names, call_values, max_size=4))
def test_crontab_from_call_matches_celery(args, kwargs):
    assert as_tuple(crontab_from_call(args, kwargs)) == celery_sets(*args, **kwargs)


def test_crontab_from_call_cases():
    assert as_tuple(crontab_from_call((), {})) == celery_sets()
    assert as_tuple(crontab_from_call((0, 2), {"nowfun": None, "app": object()})) == celery_sets(0, 2)
    for args, kwargs in [
        ((), {"day_of_month": 30, "month_of_year": 2}),  # never occurs
        ((), {"day_of_month": "31", "month_of_year": "apr,jun"}),
        ((0,), {"minute": 5}),  # given twice
        ((0, 0, 0, 1, 1, 0), {}),  # too many positionals
        ((), {"minutes": 5}),
        ((), {"minute": None}),  # Celery expands the raw None and raises
    ]:
        assert celery_sets(*args, **kwargs) is None
        assert crontab_from_call(args, kwargs) is None
    feb29 = crontab_from_call((0, 0), {"day_of_month": 29, "month_of_year": 2})
    assert as_tuple(feb29) == celery_sets(0, 0, day_of_month=29, month_of_year=2)


def celery_from_string(s):
    try:
        c = crontab.from_string(s)
    except Exception:
        return None
    return tuple(frozenset(getattr(c, f)) for f in FIELDS)


simple_cron_fields = st.sampled_from(["*", "*", "0", "*/15", "1-5", "mon", "jan", "30", "2", "1,3", "7", "*/0", ""])
cron_field_text = st.one_of(simple_cron_fields, field_strings)


@settings(max_examples=400)
@given(
    fields=st.one_of(
        st.lists(simple_cron_fields, min_size=5, max_size=5),  # mostly accepted
        st.lists(cron_field_text, min_size=5, max_size=5),
        st.lists(cron_field_text, min_size=3, max_size=7),
    ),
    seps=st.one_of(st.just([" "] * 6), st.lists(st.sampled_from([" ", " ", "  ", "\t"]), min_size=6, max_size=6)),
    tail=st.sampled_from(["", "", "", " ", "\n"]),
)
def test_crontab_from_string_matches_celery(fields, seps, tail):
    expr = fields[0] + "".join(sep + f for sep, f in zip(seps, fields[1:])) + tail
    assert as_tuple(crontab_from_string(expr)) == celery_from_string(expr)


def test_crontab_from_string_cases():
    assert as_tuple(crontab_from_string("0 0 1 * mon")) == celery_from_string("0 0 1 * mon")
    # cron order: minute hour day_of_month month_of_year day_of_week
    c = crontab_from_string("5 4 3 2 1")
    assert (c.minute, c.hour, c.day_of_month, c.month_of_year, c.day_of_week) == ({5}, {4}, {3}, {2}, {1})
    for bad in ["0  0 * * *", "0 0 * *", "0\t0 * * *", "0 0 * * * ", "0 0 30 2 *"]:
        assert celery_from_string(bad) is None
        assert crontab_from_string(bad) is None
    assert crontab_from_string(None) is None


# --------------------------------------------------------------------------- semantics: AND, firing times

small_minutes = st.sampled_from([0, 30, 59, [0, 30], "*/20", "15-45/15", "*/30", [5, 50]])
small_hours = st.sampled_from([0, 2, 23, "*/8", "*/5", "*/6", "0-2", [1, 13], "*/12", "*/7"])
dows = st.sampled_from(["*", "mon", "sun", "sat", "mon-fri", "sat,sun", "*/2", [0, 3]])
doms = st.sampled_from(["*", 1, 15, "1-7", 29, 31, "30,31", "*/10"])
moys = st.sampled_from(["*", 2, "feb", "1-6", 4, 12, "*/3"])


@settings(max_examples=40, deadline=None)
@given(minute=small_minutes, hour=small_hours, dow=dows, dom=doms, moy=moys)
def test_celery_fires_when_all_fields_match(minute, hour, dow, dom, moy):
    """AND semantics, checked on Celery's scheduler: every firing matches every
    field, and (over one year) every matching day is a firing day."""
    try:
        c = crontab(minute, hour, dow, dom, moy)
    except ValueError:
        assume(False)
    ours = crontab_from_call((minute, hour, dow, dom, moy), {})
    start = datetime(2024, 1, 1, tzinfo=timezone.utc) - timedelta(minutes=1)
    end = datetime(2025, 1, 1, tzinfo=timezone.utc)
    fired = celery_firings(c, start, end)
    fired_days = {t.date() for t in fired}
    for t in fired:
        assert t.minute in ours.minute and t.hour in ours.hour
    matching_days = set()
    d = date(2024, 1, 1)
    while d < date(2025, 1, 1):
        if d.isoweekday() % 7 in ours.day_of_week and d.day in ours.day_of_month and d.month in ours.month_of_year:
            matching_days.add(d)
        d += timedelta(days=1)
    assert fired_days == matching_days
    assert len(fired) == len(matching_days) * len(ours.hour) * len(ours.minute)


@settings(max_examples=60, deadline=None)
@given(minute=small_minutes, hour=small_hours, dow=dows)
def test_minutes_of_week_match_celery_firings(minute, hour, dow):
    c = crontab(minute, hour, dow)
    fired = celery_firings(c, SUNDAY - timedelta(minutes=1), SUNDAY + timedelta(days=7))
    expected = {int((t - SUNDAY).total_seconds()) // 60 for t in fired}
    assert minutes_of_week(to_ours(c)) == expected


def test_minutes_of_week_ignores_day_of_month():
    c = crontab_from_call((0, 0), {"day_of_month": 1, "day_of_week": "mon"})
    assert minutes_of_week(c) == {1440}


period_minutes = st.one_of(
    st.sampled_from(["*", "*/15", "*/7", "*/30", "0", "30", "0,30", "0,20", "*/45", "10-50/20"]),
    st.integers(0, 59),
)
period_hours = st.one_of(st.sampled_from(["*", "*/2", "*/5", "*/8", "*/12", "2", "0,12", "1,13", "*/3", "9-17"]),
                         st.integers(0, 23))
period_dows = st.sampled_from(["*", "mon", "*/2", "mon,thu", "sun,wed", "mon-fri"])


@settings(max_examples=120, deadline=None)
@given(minute=period_minutes, hour=period_hours, dow=period_dows)
def test_period_seconds_matches_celery_gaps(minute, hour, dow):
    c = crontab(minute, hour, dow)
    # Three weeks of firings contain every gap of a weekly-periodic schedule.
    fired = celery_firings(c, SUNDAY - timedelta(minutes=1), SUNDAY + timedelta(days=21))
    gaps = {int((b - a).total_seconds()) for a, b in zip(fired, fired[1:])}
    expected = gaps.pop() if len(gaps) == 1 else None
    assert period_seconds(to_ours(c)) == expected


@pytest.mark.parametrize(
    "kwargs",
    [{"day_of_month": 1}, {"day_of_month": "1-30"}, {"month_of_year": "*/2"}, {"day_of_month": "*/2"}],
)
def test_period_seconds_none_when_day_of_month_or_month_restricted(kwargs):
    c = crontab(minute=0, hour=3, **kwargs)
    fired = celery_firings(c, SUNDAY, SUNDAY + timedelta(days=2 * 366))
    gaps = {b - a for a, b in zip(fired, fired[1:])}
    assert len(gaps) > 1  # really irregular
    assert period_seconds(to_ours(c)) is None


def test_period_seconds_full_day_of_month_spelled_out_is_unrestricted():
    c = crontab_from_call((0, 2), {"day_of_month": range(1, 32), "month_of_year": "1-12"})
    assert period_seconds(c) == 24 * 3600


# --------------------------------------------------------------------------- describe_minutes


def test_describe_minutes_names_days_and_times():
    day = 24 * 60
    assert describe_minutes([d * day for d in range(7)]) == "every day at 00:00"
    assert describe_minutes([5 * 60]) == "Sun at 05:00"
    assert describe_minutes([d * day + h * 60 for d in range(1, 6) for h in (9, 17)]) == "Mon-Fri at 09:00, 17:00"
    # Monday first; days with different times are separate groups, earliest time first
    assert describe_minutes([0 * day + 120, 6 * day + 120, 3 * day + 30]) == "Wed at 00:30; Sat, Sun at 02:00"
    assert describe_minutes([m * 60 for m in range(6)]) == "Sun at 00:00, 01:00, 02:00, 03:00, ..."


def test_describe_minutes_agrees_with_the_calendar():
    for m in range(0, 7 * 1440, 7):
        t = SUNDAY + timedelta(minutes=m)
        assert describe_minutes([m]) == f"{('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun')[t.weekday()]} at {t:%H:%M}"
    for bad in (-1, 7 * 1440):
        with pytest.raises(ValueError):
            describe_minutes([bad])


# --------------------------------------------------------------------------- hotspots


def cron(**kwargs) -> Crontab:
    c = crontab_from_call((), kwargs)
    assert c is not None
    return c


DAILY_MIDNIGHT = dict(minute=0, hour=0)


def test_every_day_class_occurs_in_the_calendar():
    """The premise of hotspots(): every (month, day, weekday) valid for the month
    (Feb 29 included) occurs, in fact within 2001-2028."""
    seen = set()
    d = date(2001, 1, 1)
    while d.year <= 2028:
        seen.add((d.month, d.day, d.isoweekday() % 7))
        d += timedelta(days=1)
    assert len(seen) == 366 * 7


@pytest.mark.parametrize("threshold", [0, 1, 3, 5])
def test_threshold_boundary(threshold):
    same = cron(**DAILY_MIDNIGHT)
    assert hotspots([(i, same) for i in range(threshold)], threshold) == []
    if threshold:  # one more entry, a minute later, is not with them
        assert hotspots([(i, same) for i in range(threshold)] + [("x", cron(minute=1, hour=0))], threshold) == []
    got = hotspots([(i, same) for i in range(threshold + 1)], threshold)
    assert got == [Hotspot(0, tuple(range(threshold + 1)), threshold + 1, "")]


def test_default_threshold_is_three():
    same = cron(minute="*/15")
    assert hotspots([(i, same) for i in range(3)]) == []
    assert [h.count for h in hotspots([(i, same) for i in range(4)])] == [4]


def test_monthly_jobs_on_different_days_do_not_collide():
    day1 = cron(**DAILY_MIDNIGHT, day_of_month=1)
    day15 = cron(**DAILY_MIDNIGHT, day_of_month=15)
    assert hotspots([("a", day1), ("b", day15)], 1) == []
    assert hotspots([("a", day1), ("b", day1)], 1) == [Hotspot(0, ("a", "b"), 2, "on day 1 of the month")]


def test_monthly_and_daily_collide_on_the_first():
    got = hotspots([("daily", cron(**DAILY_MIDNIGHT)), ("monthly", cron(**DAILY_MIDNIGHT, day_of_month=1))], 1)
    assert got == [Hotspot(0, ("daily", "monthly"), 2, "on day 1 of the month")]


def test_day_of_week_and_day_of_month_are_anded():
    # Mondays only vs the 1st only: they meet on Mondays that are the 1st.
    mondays = cron(**DAILY_MIDNIGHT, day_of_week="mon")
    first = cron(**DAILY_MIDNIGHT, day_of_month=1)
    first_monday = cron(**DAILY_MIDNIGHT, day_of_month="1-7", day_of_week="mon")
    got = hotspots([("m", mondays), ("f", first), ("fm", first_monday)], 2)
    assert got == [Hotspot(1440, ("m", "f", "fm"), 3, "on day 1 of the month")]
    # Every day of February vs the 30th and 31st of every month: never together.
    february = cron(**DAILY_MIDNIGHT, month_of_year=2)
    late = cron(**DAILY_MIDNIGHT, day_of_month="30,31")
    assert hotspots([("a", february), ("b", late)], 1) == []


def test_groups_are_reported_once_each_and_sorted():
    daily = [(f"d{i}", cron(**DAILY_MIDNIGHT)) for i in range(4)]
    weekly = ("w", cron(**DAILY_MIDNIGHT, day_of_week="wed"))
    monthly = ("m", cron(**DAILY_MIDNIGHT, day_of_month=1))
    later = [(f"l{i}", cron(minute=30, hour=6)) for i in range(4)]
    got = hotspots(later + daily + [weekly, monthly], 3)
    keys = tuple(k for k, _ in daily)
    # Input order: later, dailies, weekly, monthly.  Sorted by count, then minute.
    assert got == [
        Hotspot(3 * 1440, keys + ("w", "m"), 6, "on day 1 of the month"),  # Wednesday the 1st
        Hotspot(0, keys + ("m",), 5, "on day 1 of the month"),  # Sunday the 1st
        Hotspot(3 * 1440, keys + ("w",), 5, ""),  # every other Wednesday
        Hotspot(0, keys, 4, ""),  # the earliest moment with exactly the four dailies: Sunday
        Hotspot(6 * 60 + 30, tuple(k for k, _ in later), 4, ""),
    ]
    assert len({h.keys for h in got}) == len(got)


def test_note_for_months_and_days():
    feb29 = cron(**DAILY_MIDNIGHT, day_of_month=29, month_of_year=2)
    got = hotspots([("a", feb29), ("b", cron(**DAILY_MIDNIGHT))], 1)
    assert [(h.keys, h.note) for h in got] == [(("a", "b"), "on day 29 of Feb")]
    quarterly = cron(**DAILY_MIDNIGHT, month_of_year="1-3,7")
    got = hotspots([("a", quarterly), ("b", quarterly)], 1)
    assert [h.note for h in got] == ["in Jan-Mar, Jul"]
    first_week = cron(**DAILY_MIDNIGHT, day_of_month="1-7,15")
    got = hotspots([("a", first_week), ("b", cron(**DAILY_MIDNIGHT))], 1)
    assert [h.note for h in got] == ["on days 1-7, 15 of the month"]
    # Restrictions that do not restrict beyond the other field are not mentioned.
    got = hotspots([("a", cron(**DAILY_MIDNIGHT, month_of_year="apr,jun")), ("b", cron(**DAILY_MIDNIGHT))], 1)
    assert [h.note for h in got] == ["in Apr, Jun"]  # not "on days 1-30 of Apr, Jun"
    first29 = cron(**DAILY_MIDNIGHT, day_of_month="1-29")
    got = hotspots([("a", first29), ("b", cron(**DAILY_MIDNIGHT, month_of_year=2))], 1)
    assert [h.note for h in got] == ["in Feb"]
    got = hotspots([("a", cron(**DAILY_MIDNIGHT, day_of_month=31)), ("b", cron(**DAILY_MIDNIGHT))], 1)
    assert [h.note for h in got] == ["on day 31 of the month"]


def test_hotspot_keys_keep_input_order_and_duplicates():
    same = cron(minute=5)
    got = hotspots([("z", same), ("a", same), ("z", same)], 2)
    assert [h.keys for h in got] == [("z", "a", "z")]
    assert got[0].minute_of_week == 5


def brute_force_hotspots(crons, threshold):
    """Distinct exact firing groups over 28 real calendar years."""
    earliest = {}
    done = set()
    d = date(2001, 1, 1)
    while d.year <= 2028:
        dow = d.isoweekday() % 7
        firing = tuple(
            i for i, c in enumerate(crons)
            if d.month in c.month_of_year and d.day in c.day_of_month and dow in c.day_of_week
        )
        if (dow, firing) not in done:
            done.add((dow, firing))
            at = {}
            for i in firing:
                for h, m in itertools.product(crons[i].hour, crons[i].minute):
                    at.setdefault(h * 60 + m, []).append(i)
            for mod, group in at.items():
                if len(group) > threshold:
                    key = tuple(group)
                    earliest[key] = min(earliest.get(key, 10**9), dow * 1440 + mod)
        d += timedelta(days=1)
    return sorted(((-len(g), mow, g) for g, mow in earliest.items()))


entry_specs = st.tuples(
    st.sampled_from([0, 30, [0, 30], "*/30"]),
    st.sampled_from([0, 1, [0, 1], "0-1"]),
    st.sampled_from(["*", "mon", "sun", "mon-fri", 0, 6, "sat,sun"]),
    st.sampled_from(["*", "*", 1, 15, "1-7", 29, 31, "30,31"]),
    st.sampled_from(["*", "*", 2, "feb", "1-6", 4, 12]),
)


@settings(max_examples=60, deadline=None)
@given(specs=st.lists(entry_specs, min_size=1, max_size=8), threshold=st.integers(0, 3))
def test_hotspots_match_calendar_brute_force(specs, threshold):
    crons = []
    for spec in specs:
        try:
            crons.append(crontab(*spec))
        except ValueError:
            pass
    assume(crons)
    got = hotspots([(f"k{i}", to_ours(c)) for i, c in enumerate(crons)], threshold)
    expected = brute_force_hotspots(crons, threshold)
    assert [(-h.count, h.minute_of_week, h.keys) for h in got] == [
        (n, mow, tuple(f"k{i}" for i in g)) for n, mow, g in expected
    ]


def test_hotspots_performance():
    """Measured on the development machine (best of 3): ~6 ms for these 601
    entries (500 weekly-periodic, 100 with day_of_month/month_of_year
    restrictions, one every-minute job; 81 hotspots), ~3 ms for the first 300.
    The cost grows with the size of the answer: a contrived 500 entries that all
    fire every few minutes on 250 different month-days yield 20,832 hotspots
    and take ~0.75 s."""
    entries = []
    for i in range(500):
        dow = "*" if i % 3 else "mon-fri"
        entries.append((f"e{i}", cron(minute=(i * 7) % 60, hour=f"*/{1 + i % 6}", day_of_week=dow)))
    for i in range(100):
        days = dict(day_of_month=1 + i % 28, month_of_year=f"*/{1 + i % 4}")
        entries.append((f"r{i}", cron(minute=(i * 5) % 60, hour=i % 24, **days)))
    entries.append(("hot", cron(minute="*")))
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        got = hotspots(entries, 3)
        best = min(best, time.perf_counter() - start)
    assert got and all(h.count > 3 for h in got)
    assert best < 0.1, f"hotspots took {best * 1000:.1f} ms"


def test_crontab_rejects_values_out_of_range():
    with pytest.raises(ValueError):
        Crontab(frozenset({60}), frozenset({0}), frozenset({0}), frozenset({1}), frozenset({1}))
    with pytest.raises(ValueError):
        Crontab({0}, frozenset({0}), frozenset({0}), frozenset({1}), frozenset({1}))


# --------------------------------------------------------------------------- shared with validate_schedules
#
# The functions below are what the static rules and `manage.py validate_schedules`
# both run (tests/test_validate_schedules.py checks that they give the same verdicts).


def test_importing_the_shared_logic_does_not_import_libcst():
    # celerylint_runtime imports this module; it must stay free of libcst (and of the
    # rest of celerylint).
    import subprocess
    import sys

    code = ("import sys; import celerylint.project.crontab as c; "
            "assert 'libcst' not in sys.modules, 'libcst'; "
            "others = sorted(m for m in sys.modules if m.startswith('celerylint') and m not in ('celerylint', 'celerylint.project', 'celerylint.project.crontab')); "
            "assert not others, others; print(c.SHARED_SCHEDULE_LOGIC)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "2"


# interval_seconds: the shortest gap between two firings, with Celery's scheduler as the oracle.


def celery_min_gap(c: crontab, start: datetime, end: datetime) -> float:
    fired = celery_firings(c, start, end)
    return min((b - a).total_seconds() for a, b in zip(fired, fired[1:]))


@settings(max_examples=120, deadline=None)
@given(minute=period_minutes, hour=period_hours, dow=period_dows)
def test_interval_seconds_is_celerys_shortest_gap(minute, hour, dow):
    c = crontab(minute, hour, dow)
    # Three weeks of firings contain every gap of a weekly-periodic schedule.
    expected = celery_min_gap(c, SUNDAY - timedelta(minutes=1), SUNDAY + timedelta(days=21))
    ours = to_ours(c)
    assert interval_seconds(ours) == expected
    if period_seconds(ours) is not None:  # a regular schedule: its period
        assert interval_seconds(ours) == period_seconds(ours)


@pytest.mark.parametrize("kwargs", [
    {"day_of_month": 1},  # Feb 1 -> Mar 1: 28 days
    {"day_of_month": 31},  # Jul 31 -> Aug 31 (Jan 31 -> Mar 31 is longer)
    {"day_of_month": "30,31", "month_of_year": "1-3"},  # Jan 30 -> Jan 31
    {"month_of_year": "*/2", "hour": "1,23"},  # daily in odd months, 23:00 -> 01:00
    {"day_of_month": 1, "day_of_week": "mon"},  # Mondays that are the 1st: Feb 1 -> Mar 1 of a common year
    {"day_of_month": "1-7", "day_of_week": "fri", "month_of_year": "3,6,9,12"},  # first Friday of a quarter's end
])
def test_interval_seconds_honours_day_of_month_and_month(kwargs):
    c = crontab(**{"minute": 0, "hour": 3, **kwargs})
    expected = celery_min_gap(c, datetime(2001, 1, 1, tzinfo=timezone.utc), datetime(2029, 1, 1, tzinfo=timezone.utc))
    assert interval_seconds(to_ours(c)) == expected
    assert period_seconds(to_ours(c)) is None  # not regular, yet the expires is known


def brute_force_day_gap(c: Crontab) -> int | None:
    """Days between consecutive firing days over a whole Gregorian cycle (2001-2400),
    walking the calendar one day at a time."""
    days = []
    d = date(2001, 1, 1)
    while d.year <= 2400:
        if d.month in c.month_of_year and d.day in c.day_of_month and d.isoweekday() % 7 in c.day_of_week:
            days.append(d.toordinal())
        d += timedelta(days=1)
    if not days:
        return None
    cycle = date(2401, 1, 1).toordinal() - date(2001, 1, 1).toordinal()
    return min([b - a for a, b in zip(days, days[1:])] + [days[0] + cycle - days[-1]])


restricted_specs = st.tuples(
    st.sampled_from(["*", "mon", "sun", "mon-fri", "sat,sun", "wed"]),
    st.sampled_from([1, 15, "1-7", 29, 31, "30,31", "*/10", "13"]),
    st.sampled_from(["*", 2, "feb", "1-6", 4, 12, "*/3"]),
)


@settings(max_examples=15, deadline=None)
@given(spec=restricted_specs)
def test_interval_seconds_matches_a_calendar_walk(spec):
    dow, dom, moy = spec
    try:
        c = to_ours(crontab(minute=0, hour=12, day_of_week=dow, day_of_month=dom, month_of_year=moy))
    except ValueError:
        assume(False)
    gap = brute_force_day_gap(c)
    assert interval_seconds(c) == (None if gap is None else gap * 86400.0)


def test_interval_seconds_rare_and_never():
    # Monday, February 29th: 28 years apart, less around 2100 (not a leap year).
    rare = cron(minute=0, hour=0, day_of_month=29, month_of_year=2, day_of_week="mon")
    assert interval_seconds(rare) == brute_force_day_gap(rare) * 86400.0 < 28 * 365 * 86400
    never = Crontab(*(frozenset(v) for v in ({0}, {0}, {0}, {30}, {2})))  # Feb 30: Celery refuses it
    assert interval_seconds(never) is None


def test_interval_seconds_of_intervals_and_others():
    assert interval_seconds(300.0) == 300.0 and interval_seconds(90) == 90.0
    for other in (0, -5, True, None, "solar", "300"):
        assert interval_seconds(other) is None


# schedule_from_celery: live Celery schedule objects to the static model.


@settings(max_examples=80, deadline=None)
@given(spec=entry_specs)
def test_schedule_from_celery_equals_the_static_reading(spec):
    try:
        live = crontab(*spec)
    except ValueError:
        assume(False)
    static = crontab_from_call(spec, {})
    assert schedule_from_celery(live) == static is not None


def test_schedule_from_celery_intervals_and_unknown_schedules():
    from celery.schedules import schedule, solar

    assert schedule_from_celery(schedule(timedelta(minutes=5))) == 300.0
    assert schedule_from_celery(schedule(run_every=90)) == 90.0
    assert schedule_from_celery(timedelta(hours=1)) == 3600.0  # beat_schedule also takes these
    assert schedule_from_celery(30) == 30.0
    sun = solar.__new__(solar)  # as built by solar("sunrise", 52.1, 4.3), which needs the ephem library
    sun.event, sun.lat, sun.lon = "sunrise", 52.1, 4.3
    assert schedule_from_celery(sun) is None
    assert schedule_from_celery(True) is None and schedule_from_celery(None) is None


# entry_identity: what makes two entries of a schedule the same job.


def test_entry_identity_is_task_arguments_and_schedule():
    daily = crontab_from_call((0, 3), {})
    same_daily = crontab_from_call(("0", "3"), {"day_of_week": "*"})  # spelled differently
    base = entry_identity("a.t", ("eu",), {"x": 1, "y": 2}, daily)
    assert base is not None
    # The same message at the same moments: a list is a tuple, keyword order is irrelevant.
    assert entry_identity("a.t", ["eu"], {"y": 2, "x": 1}, same_daily) == base
    # Anything else that reaches the worker or the clock differs.
    assert entry_identity("a.u", ("eu",), {"x": 1, "y": 2}, daily) != base
    assert entry_identity("a.t", ("us",), {"x": 1, "y": 2}, daily) != base
    assert entry_identity("a.t", ("eu",), {"x": 1}, daily) != base
    assert entry_identity("a.t", ("eu",), {"x": 1, "y": 2}, crontab_from_call((0, 4), {})) != base
    assert entry_identity("a.t", ("eu",), {"x": 1, "y": 2}, 86400) != base  # daily, but not at 03:00
    # Missing arguments are empty ones; intervals compare by seconds.
    assert entry_identity("a.t", None, None, 60) == entry_identity("a.t", [], {}, 60.0)
    # Not comparable: no task, or a schedule that is neither a crontab nor an interval.
    assert entry_identity("", (), {}, 60) is None and entry_identity(None, (), {}, 60) is None
    assert entry_identity("a.t", (), {}, "solar") is None and entry_identity("a.t", (), {}, None) is None
    # Values JSON cannot sort still compare (by repr).
    assert entry_identity("a.t", (), {1: "a", "b": 2}, 60) == entry_identity("a.t", (), {1: "a", "b": 2}, 60)


# suggest: the closest registered name.


REGISTERED = ["billing.tasks.charge_all_tenants", "billing.tasks.charge", "ops.tasks.ping", "ops.tasks.pong",
              "ops.jobs.ping_all", "mail.tasks.send_digest", "reports.tasks.send_digest"]


def test_suggest_finds_the_intended_name():
    assert suggest("billing.tasks.charge_all_tenant", REGISTERED) == "billing.tasks.charge_all_tenants"
    assert suggest("billing.tasks.charge_al", REGISTERED) == "billing.tasks.charge"  # fewer edits
    assert suggest("ops.tasks.pnig", REGISTERED) == "ops.tasks.ping"  # a swap is one edit
    assert suggest("jobs.ping", REGISTERED) == "ops.tasks.ping"  # the only "ping": moved module
    assert suggest("mail.tasks.send_digests", REGISTERED) == "mail.tasks.send_digest"  # two "send_digest": closest
    assert suggest("ops.tasks.ping()", ["ops.tasks.ping"]) == "ops.tasks.ping"
    assert suggest("ops.tasks.zzz_unrelated", REGISTERED) is None
    assert suggest("ops.tasks.ping", []) is None


@settings(max_examples=60, deadline=None)
@given(names=st.permutations(REGISTERED + ["ops.tasks.pint", "ops.tasks.pinh"]),
       query=st.sampled_from(["ops.tasks.pin", "ops.tasks.pingg", "mail.tasks.send_digets", "billing.charge",
                              "x.ping", "ops.tasks.pong_all"]))
def test_suggest_depends_only_on_the_set_of_names(names, query):
    # The live app's registry is a set and the static one is ordered by file: the same
    # names must give the same suggestion.
    expected = suggest(query, sorted(names))
    assert suggest(query, names) == expected
    assert suggest(query, set(names)) == expected
    assert suggest(query, dict.fromkeys(names), names_by_last(reversed(names))) == expected
    if expected is not None:  # none of the candidates is closer
        assert all(edit_distance(query, expected) <= edit_distance(query, n) for n in names
                   if n.rsplit(".", 1)[-1] == expected.rsplit(".", 1)[-1])


def test_suggest_breaks_ties_alphabetically():
    # "pin" is one edit from ping, pinh and pint alike.
    assert suggest("ops.tasks.pin", ["ops.tasks.pint", "ops.tasks.ping", "ops.tasks.pinh"]) == "ops.tasks.ping"


@settings(max_examples=200, deadline=None)
@given(a=st.text("abc._", max_size=8), b=st.text("abc._", max_size=8))
def test_edit_distance_properties(a, b):
    d = edit_distance(a, b)
    assert d == edit_distance(b, a)
    assert (d == 0) == (a == b)
    assert abs(len(a) - len(b)) <= d <= max(len(a), len(b))
    if len(a) >= 2:
        swapped = a[1] + a[0] + a[2:]
        assert edit_distance(a, swapped) == (0 if swapped == a else 1)


# hotspot_groups / hotspot_message: BEAT005's groups and wording.


def test_hotspot_groups_count_hourly_or_rarer_crontabs_only():
    midnight = cron(**DAILY_MIDNIGHT)
    entries = [("a", midnight), ("b", midnight), ("c", midnight), ("often", cron(minute="0,30", hour=0)),
               ("interval", 60.0), ("solar", "solar")]
    assert hotspot_groups(entries, 3) == []  # three that count, and three that do not
    [group] = hotspot_groups(entries + [("d", midnight)], 3)
    assert group.keys == ("a", "b", "c", "d") and group.count == 4 and group.when == "every day at 00:00"
    assert hotspot_message(group, group.keys, 3) == (
        '4 crontab entries fire together every day at 00:00 (hotspot-threshold is 3): "a", "b", "c", "d"')
    assert hotspot_message(group, group.keys, 3, setting="CELERYLINT_HOTSPOT_THRESHOLD").endswith(
        '(CELERYLINT_HOTSPOT_THRESHOLD is 3): "a", "b", "c", "d"')


def test_hotspot_groups_report_every_entry_once_with_its_largest_group():
    daily = [(f"d{i}", cron(**DAILY_MIDNIGHT)) for i in range(4)]
    wednesday = ("w", cron(**DAILY_MIDNIGHT, day_of_week="wed"))
    first = ("m", cron(**DAILY_MIDNIGHT, day_of_month=1))
    groups = hotspot_groups(daily + [wednesday, first], 3)
    # hotspots() finds four groups (see test_groups_are_reported_once_each_and_sorted);
    # the smaller ones add no member, so only the largest is reported.
    assert len(hotspots(daily + [wednesday, first], 3)) == 4
    assert [(g.keys, g.when) for g in groups] == [
        (("d0", "d1", "d2", "d3", "w", "m"), "Wed at 00:00 on day 1 of the month")]
    # Two monthly jobs on different days: two groups, each with its day.
    groups = hotspot_groups(daily[:3] + [("m1", cron(**DAILY_MIDNIGHT, day_of_month=1)),
                                         ("m15", cron(**DAILY_MIDNIGHT, day_of_month=15))], 3)
    assert [(g.keys, g.when) for g in groups] == [
        (("d0", "d1", "d2", "m1"), "at 00:00 on day 1 of the month"),
        (("d0", "d1", "d2", "m15"), "at 00:00 on day 15 of the month"),
    ]


def test_hotspot_message_lists_at_most_eight_names():
    same = cron(minute=7)
    [group] = hotspot_groups([(f"e{i}", same) for i in range(10)], 3)
    message = hotspot_message(group, list(group.keys), 3)
    assert message.startswith("10 crontab entries fire together every day at 00:07, 01:07, 02:07, 03:07, ...")
    assert message.endswith('"e6", "e7", ...') and '"e8"' not in message
