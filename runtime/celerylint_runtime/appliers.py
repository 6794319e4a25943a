"""Context appliers: how the current tenant reaches the database.

`CELERYLINT_TENANT_APPLIER` picks one:

* "rls" (default), `RowLevelSecurity`: the PostgreSQL session variable
  `CELERYLINT_TENANT_SESSION_VARIABLE` ("app.current_tenant") that row-level security
  policies read, checked before every query against the context the query runs in, so a
  connection shared by several contexts (async views, thread pools, gevent) never serves
  a query under another context's tenant. No tenant is ''.
* "schema", `DjangoTenantsSchema`: django-tenants' schema (`connection.set_schema`),
  the tenant id being the schema name.
* "database", `DatabaseAlias`: the tenant's database alias, for `TenantDatabaseRouter`.
* a dotted path to a `ContextApplier` subclass (or instance).

Every Django connection gets `database_guard` as its outermost execute wrapper when it
connects (`connect_database_hooks`, done by `install(app)` and by the Django app).
"""

from __future__ import annotations

import logging
import weakref
from typing import Any, Optional

from celerylint_runtime.context import TenantError, get_current_tenant_id
from celerylint_runtime.settings import django_settings, flag_setting, import_object, setting

logger = logging.getLogger("celerylint_runtime")

DEFAULT_SESSION_VARIABLE = "app.current_tenant"


class ContextApplier:
    """Carries the current tenant to the database. `execute` wraps every query of every
    Django connection (Django's `execute_wrapper` signature); `activate` is called
    whenever the current context's tenant changes (a `tenant_context`, a task's start and
    end). `id_field` is the field of the tenant model that holds the tenant id (the
    spawner reads it from a QuerySet of tenants)."""

    id_field = "pk"

    def execute(self, execute, sql, params, many, context):
        return execute(sql, params, many, context)

    def activate(self, tenant_id) -> None:
        pass


# PostgreSQL's PQtransactionStatus (psycopg 2 and 3 report the same numbers).
_IDLE, _INTRANS = 0, 2
_UNKNOWN = object()


class _SessionState:
    """What one database connection's variable is known to be: `session` (the value set
    outside any transaction, or _UNKNOWN) and `local` (set with is_local in the current
    transaction; None when nothing was, _UNKNOWN after a ROLLBACK TO SAVEPOINT)."""

    __slots__ = ("session", "local", "__weakref__")

    def __init__(self):
        self.session = _UNKNOWN
        self.local = None


class RowLevelSecurity(ContextApplier):
    """The tenant as a PostgreSQL variable for row-level security policies, which
    should read `NULLIF(current_setting('app.current_tenant', true), '')`.

    Before each query the variable is compared with the tenant of the context the query
    runs in and set when it differs: outside transactions with `set_config(.., false)`
    (in autocommit, so no rollback can undo it), inside a transaction with
    `set_config(.., true)`. What was set is remembered per database connection, so a
    query costs an extra round trip only when the tenant changed.

    With `CELERYLINT_RLS_TRANSACTION_POOLING` (pgbouncer `pool_mode = transaction`, where
    consecutive transactions may run on different server connections) nothing is kept
    at session level: each transaction sets the variable with is_local, and a query in
    autocommit mode runs in its own BEGIN / set_config / COMMIT."""

    def __init__(self, variable: Optional[str] = None, transaction_pooling: Optional[bool] = None):
        self.variable = variable or setting("CELERYLINT_TENANT_SESSION_VARIABLE", DEFAULT_SESSION_VARIABLE)
        self.transaction_pooling = (flag_setting("CELERYLINT_RLS_TRANSACTION_POOLING")
                                    if transaction_pooling is None else transaction_pooling)
        self._states: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

    def execute(self, execute, sql, params, many, context):
        connection = context["connection"]
        raw = connection.connection
        if connection.vendor != "postgresql" or raw is None:
            return execute(sql, params, many, context)
        tenant = get_current_tenant_id()
        wanted = "" if tenant is None else str(tenant)
        state = self._state(raw)
        status = int(raw.info.transaction_status)
        if status == _IDLE:
            state.local = None  # no transaction, or this query starts one
            if self.transaction_pooling:
                if raw.autocommit:
                    return self._in_own_transaction(raw, wanted, execute, sql, params, many, context)
                self._set(raw, wanted, local=True)  # psycopg sends BEGIN first
                state.local = wanted
            elif state.session != wanted:
                self._set_session(raw, wanted)
                state.session = wanted
        elif status == _INTRANS:
            if self.transaction_pooling:
                known = state.local == wanted
            else:
                # Trust only what holds whichever transaction this is: nothing was set
                # locally in it (or the same value) and the session value is right.
                known = state.session == wanted and (state.local is None or state.local == wanted)
            if not known:
                self._set(raw, wanted, local=True)
                state.local = wanted
        # An aborted transaction (INERROR) fails the query anyway: nothing to set.
        try:
            return execute(sql, params, many, context)
        finally:
            self._forget_if_reset(sql, state)

    def _state(self, raw) -> _SessionState:
        try:
            state = self._states.get(raw)
            if state is None:
                state = self._states[raw] = _SessionState()
        except TypeError:  # a driver connection that cannot be weakly referenced
            state = _SessionState()
        return state

    def _set(self, raw, value: str, local: bool) -> None:
        with raw.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, %s, %s)", [self.variable, value, local])

    def _set_session(self, raw, value: str) -> None:
        """Set at session level, committed at once even when the connection is about to
        start a transaction (Django's atomic turns autocommit off before the first query)."""
        if raw.autocommit:
            self._set(raw, value, local=False)
            return
        raw.autocommit = True
        try:
            self._set(raw, value, local=False)
        finally:
            raw.autocommit = False

    def _in_own_transaction(self, raw, value, execute, sql, params, many, context):
        with raw.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT set_config(%s, %s, true)", [self.variable, value])
        try:
            result = execute(sql, params, many, context)
        except BaseException:
            with raw.cursor() as cursor:
                cursor.execute("ROLLBACK")
            raise
        with raw.cursor() as cursor:
            cursor.execute("COMMIT")
        return result

    def _forget_if_reset(self, sql, state: _SessionState) -> None:
        """After a statement that may have changed the variable behind our back: a
        ROLLBACK TO SAVEPOINT undoes a local set; RESET, DISCARD or a statement naming the
        variable may change the session value."""
        if not isinstance(sql, str):
            return
        head = sql.lstrip()[:12].upper()
        if head.startswith("ROLLBACK"):
            state.local = _UNKNOWN
        elif head.startswith(("RESET", "DISCARD")) or self.variable in sql:
            state.local = _UNKNOWN
            state.session = _UNKNOWN


