"""ProjectIndex: the whole project's facts merged, with name resolution, constant
folding, the task registry and the beat schedules.

Names are resolved, not string-matched: a name is looked up in its module's imports
and definitions, and followed through re-exports (`from .celery import app as
celery_app` in a package `__init__`) and star imports. Files that the byte prefilter
skipped are parsed on demand when resolution passes through them. Whatever cannot be
resolved or folded is UNKNOWN, and UNKNOWN never produces a finding.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Protocol

from celerylint import crontab as crontab_mod
from celerylint.config import Settings
from celerylint.discover import SourceFile
from celerylint.facts import ClassFacts, FileFacts, FunctionFacts, PeriodicFacts


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()
_ANYTHING = re.compile(r".*", re.DOTALL)

CELERY_APP_CLASSES = frozenset({("celery", "Celery"), ("celery", "app", "Celery"), ("celery", "app", "base", "Celery")})
CELERY_TASK_CLASSES = frozenset({
    ("celery", "Task"), ("celery", "app", "task", "Task"), ("celery", "task", "Task"),
    ("celery", "task", "base", "Task"), ("celery", "app", "Task"),
})
SHARED_TASK = frozenset({("celery", "shared_task"), ("celery", "app", "shared_task"), ("celery", "app", "base", "shared_task")})
CURRENT_APP = frozenset({("celery", "current_app"), ("celery", "app", "current_app")})
SCHEDULE_VARIABLES = ("CELERY_BEAT_SCHEDULE", "CELERYBEAT_SCHEDULE", "beat_schedule")


@dataclass(frozen=True)
class Call:
    """An evaluated call: its resolved callee and evaluated arguments."""

    callee: tuple
    args: tuple
    kwargs: dict


@dataclass
class TaskDef:
    name: str | None  # the registered name; None when it cannot be folded
    pattern: re.Pattern | None  # for a partially folded name, what it can match
    module: str
    rel: str
    function: str  # the Python name of the function or class
    kind: str  # "shared", "app", "custom" or "class"
    explicit_name: bool
    name_span: tuple | None
    def_span: tuple
    decorator_span: tuple | None
    nested: bool
    branch: str
    options: dict  # decorator keyword arguments: name -> raw value


@dataclass
class BeatEntry:
    rel: str
    module: str
    key: str | None
    key_span: tuple | None
    task: str | None  # folded task name
    task_span: tuple | None
    schedule: Any  # crontab_mod.Crontab, seconds (float), "solar", or UNKNOWN
    args: Any
    kwargs: Any
    options: Any  # dict, None when absent, UNKNOWN when not readable
    kind: str  # "dict" or "periodic"
    task_ref: tuple = ()  # ("task", module, function) when given as a task object
    task_literal: bool = False  # the task reference is a plain string literal
    value_span: tuple | None = None  # the entry's dict literal (or the add_periodic_task call)

    @property
    def identity(self) -> tuple:
        return (self.rel, self.key_span or self.task_span)

    @property
    def anchor(self) -> tuple | None:
        """Where findings about the entry as a whole are reported: its key."""
        return self.key_span or self.task_span


@dataclass
class Schedule:
    """One schedule a beat process would run: an app's `beat_schedule`, or a settings
    variable that no app could be linked to."""

    label: str
    rel: str
    entries: dict = field(default_factory=dict)  # key -> BeatEntry (insertion order)
    extra: list = field(default_factory=list)  # entries whose key is unknown
    # BEAT007: (rel, span of the replacing assignment, entries that never run, where they were)
    replaced: list = field(default_factory=list)
    # The last `app.conf.beat_schedule = ...`: (rel, span, keys it defines)
    replaced_by: tuple | None = None
    merged_into: str | None = None

    def all_entries(self) -> list[BeatEntry]:
        return list(self.entries.values()) + self.extra


class Loader(Protocol):
    def facts(self, sources: list[SourceFile]) -> dict[str, FileFacts]: ...

    def search(self, sources: list[SourceFile], groups: tuple[tuple[bytes, ...], ...]) -> list[SourceFile]: ...


class ProjectIndex:
    def __init__(self, root: str, files: list[SourceFile], facts: dict[str, FileFacts | None],
                 settings: Settings, loader: Loader | None = None, enqueuing: set[str] | None = None):
        self.root = root
        self.settings = settings
        self.loader = loader
        self.files = files
        self._facts = dict(facts)  # rel -> facts (None: not parsed yet)
        self.by_module: dict[str, SourceFile] = {}
        for f in files:
            self.by_module.setdefault(f.module, f)
        self.top_packages = {m.split(".")[0] for m in self.by_module}
        self.notes: list[str] = []  # --verbose remarks (unreadable schedules and the like)
        self.enqueuing = enqueuing or set()  # skipped files that may enqueue tasks
        # False when no file can define a tenant-scoped model (and none is configured): the
        # tenant rules then have nothing to look for.
        self.tenancy_possible = True
        self.tenancy_files: set[str] | None = None  # files that may define tenant-scoped models (None: unknown)
        # BEAT003: the same key twice in one dict literal: identity -> (later entry, first entry)
        self.duplicate_keys: dict[tuple, tuple[BeatEntry, BeatEntry]] = {}
        self._canonical: dict[tuple, tuple] = {}
        self._is_app: dict[tuple, bool] = {}
        self._task_class: dict[tuple, bool] = {}
        self._tasks_by_module: dict[str, list[TaskDef]] = {}
        self._registry: dict[str, list[TaskDef]] | None = None
        self._task_bases: set[tuple] | None = None
        self._factories: dict[tuple, bool] = {}
        self._tenancy = None
        self._parsed: list | None = None
        self._parsed_version = -1
        self._version = 0  # bumped whenever files are loaded on demand
        self._by_last: tuple | None = None  # (registry size, last name part -> registered names), for suggest
        self._all_tasks: tuple | None = None
        self._naming: str | None = None
        self._schedules: list[Schedule] | None = None
        self._demand_searched: set[str] = set()

    # ------------------------------------------------------------------ facts
    def facts_for(self, source: SourceFile) -> FileFacts | None:
        if self._facts.get(source.rel) is None:
            self.load([source])
        return self._facts.get(source.rel)

    def load(self, sources: Iterable[SourceFile]) -> None:
        """Parse, in one parallel batch, the files among `sources` not parsed yet."""
        todo = [s for s in sources if self._facts.get(s.rel) is None and s.rel not in self._demand_searched]
        if not todo or self.loader is None:
            return
        self._demand_searched.update(s.rel for s in todo)
        for rel, facts in self.loader.facts(todo).items():
            self._facts[rel] = facts
        self._version += 1
        if self._registry is not None:
            for source in todo:
                if self._facts.get(source.rel) is not None:
                    self._add_to_registry(source)

    def prefetch_imports(self) -> None:
        """Load, in one batch, the project modules that the parsed files import: the
        models and helpers that tenant-scope inference and name resolution reach first."""
        wanted = {}
        for _, facts in list(self.parsed()):
            for target in list(facts.imports.values()) + [tuple(s.split(".")) for s in facts.star_imports]:
                for cut in range(len(target), 0, -1):
                    source = self.by_module.get(".".join(target[:cut]))
                    if source is not None:
                        wanted[source.rel] = source
                        break
        self.load(wanted.values())

    def parsed_facts(self, rel: str) -> FileFacts | None:
        """The facts of a file if it has been parsed (never parses)."""
        return self._facts.get(rel)

    def module_facts(self, module: str) -> FileFacts | None:
        source = self.by_module.get(module)
        return self.facts_for(source) if source is not None else None

    def parsed(self) -> Iterator[tuple[SourceFile, FileFacts]]:
        """(source, facts) of every file parsed so far, in path order. Files parsed
        later (on demand) join the list; the list is rebuilt only then."""
        if self._parsed is None or self._parsed_version != self._version:
            self._parsed = [(s, self._facts[s.rel]) for s in self.files if self._facts.get(s.rel) is not None]
            self._parsed_version = self._version
        return iter(self._parsed)

    def span(self, facts: FileFacts, index: int) -> tuple | None:
        return facts.spans[index] if index >= 0 else None

    # ------------------------------------------------------------------ names
    def defines(self, module: str, name: str) -> bool:
        facts = self.module_facts(module)
        return facts is not None and (name in facts.assigns or name in facts.imports)

    def resolve(self, module: str, dotted: tuple) -> tuple:
        """The canonical qualified name of `dotted` as written in `module`."""
        facts = self.module_facts(module)
        head = dotted[0]
        if facts is not None:
            target = facts.imports.get(head)
            if target is not None:
                return self.canonical(target + dotted[1:])
            if head in facts.assigns:
                return self.canonical(tuple(module.split(".")) + dotted)
            external = None
            for star in reversed(facts.star_imports):
                if star in self.by_module:
                    if self.defines(star, head):
                        return self.canonical(tuple(star.split(".")) + dotted)
                elif external is None:
                    external = star
            if external is not None:
                return tuple(external.split(".")) + dotted
        return dotted

    def canonical(self, qualified: tuple, depth: int = 0) -> tuple:
        """Follow a qualified name through re-exports (`from .x import y` in a package),
        star imports and plain aliases (`app_task = shared_task`) to its definition."""
        cached = self._canonical.get(qualified)
        if cached is not None:
            return cached
        self._canonical[qualified] = qualified  # provisional: stops alias cycles
        result = qualified
        for cut in range(len(qualified), 0, -1):
            module = ".".join(qualified[:cut])
            if module not in self.by_module:
                continue
            rest = qualified[cut:]
            if rest and depth < 25:
                facts = self.module_facts(module)
                if facts is not None:
                    head = rest[0]
                    if head in facts.imports:
                        result = self.canonical(facts.imports[head] + rest[1:], depth + 1)
                    elif head in facts.assigns:
                        value = facts.assigns[head]
                        if value[0] == "r":
                            result = self.canonical(self.resolve(module, value[1]) + rest[1:], depth + 1)
                    else:
                        for star in reversed(facts.star_imports):
                            if star in self.by_module and self.defines(star, head):
                                result = self.canonical(tuple(star.split(".")) + rest, depth + 1)
                                break
            break
        self._canonical[qualified] = result
        return result

    def split_definition(self, qualified: tuple) -> tuple[str, tuple] | None:
        """(module, rest) for a qualified name inside the project, else None."""
        for cut in range(len(qualified) - 1, 0, -1):
            module = ".".join(qualified[:cut])
            if module in self.by_module:
                return module, qualified[cut:]
        return None

    def find_class(self, qualified: tuple) -> tuple[str, ClassFacts] | None:
        found = self.split_definition(qualified)
        if found is None or len(found[1]) != 1:
            return None
        module, (name,) = found
        facts = self.module_facts(module)
        if facts is None:
            return None
        for cls in facts.classes:
            if cls.name == name and not cls.nested:
                return module, cls
        return None

    # ------------------------------------------------------------------ folding
    def evaluate(self, module: str, value: tuple, depth: int = 0) -> Any:
        """Fold a value from the facts into a Python value, or UNKNOWN."""
        if depth > 40:
            return UNKNOWN
        kind = value[0]
        if kind == "s" or kind == "n":
            return value[1]
        if kind == "j":
            parts = [self.evaluate(module, p, depth + 1) for p in value[1]]
            if all(isinstance(p, str) for p in parts):
                return "".join(parts)
            if all(isinstance(p, (str, int, float)) and not isinstance(p, bool) for p in parts):
                return "".join(str(p) for p in parts)
            return UNKNOWN
        if kind == "o":
            left = self.evaluate(module, value[2], depth + 1)
            right = self.evaluate(module, value[3], depth + 1)
            return _arith(value[1], left, right)
        if kind == "l":
            return [self.evaluate(module, v, depth + 1) for v in value[1]]
        if kind == "d":
            if value[2]:
                return UNKNOWN
            out = {}
            for key, val, _, _ in value[1]:
                k = self.evaluate(module, key, depth + 1)
                if k is UNKNOWN or isinstance(k, (list, dict)):
                    return UNKNOWN
                out[k] = self.evaluate(module, val, depth + 1)
            return out
        if kind == "c":
            callee = value[1]
            if callee is None:
                return UNKNOWN
            qualified = self.resolve(module, callee) if callee[0] != "?" else callee
            args = tuple(self.evaluate(module, a, depth + 1) for a in value[2])
            kwargs = {k: self.evaluate(module, v, depth + 1) for k, v in value[3] if k is not None}
            if any(k is None for k, _ in value[3]):
                kwargs["**"] = UNKNOWN
            return Call(qualified, args, kwargs)
        if kind == "r":
            return self._evaluate_ref(module, value[1], depth)
        return UNKNOWN

    def _evaluate_ref(self, module: str, dotted: tuple, depth: int) -> Any:
        qualified = self.resolve(module, dotted)
        found = self.split_definition(qualified)
        if found is None:
            return UNKNOWN
        target, rest = found
        facts = self.module_facts(target)
        if facts is None:
            return UNKNOWN
        if len(rest) == 1:
            value = facts.assigns.get(rest[0])
            return self.evaluate(target, value, depth + 1) if value is not None else UNKNOWN
        if len(rest) == 2 and rest[1] == "name":
            task = self.task_object(target, rest[0])
            if task is not None:
                return task.name if task.name is not None else UNKNOWN
        if len(rest) >= 2:
            for cls in facts.classes:
                if cls.name == rest[0] and not cls.nested:
                    for attr, val, _ in cls.attrs:
                        if attr == rest[1]:
                            result = self.evaluate(target, val, depth + 1)
                            if len(rest) == 2 or (len(rest) == 3 and rest[2] == "value"):
                                return result
        return UNKNOWN

    def evaluate_pattern(self, module: str, value: tuple) -> re.Pattern | None:
        """For a partially foldable string value, a regex of what it can be."""
        pieces = self._pattern_pieces(module, value, 0)
        if pieces is None or all(p is None for p in pieces):
            return None
        regex = "".join(".*" if p is None else re.escape(p) for p in pieces)
        return re.compile(regex + r"\Z", re.DOTALL)

    def _pattern_pieces(self, module: str, value: tuple, depth: int) -> list | None:
        if depth > 20:
            return [None]
        if value[0] == "j" or (value[0] == "o" and value[1] == "+"):
            parts = value[1] if value[0] == "j" else (value[2], value[3])
            out: list = []
            for p in parts:
                sub = self._pattern_pieces(module, p, depth + 1)
                if sub is None:
                    return None
                out.extend(sub)
            return out
        folded = self.evaluate(module, value)
        if isinstance(folded, str):
            return [folded]
        return [None]

    # ------------------------------------------------------------------ apps and tasks
    def _memo(self, cache: dict, key: Any, compute: Any) -> bool:
        """`compute()` once per key; False while it runs, which stops recursive
        questions (a class hierarchy or call chain that loops) from looping."""
        if key not in cache:
            cache[key] = False
            cache[key] = compute()
        return cache[key]

    def is_app(self, qualified: tuple) -> bool:
        """Whether a qualified name is bound to a `Celery(...)` instance in the project."""
        return qualified in CURRENT_APP or self._memo(self._is_app, qualified, lambda: self._binds_app(qualified))

    def _binds_app(self, qualified: tuple) -> bool:
        found = self.split_definition(qualified)
        if found is None or len(found[1]) != 1:
            return False
        module, (name,) = found
        facts = self.module_facts(module)
        value = facts.assigns.get(name) if facts is not None else None
        if value is None or value[0] != "c" or value[1] is None or value[1][0] == "?":
            return False
        return self._is_celery_class(self.resolve(module, value[1]), 0)

    def _is_celery_class(self, qualified: tuple, depth: int) -> bool:
        if qualified in CELERY_APP_CLASSES:
            return True
        found = self.find_class(qualified)
        if found is None or depth > 10:
            return False
        module, cls = found
        return any(b[0] == "r" and self._is_celery_class(self.resolve(module, b[1]), depth + 1) for b in cls.bases)

    def is_app_reference(self, module: str, dotted: tuple) -> bool:
        if self.is_app(self.resolve(module, dotted)):
            return True
        return len(dotted) == 1 and dotted[0] in self.settings.app_names

    def is_task_class(self, module: str, cls: ClassFacts) -> bool:
        """Whether a class subclasses celery's Task (or a `tenant-task-bases` class),
        directly or through project classes."""
        return self._memo(self._task_class, (module, cls.name), lambda: self._subclasses_task(module, cls))

    def _subclasses_task(self, module: str, cls: ClassFacts) -> bool:
        bases = set(self.settings.tenant_task_bases)
        for base in cls.bases:
            if base[0] != "r":
                continue
            qualified = self.resolve(module, base[1])
            if qualified in CELERY_TASK_CLASSES or qualified[-1] in bases or ".".join(qualified) in bases:
                return True
            found = self.find_class(qualified)
            if found is not None and self.is_task_class(found[0], found[1]):
                return True
        return False

    def _decorator_kind(self, module: str, dotted: tuple | None) -> str | None:
        if dotted is None:
            return None
        qualified = self.resolve(module, dotted)
        custom = self.settings.task_decorators
        if custom and (".".join(qualified) in custom or ".".join(dotted) in custom
                       or any("." not in c and c == qualified[-1] for c in custom)):
            return "custom"
        if qualified in SHARED_TASK:
            return "shared"
        if qualified[-1] == "shared_task" and (qualified[0] in self.top_packages or qualified[0] == "celery"):
            return "shared"  # a project wrapper or re-export named shared_task
        if len(dotted) >= 2 and dotted[-1] == "task" and self.is_app_reference(module, dotted[:-1]):
            return "app"
        if len(qualified) >= 2 and qualified[-1] == "task" and self.is_app(qualified[:-1]):
            return "app"
        if self._is_task_decorator_factory(qualified):
            return "custom"
        return None

    def _is_task_decorator_factory(self, qualified: tuple) -> bool:
        """A project function that calls `shared_task` / `<app>.task` (or another such
        function) in its body, like `def cron_task(**kw): ... return shared_task(**kw)(wrapper)`:
        what it decorates is a task."""
        return self._memo(self._factories, qualified, lambda: self._calls_task_decorator(qualified))

    def _calls_task_decorator(self, qualified: tuple) -> bool:
        found = self.split_definition(qualified)
        if found is None or len(found[1]) != 1:
            return False
        module, (name,) = found
        facts = self.module_facts(module)
        fn = next((f for f in facts.functions if f.name == name and not f.nested), None) if facts else None
        if fn is None:
            return False
        # Only task-ish callees are resolved (`shared_task`, `<app>.task`, or another
        # factory such as `retry_task`): resolving every call would parse half the
        # project on demand.
        for callee in fn.calls:
            if "task" not in callee[-1].lower():
                continue
            target = self.resolve(module, callee)
            if target in SHARED_TASK or (len(callee) >= 2 and callee[-1] == "task"
                                         and self.is_app_reference(module, callee[:-1])):
                return True
            if target != qualified and self._is_task_decorator_factory(target):
                return True
        return False

    def factory_needles(self) -> tuple[bytes, ...]:
        """Names of the project's task decorator factories that the byte prefilter does
        not look for (it looks for "task"): files mentioning them must be parsed too."""
        needles = []
        for source, facts in list(self.parsed()):
            for fn in facts.functions:
                if not fn.nested and "task" not in fn.name.lower() and fn.calls \
                        and self._is_task_decorator_factory(tuple(facts.module.split(".")) + (fn.name,)):
                    needles.append(fn.name.encode())
        return tuple(needles)

    def parse_files_mentioning(self, *groups: tuple[bytes, ...], among: set[str] | None = None) -> None:
        """Parse the skipped files (optionally only those `among`) that contain a needle
        of every group."""
        if not all(groups) or self.loader is None:
            return
        groups = tuple(tuple(sorted(set(g))) for g in groups)  # a stable key for the cached search
        candidates = [source for source in self.files
                      if (among is None or source.rel in among)
                      and self._facts.get(source.rel) is None and source.rel not in self._demand_searched]
        self.load(self.loader.search(candidates, groups))

    def task_naming(self) -> str:
        """How auto-named tasks are named: "module" (Celery's default `<module>.<name>`),
        "function" (an app class whose `gen_task_name` returns just `name`) or "unknown"
        (an app class overriding `gen_task_name` in a way we cannot evaluate)."""
        if self._naming is None:
            self._naming = "module"
            for source, facts in list(self.parsed()):
                for cls in facts.classes:
                    if "gen_task_name" not in cls.methods:
                        continue
                    if not self._is_celery_class(tuple(facts.module.split(".")) + (cls.name,), 0):
                        continue
                    returned = cls.methods["gen_task_name"]
                    self._naming = "function" if returned == ("r", ("name",)) and self._naming != "unknown" else "unknown"
        return self._naming

    def tasks_of(self, source: SourceFile) -> list[TaskDef]:
        cached = self._tasks_by_module.get(source.rel)
        if cached is not None:
            return cached
        facts = self._facts.get(source.rel)
        tasks: list[TaskDef] = []
        if facts is not None and facts.error is None:
            for fn in facts.functions:
                task = self._function_task(source, facts, fn)
                if task is not None:
                    tasks.append(task)
            for cls in facts.classes:
                task = self._class_task(source, facts, cls)
                if task is not None:
                    tasks.append(task)
        self._tasks_by_module[source.rel] = tasks
        return tasks

    def _function_task(self, source: SourceFile, facts: FileFacts, fn: FunctionFacts) -> TaskDef | None:
        module = facts.module
        for dec in fn.decorators:
            kind = self._decorator_kind(module, dec.dotted)
            if kind is None:
                continue
            options = {k: v for k, v in dec.kwargs if k is not None}
            name, pattern, explicit = f"{module}.{fn.name}", None, False
            naming = self.task_naming()
            if naming == "function":
                name = fn.name
            elif naming == "unknown":
                name, pattern = None, _ANYTHING
            if "name" in options:
                explicit = True
                folded = self.evaluate(module, options["name"])
                if isinstance(folded, str):
                    name = folded
                else:
                    name, pattern = None, self.evaluate_pattern(module, options["name"])
            return TaskDef(name, pattern, module, source.rel, fn.name, kind, explicit,
                           self.span(facts, dec.name_span), facts.spans[fn.def_span],
                           facts.spans[dec.span], fn.nested, fn.branch, options)
        return None

    def _class_task(self, source: SourceFile, facts: FileFacts, cls: ClassFacts) -> TaskDef | None:
        attrs = {name: (value, span) for name, value, span in cls.attrs}
        if "name" not in attrs or not cls.bases:
            return None
        if not self.is_task_class(facts.module, cls):
            return None
        value, span = attrs["name"]
        folded = self.evaluate(facts.module, value)
        name, pattern = (folded, None) if isinstance(folded, str) else (None, self.evaluate_pattern(facts.module, value))
        if value == ("n", None):
            return None  # `name = None`: an abstract base
        options = {k: v for k, (v, _) in attrs.items()}
        return TaskDef(name, pattern, facts.module, source.rel, cls.name, "class", True,
                       facts.spans[span], facts.spans[cls.def_span], None, cls.nested, cls.branch, options)

    def task_object(self, module: str, name: str) -> TaskDef | None:
        """The task defined (or imported) as `name` in `module`."""
        qualified = self.resolve(module, (name,))
        found = self.split_definition(qualified)
        if found is None or len(found[1]) != 1:
            return None
        source = self.by_module.get(found[0])
        if source is None or self.facts_for(source) is None:
            return None
        for task in self.tasks_of(source):
            if task.function == found[1][0] and not task.nested:
                return task
        return None

    @property
    def registry(self) -> dict[str, list[TaskDef]]:
        """Registered task name -> definitions, in path then line order."""
        if self._registry is None:
            self._registry = {}
            for source, _ in list(self.parsed()):
                self._add_to_registry(source)
        return self._registry

    def _add_to_registry(self, source: SourceFile) -> None:
        assert self._registry is not None
        for task in self.tasks_of(source):
            if task.name is not None and not self._is_base_class(task):
                defs = self._registry.setdefault(task.name, [])
                defs.append(task)
                defs.sort(key=lambda t: (t.rel, t.def_span))

    def all_tasks(self) -> list[TaskDef]:
        """Every task definition of the parsed files (classes used as `base=` excluded)."""
        if self._all_tasks is None or self._all_tasks[0] != self._version:
            out = []
            for source, _ in list(self.parsed()):
                out.extend(t for t in self.tasks_of(source) if not self._is_base_class(t))
            self._all_tasks = (self._version, out)
        return list(self._all_tasks[1])

    def _is_base_class(self, task: TaskDef) -> bool:
        """A Task class passed as `base=` to a task decorator is a base, not a task
        registered under its own name (Celery only registers the decorated function)."""
        if task.kind != "class":
            return False
        if self._task_bases is None:
            self._task_bases = set()
            for source, facts in list(self.parsed()):
                for fn in self.tasks_of(source):
                    base = fn.options.get("base")
                    if fn.kind != "class" and base is not None and base[0] == "r":
                        self._task_bases.add(self.resolve(facts.module, base[1]))
        return tuple(task.module.split(".")) + (task.function,) in self._task_bases

    # ------------------------------------------------------------------ task lookup for beat entries
    def task_status(self, name: str) -> str:
        """"defined", "external" (not ours to verify), "maybe" (an unfoldable name, or a
        module that does not parse, could define it) or "missing"."""
        if name in self.registry or name.startswith("celery."):
            return "defined"
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.settings.external_tasks):
            return "external"
        if self._suffix_match(name):
            return "defined"
        for task in self.all_tasks():
            if task.name is None:
                if task.pattern is not None and task.pattern.match(name):
                    return "maybe"
                if task.pattern is None and (name.startswith(task.module + ".") or name.rsplit(".", 1)[0] == task.module):
                    return "maybe"
        if "." in name:
            top = name.split(".", 1)[0]
            ours = top in self.top_packages or any(n.split(".", 1)[0] == top for n in self.registry)
            if not ours:
                return "external"
            # A module that does not parse could define it (SYN001 reports the module).
            source = self.by_module.get(name.rsplit(".", 1)[0])
            facts = self.facts_for(source) if source is not None else None
            if facts is not None and facts.error is not None:
                return "maybe"
        return "missing"

    def _suffix_match(self, name: str) -> bool:
        """An auto-named task whose name ends with `name`: the project's sys.path root may
        sit below the analysis root (e.g. manage.py in a sub-directory)."""
        if name.count(".") < 1:
            return False
        suffix = "." + name
        return any(n.endswith(suffix) and not defs[0].explicit_name for n, defs in self.registry.items())

    def search_definitions(self, names: Iterable[str]) -> None:
        """Before calling beat entries orphaned: parse the files the prefilter skipped
        that mention a task's last name component, in case they define it (one read of
        each skipped file, whatever the number of names)."""
        needles = {name.rsplit(".", 1)[-1].replace("(", "").replace(")", "").encode() for name in names}
        self.parse_files_mentioning(tuple(n for n in needles if n))

    def suggest(self, name: str) -> str | None:
        """The registered name closest to `name` (crontab.suggest, shared with
        validate_schedules); its table of last names is built once per registry size."""
        if self._by_last is None or self._by_last[0] != len(self.registry):
            self._by_last = (len(self.registry), crontab_mod.names_by_last(self.registry))
        return crontab_mod.suggest(name, self.registry, self._by_last[1])

    @property
    def tenancy(self) -> Any:
        """Tenant-scope inference (celerylint.tenancy), built on first use."""
        if self._tenancy is None:
            from celerylint.tenancy import Tenancy

            self._tenancy = Tenancy(self)
        return self._tenancy

    # ------------------------------------------------------------------ schedules
    @property
    def schedules(self) -> list[Schedule]:
        if self._schedules is None:
            self._schedules = _ScheduleBuilder(self).build()
        return self._schedules

    def beat_entries(self) -> list[BeatEntry]:
        """Every readable entry once, in path and position order."""
        seen: dict[tuple, BeatEntry] = {}
        for schedule in self.schedules:
            for entry in schedule.all_entries():
                seen.setdefault(entry.identity, entry)
        return sorted(seen.values(), key=lambda e: (e.rel, e.anchor or (0,)))

    def interpret_schedule(self, module: str, value: tuple) -> Any:
        folded = self.evaluate(module, value)
        return schedule_of(folded)


def schedule_of(folded: Any) -> Any:
    """crontab_mod.Crontab, an interval in seconds, "solar", or UNKNOWN."""
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
        return crontab_mod.crontab_from_call(folded.args, folded.kwargs) or UNKNOWN
    if last == "from_string" and len(callee) >= 2 and callee[-2] == "crontab" and folded.args:
        return crontab_mod.crontab_from_string(folded.args[0]) if isinstance(folded.args[0], str) else UNKNOWN
    if last == "timedelta" and callee[0] == "datetime":
        return _timedelta_seconds(folded)
    if last == "schedule" and celery_origin:
        run_every = folded.args[0] if folded.args else folded.kwargs.get("run_every", UNKNOWN)
        return schedule_of(run_every) if not isinstance(schedule_of(run_every), crontab_mod.Crontab) else UNKNOWN
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


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    numeric = (int, float)
    if isinstance(left, bool) or isinstance(right, bool) or not isinstance(left, numeric) or not isinstance(right, numeric):
        if op == "%" and isinstance(left, str) and isinstance(right, (str, int, float)):
            try:
                return left % right
            except (TypeError, ValueError):
                return UNKNOWN
        return UNKNOWN
    try:
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            return left / right
        if op == "//":
            return left // right
        if op == "%":
            return left % right
    except (ArithmeticError, ValueError):
        return UNKNOWN
    return UNKNOWN


class _ScheduleBuilder:
    """Replays each module's schedule operations in order (assign, item assignment,
    `.update()`, `app.conf.update(beat_schedule=...)`, `add_periodic_task`) into
    `Schedule`s, and links each app to the settings its `config_from_object` loads."""

    def __init__(self, index: ProjectIndex):
        self.index = index
        self.schedules: dict[tuple, Schedule] = {}
        self.configs: dict[tuple, list[tuple[str, tuple, str]]] = {}  # app -> [(module, source value, namespace)]

    def schedule(self, key: tuple, rel: str) -> Schedule:
        found = self.schedules.get(key)
        if found is None:
            label = key[1] if key[0] == "app" else f"{key[1]}.{key[2]}"
            if key[0] == "app":
                label = ".".join(key[1]) + ".conf.beat_schedule"
            found = self.schedules[key] = Schedule(label, rel)
        return found

    def build(self) -> list[Schedule]:
        index = self.index
        for source, facts in list(index.parsed()):
            if facts.error is None:
                self.replay(source, facts)
        self.link_apps()
        return list(self.schedules.values())

    # -- which schedule does a dotted target name
    def target(self, module: str, dotted: tuple, scope: str) -> tuple | None:
        if scope.startswith("class:"):
            if len(dotted) == 2 and _schedule_name(dotted[1]):
                return ("var", module, ".".join(dotted))
            return None
        if len(dotted) == 1 and _schedule_name(dotted[0]):
            return ("var", module, dotted[0])
        if len(dotted) >= 3 and dotted[-2:] == ("conf", "beat_schedule"):
            return ("app", self.app(module, dotted[:-2]))
        return None

    def app(self, module: str, dotted: tuple) -> tuple:
        return self.index.resolve(module, dotted)

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
            app = self.periodic_app(facts, periodic)
            schedule = self.schedule(("app", app), source.rel)
            entry = self.periodic_entry(source, facts, periodic)
            if entry is not None:
                self.add_entries(schedule, [entry])

    def call_op(self, source: SourceFile, facts: FileFacts, op: Any) -> None:
        module = facts.module
        target, value = op.target, op.value
        if target[-1] == "config_from_object" and len(target) >= 2:
            app = self.app(module, target[:-1])
            args = value[2]
            namespace = dict((k, v) for k, v in value[3] if k is not None).get("namespace", ("n", None))
            if args:
                self.configs.setdefault(app, []).append((module, args[0], namespace))
            return
        if target[-1] != "update":
            return
        if len(target) >= 3 and target[-2] == "conf":
            kwargs = {k: v for k, v in value[3] if k is not None}
            if "beat_schedule" in kwargs:
                key = ("app", self.app(module, target[:-2]))
                self.assign(key, self.schedule(key, source.rel), source, facts, kwargs["beat_schedule"], op.span)
            return
        key = self.target(module, target[:-1], "module")
        if key is None:
            return
        schedule = self.schedule(key, source.rel)
        if key[0] == "var" and not schedule.entries and not schedule.extra and not schedule.replaced:
            # `X.update(...)` on a name this module got from elsewhere (star import)
            inherited = self.inherited(module, target[:-1])
            self.add_entries(schedule, inherited)
        for arg in value[2]:
            self.add_entries(schedule, self.entries(module, arg))
        for name, arg in value[3]:
            if name is not None:
                self.add_entries(schedule, self.entry_from_value(module, ("s", name), arg, -1))

    def inherited(self, module: str, dotted: tuple) -> list[BeatEntry]:
        qualified = self.index.resolve(module, dotted)
        if qualified == tuple(module.split(".")) + dotted:
            return []
        return self.entries(module, ("r", dotted))

    def assign(self, key: tuple, schedule: Schedule, source: SourceFile, facts: FileFacts, value: tuple,
               span: int) -> None:
        new = self.entries(facts.module, value)
        if key[0] == "app":
            keys = {e.key for e in new}
            lost = [e for e in schedule.all_entries() if e.key is None or e.key not in keys]
            if lost:
                schedule.replaced.append((source.rel, facts.spans[span], lost, "earlier updates"))
            schedule.replaced_by = (source.rel, facts.spans[span], keys)
        schedule.entries.clear()
        schedule.extra.clear()
        self.add_entries(schedule, new)

    def add_entries(self, schedule: Schedule, entries: Iterable[BeatEntry]) -> None:
        for entry in entries:
            if entry.key is None:
                schedule.extra.append(entry)
            else:
                schedule.entries.pop(entry.key, None)
                schedule.entries[entry.key] = entry

    # -- values to entries
    def entries(self, module: str, value: tuple, depth: int = 0) -> list[BeatEntry]:
        """The entries of a schedule dict value (following names, `**spreads` and `|`)."""
        if depth > 20:
            return []
        kind = value[0]
        if kind == "d":
            out: list[BeatEntry] = []
            for spread in value[2]:
                out.extend(self.entries(module, spread, depth + 1))
            first_by_key: dict[str, BeatEntry] = {}
            for key, val, key_span, val_span in value[1]:
                for entry in self.entry_from_value(module, key, val, key_span, depth, val_span):
                    if entry.key is not None:
                        first = first_by_key.setdefault(entry.key, entry)
                        if first is not entry:
                            self.index.duplicate_keys[entry.identity] = (entry, first)
                    out.append(entry)
            return out
        if kind == "r":
            located = self.locate(module, value[1])
            if located is None:
                self.index.notes.append(f"{module}: schedule {'.'.join(value[1])} cannot be read statically")
                return []
            target_module, target_value = located
            return self.entries(target_module, target_value, depth + 1)
        if kind == "o" and value[1] in ("|", "+"):
            return self.entries(module, value[2], depth + 1) + self.entries(module, value[3], depth + 1)
        if kind == "c" and value[1] in (("dict",),):
            out = []
            for arg in value[2]:
                out.extend(self.entries(module, arg, depth + 1))
            for name, arg in value[3]:
                if name is None:
                    out.extend(self.entries(module, arg, depth + 1))
                else:
                    out.extend(self.entry_from_value(module, ("s", name), arg, -1, depth))
            return out
        self.index.notes.append(f"{module}: a beat schedule built by code cannot be read statically")
        return []

    def locate(self, module: str, dotted: tuple) -> tuple[str, tuple] | None:
        """(defining module, value) of a name."""
        qualified = self.index.resolve(module, dotted)
        found = self.index.split_definition(qualified)
        if found is None:
            return None
        target, rest = found
        facts = self.index.module_facts(target)
        if facts is None:
            return None
        if len(rest) == 1 and rest[0] in facts.assigns:
            return target, facts.assigns[rest[0]]
        if len(rest) == 2:
            for cls in facts.classes:
                if cls.name == rest[0]:
                    for attr, val, _ in cls.attrs:
                        if attr == rest[1]:
                            return target, val
        return None

    def entry_from_value(self, module: str, key: tuple, value: tuple, key_span: int,
                         depth: int = 0, value_span: int = -1) -> list[BeatEntry]:
        """A `"key": {"task": ..., "schedule": ...}` item as a BeatEntry (the value may be
        a name bound to such a dict, here or in another module)."""
        index = self.index
        if value[0] == "r":
            located = self.locate(module, value[1])
            if located is None or depth > 20:
                return []
            entries = self.entry_from_value(located[0], ("?",), located[1], -1, depth + 1)
            facts = index.module_facts(module)
            key_value = index.evaluate(module, key)
            for entry in entries:
                entry.key = key_value if isinstance(key_value, str) else None
                if facts is not None and key_span >= 0:
                    entry.key_span = facts.spans[key_span]
                    entry.rel = index.by_module[module].rel
                    entry.module = module
            return entries
        if value[0] != "d":
            return []
        fields = {}
        task_span_index = -1
        for k, v, _, vspan in value[1]:
            name = index.evaluate(module, k)
            if isinstance(name, str):
                fields[name] = v
                if name == "task":
                    task_span_index = vspan
        if "task" not in fields:
            return []
        source = index.by_module[module]
        facts = index.module_facts(module)
        assert facts is not None
        key_value = index.evaluate(module, key) if key != ("?",) else UNKNOWN
        task_value = index.evaluate(module, fields["task"])
        options: Any = None
        if "options" in fields:
            options = index.evaluate(module, fields["options"])
            if not isinstance(options, dict):
                options = UNKNOWN
        entry = BeatEntry(
            rel=source.rel, module=module,
            key=key_value if isinstance(key_value, str) else None,
            key_span=index.span(facts, key_span),
            task=task_value if isinstance(task_value, str) else None,
            task_span=index.span(facts, task_span_index),
            schedule=index.interpret_schedule(module, fields["schedule"]) if "schedule" in fields else UNKNOWN,
            args=index.evaluate(module, fields["args"]) if "args" in fields else [],
            kwargs=index.evaluate(module, fields["kwargs"]) if "kwargs" in fields else {},
            options=options,
            kind="dict",
            task_literal=fields["task"][0] == "s",
            value_span=index.span(facts, value_span),
        )
        if entry.task is None:
            index.notes.append(f"{source.rel}: the task of beat entry {entry.key or '?'} cannot be read statically")
        return [entry]

    def periodic_app(self, facts: FileFacts, periodic: PeriodicFacts) -> tuple:
        module = facts.module
        receiver = periodic.receiver
        if periodic.function is not None and receiver == (periodic.sender,):
            for name, app in facts.handlers:
                if name == periodic.function:
                    return self.app(module, app)
        return self.app(module, receiver)

    def periodic_entry(self, source: SourceFile, facts: FileFacts, periodic: PeriodicFacts) -> BeatEntry | None:
        index = self.index
        module = facts.module
        task_name: Any = UNKNOWN
        task_ref: tuple = ()
        if periodic.task[0] == "r":
            task = index.task_object(module, periodic.task[1][0]) if len(periodic.task[1]) == 1 else None
            if task is None and len(periodic.task[1]) > 1:
                qualified = index.resolve(module, periodic.task[1])
                found = index.split_definition(qualified)
                if found is not None and len(found[1]) == 1:
                    task = index.task_object(found[0], found[1][0])
            if task is not None:
                task_name = task.name if task.name is not None else UNKNOWN
                task_ref = ("task", task.module, task.function)
        elif periodic.task[0] != "?":
            task_name = index.evaluate(module, periodic.task)
        if periodic.task == ("?",):
            index.notes.append(f"{source.rel}: add_periodic_task with a signature that cannot be read statically")
        key = index.evaluate(module, periodic.name) if periodic.name != ("?",) else UNKNOWN
        options = {k: index.evaluate(module, v) for k, v in periodic.options}
        return BeatEntry(
            rel=source.rel, module=module,
            key=key if isinstance(key, str) else None,
            key_span=index.span(facts, periodic.name_span) or facts.spans[periodic.span],
            task=task_name if isinstance(task_name, str) else None,
            task_span=index.span(facts, periodic.task_span),
            schedule=index.interpret_schedule(module, periodic.schedule),
            args=index.evaluate(module, periodic.args) if periodic.args != ("?",) else UNKNOWN,
            kwargs=index.evaluate(module, periodic.kwargs) if periodic.kwargs != ("?",) else UNKNOWN,
            options=options if options else None,
            kind="periodic",
            task_ref=task_ref,
            task_literal=periodic.task[0] == "s",
            value_span=facts.spans[periodic.span],
        )

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
                if app_schedule.replaced_by is not None:
                    rel, span, keys = app_schedule.replaced_by
                    lost = [e for e in var.all_entries() if e.key is None or e.key not in keys]
                    if lost:
                        app_schedule.replaced.append((rel, span, lost, var.label))
                    continue
                # Merged: the app runs the settings entries plus its own additions.
                merged = dict(var.entries)
                for key, entry in app_schedule.entries.items():
                    merged.pop(key, None)
                    merged[key] = entry
                app_schedule.entries = merged
                app_schedule.extra = var.extra + app_schedule.extra
                var.merged_into = app_schedule.label

    def config_source(self, module: str, value: tuple) -> tuple[str, str | None] | None:
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
        if value[0] == "r":
            qualified = index.resolve(module, value[1])
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
        for source, facts in index.parsed():
            for op in facts.ops:
                if op.kind == "call" and op.target[-1] == "setdefault" and op.target[-2:-1] == ("environ",):
                    args = op.value[2]
                    if len(args) >= 2 and args[0] == ("s", "DJANGO_SETTINGS_MODULE") and args[1][0] == "s":
                        values.setdefault(facts.module, set()).add(args[1][1])
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


def _schedule_name(name: str) -> bool:
    return name in SCHEDULE_VARIABLES or name.endswith("BEAT_SCHEDULE")

