"""Async views that query as a tenant while other requests run concurrently: through
Django's async ORM (the request's thread), through sync_to_async(thread_sensitive=False)
(a thread pool shared by all requests, each thread keeping its database connection),
and several tenants at once in one request (asyncio.gather: one thread, one connection,
several contexts)."""

import asyncio
import threading

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import JsonResponse

from celerylint_runtime import tenant_context
from tests.runtime_app.models import Note


def _raw_rows() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM notes ORDER BY id")
        rows = [row[0] for row in cursor.fetchall()]
    return {"rows": rows, "pid": connection.connection.info.backend_pid, "thread": threading.get_ident()}


async def _observe(tenant, rounds: int, pause: float) -> list:
    seen = []
    with tenant_context(tenant):
        for _ in range(rounds):
            orm = [tenant_id async for tenant_id in Note.objects.order_by("id").values_list("tenant_id", flat=True)]
            seen.append({"via": "orm", "rows": orm})
            seen.append({"via": "pool", **await sync_to_async(_raw_rows, thread_sensitive=False)()})
            seen.append({"via": "request-thread", **await sync_to_async(_raw_rows)()})
            await asyncio.sleep(pause)
    return seen


async def notes(request):
    tenant = request.GET.get("tenant") or None
    seen = await _observe(tenant, int(request.GET.get("rounds", "5")), float(request.GET.get("pause", "0.01")))
    return JsonResponse({"tenant": tenant, "seen": seen})


async def dashboard(request):
    tenants = request.GET["tenants"].split(",")
    results = await asyncio.gather(*(_observe(t, int(request.GET.get("rounds", "5")), 0.005 * (i + 1))
                                     for i, t in enumerate(tenants)))
    return JsonResponse({"tenants": dict(zip(tenants, results))})
