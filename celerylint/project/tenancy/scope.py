"""Which models are tenant-scoped, and which project functions use them (directly or
through the project functions they call): RULES.md §1, "Tenant-scoped task"."""

from __future__ import annotations

from dataclasses import dataclass

from celerylint.facts.model import ENQUEUE_METHODS, CallExpr, FunctionFacts, Ref
from celerylint.project.index import ProjectIndex
from celerylint.project.tenancy.calls import CallGraph, FunctionRef, label, names_match

DJANGO_MODEL = frozenset({("django", "db", "models", "Model"), ("django", "db", "models", "base", "Model")})
MANAGER_ATTRIBUTES = frozenset({"objects", "_default_manager", "all_objects"})
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


class TenantScope:
    def __init__(self, index: ProjectIndex, calls: CallGraph, tenancy_files: set[str] | None):
        self.index = index
        self.calls = calls
        self.settings = index.settings
        # Files that may define tenant-scoped models (None: unknown, any may).
        self.tenancy_files = tenancy_files
        # False when no file can define a tenant-scoped model and none is configured: the
        # tenant rules then have nothing to look for.
        self.possible = tenancy_files is None or bool(
            tenancy_files or self.settings.tenant_models or self.settings.tenant_tasks)
        self._model_reason: dict[tuple, str | None] = {}
        self._is_model: dict[tuple, bool] = {}
        self._function_use: dict[tuple, TenantUse | None] = {}
        self._models_exist: bool | None = None

    # ------------------------------------------------------------------ models
    def models_exist(self) -> bool:
        """Whether any tenant-scoped model (or `tenant-models` / `tenant-tasks` entry)
        exists. Only files with a tenant field or a configured tenant base/manager name
        can define one, so only those are loaded to find out; without any, tasks cannot
        be tenant-scoped and the expensive part of the analysis is skipped."""
        if self._models_exist is None:
            if not self.possible:
                self._models_exist = False
            elif self.settings.tenant_models or self.settings.tenant_tasks or self.tenancy_files is None:
                self._models_exist = True
            else:
                index = self.index
                index.load([s for s in index.files if s.rel in self.tenancy_files])
                self._models_exist = any(
                    self.model_reason(tuple(facts.module.split(".")) + (cls.name,)) is not None
                    for source, facts in list(index.parsed()) if source.rel in self.tenancy_files
                    for cls in facts.classes if not cls.nested)
        return self._models_exist

    def is_tenant_model_name(self, qualified: tuple) -> bool:
        """The tenant model itself (`tenant-model`, default "Tenant")."""
        return names_match(qualified, (self.settings.tenant_model,))

    def is_model(self, qualified: tuple) -> bool:
        if qualified in DJANGO_MODEL:
            return True
        if qualified in self._is_model:
            return self._is_model[qualified]
        self._is_model[qualified] = False
        found = self.index.find_class(qualified)
        if found is None:
            # A base class from an installed library: TimeStampedModel, MPTTModel, ...
            result = qualified[-1].endswith("Model") or names_match(qualified, self.settings.tenant_model_bases)
        else:
            module, cls = found
            result = any(type(b) is Ref and self.is_model(self.index.resolve(module, b.dotted)) for b in cls.bases)
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
        if names_match(qualified, settings.tenant_models):
            return "listed in tenant-models"
        if names_match(qualified, settings.tenant_model_bases):
            return f"is {qualified[-1]}"
        found = self.index.find_class(qualified)
        if found is None:
            return None
        module, cls = found
        if not self.is_model(qualified):
            return None
        for attr in cls.attrs:
            if attr.name in ("tenant", "tenant_id"):
                return f"has a {attr.name} field"
            value = attr.value
            if type(value) is CallExpr and value.callee is not None and value.callee[-1] in settings.tenant_managers:
                return f"has a {value.callee[-1]}"
        for base in cls.bases:
            if type(base) is not Ref:
                continue
            base_q = self.index.resolve(module, base.dotted)
            if self.model_reason(base_q) is not None:
                return f"inherits from {base_q[-1]}"
        return None

    # ------------------------------------------------------------------ uses
    def direct_use(self, module: str, fn: FunctionFacts) -> str | None:
        """The tenant-scoped model a function body uses itself: `M.objects...`,
        `M._default_manager...`, `M.all_objects...` or `M(...)`."""
        for ref in sorted(fn.refs):
            for cut in range(1, len(ref)):
                if ref[cut] in MANAGER_ATTRIBUTES and ref[cut - 1][:1].isupper():
                    qualified = self.calls.resolve(module, fn, ref[:cut])
                    if self.model_reason(qualified) is not None:
                        return qualified[-1]
        for callee in sorted(fn.calls):
            if callee[-1][:1].isupper():
                qualified = self.calls.resolve(module, fn, callee)
                if self.model_reason(qualified) is not None:
                    return qualified[-1]
        return None

    def function_use(self, ref: FunctionRef, depth: int = 0) -> TenantUse | None:
        """What makes the project function `ref` tenant-scoped: its own model use or one
        of the project functions it calls (transitively, with a cycle guard)."""
        if ref in self._function_use:
            return self._function_use[ref]
        self._function_use[ref] = None
        fn = self.calls.facts_of(ref)
        use = self._use_of(ref, fn, depth) if fn is not None else None
        self._function_use[ref] = use
        return use

    def _use_of(self, ref: FunctionRef, fn: FunctionFacts, depth: int) -> TenantUse | None:
        module = ref.module
        model = self.direct_use(module, fn)
        if model is not None:
            return TenantUse(model)
        if depth >= MAX_CALL_DEPTH:
            return None
        for callee in sorted(fn.calls):
            if callee[-1] in ENQUEUE_METHODS:
                continue
            target = self.calls.callee_function(module, fn, callee)
            if target is None or target == ref:
                continue
            use = self.function_use(target, depth + 1)
            if use is not None:
                return TenantUse(use.model, (label(target),) + use.via)
        return None
