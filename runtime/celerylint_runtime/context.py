"""The current tenant: a context variable (so threads and asyncio tasks never share it)
mirrored into a PostgreSQL session variable for row-level security policies.

The session variable (default `app.current_tenant`, setting
`CELERYLINT_TENANT_SESSION_VARIABLE`) is set with `SELECT set_config(name, value,
false)` on every open PostgreSQL connection of the current thread whenever the context
changes, cleared to '' when the context is cleared, and re-applied to every new
connection (`connection_created`, which Django also sends when it hands out a pooled
connection). A reset leaves '' rather than NULL, so policies should read
`NULLIF(current_setting('app.current_tenant', true), '')`.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator, Union

logger = logging.getLogger("celerylint_runtime")

TenantId = Union[str, uuid.UUID, None]

DEFAULT_SESSION_VARIABLE = "app.current_tenant"

_current: ContextVar = ContextVar("celerylint_current_tenant_id", default=None)


def _normalise(tenant_id: object) -> TenantId:
    """A UUID string becomes a `uuid.UUID`; other strings stay strings; None is None."""
    if tenant_id is None or isinstance(tenant_id, uuid.UUID):
        return tenant_id
    if isinstance(tenant_id, str):
        try:
            return uuid.UUID(tenant_id)
        except ValueError:
            return tenant_id
    raise TypeError(f"tenant_id must be a str, a uuid.UUID or None, not {type(tenant_id).__name__}")


def get_current_tenant_id() -> TenantId:
    """The tenant of the current context (thread, asyncio task, Celery task), or None."""
    return _current.get()


def set_current_tenant_id(tenant_id: object) -> TenantId:
    """Set (or with None clear) the current tenant, and the database session variable."""
    value = _normalise(tenant_id)
    _current.set(value)
    apply_to_connections(value)
    return value


def restore_tenant_context(tenant_id: object) -> TenantId:
    """Restore the tenant a task was enqueued for (call it first in a tenant task).

    None clears the context, so nothing of a previous task's tenant survives, and logs
    a warning: a tenant-scoped task was started without a tenant."""
    if tenant_id is None:
        logger.warning("restore_tenant_context(None): running without a tenant; the tenant context is cleared")
    return set_current_tenant_id(tenant_id)


@contextmanager
def tenant_context(tenant_id: object) -> Iterator[TenantId]:
    """Run a block as `tenant_id`, then put back whatever was current before (also
    when the block raises)."""
    value = _normalise(tenant_id)
    token = _current.set(value)
    apply_to_connections(value)
    try:
        yield value
    finally:
        _current.reset(token)
        apply_to_connections(_current.get())


# --------------------------------------------------------------------------- database


def session_variable() -> str:
    settings = _django_settings()
    name = getattr(settings, "CELERYLINT_TENANT_SESSION_VARIABLE", None) if settings is not None else None
    return name or DEFAULT_SESSION_VARIABLE


def _django_settings():
    """Django's settings when Django is installed and configured, else None."""
    try:
        from django.conf import settings
    except ImportError:
        return None
    return settings if settings.configured else None


def _set_on(connection, value: TenantId) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, false)", [session_variable(), "" if value is None else str(value)])


def apply_to_connections(value: TenantId) -> None:
    """Set the session variable on this thread's open PostgreSQL connections. A
    connection that is not open yet gets it when it opens (see `connection_created`)."""
    if _django_settings() is None:
        return
    try:
        from django.db import connections
    except ImportError:  # pragma: no cover - Django without its db package
        return
    for connection in connections.all(initialized_only=True):
        if connection.vendor == "postgresql" and connection.connection is not None:
            _set_on(connection, value)


def on_connection_created(sender=None, connection=None, **kwargs) -> None:
    """Django signal handler: a new (or pooled) connection starts with the current
    tenant, or with none — never with a tenant some earlier user of it set."""
    if connection is not None and connection.vendor == "postgresql":
        _set_on(connection, _current.get())


def connect_django_signals() -> None:
    """Re-apply the tenant to every new database connection (idempotent)."""
    from django.db.backends.signals import connection_created

    connection_created.connect(on_connection_created, dispatch_uid="celerylint_runtime.connection_created")
