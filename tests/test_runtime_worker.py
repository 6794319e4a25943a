"""The runtime against real services: a Redis broker, a real `celery worker` process
(not eager mode, which never publishes and so hides propagation bugs) and PostgreSQL
row-level security, as a non-superuser role, on tables with FORCE ROW LEVEL SECURITY.

Services come from scripts/services (see tests/services.py)."""

from __future__ import annotations

import contextlib
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO
from services import services  # noqa: F401  (fixture)

A = "0b8a5f1e-1c3f-4f57-9d0e-6f1b2a3c4d5e"
B = "7d2c9e4a-8b1f-4e3d-a6c5-2f9e8d7c6b5a"


@pytest.fixture(scope="module")
def rls_database(services):  # noqa: F811
    """A database `celerylint_rls` with table `notes` (two tenants' rows) behind a
    row-level security policy on `app.current_tenant`, readable by the role `app`."""
    import psycopg

    dsn = dict(host=services["pg_host"], port=services["pg_port"], user="postgres")
    with psycopg.connect(dbname="postgres", autocommit=True, **dsn) as admin:
        admin.execute("DROP DATABASE IF EXISTS celerylint_rls")
        admin.execute("CREATE DATABASE celerylint_rls")
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'app'").fetchone():
            admin.execute("CREATE ROLE app LOGIN NOSUPERUSER NOBYPASSRLS")
    with psycopg.connect(dbname="celerylint_rls", autocommit=True, **dsn) as owner:
        owner.execute("CREATE TABLE notes (id serial PRIMARY KEY, tenant_id text NOT NULL, body text)")
        owner.execute("ALTER TABLE notes ENABLE ROW LEVEL SECURITY")
        owner.execute("ALTER TABLE notes FORCE ROW LEVEL SECURITY")
        owner.execute("CREATE POLICY tenant_isolation ON notes "
                      "USING (tenant_id = NULLIF(current_setting('app.current_tenant', true), ''))")
        owner.execute("GRANT SELECT ON notes TO app")
        owner.execute("INSERT INTO notes (tenant_id, body) VALUES (%s, 'a1'), (%s, 'a2'), (%s, 'b1')", [A, A, B])
    return services


@contextlib.contextmanager
def worker(services, queues="celery", **env):  # noqa: F811
    """A `celery worker` process (solo pool: every task on the same thread and database
    connection) on the test app, and the app to send it tasks."""
    import redis

    os.environ["CELERYLINT_REDIS_URL"] = services["redis_url"]
    for db in (0, 1, 2):
        redis.Redis.from_url(f"{services['redis_url']}/{db}").flushdb()
    environment = dict(os.environ, PYTHONPATH=str(REPO), CELERYLINT_PG_HOST=services["pg_host"],
                       CELERYLINT_PG_PORT=str(services["pg_port"]), **env)
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"celerylint-worker-{os.getpid()}.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.runtime_app.celeryapp", "worker", "--pool=solo",
         "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-Q", queues, "-n", f"runtime-{os.getpid()}-{queues}@localhost"],
        cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)
    sys.path.insert(0, str(REPO))
    try:
        module = importlib.import_module("tests.runtime_app.celeryapp")
        app = module.app
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("the worker did not start:\n" + Path(log.name).read_text()[-3000:])
        yield module
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        if str(REPO) in sys.path:
            sys.path.remove(str(REPO))


@pytest.mark.parametrize("pool", [False, True], ids=["persistent-connection", "connection-pool"])
def test_rls_sees_only_the_tasks_tenant_and_nothing_after(rls_database, pool):
    env = {"DJANGO_SETTINGS_MODULE": "tests.runtime_app.settings"}
    if pool:
        import django

        if django.VERSION < (5, 1):
            pytest.skip("Django's connection pool is new in Django 5.1")
        env["CELERYLINT_TEST_POOL"] = "1"
    with worker(rls_database, **env) as tasks:
        first = tasks.visible_notes.delay(tenant_id=A).get(timeout=20)
        bare = tasks.visible_notes.delay().get(timeout=20)
        second = tasks.visible_notes_from_header.apply_async(headers={"tenant_id": B}).get(timeout=20)
        after_failure = tasks.visible_notes.delay().get(timeout=20)
    assert first["rows"] == [A, A] and first["context"] == A
    assert bare["rows"] == [] and bare["setting"] in ("", None) and bare["context"] is None
    assert bare["pid"] == first["pid"]  # the same database connection, reused: nothing leaked
    assert second["rows"] == [B] and second["context"] == B
    assert after_failure["rows"] == []


@pytest.fixture(scope="module")
def celery_worker_tasks(services):  # noqa: F811
    with worker(services) as tasks:
        yield tasks


