"""Functions as the tenant analysis walks them: the function a task runs, the project
function or method a call reaches, and names resolved inside a function body.

A function is referred to by a `FunctionRef`.
"""

from __future__ import annotations

from typing import NamedTuple

from celerylint.facts.model import FunctionFacts
from celerylint.project.index import ProjectIndex
from celerylint.project.tasks import TaskDef

class FunctionRef(NamedTuple):
    module: str
    owner: str | None  # the class, for a method
    name: str


def names_match(qualified: tuple, names: tuple[str, ...]) -> bool:
    """A configured name matches a qualified name by its dotted form, or by its last
    part when it has no dot."""
    dotted = ".".join(qualified)
    return any(dotted == n or ("." not in n and qualified[-1] == n) for n in names)


def label(ref: FunctionRef) -> str:
    return f"{ref.module}.{ref.owner}.{ref.name}" if ref.owner else f"{ref.module}.{ref.name}"


class CallGraph:
    def __init__(self, index: ProjectIndex):
        self.index = index
        self._callees: dict[tuple, FunctionRef | None] = {}

    def resolve(self, module: str, fn: FunctionFacts | None, dotted: tuple) -> tuple:
        """Resolve a name used in a function body (its own imports first)."""
        return self.index.resolve_in(module, fn.imports if fn is not None else {}, dotted)

    def function(self, module: str, name: str, owner: str | None = None) -> FunctionFacts | None:
        """A module-level function, or with `owner` a method of a module-level class."""
        facts = self.index.module_facts(module)
        if facts is None:
            return None
        for fn in facts.functions:
            if fn.name == name and fn.owner == owner and (owner is not None or not fn.nested):
                return fn
        return None

    def facts_of(self, ref: FunctionRef) -> FunctionFacts | None:
        return self.function(ref.module, ref.name, ref.owner)

    @staticmethod
    def task_ref(task: TaskDef) -> FunctionRef:
        """The function a task runs: the decorated function, or a Task class's `run`."""
        if task.kind == "class":
            return FunctionRef(task.module, task.function, "run")
        return FunctionRef(task.module, None, task.function)

    def task_function(self, task: TaskDef) -> FunctionFacts | None:
        return self.facts_of(self.task_ref(task))

    def callee_function(self, module: str, fn: FunctionFacts, callee: tuple) -> FunctionRef | None:
        """The project function or method a call reaches: `helper()`, `mod.helper()`,
        `Service.method()`, `Service(...).method()`, `self.method()` in a method."""
        key = (module, id(fn), callee)  # function facts live as long as the run
        if key not in self._callees:
            self._callees[key] = self._callee_function(module, fn, callee)
        return self._callees[key]

    def _callee_function(self, module: str, fn: FunctionFacts, callee: tuple) -> FunctionRef | None:
        if "()" in callee:
            if len(callee) < 3 or callee[-2] != "()":
                return None
            found = self.index.find_class(self.resolve(module, fn, callee[:-2]))
            return FunctionRef(found[0], found[1].name, callee[-1]) if found else None
        if callee[0] in ("self", "cls") and len(callee) == 2 and fn.owner:
            return FunctionRef(module, fn.owner, callee[1])
        found = self.index.split_definition(self.resolve(module, fn, callee))
        if found is None:
            return None
        target_module, rest = found
        if len(rest) == 1:
            return FunctionRef(target_module, None, rest[0])
        if len(rest) == 2 and self.index.find_class(tuple(target_module.split(".")) + rest[:1]) is not None:
            return FunctionRef(target_module, rest[0], rest[1])
        return None
