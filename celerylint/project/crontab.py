"""Celery's ``crontab`` schedules, and the schedule logic celerylint's static rules
share with ``manage.py validate_schedules`` (standard library only).

This module is the ONE implementation of: crontab expansion, hotspot grouping and
its wording (BEAT005, validate_schedules ``--check-hotspots``), the "did you mean"
suggestion (BEAT001, ``--check-orphaned-tasks``), the identity of duplicate entries
(BEAT003, ``--check-duplicates``) and a schedule's interval, the ``expires`` to set
(BEAT004's fix, ``--check-idempotency``).  The runtime (``celerylint_runtime``)
imports it without libcst, so it must never import anything outside the standard
library, nor any other celerylint module.

Static inputs are plain Python values the analyzer has already folded from source:
ints, strings, lists/tuples/sets of ints, ``range`` objects.  Live inputs are
Celery's own schedule objects, converted by ``schedule_from_celery``.

Celery semantics this module reproduces (checked against celery 5.7,
``celery/schedules.py`` and ``celery/utils/time.py``):

* **All fields must match (AND), unlike classic cron's day_of_month OR
  day_of_week.**  The class docstring says "any day on which execution should
  occur must be represented by entries in all three of the day and month
  attributes", and the scheduler does exactly that::

      execute_this_date = (
          last_run_at.month in self.month_of_year and
          last_run_at.day in self.day_of_month and
          dow_num in self.day_of_week
      )

  and, when day_of_month/month_of_year restrict, ``_delta_to_next`` walks the
  (month, day) candidates and keeps only ``th.isoweekday() % 7 in
  self.day_of_week``.  So ``crontab(0, 0, day_of_month=1, day_of_week='mon')``
  fires only on Mondays that are the 1st.

* Field values (``crontab._expand_cronspec``): an ``int`` is ``{value}``
  (``bool`` too: ``True`` is minute 1); a ``str`` goes through
  ``crontab_parser``; any other iterable is ``set(value)``; anything else
  (``None``, floats) raises ``TypeError``.  Note ``None`` is *rejected*: only the
  ``_orig_*`` copies go through ``cronfield`` (None -> '*'), the expansion gets
  the raw value.  Every number must lie in the field's range, so an iterable of
  *strings* (``['1', '2']``) is rejected (``'1' >= 60`` raises ``TypeError``).

* ``crontab_parser`` (ported literally below): the spec is split on ``,``
  (an empty part is an error) and each part is matched, with ``re.match``
  (anchored at the start only), against in turn ``(\\w+?)-(\\w+)/(\\w+)?``,
  ``(\\w+?)-(\\w+)``, ``\\*/(\\w+)?`` and ``^\\*$``; a part matching none of them is
  a single number.  Consequences:

  - trailing junk after a match is ignored: ``'1-5/2 junk'`` is {1, 3, 5},
    ``'*/5/7'`` is ``'*/5'``, ``'1-2-3'`` is ``'1-2'``;
  - ``'a/n'`` (``'5/15'``) is rejected; ``'*/0'`` is rejected (zero slice step);
  - a range ``a-b`` with ``b < a`` wraps: ``'fri-mon'`` is {5, 6, 0, 1}, and a
    step applies to the wrapped list: minute ``'50-10/15'`` is {50, 5};
  - numbers are read with ``int()``, so ``' 5'``, ``'+5'``, ``'1_0'`` (10) and
    non-ASCII digits are accepted; a leading ``'-'`` is rejected;
  - a non-number is looked up by its first three letters, case-insensitively,
    first as a month name (``jan``=1 .. ``dec``=12), then as a day name
    (``sun``=0 .. ``sat``=6), *in every field*: ``'monday'``, ``'MONxyz'`` are 1,
    month names work for month_of_year (``'jan-mar'``), and also, oddly, in
    day_of_week (``'jan'`` is Monday) and minute (``'mon'`` is minute 1);
  - day_of_week is 0-6 with 0 = Sunday; ``'7'`` is rejected ("Invalid end range").

* ``crontab(...)`` raises ``ValueError`` when no day of day_of_month occurs in
  any month of month_of_year (using 29 days for February), e.g. the 30th of
  February.  ``crontab.from_string(s)`` is ``s.split(" ")`` unpacked into exactly
  five fields in cron order (minute hour day_of_month month_of_year
  day_of_week), so double spaces, tabs or a trailing space are errors.

Deliberate deviations (Celery accepts these, we return None because they are
bugs rather than schedules): an empty iterable (``minute=[]``: Celery
constructs the schedule, then ``is_due`` fails on ``min()`` of an empty
sequence), and iterables holding non-``int`` numbers such as ``1.5``.

Time zones and DST are not modelled: everything is wall-clock time in the
schedule's time zone.
"""

