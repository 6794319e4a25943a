"""Tenant propagation through Celery messages.

Which tenant a task runs as: its explicit `tenant_id` keyword, else the
`apply_async(..., tenant_id=...)` option, else the `tenant_id` header, else the caller's
context at publish time. The same in a worker and in eager mode.

`install(app)` wires it in:

* `before_task_publish` writes the tenant into the message's `tenant_id` header: the
  keyword if given, else the option (which Celery would otherwise send as an unread
  message property), else a header already there, else the publishing context's tenant.
  Retries, chain steps and chord bodies are published by the worker while the task's
  context is set, so they carry the same tenant; so do `send_task` and groups. With
  `CELERYLINT_TENANT_SIGNING_KEY` the header is signed (HMAC-SHA256 over the task id,
  the task name and the tenant).
* `task_prerun` resolves the tenant (keyword, else header; in eager mode, else the
  caller's context, which is still current), checks it (type, signature,
  `CELERYLINT_TENANT_LOOKUP`) and runs the task as that tenant.
* `task_postrun` puts the context back exactly as it was before the task (contextvar
  tokens): empty in a worker, the caller's own tenant in eager mode.
* the app's task base (`app.Task`) gets an `apply` that turns the option into the
  header in eager mode, and a `before_start` that fails the task when its tenant was
  invalid, forged or unknown (Celery only logs exceptions raised in signal handlers) and
  skips a duplicate of a spawned task (see the spawner). `TenantAwareTask` has the same
  two methods, for tasks whose base is not `app.Task`.

Restoring in `Task.__call__` instead would miss chain steps and chord bodies (they are
published after the body returns); eager mode hides this, which is why the tests use a
real worker.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
import weakref

from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun

from celerylint_runtime.context import (
    TenantError,
    enter_task,
    get_current_tenant_id,
    leave_task,
    normalise_tenant_id,
)
from celerylint_runtime.settings import import_object, setting

logger = logging.getLogger("celerylint_runtime")

HEADER = "tenant_id"
SIGNATURE_HEADER = "tenant_id_signature"

_installed: "weakref.WeakSet" = weakref.WeakSet()


class TenantNotFound(TenantError, LookupError):
    """CELERYLINT_TENANT_LOOKUP found no tenant with the id a task was sent for."""


class TenantSignatureMismatch(TenantError):
    """A task's tenant header is unsigned or its signature does not match
    (CELERYLINT_TENANT_SIGNING_KEY): the message was not published by this project."""


def install(app) -> None:
    """Wire tenant propagation into a Celery app, and guard Django's database
    connections with the context applier (idempotent). Raises when the applier
    configuration is wrong (e.g. "schema" without django-tenants)."""
    from celerylint_runtime.appliers import connect_database_hooks

    connect_database_hooks()
    _installed.add(app)
    before_task_publish.connect(_stamp, weak=False, dispatch_uid="celerylint_runtime.stamp")
    task_prerun.connect(_enter, weak=False, dispatch_uid="celerylint_runtime.enter")
    task_postrun.connect(_leave, weak=False, dispatch_uid="celerylint_runtime.leave")
    _extend_task_base(app.Task)


def installed(app) -> bool:
    return app in _installed


# --------------------------------------------------------------------------- publish


def _stamp(sender=None, body=None, headers=None, properties=None, **kwargs) -> None:
    if headers is None:
        return
    option = properties.pop(HEADER, None) if isinstance(properties, dict) else None
    tenant = _keyword(body)
    if tenant is None:
        tenant = option
    if tenant is None:
        tenant = headers.get(HEADER)
    if tenant is None:
        tenant = get_current_tenant_id()
    if tenant is None:
        return
    value = header_value(tenant)
    headers[HEADER] = value
    keys = signing_keys()
    if keys:
        task_id, task_name = _identity(body, headers)
        headers[SIGNATURE_HEADER] = _signature(keys[0], task_id, task_name, value)


def header_value(tenant: object) -> object:
    """How a tenant travels in a header or keyword: a UUID as its string (JSON has no
    UUID), a str or an int as itself; anything else as it is, to fail the task (or the
    serializer) loudly."""
    return str(tenant) if isinstance(tenant, uuid.UUID) else tenant


def _keyword(body) -> object:
    """The `tenant_id` keyword of a message body (protocol 2: (args, kwargs, embed);
    protocol 1: a dict with "kwargs")."""
    kwargs = None
    if isinstance(body, (tuple, list)) and len(body) >= 2:
        kwargs = body[1]
    elif isinstance(body, dict):
        kwargs = body.get("kwargs")
    return kwargs.get(HEADER) if isinstance(kwargs, dict) else None


def _identity(body, headers) -> tuple:
    """(task id, task name) of a message, protocol 2 (headers) or 1 (body)."""
    if "id" in headers:
        return headers.get("id"), headers.get("task")
    body = body if isinstance(body, dict) else {}
    return body.get("id"), body.get("task")


def signing_keys() -> list:
    """CELERYLINT_TENANT_SIGNING_KEY as a list of byte keys: one key, or a list of keys
    in Django's settings (the first signs, any verifies: rotation). Empty: signing off."""
    value = setting("CELERYLINT_TENANT_SIGNING_KEY")
    if not value:
        return []
    values = [value] if isinstance(value, (str, bytes)) else list(value)
    return [v.encode() if isinstance(v, str) else v for v in values if v]


