"""Wrapper tasks: tasks that run for all tenants and spawn a task per tenant (a spawner
call, a loop over tenants that enqueues, or a fan-out over per-tenant rows passing each
one's tenant_id), in their own body or in a project function they call; and sweeps,
which loop over tenants restoring each one's context themselves."""

from __future__ import annotations

from celerylint.facts.model import FunctionFacts, LoopFacts
from celerylint.project.tasks import TaskDef
from celerylint.project.tenancy.calls import CallGraph, FunctionRef
from celerylint.project.tenancy.enqueues import EnqueueSites
from celerylint.project.tenancy.scope import MANAGER_ATTRIBUTES, TenantScope


class Wrappers:
    def __init__(self, calls: CallGraph, scope: TenantScope, enqueues: EnqueueSites):
        self.calls = calls
        self.scope = scope
        self.enqueues = enqueues
        self._spawning: dict[tuple, bool] = {}

    def is_wrapper(self, task: TaskDef) -> bool:
        return self.scope.possible and self._spawns(self.calls.task_ref(task), 0)

    def _spawns(self, ref: FunctionRef, depth: int) -> bool:
        if ref in self._spawning:
            return self._spawning[ref]
        self._spawning[ref] = False
        fn = self.calls.facts_of(ref)
        result = False
        if fn is not None:
            result = fn.spawns or any(
                loop.fans_out or (loop.enqueues and (self.iterates_tenants(ref.module, fn, loop)
                                                     or self._fans_out_positionally(ref, loop)))
                for loop in fn.loops)
            if not result and depth < 3:
                result = any(self._spawns(target, depth + 1)
                             for target in (self.calls.callee_function(ref.module, fn, c) for c in sorted(fn.calls))
                             if target is not None and target != ref)
        self._spawning[ref] = result
        return result

    def _fans_out_positionally(self, ref: FunctionRef, loop: LoopFacts) -> bool:
        """An enqueue inside the loop hands its task the tenant positionally (a fan-out
        over per-tenant rows: `task.apply_async(args=[row.tenant_id, row.id])`)."""
        facts = self.calls.index.module_facts(ref.module)
        if facts is None:
            return False
        name = f"{ref.owner}.{ref.name}" if ref.owner else ref.name
        outer = facts.spans[loop.span]
        for site in facts.enqueues:
            inner = facts.spans[site.span]
            if site.function == name and outer[:2] <= inner[:2] and inner[2:] <= outer[2:]:
                task = self.enqueues.target(facts, site)
                if task is not None and self.enqueues.given_positionally(site, task):
                    return True
        return False

    def tenant_loops(self, task: TaskDef) -> list[tuple[str, LoopFacts]]:
        """(module, loop) for every loop over tenants that enqueues, in the task and in
        the project functions it calls (TEN007 reports them where they are)."""
        found: list[tuple[str, LoopFacts]] = []
        seen: set = set()
        if not self.scope.possible:
            return found

        def walk(ref: FunctionRef, depth: int) -> None:
            if ref in seen or depth > 3:
                return
            seen.add(ref)
            fn = self.calls.facts_of(ref)
            if fn is None:
                return
            found.extend((ref.module, loop) for loop in fn.loops
                         if loop.enqueues and self.iterates_tenants(ref.module, fn, loop))
            for callee in sorted(fn.calls):
                target = self.calls.callee_function(ref.module, fn, callee)
                if target is not None:
                    walk(target, depth + 1)

        walk(self.calls.task_ref(task), 0)
        return found

    def sweeps_tenants(self, task: TaskDef) -> bool:
        """Loops over tenants doing each tenant's work itself (restoring its context in
        the loop, or filtering by it: `for tenant in Tenant.objects.all():
        Reminder.objects.filter(tenant=tenant)`): the task works across tenants by
        design and handles tenancy itself."""
        fn = self.calls.task_function(task)
        return fn is not None and any(self.iterates_tenants(task.module, fn, loop) for loop in fn.loops)

    def iterates_tenants(self, module: str, fn: FunctionFacts, loop: LoopFacts) -> bool:
        """The loop iterates tenants: `Tenant.objects...`, a name bound to it, or
        `get_tenant_model().objects...`."""
        tenant_model = self.scope.settings.tenant_model.rsplit(".", 1)[-1]
        for ref in loop.iter_refs:
            if "get_tenant_model" in ref:
                return True
            for cut in range(1, len(ref)):
                if ref[cut] in MANAGER_ATTRIBUTES or ref[cut] in ("filter", "all", "iterator"):
                    prefix = ref[:cut]
                    if prefix[-1] == tenant_model \
                            or self.scope.is_tenant_model_name(self.calls.resolve(module, fn, prefix)):
                        return True
        return False
