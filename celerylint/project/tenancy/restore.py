"""Whether a task gets its tenant context: restored by its own first statement, by a
restoring decorator, or by a tenant-aware task base or app default task class (RULES.md
§1, "Context restored")."""

from __future__ import annotations

from celerylint.facts.model import FunctionFacts, Ref, RestoreCall, Str, Value, refs_of
from celerylint.project.index import ProjectIndex
from celerylint.project.tasks import TaskDef, TaskRegistry
from celerylint.project.tenancy.calls import CallGraph, FunctionRef, names_match

TENANT_ID = Ref(("tenant_id",))


class ContextRestore:
    def __init__(self, index: ProjectIndex, tasks: TaskRegistry, calls: CallGraph):
        self.index = index
        self.tasks = tasks
        self.calls = calls
        self.settings = index.settings
        self._default_aware: bool | None = None

    def context_provided(self, task: TaskDef) -> bool:
        """Something else hands the task its tenant: a base in `tenant-task-bases` (or
        the app's default task class is one: tenant_id travels in message headers), or
        a decorator that restores the context (named in `restore-functions` /
        `context-managers`, or a project decorator that calls one)."""
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
        return decorator is not None and self._restores_anywhere(target.module, decorator)

    def _restores_anywhere(self, module: str, fn: FunctionFacts) -> bool:
        if any(names_match(self.calls.resolve(module, fn, r.callee), self.settings.restore_functions)
               for r in fn.restores):
            return True
        return any(names_match(self.calls.resolve(module, fn, c), self.settings.context_managers) for c in fn.calls)

    def _tenant_aware_class(self, qualified: tuple, depth: int = 0) -> bool:
        if names_match(qualified, self.settings.tenant_task_bases):
            return True
        found = self.index.find_class(qualified)
        if found is None or depth > 10:
            return False
        module, cls = found
        return any(type(b) is Ref and self._tenant_aware_class(self.index.resolve(module, b.dotted), depth + 1)
                   for b in cls.bases)

    def _app_default_is_tenant_aware(self) -> bool:
        """Every Celery app of the project has a tenant-aware default task class
        (`Celery(..., task_cls=...)` or `app.Task = ...`)."""
        if self._default_aware is None:
            apps = self.tasks.apps()
            aware = []
            for facts, name, call in apps:
                cls_value = next((k.value for k in call.kwargs if k.name == "task_cls"), None)
                for op in facts.ops:
                    if op.kind == "assign" and op.target == (name, "Task"):
                        cls_value = op.value
                aware.append(cls_value is not None and self._class_value_aware(facts.module, cls_value))
            self._default_aware = bool(apps) and all(aware)
        return self._default_aware

    def _class_value_aware(self, module: str, value: Value) -> bool:
        if type(value) is Ref:
            return self._tenant_aware_class(self.index.resolve(module, value.dotted))
        if type(value) is Str:
            return self._tenant_aware_class(tuple(value.text.replace(":", ".").split(".")))
        return False

    def restores_first(self, task: TaskDef) -> bool:
        """The first statement (after a docstring) restores tenant context: a restore
        call, a `with <context manager>(...)` wrapping the rest of the body, or a call
        (or `return` of one) handing `tenant_id` to a project function that does."""
        fn = self.calls.task_function(task)
        return fn is not None and self._restores_first(self.calls.task_ref(task), fn, 0)

    def _restores_first(self, ref: FunctionRef, fn: FunctionFacts, depth: int) -> bool:
        module = ref.module
        first = fn.first
        if first.kind == "call":
            if names_match(self.calls.resolve(module, fn, first.callee), self.settings.restore_functions):
                return True
            passes = TENANT_ID in first.args or any(k.value == TENANT_ID for k in first.kwargs)
            target = self.calls.callee_function(module, fn, first.callee) if passes and depth < 3 else None
            callee = self.calls.facts_of(target) if target is not None else None
            return callee is not None and self._restores_first(target, callee, depth + 1)
        if first.kind == "with":
            return first.wraps_rest and names_match(self.calls.resolve(module, fn, first.callee),
                                                    self.settings.context_managers)
        return False

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
