"""Tenant propagation through Celery messages.

`install(app)` connects three signals:

* `before_task_publish`: stamps the tenant into the message headers — the task's
  explicit `tenant_id` keyword if given, else the current context's tenant. Retries,
  chain steps and chord bodies are published by the worker while the task's context is
  still set, so they carry the same tenant; so do `send_task` and groups.
* `task_prerun`: restores the tenant from the `tenant_id` keyword or the header before
  the task body runs (a task that declares `tenant_id` still receives it).
* `task_postrun`: clears the context after every task, successful or failed, so
  nothing leaks into the next task on that worker.

Restoring in `Task.__call__` instead would miss chain steps and chord bodies; eager
mode hides this (it never publishes), which is why the tests use a real worker.
"""

from __future__ import annotations

import logging
import weakref

from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun

from celerylint_runtime.context import get_current_tenant_id, set_current_tenant_id

logger = logging.getLogger("celerylint_runtime")

HEADER = "tenant_id"

_installed: "weakref.WeakSet" = weakref.WeakSet()


def install(app) -> None:
    """Wire tenant propagation into a Celery app (idempotent)."""
    _installed.add(app)
    before_task_publish.connect(_stamp, weak=False, dispatch_uid="celerylint_runtime.stamp")
    task_prerun.connect(_restore, weak=False, dispatch_uid="celerylint_runtime.restore")
    task_postrun.connect(_clear, weak=False, dispatch_uid="celerylint_runtime.clear")


def installed(app) -> bool:
    return app in _installed


def _explicit_tenant(body) -> object:
    """The `tenant_id` keyword of a message body (protocol 2: (args, kwargs, embed);
    protocol 1: a dict with "kwargs")."""
    kwargs = None
    if isinstance(body, (tuple, list)) and len(body) >= 2:
        kwargs = body[1]
    elif isinstance(body, dict):
        kwargs = body.get("kwargs")
    return kwargs.get("tenant_id") if isinstance(kwargs, dict) else None


def _stamp(sender=None, body=None, headers=None, **kwargs) -> None:
    if headers is None:
        return
    tenant = _explicit_tenant(body)
    if tenant is None and headers.get(HEADER) is None:
        tenant = get_current_tenant_id()
    if tenant is not None:
        headers[HEADER] = str(tenant)


def _request_tenant(task, kwargs) -> object:
    tenant = kwargs.get("tenant_id") if isinstance(kwargs, dict) else None
    if tenant is None and task is not None:
        request = task.request
        tenant = request.get(HEADER) if hasattr(request, "get") else getattr(request, HEADER, None)
        if tenant is None:
            headers = getattr(request, "headers", None) or {}
            tenant = headers.get(HEADER)
    return tenant


def _applies(task) -> bool:
    return task is not None and (isinstance(task, TenantAwareTask) or task.app in _installed)


def _restore(sender=None, task_id=None, task=None, args=None, kwargs=None, **extra) -> None:
    if _applies(task):
        set_current_tenant_id(_request_tenant(task, kwargs))


def _clear(sender=None, task_id=None, task=None, **extra) -> None:
    if _applies(task):
        set_current_tenant_id(None)


class TenantAwareTask(Task):
    """A task base that gets its tenant from the message headers and runs with that
    tenant's context restored (and cleared afterwards). Binding it to an app installs
    the propagation on that app, so `@shared_task(base=TenantAwareTask)` is enough."""

    abstract = True

    @classmethod
    def bind(cls, app):
        install(app)
        return super().bind(app)

    @property
    def tenant_id(self) -> object:
        """The tenant this task runs for (from its keyword or its message header)."""
        return get_current_tenant_id()
