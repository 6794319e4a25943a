"""Issue 11, proof at run time: the fixes of TEN001+TEN003, TEN004, TEN006, TEN007 and
TEN008 are applied by `celerylint check --fix --unsafe-fixes` to fixture task modules,
and the fixed code runs under a real `celery worker` against PostgreSQL row-level
security (tests/runtime_support.py): every fixed task sees exactly its tenant's rows.
Two projects: one using celerylint_runtime (its restore and spawner, with `install(app)`
as the runtime is meant to be wired), and one with its own helpers in seed 000's style
(its own `restore_tenant_context` setting the session variable, its own spawner), on a
worker where nothing else sets a tenant (no `install`, no runtime Django app): only the
code the fixes wrote restores the context there."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import REPO, run_cli, write_project
from runtime_support import A, B, databases, services, worker  # noqa: F401

COMMON = '''

def _seen(label, tenant_id):
    """The notes row-level security lets this task see, recorded in Redis db 2."""
    rows = sorted(Note.objects.values_list("tenant_id", flat=True))
    seen = {"label": label, "tenant_id": None if tenant_id is None else str(tenant_id), "rows": rows}
    redis.Redis.from_url(os.environ["CELERYLINT_REDIS_URL"] + "/2").rpush("fixrt", json.dumps(seen))
    return seen


@shared_task
def missing():
    return _seen("missing", None)


@shared_task
def wrong(hint, *, tenant_id=None):
    restore_tenant_context(hint)
    return _seen("wrong", tenant_id)


@shared_task
def noted(*, tenant_id=None):
    restore_tenant_context(tenant_id)
    return _seen("noted", tenant_id)


@shared_task
def relay(*, tenant_id=None):
    restore_tenant_context(tenant_id)
    return noted.delay(tenant_id=get_current_tenant_id()).id


@shared_task
def relay_tenant(name):
    tenant = Tenant.objects.get(name=name)
    return noted.delay(tenant_id=tenant.id).id


@shared_task
def all_tenants():
    for tenant in Tenant.objects.filter(name__in=["a", "b"]).order_by("name"):
        noted.delay(tenant_id=str(tenant.id))


@shared_task
def all_restoring(tenant_id=None):
    restore_tenant_context(tenant_id)
    spawn_tenant_tasks_with_rate_limiting(tenants=Tenant.objects.filter(name__in=["a", "b"]),
                                          task_callable=noted.delay, task_name="noted")
'''
HEADER = '''import json
import os

import redis
from celery import shared_task

{imports}
from tests.runtime_app.models import Note, Tenant
'''
OWN_TENANCY = '''"""The project's own tenant helpers, as seed 000 writes them."""
import threading
import uuid

from django.db import connection

_local = threading.local()


def get_current_tenant_id():
    return getattr(_local, "tenant", None)


def restore_tenant_context(tenant_id):
    if tenant_id is None:
        return
    tenant_uuid = uuid.UUID(tenant_id) if isinstance(tenant_id, str) else tenant_id
    _local.tenant = tenant_uuid
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('app.current_tenant', %s, false)", [str(tenant_uuid)])


def spawn_tenant_tasks_with_rate_limiting(tenants, task_callable, task_name, **task_kwargs):
    for tenant in tenants:
        task_callable(**task_kwargs, tenant_id=str(tenant.id))
