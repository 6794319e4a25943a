"""Beat schedules: every statically readable schedule of the project, as the beat
process of each app would run it (RULES.md §1, "Beat schedule entries").

`ScheduleBuilder` replays each module's schedule operations in order (assignment, item
assignment, `.update()`, `app.conf.update(beat_schedule=...)`, `add_periodic_task`)
into `Schedule`s, and links each app to the settings its `config_from_object` loads
(merged, or replaced by a later `app.conf.beat_schedule = ...`). It models what beat
runs and how the schedule came to be; the rules judge it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterable

from celerylint.facts.model import (
    UNKNOWN, BinOp, CallExpr, DictComp, DictExpr, DictItem, FileFacts, FunctionFacts, IfExpr, Join, Keyword, Num, Op,
    PeriodicFacts, Ref, RowWrite, SeqExpr, SourceFile, Str, Value, refs_of,
)
from celerylint.project import crontab, rows as fixture_rows
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
    kind: str  # "dict", "periodic" (add_periodic_task) or "row" (a django-celery-beat row)
    task_ref: tuple = ()  # ("task", module, function) when given as a task object
    task_literal: bool = False  # the task reference is a plain string literal (in Python source)
    value_span: tuple | None = None  # the entry's dict literal (or the add_periodic_task call, or the row's)
    origin: int = 0  # which reading of a dict literal produced it (same origin, same literal)
    # The conditional arms it is in: (choice, arm) pairs, for a choice a conditional
    # expression's test (`{...} if FLAG else {...}`) or an if/else around an
    # add_periodic_task call. Entries of different arms of one choice never run together.
    choices: frozenset = frozenset()
    seq: int = 0  # order of addition to its schedule (later entries replace same-keyed ones)
    enabled: bool = True  # a row written with enabled=False does not run

    @property
    def identity(self) -> tuple:
        return (self.rel, self.key_span or self.task_span, self.key)

    @property
    def anchor(self) -> tuple | None:
        """Where findings about the entry as a whole are reported: its key."""
        return self.key_span or self.task_span

    def label(self) -> str:
        what = "periodic task row" if self.kind == "row" else "beat entry"
        return f'{what} "{self.key}"' if self.key else what

    def exclusive(self, other: "BeatEntry") -> bool:
        """Whether the two entries sit in different arms of one choice (never both run)."""
        if not self.choices or not other.choices:
            return False
        mine = dict(self.choices)
        return any(choice in mine and mine[choice] != arm for choice, arm in other.choices)


@dataclass
class Assignment:
    """`app.conf.beat_schedule = {...}` (or `app.conf.update(beat_schedule=...)`): what
    it sets and which entries the schedule held before it."""

    rel: str
    span: tuple
    keys: set
    before: list  # BeatEntry


MAX_CHOICES = 6  # beyond 2**6 combinations, only unconditional entries are compared


@dataclass
class Schedule:
    """One schedule a beat process would run: an app's `beat_schedule`, a settings
    variable that no app could be linked to, or the django-celery-beat rows the code
    writes."""

    label: str
    rel: str
    added: list = field(default_factory=list)  # BeatEntry, in order since the last assignment
    assignments: list = field(default_factory=list)  # Assignment, in order (app schedules)
    # Configuration schedules (settings) the app loads but its last assignment replaces.
    overridden: list = field(default_factory=list)
    merged_into: str | None = None  # a settings schedule that an app runs as part of its own

    @property
    def entries(self) -> dict:
        """key -> the unconditional entry that holds it."""
        out: dict = {}
        for entry in self.added:
            if entry.key is not None and not entry.choices:
                out.pop(entry.key, None)
                out[entry.key] = entry
        return out

    def all_entries(self) -> list[BeatEntry]:
        """Every entry that runs in some arm of the schedule's conditions: not replaced by
        a later entry of the same key that holds whenever it does."""
        out = []
        unconditional: set = set()  # keys a later unconditional entry holds
        conditional: dict = {}  # key -> choices of the later conditional entries holding it
        for entry in reversed(self.added):
            key = entry.key
            if key is None:
                out.append(entry)
                continue
            if key not in unconditional and not any(c <= entry.choices for c in conditional.get(key, ())):
                out.append(entry)
            if entry.choices:
                conditional.setdefault(key, []).append(entry.choices)
            else:
                unconditional.add(key)
        out.reverse()
        return out

    def worlds(self) -> list[list[BeatEntry]]:
        """The entries that run together: one list per combination of the arms of the
        schedule's choices (a single list when there are none), each with a key's
        entries resolved in order (the later one replaces the earlier). Beyond
        MAX_CHOICES choices, one list of the unconditional entries."""
        choices: dict = {}
        for entry in self.added:
            for choice, arm in entry.choices:
                choices.setdefault(choice, set()).add(arm)
        if not choices:
            return [self.all_entries()]
        if len(choices) > MAX_CHOICES:
            return [[e for e in self.all_entries() if not e.choices]]
        names = list(choices)
        out = []
        for arms in itertools.product(*(sorted(choices[c], key=repr) for c in names)):
            world = dict(zip(names, arms))
            keyed: dict = {}
            keyless = []
            for entry in self.added:
                if all(world.get(choice) == arm for choice, arm in entry.choices):
                    if entry.key is None:
                        keyless.append(entry)
                    else:
                        keyed.pop(entry.key, None)
                        keyed[entry.key] = entry
            out.append(list(keyed.values()) + keyless)
        return out


@dataclass
class CrontabDefinition:
    """A crontab the project defines (a `crontab(...)` call, a CrontabSchedule row
    written by code or in a fixture), for BEAT008."""

    rel: str
    span: tuple
    crontab: Any  # crontab.Crontab
    fix: str | None  # "call" (`crontab(...)`: `minute=0`), "row" (`CrontabSchedule(...)`: `minute="0"`) or None
    what: str  # "crontab(...)", "CrontabSchedule row", ...


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

    def entries(self, rows: bool = False) -> list[BeatEntry]:
        """Every readable entry once, in path and position order; with `rows`, the
        django-celery-beat rows written by code and fixtures too."""
        seen: dict[tuple, BeatEntry] = {}
        for schedule in self.all():
            for entry in schedule.all_entries():
                if rows or entry.kind != "row":
                    seen.setdefault(entry.identity, entry)
        return sorted(seen.values(), key=lambda e: (e.rel, e.anchor or (0,), e.key or ""))

    def duplicate_keys(self) -> list[tuple[BeatEntry, BeatEntry]]:
        """(later, first) for a key written twice in one dict literal: Python keeps the
        later one only."""
        first_of: dict[tuple, BeatEntry] = {}
        pairs = []
        for entry in self._builder().read:
            if entry.key is None or entry.kind != "dict":
                continue
            first = first_of.setdefault((entry.origin, entry.key), entry)
            if first is not entry:
                pairs.append((entry, first))
        return pairs

    def replaced_periodic(self) -> list[tuple[BeatEntry, BeatEntry]]:
        """(later, earlier) for two add_periodic_task calls of one app with the same key
        (its `name`, else `repr(sig)` as Celery keys them) that run together: the later
        one replaces the earlier one in the app's beat_schedule."""
        pairs = []
        seen = set()
        for schedule in self.running():
            for world in _periodic_worlds(schedule):
                last: dict = {}
                for entry in world:
                    earlier = last.get(entry.key)
                    if earlier is not None and (entry.identity, earlier.identity) not in seen:
                        seen.add((entry.identity, earlier.identity))
                        pairs.append((entry, earlier))
                    last[entry.key] = entry
        return pairs

    def crontabs(self) -> list[CrontabDefinition]:
        return list(self._builder().crontabs)


