"""Beat schedules: every statically readable schedule of the project, as the beat
process of each app would run it (RULES.md §1, "Beat schedule entries").

`ScheduleBuilder` replays each module's schedule operations in order (assignment, item
assignment, `.update()`, `app.conf.update(beat_schedule=...)`, `add_periodic_task`)
into `Schedule`s, and links each app to the settings its `config_from_object` loads
(merged, or replaced by a later `app.conf.beat_schedule = ...`). It models what beat
runs and how the schedule came to be; the rules judge it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from celerylint.facts.model import (
    UNKNOWN, BinOp, CallExpr, DictExpr, FileFacts, Num, Op, PeriodicFacts, Ref, SourceFile, Str, Value,
)
from celerylint.project import crontab
from celerylint.project.index import Call, ProjectIndex
from celerylint.project.tasks import TaskRegistry

SCHEDULE_VARIABLES = ("CELERY_BEAT_SCHEDULE", "CELERYBEAT_SCHEDULE", "beat_schedule")


@dataclass
class BeatEntry:
    rel: str
    module: str
    key: str | None
    key_span: tuple | None
    task: str | None  # folded task name
    task_span: tuple | None
    schedule: Any  # crontab.Crontab, seconds (float), "solar", or UNKNOWN
    args: Any
    kwargs: Any
    options: Any  # dict, None when absent, UNKNOWN when not readable
    kind: str  # "dict" or "periodic"
    task_ref: tuple = ()  # ("task", module, function) when given as a task object
    task_literal: bool = False  # the task reference is a plain string literal
    value_span: tuple | None = None  # the entry's dict literal (or the add_periodic_task call)
    origin: int = 0  # which reading of a dict literal produced it (same origin, same literal)

    @property
    def identity(self) -> tuple:
        return (self.rel, self.key_span or self.task_span)

    @property
    def anchor(self) -> tuple | None:
        """Where findings about the entry as a whole are reported: its key."""
        return self.key_span or self.task_span


@dataclass
class Assignment:
    """`app.conf.beat_schedule = {...}` (or `app.conf.update(beat_schedule=...)`): what
    it sets and which entries the schedule held before it."""

    rel: str
    span: tuple
    keys: set
    before: list  # BeatEntry


@dataclass
class Schedule:
    """One schedule a beat process would run: an app's `beat_schedule`, or a settings
    variable that no app could be linked to."""

    label: str
    rel: str
    entries: dict = field(default_factory=dict)  # key -> BeatEntry (insertion order)
    extra: list = field(default_factory=list)  # entries whose key is unknown
    assignments: list = field(default_factory=list)  # Assignment, in order (app schedules)
    # Configuration schedules (settings) the app loads but its last assignment replaces.
    overridden: list = field(default_factory=list)
    merged_into: str | None = None  # a settings schedule that an app runs as part of its own

    def all_entries(self) -> list[BeatEntry]:
        return list(self.entries.values()) + self.extra


class Schedules:
    """The project's schedules, built on first use, and the questions rules ask of them."""

    def __init__(self, index: ProjectIndex, tasks: TaskRegistry):
        self.index = index
        self.tasks = tasks
        self._built: ScheduleBuilder | None = None

    def _builder(self) -> "ScheduleBuilder":
        if self._built is None:
            self._built = ScheduleBuilder(self.index, self.tasks)
            self._built.build()
        return self._built

    def all(self) -> list[Schedule]:
        return list(self._builder().schedules.values())

    def running(self) -> list[Schedule]:
        """The schedules beat runs (a settings schedule merged into an app's is not one
        of its own)."""
        return [s for s in self.all() if s.merged_into is None]

    def entries(self) -> list[BeatEntry]:
        """Every readable entry once, in path and position order."""
        seen: dict[tuple, BeatEntry] = {}
        for schedule in self.all():
            for entry in schedule.all_entries():
                seen.setdefault(entry.identity, entry)
        return sorted(seen.values(), key=lambda e: (e.rel, e.anchor or (0,)))

    def duplicate_keys(self) -> list[tuple[BeatEntry, BeatEntry]]:
        """(later, first) for a key written twice in one dict literal: Python keeps the
        later one only."""
        first_of: dict[tuple, BeatEntry] = {}
        pairs = []
        for entry in self._builder().read:
            if entry.key is None:
                continue
            first = first_of.setdefault((entry.origin, entry.key), entry)
            if first is not entry:
                pairs.append((entry, first))
        return pairs


