"""The live beat schedule of a Django project's Celery app, and the checks
`manage.py validate_schedules` and the system checks run on it.

The app is `CELERYLINT_APP` ("proj.celery:app"), else the Celery app the settings
module's package defines (`proj.celery_app`, or `app` in `proj.celery`), else
`celery.current_app`. Its tasks are the ones registered after the default modules and
autodiscovery are imported; its schedule is `app.conf.beat_schedule` once configured
(so `on_after_configure` / `on_after_finalize` handlers have added their
`add_periodic_task` entries), plus the enabled `PeriodicTask` rows of
django-celery-beat when it is installed and the database is reachable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any, Iterable

DEFAULT_HOTSPOT_THRESHOLD = 3
WEEK_MINUTES = 7 * 24 * 60
DAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")


@dataclass
class Entry:
    name: str
    task: str
    schedule: Any  # a Celery schedule object
    args: Any = ()
    kwargs: Any = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    source: str = "beat_schedule"  # or "database"
    problem: str = ""  # why its schedule cannot be built (then `schedule` is None)


@dataclass
class Finding:
    check: str  # "orphaned", "duplicates", "hotspots", "idempotency", or "static"
    level: str  # "error" or "warning"
    message: str
    entries: tuple = ()
    code: str = ""  # for static findings: the celerylint rule code
    location: str = ""  # for static findings: path:line:column

    def as_dict(self) -> dict:
        return {"check": self.check, "level": self.level, "message": self.message, "entries": list(self.entries),
                "code": self.code, "location": self.location}


# --------------------------------------------------------------------------- the app


def find_app():
    """The project's Celery app (see the module docstring)."""
    from django.conf import settings

    path = getattr(settings, "CELERYLINT_APP", None)
    if path:
        from celerylint_runtime.settings import import_object

        return import_object(path)
    package = (settings.SETTINGS_MODULE or "").split(".")[0]
    if package:
        from celery import Celery

        for module_name, attributes in ((package, ("celery_app", "app")), (f"{package}.celery", ("app", "celery_app"))):
            try:
                module = import_module(module_name)
            except ImportError:
                continue
            for attribute in attributes:
                candidate = getattr(module, attribute, None)
                if isinstance(candidate, Celery):
                    return candidate
    from celery import current_app

    return current_app._get_current_object()


_loading_tasks = False


def load_tasks(app) -> set[str]:
    """Import the default modules (includes and autodiscovered task modules) and return
    the names of the registered tasks.

    Celery's Django fixup runs Django's system checks from the `import_modules` signal
    that importing the default modules sends, and our system check loads the tasks:
    the nested call is told by `loading_tasks()` and does not import again."""
    global _loading_tasks
    if not _loading_tasks:
        _loading_tasks = True
        try:
            app.loader.import_default_modules()
        finally:
            _loading_tasks = False
    app.finalize(auto=True)
    return set(app.tasks.keys())


def loading_tasks() -> bool:
    """True while `load_tasks` imports the task modules (its results are not final)."""
    return _loading_tasks


def beat_entries(app) -> list[Entry]:
    """The entries of `app.conf.beat_schedule` (settings, app configuration and
    `add_periodic_task`)."""
    entries = []
    for name, spec in (app.conf.beat_schedule or {}).items():
        entries.append(Entry(name=name, task=spec.get("task", ""), schedule=_celery_schedule(app, spec.get("schedule")),
                             args=spec.get("args", ()), kwargs=spec.get("kwargs", {}) or {},
                             options=dict(spec.get("options", {}) or {})))
    return entries


def _celery_schedule(app, value):
    from celery.schedules import schedule as interval_schedule

    if isinstance(value, (int, float)):
        return interval_schedule(timedelta(seconds=value), app=app)
    if isinstance(value, timedelta):
        return interval_schedule(value, app=app)
    return value


