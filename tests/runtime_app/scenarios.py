"""Scenarios the runtime tests run in a process of their own under Django
(`python -m tests.runtime_app.scenarios NAME`, DJANGO_SETTINGS_MODULE set): each prints
one JSON object with what it observed; the tests assert on it."""

import asyncio
import json
import sys
import threading

from tests.runtime_app import celeryapp  # django.setup() and install(app)
from tests.runtime_app.celeryapp import app

from celerylint_runtime import get_current_tenant_id, tenant_context


def _notes():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM notes ORDER BY id")
        rows = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT current_setting('app.current_tenant', true)")
        return {"rows": rows, "setting": cursor.fetchone()[0], "context": _str(get_current_tenant_id())}


def _rows():
    """Only the rows (a statement naming the session variable would make the applier
    forget what it set, and set it again: it must not mask a leak here)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM notes ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def _str(value):
    return None if value is None else str(value)


def eager_rls(a, b):
    """A caller inside tenant_context(A) runs tasks eagerly in every form."""
    seen = {}
    with tenant_context(a):
        seen["before"] = _notes()
        seen["keyword"] = celeryapp.visible_notes.apply(kwargs={"tenant_id": b}).get()
        seen["after_keyword"] = _notes()
        seen["inherited"] = celeryapp.visible_notes.apply().get()
        seen["option"] = celeryapp.visible_notes.apply(tenant_id=b).get()
        seen["header"] = celeryapp.visible_notes.apply(headers={"tenant_id": b}).get()
        seen["seed_style_inherited"] = celeryapp.seed_style_notes.apply().get()
        seen["failing"] = celeryapp.fail.apply().status
        seen["after_failing"] = _notes()
        app.conf.task_always_eager = True
        try:
            seen["always_eager_option"] = celeryapp.seed_style_notes.apply_async(tenant_id=b).get()
            seen["always_eager_delay"] = celeryapp.seed_style_notes.delay().get()
        finally:
            app.conf.task_always_eager = False
        seen["after_all"] = _notes()
    seen["outside"] = _notes()
    return seen


def shared_connection_rls(a, b, rounds="6"):
    """Two asyncio tasks, one per tenant, whose queries run through
    sync_to_async(thread_sensitive=True): the same thread, so the same database
    connection, used alternately by the two contexts."""
    from asgiref.sync import sync_to_async
    from django.db import connection

    def query():
        result = _notes()
        result["pid"] = connection.connection.info.backend_pid
        result["thread"] = threading.get_ident()
        return result

    async def tenant(tenant_id, delay):
        seen = []
        with tenant_context(tenant_id):
            for _ in range(int(rounds)):
                seen.append(await sync_to_async(query)())
                await asyncio.sleep(delay)
        return seen

    async def main():
        return await asyncio.gather(tenant(a, 0.01), tenant(b, 0.013))

    first, second = asyncio.run(main())
    return {"a": first, "b": second}


def _items():
    from django.db import connection

    from tests.runtime_app.models import Item

    items = list(Item.objects.order_by("id").values_list("name", flat=True))
    return {"schema": getattr(connection, "schema_name", None), "context": _str(get_current_tenant_id()),
            "items": items}


def schema(acme, globex):
    """django-tenants: eager tasks, the caller's schema afterwards, and two contexts
    sharing one connection."""
    from asgiref.sync import sync_to_async

    seen = {"public": _items()}
    with tenant_context(acme):
        seen["caller"] = _items()
        seen["eager_globex"] = celeryapp.schema_items.apply(kwargs={"tenant_id": globex}).get()
        seen["eager_option"] = celeryapp.schema_items.apply(tenant_id=globex).get()
        seen["eager_inherited"] = celeryapp.schema_items.apply().get()
        seen["caller_after"] = _items()
    seen["outside"] = _items()

    async def tenant(tenant_id, delay):
        found = []
        with tenant_context(tenant_id):
            for _ in range(5):
                found.append(await sync_to_async(_items)())
                await asyncio.sleep(delay)
        return found

    async def main():
        return await asyncio.gather(tenant(acme, 0.01), tenant(globex, 0.013))

    seen["shared_acme"], seen["shared_globex"] = asyncio.run(main())
    return seen


def alias():
    """One database per tenant, chosen by TenantDatabaseRouter from the context."""
    from concurrent.futures import ThreadPoolExecutor

    from celerylint_runtime import carry_tenant

    seen = {"none": _items()["items"]}
    with tenant_context("t1"):
        seen["t1"] = _items()["items"]
        seen["eager_t2"] = celeryapp.schema_items.apply(kwargs={"tenant_id": "t2"}).get()["items"]
        seen["t1_after"] = _items()["items"]
        with ThreadPoolExecutor(2) as pool:
            seen["threads_carried"] = [r["items"] for r in pool.map(carry_tenant(lambda _: _items()), range(2))]
    with tenant_context("t3"):
        try:
            _items()
            seen["t3"] = "no error"
        except Exception as exc:  # noqa: BLE001
            seen["t3"] = f"{type(exc).__name__}: {exc}"
    return seen


def pgbouncer(a, b, rounds="6"):
    """Three threads, for A, for B and without a tenant, each with its own Django
    connection to pgbouncer (pool_mode = transaction, one server connection for all),
    taking turns: a query in autocommit, then a transaction of two queries, and so on."""
    from django.db import connection, transaction

    participants = [a, b, None]
    barrier = threading.Barrier(len(participants))
    seen = {str(p): [] for p in participants}

    def run(tenant_id):
        try:
            with tenant_context(tenant_id):
                for number in range(int(rounds)):
                    for turn in participants:
                        barrier.wait(timeout=30)
                        if turn != tenant_id:
                            continue
                        if number % 2:
                            with transaction.atomic():
                                seen[str(tenant_id)].append(_rows())
                                seen[str(tenant_id)].append(_rows())
                        else:
                            seen[str(tenant_id)].append(_rows())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(p,)) for p in participants]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return seen


def transactions(a, b):
    """The RLS applier inside transactions: a tenant switch in the middle of one, a
    rollback to a savepoint that undoes a local set, a full rollback, and statements
    that change the variable behind its back."""
    from django.db import connection, transaction

    seen = {}
    with tenant_context(a):
        with transaction.atomic():
            seen["txn_a"] = _rows()
            with tenant_context(b):
                seen["txn_switch_b"] = _rows()
            seen["txn_back_a"] = _rows()
    with tenant_context(b):
        with transaction.atomic():
            seen["outer_b"] = _rows()
            with tenant_context(a):
                try:
                    with transaction.atomic():  # a savepoint
                        seen["savepoint_a"] = _rows()
                        raise RuntimeError("roll back to the savepoint")
                except RuntimeError:
                    pass
                seen["after_savepoint_rollback_a"] = _rows()
            seen["outer_b_again"] = _rows()
    with tenant_context(a):
        try:
            with transaction.atomic():
                seen["rolled_back_a"] = _rows()
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        seen["after_rollback_a"] = _rows()
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('app.current_tenant', %s, false)", [b])
        seen["after_foreign_set_a"] = _rows()
        with connection.cursor() as cursor:
            cursor.execute("DISCARD ALL")
        seen["after_discard_a"] = _rows()
    seen["none"] = _rows()
    return seen


def continuation_messages():
    """The spawner over QuerySets of 42 and 27 tenants on an in-memory broker whose
    horizon allows 75 s countdowns (batches of 10 every 60 s): every continuation
    message is read back, then run as a worker would when it is due (the clock moved on
    by its countdown)."""
    import os
    import uuid as uuid_module

    from celery import Celery

    from celerylint_runtime import install, spawn_tenant_tasks_with_rate_limiting
    from celerylint_runtime.spawner import CONTINUATION_TASK
    from tests.runtime_app.models import Tenant

    os.environ.update(CELERYLINT_BROKER_HORIZON="150", CELERY_TENANT_BATCH_SIZE="10", CELERY_TENANT_BATCH_DELAY="60")
    client = Celery("continuations", broker="memory://", set_as_current=False)
    client.conf.task_default_queue = f"continuations-{uuid_module.uuid4().hex}"
    install(client)

    @client.task(name="tests.per_tenant", shared=False)
    def per_tenant(**kwargs):
        raise AssertionError("sent, never run here")

    client.finalize()
    continuation = client.tasks[CONTINUATION_TASK]
    active = Tenant.objects.filter(active=True)
    ids = sorted(active.values_list("pk", flat=True))
    result = {}
    # the same query for 42 and for 27 tenants: only a parameter differs
    for label, tenants in (("42", active.filter(pk__gte=ids[0])), ("27", active.filter(pk__gte=ids[15]))):
        summary = spawn_tenant_tasks_with_rate_limiting(tenants, per_tenant, "per_tenant", run_id=label)
        sent, sizes, continued = [], [], []
        while True:
            messages = _drain(client)
            if not messages:
                break
            for headers, body, payload in messages:
                if headers["task"] == CONTINUATION_TASK:
                    sizes.append(len(body))
                    kwargs = payload[1]
                    due = _seconds_until(headers.get("eta"))
                    kwargs["start"] -= due  # the worker runs it when due
                    continued.append(continuation.apply(kwargs=kwargs).get())
                else:
                    sent.append((payload[1]["tenant_id"], round(_seconds_until(headers.get("eta")))))
        result[label] = {"summary": summary, "sent": sent, "sizes": sizes, "continued": continued,
                         "expected": [str(pk) for pk in tenants.order_by("pk").values_list("pk", flat=True)]}
    return result


def _drain(client):
    messages = []
    with client.connection_for_read() as connection:
        queue = connection.SimpleQueue(client.conf.task_default_queue)
        while True:
            try:
                message = queue.get(timeout=0.05)
            except queue.Empty:
                break
            message.ack()
            messages.append((message.headers, message.body, message.payload))
        queue.close()
    return messages


def _seconds_until(eta):
    from datetime import datetime, timezone

    return 0.0 if eta is None else (datetime.fromisoformat(eta) - datetime.now(timezone.utc)).total_seconds()


if __name__ == "__main__":
    name, *arguments = sys.argv[1:]
    print(json.dumps(globals()[name](*arguments), default=str))
