"""`spawn_tenant_tasks_with_rate_limiting`: enqueue one task per tenant in batches,
without ever sleeping in the caller.

Batch k is sent with `countdown = k × CELERY_TENANT_BATCH_DELAY`, so the call returns
at once and the broker releases the batches over time. A countdown longer than the
broker's visibility timeout makes Redis and SQS redeliver the message (the task then
runs twice), so the spawner sends only the batches whose countdown stays within half of
it and enqueues a continuation task, due when the last of those batches is, that sends
the rest the same way: 10,000 tenants are fine.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any, Callable, Iterable

from celery import Task, shared_task

logger = logging.getLogger("celerylint_runtime.spawner")

DEFAULT_BATCH_SIZE = 10
DEFAULT_BATCH_DELAY = 60.0
# Kombu's defaults when broker_transport_options sets no visibility_timeout.
DEFAULT_VISIBILITY_TIMEOUT = {"redis": 3600.0, "rediss": 3600.0, "sentinel": 3600.0, "sqs": 1800.0}
CONTINUATION_TASK = "celerylint_runtime.spawn_continuation"


def _setting(name: str, default: float, cast: Callable[[Any], Any]) -> Any:
    """Django settings when Django is configured, else the environment."""
    value = None
    try:
        from django.conf import settings

        if settings.configured:
            value = getattr(settings, name, None)
    except ImportError:
        pass
    if value is None:
        value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        result = cast(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if result < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return result


def batch_settings() -> tuple[int, float]:
    """(CELERY_TENANT_BATCH_SIZE, CELERY_TENANT_BATCH_DELAY)."""
    return (_setting("CELERY_TENANT_BATCH_SIZE", DEFAULT_BATCH_SIZE, int),
            _setting("CELERY_TENANT_BATCH_DELAY", DEFAULT_BATCH_DELAY, float))


def _task_of(task_callable: Any) -> Task | None:
    """The Celery task behind a task, its bound `.delay` / `.apply_async`, or None."""
    if isinstance(task_callable, Task):
        return task_callable
    owner = getattr(task_callable, "__self__", None)
    if isinstance(owner, Task):
        return owner
    return None


def _tenant_id(tenant: Any) -> str:
    if isinstance(tenant, (str, uuid.UUID, int)):
        return str(tenant)
    for attribute in ("id", "pk"):
        value = getattr(tenant, attribute, None)
        if value is not None:
            return str(value)
    raise TypeError(f"cannot tell the id of tenant {tenant!r}")


def max_countdown(app) -> float | None:
    """Half the broker's visibility timeout (Redis, SQS), or None when the broker
    does not redeliver delayed messages (AMQP)."""
    url = str(app.conf.broker_url or "")
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else ""
    if scheme not in DEFAULT_VISIBILITY_TIMEOUT:
        return None
    options = app.conf.broker_transport_options or {}
    timeout = float(options.get("visibility_timeout") or DEFAULT_VISIBILITY_TIMEOUT[scheme])
    return timeout / 2


def spawn_tenant_tasks_with_rate_limiting(tenants: Iterable[Any], task_callable: Any, task_name: str,
                                          **task_kwargs: Any) -> dict:
    """Enqueue `task_callable` once per tenant with `tenant_id=str(tenant.id)` plus
    `task_kwargs`, `CELERY_TENANT_BATCH_SIZE` at a time (0 or 1: all at once), batch k
    with a countdown of k × `CELERY_TENANT_BATCH_DELAY` seconds. A plain callable
    (not a Celery task) is called once per tenant. Returns a summary."""
    ids = [_tenant_id(t) for t in tenants]
    size, delay = batch_settings()
    task = _task_of(task_callable)
    if task is None:
        for tenant_id in ids:
            task_callable(tenant_id=tenant_id, **task_kwargs)
        logger.info("Called %s for %d tenants", task_name, len(ids))
        return {"task": task_name, "tenants": len(ids), "batches": 1 if ids else 0, "last_countdown": 0.0,
                "continued": 0}
    return _send(task, ids, task_name, task_kwargs, size, delay, first_countdown=0.0)


def _send(task: Task, ids: list[str], task_name: str, task_kwargs: dict, size: int, delay: float,
          first_countdown: float) -> dict:
    if size <= 1:
        size = max(len(ids), 1)
        delay = 0.0
    batches = [ids[i:i + size] for i in range(0, len(ids), size)]
    limit = max_countdown(task.app)
    if limit is not None and first_countdown > limit and ids:
        # Not due within the visibility timeout yet (a batch delay longer than half of
        # it): wait in hops that each stay within it.
        _continue(task, ids, task_name, task_kwargs, size, delay, due=limit, first_countdown=first_countdown - limit)
        return {"task": task_name, "tenants": len(ids), "batches": 0, "last_countdown": 0.0, "continued": len(ids)}
    last_countdown = 0.0
    for number, batch in enumerate(batches):
        countdown = first_countdown + number * delay
        if limit is not None and countdown > limit:
            # The rest would outlive the broker's visibility timeout: a continuation,
            # due with the last batch sent, sends it from there.
            rest = [tenant for later in batches[number:] for tenant in later]
            _continue(task, rest, task_name, task_kwargs, size, delay, due=last_countdown,
                      first_countdown=countdown - last_countdown)
            return {"task": task_name, "tenants": len(ids), "batches": number, "last_countdown": last_countdown,
                    "continued": len(rest)}
        for tenant_id in batch:
            task.apply_async(kwargs={**task_kwargs, "tenant_id": tenant_id}, countdown=countdown or None)
        last_countdown = countdown
        logger.info("Spawning %s: batch %d/%d, %d tenants, countdown %ss", task_name, number + 1, len(batches),
                    len(batch), countdown)
    return {"task": task_name, "tenants": len(ids), "batches": len(batches), "last_countdown": last_countdown,
            "continued": 0}


def _continue(task: Task, ids: list[str], task_name: str, task_kwargs: dict, size: int, delay: float,
              due: float, first_countdown: float) -> None:
    task.app.send_task(CONTINUATION_TASK, kwargs={
        "task": task.name, "tenant_ids": ids, "task_name": task_name, "task_kwargs": task_kwargs,
        "batch_size": size, "batch_delay": delay, "first_countdown": first_countdown,
    }, countdown=due or None)
    logger.info("Spawning %s: %d tenants left for a continuation due in %ss", task_name, len(ids), due)


@shared_task(name=CONTINUATION_TASK)
def spawn_continuation(task: str, tenant_ids: list, task_name: str, task_kwargs: dict, batch_size: int,
                       batch_delay: float, first_countdown: float) -> dict:
    """Send the batches a spawner could not schedule within the visibility timeout."""
    from celery import current_app

    target = current_app.tasks[task]
    return _send(target, list(tenant_ids), task_name, dict(task_kwargs), batch_size, batch_delay, first_countdown)