def schedule_of(folded: Any) -> Any:
    """crontab.Crontab, an interval in seconds, "solar", or UNKNOWN."""
    if isinstance(folded, (int, float)) and not isinstance(folded, bool):
        return float(folded)
    if not isinstance(folded, Call):
        return UNKNOWN
    callee = folded.callee
    last = callee[-1] if callee else None
    celery_origin = bool(callee) and callee[0] in ("celery", "?")
    if last == "crontab" and celery_origin:
        if any(v is UNKNOWN for v in folded.args) or any(v is UNKNOWN for v in folded.kwargs.values()):
            return UNKNOWN
        return crontab.crontab_from_call(folded.args, folded.kwargs) or UNKNOWN
    if last == "from_string" and len(callee) >= 2 and callee[-2] == "crontab" and folded.args:
        return crontab.crontab_from_string(folded.args[0]) if isinstance(folded.args[0], str) else UNKNOWN
    if last == "timedelta" and callee[0] == "datetime":
        return _timedelta_seconds(folded)
    if last == "schedule" and celery_origin:
        run_every = folded.args[0] if folded.args else folded.kwargs.get("run_every", UNKNOWN)
        return schedule_of(run_every) if not isinstance(schedule_of(run_every), crontab.Crontab) else UNKNOWN
    if last == "solar" and celery_origin:
        return "solar"
    return UNKNOWN


_TIMEDELTA_ARGS = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
_TIMEDELTA_SECONDS = {"days": 86400, "seconds": 1, "microseconds": 1e-6, "milliseconds": 1e-3,
                      "minutes": 60, "hours": 3600, "weeks": 604800}


def _timedelta_seconds(call: Call) -> Any:
    total = 0.0
    named = dict(zip(_TIMEDELTA_ARGS, call.args))
    named.update(call.kwargs)
    for key, amount in named.items():
        if key not in _TIMEDELTA_SECONDS or isinstance(amount, bool) or not isinstance(amount, (int, float)):
            return UNKNOWN
        total += amount * _TIMEDELTA_SECONDS[key]
    return total


def _schedule_name(name: str) -> bool:
    return name in SCHEDULE_VARIABLES or name.endswith("BEAT_SCHEDULE")


