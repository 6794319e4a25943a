"""celerylint-runtime: tenant context for Celery tasks in multi-tenant Django projects.

    from celerylint_runtime import restore_tenant_context

    @shared_task
    def recalculate(order_id, *, tenant_id=None):
        restore_tenant_context(tenant_id)
        ...
"""

from celerylint_runtime.appliers import ContextApplier, TenantDatabaseRouter
from celerylint_runtime.context import (
    InvalidTenantId,
    TenantError,
    carry_tenant,
    get_current_tenant_id,
    restore_tenant_context,
    set_current_tenant_id,
    tenant_context,
)
from celerylint_runtime.spawner import spawn_tenant_tasks_with_rate_limiting
from celerylint_runtime.task import TenantAwareTask, TenantNotFound, TenantSignatureMismatch, install

__version__ = "0.2.0"

__all__ = [
    "ContextApplier",
    "InvalidTenantId",
    "TenantAwareTask",
    "TenantDatabaseRouter",
    "TenantError",
    "TenantNotFound",
    "TenantSignatureMismatch",
    "carry_tenant",
    "get_current_tenant_id",
    "install",
    "restore_tenant_context",
    "set_current_tenant_id",
    "spawn_tenant_tasks_with_rate_limiting",
    "tenant_context",
]