def _periodic_worlds(schedule: Schedule) -> list[list[BeatEntry]]:
    """The keyed add_periodic_task entries of a schedule in order, per combination of
    arms (as Schedule.worlds, without resolving keys)."""
    periodic = [e for e in schedule.added if e.kind == "periodic" and e.key is not None]
    choices: dict = {}
    for entry in periodic:
        for choice, arm in entry.choices:
            choices.setdefault(choice, set()).add(arm)
    if len(choices) > MAX_CHOICES:
        return [[e for e in periodic if not e.choices]]
    names = list(choices)
    out = []
    for arms in itertools.product(*(sorted(choices[c], key=repr) for c in names)):
        world = dict(zip(names, arms))
        out.append([e for e in periodic if all(world.get(c) == a for c, a in e.choices)])
    return out


def celery_key(task: Any, args: Any, kwargs: Any) -> str | None:
    """The key `add_periodic_task` gives an entry without `name=`: `repr(sig)`, which is
    `task(arg, ..., key=value, ...)` (kombu's reprcall); None when any part is unknown."""
    if not isinstance(task, str) or not isinstance(args, (list, tuple)) or not isinstance(kwargs, dict):
        return None
    if not plain(args) or not plain(kwargs):
        return None
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{task}({', '.join(parts)})"