from __future__ import annotations

import calendar
import difflib
import functools
import json
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

__all__ = [
    "SHARED_SCHEDULE_LOGIC",
    "Crontab",
    "Hotspot",
    "HotspotGroup",
    "crontab_from_call",
    "crontab_from_string",
    "describe_minutes",
    "edit_distance",
    "entry_identity",
    "every_minute",
    "every_minute_message",
    "hotspot_groups",
    "hotspot_message",
    "hotspots",
    "interval_seconds",
    "minutes_of_week",
    "names_by_last",
    "parse_field",
    "period_seconds",
    "schedule_from_celery",
    "suggest",
]

# The version of the API above that celerylint_runtime relies on (it checks this
# before using the module, so an older celerylint is reported, not crashed on).
# 2: every_minute, every_minute_message (BEAT008).
SHARED_SCHEDULE_LOGIC = 2

MINUTES_PER_DAY = 24 * 60
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY

# field -> (min_, max_) exactly as Celery passes them to crontab_parser(max_, min_):
# the valid values are min_ .. min_ + max_ - 1.
_FIELDS: dict[str, tuple[int, int]] = {
    "minute": (0, 60),
    "hour": (0, 24),
    "day_of_week": (0, 7),
    "day_of_month": (1, 31),
    "month_of_year": (1, 12),
}
_FIELD_ORDER = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
_IGNORED_KWARGS = frozenset({"nowfun", "app"})

# Celery's CRON_DAYS_IN_MONTH: the longest February (leap years).
_DAYS_IN_MONTH = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}
_DAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# celery.utils.time.YEARMONTHS / WEEKDAYS (looked up in that order).
_YEARMONTHS = {name.lower(): i for i, name in enumerate(_MONTH_NAMES, 1)}
_WEEKDAYS = {name.lower(): i for i, name in enumerate(_DAY_NAMES)}

_ALL_MINUTES = frozenset(range(60))
_ALL_HOURS = frozenset(range(24))
_ALL_DOW = frozenset(range(7))
_ALL_DOM = frozenset(range(1, 32))
_ALL_MOY = frozenset(range(1, 13))

# crontab_parser's patterns, in its order.
_RANGE = r"(\w+?)-(\w+)"
_STEPS = r"/(\w+)?"
_STAR = r"\*"
_RANGE_STEPS_RE = re.compile(_RANGE + _STEPS)
_RANGE_RE = re.compile(_RANGE)
_STAR_STEPS_RE = re.compile(_STAR + _STEPS)
_STAR_RE = re.compile("^" + _STAR + "$")


@dataclass(frozen=True)
class Crontab:
    """The expanded firing sets of a Celery ``crontab``; it fires when all five match."""

    minute: frozenset[int]  # 0-59
    hour: frozenset[int]  # 0-23
    day_of_week: frozenset[int]  # 0-6, 0 = Sunday (Celery's convention)
    day_of_month: frozenset[int]  # 1-31
    month_of_year: frozenset[int]  # 1-12

    def __post_init__(self) -> None:
        for name in _FIELD_ORDER:
            value = getattr(self, name)
            low, size = _FIELDS[name]
            if not isinstance(value, frozenset) or not all(
                isinstance(v, int) and low <= v < low + size for v in value
            ):
                raise ValueError(f"Crontab.{name} must be a frozenset of ints in {low}..{low + size - 1}")


@dataclass(frozen=True)
class Hotspot:
    """A group of entries firing at the same moment, more of them than the threshold."""

    minute_of_week: int  # earliest minute of the week (0 = Sun 00:00) at which exactly this group fires
    keys: tuple  # the entries' keys, in input order
    count: int  # len(keys)
    note: str  # "" or the day_of_month/month_of_year condition for the group to fire together