def database_entries() -> list[Entry]:
    """The enabled django-celery-beat rows when that app is installed; raises Django's
    DatabaseError when they cannot be read (not migrated, no connection)."""
    from django.apps import apps

    if not apps.is_installed("django_celery_beat"):
        return []
    from django_celery_beat.models import PeriodicTask

    entries = []
    for row in PeriodicTask.objects.filter(enabled=True).select_related():
        options = {}
        if getattr(row, "expire_seconds", None):
            options["expires"] = row.expire_seconds
        elif row.expires:
            options["expires"] = row.expires
        if row.queue:
            options["queue"] = row.queue
        try:
            schedule, problem = row.schedule, ""
        except Exception as exc:  # e.g. a solar schedule without the ephem library
            schedule, problem = None, " ".join(str(exc).split()) or type(exc).__name__
        entries.append(Entry(name=row.name, task=row.task, schedule=schedule, args=_json(row.args, []),
                             kwargs=_json(row.kwargs, {}), options=options, source="database", problem=problem))
    return entries


def effective_entries(app, database: bool = True) -> tuple[list[Entry], Exception | None]:
    """The app's beat_schedule entries plus, when `database`, the django-celery-beat
    rows that are not DatabaseScheduler's copies of them; and the DatabaseError that
    kept the rows from being read, if any."""
    from django.db import DatabaseError

    entries = beat_entries(app)
    if not database:
        return entries, None
    configured = {(e.name, e.task, _key(e.args), _key(e.kwargs)) for e in entries}
    try:
        rows = database_entries()
    except DatabaseError as exc:
        return entries, exc
    return entries + [row for row in rows if (row.name, row.task, _key(row.args), _key(row.kwargs)) not in configured], None


def _json(text: str, default: Any) -> Any:
    try:
        return json.loads(text or "null") or default
    except ValueError:
        return default


# --------------------------------------------------------------------------- schedules


def minutes_of_week(schedule) -> frozenset | None:
    """The minutes of the week a crontab fires at (Sunday 00:00 = 0), ignoring
    day_of_month / month_of_year; None for schedules that are not crontabs."""
    from celery.schedules import crontab

    if not isinstance(schedule, crontab):
        return None
    return frozenset((dow * 24 + hour) * 60 + minute for dow in schedule.day_of_week for hour in schedule.hour
                     for minute in schedule.minute)


def interval_seconds(schedule) -> float | None:
    """The (shortest) time between two runs: `run_every` for interval schedules, the
    smallest gap between firings for crontabs."""
    from celery.schedules import crontab, schedule as interval_schedule

    if isinstance(schedule, crontab):
        minutes = sorted(minutes_of_week(schedule) or ())
        if not minutes:
            return None
        if len(minutes) == 1:
            return float(WEEK_MINUTES * 60)
        gaps = [b - a for a, b in zip(minutes, minutes[1:])] + [WEEK_MINUTES - minutes[-1] + minutes[0]]
        return float(min(gaps) * 60)
    if isinstance(schedule, interval_schedule):
        return schedule.run_every.total_seconds()
    return None


def next_run(schedule) -> datetime | None:
    """When the entry runs next if it last ran now (to the second); None for schedules
    Celery cannot estimate without their history."""
    try:
        now = schedule.now()
        when = now + schedule.remaining_estimate(now)
    except Exception:  # e.g. a clocked schedule without its clock time
        return None
    return (when + timedelta(microseconds=500_000)).replace(microsecond=0)


def describe_minutes(minutes) -> str:
    """``"every day at 00:00"``, ``"Mon-Fri at 09:00, 17:00"``, ``"Sun at 05:00"``: the
    minutes of the week (0 = Sunday 00:00) grouped by the days they fall on."""
    days_of: dict[int, set[int]] = {}
    for minute in sorted(set(minutes)):
        day, rest = divmod(minute, 24 * 60)
        days_of.setdefault(rest, set()).add(day)
    times_of: dict[frozenset, list[int]] = {}
    for rest, days in sorted(days_of.items()):
        times_of.setdefault(frozenset(days), []).append(rest)
    parts = []
    for days, rests in sorted(times_of.items(), key=lambda item: item[1][0]):
        if len(days) == 7:
            when = "every day"
        elif days == frozenset(range(1, 6)):
            when = "Mon-Fri"
        else:
            when = ", ".join(DAY_NAMES[d] for d in sorted(days, key=lambda d: (d + 6) % 7))  # Monday first
        shown = ", ".join(f"{r // 60:02d}:{r % 60:02d}" for r in rests[:4]) + (", ..." if len(rests) > 4 else "")
        parts.append(f"{when} at {shown}")
    return "; ".join(parts)


# --------------------------------------------------------------------------- checks