def plain(value: Any) -> bool:
    """Plain data all the way down (no UNKNOWN and no unevaluated call inside)."""
    if value is UNKNOWN or isinstance(value, Call):
        return False
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(plain(k) and plain(v) for k, v in value.items())
    return True


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
        self.crontabs: list[CrontabDefinition] = []
        self._readings = 0
        self._seq = itertools.count(1)
        self.where = ""  # "path:line" of the statement being read, for --verbose notes
        self._configure: dict[tuple, dict] | None = None  # (module, function) -> parameter -> app

    def note(self, text: str) -> None:
        self.index.notes.append(f"{self.where}: {text}" if self.where else text)

    def schedule(self, key: tuple, rel: str) -> Schedule:
        found = self.schedules.get(key)
        if found is None:
            if key[0] == "app":
                label = ".".join(key[1]) + ".conf.beat_schedule"
            elif key[0] == "rows":
                label = "django-celery-beat rows"
            else:
                label = f"{key[1]}.{key[2]}"
            found = self.schedules[key] = Schedule(label, rel)
        return found

    def build(self) -> None:
        for source, facts in list(self.index.parsed()):
            if facts.error is None:
                self.replay(source, facts)
        self.where = ""
        self.link_apps()
        RowReader(self).read_all()
        self.crontab_calls()

    # -- which schedule does a dotted target name
    def target(self, module: str, dotted: tuple, scope: str, binding: dict | None = None,
               imports: dict | None = None) -> tuple | None:
        if scope.startswith("class:"):
            if len(dotted) == 2 and _schedule_name(dotted[1]):
                return ("var", module, ".".join(dotted))
            return None
        if len(dotted) == 1 and _schedule_name(dotted[0]):
            return ("var", module, dotted[0])
        if len(dotted) >= 3 and dotted[-2:] == ("conf", "beat_schedule"):
            app = dotted[:-2]
            if binding and app[0] in binding:
                return ("app", binding[app[0]] + app[1:])
            return ("app", self.index.resolve_in(module, imports, app) if imports else self.index.resolve(module, app))
        return None

    def replay(self, source: SourceFile, facts: FileFacts) -> None:
        module = facts.module
        for op in facts.ops:
            self.where = f"{source.rel}:{facts.spans[op.span][0]}"
            binding = imports = None
            if op.scope.startswith("function:"):
                function = op.scope.split(":", 2)[1]
                binding = self.configure_functions().get((module, function))
                if binding is None:
                    if op.kind != "call" or op.target[-1] == "update":
                        self.note(f"the schedule change in function {function} is not read: the analyzer does not "
                                  f"know it to run when the app is configured")
                    continue
                fn = next((f for f in facts.functions if f.name == function), None)
                imports = fn.imports if fn is not None else None
            if op.kind == "call":
                self.call_op(source, facts, op, binding, imports)
                continue
            key = self.target(module, op.target, op.scope, binding, imports)
            if key is None:
                if binding is not None:
                    self.note(f"the schedule {'.'.join(op.target)} changed here is not one the analyzer can name")
                continue
            schedule = self.schedule(key, source.rel)
            if op.kind == "assign":
                self.assign(key, schedule, source, facts, op.value, op.span)
            elif op.kind == "setitem" and type(op.value) is not DictExpr:  # `S[key] = ENTRY`
                self.add_entries(schedule, self.entry_from_value(module, op.key, op.value, -1))
            else:  # setitem of a dict literal (wrapped as a one-item schedule), ior
                self.add_entries(schedule, self.entries(module, op.value))
        for periodic in facts.periodic:
            self.where = f"{source.rel}:{facts.spans[periodic.span][0]}"
            schedule = self.schedule(("app", self.periodic_app(facts, periodic)), source.rel)
            self.add_entries(schedule, [self.periodic_entry(source, facts, periodic)])

    def configure_functions(self) -> dict[tuple, dict]:
        """(module, function) -> {parameter: app} for the functions that run when the app
        is configured: `on_after_configure` / `on_after_finalize` handlers (their first
        parameter is the app), functions called at module level (`configure(app)`: the
        first parameter is bound to the first argument), and AppConfig `ready()` methods."""
        if self._configure is None:
            found: dict[tuple, dict] = {}
            index = self.index
            for _, facts in list(index.parsed()):
                module = facts.module
                firsts = {}
                for op in facts.ops:
                    if op.scope.startswith("function:"):
                        _, name, first = op.scope.split(":", 2)
                        firsts[name] = first
                for handler in facts.handlers:
                    first = firsts.get(handler.function)
                    found[(module, handler.function)] = {first: index.resolve(module, handler.app)} if first else {}
                for op in facts.ops:
                    if op.kind != "call" or op.scope != "module" or len(op.target) != 1:
                        continue
                    where = index.split_definition(index.resolve(module, op.target))
                    if where is None or len(where[1]) != 1:
                        continue
                    binding = {}
                    args = op.value.args
                    if args and type(args[0]) is Ref:
                        binding["\0first"] = index.resolve(module, args[0].dotted)
                    found.setdefault((where[0], where[1][0]), binding)
                for fn in facts.functions:
                    if fn.name == "ready" and fn.owner is not None:
                        found.setdefault((module, "ready"), {})
            # A called function's first parameter: from its own ops' scope.
            for (module, name), binding in found.items():
                if "\0first" in binding:
                    facts = index.module_facts(module)
                    app = binding.pop("\0first")
                    for op in facts.ops if facts is not None else ():
                        if op.scope.startswith(f"function:{name}:"):
                            binding[op.scope.split(":", 2)[2]] = app
                            break
            self._configure = found
        return self._configure

    def call_op(self, source: SourceFile, facts: FileFacts, op: Op, binding: dict | None = None,
                imports: dict | None = None) -> None:
        module = facts.module
        target, call = op.target, op.value
        if target[-1] == "config_from_object" and len(target) >= 2 and binding is None:
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
                app = target[:-2]
                if binding and app[0] in binding:
                    resolved = binding[app[0]] + app[1:]
                else:
                    resolved = self.index.resolve_in(module, imports, app) if imports else self.index.resolve(module, app)
                key = ("app", resolved)
                self.assign(key, self.schedule(key, source.rel), source, facts, given, op.span)
            return
        key = self.target(module, target[:-1], "module", binding, imports)
        if key is None:
            return
        schedule = self.schedule(key, source.rel)
        if key[0] == "var" and not schedule.added and not schedule.assignments:
            # `X.update(...)` on a name this module got from elsewhere (star import)
            self.add_entries(schedule, self.inherited(module, target[:-1]))
        for arg in call.args:
            self.add_entries(schedule, self.entries(module, arg))
        for keyword in call.kwargs:
            if keyword.name is not None:
                self.add_entries(schedule, self.entry_from_value(module, Str(keyword.name), keyword.value, -1))
            else:
                self.add_entries(schedule, self.entries(module, keyword.value))

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
        schedule.added.clear()
        self.add_entries(schedule, new)

    def add_entries(self, schedule: Schedule, entries: Iterable[BeatEntry]) -> None:
        for entry in entries:
            entry.seq = next(self._seq)
            schedule.added.append(entry)

    # -- values to entries
    def entries(self, module: str, value: Value, depth: int = 0, choices: frozenset = frozenset()) -> list[BeatEntry]:
        """The entries of a schedule dict value (following names, `**spreads`, `|`, `+`,
        `dict(A, **B)`, conditional expressions and comprehensions over literals)."""
        if depth > 20:
            return []
        kind = type(value)
        if kind is DictExpr:
            out: list[BeatEntry] = []
            for spread in value.spreads:
                out.extend(self.entries(module, spread, depth + 1, choices))
            self._readings += 1
            for item in value.items:
                for entry in self.entry_from_value(module, item.key, item.value, item.key_span, depth,
                                                   item.value_span, choices):
                    entry.origin = self._readings
                    out.append(entry)
            return out
        if kind is Ref:
            located = self.index.locate(module, value.dotted)
            if located is None:
                self.note(f"schedule {'.'.join(value.dotted)} cannot be read statically")
                return []
            return self.entries(located[0], located[1], depth + 1, choices)
        if kind is BinOp and value.op in ("|", "+"):
            return (self.entries(module, value.left, depth + 1, choices)
                    + self.entries(module, value.right, depth + 1, choices))
        if kind is IfExpr:
            choice = (module, value.test)
            return (self.entries(module, value.body, depth + 1, choices | {(choice, 0)})
                    + self.entries(module, value.orelse, depth + 1, choices | {(choice, 1)}))
        if kind is DictComp:
            return self.comprehension(module, value, depth, choices)
        if kind is CallExpr and value.callee == ("dict",):
            out = []
            for arg in value.args:
                out.extend(self.entries(module, arg, depth + 1, choices))
            for keyword in value.kwargs:
                if keyword.name is None:
                    out.extend(self.entries(module, keyword.value, depth + 1, choices))
                else:
                    out.extend(self.entry_from_value(module, Str(keyword.name), keyword.value, -1, depth,
                                                     choices=choices))
            return out
        if value is UNKNOWN or kind is CallExpr:
            self.note("a beat schedule built by code cannot be read statically")
        else:
            self.note("a beat schedule value that is not a dict cannot be read")
        return []

    def comprehension(self, module: str, value: DictComp, depth: int, choices: frozenset) -> list[BeatEntry]:
        """`{key: entry for target in <literal>}`: one entry per item of the iterable,
        when it folds to a list, tuple or dict of plain values."""
        items = self.index.evaluate(module, value.iterable)
        if isinstance(items, dict):
            items = list(items)
        if not isinstance(items, list) or not plain(items):
            self.note("a beat schedule comprehension over a value that cannot be read statically")
            return []
        out = []
        for item in items:
            if len(value.targets) == 1:
                bound = {value.targets[0]: item}
            elif isinstance(item, (list, tuple)) and len(item) == len(value.targets):
                bound = dict(zip(value.targets, item))
            else:
                self.note("a beat schedule comprehension whose items do not unpack")
                return []
            key = _substitute(value.key, bound)
            entry = _substitute(value.value, bound)
            out.extend(self.entry_from_value(module, key, entry, -1, depth + 1, choices=choices))
        return out

    def entry_from_value(self, module: str, key: Value, value: Value, key_span: int,
                         depth: int = 0, value_span: int = -1, choices: frozenset = frozenset()) -> list[BeatEntry]:
        """A `"key": {"task": ..., "schedule": ...}` item as a BeatEntry (the value may be
        a name bound to such a dict, here or in another module)."""
        index = self.index
        if type(value) is Ref:
            located = index.locate(module, value.dotted)
            if located is None or depth > 20:
                self.note(f"beat entry {'.'.join(value.dotted)} cannot be read statically")
                return []
            entries = self.entry_from_value(located[0], UNKNOWN, located[1], -1, depth + 1, choices=choices)
            facts = index.module_facts(module)
            key_value = index.evaluate(module, key)
            for entry in entries:
                entry.key = key_value if isinstance(key_value, str) else None
                if facts is not None and key_span >= 0:
                    entry.key_span = facts.spans[key_span]
                    entry.rel = index.by_module[module].rel
                    entry.module = module
            return entries
        if type(value) is IfExpr:
            choice = (module, value.test)
            return (self.entry_from_value(module, key, value.body, key_span, depth + 1, -1, choices | {(choice, 0)})
                    + self.entry_from_value(module, key, value.orelse, key_span, depth + 1, -1,
                                            choices | {(choice, 1)}))
        if type(value) is not DictExpr:
            if value is not UNKNOWN or depth == 0:
                self.note("a beat entry that is not a dict literal cannot be read")
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
            choices=choices,
        )
        if entry.task is None:
            self.note(f"the task of beat entry {entry.key or '?'} cannot be read statically")
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
            fn = _function_around(facts, periodic.function, periodic.span)
            local = fn.imports if fn is not None and dotted[0] in fn.imports else None
            task = self.tasks.task_object(module, dotted[0]) if len(dotted) == 1 and local is None else None
            if task is None and (len(dotted) > 1 or local is not None):
                # `from .tasks import job` in the function that calls add_periodic_task
                found = index.split_definition(index.resolve_in(module, local, dotted) if local
                                               else index.resolve(module, dotted))
                if found is not None and len(found[1]) == 1:
                    task = self.tasks.task_object(found[0], found[1][0])
            if task is not None:
                task_name = task.name if task.name is not None else UNKNOWN
                task_ref = ("task", task.module, task.function)
        elif periodic.task is not UNKNOWN:
            task_name = index.evaluate(module, periodic.task)
        else:
            self.note("add_periodic_task with a signature that cannot be read statically")
        args = index.evaluate(module, periodic.args)
        kwargs = index.evaluate(module, periodic.kwargs)
        if periodic.name is not UNKNOWN:
            key = index.evaluate(module, periodic.name)
        else:  # Celery keys an unnamed entry by repr(sig)
            key = celery_key(task_name, args, kwargs)
        options = {k.name: index.evaluate(module, k.value) for k in periodic.options}
        entry = BeatEntry(
            rel=source.rel, module=module,
            key=key if isinstance(key, str) else None,
            key_span=facts.span(periodic.name_span) or facts.spans[periodic.span],
            task=task_name if isinstance(task_name, str) else None,
            task_span=facts.span(periodic.task_span),
            schedule=schedule_of(index.evaluate(module, periodic.schedule)),
            args=args,
            kwargs=kwargs,
            options=options if options else None,
            kind="periodic",
            task_ref=task_ref,
            task_literal=type(periodic.task) is Str,
            value_span=facts.spans[periodic.span],
            choices=self.branch_choices(source, facts, periodic),
        )
        self.read.append(entry)
        return entry

    @staticmethod
    def branch_choices(source: SourceFile, facts: FileFacts, periodic: PeriodicFacts) -> frozenset:
        """The if/else arms around an add_periodic_task call, as choices: the module-level
        arms (shared by every function defined there) and the arms inside its function."""
        branch = periodic.branch
        if not branch:
            return frozenset()
        outer = ""
        if periodic.function is not None:
            fn = next((f for f in facts.functions if f.name == periodic.function and f.owner is None), None)
            if fn is not None and branch.startswith(fn.branch):
                outer = fn.branch
        choices = set()
        for scope, part in (("", outer), (periodic.function or "", branch[len(outer):])):
            path = ""
            for piece in part.split("/")[1:]:
                statement, _, arm = piece.partition(".")
                choices.add(((source.rel, scope, f"{path}/{statement}"), arm))
                path += "/" + piece
        return frozenset(choices)

    # -- crontabs the project defines (BEAT008)
    def crontab_calls(self) -> None:
        index = self.index
        for source, facts in list(index.parsed()):
            if facts.error is not None or not facts.crontabs:
                continue
            for call in sorted(facts.crontabs, key=lambda c: facts.spans[c.span]):
                value = call.value
                if call.local and _has_names(value):
                    continue  # names inside a function may be its own
                callee = value.callee
                if callee is None or callee[0] == "?":
                    continue
                qualified = index.resolve(facts.module, callee)
                if qualified[0] not in ("celery",) or qualified[-1] not in ("crontab", "from_string"):
                    continue
                schedule = schedule_of(index.evaluate(facts.module, value))
                if isinstance(schedule, crontab.Crontab):
                    fix = "call" if qualified[-1] == "crontab" else None
                    what = "crontab(...)" if fix else "crontab.from_string(...)"
                    self.crontabs.append(CrontabDefinition(source.rel, facts.spans[call.span], schedule, fix, what))

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
                app_schedule.added = list(var.added) + app_schedule.added
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