class _Reject(Exception):
    """Internal: the value is one Celery would reject."""


# --------------------------------------------------------------------------- parsing


def _expand_number(s: str, low: int, size: int) -> int:
    # crontab_parser._expand_number
    if s[0] == "-":
        raise _Reject
    try:
        i = int(s)
    except ValueError:
        abbreviation = s[0:3].lower()
        if abbreviation in _YEARMONTHS:
            i = _YEARMONTHS[abbreviation]
        elif abbreviation in _WEEKDAYS:
            i = _WEEKDAYS[abbreviation]
        else:
            raise _Reject from None
    if i > low + size - 1 or i < low:
        raise _Reject
    return i


def _expand_range(toks: Sequence[str], low: int, size: int) -> list[int]:
    fr = _expand_number(toks[0], low, size)
    if len(toks) > 1:
        to = _expand_number(toks[1], low, size)
        if to < fr:  # wraps around
            return list(range(fr, low + size)) + list(range(low, to + 1))
        return list(range(fr, to + 1))
    return [fr]


def _step(tok: str | None) -> int:
    if not tok:
        raise _Reject  # "empty filter"
    try:
        step = int(tok)
    except ValueError:
        raise _Reject from None
    if step == 0:
        raise _Reject  # "slice step cannot be zero"
    return step


def _parse_string(spec: str, low: int, size: int) -> set[int]:
    acc: set[int] = set()
    for part in spec.split(","):
        if not part:
            raise _Reject  # "empty part"
        m = _RANGE_STEPS_RE.match(part)
        if m:
            acc.update(_expand_range(m.groups()[:2], low, size)[:: _step(m.group(3))])
            continue
        m = _RANGE_RE.match(part)
        if m:
            acc.update(_expand_range(m.groups(), low, size))
            continue
        m = _STAR_STEPS_RE.match(part)
        if m:
            acc.update(range(low, low + size)[:: _step(m.group(1))])
            continue
        if _STAR_RE.match(part):
            acc.update(range(low, low + size))
            continue
        acc.add(_expand_number(part, low, size))
    return acc


def parse_field(value: object, field: str) -> frozenset[int] | None:
    """Expand one crontab field as Celery does; None if Celery rejects it.

    ``field`` is one of minute, hour, day_of_week, day_of_month, month_of_year.
    ``value`` is an int, a crontab-pattern string or an iterable of ints (a
    ``range`` included).  Also None for an empty iterable or non-int members
    (see the module docstring).  Never raises for a known ``field``.
    """
    low, size = _FIELDS[field]
    if isinstance(value, int):  # bool included, as in Celery
        values: Iterable[int] = (value,)
    elif isinstance(value, str):
        try:
            values = _parse_string(value, low, size)
        except _Reject:
            return None
    elif isinstance(value, range):  # checked by its ends, so range(10**12) is cheap
        if not value or min(value[0], value[-1]) < low or max(value[0], value[-1]) >= low + size:
            return None
        values = value
    elif isinstance(value, Iterable):
        try:
            values = list(value)
        except Exception:  # a broken iterator: not a schedule we can know
            return None
        if not all(isinstance(v, int) for v in values):
            return None  # strings: Celery raises TypeError; floats: see module docstring
    else:
        return None  # None, floats, ...: Celery raises TypeError
    result = frozenset(int(v) for v in values)
    if not result or any(v < low or v >= low + size for v in result):
        return None
    return result


def crontab_from_call(args: Sequence, kwargs: Mapping[str, object]) -> Crontab | None:
    """The schedule of ``crontab(*args, **kwargs)``, or None where Celery would raise.

    Celery's signature: ``crontab(minute='*', hour='*', day_of_week='*',
    day_of_month='*', month_of_year='*', **kwargs)``; omitted fields are '*',
    ``nowfun`` and ``app`` are ignored, any other keyword gives None.
    """
    if len(args) > len(_FIELD_ORDER):
        return None
    given: dict[str, object] = dict(zip(_FIELD_ORDER, args))
    for name, value in kwargs.items():
        if name in _IGNORED_KWARGS:
            continue
        if name not in _FIELDS or name in given:
            return None
        given[name] = value
    fields = {}
    for name in _FIELD_ORDER:
        parsed = parse_field(given.get(name, "*"), name)
        if parsed is None:
            return None
        fields[name] = parsed
    if not any(day <= _DAYS_IN_MONTH[month] for month in fields["month_of_year"] for day in fields["day_of_month"]):
        return None  # e.g. day 30 of February: Celery raises ValueError
    return Crontab(**fields)


