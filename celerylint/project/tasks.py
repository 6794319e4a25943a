"""The task registry: which functions and classes are Celery tasks (RULES.md §1, "A
Celery task"), under which names Celery registers them, and whether a name a beat
entry uses is registered.

A task is a function decorated with `shared_task`, `<app>.task` (an app is a name
bound to `Celery(...)`, or named in `app-names`), a `task-decorators` entry or a
project decorator factory that applies one of those; or a class subclassing Celery's
`Task` with a `name`. Names are folded from `name=` or derived as Celery derives them.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Iterable

from celerylint.facts.model import UNKNOWN, CallExpr, ClassFacts, FileFacts, FunctionFacts, Num, Ref, SourceFile
from celerylint.project import crontab
from celerylint.project.index import ProjectIndex, memo

_ANYTHING = re.compile(r".*", re.DOTALL)
_MISSING = object()

CELERY_APP_CLASSES = frozenset({("celery", "Celery"), ("celery", "app", "Celery"), ("celery", "app", "base", "Celery"),
                                ("tenant_schemas_celery", "app", "CeleryApp")})  # a Celery subclass
CELERY_TASK_CLASSES = frozenset({
    ("celery", "Task"), ("celery", "app", "task", "Task"), ("celery", "task", "Task"),
    ("celery", "task", "base", "Task"), ("celery", "app", "Task"),
})
SHARED_TASK = frozenset({("celery", "shared_task"), ("celery", "app", "shared_task"), ("celery", "app", "base", "shared_task")})
CURRENT_APP = frozenset({("celery", "current_app"), ("celery", "app", "current_app")})


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
    options: dict  # decorator keyword arguments (or class attributes): name -> value


class TaskRegistry:
    def __init__(self, index: ProjectIndex, memo: Any = None):
        self.index = index
        self.memo = memo
        self.settings = index.settings
        self._is_app: dict[tuple, bool] = {}
        self._task_class: dict[tuple, bool] = {}
        self._factories: dict[tuple, bool] = {}
        self._by_file: dict[str, list[TaskDef]] = {}
        self._registry: dict[str, list[TaskDef]] = {}
        self._registered: set[str] = set()  # files whose tasks are in _registry
        self._registry_version = -1
        self._task_bases: set[tuple] | None = None
        self._all: tuple | None = None  # (index version, tasks)
        self._naming: str | None = None
        self._by_last: tuple | None = None  # (registry size, last name part -> registered names)
        index.task_name_of = self._name_of_object

    # ------------------------------------------------------------------ apps
    def is_app(self, qualified: tuple) -> bool:
        """Whether a qualified name is bound to a `Celery(...)` instance in the project."""
        return qualified in CURRENT_APP or memo(self._is_app, qualified, lambda: self._binds_app(qualified))

    def _binds_app(self, qualified: tuple) -> bool:
        found = self.index.split_definition(qualified)
        if found is None or len(found[1]) != 1:
            return False
        module, (name,) = found
        facts = self.index.module_facts(module)
        value = facts.assigns.get(name) if facts is not None else None
        if type(value) is not CallExpr or value.callee is None or value.callee[0] == "?":
            return False
        return self.is_celery_class(self.index.resolve(module, value.callee))

    def is_celery_class(self, qualified: tuple, depth: int = 0) -> bool:
        """`celery.Celery` or a project subclass of it."""
        if qualified in CELERY_APP_CLASSES:
            return True
        found = self.index.find_class(qualified)
        if found is None or depth > 10:
            return False
        module, cls = found
        return any(type(b) is Ref and self.is_celery_class(self.index.resolve(module, b.dotted), depth + 1)
                   for b in cls.bases)

    def is_app_reference(self, module: str, dotted: tuple) -> bool:
        if self.is_app(self.index.resolve(module, dotted)):
            return True
        return len(dotted) == 1 and dotted[0] in self.settings.app_names

    def apps(self) -> list[tuple[FileFacts, str, CallExpr]]:
        """(facts, name, call) of every module-level name bound to a Celery app."""
        found = []
        for _, facts in list(self.index.parsed()):
            for name, value in facts.assigns.items():
                if type(value) is CallExpr and value.callee and self.is_app(tuple(facts.module.split(".")) + (name,)):
                    found.append((facts, name, value))
        return found

    # ------------------------------------------------------------------ what is a task
    def is_task_class(self, module: str, cls: ClassFacts) -> bool:
        """Whether a class subclasses celery's Task (or a `tenant-task-bases` class),
        directly or through project classes."""
        return memo(self._task_class, (module, cls.name), lambda: self._subclasses_task(module, cls))

    def _subclasses_task(self, module: str, cls: ClassFacts) -> bool:
        bases = set(self.settings.tenant_task_bases)
        for base in cls.bases:
            if type(base) is not Ref:
                continue
            qualified = self.index.resolve(module, base.dotted)
            if qualified in CELERY_TASK_CLASSES or qualified[-1] in bases or ".".join(qualified) in bases:
                return True
            found = self.index.find_class(qualified)
            if found is not None and self.is_task_class(found[0], found[1]):
                return True
        return False

    def _decorator_kind(self, module: str, dotted: tuple | None) -> str | None:
        if dotted is None:
            return None
        qualified = self.index.resolve(module, dotted)
        custom = self.settings.task_decorators
        if custom and (".".join(qualified) in custom or ".".join(dotted) in custom
                       or any("." not in c and c == qualified[-1] for c in custom)):
            return "custom"
        if qualified in SHARED_TASK:
            return "shared"
        if qualified[-1] == "shared_task" and (qualified[0] in self.index.top_packages or qualified[0] == "celery"):
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
        return memo(self._factories, qualified, lambda: self._calls_task_decorator(qualified))

    def _calls_task_decorator(self, qualified: tuple) -> bool:
        index = self.index
        found = index.split_definition(qualified)
        if found is None or len(found[1]) != 1:
            return False
        module, (name,) = found
        facts = index.module_facts(module)
        fn = next((f for f in facts.functions if f.name == name and not f.nested), None) if facts else None
        if fn is None:
            return False
        # Only task-ish callees are resolved (`shared_task`, `<app>.task`, or another
        # factory such as `retry_task`): resolving every call would parse half the
        # project on demand.
        for callee in fn.calls:
            if "task" not in callee[-1].lower():
                continue
            target = index.resolve(module, callee)
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
        for _, facts in list(self.index.parsed()):
            for fn in facts.functions:
                if not fn.nested and "task" not in fn.name.lower() and fn.calls \
                        and self._is_task_decorator_factory(tuple(facts.module.split(".")) + (fn.name,)):
                    needles.append(fn.name.encode())
        return tuple(needles)

    def naming(self) -> str:
        """How auto-named tasks are named: "module" (Celery's default `<module>.<name>`),
        "function" (an app class whose `gen_task_name` returns just `name`) or "unknown"
        (an app class overriding `gen_task_name` in a way we cannot evaluate)."""
        if self._naming is None:
            self._naming = "module"
            for _, facts in list(self.index.parsed()):
                for cls in facts.classes:
                    if "gen_task_name" not in cls.methods:
                        continue
                    if not self.is_celery_class(tuple(facts.module.split(".")) + (cls.name,)):
                        continue
                    returned = cls.methods["gen_task_name"]
                    self._naming = "function" if returned == Ref(("name",)) and self._naming != "unknown" else "unknown"
        return self._naming

    # ------------------------------------------------------------------ the tasks of a file
    def of_file(self, source: SourceFile) -> list[TaskDef]:
        """The task definitions of a parsed file (classes used as `base=` included)."""
        cached = self._by_file.get(source.rel)
        if cached is not None:
            return cached
        facts = self.index.parsed_facts(source.rel)
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
        self._by_file[source.rel] = tasks
        return tasks

    def _function_task(self, source: SourceFile, facts: FileFacts, fn: FunctionFacts) -> TaskDef | None:
        module = facts.module
        for dec in fn.decorators:
            kind = self._decorator_kind(module, dec.dotted)
            if kind is None:
                continue
            options = {k.name: k.value for k in dec.kwargs if k.name is not None}
            name, pattern, explicit = f"{module}.{fn.name}", None, False
            naming = self.naming()
            if naming == "function":
                name = fn.name
            elif naming == "unknown":
                name, pattern = None, _ANYTHING
            if "name" in options:
                explicit = True
                folded = self.index.evaluate(module, options["name"])
                if isinstance(folded, str):
                    name = folded
                else:
                    name, pattern = None, self.index.evaluate_pattern(module, options["name"])
            return TaskDef(name, pattern, module, source.rel, fn.name, kind, explicit,
                           facts.span(dec.name_span), facts.spans[fn.def_span],
                           facts.spans[dec.span], fn.nested, fn.branch, options)
        return None

    def _class_task(self, source: SourceFile, facts: FileFacts, cls: ClassFacts) -> TaskDef | None:
        attrs = {attr.name: attr for attr in cls.attrs}
        if "name" not in attrs or not cls.bases:
            return None
        if not self.is_task_class(facts.module, cls):
            return None
        value = attrs["name"].value
        folded = self.index.evaluate(facts.module, value)
        name, pattern = (folded, None) if isinstance(folded, str) else (None, self.index.evaluate_pattern(facts.module, value))
        if value == Num(None):
            return None  # `name = None`: an abstract base
        options = {attr.name: attr.value for attr in attrs.values()}
        return TaskDef(name, pattern, facts.module, source.rel, cls.name, "class", True,
                       facts.spans[attrs["name"].span], facts.spans[cls.def_span], None, cls.nested, cls.branch,
                       options)

    def task_object(self, module: str, name: str) -> TaskDef | None:
        """The task defined (or imported) as `name` in `module`."""
        found = self.index.split_definition(self.index.resolve(module, (name,)))
        if found is None or len(found[1]) != 1:
            return None
        source = self.index.by_module.get(found[0])
        if source is None or self.index.facts_for(source) is None:
            return None
        for task in self.of_file(source):
            if task.function == found[1][0] and not task.nested:
                return task
        return None

    def _name_of_object(self, module: str, name: str) -> Any:
        task = self.task_object(module, name)
        if task is None:
            return None
        return task.name if task.name is not None else UNKNOWN

    # ------------------------------------------------------------------ the whole project
    @property
    def registry(self) -> dict[str, list[TaskDef]]:
        """Registered task name -> definitions, in path then line order. Files loaded on
        demand join it."""
        if self._registry_version != self.index.version:
            self._registry_version = self.index.version
            for source, _ in list(self.index.parsed()):
                if source.rel not in self._registered:
                    self._registered.add(source.rel)
                    for task in self.of_file(source):
                        if task.name is not None and not self._is_base_class(task):
                            defs = self._registry.setdefault(task.name, [])
                            defs.append(task)
                            defs.sort(key=lambda t: (t.rel, t.def_span))
        return self._registry

    def all(self) -> list[TaskDef]:
        """Every task definition of the parsed files (classes used as `base=` excluded)."""
        if self._all is None or self._all[0] != self.index.version:
            out = []
            for source, _ in list(self.index.parsed()):
                out.extend(t for t in self.of_file(source) if not self._is_base_class(t))
            self._all = (self.index.version, out)
        return list(self._all[1])

    def _is_base_class(self, task: TaskDef) -> bool:
        """A Task class passed as `base=` to a task decorator is a base, not a task
        registered under its own name (Celery only registers the decorated function)."""
        if task.kind != "class":
            return False
        if self._task_bases is None:
            self._task_bases = set()
            for source, facts in list(self.index.parsed()):
                for fn in self.of_file(source):
                    base = fn.options.get("base")
                    if fn.kind != "class" and type(base) is Ref:
                        self._task_bases.add(self.index.resolve(facts.module, base.dotted))
        return tuple(task.module.split(".")) + (task.function,) in self._task_bases

    # ------------------------------------------------------------------ names beat entries use
    def status(self, name: str) -> str:
        """"defined", "external" (not ours to verify), "maybe" (an unfoldable name, or a
        module that does not parse, could define it) or "missing"."""
        index = self.index
        if name in self.registry or name.startswith("celery."):
            return "defined"
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.settings.external_tasks):
            return "external"
        if self._suffix_match(name):
            return "defined"
        for task in self.all():
            if task.name is None:
                if task.pattern is not None and task.pattern.match(name):
                    return "maybe"
                if task.pattern is None and (name.startswith(task.module + ".") or name.rsplit(".", 1)[0] == task.module):
                    return "maybe"
        if "." in name:
            top = name.split(".", 1)[0]
            ours = top in index.top_packages or any(n.split(".", 1)[0] == top for n in self.registry)
            if not ours:
                return "external"
            # A module that does not parse could define it (SYN001 reports the module).
            source = index.by_module.get(name.rsplit(".", 1)[0])
            facts = index.facts_for(source) if source is not None else None
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
        self.index.parse_files_mentioning(tuple(n for n in needles if n))

    def suggest(self, name: str) -> str | None:
        """The registered name closest to `name` (crontab.suggest, shared with
        validate_schedules); its table of last names is built once per registry size."""
        if self._by_last is None or self._by_last[0] != len(self.registry):
            names = hashlib.blake2b("\0".join(sorted(self.registry)).encode(), digest_size=16).digest()
            self._by_last = (len(self.registry), crontab.names_by_last(self.registry), names)
        key = ("suggest", name, self._by_last[2])  # the answer depends on the name and the registered names
        found = self.memo.recall(key, _MISSING) if self.memo is not None else _MISSING
        if found is not _MISSING:
            return found
        found = crontab.suggest(name, self.registry, self._by_last[1])
        if self.memo is not None:
            self.memo.remember(key, found)
        return found
