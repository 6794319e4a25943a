"""Which of the project's own helpers a fix should call (issue 11, RULES.md §2 TEN003 /
TEN007): `fix_helper(project, rel, kind)` is the one place that decides.

A fix must never change which tenant a task runs as, so it uses the restore function,
context manager or spawner the project already uses, in this order:

1. a name the file already binds (imported or defined there) that the settings name
   (`restore-functions`, `context-managers`, `spawner-functions`): no import needed;
2. a function of that name defined in a project module (found through the project's
   imports of it, its definitions in parsed files, or a dotted entry of the setting):
   imported from there; several different ones and none clearly the project's: unknown;
3. `restore-import` (default `celerylint_runtime`): when it is a project module, or the
   project depends on celerylint-runtime (its declared dependencies, or it imports
   celerylint_runtime already), or it has no helper of its own and declares no
   dependencies that would be missing it.

Otherwise the helper is unknown and the fix is not offered; `Refusal.reason` says what
to configure. When the settings name no helper the project has, the restore functions
the tenancy mechanisms found by definition are candidates (`_detected_candidates`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from celerylint.facts.model import Ref
from celerylint.project.dependencies import normalize

if TYPE_CHECKING:
    from celerylint.project import Project

RUNTIME = "celerylint_runtime"
RUNTIME_DISTRIBUTION = "celerylint-runtime"
KINDS = {"restore": "restore_functions", "context": "context_managers", "spawner": "spawner_functions"}
_SETTING_KEY = {"restore": "restore-functions", "context": "context-managers", "spawner": "spawner-functions"}


@dataclass(frozen=True)
class Helper:
    """A helper a fix can call in file `rel`: `local` is the name to write there,
    `source` the module to import it from (None: the file already binds it)."""

    local: str
    source: str | None
    name: str  # its name in `source`
    qualified: str  # module.name where it is defined (celerylint_runtime.x for the runtime's)

    @property
    def is_runtime(self) -> bool:
        return self.qualified.split(".")[0] == RUNTIME


@dataclass(frozen=True)
class Refusal:
    reason: str  # why no helper is known, and what to configure


def fix_helper(project: "Project", rel: str, kind: str) -> Helper | Refusal:
    """The `kind` ("restore", "context" or "spawner") helper fixes in `rel` should use."""
    index = project.index
    settings = project.settings
    names = getattr(settings, KINDS[kind])
    facts = index.parsed_facts(rel)
    if facts is None or not names:
        return Refusal(f"no {kind} helper is configured ({_SETTING_KEY[kind]})")
    short = {n.rsplit(".", 1)[-1] for n in names}
    # 1. bound in the file: imported, or defined at module level
    for local, target in sorted(facts.imports.items()):
        if _matches(target, names):
            return Helper(local, None, target[-1], ".".join(target))
    for name in sorted(short):
        if name in facts.assigns and _defines_function(facts, name):
            return Helper(name, None, name, f"{facts.module}.{name}")
    # 2. defined in the project
    found = _project_candidates(project, names, short)
    if len(found) == 1:
        module, name = next(iter(found))
        return _importable(facts, module, name)
    if len(found) > 1:
        listed = ", ".join(sorted(f"{m}.{n}" for m, n in found))
        return Refusal(f"the project defines several {kind} helpers ({listed}); name the one to use in "
                       f"{_SETTING_KEY[kind]} as a dotted path")
    # 3. restore-import
    source = settings.restore_import
    name = sorted(short)[0] if len(short) == 1 else names[0].rsplit(".", 1)[-1]
    if source.split(".")[0] in index.top_packages:
        return _importable(facts, source, name)
    if source.split(".")[0] == RUNTIME and kind in ("restore", "spawner", "context") \
            and name not in _RUNTIME_API:
        return Refusal(f"{source} has no {name}; configure {_SETTING_KEY[kind]} with the project's own helper")
    usable = None
    if source.split(".")[0] == RUNTIME:
        memo = project.__dict__.setdefault("_fix_helper_runtime", {})
        if "runtime" not in memo:
            memo["runtime"] = _depends_on_runtime(project)
        usable = memo["runtime"]
    if usable is False:
        return Refusal(f"the project defines no {kind} helper and does not depend on celerylint-runtime: add "
                       f"celerylint-runtime to its dependencies, or name the project's own helper in "
                       f"{_SETTING_KEY[kind]} (or restore-import)")
    return _importable(facts, source, name)


_RUNTIME_API = {"restore_tenant_context", "tenant_context", "spawn_tenant_tasks_with_rate_limiting",
                "set_current_tenant_id"}


def _matches(target: tuple, names: tuple) -> bool:
    dotted = ".".join(target)
    return any(dotted == n or ("." not in n and target[-1] == n) for n in names)


def _defines_function(facts, name: str) -> bool:
    return any(fn.name == name and not fn.nested and fn.owner is None for fn in facts.functions)


def _importable(facts, module: str, name: str) -> Helper | Refusal:
    """Import `module.name` into the file, unless `name` there means something else."""
    if module == facts.module:
        return Helper(name, None, name, f"{module}.{name}")
    target = tuple(module.split(".")) + (name,)
    for local, imported in sorted(facts.imports.items()):
        if imported == target:  # already imported (under this name or another)
            return Helper(local, None, name, f"{module}.{name}")
    if name in facts.imports or name in facts.assigns:
        return Refusal(f"{name} already means something else in this file; import {module}.{name} "
                       "under that name or rename it")
    return Helper(name, module, name, f"{module}.{name}")


def _project_candidates(project: "Project", names: tuple, short: set) -> set[tuple[str, str]]:
    """(module, name) of the project functions that the settings name: dotted entries
    that point into the project, functions of those names that project files import from
    a project module, and module-level definitions in the parsed files."""
    memo = project.__dict__.setdefault("_fix_helper_candidates", {})
    if names not in memo:
        memo[names] = _find_candidates(project, names, short) or _detected_candidates(project, names)
    return memo[names]


def _detected_candidates(project: "Project", names: tuple) -> set[tuple[str, str]]:
    """When the settings name no restore helper the project has: the project functions
    its own tasks already restore with, as their first statement, called with just the
    task's `tenant_id` (`activate_tenant(tenant_id)`), that the tenancy mechanisms find
    to set the tenant by definition (`SET`/`set_config`, a ContextVar, a thread-local, a
    library setter)."""
    if names != project.settings.restore_functions:
        return set()
    tenancy = project.tenancy
    found = set()
    for task in project.tasks.all():
        fn = tenancy.task_function(task)
        first = fn.first if fn is not None else None
        if first is None or first.kind != "call" or first.args != (Ref(("tenant_id",)),) or first.kwargs:
            continue
        target = tenancy.calls.callee_function(task.module, fn, first.callee)
        if target is not None and target.owner is None and tenancy.mechanisms.setter_function(target):
            found.add((target.module, target.name))
    return found


def _find_candidates(project: "Project", names: tuple, short: set) -> set[tuple[str, str]]:
    index = project.index
    # The files that mention the names (the helper's module and its importers may have
    # been skipped by the prefilter): one byte search, parsed in one batch.
    index.parse_files_mentioning(tuple(sorted(n.encode() for n in short)))
    found: set[tuple[str, str]] = set()
    for entry in names:
        module, _, name = entry.rpartition(".")
        if module and module in index.by_module:
            facts = index.module_facts(module)
            if facts is not None and _defines_function(facts, name):
                found.add((module, name))
    if found:
        return found
    for _, facts in list(index.parsed()):
        for target in facts.imports.values():
            if len(target) >= 2 and target[-1] in short:
                module = ".".join(target[:-1])
                if module in index.by_module:
                    defining = index.module_facts(module)
                    if defining is not None and _defines_function(defining, target[-1]):
                        found.add((module, target[-1]))
        for name in short:
            if name in facts.assigns and _defines_function(facts, name):
                found.add((facts.module, name))
    return found


def _depends_on_runtime(project: "Project") -> bool | None:
    """True: the project declares celerylint-runtime, or already imports it; False: it
    declares Celery or Django but not celerylint-runtime; None: it declares nothing we
    can trust (its runtime is declared elsewhere). The declarations are the project's
    (`project/dependencies.py`, every declaration file of the project, a monorepo
    backend's own included)."""
    for _, facts in list(project.index.parsed()):
        if any(t and t[0] == RUNTIME for t in facts.imports.values()) or any(
                s.split(".")[0] == RUNTIME for s in facts.star_imports):
            return True
    declared = project.index.declared
    if declared is None:
        return None
    return normalize(RUNTIME_DISTRIBUTION) in declared.distributions


RUNTIME_SPAWNER_OPTIONS = ("queue", "expires", "priority")


def spawner_contract(project: "Project", helper: Helper) -> tuple[tuple, tuple] | Refusal:
    """(the tenant attributes the spawner passes as `tenant_id`, the apply_async options
    it takes as keyword arguments). The runtime's passes the tenant's pk (or id) and
    takes queue, expires and priority; a project's own is read from its definition:
    the `tenant_id=` it passes in a loop over its tenants (`str(t.id)`, `t.pk`...),
    and no options (its keyword arguments go to the task)."""
    if helper.is_runtime:
        return ("id", "pk"), RUNTIME_SPAWNER_OPTIONS
    module, _, name = helper.qualified.rpartition(".")
    source = project.index.by_module.get(module)
    keys = _spawner_keys(source.path, name) if source is not None else set()
    if len(keys) != 1:
        return Refusal(f"cannot tell which tenant attribute {helper.qualified} passes as tenant_id, so a "
                       "rewrite could change which tenant each task runs as")
    return tuple(keys), ()


def _spawner_keys(path: str, name: str) -> set[str]:
    import ast

    try:
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return set()
    keys: set[str] = set()
    for fn in tree.body:
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or fn.name != name:
            continue
        targets = {n.target.id for n in ast.walk(fn) if isinstance(n, (ast.For, ast.comprehension))
                   and isinstance(n.target, ast.Name)}
        for call in ast.walk(fn):
            if not isinstance(call, ast.Call):
                continue
            for keyword in call.keywords:
                if keyword.arg != "tenant_id":
                    continue
                value = keyword.value
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "str" \
                        and len(value.args) == 1:
                    value = value.args[0]
                if isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name) \
                        and value.value.id in targets:
                    keys.add(value.attr)
                else:
                    keys.add("?")
    return keys