def check_schedules(entries: list[Entry]) -> list[Finding]:
    """Entries whose schedule cannot be built: beat fails on them at start-up."""
    return [Finding("schedule", "error", f"{_label(entry)} has a schedule that cannot be built: {entry.problem}",
                    (entry.name,)) for entry in entries if entry.problem]


def check_orphaned(entries: list[Entry], registered: set[str]) -> list[Finding]:
    import difflib

    findings = []
    for entry in entries:
        if entry.task and entry.task not in registered:
            close = difflib.get_close_matches(entry.task, sorted(registered), n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            findings.append(Finding("orphaned", "error",
                                    f'{_label(entry)} names task "{entry.task}", which is not registered{hint}: '
                                    f'register a task by that name or remove the entry',
                                    (entry.name,)))
    return findings


def check_duplicates(entries: list[Entry]) -> list[Finding]:
    findings = []
    by_name: dict[str, list[Entry]] = {}
    for entry in entries:
        by_name.setdefault(entry.name, []).append(entry)
    for name, same in by_name.items():
        if len(same) > 1 and len({(e.task, _key(e.args), _key(e.kwargs)) for e in same}) > 1:
            findings.append(Finding("duplicates", "error",
                                    f'entry name "{name}" is used by {len(same)} entries for different tasks '
                                    f'({", ".join(e.source for e in same)}); one replaces the other', (name,)))
    seen: dict[tuple, Entry] = {}
    for entry in entries:
        key = (entry.task, _key(entry.args), _key(entry.kwargs))
        first = seen.setdefault(key, entry)
        if first is not entry and first.name != entry.name:
            findings.append(Finding("duplicates", "error",
                                    f'{_label(entry)} schedules "{entry.task}" with the same arguments as '
                                    f'{_label(first)}: the job runs twice', (first.name, entry.name)))
    return findings


DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # Feb 29 exists on every weekday over the years


def calendar_days(schedule) -> frozenset | None:
    """The (month, day) pairs a crontab's day_of_month / month_of_year allow; None when
    they allow every day."""
    days, months = set(schedule.day_of_month), set(schedule.month_of_year)
    if days >= set(range(1, 32)) and months >= set(range(1, 13)):
        return None
    return frozenset((m, d) for m in months if 1 <= m <= 12 for d in days if 1 <= d <= DAYS_IN_MONTH[m - 1])


def check_hotspots(entries: list[Entry], threshold: int) -> list[Finding]:
    """Crontab entries firing at most once an hour (more frequent ones are background
    load, as in celerylint's BEAT005) grouped by the minutes of the week they fire
    together at. Celery fires a crontab when both its day of the week and its day of
    the month match, and every weekday falls on every (month, day) in some year, so
    entries with day_of_month / month_of_year only join the others on the days they
    allow: two monthly jobs on the 1st and the 15th never fire together."""
    by_minute: dict[int, list[Entry]] = {}
    for entry in entries:
        minutes = minutes_of_week(entry.schedule)
        if minutes is None or len(entry.schedule.minute) != 1:
            continue
        for minute in minutes:
            by_minute.setdefault(minute, []).append(entry)
    crowded: dict[tuple, list[int]] = {}
    restricted_groups: set[tuple] = set()
    for minute, group in sorted(by_minute.items()):
        if len(group) <= threshold:
            continue
        days = {e.name: calendar_days(e.schedule) for e in group}
        if all(d is None for d in days.values()):
            crowded.setdefault(tuple(e.name for e in group), []).append(minute)
            continue
        # The sets of entries that fire together on some calendar day; keep the largest.
        together = {tuple(e.name for e in group if days[e.name] is None or (month, day) in days[e.name])
                    for month in range(1, 13) for day in range(1, DAYS_IN_MONTH[month - 1] + 1)}
        for names in together:
            if len(names) > threshold and not any(set(names) < set(other) for other in together):
                crowded.setdefault(names, []).append(minute)
                if any(days[n] is not None for n in names):
                    restricted_groups.add(names)
    findings = []
    for names, minutes in sorted(crowded.items(), key=lambda item: (-len(item[0]), item[1][0])):
        when = describe_minutes(minutes)
        if names in restricted_groups:
            when += " on the days of the month they share"
        findings.append(Finding("hotspots", "warning",
                                f"{len(names)} entries fire together {when} (threshold {threshold}): "
                                + ", ".join(f'"{n}"' for n in names), names))
    return findings


def check_idempotency(app, entries: list[Entry]) -> list[Finding]:
    """Entries that can pile up: no `expires`, and the task may still run when the next
    one is due (its time limit is longer than the interval, or it has none)."""
    findings = []
    default_limit = app.conf.task_time_limit
    for entry in entries:
        if entry.options.get("expires") is not None:
            continue
        interval = interval_seconds(entry.schedule)
        if interval is None:
            continue
        task = app.tasks.get(entry.task)
        limit = getattr(task, "time_limit", None) or default_limit
        if limit is not None and limit <= interval:
            continue
        reason = "its task has no time limit" if limit is None else f"its task's time limit ({limit:g} s) is longer"
        findings.append(Finding("idempotency", "warning",
                                f"{_label(entry)} runs every {interval:g} s without expires and {reason}: runs can "
                                f"pile up; set options={{\"expires\": {interval:g}}}", (entry.name,)))
    return findings


def _label(entry: Entry) -> str:
    where = "database entry" if entry.source == "database" else "beat entry"
    return f'{where} "{entry.name}"'


def _key(value: Any) -> str:
    try:
        return json.dumps(value, sort_keys=True, default=repr)
    except TypeError:
        return repr(value)


# --------------------------------------------------------------------------- static analysis


def static_findings(live: list[Finding], registered: set[str], root: str | None = None) -> list[Finding]:
    """celerylint's own findings for the project (when celerylint is installed), minus
    those the live checks already report and orphans the live app does register."""
    try:
        from celerylint.config import ConfigError, load_settings
        from celerylint.discover import find_project_root
        from celerylint.engine import UsageError, check
    except ImportError:
        return []
    import os

    from django.conf import settings

    start = root or str(getattr(settings, "BASE_DIR", "") or os.getcwd())
    project = find_project_root(start)
    try:
        result = check([], load_settings(project), project)
    except (ConfigError, UsageError) as exc:
        raise ValueError(f"celerylint: {exc}") from exc  # a configuration error: exit status 2
    entry_at = {}
    for entry in result.index.beat_entries():
        for span in (entry.task_span, entry.anchor):
            if span:
                entry_at[(entry.rel, span[:2])] = entry
    reported = {(finding.check, name) for finding in live for name in finding.entries}
    findings = []
    for diag in result.diagnostics:
        if diag.code == "BEAT005":
            continue  # the live hotspot check covers it, on the effective schedule
        entry = entry_at.get((diag.path, (diag.line, diag.column)))
        if entry is not None:
            if diag.code == "BEAT001" and entry.task in registered:
                continue  # registered at run time
            if (LIVE_CHECK.get(diag.code), entry.key) in reported:
                continue  # already reported by the live check
        findings.append(Finding("static", diag.severity, diag.message, (), diag.code,
                                f"{diag.path}:{diag.line}:{diag.column}"))
    return findings


# Static rules whose findings the live checks make again, on the same entry.
LIVE_CHECK = {"BEAT001": "orphaned", "BEAT003": "duplicates"}


def hotspot_threshold() -> int:
    from django.conf import settings

    value = getattr(settings, "CELERYLINT_HOTSPOT_THRESHOLD", DEFAULT_HOTSPOT_THRESHOLD)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"CELERYLINT_HOTSPOT_THRESHOLD must be a positive integer, not {value!r}")
    return value


def run_checks(app, selected: Iterable[str], static: bool = True) -> tuple[list, list]:
    """(entries, findings) for the `selected` checks: the app's beat schedule and the
    django-celery-beat rows (a warning when those cannot be read), then celerylint's
    static findings when `static`."""
    selected = set(selected)
    registered = load_tasks(app)
    entries, database_error = effective_entries(app)
    findings: list[Finding] = []
    if database_error is not None:
        findings.append(Finding("database", "warning", f"django-celery-beat entries not checked: "
                                f"{str(database_error).strip()} (is the database migrated?)"))
    findings += check_schedules(entries)
    if "orphaned" in selected:
        findings += check_orphaned(entries, registered)
    if "duplicates" in selected:
        findings += check_duplicates(entries)
    if "hotspots" in selected:
        findings += check_hotspots(entries, hotspot_threshold())
    if "idempotency" in selected:
        findings += check_idempotency(app, entries)
    if static:
        findings += static_findings(findings, registered)
    return entries, findings