def test_tenant_travels_through_retry_chain_group_chord_and_send_task(celery_worker_tasks):
    from celery import chain, chord, group

    from celerylint_runtime import tenant_context

    tasks = celery_worker_tasks
    with tenant_context(A):
        retried = tasks.flaky.delay()
        chained = chain(tasks.step.s(), tasks.step.s(), tasks.step.s()).delay()
        grouped = group(tasks.whoami.s() for _ in range(3)).delay()
        chorded = chord([tasks.whoami.s() for _ in range(3)], tasks.collect.s()).delay()
        sent = tasks.app.send_task("tests.runtime_app.celeryapp.whoami")
    explicit = tasks.declares.delay(tenant_id=B)  # explicit keyword, outside any context
    assert retried.get(timeout=20) == {"retries": 1, "context": A}
    assert chained.get(timeout=20) == [A, A, A]
    assert grouped.get(timeout=20) == [A, A, A]
    assert chorded.get(timeout=20) == {"results": [A, A, A], "context": A}
    assert sent.get(timeout=20) == A
    assert explicit.get(timeout=20) == {"argument": B, "context": B}


def test_context_is_empty_after_every_task_including_failing_ones(celery_worker_tasks):
    from celerylint_runtime import tenant_context

    tasks = celery_worker_tasks
    with tenant_context(B):
        failing = tasks.fail.delay()
    with pytest.raises(RuntimeError, match=f"failing for {B}"):
        failing.get(timeout=20)
    assert tasks.whoami.delay().get(timeout=20) is None
    assert tasks.declares.delay().get(timeout=20) == {"argument": None, "context": None}


def _starts(services, expected, timeout=30):  # noqa: F811
    import json

    import redis

    client = redis.Redis.from_url(f"{services['redis_url']}/2")
    deadline = time.monotonic() + timeout
    while client.llen("starts") < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return [json.loads(item) for item in client.lrange("starts", 0, -1)]


def test_spawner_staggers_batches_without_sleeping(services, celery_worker_tasks, monkeypatch):  # noqa: F811
    import redis

    from celerylint_runtime import spawn_tenant_tasks_with_rate_limiting

    tasks = celery_worker_tasks
    redis.Redis.from_url(f"{services['redis_url']}/2").delete("starts")
    monkeypatch.setenv("CELERY_TENANT_BATCH_SIZE", "10")
    monkeypatch.setenv("CELERY_TENANT_BATCH_DELAY", "1")
    tenants = [f"tenant-{i:02d}" for i in range(50)]
    started = time.time()
    summary = spawn_tenant_tasks_with_rate_limiting(tenants, tasks.record_start.delay, "record_start", note="x")
    returned = time.time() - started
    assert returned < 0.5, f"the spawner took {returned:.2f}s: it must not wait for the batches"
    assert summary == {"task": "record_start", "tenants": 50, "batches": 5, "last_countdown": 4.0, "continued": 0}
    starts = _starts(services, 50)
    assert sorted(t for _, t, _ in starts) == tenants  # every tenant once, as a string
    assert all(ctx == tenant for _, tenant, ctx in starts)  # and its context restored
    by_tenant = {tenant: at - started for at, tenant, _ in starts}
    batch_starts = [min(by_tenant[t] for t in tenants[k * 10:(k + 1) * 10]) for k in range(5)]
    gaps = [b - a for a, b in zip(batch_starts, batch_starts[1:])]
    assert all(0.6 < gap < 1.6 for gap in gaps), (batch_starts, gaps)
    assert 3.4 < batch_starts[-1] < 6.0, batch_starts


def test_spawner_continues_past_the_visibility_timeout(services):  # noqa: F811
    """With a 4 s visibility timeout, countdowns may not exceed 2 s: the spawner sends
    the first batches and a continuation (run by the worker) sends the rest on time."""
    import redis

    redis.Redis.from_url(f"{services['redis_url']}/2").delete("starts")
    # Its own queue: the module's other worker (a 3600 s timeout) must not take it.
    with worker(services, queues="celery,short-visibility", CELERYLINT_VISIBILITY_TIMEOUT="4") as tasks:
        started = time.time()
        summary = tasks.spawn.apply_async((50, 10, 1), queue="short-visibility").get(timeout=20)
        starts = _starts(services, 50)
    assert summary == {"task": "record_start", "tenants": 50, "batches": 3, "last_countdown": 2.0, "continued": 20}
    assert sorted(t for _, t, _ in starts) == sorted(f"tenant-{i}" for i in range(50))
    assert len(set(t for _, t, _ in starts)) == 50  # no duplicates
    latest = max(at for at, _, _ in starts) - started
    assert 3.4 < latest < 7.0, latest


def test_tenant_aware_task_base_alone_is_enough(services):  # noqa: F811
    """No install(app): binding a TenantAwareTask installs the propagation."""
    with worker(services, queues="aware", CELERYLINT_NO_INSTALL="1") as tasks:
        assert tasks.app.conf.task_default_queue == "celery"
        result = tasks.aware.apply_async(headers={"tenant_id": A}, queue="aware").get(timeout=20)
        after = tasks.aware.apply_async(queue="aware").get(timeout=20)
    assert result == {"property": A, "context": A}
    assert after == {"property": None, "context": None}
