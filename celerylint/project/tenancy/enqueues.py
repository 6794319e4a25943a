"""Where tasks are enqueued (`.delay`, `.apply_async`, `.s`, `.si`, `.signature`) and
how the tenant travels with them."""

from __future__ import annotations

from typing import Callable, Iterator

from celerylint.facts.model import CallExpr, EnqueueFacts, FileFacts, Ref, SourceFile, Value
from celerylint.project.index import ProjectIndex
from celerylint.project.tasks import TaskDef, TaskRegistry
from celerylint.project.tenancy.calls import CallGraph

NON_STRING_CALLS = frozenset({"uuid4", "uuid1", "UUID", "get_current_tenant_id"})


class EnqueueSites:
    def __init__(self, index: ProjectIndex, tasks: TaskRegistry, calls: CallGraph,
                 tenant_scoped: Callable[[TaskDef], bool]):
        self.index = index
        self.tasks = tasks
        self.calls = calls
        self.tenant_scoped = tenant_scoped
        self._deferred_done = False

    def sites(self) -> Iterator[tuple[SourceFile, FileFacts, EnqueueFacts, TaskDef]]:
        """Every enqueue site whose receiver resolves to a task, across the project.
        Files that only enqueue are parsed here, on demand: those that mention
        `tenant_id` or a tenant-scoped task's function name."""
        self._parse_deferred()
        for source, facts in list(self.index.parsed()):
            for site in facts.enqueues:
                task = self.target(facts, site)
                if task is not None:
                    yield source, facts, site, task

    def _parse_deferred(self) -> None:
        if self._deferred_done:
            return
        self._deferred_done = True
        names = {b"tenant_id"}
        for task in self.tasks.all():
            if self.tenant_scoped(task):
                names.add(task.function.encode())
        self.index.parse_files_mentioning(tuple(names), among=self.index.enqueuing)

    def target(self, facts: FileFacts, site: EnqueueFacts) -> TaskDef | None:
        fn = None
        if site.function is not None:
            owner, _, name = site.function.rpartition(".")
            fn = self.calls.function(facts.module, name, owner or None)
        found = self.index.split_definition(self.calls.resolve(facts.module, fn, site.receiver))
        if found is None or len(found[1]) != 1:
            return None
        return self.tasks.task_object(found[0], found[1][0])

    def given_positionally(self, site: EnqueueFacts, task: TaskDef) -> bool:
        """`tenant_id` is a positional parameter of the task and the call passes that
        many positional arguments (`run_one.apply_async(args=[d.tenant_id, d.id])`)."""
        fn = self.calls.task_function(task)
        if fn is None or site.positional < 0:
            return False
        params = [p for p in fn.params if p.kind in ("pos", "posonly")]
        bound = task.options.get("bind")
        if task.kind == "class" or (bound is not None and getattr(bound, "value", None) is True):
            params = params[1:]
        index = next((i for i, p in enumerate(params) if p.name == "tenant_id"), None)
        return index is not None and site.positional > index

    def inside_spawner(self, site: EnqueueFacts) -> bool:
        spawners = {n.rsplit(".", 1)[-1] for n in self.index.settings.spawner_functions}
        return any(callee[-1] in spawners for callee in site.enclosing)


def non_string_tenant(value: Value) -> str | None:
    """How a tenant_id value is evidently not a string (`x.id`, `x.pk`, `uuid4()`,
    `UUID(...)`, `get_current_tenant_id()`), or None."""
    if type(value) is Ref and len(value.dotted) >= 2 and value.dotted[-1] in ("id", "pk"):
        return ".".join(value.dotted)
    if type(value) is CallExpr and value.callee and value.callee[-1] in NON_STRING_CALLS:
        return ".".join(value.callee) + "()"
    return None
