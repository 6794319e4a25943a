"""The live beat schedule of a Django project's Celery app, and the checks
`manage.py validate_schedules` and the system checks run on it.

The app is `CELERYLINT_APP` ("proj.celery:app"), else the Celery app the settings
module's package defines (`proj.celery_app`, or `app` in `proj.celery`), else
`celery.current_app`. Its tasks are the ones registered after the default modules and
autodiscovery are imported; its schedule is `app.conf.beat_schedule` once configured
(so `on_after_configure` / `on_after_finalize` handlers have added their
`add_periodic_task` entries), plus the enabled `PeriodicTask` rows of
django-celery-beat when it is installed and the database is reachable.

The checks run the schedule logic of celerylint's static rules (crontab expansion,
hotspot grouping and wording, "did you mean", duplicate identity, intervals), from
its standard-library-only module `celerylint.project.crontab`, so an entry gets the same
verdict live and static. `shared_logic()` is the one place that imports it. Without
celerylint installed, the orphan check (and the system check celerylint.E001) still
runs, without its "did you mean" hint; the hotspot, duplicates and idempotency checks
report that they need celerylint instead of passing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any, Iterable

DEFAULT_HOTSPOT_THRESHOLD = 3


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


# --------------------------------------------------------------------------- the shared schedule logic

_shared_logic: Any = False  # not looked up yet


def shared_logic() -> Any:
    """celerylint's schedule logic (the module `celerylint.project.crontab`, standard library
    only: no libcst), or None when celerylint is not installed or predates it.

    The only place this package imports it: when the module moves, change it here."""
    global _shared_logic
    if _shared_logic is False:
        try:
            from celerylint.project import crontab as module
        except ImportError:
            module = None
        if getattr(module, "SHARED_SCHEDULE_LOGIC", 0) < 1:
            module = None
        _shared_logic = module
    return _shared_logic


NEEDS_CELERYLINT = {
    "duplicates": "duplicates check",
    "hotspots": "hotspot check",
    "idempotency": "idempotency check",
}


def needs_celerylint(check: str) -> Finding:
    """The warning a check that shares celerylint's schedule logic gives without it."""
    return Finding(check, "warning", f"{NEEDS_CELERYLINT[check]} not run: it needs celerylint installed "
                                     f"(`pip install celerylint`), whose schedule logic it shares with the "
                                     f"static rules")


def next_run(schedule) -> datetime | None:
    """When the entry runs next if it last ran now (to the second); None for schedules
    Celery cannot estimate without their history."""
    try:
        now = schedule.now()
        when = now + schedule.remaining_estimate(now)
    except Exception:  # e.g. a clocked schedule without its clock time
        return None
    return (when + timedelta(microseconds=500_000)).replace(microsecond=0)


# --------------------------------------------------------------------------- checks


def check_schedules(entries: list[Entry]) -> list[Finding]:
    """Entries whose schedule cannot be built: beat fails on them at start-up."""
    return [Finding("schedule", "error", f"{_label(entry)} has a schedule that cannot be built: {entry.problem}",
                    (entry.name,)) for entry in entries if entry.problem]


def check_orphaned(entries: list[Entry], registered: set[str]) -> list[Finding]:
    """Entries whose task the app does not register (needs nothing but Celery); the
    "did you mean" hint is BEAT001's (`suggest`), when celerylint is installed."""
    shared = shared_logic()
    by_last = None
    findings = []
    for entry in entries:
        if entry.task and entry.task not in registered:
            suggestion = None
            if shared is not None:
                if by_last is None:
                    by_last = shared.names_by_last(sorted(registered))
                suggestion = shared.suggest(entry.task, registered, by_last)
            hint = f' (did you mean "{suggestion}"?)' if suggestion else ""
            findings.append(Finding("orphaned", "error",
                                    f'{_label(entry)} names task "{entry.task}", which is not registered{hint}: '
                                    f'register a task by that name or remove the entry',
                                    (entry.name,)))
    return findings