def _has_names(call: CallExpr) -> bool:
    return any(refs_of(a) for a in call.args) or any(refs_of(k.value) for k in call.kwargs)


def _literal(value: Any) -> Value:
    """A folded plain value back as a value of the facts."""
    if isinstance(value, str):
        return Str(value)
    if value is None or isinstance(value, (bool, int, float)):
        return Num(value)
    if isinstance(value, (list, tuple)):
        return SeqExpr(tuple(_literal(v) for v in value))
    if isinstance(value, dict):
        return DictExpr(tuple(DictItem(_literal(k), _literal(v), -1, -1) for k, v in value.items()), ())
    return UNKNOWN


def _substitute(value: Any, bound: dict) -> Any:
    """`value` with the names in `bound` (a comprehension's targets) replaced by their
    values; an attribute of one (`x.y`) becomes UNKNOWN."""
    kind = type(value)
    if kind is Ref:
        if value.dotted[0] in bound:
            return _literal(bound[value.dotted[0]]) if len(value.dotted) == 1 else UNKNOWN
        return value
    if kind is Join:
        return Join(tuple(_substitute(p, bound) for p in value.parts))
    if kind is BinOp:
        return BinOp(value.op, _substitute(value.left, bound), _substitute(value.right, bound))
    if kind is SeqExpr:
        return SeqExpr(tuple(_substitute(v, bound) for v in value.items))
    if kind is DictExpr:
        return DictExpr(tuple(DictItem(_substitute(i.key, bound), _substitute(i.value, bound), i.key_span,
                                       i.value_span) for i in value.items),
                        tuple(_substitute(v, bound) for v in value.spreads))
    if kind is CallExpr:
        return CallExpr(value.callee, tuple(_substitute(a, bound) for a in value.args),
                        tuple(Keyword(k.name, _substitute(k.value, bound)) for k in value.kwargs))
    if kind is IfExpr:
        return IfExpr(_substitute(value.test, bound), _substitute(value.body, bound), _substitute(value.orelse, bound))
    return value


