"""Tenant-scope inference (RULES.md §1): which tasks are tenant-scoped and why, which
are wrappers, whether a task gets its tenant context, and where tasks are enqueued.

The parts live beside this module: `calls` (functions and what calls reach), `scope`
(tenant-scoped models and their uses), `wrappers`, `restore` (context restored) and
`enqueues`. `Tenancy` combines them into the questions the TEN rules ask. Everything is
derived from the facts through the index's name resolution; what cannot be resolved is
unknown and never makes a task tenant-scoped.
"""

from __future__ import annotations

import fnmatch
from typing import Iterator

from celerylint.facts.model import EnqueueFacts, FileFacts, FunctionFacts, LoopFacts, RestoreCall, SourceFile
from celerylint.project.django import DjangoProject
from celerylint.project.index import ProjectIndex
from celerylint.project.tasks import TaskDef, TaskRegistry
from celerylint.project.tenancy.calls import CallGraph
from celerylint.project.tenancy.enqueues import EnqueueSites, non_string_tenant
from celerylint.project.tenancy.mechanisms import MechanismFinder, Mechanisms
from celerylint.project.tenancy.restore import ContextRestore
from celerylint.project.tenancy.scope import TenantScope, TenantUse
from celerylint.project.tenancy.wrappers import Wrappers

__all__ = ["Tenancy", "TenantUse", "non_string_tenant"]


class Tenancy:
    def __init__(self, index: ProjectIndex, tasks: TaskRegistry, tenancy_files: set[str] | None = None):
        self.index = index
        self.settings = index.settings
        self.calls = CallGraph(index)
        self.django = DjangoProject(index)
        self.mechanisms = MechanismFinder(index, tasks, self.calls, self.django)
        self.scope = TenantScope(index, self.calls, tenancy_files, self.mechanisms, self.django)
        self.enqueues = EnqueueSites(index, tasks, self.calls, lambda task: self.task_use(task) is not None)
        self.wrappers = Wrappers(self.calls, self.scope, self.enqueues)
        self.restore = ContextRestore(index, tasks, self.calls, self.mechanisms, self.scope)
        self._uses: dict[int, TenantUse | None] = {}

    # ------------------------------------------------------------------ tasks
    def task_function(self, task: TaskDef) -> FunctionFacts | None:
        """The function a task runs: the decorated function, or a Task class's `run`."""
        return self.calls.task_function(task)

    def models_exist(self) -> bool:
        return self.scope.models_exist()

    def task_use(self, task: TaskDef) -> TenantUse | None:
        """Why a task is tenant-scoped, or None (global tasks, wrappers and sweeps that
        restore each tenant's context themselves are not)."""
        key = id(task)  # task definitions live as long as the run
        if key not in self._uses:
            self._uses[key] = self._task_use(task)
        return self._uses[key]

    def _task_use(self, task: TaskDef) -> TenantUse | None:
        if not self.scope.models_exist() or _listed(task, self.settings.global_tasks):
            return None
        if _listed(task, self.settings.tenant_tasks):
            return TenantUse("listed in tenant-tasks")
        if self.task_function(task) is None or self.wrappers.is_wrapper(task) or self.wrappers.sweeps_tenants(task) \
                or self.restore.global_first(task):
            return None
        return self.scope.function_use(self.calls.task_ref(task))

    def found(self) -> Mechanisms:
        """The project's tenancy mechanisms (mode, app-wide restores, how the tenant
        travels)."""
        return self.mechanisms.found()

    def is_wrapper(self, task: TaskDef) -> bool:
        return self.wrappers.is_wrapper(task)

    def verdict(self, task: TaskDef) -> dict:
        """Whether a task is tenant-scoped and how it gets its tenant (or why not)."""
        if _listed(task, self.settings.global_tasks):
            return {"scoped": False, "why": "listed in global-tasks"}
        if self.task_function(task) is None:
            return {"scoped": False, "why": "its function is not found"}
        if self.wrappers.is_wrapper(task):
            return {"scoped": False, "why": "a wrapper: spawns a task per tenant"}
        if self.wrappers.sweeps_tenants(task):
            return {"scoped": False, "why": "a sweep: restores each tenant's context in a loop"}
        if self.restore.global_first(task):
            return {"scoped": False, "why": "explicitly global: its first statement clears the tenant"}
        use = self.task_use(task)
        if use is None:
            return {"scoped": False, "why": "uses no tenant-scoped model"}
        if self.restore.context_provided(task):
            how = "provided: " + (self.found().app_wide[0].kind if self.found().app_wide
                                  else "a restoring decorator or tenant-aware task class")
        elif self.restore.restores_first(task):
            how = "restored first, or every tenant use is inside a tenant context manager"
        else:
            how = "NOT restored"
        return {"scoped": True, "why": use.describe(), "context": how}

    def tenant_loops(self, task: TaskDef) -> list[tuple[str, LoopFacts]]:
        return self.wrappers.tenant_loops(task)

    def context_provided(self, task: TaskDef) -> bool:
        return self.restore.context_provided(task)

    def carried(self, module: str, site: EnqueueFacts, task: TaskDef) -> bool:
        """The enqueue carries the task's tenant without a `tenant_id`: the publish
        captures it, the call is inside a context manager that sets it, or it hands
        over a name an app-wide handler reads the tenant from."""
        if self.restore.captured_on_publish(task) or self.restored_from_other(task) \
                or self.enqueues.given_positionally(site, task):
            return True
        found = self.mechanisms.found()
        if site.keys & (found.travel_names - {"tenant_id"}):
            return True
        return any(self.mechanisms.is_manager(module, None, callee) for callee in site.guards)

    def finds_its_tenants(self, task: TaskDef) -> bool:
        """The task sets the tenants itself, not from its caller: every statement touching
        tenant data (in it and what it calls) runs inside a context manager that sets the
        tenant, and its first statement restores none from its arguments (a sweep in a
        helper; not `with schema_context(schema_name):` around the body)."""
        fn = self.task_function(task)
        if fn is None:
            return False
        ref = self.calls.task_ref(task)
        return self.restore.guarded(ref, fn) and not self.restore.restores_first_statement(ref, fn)

    def restored_from_other(self, task: TaskDef) -> bool:
        """The task restores its own context first, through a detected setter or context
        manager, from a parameter other than `tenant_id` (`with schema_context(schema)`,
        `with LocalTenant(tenant)`): that parameter is how its tenant travels."""
        fn = self.task_function(task)
        return fn is not None and ("tenant_id",) not in fn.refs and not self.restore.context_provided(task) \
            and self.restore.restores_first(task) and not self.restore.convention_applies(task)

    def convention_applies(self, task: TaskDef) -> bool:
        return self.restore.convention_applies(task)

    def restores_first(self, task: TaskDef) -> bool:
        return self.restore.restores_first(task)

    def restore_calls(self, task: TaskDef) -> list[RestoreCall]:
        return self.restore.restore_calls(task)

    # ------------------------------------------------------------------ enqueue sites
    def enqueue_sites(self) -> Iterator[tuple[SourceFile, FileFacts, EnqueueFacts, TaskDef]]:
        return self.enqueues.sites()

    def inside_spawner(self, site: EnqueueFacts) -> bool:
        return self.enqueues.inside_spawner(site)


