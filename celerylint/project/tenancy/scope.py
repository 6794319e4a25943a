"""Which models are tenant-scoped, and which project functions use them (directly or
through the project functions they call): RULES.md §1, "Tenant-scoped task" and
"Tenancy mechanisms".

Row mode: a model with a `tenant`/`tenant_id` field, a tenant manager or a tenant base.
Schema mode (django-tenants): the models of the apps in `TENANT_APPS` and not in
`SHARED_APPS`. The tenant model itself is never tenant-scoped: the configured
`tenant-model`, the model the `tenant` relations point to, a subclass of a library's
tenant base (django-tenants' `TenantMixin`), or a django-multitenant model whose tenant
field is its own id (`tenant_id = "id"`)."""

from __future__ import annotations

from dataclasses import dataclass

from celerylint.facts.common import RELATIONS
from celerylint.facts.model import ENQUEUE_METHODS, CallExpr, FunctionFacts, Ref, Str
from celerylint.project.django import DjangoProject, app_of
from celerylint.project.index import ProjectIndex
from celerylint.project.tenancy.calls import CallGraph, FunctionRef, label, names_match
from celerylint.project.tenancy.mechanisms import TENANT_MODEL_BASES, MechanismFinder

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
    def __init__(self, index: ProjectIndex, calls: CallGraph, tenancy_files: set[str] | None,
                 mechanisms: MechanismFinder, django: DjangoProject):
        self.index = index
        self.calls = calls
        self.mechanisms = mechanisms
        self.django = django
        self.settings = index.settings
        # Files that may define tenant-scoped models (None: unknown, any may).
        self.tenancy_files = tenancy_files
        # False when no file can define a tenant-scoped model or a mechanism and none is
        # configured: the tenant rules then have nothing to look for.
        self.possible = self.settings.tenancy != "off" and (tenancy_files is None or bool(
            tenancy_files or self.settings.tenant_models or self.settings.tenant_tasks))
        self._tenant_models: tuple | None = None  # (index version, (qualified, names))
        self._schema_apps: frozenset | None = None
        self._model_reason: dict[tuple, str | None] = {}
        self._is_model: dict[tuple, bool] = {}
        self._function_use: dict[tuple, TenantUse | None] = {}
        self._exposed_use: dict[tuple, TenantUse | None] = {}
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
                candidates = set(self.tenancy_files)
                apps = self.schema_tenant_apps()
                if apps:
                    candidates.update(s.rel for s in index.files if app_of(s.module, apps) is not None
                                      and ".models" in "." + s.module.partition(app_of(s.module, apps))[2])
                index.load([s for s in index.files if s.rel in candidates])
                self._models_exist = any(
                    self.model_reason(tuple(facts.module.split(".")) + (cls.name,)) is not None
                    for source, facts in list(index.parsed()) if source.rel in candidates
                    for cls in facts.classes if not cls.nested)
        return self._models_exist

    def schema_tenant_apps(self) -> frozenset | None:
        """Schema mode: the apps in TENANT_APPS and not in SHARED_APPS (None in row mode,
        or when TENANT_APPS cannot be read)."""
        if self.mechanisms.found().mode != "schema":
            return None
        if self._schema_apps is None:
            tenant = self.django.app_list("TENANT_APPS")
            shared = self.django.app_list("SHARED_APPS")
            if shared is None and self.django.setting_modules("SHARED_APPS"):
                tenant = None  # SHARED_APPS is set but cannot be read: unknown, so nothing
            self._schema_apps = (tenant - (shared or frozenset())) if tenant is not None else frozenset()
        return self._schema_apps

    def is_tenant_model_name(self, qualified: tuple) -> bool:
        """The tenant model itself: `tenant-model` (default "Tenant"), the model the
        `tenant` relations point to, a subclass of a library's tenant base, or a
        django-multitenant model whose tenant field is its own id."""
        if names_match(qualified, (self.settings.tenant_model,)):
            return True
        targets, names = self.tenant_models()
        if qualified[-1] in self.settings_tenant_models():
            return True
        if qualified in targets or qualified[-1] in names:
            return True
        found = self.index.find_class(qualified)
        if found is None:
            return False
        module, cls = found
        if any(a.name in ("tenant_id", "tenant_field") and type(a.value) is Str and a.value.text in ("id", "pk")
               for a in cls.attrs):
            return True
        facts = self.index.module_facts(module)
        if facts is not None and any(  # django-multitenant: `class TenantMeta: tenant_field_name = "id"`
                inner.owner == cls.name and inner.name == "TenantMeta" and any(
                    a.name == "tenant_field_name" and type(a.value) is Str and a.value.text in ("id", "pk")
                    for a in inner.attrs) for inner in facts.classes):
            return True
        return any(type(b) is Ref and self.index.resolve(module, b.dotted) in TENANT_MODEL_BASES for b in cls.bases)

    def settings_tenant_models(self) -> frozenset:
        """The tenant model the settings name (django-tenants' `TENANT_MODEL =
        "customers.Client"`), by class name."""
        return frozenset(value.rsplit(".", 1)[-1] for _, value in self.django.string_setting("TENANT_MODEL"))

    def tenant_models(self) -> tuple[frozenset, frozenset]:
        """(qualified names, bare names from "app.Model" strings) of the models the
        `tenant` relations of the loaded models point to."""
        if self._tenant_models is None or self._tenant_models[0] != self.index.version:
            targets: set = set()
            names: set = set()
            for _, facts in list(self.index.parsed()):
                for cls in facts.classes:
                    for attr in cls.attrs:
                        value = attr.value
                        if attr.name != "tenant" or type(value) is not CallExpr or not value.callee \
                                or value.callee[-1] not in RELATIONS or not value.args:
                            continue
                        target = value.args[0]
                        if type(target) is Ref:
                            targets.add(self.index.resolve(facts.module, target.dotted))
                        elif type(target) is Str and target.text not in ("self",):
                            names.add(target.text.rsplit(".", 1)[-1])
            self._tenant_models = (self.index.version, (frozenset(targets), frozenset(names)))
        return self._tenant_models[1]

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
        apps = self.schema_tenant_apps()
        if apps is not None:
            # The longest app entry holding the module decides: a shared sub-app of a
            # tenant app (`audit.purchase_order` in SHARED_APPS, `audit` in TENANT_APPS)
            # is shared.
            app = app_of(module, apps | (self.django.app_list("SHARED_APPS") or frozenset()))
            return f"is in tenant app {app} (TENANT_APPS, not SHARED_APPS)" if app in apps else None
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
    def direct_use(self, module: str, fn: FunctionFacts, refs: frozenset | None = None,
                   calls: frozenset | None = None) -> str | None:
        """The tenant-scoped model a function body (or the given part of it) uses itself:
        `M.objects...`, `M._default_manager...`, `M.all_objects...` or `M(...)`. A query
        that names its database (`M.objects.using(alias)`) chose where it runs: it is
        the database mechanism's restore, or deliberate access across tenants."""
        for ref in sorted(fn.refs if refs is None else refs):
            for cut in range(1, len(ref)):
                if ref[cut] in MANAGER_ATTRIBUTES and ref[cut - 1][:1].isupper() and ref[cut + 1:cut + 2] != ("using",):
                    qualified = self.calls.resolve(module, fn, ref[:cut])
                    if self.model_reason(qualified) is not None:
                        return qualified[-1]
        for callee in sorted(fn.calls if calls is None else calls):
            if callee[-1][:1].isupper():
                qualified = self.calls.resolve(module, fn, callee)
                if self.model_reason(qualified) is not None:
                    return qualified[-1]
        return None

    def function_use(self, ref: FunctionRef, depth: int = 0, exposed: bool = False) -> TenantUse | None:
        """What makes the project function `ref` tenant-scoped: its own model use or one
        of the project functions it calls (transitively, with a cycle guard). With
        `exposed`, only uses outside the `with` blocks that set a tenant context (in it
        and in what it calls): None when every tenant-touching statement is guarded."""
        memo = self._exposed_use if exposed else self._function_use
        if ref in memo:
            return memo[ref]
        memo[ref] = None
        fn = self.calls.facts_of(ref)
        use = None
        if fn is not None:
            refs, calls = self.exposed_parts(ref, fn) if exposed else (None, None)
            use = self._use_of(ref, fn, depth, refs, calls, exposed)
        memo[ref] = use
        return use

    def exposed_parts(self, ref: FunctionRef, fn: FunctionFacts) -> tuple[frozenset, frozenset]:
        """The refs and calls of a function body outside every `with` block whose
        context manager sets a tenant."""
        if not fn.guards:
            return fn.refs, fn.calls
        restoring = [self.mechanisms.is_manager(ref.module, fn, g.callee, g.args) for g in fn.guards]
        refs, calls = set(fn.unguarded_refs), set(fn.unguarded_calls)
        for i, guard in enumerate(fn.guards):
            j = i
            while j >= 0 and not restoring[j]:
                j = fn.guards[j].parent
            if j < 0:
                refs.update(guard.refs)
                calls.update(guard.calls)
        return frozenset(refs), frozenset(calls)

    def _use_of(self, ref: FunctionRef, fn: FunctionFacts, depth: int, refs: frozenset | None = None,
                calls: frozenset | None = None, exposed: bool = False) -> TenantUse | None:
        module = ref.module
        model = self.direct_use(module, fn, refs, calls)
        if model is not None:
            return TenantUse(model)
        if depth >= MAX_CALL_DEPTH:
            return None
        for callee in sorted(fn.calls if calls is None else calls):
            if callee[-1] in ENQUEUE_METHODS:
                continue
            target = self.calls.callee_function(module, fn, callee)
            if target is None or target == ref:
                continue
            use = self.function_use(target, depth + 1, exposed)
            if use is not None:
                return TenantUse(use.model, (label(target),) + use.via)
        return None

    def use_within(self, ref: FunctionRef, fn: FunctionFacts, refs: frozenset, calls: frozenset) -> TenantUse | None:
        """The tenant use of a part of a function body (its refs and calls)."""
        return self._use_of(ref, fn, 0, refs, calls)