# --------------------------------------------------------------------------- django-celery-beat rows

ROW_WRITES = frozenset({"create", "get_or_create", "update_or_create", "new"})
READ_ONLY = frozenset({"exists", "count", "values", "values_list", "aggregate", "iterator"})
INTERVAL_UNITS = frozenset({"DAYS", "HOURS", "MINUTES", "SECONDS", "MICROSECONDS"})


class RowReader:
    """The django-celery-beat rows the project writes, as the entries of one schedule
    (the row's `name` is the key, `task=` its task): rows written by code that runs at
    deploy or start-up (the forward functions of data migrations' RunPython, management
    commands, AppConfig methods, post_migrate receivers, and the project functions those
    call), and the rows of JSON/YAML fixtures. A row's schedule is the CrontabSchedule or
    IntervalSchedule row the same function binds to the name given as `crontab=` /
    `interval=`. A row that a query of such code may later change or delete
    (`PeriodicTask.objects.filter(name=...).delete()` in a later migration) is not read,
    nor one named like an entry of a configured beat schedule (DatabaseScheduler
    replaces it with that entry when beat starts).
    CrontabSchedule rows are crontab definitions for BEAT008."""

    def __init__(self, builder: ScheduleBuilder):
        self.builder = builder
        self.index = builder.index

    def read_all(self) -> None:
        index = self.index
        running = self.running_functions()
        entries: list[BeatEntry] = []
        queries: list[tuple] = []
        for source, facts in list(index.parsed()):
            if not facts.rows or facts.error is not None:
                continue
            by_function: dict = {}
            for row in facts.rows:
                by_function.setdefault(row.function, []).append(row)
            for function, rows in by_function.items():
                self.builder.where = f"{source.rel}:{facts.spans[rows[0].span][0]}"
                if (facts.module, function) not in running:
                    if any(r.method in ROW_WRITES for r in rows):
                        self.builder.note(f"django-celery-beat rows written in {function or 'module code'} are not "
                                          f"read: the analyzer does not know it to run at deploy or start-up")
                    continue
                fn = _function(facts, function)
                local = {r.bound: r for r in rows if r.bound}
                for row in rows:
                    model = self.model(facts.module, fn, row.model)
                    if model is None:
                        continue
                    self.builder.where = f"{source.rel}:{facts.spans[row.span][0]}"
                    if row.method in ROW_WRITES:
                        if model == "PeriodicTask":
                            entry = self.periodic_row(source, facts, row, local)
                            if entry is not None:
                                entries.append(entry)
                        elif model == "CrontabSchedule":
                            self.crontab_row(source, facts, row)
                    elif model == "PeriodicTask" and not (set(row.method.split(".")) & READ_ONLY):
                        queries.append((source.rel, facts.spans[row.span], facts.module, row))
        entries += self.fixture_rows()
        self.builder.where = ""
        # DatabaseScheduler writes the configured beat_schedule into the table at start-up,
        # by name: a row named like a configured entry is replaced by it.
        configured = {e.key for schedule in self.builder.schedules.values() for e in schedule.all_entries()
                      if e.key is not None}
        kept = [e for e in entries if not self.changed_later(e, queries) and e.key not in configured]
        if kept:
            schedule = self.builder.schedule(("rows",), kept[0].rel)
            self.builder.add_entries(schedule, kept)

    # -- which code runs
    def running_functions(self) -> set[tuple]:
        """(module, function) of the code that runs at deploy or start-up (see the class)."""
        index = self.index
        roots: set[tuple] = set()
        for _, facts in list(index.parsed()):
            if not facts.rows and not facts.ops:
                continue
            module = facts.module
            parts = module.split(".")
            if "migrations" in parts[:-1]:
                roots |= self.migration_functions(facts)
            elif "management" in parts and "commands" in parts[parts.index("management"):]:
                roots |= {(module, _qualname(fn)) for fn in facts.functions if not fn.nested or fn.owner}
            else:
                for cls in facts.classes:
                    if not cls.nested and any(type(b) is Ref and b.dotted[-1].endswith("AppConfig") for b in cls.bases):
                        roots |= {(module, _qualname(fn)) for fn in facts.functions if fn.owner == cls.name}
                if parts[-1] == "apps":
                    roots |= {(module, fn.name) for fn in facts.functions if fn.owner is None and not fn.nested}
                for fn in facts.functions:
                    if any(any(r[-1] == "post_migrate" for a in dec.args for r in refs_of(a)) for dec in fn.decorators):
                        roots.add((module, _qualname(fn)))
            for op in facts.ops:
                if op.kind == "call" and op.target[-2:] == ("post_migrate", "connect") and op.value.args:
                    first = op.value.args[0]
                    if type(first) is Ref:
                        found = index.split_definition(index.resolve(module, first.dotted))
                        if found is not None and len(found[1]) == 1:
                            roots.add((found[0], found[1][0]))
        running = set(roots)
        for module, name in roots:  # and the project functions they call
            facts = index.module_facts(module)
            fn = _function(facts, name) if facts is not None else None
            if fn is None:
                continue
            for callee in fn.calls:
                if "()" in callee:
                    continue
                if callee[0] == "self" and len(callee) == 2 and "." in name:
                    running.add((module, name.split(".")[0] + "." + callee[1]))
                    continue
                found = index.split_definition(index.resolve_in(module, fn.imports, callee))
                if found is not None and len(found[1]) == 1:
                    running.add((found[0], found[1][0]))
        return running

    def migration_functions(self, facts: FileFacts) -> set[tuple]:
        """The forward functions of a migration's RunPython operations; every function of
        the module when its operations cannot be read."""
        index = self.index
        module = facts.module
        every = {(module, fn.name) for fn in facts.functions if fn.owner is None and not fn.nested}
        migration = next((c for c in facts.classes if c.name == "Migration" and not c.nested), None)
        operations = next((a.value for a in migration.attrs if a.name == "operations"), None) if migration else None
        if type(operations) is not SeqExpr:
            return every
        found = set()
        for op in operations.items:
            if type(op) is not CallExpr or not op.callee:
                if type(op) is not CallExpr:
                    return every
                continue
            if op.callee[-1] != "RunPython":
                continue
            forward = op.args[0] if op.args else next((k.value for k in op.kwargs if k.name == "code"), None)
            if type(forward) is not Ref:
                return every
            where = index.split_definition(index.resolve(module, forward.dotted))
            if where is None or len(where[1]) != 1:
                return every
            found.add((where[0], where[1][0]))
        return found

    def model(self, module: str, fn: FunctionFacts | None, dotted: tuple) -> str | None:
        """The django-celery-beat model a row's model name is: imported from
        django_celery_beat, or bound in the function by `apps.get_model(...)`."""
        qualified = self.index.resolve_in(module, fn.imports, dotted) if fn is not None and fn.imports \
            else self.index.resolve(module, dotted)
        if qualified[0] == "django_celery_beat":
            return qualified[-1]
        if qualified == dotted and len(dotted) == 1 and fn is not None \
                and any(c[-1] == "get_model" for c in fn.calls):
            return dotted[0]
        return None

    # -- rows as entries
    def _fields(self, facts: FileFacts, row: RowWrite) -> tuple[dict, dict, bool] | None:
        """(field -> value, field -> span index, readable): the row's keyword arguments
        with `defaults={...}` merged; readable False when `**x` hides some."""
        values: dict = {}
        spans: dict = {}
        readable = True
        for keyword, span in zip(row.kwargs, row.value_spans):
            if keyword.name is None:
                readable = False
            elif keyword.name == "defaults" and row.method in ("get_or_create", "update_or_create"):
                if type(keyword.value) is not DictExpr or keyword.value.spreads:
                    readable = False
                    continue
                for item in keyword.value.items:
                    name = self.index.evaluate(facts.module, item.key)
                    if isinstance(name, str):
                        values[name] = item.value
                        spans[name] = item.value_span
                    else:
                        readable = False
            else:
                values[keyword.name] = keyword.value
                spans[keyword.name] = span
        return values, spans, readable

    def periodic_row(self, source: SourceFile, facts: FileFacts, row: RowWrite, local: dict) -> BeatEntry | None:
        index = self.index
        module = facts.module
        values, spans, readable = self._fields(facts, row)
        if "task" not in values:
            self.builder.note("a PeriodicTask row whose task cannot be read statically" if not readable
                              else "a PeriodicTask row without task=")
            return None
        name = index.evaluate(module, values["name"]) if "name" in values else UNKNOWN
        task = index.evaluate(module, values["task"])
        schedule: Any = UNKNOWN
        for field_name in ("crontab", "interval"):
            value = values.get(field_name)
            if type(value) is Ref and len(value.dotted) == 1 and value.dotted[0] in local:
                schedule = self.linked_schedule(facts, local[value.dotted[0]])
        enabled = index.evaluate(module, values["enabled"]) if "enabled" in values else True
        entry = BeatEntry(
            rel=source.rel, module=module,
            key=name if isinstance(name, str) else None,
            key_span=facts.span(spans.get("name", -1)) or facts.spans[row.span],
            task=task if isinstance(task, str) else None,
            task_span=facts.span(spans.get("task", -1)) or facts.spans[row.span],
            schedule=schedule,
            args=self.json_field(module, values.get("args"), []),
            kwargs=self.json_field(module, values.get("kwargs"), {}),
            options=None,
            kind="row",
            task_literal=type(values["task"]) is Str and spans.get("task", -1) >= 0,
            value_span=facts.spans[row.span],
            enabled=enabled is not False,
        )
        if entry.task is None:
            self.builder.note(f"the task of periodic task row {entry.key or '?'} cannot be read statically")
        return entry

    def json_field(self, module: str, value: Any, default: Any) -> Any:
        """A PeriodicTask `args`/`kwargs` value: JSON text, or `json.dumps(x)`."""
        if value is None:
            return default
        if type(value) is CallExpr and value.callee and value.callee[-1] == "dumps" and len(value.args) == 1:
            return self.index.evaluate(module, value.args[0])
        folded = self.index.evaluate(module, value)
        return fixture_rows.json_value(folded, default) if isinstance(folded, str) else UNKNOWN

    def linked_schedule(self, facts: FileFacts, row: RowWrite) -> Any:
        """The schedule of a CrontabSchedule / IntervalSchedule row (UNKNOWN otherwise)."""
        values, _, readable = self._fields(facts, row)
        if not readable or _has_names(CallExpr(None, tuple(values.values()), ())):
            return UNKNOWN
        folded = {k: self.index.evaluate(facts.module, v) for k, v in values.items()}
        last = row.model[-1]
        if last == "CrontabSchedule":
            fields = fixture_rows.crontab_fields(folded)
            if any(v is UNKNOWN for v in fields.values()):
                return UNKNOWN
            return crontab.crontab_from_call((), fields) or UNKNOWN
        if last == "IntervalSchedule":
            period = values.get("period")
            unit = period.dotted[-1].lower() if type(period) is Ref and period.dotted[-1] in INTERVAL_UNITS \
                else folded.get("period")
            seconds = fixture_rows.interval_seconds(folded.get("every"), unit)
            return seconds if seconds is not None else UNKNOWN
        return UNKNOWN

    def crontab_row(self, source: SourceFile, facts: FileFacts, row: RowWrite) -> None:
        values, _, readable = self._fields(facts, row)
        schedule = self.linked_schedule(facts, row) if readable else UNKNOWN
        if isinstance(schedule, crontab.Crontab):
            fixable = all(k.name not in (None, "defaults") for k in row.kwargs)
            self.builder.crontabs.append(CrontabDefinition(source.rel, facts.spans[row.span], schedule,
                                                           "row" if fixable else None, "CrontabSchedule row"))

    # -- fixtures
    def fixture_rows(self) -> list[BeatEntry]:
        rows = list(self.index.data_rows)
        crontabs = {(r.rel, r.pk): r for r in rows if r.model == "crontabschedule"}
        intervals = {(r.rel, r.pk): r for r in rows if r.model == "intervalschedule"}
        by_pk = {r.pk: r for r in rows if r.model in ("crontabschedule", "intervalschedule")}
        entries = []
        for row in rows:
            span = (row.line, 1, row.line, 1)
            if row.model == "crontabschedule":
                schedule = crontab.crontab_from_call((), fixture_rows.crontab_fields(row.fields))
                if schedule is not None:
                    self.builder.crontabs.append(CrontabDefinition(row.rel, span, schedule, None,
                                                                   "CrontabSchedule fixture row"))
                continue
            if row.model != "periodictask":
                continue
            fields = row.fields
            schedule: Any = UNKNOWN
            if fields.get("crontab") is not None:
                linked = crontabs.get((row.rel, fields["crontab"])) or by_pk.get(fields["crontab"])
                if linked is not None and linked.model == "crontabschedule":
                    schedule = crontab.crontab_from_call((), fixture_rows.crontab_fields(linked.fields)) or UNKNOWN
            elif fields.get("interval") is not None:
                linked = intervals.get((row.rel, fields["interval"])) or by_pk.get(fields["interval"])
                if linked is not None and linked.model == "intervalschedule":
                    seconds = fixture_rows.interval_seconds(linked.fields.get("every"), linked.fields.get("period"))
                    schedule = seconds if seconds is not None else UNKNOWN
            name, task = fields.get("name"), fields.get("task")
            entries.append(BeatEntry(
                rel=row.rel, module="",
                key=name if isinstance(name, str) else None,
                key_span=row.field_lines.get("name", span),
                task=task if isinstance(task, str) else None,
                task_span=row.field_lines.get("task", span),
                schedule=schedule,
                args=fixture_rows.json_value(fields.get("args"), []),
                kwargs=fixture_rows.json_value(fields.get("kwargs"), {}),
                options=None, kind="row", value_span=span,
                enabled=fields.get("enabled", True) is not False,
            ))
        return entries

    # -- later changes
    def changed_later(self, entry: BeatEntry, queries: list[tuple]) -> bool:
        """Whether a query of running code may change or delete the row afterwards (not
        earlier in the same file, nor in an earlier migration of the same app)."""
        for rel, span, module, row in queries:
            if rel == entry.rel and entry.value_span is not None and span < entry.value_span:
                continue
            if _earlier_migration(rel, entry.rel):
                continue
            if self.may_match(module, row, entry):
                return True
        return False

    def may_match(self, module: str, row: RowWrite, entry: BeatEntry) -> bool:
        for keyword in row.kwargs:
            if keyword.name is None:
                return True
            value = self.index.evaluate(module, keyword.value)
            field_name, _, lookup = keyword.name.partition("__")
            if field_name not in ("name", "task") or lookup not in ("", "in", "exact"):
                continue  # another field: may match
            mine = entry.key if field_name == "name" else entry.task
            if mine is None:
                continue
            if lookup == "in" and isinstance(value, list) and all(isinstance(v, str) for v in value):
                if mine not in value:
                    return False
            elif isinstance(value, str) and lookup != "in":
                if value != mine:
                    return False
        return True


def _function(facts: FileFacts, qualname: str | None) -> FunctionFacts | None:
    if qualname is None:
        return None
    owner, _, name = qualname.rpartition(".")
    return next((f for f in facts.functions if f.name == name and (f.owner or "") == owner), None)


def _function_around(facts: FileFacts, name: str | None, span: int) -> FunctionFacts | None:
    """The function named `name` (a method too: facts name the function of a call by its
    own name) that holds the code at `span`: the nearest such definition above it."""
    if name is None:
        return None
    where = facts.spans[span][:2]
    above = [f for f in facts.functions if f.name == name and facts.spans[f.def_span][:2] <= where]
    return max(above, key=lambda f: facts.spans[f.def_span][:2], default=None)


def _qualname(fn: FunctionFacts) -> str:
    return f"{fn.owner}.{fn.name}" if fn.owner else fn.name


def _earlier_migration(rel: str, other: str) -> bool:
    """Whether `rel` is a migration of the same app as `other`, before it."""
    folder, _, name = rel.rpartition("/")
    other_folder, _, other_name = other.rpartition("/")
    return folder == other_folder and folder.endswith("migrations") and name < other_name