'''
PROJECTS = {
    "fixrt_runtime": {
        "pyproject": '[project]\nname = "a"\ndependencies = ["celery", "django", "celerylint-runtime"]\n',
        "imports": "from celerylint_runtime import get_current_tenant_id, restore_tenant_context, "
                   "spawn_tenant_tasks_with_rate_limiting",
        "files": {},
    },
    "fixrt_own": {
        "pyproject": '[project]\nname = "b"\ndependencies = ["celery", "django"]\n',
        "imports": "from fixrt_own.tenancy import get_current_tenant_id, restore_tenant_context, "
                   "spawn_tenant_tasks_with_rate_limiting",
        "files": {"fixrt_own/tenancy.py": OWN_TENANCY},
    },
}
EXPECTED = {"TEN001": 1, "TEN003": 1, "TEN004": 1, "TEN006": 2, "TEN007": 1, "TEN008": 1}


def _fixed_package(tmp_path, package: str) -> tuple:
    """The project written, checked, fixed; (the folder to put on the worker's path, the
    fixed tasks source)."""
    spec = PROJECTS[package]
    files = {f"{package}/tasks.py": HEADER.format(imports=spec["imports"]) + COMMON, **spec["files"],
             "tests/runtime_app/models.py": (REPO / "tests" / "runtime_app" / "models.py").read_text()}
    root = write_project(tmp_path / package, files)
    (root / "pyproject.toml").write_text(spec["pyproject"])
    found = json.loads(run_cli("check", "--no-cache", "--format", "json", "--select", "TEN", cwd=root).stdout)
    counts: dict = {}
    for d in found["diagnostics"]:
        assert d["path"] == f"{package}/tasks.py" and d["fixable"], d
        counts[d["code"]] = counts.get(d["code"], 0) + 1
    assert counts == EXPECTED
    fixed = run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", "--select", "TEN", cwd=root)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    source = (root / package / "tasks.py").read_text()
    assert "celerylint_runtime" not in source or package == "fixrt_runtime"
    path = tmp_path / "on-path"
    path.mkdir(exist_ok=True)
    shutil.copytree(root / package, path / package)
    return path, source


def _results(module, count, timeout=30):
    import time

    import redis

    client = redis.Redis.from_url(module.REDIS_URL + "/2")
    deadline = time.monotonic() + timeout
    while client.llen("fixrt") < count and time.monotonic() < deadline:
        time.sleep(0.1)
    seen = [json.loads(item) for item in client.lrange("fixrt", 0, -1)]
    client.delete("fixrt")
    return seen


ROWS = {A: [A, A], B: [B]}


@pytest.mark.parametrize("package", ["fixrt_runtime", "fixrt_own"])
def test_fixed_tasks_see_exactly_their_tenants_rows(tmp_path, databases, package):  # noqa: F811
    path, source = _fixed_package(tmp_path, package)
    assert "def missing(*, tenant_id=None):\n    restore_tenant_context(tenant_id)\n" in source
    assert "spawn_tenant_tasks_with_rate_limiting(tenants=Tenant.objects.filter(name__in" in source
    env = {"DJANGO_SETTINGS_MODULE": "tests.runtime_app.settings", "CELERYLINT_TEST_IMPORTS": f"{package}.tasks",
           "PYTHONPATH": f"{REPO}:{REPO / 'runtime'}:{path}", "CELERY_TENANT_BATCH_SIZE": "0"}
    if package == "fixrt_own":  # nothing but the fixed code sets a tenant
        env.update(CELERYLINT_NO_INSTALL="1", CELERYLINT_TEST_WITHOUT_APP="1")
    with worker(databases, **env) as module:
        app = module.app

        def run(task, **kwargs):
            return app.send_task(f"{package}.tasks.{task}", kwargs=kwargs).get(timeout=30)

        # TEN006 first, on a worker no tenant has run on yet: "no tenant" stays None (never
        # the tenant "None", which seed 000's restore fails on), and sees no rows
        none_child = app.AsyncResult(run("relay"))
        assert none_child.get(timeout=30) == {"label": "noted", "tenant_id": None, "rows": []}
        # TEN001 + TEN003: the parameter and the restore call
        assert run("missing", tenant_id=A)["rows"] == ROWS[A]
        assert run("missing", tenant_id=B)["rows"] == ROWS[B]
        # TEN004: the restore call gets the task's tenant_id, not the hint
        assert run("wrong", hint=B, tenant_id=A)["rows"] == ROWS[A]
        _results(module, 0)
        # TEN006: the current tenant as a string; x.id as str(x.id)
        child = app.AsyncResult(run("relay", tenant_id=B)).get(timeout=30)
        assert child == {"label": "noted", "tenant_id": B, "rows": ROWS[B]}
        child = app.AsyncResult(run("relay_tenant", name="a")).get(timeout=30)
        assert child == {"label": "noted", "tenant_id": A, "rows": ROWS[A]}
        _results(module, 0)
        # TEN007: the spawner, with the loop's tenant key
        run("all_tenants")
        assert sorted((s["tenant_id"], s["rows"]) for s in _results(module, 2)) == [(A, ROWS[A]), (B, ROWS[B])]
        # TEN008: the wrapper no longer restores one tenant; each spawned task has its own
        run("all_restoring", tenant_id=B)
        assert sorted((s["tenant_id"], s["rows"]) for s in _results(module, 2)) == [(A, ROWS[A]), (B, ROWS[B])]