def crontab_from_string(expr: str) -> Crontab | None:
    """``crontab.from_string(expr)``: "minute hour day_of_month month_of_year day_of_week"."""
    if not isinstance(expr, str):
        return None
    parts = expr.split(" ")
    if len(parts) != 5:
        return None
    minute, hour, day_of_month, month_of_year, day_of_week = parts
    return crontab_from_call((minute, hour, day_of_week, day_of_month, month_of_year), {})


# --------------------------------------------------------------------------- timing


def minutes_of_week(c: Crontab) -> frozenset[int]:
    """Minutes of the week (0..10079, day 0 = Sunday) on which ``c`` can fire.

    day_of_month and month_of_year are ignored.
    """
    minutes_of_day = [h * 60 + m for h in c.hour for m in c.minute]
    return frozenset(d * MINUTES_PER_DAY + md for d in c.day_of_week for md in minutes_of_day)


def period_seconds(c: Crontab) -> int | None:
    """The constant interval between consecutive firings, in seconds, or None.

    None when day_of_month or month_of_year restrict the schedule, or when the
    gaps differ (``hour='*/5'`` fires at 20:00 then 00:00 the next day).
    """
    if c.day_of_month != _ALL_DOM or c.month_of_year != _ALL_MOY:
        return None
    times = sorted(minutes_of_week(c))
    if not times:
        return None
    gap = (times[1] if len(times) > 1 else times[0] + MINUTES_PER_WEEK) - times[0]
    if MINUTES_PER_WEEK % gap or len(times) != MINUTES_PER_WEEK // gap:
        return None
    if any(b - a != gap for a, b in zip(times, times[1:])):
        return None
    return gap * 60