def _signature(key: bytes, task_id, task_name, value) -> str:
    message = "\x1f".join([str(task_id), str(task_name), type(value).__name__, str(value)])
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- run


def _applies(task) -> bool:
    return task is not None and (isinstance(task, TenantAwareTask) or task.app in _installed)


def message_header(request, name: str) -> object:
    """A header of the message a task request came from (worker or eager)."""
    value = (getattr(request, "headers", None) or {}).get(name)
    return getattr(request, name, None) if value is None else value


def _enter(sender=None, task_id=None, task=None, args=None, kwargs=None, **extra) -> None:
    if not _applies(task):
        return
    request = task.request
    try:
        tenant, error = _delivered_tenant(task, kwargs), None
    except Exception as exc:  # noqa: BLE001 - a signal handler must not raise: before_start re-raises it
        tenant, error = None, exc
        logger.error("Task %s[%s] will fail: %s", task.name, task_id, exc)
    request.celerylint_error = error
    request.celerylint_tokens = enter_task(tenant)


def _leave(sender=None, task_id=None, task=None, **extra) -> None:
    tokens = getattr(task.request, "celerylint_tokens", None) if task is not None else None
    if tokens is not None:
        task.request.celerylint_tokens = None
        leave_task(tokens)


def _delivered_tenant(task, kwargs):
    """The tenant the running task was sent for, checked."""
    request = task.request
    keyword = kwargs.get(HEADER) if isinstance(kwargs, dict) else None
    header = message_header(request, HEADER)
    if not request.is_eager:
        _verify_signature(task, keyword, header)
    tenant = keyword if keyword is not None else header
    if tenant is None and request.is_eager:
        tenant = get_current_tenant_id()  # the caller's context: eager tasks run inline
    tenant = normalise_tenant_id(tenant)
    if tenant is not None:
        _verify_exists(tenant)
    return tenant


def _verify_signature(task, keyword, header) -> None:
    keys = signing_keys()
    if not keys:
        return
    if keyword is not None and (header is None or normalise_tenant_id(keyword) != normalise_tenant_id(header)):
        raise TenantSignatureMismatch(f"the tenant_id keyword {keyword!r} is not the signed tenant header {header!r}")
    if header is None:
        return
    signature = message_header(task.request, SIGNATURE_HEADER)
    expected = [_signature(key, task.request.id, task.name, header) for key in keys]
    if not isinstance(signature, str) or not any(hmac.compare_digest(signature, e) for e in expected):
        raise TenantSignatureMismatch(
            f"the tenant header {header!r} is {'unsigned' if signature is None else 'signed with another key'}: "
            "rejected (CELERYLINT_TENANT_SIGNING_KEY)")


def _verify_exists(tenant) -> None:
    path = setting("CELERYLINT_TENANT_LOOKUP")
    if not path:
        return
    lookup = import_object(path) if isinstance(path, str) else path
    try:
        found = lookup(tenant)
    except Exception as exc:
        if isinstance(exc, LookupError) or _is_does_not_exist(exc):
            raise TenantNotFound(f"no tenant {tenant!r} ({path}: {exc})") from exc
        raise
    if not found:
        raise TenantNotFound(f"no tenant {tenant!r} ({path} found none)")


def _is_does_not_exist(exc: Exception) -> bool:
    try:
        from django.core.exceptions import ObjectDoesNotExist
    except ImportError:
        return False
    return isinstance(exc, ObjectDoesNotExist)


def check_delivery(task) -> None:
    """Fail the task whose tenant could not be resolved; skip a duplicate of a spawned
    task (called from `before_start`, where an exception fails the task)."""
    error = getattr(task.request, "celerylint_error", None)
    if error is not None:
        raise error
    from celerylint_runtime.spawner import skip_if_duplicate

    skip_if_duplicate(task)


def option_into_headers(options: dict) -> dict:
    """The `tenant_id` option of `apply` (eager mode) as the `tenant_id` header."""
    tenant = options.pop(HEADER, None)
    if tenant is not None:
        options["headers"] = {**(options.get("headers") or {}), HEADER: tenant}
    return options


def _extend_task_base(task_class) -> None:
    if task_class.__dict__.get("_celerylint_extended") or issubclass(task_class, TenantAwareTask):
        return
    base_apply, base_before_start = task_class.apply, task_class.before_start

    def apply(self, args=None, kwargs=None, *rest, **options):
        return base_apply(self, args, kwargs, *rest, **option_into_headers(options))

    def before_start(self, task_id, args, kwargs):
        check_delivery(self)
        return base_before_start(self, task_id, args, kwargs)

    task_class.apply, task_class.before_start = apply, before_start
    task_class._celerylint_extended = True


class TenantAwareTask(Task):
    """A task base that runs with the tenant it was sent for (see the module docstring)
    and fails when that tenant is invalid, forged or unknown. Binding it to an app
    installs the propagation on that app, so `@shared_task(base=TenantAwareTask)` is
    enough."""

    abstract = True

    @classmethod
    def bind(cls, app):
        install(app)
        return super().bind(app)

    def apply(self, args=None, kwargs=None, *rest, **options):
        return super().apply(args, kwargs, *rest, **option_into_headers(options))

    def before_start(self, task_id, args, kwargs):
        check_delivery(self)
        return super().before_start(task_id, args, kwargs)

    @property
    def tenant_id(self) -> object:
        """The tenant this task runs for."""
        return get_current_tenant_id()