def check_duplicates(entries: list[Entry]) -> list[Finding]:
    """One entry name used twice in the effective schedule (a django-celery-beat row
    named like a beat_schedule entry it is not a copy of: one replaces the other), and
    entries with the same identity as BEAT003's (`entry_identity`: task, arguments as
    JSON, schedule)."""
    shared = shared_logic()
    if shared is None:
        return [needs_celerylint("duplicates")]
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
        identity = shared.entry_identity(entry.task, entry.args, entry.kwargs,
                                         shared.schedule_from_celery(entry.schedule))
        if identity is None:
            continue
        first = seen.setdefault(identity, entry)
        if first is not entry and first.name != entry.name:
            findings.append(Finding("duplicates", "error",
                                    f'{_label(entry)} schedules "{entry.task}" with the same arguments and schedule '
                                    f'as {_label(first)}: the job runs twice', (first.name, entry.name)))
    return findings


def check_hotspots(entries: list[Entry], threshold: int) -> list[Finding]:
    """BEAT005's hotspots (`hotspot_groups`, `hotspot_message`) on the effective
    schedule: more than `threshold` hourly-or-rarer crontab entries firing in the same
    minute, day_of_month/month_of_year honoured, each entry in its largest group; and
    BEAT008's crontabs that fire every minute of the hours they restrict (`every_minute`,
    an error, as the static rule), when celerylint's schedule logic has it."""
    shared = shared_logic()
    if shared is None:
        return [needs_celerylint("hotspots")]
    schedules = [(entry, shared.schedule_from_celery(entry.schedule)) for entry in entries]
    findings = []
    if getattr(shared, "SHARED_SCHEDULE_LOGIC", 0) >= 2:
        for entry, schedule in schedules:
            if isinstance(schedule, shared.Crontab) and shared.every_minute(schedule):
                findings.append(Finding("hotspots", "error",
                                        f"{_label(entry)}: {shared.every_minute_message(schedule)}", (entry.name,)))
    for group in shared.hotspot_groups(schedules, threshold):
        names = [entry.name for entry in group.keys]
        findings.append(Finding("hotspots", "warning",
                                shared.hotspot_message(group, names, threshold, setting="CELERYLINT_HOTSPOT_THRESHOLD"),
                                tuple(names)))
    return findings


def check_idempotency(app, entries: list[Entry]) -> list[Finding]:
    """Entries that can pile up: no `expires`, and the task may still run when the next
    one is due (its time limit is longer than the interval, or it has none). The
    interval, and the `expires` asked for, are BEAT004's fix (`interval_seconds`: the
    shortest gap between two runs)."""
    shared = shared_logic()
    if shared is None:
        return [needs_celerylint("idempotency")]
    findings = []
    default_limit = app.conf.task_time_limit
    for entry in entries:
        if entry.options.get("expires") is not None:
            continue
        schedule = shared.schedule_from_celery(entry.schedule)
        interval = shared.interval_seconds(schedule)
        if interval is None:
            continue
        task = app.tasks.get(entry.task)
        limit = getattr(task, "time_limit", None) or default_limit
        if limit is not None and limit <= interval:
            continue
        regular = not isinstance(schedule, shared.Crontab) or shared.period_seconds(schedule) is not None
        runs = "runs every" if regular else "runs as often as every"
        reason = "its task has no time limit" if limit is None else f"its task's time limit ({limit:g} s) is longer"
        seconds = _number(interval)
        findings.append(Finding("idempotency", "warning",
                                f"{_label(entry)} {runs} {seconds} s without expires and {reason}: runs can "
                                f"pile up; set options={{\"expires\": {seconds}}}", (entry.name,)))
    return findings


def _number(seconds: float) -> str:
    """Seconds as BEAT004's fix writes them: 300, not 300.0."""
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


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
        from celerylint.engine.discover import find_project_root
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
    for entry in result.project.schedules.entries():
        for span in (entry.task_span, entry.anchor):
            if span:
                entry_at[(entry.rel, span[:2])] = entry
    reported = {(finding.check, name) for finding in live for name in finding.entries}
    findings = []
    for diag in result.diagnostics:
        if diag.code in ("BEAT005", "BEAT008"):
            continue  # the live hotspot check covers them, on the effective schedule
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
