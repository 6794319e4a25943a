"""How the project restores tenant context (RULES.md §1, "Tenancy mechanisms").

Detected from code and settings, never from a name alone:
- *setters*: functions that set the current tenant. Configured `restore-functions`; the
  libraries' setters (django-multitenant `set_current_tenant`, django-tenants
  `connection.set_tenant` / `set_schema`); and project functions that, with a value
  that is not None, call a setter, execute `SET ...`/`set_config(...)` naming a tenant or
  the search path, set a tenant ContextVar, store a tenant on a thread-local, or enter a
  context manager below (a restoring decorator's wrapper is one);
- *context managers*: configured `context-managers`; the libraries' (`tenant_context`,
  `schema_context`, omnitenant's `use_tenant`); project `@contextmanager` functions and
  classes whose `__enter__` sets a tenant;
- *app-wide restores*: `task_prerun` handlers that set a tenant taken from the task's
  message (handlers that only clear it are not restores), tenant-schemas-celery's
  `CeleryApp` (and subclasses), an app whose default task class restores, and
  django-omnitenant in INSTALLED_APPS;
- the *mode*: "schema" when the project uses django-tenants / django-tenant-schemas
  (`TENANT_APPS` set), else "row"; the `tenancy` setting overrides.

A call the analyzer cannot resolve into the project is a setter only when it comes from
a tenancy library, or its name says it sets one (`set_…tenant…`, `activate_…org…`):
unknown never makes a finding, so an unresolvable setter-like name counts as restoring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from celerylint.facts.model import CallExpr, FunctionFacts, Join, Num, Ref, Str
from celerylint.facts.common import tenant_named
from celerylint.project.django import DjangoProject
from celerylint.project.index import ProjectIndex
from celerylint.project.tasks import TaskRegistry
from celerylint.project.tenancy.calls import CallGraph, FunctionRef, label, names_match

LIBRARIES = frozenset({"django_tenants", "tenant_schemas", "django_multitenant", "django_omnitenant",
                       "tenant_schemas_celery", "django_tenant_schemas"})
LIBRARY_SETTERS = frozenset({"set_current_tenant", "set_tenant", "set_schema", "activate_tenant"})
LIBRARY_MANAGERS = frozenset({"tenant_context", "schema_context", "use_tenant", "use_schema", "tenant_context_disabled"})
CONNECTION = ("django", "db", "connection")
TENANT_CELERY_APPS = frozenset({("tenant_schemas_celery", "app", "CeleryApp")})
# The tenant model's own bases (the model the tenants are rows of).
TENANT_MODEL_BASES = frozenset({("django_tenants", "models", "TenantMixin"), ("tenant_schemas", "models", "TenantMixin"),
                                ("django_omnitenant", "models", "BaseTenant")})
SCHEMA_APPS = ("django_tenants", "tenant_schemas")
OMNITENANT_APP = "django_omnitenant"
CONTEXT_DECORATORS = frozenset({"contextmanager", "asynccontextmanager"})
SETTER_VERBS = frozenset({"set", "activate", "switch", "use", "enter", "restore", "apply", "bind", "tmp"})
PUBLIC = frozenset({"public", "PUBLIC_SCHEMA_NAME", "get_public_schema_name"})
_SET_SQL = re.compile(r"^\s*SET\s+(LOCAL\s+|SESSION\s+)?[\w.\"]*(tenant|search_path|schema|org)|set_config\s*\(",
                      re.IGNORECASE)
_TENANT_WORD = re.compile(r"tenant|schema|org|workspace|account|customer|company", re.IGNORECASE)
_MAX_DEPTH = 4


@dataclass
class Found:
    """One mechanism found: what, where (file:line), and why."""

    kind: str
    where: str
    why: str


@dataclass
class Mechanisms:
    mode: str = "row"
    app_wide: list[Found] = field(default_factory=list)  # restores for every task
    captures_on_publish: bool = False  # enqueues carry the publisher's tenant by themselves
    travel_names: frozenset = frozenset({"tenant_id"})  # names the tenant travels under
    tenant_aware_beat: list[Found] = field(default_factory=list)
    notes: list[Found] = field(default_factory=list)


class MechanismFinder:
    """Setters, context managers and app-wide restores of one project."""

    def __init__(self, index: ProjectIndex, tasks: TaskRegistry, calls: CallGraph, django: DjangoProject):
        self.index = index
        self.tasks = tasks
        self.calls = calls
        self.django = django
        self.settings = index.settings
        self._setter: dict[tuple, bool] = {}
        self._manager: dict[tuple, bool] = {}
        self._found: Mechanisms | None = None
        self.seen_setters: dict[str, str] = {}  # label -> why (for `celerylint tenancy`)
        self.seen_managers: dict[str, str] = {}

    # ------------------------------------------------------------------ calls that set a tenant
    def sets_tenant(self, module: str, fn: FunctionFacts | None, callee: tuple, argument=None, depth: int = 0) -> bool:
        """Whether calling `callee` (as written in `fn` of `module`) with `argument` sets
        a tenant context. An argument that is None or the public schema clears it."""
        if clears(argument):
            return False
        qualified = self.calls.resolve(module, fn, callee)
        if names_match(qualified, self.settings.restore_functions):
            return True
        if self._library_setter(qualified):
            return True
        target = self.calls.callee_function(module, fn, callee) if fn is not None else None
        if target is None:
            found = self.index.split_definition(qualified)
            if found is not None and len(found[1]) == 1:
                target = FunctionRef(found[0], None, found[1][0])
        if target is not None and self.calls.facts_of(target) is not None:
            return depth < _MAX_DEPTH and self.setter_function(target, depth + 1)
        return self._unresolved_setter(qualified)

    def is_manager(self, module: str, fn: FunctionFacts | None, callee: tuple, args: tuple = ()) -> bool:
        """Whether `with callee(args...)` enters a tenant context."""
        if args and clears(args[0]):
            return False
        qualified = self.calls.resolve(module, fn, callee)
        if qualified not in self._manager:
            self._manager[qualified] = False
            self._manager[qualified] = self._is_manager(qualified)
        return self._manager[qualified]

    def _is_manager(self, qualified: tuple) -> bool:
        if names_match(qualified, self.settings.context_managers):
            return True
        if qualified and qualified[0] in LIBRARIES:
            return qualified[-1] in LIBRARY_MANAGERS or tenant_named(qualified[-1])
        found = self.index.split_definition(qualified)
        if found is None:
            return self._unresolved_name(qualified) and tenant_named(qualified[-1])
        module, rest = found
        if len(rest) == 1:
            facts = self.calls.function(module, rest[0])
            if facts is not None:
                ref = FunctionRef(module, None, rest[0])
                if any(d.dotted and d.dotted[-1] in CONTEXT_DECORATORS for d in facts.decorators) \
                        and self.setter_function(ref, within=True):
                    self.seen_managers[label(ref)] = "a context manager that sets the tenant"
                    return True
                return False
            cls = self.index.find_class(qualified)
            if cls is not None:
                for method in ("__enter__", "__aenter__"):
                    enter = FunctionRef(cls[0], cls[1].name, method)
                    if self.calls.facts_of(enter) is not None and self.setter_function(enter):
                        self.seen_managers[".".join(qualified)] = f"its {method} sets the tenant"
                        return True
        return False

    def setter_function(self, ref: FunctionRef, depth: int = 0, within: bool = False) -> bool:
        """A project function that sets a tenant context (see the module's docstring)
        that stays set after it returns. With `within`, also one that runs something
        inside a tenant context manager (a decorator's wrapper, a `@contextmanager`
        around its `yield`, a task class's `__call__`)."""
        key = (ref, within)
        if key in self._setter:
            return self._setter[key]
        self._setter[key] = False
        fn = self.calls.facts_of(ref)
        why = self._sets(ref, fn, depth, within) if fn is not None else None
        self._setter[key] = why is not None
        if why is not None and not within:
            self.seen_setters[label(ref)] = why
        return why is not None

    def _sets(self, ref: FunctionRef, fn: FunctionFacts, depth: int, within: bool) -> str | None:
        module = ref.module
        for call in fn.restores:
            if self.sets_tenant(module, fn, call.callee, call.argument, depth):
                return f"calls {'.'.join(call.callee)}()"
        for statement in fn.sql:
            if _set_sql(statement) or _set_sql(self._constant(module, statement)):
                return "executes SET / set_config"
        for callee in fn.calls:
            if len(callee) >= 2 and callee[-1] == "set" and _TENANT_WORD.search(callee[-2]):
                return f"sets {'.'.join(callee[:-1])}"
        facts = self.index.module_facts(module)
        for target in fn.stores:
            # On a module-level object (a thread-local, a state holder), not on a local
            # or a parameter (`inbound.tenant = tenant` sets a model field).
            if len(target) >= 2 and _TENANT_WORD.search(target[-1]) and facts is not None \
                    and (target[0] in facts.assigns or target[0] in facts.imports):
                return f"stores {'.'.join(target)}"
        if within:
            for guard in fn.guards:
                if self.is_manager(module, fn, guard.callee, guard.args):
                    return f"enters {'.'.join(guard.callee)}()"
        return None

    def _constant(self, module: str, value):
        """A module constant's string (`cursor.execute(SET_CONFIG_QUERY, ...)`)."""
        if type(value) is not Ref:
            return None
        folded = self.index.evaluate(module, value)
        return Str(folded) if isinstance(folded, str) else None

    def _library_setter(self, qualified: tuple) -> bool:
        if qualified[:3] == CONNECTION and qualified[-1] in ("set_tenant", "set_schema"):
            return True
        return bool(qualified) and qualified[0] in LIBRARIES and qualified[-1] in LIBRARY_SETTERS

    def _unresolved_setter(self, qualified: tuple) -> bool:
        """A call resolving outside the project whose name says it sets a tenant."""
        if not self._unresolved_name(qualified):
            return False
        name = qualified[-1].lower()
        return name.split("_")[0] in SETTER_VERBS and tenant_named(name)

    def _unresolved_name(self, qualified: tuple) -> bool:
        """Not a project definition and not a known library's (whose names we know)."""
        return bool(qualified) and qualified[0] not in LIBRARIES and qualified[0] not in ("django", "celery") \
            and self.index.split_definition(qualified) is None

    def setter_names(self) -> None:
        """Visit every project function that may set a tenant (a restore candidate's
        name, a context manager's), so `seen_setters` / `seen_managers` list them all."""
        for _, facts in list(self.index.parsed()):
            for fn in facts.functions:
                if fn.nested or not (tenant_named(fn.name)
                                     or any(d.dotted and d.dotted[-1] in CONTEXT_DECORATORS for d in fn.decorators)):
                    continue
                if any(d.dotted and d.dotted[-1] in CONTEXT_DECORATORS for d in fn.decorators):
                    self.is_manager(facts.module, None, (fn.name,))
                else:
                    self.setter_function(FunctionRef(facts.module, fn.owner, fn.name))

    # ------------------------------------------------------------------ the project
    def found(self) -> Mechanisms:
        if self._found is None:
            self._found = self._find()
        return self._found

    def _find(self) -> Mechanisms:
        found = Mechanisms()
        configured = self.settings.tenancy
        schema_libs = [a for a in SCHEMA_APPS if self.django.installed(a)]
        if configured != "auto":
            found.mode = configured
        elif schema_libs or self.django.setting("TENANT_APPS"):
            found.mode = "schema"
        travel = {"tenant_id"}
        # App classes and default task classes.
        for facts, name, call in self.tasks.apps():
            where = f"{facts.module}.{name}"
            # The class as imported; a name imported in both arms of an `if` (the
            # tenant-aware app when multi-tenancy is on) is tenant-aware when either is.
            classes = [self.index.resolve(facts.module, call.callee)]
            classes += [target + call.callee[1:] for target in facts.rebound.get(call.callee[0], ())]
            if any(self._tenant_celery_app(q) for q in classes):
                found.app_wide.append(Found("tenant-aware Celery app", where,
                                            f"{'.'.join(call.callee)} (tenant_schemas_celery.app.CeleryApp) "
                                            "restores the publisher's schema in every task"))
                found.captures_on_publish = True
                travel.add("_schema_name")
        # Signal handlers, in the files that connect them (parsed if the prefilter skipped them).
        self.index.parse_files_mentioning((b"task_prerun", b"before_task_publish"))
        for source, facts in list(self.index.parsed()):
            for handler in facts.handlers:
                if handler.signal not in ("task_prerun", "before_task_publish"):
                    continue
                ref = FunctionRef(facts.module, None, handler.function)
                fn = self.calls.facts_of(ref)
                if fn is None:
                    continue
                where = f"{source.rel}:{facts.module}.{handler.function}"
                if handler.signal == "task_prerun":
                    if self.setter_function(ref) and fn.keys_read:
                        found.app_wide.append(Found("task_prerun handler", where,
                                                    f"sets the tenant from the task's {', '.join(sorted(fn.keys_read))}"))
                        travel.update(fn.keys_read)
                    elif any(clears(call.argument) for call in fn.restores):
                        found.notes.append(Found("task_prerun handler", where,
                                                 "clears the tenant before each task (not a restore)"))
                elif fn.keys_read or fn.stores:
                    found.notes.append(Found("before_task_publish handler", where,
                                             "writes the publisher's tenant into each message"))
                    found.captures_on_publish = True
        if self.django.installed(OMNITENANT_APP):
            modules = self.django.setting_modules("INSTALLED_APPS")
            found.app_wide.append(Found("django-omnitenant", ", ".join(modules),
                                        "django_omnitenant patches Celery's Task: tenant_id travels in a header "
                                        "and is restored around every task"))
        for module, value in self.django.string_setting("CELERY_BEAT_SCHEDULER", "beat_scheduler",
                                                        "CELERYBEAT_SCHEDULER"):
            if "tenant" in value.lower():
                found.tenant_aware_beat.append(Found("tenant-aware beat scheduler", module,
                                                     f"{value} runs each entry in every tenant"))
        found.travel_names = frozenset(travel)
        return found

    def _tenant_celery_app(self, qualified: tuple) -> bool:
        return self.index.inherits(qualified, lambda q: q in TENANT_CELERY_APPS or (
            q[:1] == ("tenant_schemas_celery",) and q[-1] == "CeleryApp"))

    def restoring_class(self, qualified: tuple) -> bool:
        """A Task class whose `__call__` or `before_start` (its own or inherited from a
        project base) sets a tenant: a tenant-aware default task class."""
        def restores(q: tuple) -> bool:
            found = self.index.find_class(q)
            if found is None:
                return False
            refs = (FunctionRef(found[0], found[1].name, m) for m in ("__call__", "before_start"))
            return any(self.calls.facts_of(r) is not None and self.setter_function(r, within=True) for r in refs)

        return self.index.inherits(qualified, restores)


def clears(value) -> bool:
    """None, or the public schema: the call leaves no tenant set."""
    if type(value) is Num:
        return value.value is None
    if type(value) is Ref:
        return value.dotted[-1] in PUBLIC
    if type(value) is Str:
        return value.text == "public"
    if type(value) is CallExpr and value.callee:
        return value.callee[-1] in PUBLIC
    return False


def _set_sql(value) -> bool:
    if type(value) is Str:
        return _SET_SQL.search(value.text) is not None
    if type(value) is Join:
        text = "".join(p.text if type(p) is Str else "x" for p in value.parts)
        return _SET_SQL.search(text) is not None
    return False
