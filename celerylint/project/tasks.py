"""The task registry: which functions and classes are Celery tasks (RULES.md §1, "A
Celery task"), under which names Celery registers them, and whether a name a beat
entry uses is registered.

A task is a function decorated with `shared_task`, `<app>.task` (an app is a name
bound to `Celery(...)`, or named in `app-names`), a `task-decorators` entry, or a
decorator that is one of those followed through its value: a project decorator
factory that applies one (`def cron_task(**kw): return shared_task(**kw)(wrapper)`),
a name bound to a call of one (`retrying = shared_task(acks_late=True)`,
`functools.partial(app.task, base=Base)`, `job = factory(queue="x")`), or an instance
of a project class whose `__call__` or method applies one (`@scheduler`,
`@registry.task(...)`); or a class subclassing Celery's `Task` with a `name`. Names are
folded from `name=` or derived as Celery derives them (through `functools.wraps`, the
decorated function's module and name).

Whether a name is registered is one of "defined", "external" (not ours to verify),
"maybe" (unverified: a task with an unfoldable name, a same-named function under a
decorator the analyzer cannot resolve, a registration or module it cannot read),
"missing" or "nowhere" (its top-level package is neither the project's nor a declared
dependency's).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Iterable

from celerylint.facts.model import (
    UNKNOWN, CallExpr, ClassFacts, DecoratorFacts, FileFacts, FunctionFacts, Num, Ref, SourceFile, Str,
)
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
PARTIAL = frozenset({("functools", "partial"), ("partial",)})
APP_LIKE = ("app", "celery")


def _shown(dec: DecoratorFacts) -> str:
    return "@" + ".".join(dec.dotted) if dec.dotted else "a decorator expression"


def _app_like(name: str) -> bool:
    """An attribute that holds a Celery app, by its name (`self.app`, `self.celery_app`)."""
    lowered = name.lower()
    return any(part in lowered for part in APP_LIKE)
# Decorators known not to register tasks: by the top-level package they resolve to, or
# by name when they resolve to nothing (builtins). Anything else the analyzer cannot
# resolve makes a same-named beat entry "unverified", never orphaned.
NOT_TASK_PACKAGES = frozenset({
    "functools", "contextlib", "typing", "typing_extensions", "abc", "dataclasses", "builtins", "unittest",
    "pytest", "mock", "atexit", "django", "rest_framework", "asyncio", "warnings", "enum", "attr", "attrs",
})
NOT_TASK_NAMES = frozenset({"property", "staticmethod", "classmethod", "cached_property", "overload", "override"})


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
        self._values: dict[tuple, Any] = {}  # qualified name -> kind of what the value decorates
        self._applies: dict[tuple, bool] = {}  # (module, function) -> applies a task decorator
        self._verdicts: dict[tuple, str] = {}
        self._decorated_by_name: tuple | None = None  # (index version, last name -> [(module, fn)])
        self._called: tuple | None = None  # (index version, names registered by calls, modules with unread ones)
        self._named: tuple | None = None  # (index version, unresolvable decorators given name=)
        self.reasons: dict[str, str] = {}  # name -> why it is "maybe" or "nowhere" (for --verbose and messages)
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

    def is_celery_class(self, qualified: tuple) -> bool:
        """`celery.Celery` or a project subclass of it."""
        return self.index.inherits(qualified, CELERY_APP_CLASSES.__contains__)

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

    def _decorator_kind(self, module: str, dotted: tuple | None, imports: dict | None = None) -> str | None:
        """"shared", "app" or "custom" when the decorator `dotted` (as written in
        `module`, or in a function body with its own `imports`) makes a task."""
        if dotted is None:
            return None
        index = self.index
        qualified = index.resolve_in(module, imports, dotted) if imports else index.resolve(module, dotted)
        custom = self.settings.task_decorators
        if custom and (".".join(qualified) in custom or ".".join(dotted) in custom
                       or any("." not in c and c == qualified[-1] for c in custom)):
            return "custom"
        if qualified in SHARED_TASK:
            return "shared"
        if qualified[-1] == "shared_task" and (qualified[0] in index.top_packages or qualified[0] == "celery"):
            return "shared"  # a project wrapper or re-export named shared_task
        if len(dotted) >= 2 and dotted[-1] == "task" and self.is_app_reference(module, dotted[:-1]):
            return "app"
        if len(qualified) >= 2 and qualified[-1] == "task" and self.is_app(qualified[:-1]):
            return "app"
        if len(dotted) == 3 and dotted[0] in ("self", "cls") and dotted[-1] == "task" and _app_like(dotted[1]):
            return "app"  # `self.app.task(...)` in a decorator class holding the app
        if self._is_task_decorator_factory(qualified):
            return "custom"
        if self._class_decorator(qualified):
            return "custom"
        return self._value_decorator(qualified)

    def _class_decorator(self, qualified: tuple) -> bool:
        """A project class used as a decorator: `@retryable_task(name=...)` makes an
        instance whose `__call__` applies a task decorator (treeherder), `@Wrapper` one
        whose `__init__` does."""
        found = self.index.find_class(qualified)
        if found is None:
            return False
        return memo(self._values, ("class",) + qualified, lambda: any(
            self._method_applies_task(found[0], found[1], method) for method in ("__call__", "__init__"))) or False

    # -- decorators followed through their values
    def _value_decorator(self, qualified: tuple) -> str | None:
        """The kind of task a module-level name makes of what it decorates, through its
        value: `retrying = shared_task(acks_late=True)`, `functools.partial(app.task,
        base=B)`, `job = factory(...)`, an instance of a project class whose `__call__`
        applies a task decorator, or `instance.method` when the method does."""
        return memo(self._values, qualified, lambda: self._value_kind(qualified)) or None

    def _value_kind(self, qualified: tuple) -> str | None:
        index = self.index
        found = index.split_definition(qualified)
        if found is None or len(found[1]) > 2:
            return None
        module, rest = found
        facts = index.module_facts(module)
        if facts is None:
            return None
        value = facts.assigns.get(rest[0])
        if type(value) is not CallExpr or not value.callee or value.callee[0] == "?":
            return None
        if len(rest) == 2:  # `instance.method`
            cls = self._project_class(module, value.callee)
            return "custom" if cls is not None and self._method_applies_task(cls[0], cls[1], rest[1]) else None
        return self._call_makes_decorator(module, value)

    def _call_makes_decorator(self, module: str, call: CallExpr) -> str | None:
        """What `@x` makes of a function when `x = <call>`."""
        kind = self._decorator_kind(module, call.callee)
        if kind is not None:
            # `shared_task(acks_late=True)` / `app.task(**opts)` / `factory(...)`: a
            # decorator. `shared_task(f)` (a function given) is a task, not a decorator.
            return kind if not call.args else None
        callee = self.index.resolve(module, call.callee)
        if callee in PARTIAL and call.args and type(call.args[0]) is Ref:
            return self._decorator_kind(module, call.args[0].dotted)
        cls = self._project_class(module, call.callee)
        if cls is not None and self._method_applies_task(cls[0], cls[1], "__call__"):
            return "custom"
        return None

    def _project_class(self, module: str, dotted: tuple) -> tuple[str, ClassFacts] | None:
        return self.index.find_class(self.index.resolve(module, dotted))

    def _method_applies_task(self, module: str, cls: ClassFacts, method: str, depth: int = 0) -> bool:
        """Whether `cls.method` (or the method it inherits from project classes) applies
        a task decorator to what it is given."""
        facts = self.index.module_facts(module)
        if facts is None or depth > 10:
            return False
        fn = next((f for f in facts.functions if f.owner == cls.name and f.name == method), None)
        if fn is not None:
            return self._applies_task(module, fn)
        for base in cls.bases:
            if type(base) is Ref:
                found = self._project_class(module, base.dotted)
                if found is not None and self._method_applies_task(found[0], found[1], method, depth + 1):
                    return True
        return False

    def _applies_task(self, module: str, fn: FunctionFacts) -> bool:
        """Whether a function's body calls `shared_task` / `<app>.task` or another task
        decorator (a factory, a name bound to one): what it returns or wraps is a task."""
        key = (module, fn.owner, fn.name)
        return memo(self._applies, key, lambda: self._calls_a_task_decorator(module, fn))

    def _calls_a_task_decorator(self, module: str, fn: FunctionFacts) -> bool:
        # Only task-ish callees are resolved (`shared_task`, `<app>.task`, or another
        # factory such as `retry_task`): resolving every call would parse half the
        # project on demand.
        for callee in fn.calls:
            if "()" in callee or "task" not in callee[-1].lower():
                continue
            if self._decorator_kind(module, callee, fn.imports or None) is not None:
                return True
        return False

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
        return self._applies_task(module, fn)

    def factory_needles(self) -> tuple[bytes, ...]:
        """Names of the project's task decorators that the byte prefilter does not look
        for (it looks for "task"): factories, classes whose instances decorate, and names
        bound to decorator values. Files mentioning them must be parsed too (the engine
        asks again after parsing them: an instance may be made in a file found so)."""
        needles = []
        classes = set()
        for _, facts in list(self.index.parsed()):
            prefix = tuple(facts.module.split("."))
            for fn in facts.functions:
                if fn.nested or not fn.calls:
                    continue
                if fn.owner is None:
                    if "task" not in fn.name.lower() and self._is_task_decorator_factory(prefix + (fn.name,)):
                        needles.append(fn.name)
                elif fn.name == "__call__" or not fn.name.startswith("_"):
                    if self._applies_task(facts.module, fn):
                        classes.add(fn.owner)
            needles += [c for c in classes if "task" not in c.lower()]
        for _, facts in list(self.index.parsed()):
            prefix = tuple(facts.module.split("."))
            for name, value in facts.assigns.items():
                if "task" in name.lower() or type(value) is not CallExpr or not value.callee:
                    continue
                last = value.callee[-1]
                if ("task" in last.lower() or last == "partial" or last in classes) \
                        and self._value_decorator(prefix + (name,)):
                    needles.append(name)
        return tuple(sorted({n.encode() for n in needles}))

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
            enclosing: dict = {}
            for fn in facts.functions:
                # Functions are listed in source order, each before those defined in it: a
                # function nested in another resolves its decorators with the imports of
                # the function around it (`from celery import shared_task` in a fixture).
                if not fn.nested or fn.owner is not None:
                    enclosing = fn.imports
                task = self._function_task(source, facts, fn, enclosing if fn.nested and fn.owner is None else None)
                if task is not None:
                    tasks.append(task)
            for cls in facts.classes:
                task = self._class_task(source, facts, cls)
                if task is not None:
                    tasks.append(task)
        self._by_file[source.rel] = tasks
        return tasks

    def _function_task(self, source: SourceFile, facts: FileFacts, fn: FunctionFacts,
                       imports: dict | None = None) -> TaskDef | None:
        module = facts.module
        for dec in fn.decorators:
            kind = self._decorator_kind(module, dec.dotted, imports or None)
            if kind is None:
                continue
            options = {k.name: k.value for k in dec.kwargs if k.name is not None}
            if "name" not in options:
                given = self._value_name(module, dec.dotted)
                if given is not None:
                    options["name"] = given
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

    def _value_name(self, module: str, dotted: tuple | None) -> Any:
        """The `name=` a decorator value sets (`partial(shared_task, name=...)`), as a
        value folded where it is written (Str, or UNKNOWN), or None."""
        if dotted is None:
            return None
        index = self.index
        found = index.split_definition(index.resolve(module, dotted))
        if found is None or len(found[1]) != 1:
            return None
        facts = index.module_facts(found[0])
        value = facts.assigns.get(found[1][0]) if facts is not None else None
        if type(value) is not CallExpr:
            return None
        for keyword in value.kwargs:
            if keyword.name == "name":
                folded = index.evaluate(found[0], keyword.value)
                return Str(folded) if isinstance(folded, str) else UNKNOWN
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
        """"defined", "external" (not ours to verify), "maybe" (unverified: an unfoldable
        name, a decorator or registration the analyzer cannot read, or a module that does
        not parse could define it), "missing", or "nowhere" (the top-level package is
        neither the project's nor a declared dependency's). `reasons[name]` says why for
        "maybe" and "nowhere"."""
        index = self.index
        if name in self.registry or name.startswith("celery.") or name in self._calls()[0]:
            return "defined"
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.settings.external_tasks):
            return "external"
        if self._suffix_match(name):
            return "defined"
        longer = self._prefix_match(name)
        if longer is not None:
            self.reasons[name] = (f'registered as "{longer}": the name would hold if Celery imported the module '
                                  f"by a longer path")
            return "maybe"
        for task in self.all():
            if task.name is None:
                if task.pattern is not None and task.pattern.match(name):
                    self.reasons[name] = f"{task.rel}: task {task.function} has a name the analyzer cannot fold"
                    return "maybe"
                if task.pattern is None and (name.startswith(task.module + ".") or name.rsplit(".", 1)[0] == task.module):
                    self.reasons[name] = f"{task.rel}: task {task.function} has a name the analyzer cannot fold"
                    return "maybe"
        reason = self._unverified(name)
        if reason is not None:
            self.reasons[name] = reason
            return "maybe"
        if "." in name:
            top = name.split(".", 1)[0]
            tops, anywhere = index.packages()
            ours = top in tops or any(n.split(".", 1)[0] == top for n in self.registry)
            if not ours:
                return self._outside(name, top, anywhere)
            # A module that does not parse could define it (SYN001 reports the module).
            source = index.by_module.get(name.rsplit(".", 1)[0])
            facts = index.facts_for(source) if source is not None else None
            if facts is not None and facts.error is not None:
                self.reasons[name] = f"{source.rel} does not parse"
                return "maybe"
        return "missing"

    def _outside(self, name: str, top: str, anywhere: frozenset) -> str:
        """A name whose top-level package is not the project's: "external" when a declared
        dependency (or an installed app, or a directory of the project) may provide it,
        "nowhere" when the project declares its dependencies and none does."""
        declared = self.index.declared
        if declared is None or top in anywhere:
            return "external"
        if declared.provides(top) is not None:
            return "external"
        if top in self._installed_apps():
            return "external"
        self.reasons[name] = (f'package "{top}" is neither in the project nor a declared dependency '
                              f'({", ".join(declared.sources)})')
        return "nowhere"

    def _installed_apps(self) -> set[str]:
        """The top-level packages of INSTALLED_APPS, across the settings modules."""
        from celerylint.project.django import DjangoProject

        apps = DjangoProject(self.index).app_list("INSTALLED_APPS") or ()
        return {app.split(".", 1)[0] for app in apps}

    # -- certainty
    def decorator_verdict(self, module: str, dec: DecoratorFacts) -> str:
        """"task" (a task decorator), "not" (known not to register a task) or "unknown"."""
        key = (module, dec.dotted)
        found = self._verdicts.get(key)
        if found is None:
            found = self._verdicts[key] = self._verdict(module, dec.dotted)
        return found

    def _verdict(self, module: str, dotted: tuple | None) -> str:
        if dotted is None:
            return "unknown"
        if self._decorator_kind(module, dotted) is not None:
            return "task"
        index = self.index
        qualified = index.resolve(module, dotted)
        if qualified[0] in NOT_TASK_PACKAGES or (len(qualified) == 1 and qualified[0] in NOT_TASK_NAMES):
            return "not"
        if qualified[-1] in ("connect", "setter", "getter", "deleter", "register"):
            return "not"  # signal receivers, property accessors, admin/registry registrations
        found = index.split_definition(qualified)
        if found is not None and len(found[1]) == 1:
            facts = index.module_facts(found[0])
            fn = next((f for f in facts.functions if f.name == found[1][0] and f.owner is None and not f.nested),
                      None) if facts is not None else None
            value = facts.assigns.get(found[1][0]) if facts is not None else None
            if fn is None and type(value) is CallExpr and value.callee and value.callee[0] != "?":
                cls = self._project_class(found[0], value.callee)  # an instance: its __call__ decorates
                fn = self._method(cls[0], cls[1], "__call__") if cls is not None else None
            if fn is not None and not any("task" in c[-1].lower() or "regist" in c[-1].lower() for c in fn.calls):
                return "not"  # a project decorator that registers nothing
        cls = index.find_class(qualified)
        if cls is not None and self._readable_class(cls[0], cls[1]):
            # A project class used as the decorator (`@timed(...)`, `@Wrapper`): what its
            # __call__ and __init__ do is all it does to the function.
            methods = [self._method(cls[0], cls[1], name) for name in ("__call__", "__init__")]
            if not any("task" in c[-1].lower() or "regist" in c[-1].lower()
                       for fn in methods if fn is not None for c in fn.calls):
                return "not"
        return "unknown"

    def _readable_class(self, module: str, cls: ClassFacts, depth: int = 0) -> bool:
        """Whether every class `cls` inherits from is a project class (or `object`): its
        methods are all known."""
        if depth > 10:
            return False
        for base in cls.bases:
            if type(base) is not Ref:
                return False
            if base.dotted == ("object",):
                continue
            found = self._project_class(module, base.dotted)
            if found is None or not self._readable_class(found[0], found[1], depth + 1):
                return False
        return True

    def _method(self, module: str, cls: ClassFacts, name: str, depth: int = 0) -> FunctionFacts | None:
        """`cls.name`, or the method of that name it inherits from project classes."""
        facts = self.index.module_facts(module)
        if facts is None or depth > 10:
            return None
        fn = next((f for f in facts.functions if f.owner == cls.name and f.name == name), None)
        if fn is not None:
            return fn
        for base in cls.bases:
            if type(base) is Ref:
                found = self._project_class(module, base.dotted)
                if found is not None:
                    fn = self._method(found[0], found[1], name, depth + 1)
                    if fn is not None:
                        return fn
        return None

    def _decorated(self) -> dict[str, list[tuple[str, FunctionFacts]]]:
        """Function name -> (module, function) of every decorated function parsed."""
        if self._decorated_by_name is None or self._decorated_by_name[0] != self.index.version:
            table: dict[str, list] = {}
            for _, facts in list(self.index.parsed()):
                for fn in facts.functions:
                    if fn.decorators:
                        table.setdefault(fn.name, []).append((facts.module, fn))
            self._decorated_by_name = (self.index.version, table)
        return self._decorated_by_name[1]

    def _calls(self) -> tuple[set[str], dict[str, str]]:
        """(names registered by readable calls: `f = shared_task(f)`, `app.task(f)`;
        module -> where it registers tasks by a call the analyzer cannot read)."""
        if self._called is None or self._called[0] != self.index.version:
            names: set[str] = set()
            unread: dict[str, str] = {}
            for source, facts in list(self.index.parsed()):
                module = facts.module
                for op in facts.ops:
                    if op.kind != "call" or op.scope != "module":
                        continue
                    if op.target[-1] == "register_task":
                        unread.setdefault(module, f"{source.rel}:{facts.spans[op.span][0]}")
                    elif op.target[-1] in ("task", "shared_task"):
                        self._registration(module, op.value, names, unread, source, op.span)
                for value in facts.assigns.values():
                    if type(value) is CallExpr and value.args and value.callee and value.callee[-1] in (
                            "task", "shared_task"):
                        self._registration(module, value, names, unread, source, -1)
            self._called = (self.index.version, names, unread)
        return self._called[1], self._called[2]

    def _registration(self, module: str, call: CallExpr, names: set, unread: dict, source: SourceFile,
                      span: int) -> None:
        if self._decorator_kind(module, call.callee) not in ("shared", "app"):
            return
        given = next((k.value for k in call.kwargs if k.name == "name"), None)
        if given is not None:
            folded = self.index.evaluate(module, given)
            if isinstance(folded, str):
                names.add(folded)
                return
        elif type(call.args[0]) is Ref:
            names.add(".".join(self.index.resolve(module, call.args[0].dotted)))
            return
        where = source.rel + (f":{self.index.parsed_facts(source.rel).spans[span][0]}" if span >= 0 else "")
        unread.setdefault(module, where)

    def _unverified(self, name: str) -> str | None:
        """Why `name` may be registered by code the analyzer cannot read, or None: a
        function of that name in the module it names (in any module, when it names none
        of the project's) under a decorator the analyzer cannot resolve; such a decorator
        anywhere given `name=` that name (or one that cannot be folded); or a
        registration (`app.register_task(...)`, `x = make_task(...)`) it cannot read in
        the named module."""
        index = self.index
        last = name.rsplit(".", 1)[-1]
        prefix = name.rsplit(".", 1)[0] if "." in name else ""
        modules = self._modules_named(prefix) if prefix else []
        for module, fn in self._decorated().get(last, ()):
            if fn.owner is not None or (modules and module not in modules):
                continue
            dec = self._unknown_decorator(module, fn)
            if dec is not None:
                return f"{module}.{last} is decorated with {_shown(dec)}, which the analyzer cannot resolve"
        for module, fn, dec, folded in self._unknown_named():
            if folded is None or folded == name:
                return f"{module}.{fn.name} is decorated with {_shown(dec)}(name=...), which the analyzer cannot resolve"
        unread = self._calls()[1]
        for module in modules:
            if module in unread:
                return f"{module} registers tasks by a call the analyzer cannot read ({unread[module]})"
            facts = index.module_facts(module)
            value = facts.assigns.get(last) if facts is not None else None
            if type(value) is CallExpr:
                return f"{module}.{last} is bound to a call the analyzer cannot read"
        return None

    def _unknown_decorator(self, module: str, fn: FunctionFacts) -> DecoratorFacts | None:
        """The first decorator of `fn` the analyzer cannot resolve, when none makes a task."""
        verdicts = [self.decorator_verdict(module, dec) for dec in fn.decorators]
        if "task" in verdicts or "unknown" not in verdicts:
            return None
        return fn.decorators[verdicts.index("unknown")]

    def _unknown_named(self) -> list[tuple]:
        """(module, function, decorator, folded name or None) for every decorator the
        analyzer cannot resolve that is given `name=`."""
        if self._named is None or self._named[0] != self.index.version:
            found = []
            for functions in self._decorated().values():
                for module, fn in functions:
                    for dec in fn.decorators:
                        given = next((k.value for k in dec.kwargs if k.name == "name"), None)
                        if given is None or self.decorator_verdict(module, dec) != "unknown":
                            continue
                        folded = self.index.evaluate(module, given)
                        found.append((module, fn, dec, folded if isinstance(folded, str) else None))
            self._named = (self.index.version, found)
        return self._named[1]

    def prefetch(self, names: Iterable[str]) -> None:
        """Parse, in one batch, the modules that `status` reads for these names (the
        module each names, and those whose names end with it): one round trip to the
        parse workers instead of one per name."""
        index = self.index
        wanted: dict[str, Any] = {}
        for name in names:
            for spelled in {name, name.replace("(", "").replace(")", "")}:
                if "." not in spelled:
                    continue
                for module in self._modules_named(spelled.rsplit(".", 1)[0]):
                    source = index.by_module.get(module)
                    if source is not None:
                        wanted[source.rel] = source
        index.load(wanted.values())

    def _modules_named(self, module: str) -> list[str]:
        """The project modules that `module` may name: itself, or a module whose name ends
        with it (the project's sys.path root may sit below the analysis root)."""
        index = self.index
        found = [module] if module in index.by_module else []
        suffix = "." + module
        found += [m for m in index.by_module if m.endswith(suffix)]
        return found

    def _suffix_match(self, name: str) -> bool:
        """An auto-named task whose name ends with `name`: the project's sys.path root may
        sit below the analysis root (e.g. manage.py in a sub-directory)."""
        if name.count(".") < 1:
            return False
        suffix = "." + name
        return any(n.endswith(suffix) and not defs[0].explicit_name for n, defs in self.registry.items())

    def _prefix_match(self, name: str) -> str | None:
        """An auto-named task that `name` ends with (`backend.reports.tasks.x` for
        `reports.tasks.x`): the module under another source root."""
        for registered, defs in self.registry.items():
            if name.endswith("." + registered) and not defs[0].explicit_name:
                return registered
        return None

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
