"""Tasks that report what they see: the tenant in context, and under Django the rows
row-level security (or the django-tenants schema) lets through on the worker's database
connection. The broker and result backend are CELERYLINT_REDIS_URL (db 0 and 1); tasks
that record their start push to the list "starts" in db 2."""

import json
import os
import threading
import time

from celery import Celery

if os.environ.get("DJANGO_SETTINGS_MODULE"):
    import django

    django.setup()

from celerylint_runtime import (
    TenantAwareTask,
    carry_tenant,
    get_current_tenant_id,
    install,
    restore_tenant_context,
    spawn_tenant_tasks_with_rate_limiting,
)

REDIS_URL = os.environ.get("CELERYLINT_REDIS_URL", "redis://127.0.0.1:56379")

app = Celery("runtime_app", broker=f"{REDIS_URL}/0", backend=f"{REDIS_URL}/1")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    broker_transport_options={"visibility_timeout": float(os.environ.get("CELERYLINT_VISIBILITY_TIMEOUT", 3600))},
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
    task_routes={"tests.runtime_app.celeryapp.routed_record": {"queue": "routed"}},
)
if not os.environ.get("CELERYLINT_TEST_POOL"):
    # Keep the worker's database connection across tasks (Celery's Django fix-up closes
    # it after every task otherwise): the reuse where a tenant could leak.
    app.conf.CELERY_DB_REUSE_MAX = 1000
if os.environ.get("CELERYLINT_TEST_IMPORTS"):  # task modules of test_fix_runtime.py (fixed by celerylint)
    app.conf.imports = tuple(os.environ["CELERYLINT_TEST_IMPORTS"].split(","))
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


def _record(kwargs, request_id):
    import redis

    client = redis.Redis.from_url(f"{REDIS_URL}/2")
    client.rpush("starts", json.dumps([time.time(), kwargs.get("tenant_id"), _current(), request_id]))


@app.task(bind=True)
def record_start(self, **kwargs):
    _record(kwargs, self.request.id)


@app.task(bind=True)
def routed_record(self, **kwargs):
    """Routed to the queue "routed" by task_routes."""
    _record(kwargs, self.request.id)


@app.task
def spawn(count, batch_size, delay):
    os.environ["CELERY_TENANT_BATCH_SIZE"] = str(batch_size)
    os.environ["CELERY_TENANT_BATCH_DELAY"] = str(delay)
    return spawn_tenant_tasks_with_rate_limiting([f"tenant-{i}" for i in range(count)], record_start, "record_start")


@app.task
def spawn_active_tenants(batch_size, delay, task="record_start", **options):
    """A beat wrapper as seed 000 writes it: every active tenant, from the database."""
    from tests.runtime_app.models import Tenant

    os.environ["CELERY_TENANT_BATCH_SIZE"] = str(batch_size)
    os.environ["CELERY_TENANT_BATCH_DELAY"] = str(delay)
    target = {"record_start": record_start, "routed_record": routed_record}[task]
    return spawn_tenant_tasks_with_rate_limiting(Tenant.objects.filter(active=True), target.delay, task, **options)


def _notes() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM notes ORDER BY id")
        rows = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT pg_backend_pid(), current_setting('app.current_tenant', true)")
        pid, setting = cursor.fetchone()
    return {"rows": rows, "pid": pid, "setting": setting, "context": _current()}


@app.task
def visible_notes(tenant_id=None):
    """Rows of `notes` that RLS shows to this connection, and the connection's state
    (no restore call: the runtime restores the tenant before the task runs)."""
    return _notes()


@app.task
def visible_notes_from_header():
    return _notes()


@app.task
def seed_style_notes(previous=None, *, tenant_id=None):
    """A task written as seed 000 and our own linter require: restore first."""
    restore_tenant_context(tenant_id)
    return (previous or []) + [_notes()]


@app.task
def visible_accounts(tenant_id=None):
    """Integer tenant keys: the tenant (and its type) and the `accounts` rows RLS shows."""
    from tests.runtime_app.models import Account

    restore_tenant_context(tenant_id)
    tenant = get_current_tenant_id()
    return {"tenant": tenant, "type": type(tenant).__name__,
            "rows": list(Account.objects.order_by("id").values_list("tenant_id", flat=True))}


@app.task
def notes_in_threads(tenant_id=None):
    """Threads started by a task: with carry_tenant they query as the task's tenant,
    without it as no tenant (a new thread starts with an empty context)."""
    from django.db import connection

    restore_tenant_context(tenant_id)
    seen = {}

    def query(name):
        try:
            seen[name] = _notes()["rows"]
        finally:
            connection.close()

    threads = [threading.Thread(target=carry_tenant(query), args=("carried",)),
               threading.Thread(target=query, args=("plain",))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


@app.task
def schema_items(tenant_id=None):
    """The connection's django-tenants schema (if any) and the `items` it sees."""
    from django.db import connection

    from tests.runtime_app.models import Item

    restore_tenant_context(tenant_id)
    items = list(Item.objects.order_by("id").values_list("name", flat=True))
    return {"schema": getattr(connection, "schema_name", None), "context": _current(), "items": items}