def describe_minutes(minutes: Iterable[int]) -> str:
    """``"every day at 00:00"``, ``"Mon-Fri at 09:00, 17:00"``, ``"Sun at 05:00"``: the
    minutes of the week (0 = Sunday 00:00) grouped by the days they fall on."""
    days_of: dict[int, set[int]] = {}
    for minute in sorted(set(minutes)):
        if not 0 <= minute < MINUTES_PER_WEEK:
            raise ValueError(f"minute of week out of range: {minute!r}")
        day, rest = divmod(minute, MINUTES_PER_DAY)
        days_of.setdefault(rest, set()).add(day)
    times_of: dict[frozenset[int], list[int]] = {}
    for rest, days in sorted(days_of.items()):
        times_of.setdefault(frozenset(days), []).append(rest)
    parts = []
    for days, rests in sorted(times_of.items(), key=lambda item: item[1][0]):
        if len(days) == 7:
            when = "every day"
        elif days == frozenset(range(1, 6)):
            when = "Mon-Fri"
        else:
            when = ", ".join(_DAY_NAMES[d] for d in sorted(days, key=lambda d: (d + 6) % 7))  # Monday first
        shown = ", ".join(f"{r // 60:02d}:{r % 60:02d}" for r in rests[:4]) + (", ..." if len(rests) > 4 else "")
        parts.append(f"{when} at {shown}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- collisions


def hotspots(entries: Sequence[tuple[Hashable, Crontab]], threshold: int = 3) -> list[Hotspot]:
    """Groups of more than ``threshold`` entries that fire at the same moment.

    A moment is a minute of the day on a calendar day; a calendar day matters
    only through its *day class* (month, day_of_month, weekday), and every
    class valid for its month (Feb 29 included) occurs in the Gregorian
    calendar.  So entries fire together iff they share a minute of the week
    and a (month, day_of_month) pair: a day-1 and a day-15 monthly job never
    collide, a day-1 monthly job and a daily job do, on the 1st.

    One Hotspot per distinct set of entries that is *exactly* the set firing at
    some moment, with more than ``threshold`` members; ``minute_of_week`` is the
    earliest such moment in the week, ``note`` is "" when the members fire
    together every week at that minute, else the day_of_month/month_of_year
    condition, e.g. "on day 1 of the month".  Sorted by count (descending),
    then minute_of_week, then input order.

    Entries are bits of Python ints: per minute of the week the mask of entries
    firing is built from per-field masks, and (month, day) restrictions are only
    applied to the restricted entries, once per distinct set of entries firing
    in a minute of the week.
    """
    entries = list(entries)
    floor = max(threshold, 0)  # a group needs more than `floor` members (and at least one)
    if len(entries) <= floor:
        return []

    by_minute = [0] * 60
    by_hour = [0] * 24
    by_dow = [0] * 7
    by_dom = [0] * 32
    by_month = [0] * 13
    restricted = 0  # entries whose day_of_month or month_of_year is not '*'
    for i, (_key, c) in enumerate(entries):
        bit = 1 << i
        for v in c.minute:
            by_minute[v] |= bit
        for v in c.hour:
            by_hour[v] |= bit
        for v in c.day_of_week:
            by_dow[v] |= bit
        for v in c.day_of_month:
            by_dom[v] |= bit
        for v in c.month_of_year:
            by_month[v] |= bit
        if c.day_of_month != _ALL_DOM or c.month_of_year != _ALL_MOY:
            restricted |= bit
    unrestricted = ~restricted

    # Which restricted entries run on each (month, day) that exists.
    day_masks = {
        restricted & by_month[month] & by_dom[day]
        for month, days in _DAYS_IN_MONTH.items()
        for day in range(1, days + 1)
    }

    # Pass 1: the set of entries firing at each minute of the week, ignoring days of
    # the month; keep each distinct set with its earliest minute.
    firing_first: dict[int, int] = {}  # mask -> earliest minute of week
    for dow in range(7):
        on_day = by_dow[dow]
        if on_day.bit_count() <= floor:
            continue
        for hour in range(24):
            on_hour = on_day & by_hour[hour]
            if on_hour.bit_count() <= floor:
                continue
            base_minute = dow * MINUTES_PER_DAY + hour * 60
            for minute in range(60):
                firing = on_hour & by_minute[minute]
                if firing.bit_count() > floor and firing not in firing_first:
                    firing_first[firing] = base_minute + minute

    # Pass 2: split each set by the (month, day) pairs: the unrestricted members
    # always fire, the restricted ones only on their days.
    first_seen: dict[int, int] = {}  # group mask -> earliest minute of week
    splits: dict[int, set[int]] = {}  # restricted members -> their distinct subsets by day
    for firing, when in firing_first.items():
        maybe = firing & restricted
        if not maybe:
            groups: Iterable[int] = (firing,)
        else:
            split = splits.get(maybe)
            if split is None:
                split = splits[maybe] = {maybe & mask for mask in day_masks}
            always = firing & unrestricted
            groups = [always | part for part in split]
        for group in groups:
            if group.bit_count() > floor and first_seen.get(group, MINUTES_PER_WEEK) > when:
                first_seen[group] = when

    result = []
    notes: dict[int, str] = {}  # restricted members -> note
    for group, when in first_seen.items():
        members = _bits(group)
        special = group & restricted
        note = notes.get(special)
        if note is None:
            note = notes[special] = _day_note([entries[i][1] for i in _bits(special)])
        hotspot = Hotspot(
            minute_of_week=when,
            keys=tuple(entries[i][0] for i in members),
            count=len(members),
            note=note,
        )
        result.append((hotspot, members))
    result.sort(key=lambda item: (-item[0].count, item[0].minute_of_week, item[1]))
    return [hotspot for hotspot, _ in result]


def _bits(mask: int) -> list[int]:
    """Indices of the set bits of ``mask``, ascending."""
    digits = bin(mask)[:1:-1]  # least significant bit first
    return [i for i, digit in enumerate(digits) if digit == "1"]


def _day_note(crons: Sequence[Crontab]) -> str:
    """When all of ``crons`` fire on the same day, as far as day_of_month/month_of_year say.

    "" (no condition), "in Jan-Mar", "on day 1 of the month", "on days 1-7 of Jan".
    """
    doms = frozenset.intersection(_ALL_DOM, *(c.day_of_month for c in crons))
    months = frozenset.intersection(_ALL_MOY, *(c.month_of_year for c in crons))
    longest = max((_DAYS_IN_MONTH[m] for m in months), default=31)
    doms = frozenset(d for d in doms if d <= longest)
    any_day = len(doms) == longest  # every day those months have
    any_month = months == _ALL_MOY
    if any_day and any_month:
        return ""
    month_text = _spans(months, lambda m: _MONTH_NAMES[m - 1])
    if any_day:
        return f"in {month_text}"
    day_text = ("day " if len(doms) == 1 else "days ") + _spans(doms, str)
    if any_month:
        return f"on {day_text} of the month"
    return f"on {day_text} of {month_text}"


def _spans(values: Iterable[int], name: Callable[[int], str]) -> str:
    """``1-3, 7`` style text for a set of ints; ``name`` renders one value."""
    values = sorted(values)
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    out = []
    for lo, hi in runs:
        if lo == hi:
            out.append(name(lo))
        elif hi == lo + 1:
            out.append(f"{name(lo)}, {name(hi)}")
        else:
            out.append(f"{name(lo)}-{name(hi)}")
    return ", ".join(out)


# --------------------------------------------------------------------------- live schedules


def schedule_from_celery(value: object) -> Crontab | float | None:
    """A live Celery schedule as this module models it: a ``Crontab`` for
    ``celery.schedules.crontab`` (and subclasses such as django-celery-beat's
    ``TzAwareCrontab``), seconds for an interval (``celery.schedules.schedule``, whose
    ``run_every`` is a timedelta, a bare ``timedelta`` or a number of seconds, as
    ``beat_schedule`` accepts), None for anything else (solar, clocked, custom).

    Duck-typed, so that this module needs no Celery: a crontab is an object with the
    five expanded field sets.
    """
    if all(hasattr(value, name) for name in _FIELD_ORDER):
        try:
            return Crontab(*(frozenset(getattr(value, name)) for name in _FIELD_ORDER))
        except (TypeError, ValueError):
            return None
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    run_every = getattr(value, "run_every", None)
    if isinstance(run_every, timedelta):
        return run_every.total_seconds()
    return None


# --------------------------------------------------------------------------- intervals (expires)


def interval_seconds(schedule: object) -> float | None:
    """The shortest time between two consecutive runs of ``schedule``, in seconds: the
    ``expires`` that BEAT004's fix sets and validate_schedules' idempotency check asks
    for (a run that has not started when the next one is due is stale).

    ``schedule`` is a ``Crontab`` or an interval in seconds (a positive number);
    anything else is None.  For a crontab, the gap between consecutive firings over
    the whole 400-year Gregorian cycle, day_of_month and month_of_year honoured (all
    fields must match, as in Celery); equal to ``period_seconds`` when that is not
    None.  None for a crontab that never fires (day 30 of February).
    """
    if isinstance(schedule, Crontab):
        minutes = sorted({h * 60 + m for h in schedule.hour for m in schedule.minute})
        day_gap = _shortest_day_gap(schedule.day_of_week, schedule.day_of_month, schedule.month_of_year)
        if not minutes or day_gap is None:
            return None
        gaps = [b - a for a, b in zip(minutes, minutes[1:])]
        gaps.append(day_gap * MINUTES_PER_DAY - minutes[-1] + minutes[0])  # last firing of a day -> first of the next
        return float(min(gaps) * 60)
    if isinstance(schedule, (int, float)) and not isinstance(schedule, bool) and schedule > 0:
        return float(schedule)
    return None


_GREGORIAN_CYCLE_YEARS = 400


@functools.lru_cache(maxsize=512)
def _shortest_day_gap(dow: frozenset[int], dom: frozenset[int], moy: frozenset[int]) -> int | None:
    """The fewest days between two consecutive days a crontab fires on (1 = every day),
    or None when it fires on no day at all."""
    if not dow:
        return None
    weekdays = sorted(dow)
    weekly = min([b - a for a, b in zip(weekdays, weekdays[1:])] + [7 - weekdays[-1] + weekdays[0]])
    if dom == _ALL_DOM and moy == _ALL_MOY:  # the days repeat weekly
        return weekly
    # Every firing day of one whole Gregorian cycle (weekdays repeat with it: 146097 days
    # is a whole number of weeks), the wrap-around to the next cycle included.
    months, month_days = sorted(moy), sorted(dom)
    first = previous = None
    best = None
    for year in range(2001, 2001 + _GREGORIAN_CYCLE_YEARS):
        for month in months:
            start = date(year, month, 1).toordinal() - 1
            length = calendar.monthrange(year, month)[1]
            for day in month_days:
                if day > length:
                    break
                ordinal = start + day
                if ordinal % 7 not in dow:  # ordinal 1 (0001-01-01) is a Monday: Celery's 1
                    continue
                if previous is None:
                    first = ordinal
                elif best is None or ordinal - previous < best:
                    best = ordinal - previous
                    if best == weekly:  # day_of_week allows nothing shorter
                        return best
                previous = ordinal
    if first is None:
        return None
    cycle = date(2001 + _GREGORIAN_CYCLE_YEARS, 1, 1).toordinal() - date(2001, 1, 1).toordinal()
    wrap = first + cycle - previous
    return wrap if best is None else min(best, wrap)


# --------------------------------------------------------------------------- hotspot groups


@dataclass(frozen=True)
class HotspotGroup:
    """A group of entries to report as a hotspot, with the wording of when they collide."""

    keys: tuple  # the entries' keys, in input order
    count: int  # len(keys)
    when: str  # "every day at 00:00", "Mon-Fri at 09:00", "at 00:00 on day 1 of the month"
    minute_of_week: int  # earliest minute of the week at which exactly this group fires


def hotspot_groups(entries: Sequence[tuple[object, object]], threshold: int = 3) -> list[HotspotGroup]:
    """The hotspots of a schedule, as BEAT005 and validate_schedules report them.

    ``entries`` are (key, schedule) pairs (keys need not be hashable); only ``Crontab`` schedules that fire at most
    once an hour (one minute value) count: interval schedules and more frequent
    crontabs are steady background load, present at every hotspot and none of its
    cause.  The groups are ``hotspots()``'s (largest first), keeping those with at
    least one member not in an earlier group: every entry is reported once, with the
    largest group it fires in.  ``when`` describes the minutes of the week all members
    fire at, followed by the day_of_month/month_of_year condition when there is one.
    """
    crons = [(key, schedule) for key, schedule in entries
             if isinstance(schedule, Crontab) and len(schedule.minute) == 1]
    covered: set[int] = set()
    groups = []
    for spot in hotspots([(i, schedule) for i, (_, schedule) in enumerate(crons)], threshold):
        if covered.issuperset(spot.keys):
            continue
        covered.update(spot.keys)
        together = frozenset.intersection(*(minutes_of_week(crons[i][1]) for i in spot.keys))
        when = describe_minutes(together)
        if spot.note:
            when = when.removeprefix("every day ") + f" {spot.note}"
        groups.append(HotspotGroup(keys=tuple(crons[i][0] for i in spot.keys), count=spot.count, when=when,
                                   minute_of_week=spot.minute_of_week))
    return groups


def hotspot_message(group: HotspotGroup, names: Sequence[str], threshold: int,
                    setting: str = "hotspot-threshold") -> str:
    """``4 crontab entries fire together every day at 00:00 (hotspot-threshold is 3):
    "a", "b", "c", "d"``; ``names`` are the members' names (the first 8 are listed),
    ``setting`` the name of the threshold's setting where the message is read."""
    listed = ", ".join(f'"{n}"' for n in names[:8]) + (", ..." if len(names) > 8 else "")
    return f"{group.count} crontab entries fire together {group.when} ({setting} is {threshold}): {listed}"


# --------------------------------------------------------------------------- every minute (BEAT008)


def every_minute(c: Crontab) -> bool:
    """BEAT008 (and validate_schedules' hotspot check): the minute field is every minute
    (`*`, omitted, or any spelling of all 60) while hour, day_of_week, day_of_month or
    month_of_year restricts when the crontab fires: `crontab(hour=5)` runs 60 times
    between 05:00 and 05:59, not once at 05:00."""
    return c.minute == _ALL_MINUTES and (c.hour != _ALL_HOURS or c.day_of_week != _ALL_DOW
                                        or c.day_of_month != _ALL_DOM or c.month_of_year != _ALL_MOY)


def every_minute_message(c: Crontab) -> str:
    """``minute is "*": it fires every minute of hour 05, 60 runs instead of 1; set
    minute=0``: the wording BEAT008 and validate_schedules share."""
    hours = sorted(c.hour)
    if len(hours) == 24:
        when = "every minute of every hour"
    else:
        when = "every minute of " + ("hour " if len(hours) == 1 else "hours ") + _spans(hours, lambda h: f"{h:02d}")
    if c.day_of_week != _ALL_DOW:
        when += " on " + ", ".join(_DAY_NAMES[d] for d in sorted(c.day_of_week, key=lambda d: (d + 6) % 7))
    note = _day_note([c])
    if note:
        when += f" {note}"
    runs = 60 * len(hours)
    count = "60 runs instead of 1" if len(hours) == 1 else f"{runs} runs a day instead of {len(hours)}"
    return f'minute is "*": it fires {when}, {count}; set minute=0'



# --------------------------------------------------------------------------- duplicate identity


def entry_identity(task: object, args: object, kwargs: object, schedule: object) -> tuple | None:
    """What makes two beat entries of one schedule the same job (BEAT003 and
    validate_schedules' duplicates check): the same task, the same arguments and the
    same schedule.  Two entries with equal identities send the same message at the
    same moments, so the job runs twice.

    Arguments compare as the JSON Celery would send: a tuple equals a list with the
    same items, missing ``args``/``kwargs`` (or None) equal empty ones, keyword order
    does not matter.  ``schedule`` is a ``Crontab`` (compared by its expanded fields)
    or an interval in seconds; None (not comparable) for any other schedule (solar,
    clocked, unknown) or a missing task name.
    """
    if not isinstance(task, str) or not task:
        return None
    if isinstance(schedule, Crontab):
        when: object = schedule
    elif isinstance(schedule, (int, float)) and not isinstance(schedule, bool):
        when = float(schedule)
    else:
        return None
    return (task, _canonical(() if args is None else args), _canonical({} if kwargs is None else kwargs), when)


def _canonical(value: object) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    except (TypeError, ValueError):  # keys of mixed types, circular values
        return repr(value)


# --------------------------------------------------------------------------- "did you mean"


def names_by_last(registered: Iterable[str]) -> dict[str, list[str]]:
    """The registered task names by their last dotted component (``suggest``'s table;
    build it once when suggesting for many names)."""
    table: dict[str, list[str]] = {}
    for name in registered:
        table.setdefault(name.rsplit(".", 1)[-1], []).append(name)
    return table


def suggest(name: str, registered: Collection[str], by_last: Mapping[str, list[str]] | None = None) -> str | None:
    """The registered task name closest to ``name`` (BEAT001 and validate_schedules'
    orphan check), or None.

    ``name`` without parentheses when that is registered; else the only registered
    name with the same function name; else, among the names whose function name is
    close (difflib, ratio >= 0.6, the 10 best), the one with the smallest edit
    distance over the whole name (``edit_distance``), ties broken alphabetically.
    Depends only on the set of names, not on their order.  ``by_last`` is
    ``names_by_last(registered)``, when the caller keeps it.
    """
    stripped = name.replace("(", "").replace(")", "")
    if stripped != name and stripped in registered:
        return stripped
    if by_last is None:
        by_last = names_by_last(registered)
    last = stripped.rsplit(".", 1)[-1]
    if len(by_last.get(last, ())) == 1:
        return by_last[last][0]
    close = difflib.get_close_matches(last, list(by_last), n=10, cutoff=0.6)
    candidates = {full for short in close for full in by_last[short]}
    if not candidates:
        return None
    return min(candidates, key=lambda n: (edit_distance(stripped, n), n))


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and
    transpositions of adjacent characters each cost one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]
