"""Tasks that report what they see: the tenant in context, and under Django the rows
row-level security lets through on the worker's database connection."""

import json
import os
import time

from celery import Celery

if os.environ.get("DJANGO_SETTINGS_MODULE"):
    import django

    django.setup()

from celerylint_runtime import TenantAwareTask, get_current_tenant_id, install, spawn_tenant_tasks_with_rate_limiting

REDIS_URL = os.environ.get("CELERYLINT_REDIS_URL", "redis://127.0.0.1:56379")

app = Celery("runtime_app", broker=f"{REDIS_URL}/0", backend=f"{REDIS_URL}/1")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_transport_options={"visibility_timeout": float(os.environ.get("CELERYLINT_VISIBILITY_TIMEOUT", 3600))},
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)
if not os.environ.get("CELERYLINT_TEST_POOL"):
    # Keep the worker's database connection across tasks (Celery's Django fix-up closes
    # it after every task otherwise): the reuse where a tenant could leak.
    app.conf.CELERY_DB_REUSE_MAX = 1000
if not os.environ.get("CELERYLINT_NO_INSTALL"):
    install(app)  # else only the TenantAwareTask base below installs the propagation


def _current() -> str | None:
    tenant = get_current_tenant_id()
    return None if tenant is None else str(tenant)


@app.task
def whoami(*args, **kwargs):
    return _current()


@app.task(base=TenantAwareTask, bind=True)
def aware(self):
    return {"property": None if self.tenant_id is None else str(self.tenant_id), "context": _current()}


@app.task
def declares(tenant_id=None):
    return {"argument": tenant_id, "context": _current()}


@app.task(bind=True, max_retries=2)
def flaky(self):
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return {"retries": self.request.retries, "context": _current()}


@app.task
def fail():
    raise RuntimeError(f"failing for {_current()}")


@app.task
def step(previous=None):
    return (previous or []) + [_current()]


@app.task
def collect(results):
    return {"results": results, "context": _current()}


@app.task
def record_start(**kwargs):
    import redis

    client = redis.Redis.from_url(f"{REDIS_URL}/2")
    client.rpush("starts", json.dumps([time.time(), kwargs.get("tenant_id"), _current()]))


@app.task
def spawn(count, batch_size, delay):
    os.environ["CELERY_TENANT_BATCH_SIZE"] = str(batch_size)
    os.environ["CELERY_TENANT_BATCH_DELAY"] = str(delay)
    return spawn_tenant_tasks_with_rate_limiting([f"tenant-{i}" for i in range(count)], record_start, "record_start")


@app.task
def visible_notes(tenant_id=None):
    """Rows of `notes` that RLS shows to this connection, and the connection's state."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM notes ORDER BY id")
        rows = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT pg_backend_pid(), current_setting('app.current_tenant', true)")
        pid, setting = cursor.fetchone()
    return {"rows": rows, "pid": pid, "setting": setting, "context": _current()}


@app.task
def visible_notes_from_header():
    return visible_notes()