class ScheduleBuilder:
    """Replays each module's schedule operations into `Schedule`s (see the module
    docstring). `read` keeps every entry read, in order, also those a later one replaced."""

    def __init__(self, index: ProjectIndex, tasks: TaskRegistry):
        self.index = index
        self.tasks = tasks
        self.schedules: dict[tuple, Schedule] = {}
        self.configs: dict[tuple, list[tuple[str, Value, Value]]] = {}  # app -> [(module, source, namespace)]
        self.read: list[BeatEntry] = []
        self._readings = 0

    def schedule(self, key: tuple, rel: str) -> Schedule:
        found = self.schedules.get(key)
        if found is None:
            label = ".".join(key[1]) + ".conf.beat_schedule" if key[0] == "app" else f"{key[1]}.{key[2]}"
            found = self.schedules[key] = Schedule(label, rel)
        return found

    def build(self) -> None:
        for source, facts in list(self.index.parsed()):
            if facts.error is None:
                self.replay(source, facts)
        self.link_apps()

    # -- which schedule does a dotted target name
    def target(self, module: str, dotted: tuple, scope: str) -> tuple | None:
        if scope.startswith("class:"):
            if len(dotted) == 2 and _schedule_name(dotted[1]):
                return ("var", module, ".".join(dotted))
            return None
        if len(dotted) == 1 and _schedule_name(dotted[0]):
            return ("var", module, dotted[0])
        if len(dotted) >= 3 and dotted[-2:] == ("conf", "beat_schedule"):
            return ("app", self.index.resolve(module, dotted[:-2]))
        return None

    def replay(self, source: SourceFile, facts: FileFacts) -> None:
        module = facts.module
        for op in facts.ops:
            if op.kind == "call":
                self.call_op(source, facts, op)
                continue
            key = self.target(module, op.target, op.scope)
            if key is None:
                continue
            schedule = self.schedule(key, source.rel)
            if op.kind == "assign":
                self.assign(key, schedule, source, facts, op.value, op.span)
            else:  # setitem
                self.add_entries(schedule, self.entries(module, op.value))
        for periodic in facts.periodic:
            schedule = self.schedule(("app", self.periodic_app(facts, periodic)), source.rel)
            self.add_entries(schedule, [self.periodic_entry(source, facts, periodic)])

    def call_op(self, source: SourceFile, facts: FileFacts, op: Op) -> None:
        module = facts.module
        target, call = op.target, op.value
        if target[-1] == "config_from_object" and len(target) >= 2:
            app = self.index.resolve(module, target[:-1])
            namespace = next((k.value for k in call.kwargs if k.name == "namespace"), Num(None))
            if call.args:
                self.configs.setdefault(app, []).append((module, call.args[0], namespace))
            return
        if target[-1] != "update":
            return
        if len(target) >= 3 and target[-2] == "conf":
            given = next((k.value for k in call.kwargs if k.name == "beat_schedule"), None)
            if given is not None:
                key = ("app", self.index.resolve(module, target[:-2]))
                self.assign(key, self.schedule(key, source.rel), source, facts, given, op.span)
            return
        key = self.target(module, target[:-1], "module")
        if key is None:
            return
        schedule = self.schedule(key, source.rel)
        if key[0] == "var" and not schedule.entries and not schedule.extra and not schedule.assignments:
            # `X.update(...)` on a name this module got from elsewhere (star import)
            self.add_entries(schedule, self.inherited(module, target[:-1]))
        for arg in call.args:
            self.add_entries(schedule, self.entries(module, arg))
        for keyword in call.kwargs:
            if keyword.name is not None:
                self.add_entries(schedule, self.entry_from_value(module, Str(keyword.name), keyword.value, -1))

    def inherited(self, module: str, dotted: tuple) -> list[BeatEntry]:
        qualified = self.index.resolve(module, dotted)
        if qualified == tuple(module.split(".")) + dotted:
            return []
        return self.entries(module, Ref(dotted))

    def assign(self, key: tuple, schedule: Schedule, source: SourceFile, facts: FileFacts, value: Value,
               span: int) -> None:
        new = self.entries(facts.module, value)
        if key[0] == "app":
            schedule.assignments.append(Assignment(source.rel, facts.spans[span], {e.key for e in new},
                                                   schedule.all_entries()))
        schedule.entries.clear()
        schedule.extra.clear()
        self.add_entries(schedule, new)

    @staticmethod
    def add_entries(schedule: Schedule, entries: Iterable[BeatEntry]) -> None:
        for entry in entries:
            if entry.key is None:
                schedule.extra.append(entry)
            else:
                schedule.entries.pop(entry.key, None)
                schedule.entries[entry.key] = entry

    # -- values to entries
    def entries(self, module: str, value: Value, depth: int = 0) -> list[BeatEntry]:
        """The entries of a schedule dict value (following names, `**spreads` and `+`)."""
        if depth > 20:
            return []
        kind = type(value)
        if kind is DictExpr:
            out: list[BeatEntry] = []
            for spread in value.spreads:
                out.extend(self.entries(module, spread, depth + 1))
            self._readings += 1
            for item in value.items:
                for entry in self.entry_from_value(module, item.key, item.value, item.key_span, depth,
                                                   item.value_span):
                    entry.origin = self._readings
                    out.append(entry)
            return out
        if kind is Ref:
            located = self.index.locate(module, value.dotted)
            if located is None:
                self.index.notes.append(f"{module}: schedule {'.'.join(value.dotted)} cannot be read statically")
                return []
            return self.entries(located[0], located[1], depth + 1)
        if kind is BinOp and value.op in ("|", "+"):
            return self.entries(module, value.left, depth + 1) + self.entries(module, value.right, depth + 1)
        if kind is CallExpr and value.callee == ("dict",):
            out = []
            for arg in value.args:
                out.extend(self.entries(module, arg, depth + 1))
            for keyword in value.kwargs:
                if keyword.name is None:
                    out.extend(self.entries(module, keyword.value, depth + 1))
                else:
                    out.extend(self.entry_from_value(module, Str(keyword.name), keyword.value, -1, depth))
            return out
        self.index.notes.append(f"{module}: a beat schedule built by code cannot be read statically")
        return []

    def entry_from_value(self, module: str, key: Value, value: Value, key_span: int,
                         depth: int = 0, value_span: int = -1) -> list[BeatEntry]:
        """A `"key": {"task": ..., "schedule": ...}` item as a BeatEntry (the value may be
        a name bound to such a dict, here or in another module)."""
        index = self.index
        if type(value) is Ref:
            located = index.locate(module, value.dotted)
            if located is None or depth > 20:
                return []
            entries = self.entry_from_value(located[0], UNKNOWN, located[1], -1, depth + 1)
            facts = index.module_facts(module)
            key_value = index.evaluate(module, key)
            for entry in entries:
                entry.key = key_value if isinstance(key_value, str) else None
                if facts is not None and key_span >= 0:
                    entry.key_span = facts.spans[key_span]
                    entry.rel = index.by_module[module].rel
                    entry.module = module
            return entries
        if type(value) is not DictExpr:
            return []
        fields = {}
        task_span_index = -1
        for item in value.items:
            name = index.evaluate(module, item.key)
            if isinstance(name, str):
                fields[name] = item.value
                if name == "task":
                    task_span_index = item.value_span
        if "task" not in fields:
            return []
        source = index.by_module[module]
        facts = index.module_facts(module)
        assert facts is not None
        key_value = index.evaluate(module, key)
        task_value = index.evaluate(module, fields["task"])
        options: Any = None
        if "options" in fields:
            options = index.evaluate(module, fields["options"])
            if not isinstance(options, dict):
                options = UNKNOWN
        entry = BeatEntry(
            rel=source.rel, module=module,
            key=key_value if isinstance(key_value, str) else None,
            key_span=facts.span(key_span),
            task=task_value if isinstance(task_value, str) else None,
            task_span=facts.span(task_span_index),
            schedule=schedule_of(index.evaluate(module, fields["schedule"])) if "schedule" in fields else UNKNOWN,
            args=index.evaluate(module, fields["args"]) if "args" in fields else [],
            kwargs=index.evaluate(module, fields["kwargs"]) if "kwargs" in fields else {},
            options=options,
            kind="dict",
            task_literal=type(fields["task"]) is Str,
            value_span=facts.span(value_span),
        )
        if entry.task is None:
            index.notes.append(f"{source.rel}: the task of beat entry {entry.key or '?'} cannot be read statically")
        self.read.append(entry)
        return [entry]

    def periodic_app(self, facts: FileFacts, periodic: PeriodicFacts) -> tuple:
        receiver = periodic.receiver
        if periodic.function is not None and receiver == (periodic.sender,):
            for handler in facts.handlers:
                if handler.function == periodic.function:
                    return self.index.resolve(facts.module, handler.app)
        return self.index.resolve(facts.module, receiver)

    def periodic_entry(self, source: SourceFile, facts: FileFacts, periodic: PeriodicFacts) -> BeatEntry:
        index = self.index
        module = facts.module
        task_name: Any = UNKNOWN
        task_ref: tuple = ()
        if type(periodic.task) is Ref:
            dotted = periodic.task.dotted
            task = self.tasks.task_object(module, dotted[0]) if len(dotted) == 1 else None
            if task is None and len(dotted) > 1:
                found = index.split_definition(index.resolve(module, dotted))
                if found is not None and len(found[1]) == 1:
                    task = self.tasks.task_object(found[0], found[1][0])
            if task is not None:
                task_name = task.name if task.name is not None else UNKNOWN
                task_ref = ("task", task.module, task.function)
        elif periodic.task is not UNKNOWN:
            task_name = index.evaluate(module, periodic.task)
        else:
            index.notes.append(f"{source.rel}: add_periodic_task with a signature that cannot be read statically")
        key = index.evaluate(module, periodic.name)
        options = {k.name: index.evaluate(module, k.value) for k in periodic.options}
        entry = BeatEntry(
            rel=source.rel, module=module,
            key=key if isinstance(key, str) else None,
            key_span=facts.span(periodic.name_span) or facts.spans[periodic.span],
            task=task_name if isinstance(task_name, str) else None,
            task_span=facts.span(periodic.task_span),
            schedule=schedule_of(index.evaluate(module, periodic.schedule)),
            args=index.evaluate(module, periodic.args),
            kwargs=index.evaluate(module, periodic.kwargs),
            options=options if options else None,
            kind="periodic",
            task_ref=task_ref,
            task_literal=type(periodic.task) is Str,
            value_span=facts.spans[periodic.span],
        )
        self.read.append(entry)
        return entry

    # -- apps and the configuration they load
    def link_apps(self) -> None:
        for app, configs in self.configs.items():
            app_schedule = self.schedules.get(("app", app))
            for module, source_value, namespace_value in configs:
                namespace = self.index.evaluate(module, namespace_value)
                config = self.config_source(module, source_value)
                if config is None:
                    continue
                var = self.settings_schedule(config, namespace if isinstance(namespace, str) else None)
                if var is None:
                    continue
                if app_schedule is None:
                    app_schedule = self.schedules[("app", app)] = Schedule(".".join(app) + ".conf.beat_schedule", var.rel)
                if app_schedule.assignments:
                    app_schedule.overridden.append(var)
                    continue
                # Merged: the app runs the settings entries plus its own additions.
                merged = dict(var.entries)
                for key, entry in app_schedule.entries.items():
                    merged.pop(key, None)
                    merged[key] = entry
                app_schedule.entries = merged
                app_schedule.extra = var.extra + app_schedule.extra
                var.merged_into = app_schedule.label

    def config_source(self, module: str, value: Value) -> tuple[str, str | None] | None:
        """(module, class name or None) that `config_from_object(value)` loads."""
        index = self.index
        folded = index.evaluate(module, value)
        if isinstance(folded, str):
            text = folded.replace(":", ".")
            if text in ("django.conf.settings",):
                settings_module = self.django_settings_module(module)
                return (settings_module, None) if settings_module else None
            if text in index.by_module:
                return text, None
            head, _, tail = text.rpartition(".")
            if head in index.by_module:
                return head, tail
            return None
        if type(value) is Ref:
            qualified = index.resolve(module, value.dotted)
            name = ".".join(qualified)
            if qualified in (("django", "conf", "settings"),):
                settings_module = self.django_settings_module(module)
                return (settings_module, None) if settings_module else None
            if name in index.by_module:
                return name, None
            found = index.find_class(qualified)
            if found is not None:
                return found[0], found[1].name
        return None

    def django_settings_module(self, module: str) -> str | None:
        """DJANGO_SETTINGS_MODULE from `os.environ.setdefault(...)`: this module's call
        first, else the one value the project agrees on."""
        index = self.index
        values: dict[str, set[str]] = {}
        for _, facts in index.parsed():
            for op in facts.ops:
                if op.kind == "call" and op.target[-1] == "setdefault" and op.target[-2:-1] == ("environ",):
                    args = op.value.args
                    if len(args) >= 2 and args[0] == Str("DJANGO_SETTINGS_MODULE") and type(args[1]) is Str:
                        values.setdefault(facts.module, set()).add(args[1].text)
        own = values.get(module)
        candidates = own if own else set().union(*values.values()) if values else set()
        if len(candidates) == 1:
            (name,) = candidates
            return name if name in index.by_module else None
        return None

    def settings_schedule(self, config: tuple[str, str | None], namespace: str | None) -> Schedule | None:
        module, cls = config
        names = ("CELERY_BEAT_SCHEDULE",) if namespace == "CELERY" else (
            (f"{namespace}_BEAT_SCHEDULE",) if namespace else ("beat_schedule", "CELERYBEAT_SCHEDULE"))
        seen: set[str] = set()
        queue = [module]
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            for name in names:
                key = ("var", current, f"{cls}.{name}" if cls else name)
                if key in self.schedules:
                    return self.schedules[key]
            facts = self.index.module_facts(current)
            if facts is None or cls:
                continue
            queue.extend(reversed([s for s in facts.star_imports if s in self.index.by_module]))
        return None
