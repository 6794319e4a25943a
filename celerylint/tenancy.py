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

from celerylint.facts import EnqueueFacts, FileFacts, FunctionFacts
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

    # ------------------------------------------------------------------ helpers
    def _names_match(self, qualified: tuple, names: tuple[str, ...]) -> bool:
        dotted = ".".join(qualified)
        return any(dotted == n or ("." not in n and qualified[-1] == n) for n in names)

    def resolve(self, module: str, fn: FunctionFacts | None, dotted: tuple) -> tuple:
        """Resolve a name used in a function body (its own imports first)."""
        if fn is not None and dotted[0] in fn.imports:
            return self.index.canonical(fn.imports[dotted[0]] + dotted[1:])
        return self.index.resolve(module, dotted)

    def function(self, module: str, name: str) -> FunctionFacts | None:
        facts = self.index.module_facts(module)
        if facts is None:
            return None
        for fn in facts.functions:
            if fn.name == name and not fn.nested:
                return fn
        return None

    def task_function(self, task: "TaskDef") -> FunctionFacts | None:
        return self.function(task.module, task.function) if task.kind != "class" else None

    # ------------------------------------------------------------------ models
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

    def function_use(self, module: str, name: str, depth: int = 0) -> TenantUse | None:
        """What makes the project function `module.name` tenant-scoped: its own model use
        or one of the project functions it calls (transitively, with a cycle guard)."""
        key = (module, name)
        if key in self._function_use:
            return self._function_use[key]
        self._function_use[key] = None
        fn = self.function(module, name)
        use = None
        if fn is not None:
            use = self._use_of(module, fn, depth)
        self._function_use[key] = use
        return use

    def _use_of(self, module: str, fn: FunctionFacts, depth: int) -> TenantUse | None:
        model = self.direct_use(module, fn)
        if model is not None:
            return TenantUse(model)
        if depth >= MAX_CALL_DEPTH:
            return None
        for callee in sorted(fn.calls):
            if callee[-1] in ("delay", "apply_async", "s", "si", "signature"):
                continue
            qualified = self.resolve(module, fn, callee)
            found = self.index.split_definition(qualified)
            if found is None or len(found[1]) != 1:
                continue
            target_module, (target_name,) = found
            if (target_module, target_name) == (module, fn.name):
                continue
            use = self.function_use(target_module, target_name, depth + 1)
            if use is not None:
                return TenantUse(use.model, (f"{target_module}.{target_name}",) + use.via)
        return None

    # ------------------------------------------------------------------ tasks
    def _listed(self, task: "TaskDef", patterns: tuple[str, ...]) -> bool:
        names = [f"{task.module}.{task.function}"] + ([task.name] if task.name else [])
        return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)

    def is_wrapper(self, task: "TaskDef") -> bool:
        """Calls a spawner, or loops over tenants enqueueing a task per tenant."""
        fn = self.task_function(task)
        if fn is None:
            return False
        return fn.spawns or bool(self.tenant_loops(task))

    def tenant_loops(self, task: "TaskDef") -> list:
        fn = self.task_function(task)
        if fn is None:
            return []
        return [loop for loop in fn.loops if loop.enqueues and self._iterates_tenants(task.module, fn, loop)]

    def _iterates_tenants(self, module: str, fn: FunctionFacts, loop) -> bool:
        for ref in loop.iter_refs:
            if ref[-1] == "get_tenant_model" or "get_tenant_model" in ref:
                return True
            for cut in range(1, len(ref)):
                if ref[cut] in MANAGER_ATTRIBUTES or ref[cut] in ("filter", "all", "iterator"):
                    prefix = ref[:cut]
                    if prefix[-1] == self.tenant_model.rsplit(".", 1)[-1] \
                            or self.is_tenant_model_name(self.resolve(module, fn, prefix)):
                        return True
        return False

    def task_use(self, task: "TaskDef") -> TenantUse | None:
        """Why a task is tenant-scoped, or None (global tasks and wrappers are not)."""
        if self._listed(task, self.settings.global_tasks):
            return None
        if self._listed(task, self.settings.tenant_tasks):
            return TenantUse("listed in tenant-tasks")
        if task.kind == "class" or self.is_wrapper(task):
            return None
        return self.function_use(task.module, task.function)

    def exempt_by_base(self, task: "TaskDef") -> bool:
        """A task whose base (or app's default task class) is in `tenant-task-bases`
        gets tenant_id from message headers and its context from the base class."""
        base = task.options.get("base")
        if base is not None and base[0] == "r" and self._tenant_aware_class(self.index.resolve(task.module, base[1])):
            return True
        return self._app_default_is_tenant_aware()

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
        call, or a `with <context manager>(...)` wrapping the rest of the body."""
        fn = self.task_function(task)
        if fn is None:
            return False
        first = fn.first
        if first[0] == "call":
            return self._names_match(self.resolve(task.module, fn, first[1]), self.settings.restore_functions)
        if first[0] == "with":
            return first[6] and self._names_match(self.resolve(task.module, fn, first[1]),
                                                   self.settings.context_managers)
        return False

    def restore_calls(self, task: "TaskDef") -> list[tuple]:
        fn = self.task_function(task)
        if fn is None:
            return []
        calls = [r for r in fn.restores
                 if self._names_match(self.resolve(task.module, fn, r[0]), self.settings.restore_functions)]
        first = fn.first
        if first[0] == "with" and self._names_match(self.resolve(task.module, fn, first[1]),
                                                     self.settings.context_managers) and first[2]:
            calls.append((first[1], first[2][0], first[4], first[5]))
        return calls

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
        if site.function is not None and "." not in site.function:
            fn = self.function(facts.module, site.function)
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
