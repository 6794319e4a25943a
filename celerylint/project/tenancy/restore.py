"""Whether a task gets its tenant context: restored by its own first statement (a setter
call, or a context manager around the rest of the body or around every statement that
touches tenant data), by a restoring decorator, by a tenant-aware task base or app
default task class, or app-wide (RULES.md §1, "Context restored", "Tenancy mechanisms").
What sets a tenant is the mechanisms' call (`MechanismFinder`)."""

from __future__ import annotations

from celerylint.facts.model import FunctionFacts, Ref, RestoreCall, Str, Value, refs_of
from celerylint.project.index import ProjectIndex
from celerylint.project.tasks import TaskDef, TaskRegistry
from celerylint.project.tenancy.calls import CallGraph, FunctionRef, names_match
from celerylint.project.tenancy.mechanisms import MechanismFinder, clears
from celerylint.project.tenancy.scope import TenantScope

TENANT_ID = Ref(("tenant_id",))


class ContextRestore:
    def __init__(self, index: ProjectIndex, tasks: TaskRegistry, calls: CallGraph, mechanisms: MechanismFinder,
                 scope: TenantScope):
        self.index = index
        self.tasks = tasks
        self.calls = calls
        self.mechanisms = mechanisms
        self.scope = scope
        self.settings = index.settings
        self._default_aware: dict[bool, bool] = {}

    def captured_on_publish(self, task: TaskDef) -> bool:
        """Enqueueing the task carries the publisher's tenant by itself: the task's base
        or the app's default task class is a `tenant-task-bases` class (or a project
        class overriding `apply_async`), or the app captures it (tenant-schemas-celery,
        a before_task_publish handler). A restore that captures nothing does not."""
        if self.mechanisms.found().captures_on_publish:
            return True
        base = task.options.get("base")
        if type(base) is Ref and self._tenant_aware_class(self.index.resolve(task.module, base.dotted), publish=True):
            return True
        return self._app_default_is_tenant_aware(publish=True)

    def context_provided(self, task: TaskDef) -> bool:
        """Something else hands the task its tenant: a base in `tenant-task-bases` (or
        the app's default task class is one: tenant_id travels in message headers), or
        a decorator that restores the context (named in `restore-functions` /
        `context-managers`, or a project decorator that sets one), or an app-wide
        restore (a task_prerun handler, a tenant-aware app, django-omnitenant)."""
        if self.mechanisms.found().app_wide:
            return True
        base = task.options.get("base")
        if type(base) is Ref and self._tenant_aware_class(self.index.resolve(task.module, base.dotted)):
            return True
        fn = self.calls.task_function(task)
        if fn is not None and any(self._restoring_decorator(task.module, fn, d.dotted) for d in fn.decorators):
            return True
        return self._app_default_is_tenant_aware()

    def _restoring_decorator(self, module: str, fn: FunctionFacts, dotted: tuple | None) -> bool:
        if dotted is None:
            return False
        qualified = self.calls.resolve(module, fn, dotted)
        if names_match(qualified, self.settings.restore_functions + self.settings.context_managers):
            return True
        target = self.calls.callee_function(module, fn, dotted)
        decorator = self.calls.facts_of(target) if target is not None else None
        return decorator is not None and (self._restores_anywhere(target.module, decorator)
                                          or self.mechanisms.setter_function(target, within=True))

    def _restores_anywhere(self, module: str, fn: FunctionFacts) -> bool:
        if any(names_match(self.calls.resolve(module, fn, r.callee), self.settings.restore_functions)
               for r in fn.restores):
            return True
        return any(names_match(self.calls.resolve(module, fn, c), self.settings.context_managers) for c in fn.calls)

    def _tenant_aware_class(self, qualified: tuple, publish: bool = False) -> bool:
        """A `tenant-task-bases` class or a subclass; with `publish`, also a project class
        overriding `apply_async`, else one whose `__call__`/`before_start` sets a tenant."""
        def aware(q: tuple) -> bool:
            if names_match(q, self.settings.tenant_task_bases):
                return True
            found = self.index.find_class(q) if publish else None
            return found is not None and self.calls.function(found[0], "apply_async", found[1].name) is not None

        return self.index.inherits(qualified, aware) or (not publish and self.mechanisms.restoring_class(qualified))

    def _app_default_is_tenant_aware(self, publish: bool = False) -> bool:
        """Every Celery app of the project has a tenant-aware default task class
        (`Celery(..., task_cls=...)` or `app.Task = ...`)."""
        if publish not in self._default_aware:
            apps = self.tasks.apps()
            aware = []
            for facts, name, call in apps:
                cls_value = next((k.value for k in call.kwargs if k.name == "task_cls"), None)
                for op in facts.ops:
                    if op.kind == "assign" and op.target == (name, "Task"):
                        cls_value = op.value
                aware.append(cls_value is not None and self._class_value_aware(facts.module, cls_value, publish))
            self._default_aware[publish] = bool(apps) and all(aware)
        return self._default_aware[publish]

    def _class_value_aware(self, module: str, value: Value, publish: bool) -> bool:
        if type(value) is Ref:
            return self._tenant_aware_class(self.index.resolve(module, value.dotted), publish=publish)
        if type(value) is Str:
            return self._tenant_aware_class(tuple(value.text.replace(":", ".").split(".")), publish=publish)
        return False

    def restores_first(self, task: TaskDef) -> bool:
        """The first statement (after a docstring, and after up to three lookups such as
        `tenant = Tenant.objects.get(pk=tenant_id)`) sets the tenant context: a setter
        call, a `with <context manager>(...)` wrapping the rest of the body, or a call
        (or `return` of one) handing `tenant_id` to a project function that does; or
        every statement touching tenant data is inside such a `with`."""
        fn = self.calls.task_function(task)
        if fn is None:
            return False
        ref = self.calls.task_ref(task)
        return self._restores_first(ref, fn, 0) or self.guarded(ref, fn)

    def _restores_first(self, ref: FunctionRef, fn: FunctionFacts, depth: int) -> bool:
        module = ref.module
        first = fn.first
        if first.lookups and self.scope.use_within(ref, fn, first.lookups, first.lookups) is not None:
            return False  # the statements before it already touch tenant data
        if first.kind == "call":
            argument = first.args[0] if first.args else None
            if names_match(self.calls.resolve(module, fn, first.callee), self.settings.restore_functions) \
                    or self.mechanisms.sets_tenant(module, fn, first.callee, argument):
                return True
            passes = TENANT_ID in first.args or any(k.value == TENANT_ID for k in first.kwargs)
            target = self.calls.callee_function(module, fn, first.callee) if passes and depth < 3 else None
            callee = self.calls.facts_of(target) if target is not None else None
            return callee is not None and self._restores_first(target, callee, depth + 1)
        if first.kind == "with":
            return first.wraps_rest and (
                names_match(self.calls.resolve(module, fn, first.callee), self.settings.context_managers)
                or self.mechanisms.is_manager(module, fn, first.callee, first.args))
        return False

    def restores_first_statement(self, ref: FunctionRef, fn: FunctionFacts) -> bool:
        return self._restores_first(ref, fn, 0)

    def guarded(self, ref: FunctionRef, fn: FunctionFacts) -> bool:
        """Every statement that touches tenant data, in the task and in the project
        functions it calls, is inside a `with` of a context manager that sets the
        tenant (`with rls_transaction(tenant_id): ...`)."""
        return self.scope.function_use(ref, exposed=True) is None and self.scope.function_use(ref) is not None

    def convention_applies(self, task: TaskDef) -> bool:
        """The `*, tenant_id=None` convention (TEN002) is the explicit-restore pattern's:
        it applies unless the task gets its tenant from another mechanism (a restoring
        decorator, base or app-wide restore, or a detected setter or context manager
        that is not a `restore-functions` / `context-managers` entry)."""
        if self.context_provided(task):
            return False
        fn = self.calls.task_function(task)
        if fn is None or not self.restores_first(task):
            return True
        first = fn.first
        configured = self.settings.restore_functions if first.kind == "call" else self.settings.context_managers
        return first.kind in ("call", "with") and names_match(self.calls.resolve(task.module, fn, first.callee),
                                                             configured)

    def global_first(self, task: TaskDef) -> bool:
        """The task explicitly runs with no tenant: its first statement clears the
        context (`set_current_tenant(None)`, `with schema_context("public")`), or it is a
        `with` around the rest of the body (`with transaction.atomic():`) and every setter
        call of the body clears."""
        fn = self.calls.task_function(task)
        if fn is None or fn.first.kind not in ("call", "with"):
            return False
        first = fn.first
        probe = Str("t")
        if first.args and clears(first.args[0]):
            qualified = self.calls.resolve(task.module, fn, first.callee)
            if first.kind == "call":
                return names_match(qualified, self.settings.restore_functions) \
                    or self.mechanisms.sets_tenant(task.module, fn, first.callee, probe)
            return self.mechanisms.is_manager(task.module, fn, first.callee, (probe,))
        if first.kind != "with" or not first.wraps_rest:
            return False
        setters = [r for r in fn.restores if self.mechanisms.sets_tenant(task.module, fn, r.callee, probe)]
        return bool(setters) and all(clears(r.argument) for r in setters)

    def restore_calls(self, task: TaskDef) -> list[RestoreCall]:
        """The task body's restore calls and a leading `with <context manager>(...)`,
        except those inside a loop over tenants that restore the loop's tenant (a sweep)."""
        fn = self.calls.task_function(task)
        if fn is None:
            return []
        calls = [r for r in fn.restores
                 if names_match(self.calls.resolve(task.module, fn, r.callee), self.settings.restore_functions)]
        first = fn.first
        if first.kind == "with" and first.args and names_match(self.calls.resolve(task.module, fn, first.callee),
                                                               self.settings.context_managers):
            calls.append(RestoreCall(first.callee, first.args[0], first.span, first.arg_span))
        targets = {loop.target for loop in fn.loops if loop.target}
        return [c for c in calls if not any(r[0] in targets for r in refs_of(c.argument))]