class DjangoTenantsSchema(ContextApplier):
    """django-tenants: the tenant id is the schema name. The current thread's
    django-tenants connections switch schema whenever the tenant changes (None: the
    public schema), and before each query the connection is checked against the
    query's context, so a connection shared by contexts that each set a tenant runs
    every query in the right schema. A context without a tenant leaves the connection
    as it is (django-tenants' middleware may have set it)."""

    id_field = "schema_name"

    def __init__(self):
        try:
            import django_tenants  # noqa: F401
        except ImportError:
            raise ImportError('CELERYLINT_TENANT_APPLIER = "schema" needs django-tenants (pip install django-tenants)')

    def activate(self, tenant_id) -> None:
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            if hasattr(connection, "set_schema"):
                self._switch(connection, tenant_id)

    def execute(self, execute, sql, params, many, context):
        connection = context["connection"]
        tenant = get_current_tenant_id()
        if (tenant is not None and hasattr(connection, "set_schema") and connection.schema_name != str(tenant)
                and not getattr(connection, "_setting_search_path", False)):
            self._switch(connection, tenant)
            # django-tenants sets the search_path when it hands out a cursor; this
            # query's cursor was handed out before the switch.
            connection._cursor().close()
        return execute(sql, params, many, context)

    @staticmethod
    def _switch(connection, tenant_id) -> None:
        if tenant_id is None:
            connection.set_schema_to_public()
        elif connection.schema_name != str(tenant_id):
            connection.set_schema(str(tenant_id))


class DatabaseAlias(ContextApplier):
    """One database per tenant: `TenantDatabaseRouter` sends the queries of a context
    with a tenant to the alias `alias_for(tenant_id)` (the tenant id as a string; a
    subclass may map it otherwise). A tenant without a database alias is an error."""

    def alias_for(self, tenant_id) -> str:
        from django.db import connections

        alias = str(tenant_id)
        if alias not in connections.settings:
            raise TenantError(f"tenant {tenant_id!r} has no database: DATABASES has no alias {alias!r}")
        return alias


class TenantDatabaseRouter:
    """A Django database router (DATABASE_ROUTERS) for the "database" applier: the
    current tenant's alias, or no opinion without a tenant."""

    def db_for_read(self, model, **hints) -> Optional[str]:
        tenant = get_current_tenant_id()
        if tenant is None:
            return None
        applier = current_applier()
        if not isinstance(applier, DatabaseAlias):
            raise TenantError("TenantDatabaseRouter needs CELERYLINT_TENANT_APPLIER = \"database\"")
        return applier.alias_for(tenant)

    db_for_write = db_for_read


APPLIERS = {"rls": RowLevelSecurity, "schema": DjangoTenantsSchema, "database": DatabaseAlias}

_cache: dict = {}


def current_applier() -> ContextApplier:
    """The configured applier (one instance per configuration)."""
    name = setting("CELERYLINT_TENANT_APPLIER", "rls")
    key = (name, setting("CELERYLINT_TENANT_SESSION_VARIABLE"), flag_setting("CELERYLINT_RLS_TRANSACTION_POOLING"))
    applier = _cache.get(key)
    if applier is None:
        applier = _cache[key] = _make(name)
    return applier


def _make(name: Any) -> ContextApplier:
    if isinstance(name, ContextApplier):
        return name
    factory = APPLIERS.get(name) if isinstance(name, str) else None
    if factory is None:
        if not isinstance(name, str) or "." not in name:
            raise ValueError(f"CELERYLINT_TENANT_APPLIER must be one of {sorted(APPLIERS)} or a dotted path, "
                             f"not {name!r}")
        factory = import_object(name)
    applier = factory() if isinstance(factory, type) else factory
    if not isinstance(applier, ContextApplier):
        raise TypeError(f"CELERYLINT_TENANT_APPLIER {name!r} is not a celerylint_runtime ContextApplier")
    return applier


def database_guard(execute, sql, params, many, context):
    """The execute wrapper every Django connection gets: the configured applier's."""
    return current_applier().execute(execute, sql, params, many, context)


def _guard(sender=None, connection=None, **kwargs) -> None:
    if connection is not None and database_guard not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, database_guard)


def connect_database_hooks() -> None:
    """Guard every Django database connection from now on (and those of this thread that
    are open already), and check the applier configuration when Django is configured.
    Idempotent; nothing to do without Django."""
    try:
        from django.db.backends.signals import connection_created
    except ImportError:
        return
    connection_created.connect(_guard, dispatch_uid="celerylint_runtime.database_guard")
    if django_settings() is None:
        return  # checked on the first connection
    current_applier()
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.connection is not None:
            _guard(connection=connection)
