"""Tenant-scope inference (RULES.md §1): which models are tenant-scoped, which tasks use
them (directly or through project functions), which tasks are wrappers, whether a task
restores tenant context first, and where tasks are enqueued.

Everything here is derived from the facts through the index's name resolution; what
cannot be resolved is unknown and never makes a task tenant-scoped.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from celerylint.facts import ENQUEUE_METHODS, EnqueueFacts, FileFacts, FunctionFacts, refs_of
from celerylint.discover import SourceFile

if TYPE_CHECKING:
    from celerylint.index import ProjectIndex, TaskDef

DJANGO_MODEL = frozenset({("django", "db", "models", "Model"), ("django", "db", "models", "base", "Model")})
MANAGER_ATTRIBUTES = frozenset({"objects", "_default_manager", "all_objects"})
NON_STRING_CALLS = frozenset({"uuid4", "uuid1", "UUID", "get_current_tenant_id"})
MAX_CALL_DEPTH = 8


@dataclass(frozen=True)
class TenantUse:
    """Why a function is tenant-scoped: the model it uses and the project functions
    the use goes through ("uses Document via documents.search.purge")."""

    model: str
    via: tuple = ()

    def describe(self) -> str:
        if self.model.startswith("listed"):
            return self.model
        return f"uses {self.model}" + (f" via {' -> '.join(self.via)}" if self.via else "")


class Tenancy:
    def __init__(self, index: "ProjectIndex"):
        self.index = index
        settings = index.settings
        self.settings = settings
        self.tenant_model = settings.tenant_model
        self._model_reason: dict[tuple, str | None] = {}
        self._is_model: dict[tuple, bool] = {}
        self._function_use: dict[tuple, TenantUse | None] = {}
        self._deferred_done = False
        self._default_aware: bool | None = None
        self._spawning: dict[tuple, bool] = {}
        self._models_exist: bool | None = None

    # ------------------------------------------------------------------ helpers
    def _names_match(self, qualified: tuple, names: tuple[str, ...]) -> bool:
        dotted = ".".join(qualified)
        return any(dotted == n or ("." not in n and qualified[-1] == n) for n in names)

    def resolve(self, module: str, fn: FunctionFacts | None, dotted: tuple) -> tuple:
        """Resolve a name used in a function body (its own imports first)."""
        if fn is not None and dotted[0] in fn.imports:
            return self.index.canonical(fn.imports[dotted[0]] + dotted[1:])
        return self.index.resolve(module, dotted)

    def function(self, module: str, name: str, owner: str | None = None) -> FunctionFacts | None:
        """A module-level function, or with `owner` a method of a module-level class."""
        facts = self.index.module_facts(module)
        if facts is None:
            return None
        for fn in facts.functions:
            if fn.name == name and fn.owner == owner and (owner is not None or not fn.nested):
                return fn
        return None

    def task_function(self, task: "TaskDef") -> FunctionFacts | None:
        """The function a task runs: the decorated function, or a Task class's `run`."""
        if task.kind == "class":
            return self.function(task.module, "run", task.function)
        return self.function(task.module, task.function)

    def task_ref(self, task: "TaskDef") -> tuple:
        return (task.module, task.function, "run") if task.kind == "class" else (task.module, None, task.function)

    def callee_function(self, module: str, fn: FunctionFacts, callee: tuple) -> tuple | None:
        """(module, owner, name) of the project function or method a call reaches:
        `helper()`, `mod.helper()`, `Service.method()`, `Service(...).method()`,
        `self.method()` in a method."""
        if "()" in callee:
            if len(callee) < 3 or callee[-2] != "()":
                return None
            found = self.index.find_class(self.resolve(module, fn, callee[:-2]))
            return (found[0], found[1].name, callee[-1]) if found else None
        if callee[0] in ("self", "cls") and len(callee) == 2 and fn.owner:
            return (module, fn.owner, callee[1])
        found = self.index.split_definition(self.resolve(module, fn, callee))
        if found is None:
            return None
        target_module, rest = found
        if len(rest) == 1:
            return (target_module, None, rest[0])
        if len(rest) == 2 and self.index.find_class(tuple(target_module.split(".")) + rest[:1]) is not None:
            return (target_module, rest[0], rest[1])
        return None

    def facts_of(self, ref: tuple) -> FunctionFacts | None:
        module, owner, name = ref
        return self.function(module, name, owner)

    @staticmethod
    def label(ref: tuple) -> str:
        module, owner, name = ref
        return f"{module}.{owner}.{name}" if owner else f"{module}.{name}"

    # ------------------------------------------------------------------ models
    def models_exist(self) -> bool:
        """Whether any tenant-scoped model (or `tenant-models` / `tenant-tasks` entry)
        exists. Only files with a tenant field or a configured tenant base/manager name
        can define one, so only those are loaded to find out; without any, tasks cannot
        be tenant-scoped and the expensive part of the analysis is skipped."""
        if self._models_exist is None:
            if not self.index.tenancy_possible:
                self._models_exist = False
            elif self.settings.tenant_models or self.settings.tenant_tasks or self.index.tenancy_files is None:
                self._models_exist = True
            else:
                index = self.index
                index.load([s for s in index.files if s.rel in index.tenancy_files])
                self._models_exist = any(
                    self.model_reason(tuple(facts.module.split(".")) + (cls.name,)) is not None
                    for source, facts in list(index.parsed()) if source.rel in index.tenancy_files
                    for cls in facts.classes if not cls.nested)
        return self._models_exist


    def is_tenant_model_name(self, qualified: tuple) -> bool:
        """The tenant model itself (`tenant-model`, default "Tenant")."""
        return self._names_match(qualified, (self.tenant_model,))

    def is_model(self, qualified: tuple) -> bool:
        if qualified in DJANGO_MODEL:
            return True
        if qualified in self._is_model:
            return self._is_model[qualified]
        self._is_model[qualified] = False
        found = self.index.find_class(qualified)
        if found is None:
            # A base class from an installed library: TimeStampedModel, MPTTModel, ...
            result = qualified[-1].endswith("Model") or self._names_match(qualified, self.settings.tenant_model_bases)
        else:
            module, cls = found
            result = any(b[0] == "r" and self.is_model(self.index.resolve(module, b[1])) for b in cls.bases)
        self._is_model[qualified] = result
        return result

    def model_reason(self, qualified: tuple) -> str | None:
        """Why the class `qualified` is a tenant-scoped model, or None."""
        if qualified in self._model_reason:
            return self._model_reason[qualified]
        self._model_reason[qualified] = None
        reason = self._compute_model_reason(qualified)
        self._model_reason[qualified] = reason
        return reason

    def _compute_model_reason(self, qualified: tuple) -> str | None:
        settings = self.settings
        if self.is_tenant_model_name(qualified):
            return None
        if self._names_match(qualified, settings.tenant_models):
            return "listed in tenant-models"
        if self._names_match(qualified, settings.tenant_model_bases):
            return f"is {qualified[-1]}"
        found = self.index.find_class(qualified)
        if found is None:
            return None
        module, cls = found
        if not self.is_model(qualified):
            return None
        for name, value, _ in cls.attrs:
            if name in ("tenant", "tenant_id"):
                return f"has a {name} field"
            if value[0] == "c" and value[1] is not None and value[1][-1] in settings.tenant_managers:
                return f"has a {value[1][-1]}"
        for base in cls.bases:
            if base[0] != "r":
                continue
            base_q = self.index.resolve(module, base[1])
            inherited = self.model_reason(base_q)
            if inherited is not None:
                return f"inherits from {base_q[-1]}"
        return None

    # ------------------------------------------------------------------ uses
    def direct_use(self, module: str, fn: FunctionFacts) -> str | None:
        """The tenant-scoped model a function body uses itself: `M.objects...`,
        `M._default_manager...`, `M.all_objects...` or `M(...)`."""
        for ref in sorted(fn.refs):
            for cut in range(1, len(ref)):
                if ref[cut] in MANAGER_ATTRIBUTES and ref[cut - 1][:1].isupper():
                    qualified = self.resolve(module, fn, ref[:cut])
                    if self.model_reason(qualified) is not None:
                        return qualified[-1]
        for callee in sorted(fn.calls):
            if callee[-1][:1].isupper():
                qualified = self.resolve(module, fn, callee)
                if self.model_reason(qualified) is not None:
                    return qualified[-1]
        return None

    def function_use(self, ref: tuple, depth: int = 0) -> TenantUse | None:
        """What makes the project function `ref` tenant-scoped: its own model use or one
        of the project functions it calls (transitively, with a cycle guard)."""
        if ref in self._function_use:
            return self._function_use[ref]
        self._function_use[ref] = None
        fn = self.facts_of(ref)
        use = self._use_of(ref, fn, depth) if fn is not None else None
        self._function_use[ref] = use
        return use

    def _use_of(self, ref: tuple, fn: FunctionFacts, depth: int) -> TenantUse | None:
        module = ref[0]
        model = self.direct_use(module, fn)
        if model is not None:
            return TenantUse(model)
        if depth >= MAX_CALL_DEPTH:
            return None
        for callee in sorted(fn.calls):
            if callee[-1] in ENQUEUE_METHODS:
                continue
            target = self.callee_function(module, fn, callee)
            if target is None or target == ref:
                continue
            use = self.function_use(target, depth + 1)
            if use is not None:
                return TenantUse(use.model, (self.label(target),) + use.via)
        return None

    # ------------------------------------------------------------------ tasks
    def _listed(self, task: "TaskDef", patterns: tuple[str, ...]) -> bool:
        names = [f"{task.module}.{task.function}"] + ([task.name] if task.name else [])
        return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)

    def is_wrapper(self, task: "TaskDef") -> bool:
        """Spawns per-tenant tasks: calls a spawner, loops over tenants enqueueing a task
        per tenant, or fans out over per-tenant rows passing each one's tenant_id — in
        its own body or in a project function it calls."""
        return self.index.tenancy_possible and self._spawns(self.task_ref(task), 0)

    def _spawns(self, ref: tuple, depth: int) -> bool:
        if ref in self._spawning:
            return self._spawning[ref]
        self._spawning[ref] = False
        fn = self.facts_of(ref)
        result = False
        if fn is not None:
            result = fn.spawns or any(
                loop.fans_out or (loop.enqueues and self._iterates_tenants(ref[0], fn, loop)) for loop in fn.loops)
            if not result and depth < 3:
                result = any(self._spawns(target, depth + 1)
                             for target in (self.callee_function(ref[0], fn, c) for c in sorted(fn.calls))
                             if target is not None and target != ref)
        self._spawning[ref] = result
        return result

    def tenant_loops(self, task: "TaskDef") -> list[tuple]:
        """(module, loop) for every loop over tenants that enqueues, in the task and in
        the project functions it calls (TEN007 reports them where they are)."""
        found: list[tuple] = []
        seen: set = set()
        if not self.index.tenancy_possible:
            return found

        def walk(ref: tuple, depth: int) -> None:
            if ref in seen or depth > 3:
                return
            seen.add(ref)
            fn = self.facts_of(ref)
            if fn is None:
                return
            found.extend((ref[0], loop) for loop in fn.loops
                         if loop.enqueues and self._iterates_tenants(ref[0], fn, loop))
            for callee in sorted(fn.calls):
                target = self.callee_function(ref[0], fn, callee)
                if target is not None:
                    walk(target, depth + 1)

        walk(self.task_ref(task), 0)
        return found

    def sweeps_tenants(self, task: "TaskDef") -> bool:
        """Loops over tenants and restores each tenant's context inside the loop: the
        task handles tenancy itself."""
        fn = self.task_function(task)
        return fn is not None and any(loop.restores and self._iterates_tenants(task.module, fn, loop)
                                      for loop in fn.loops)

    def _iterates_tenants(self, module: str, fn: FunctionFacts, loop) -> bool:
        """The loop iterates tenants: `Tenant.objects...`, a name bound to it, or
        `get_tenant_model().objects...`."""
        for ref in loop.iter_refs:
            if "get_tenant_model" in ref:
                return True
            for cut in range(1, len(ref)):
                if ref[cut] in MANAGER_ATTRIBUTES or ref[cut] in ("filter", "all", "iterator"):
                    prefix = ref[:cut]
                    if prefix[-1] == self.tenant_model.rsplit(".", 1)[-1] \
                            or self.is_tenant_model_name(self.resolve(module, fn, prefix)):
                        return True
        return False

    def task_use(self, task: "TaskDef") -> TenantUse | None:
        """Why a task is tenant-scoped, or None (global tasks, wrappers and sweeps that
        restore each tenant's context themselves are not)."""
        if not self.models_exist() or self._listed(task, self.settings.global_tasks):
            return None
        if self._listed(task, self.settings.tenant_tasks):
            return TenantUse("listed in tenant-tasks")
        if self.task_function(task) is None or self.is_wrapper(task) or self.sweeps_tenants(task):
            return None
        return self.function_use(self.task_ref(task))

    def context_provided(self, task: "TaskDef") -> bool:
        """Something else hands the task its tenant: a base in `tenant-task-bases` (or
        the app's default task class is one: tenant_id travels in message headers), or
        a decorator that restores the context (named in `restore-functions` /
        `context-managers`, or a project decorator that calls one)."""
        base = task.options.get("base")
        if base is not None and base[0] == "r" and self._tenant_aware_class(self.index.resolve(task.module, base[1])):
            return True
        fn = self.task_function(task)
        if fn is not None and any(self._restoring_decorator(task.module, fn, d.dotted) for d in fn.decorators):
            return True
        return self._app_default_is_tenant_aware()

    def _restoring_decorator(self, module: str, fn: FunctionFacts, dotted: tuple | None) -> bool:
        if dotted is None:
            return False
        qualified = self.resolve(module, fn, dotted)
        if self._names_match(qualified, self.settings.restore_functions + self.settings.context_managers):
            return True
        target = self.callee_function(module, fn, dotted)
        decorator = self.facts_of(target) if target is not None else None
        return decorator is not None and self._restores_anywhere(target[0], decorator)

    def _restores_anywhere(self, module: str, fn: FunctionFacts) -> bool:
        if any(self._names_match(self.resolve(module, fn, r[0]), self.settings.restore_functions)
               for r in fn.restores):
            return True
        return any(self._names_match(self.resolve(module, fn, c), self.settings.context_managers) for c in fn.calls)

    def _tenant_aware_class(self, qualified: tuple, depth: int = 0) -> bool:
        if self._names_match(qualified, self.settings.tenant_task_bases):
            return True
        found = self.index.find_class(qualified)
        if found is None or depth > 10:
            return False
        module, cls = found
        return any(b[0] == "r" and self._tenant_aware_class(self.index.resolve(module, b[1]), depth + 1)
                   for b in cls.bases)

    def _app_default_is_tenant_aware(self) -> bool:
        """Every Celery app of the project has a tenant-aware default task class
        (`Celery(..., task_cls=...)` or `app.Task = ...`)."""
        if self._default_aware is None:
            apps = []
            for source, facts in list(self.index.parsed()):
                for name, value in facts.assigns.items():
                    if value[0] == "c" and value[1] and self.index.is_app(tuple(facts.module.split(".")) + (name,)):
                        apps.append((facts, name, value))
            aware = []
            for facts, name, value in apps:
                cls_value = dict((k, v) for k, v in value[3] if k is not None).get("task_cls")
                for op in facts.ops:
                    if op.kind == "assign" and op.target == (name, "Task"):
                        cls_value = op.value
                aware.append(cls_value is not None and self._class_value_aware(facts.module, cls_value))
            self._default_aware = bool(apps) and all(aware)
        return self._default_aware

    def _class_value_aware(self, module: str, value: tuple) -> bool:
        if value[0] == "r":
            return self._tenant_aware_class(self.index.resolve(module, value[1]))
        if value[0] == "s":
            return self._tenant_aware_class(tuple(value[1].replace(":", ".").split(".")))
        return False

    def restores_first(self, task: "TaskDef") -> bool:
        """The first statement (after a docstring) restores tenant context: a restore
        call, a `with <context manager>(...)` wrapping the rest of the body, or a call
        (or `return` of one) handing `tenant_id` to a project function that does."""
        fn = self.task_function(task)
        return fn is not None and self._restores_first(self.task_ref(task), fn, 0)

    def _restores_first(self, ref: tuple, fn: FunctionFacts, depth: int) -> bool:
        module = ref[0]
        first = fn.first
        if first[0] == "call":
            if self._names_match(self.resolve(module, fn, first[1]), self.settings.restore_functions):
                return True
            passes = ("r", ("tenant_id",)) in first[2] or any(v == ("r", ("tenant_id",)) for _, v in first[3])
            target = self.callee_function(module, fn, first[1]) if passes and depth < 3 else None
            callee = self.facts_of(target) if target is not None else None
            return callee is not None and self._restores_first(target, callee, depth + 1)
        if first[0] == "with":
            return first[6] and self._names_match(self.resolve(module, fn, first[1]), self.settings.context_managers)
        return False

    def restore_calls(self, task: "TaskDef") -> list[tuple]:
        """(callee, argument value, call span, argument span) of the task body's restore
        calls and of a leading `with <context manager>(...)`, except those inside a loop
        over tenants that restore the loop's tenant (a sweep)."""
        fn = self.task_function(task)
        if fn is None:
            return []
        calls = [r for r in fn.restores
                 if self._names_match(self.resolve(task.module, fn, r[0]), self.settings.restore_functions)]
        first = fn.first
        if first[0] == "with" and self._names_match(self.resolve(task.module, fn, first[1]),
                                                     self.settings.context_managers) and first[2]:
            calls.append((first[1], first[2][0], first[4], first[5]))
        targets = {loop.target for loop in fn.loops if loop.target}
        return [c for c in calls if not any(r[0] in targets for r in refs_of(c[1]))]

    # ------------------------------------------------------------------ enqueue sites
    def enqueue_sites(self) -> Iterator[tuple[SourceFile, FileFacts, EnqueueFacts, "TaskDef"]]:
        """Every enqueue site whose receiver resolves to a task, across the project.
        Files that only enqueue are parsed here, on demand: those that mention
        `tenant_id` or a tenant-scoped task's function name."""
        self._parse_deferred()
        for source, facts in list(self.index.parsed()):
            for site in facts.enqueues:
                task = self.enqueue_target(facts, site)
                if task is not None:
                    yield source, facts, site, task

    def _parse_deferred(self) -> None:
        if self._deferred_done:
            return
        self._deferred_done = True
        names = {b"tenant_id"}
        for task in self.index.all_tasks():
            if self.task_use(task) is not None:
                names.add(task.function.encode())
        self.index.parse_files_mentioning(tuple(names), among=self.index.enqueuing)

    def enqueue_target(self, facts: FileFacts, site: EnqueueFacts) -> "TaskDef | None":
        fn = None
        if site.function is not None:
            owner, _, name = site.function.rpartition(".")
            fn = self.function(facts.module, name, owner or None)
        qualified = self.resolve(facts.module, fn, site.receiver)
        found = self.index.split_definition(qualified)
        if found is None or len(found[1]) != 1:
            return None
        return self.index.task_object(found[0], found[1][0])

    def inside_spawner(self, site: EnqueueFacts) -> bool:
        spawners = {n.rsplit(".", 1)[-1] for n in self.settings.spawner_functions}
        return any(callee[-1] in spawners for callee in site.enclosing)


def non_string_tenant(value: tuple) -> str | None:
    """How a tenant_id value is evidently not a string (`x.id`, `x.pk`, `uuid4()`,
    `UUID(...)`, `get_current_tenant_id()`), or None."""
    if value[0] == "r" and len(value[1]) >= 2 and value[1][-1] in ("id", "pk"):
        return ".".join(value[1])
    if value[0] == "c" and value[1] and value[1][-1] in NON_STRING_CALLS:
        return ".".join(value[1]) + "()"
    return None