def _listed(task: TaskDef, patterns: tuple[str, ...]) -> bool:
    names = [f"{task.module}.{task.function}"] + ([task.name] if task.name else [])
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)


def report(tenancy: Tenancy, tasks: TaskRegistry) -> dict:
    """What the tenant analysis concluded, for `celerylint tenancy`: the mode and the
    mechanisms found (where, why), tenant models and tenant-scoped models (why), the
    setters and context managers seen, how the tenant travels, and every task's verdict."""
    found = tenancy.found()
    scope = tenancy.scope
    active = scope.possible and scope.models_exist()
    models, tenant_models = [], {tenancy.settings.tenant_model}
    targets, names = scope.tenant_models()
    tenant_models.update(".".join(q) for q in targets)
    tenant_models.update(names)
    for source, facts in list(tenancy.index.parsed()):
        for cls in facts.classes:
            if cls.nested:
                continue
            qualified = tuple(facts.module.split(".")) + (cls.name,)
            if not scope.is_model(qualified):
                continue
            if scope.is_tenant_model_name(qualified):
                tenant_models.add(".".join(qualified))
                continue
            reason = scope.model_reason(qualified) if active else None
            if reason is not None:
                models.append({"model": ".".join(qualified), "path": source.rel, "why": reason})
    verdicts = []
    for task in tasks.all() if active else ():
        verdicts.append({"task": task.name or f"{task.module}.{task.function}", "path": task.rel,
                         "line": task.def_span[0] if task.def_span else None, **tenancy.verdict(task)})
    tenancy.mechanisms.setter_names()  # every project setter and manager, for the listing
    return {
        "mode": found.mode,
        "active": active,
        "mechanisms": [vars(f) for f in found.app_wide + found.tenant_aware_beat + found.notes],
        "captures_on_publish": found.captures_on_publish,
        "tenant_travels_as": sorted(found.travel_names),
        "tenant_models": sorted(tenant_models),
        "tenant_scoped_models": sorted(models, key=lambda m: m["model"]),
        "setters": [{"function": k, "why": v} for k, v in sorted(tenancy.mechanisms.seen_setters.items())],
        "context_managers": [{"manager": k, "why": v} for k, v in sorted(tenancy.mechanisms.seen_managers.items())],
        "tasks": sorted(verdicts, key=lambda v: (v["path"], v["line"] or 0)),
    }
