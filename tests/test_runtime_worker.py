"""The runtime against real services: a Redis broker, real `celery worker` processes
(not eager mode, which never publishes and so hides propagation bugs) and PostgreSQL
row-level security, as a non-superuser role, on tables with FORCE ROW LEVEL SECURITY.

Services come from scripts/services (see tests/services.py and tests/runtime_support.py)."""

from __future__ import annotations

import subprocess
import time

import pytest
from celery import chain, chord, group

from celerylint_runtime import (
    InvalidTenantId,
    TenantNotFound,
    TenantSignatureMismatch,
    spawn_tenant_tasks_with_rate_limiting,
    tenant_context,
)
from runtime_support import A, B, SPAWNED, UNKNOWN, databases, free_port, services, starts, worker  # noqa: F401

DJANGO = {"DJANGO_SETTINGS_MODULE": "tests.runtime_app.settings",
          "CELERYLINT_TENANT_LOOKUP": "tests.runtime_app.models.tenant_exists"}


@pytest.fixture(scope="module")
def tasks(databases):  # noqa: F811
    """A worker under Django (RLS applier, tenant lookup on) and the tasks module."""
    with worker(databases, **DJANGO) as module:
        yield module


@pytest.mark.parametrize("setup", ["persistent-connection", "connection-pool", "pool-without-django-app"])
def test_rls_sees_only_the_tasks_tenant_and_nothing_after(databases, setup):  # noqa: F811
    env = {"DJANGO_SETTINGS_MODULE": "tests.runtime_app.settings"}
    if setup != "persistent-connection":
        import django

        if django.VERSION < (5, 1):
            pytest.skip("Django's connection pool is new in Django 5.1")
        env["CELERYLINT_TEST_POOL"] = "1"
    if setup == "pool-without-django-app":
        env["CELERYLINT_TEST_WITHOUT_APP"] = "1"  # install(app) alone guards the connections
    with worker(databases, **env) as module:
        first = module.visible_notes.delay(tenant_id=A).get(timeout=20)
        bare = module.visible_notes.delay().get(timeout=20)
        second = module.visible_notes_from_header.apply_async(headers={"tenant_id": B}).get(timeout=20)
        after = module.visible_notes.delay().get(timeout=20)
        cycle = [A, B, None] * 20
        many = group(module.visible_notes.s(tenant_id=t) for t in cycle).delay().get(timeout=60)
    assert first["rows"] == [A, A] and first["context"] == A
    assert bare["rows"] == [] and bare["setting"] in ("", None) and bare["context"] is None
    assert bare["pid"] == first["pid"]  # the same database connection, reused: nothing leaked
    assert second["rows"] == [B] and second["context"] == B
    assert after["rows"] == []
    expected = {A: [A, A], B: [B], None: []}
    assert [result["rows"] for result in many] == [expected[t] for t in cycle]
    assert len({result["pid"] for result in many}) == 1


def test_tenant_travels_through_retry_chain_group_chord_and_send_task(tasks):
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


def test_resolution_order_keyword_option_header_context(tasks):
    with tenant_context(B):
        keyword = tasks.declares.apply_async(kwargs={"tenant_id": A}, tenant_id=B, headers={"tenant_id": B})
        option = tasks.whoami.apply_async(args=(1,), tenant_id=A)  # seed 001's option form, called inside B
        option_over_header = tasks.whoami.apply_async(tenant_id=A, headers={"tenant_id": B})
        header = tasks.whoami.apply_async(headers={"tenant_id": A})
        context = tasks.whoami.delay()
        signature_option = tasks.whoami.s().apply_async(tenant_id=A)
    assert keyword.get(timeout=20) == {"argument": A, "context": A}
    assert option.get(timeout=20) == A
    assert option_over_header.get(timeout=20) == A
    assert header.get(timeout=20) == A
    assert context.get(timeout=20) == B
    assert signature_option.get(timeout=20) == A


def test_header_and_seed_style_restore_keep_the_tenant(tasks):
    """Tasks written as seed 000 (a `tenant_id=None` keyword, restore first) keep the
    tenant that came by header, option or chain."""
    with tenant_context(A):
        chained = chain(tasks.seed_style_notes.s(), tasks.seed_style_notes.s(), tasks.seed_style_notes.s()).delay()
    header = tasks.seed_style_notes.apply_async(headers={"tenant_id": B})
    option = tasks.seed_style_notes.apply_async(tenant_id=B)
    steps = chained.get(timeout=20)
    assert [(step["rows"], step["context"]) for step in steps] == [([A, A], A)] * 3
    assert [(step["rows"], step["context"]) for step in header.get(timeout=20)] == [([B], B)]
    assert [(step["rows"], step["context"]) for step in option.get(timeout=20)] == [([B], B)]


def test_integer_tenant_keys(tasks):
    one = tasks.visible_accounts.delay(tenant_id=1)
    with tenant_context(2):
        two = tasks.visible_accounts.delay()
    option = tasks.visible_accounts.apply_async(tenant_id=1)
    assert one.get(timeout=20) == {"tenant": 1, "type": "int", "rows": [1, 1]}
    assert two.get(timeout=20) == {"tenant": 2, "type": "int", "rows": [2]}
    assert option.get(timeout=20) == {"tenant": 1, "type": "int", "rows": [1, 1]}


def test_invalid_and_unknown_tenants_fail_the_task(tasks):
    with pytest.raises(InvalidTenantId, match="float"):
        tasks.declares.apply_async(kwargs={"tenant_id": 1.5}).get(timeout=20)
    with pytest.raises(InvalidTenantId, match="bool"):
        tasks.visible_notes.apply_async(headers={"tenant_id": True}).get(timeout=20)
    with pytest.raises(TenantNotFound, match=UNKNOWN):
        tasks.declares.delay(tenant_id=UNKNOWN).get(timeout=20)
    with pytest.raises(TenantNotFound, match="5000"):
        tasks.visible_accounts.apply_async(tenant_id=5000).get(timeout=20)
    # and nothing of them is left for the next task
    assert tasks.visible_notes.delay().get(timeout=20)["rows"] == []
    assert tasks.whoami.delay().get(timeout=20) is None


def test_context_is_empty_after_every_task_including_failing_ones(tasks):
    with tenant_context(B):
        failing = tasks.fail.delay()
    with pytest.raises(RuntimeError, match=f"failing for {B}"):
        failing.get(timeout=20)
    assert tasks.whoami.delay().get(timeout=20) is None
    assert tasks.declares.delay().get(timeout=20) == {"argument": None, "context": None}


def test_threads_started_by_a_task_carry_the_tenant_with_carry_tenant(tasks):
    assert tasks.notes_in_threads.delay(tenant_id=A).get(timeout=20) == {"carried": [A, A], "plain": []}


def test_spawner_staggers_batches_without_sleeping(services, tasks, monkeypatch):  # noqa: F811
    import redis

    redis.Redis.from_url(f"{services['redis_url']}/2").delete("starts")
    monkeypatch.setenv("CELERY_TENANT_BATCH_SIZE", "10")
    monkeypatch.setenv("CELERY_TENANT_BATCH_DELAY", "1")
    tenants = SPAWNED[:30]
    started = time.time()
    summary = spawn_tenant_tasks_with_rate_limiting(tenants, tasks.record_start.delay, "record_start", note="x")
    returned = time.time() - started
    assert returned < 0.5, f"the spawner took {returned:.2f}s: it must not wait for the batches"
    assert {k: summary[k] for k in ("tenants", "batches", "sent", "continued")} == {
        "tenants": 30, "batches": 3, "sent": 30, "continued": 0}
    assert summary["spread"] == pytest.approx(2.0, abs=0.2)
    recorded = starts(services["redis_url"], 30)
    assert sorted(t for _, t, _, _ in recorded) == sorted(tenants)  # every tenant once, as a string
    assert all(ctx == tenant for _, tenant, ctx, _ in recorded)  # and its context restored
    by_tenant = {tenant: at - started for at, tenant, _, _ in recorded}
    batch_starts = [min(by_tenant[t] for t in tenants[k * 10:(k + 1) * 10]) for k in range(3)]
    gaps = [b - a for a, b in zip(batch_starts, batch_starts[1:])]
    assert all(0.6 < gap < 1.6 for gap in gaps), (batch_starts, gaps)


def test_spawner_continues_over_a_queryset_on_the_tasks_routed_queue(databases):  # noqa: F811
    """A wrapper task spawns over `Tenant.objects.filter(active=True)` (42 tenants) a
    task that task_routes sends to the queue "routed", and the only worker consumes that
    queue. With a 4 s visibility timeout countdowns may not exceed 2 s: the wrapper
    sends batches 0-2 and a continuation (routed like the task, with a cursor), which
    sends batches 3 and 4 on time."""
    import redis

    active = sorted([A, B] + SPAWNED)
    with worker(databases, queues="routed", CELERYLINT_VISIBILITY_TIMEOUT="4", **DJANGO) as module:
        started = time.time()
        summary = module.spawn_active_tenants.apply_async((10, 1), {"task": "routed_record"},
                                                          queue="routed").get(timeout=20)
        recorded = starts(databases["redis_url"], len(active), settle=1.5)
        broker = redis.Redis.from_url(f"{databases['redis_url']}/0")
        stranded = broker.llen("celery")
    assert {k: summary[k] for k in ("tenants", "batches", "sent", "continued")} == {
        "tenants": 42, "batches": 5, "sent": 30, "continued": 12}
    assert summary["spread"] == pytest.approx(4.0, abs=0.5)
    assert stranded == 0  # nothing went to the default queue, where no worker listens
    assert [t for _, t, _, _ in sorted(recorded, key=lambda r: r[1])] == active  # each once, none lost
    assert all(ctx == tenant for _, tenant, ctx, _ in recorded)
    by_tenant = {tenant: at - started for at, tenant, _, _ in recorded}
    last_batch = min(by_tenant[t] for t in active[40:])
    assert 3.4 < last_batch < 6.0, last_batch


def test_tenant_aware_task_base_alone_is_enough(services):  # noqa: F811
    """No install(app): binding a TenantAwareTask installs the propagation."""
    with worker(services, queues="aware", CELERYLINT_NO_INSTALL="1") as module:
        assert module.app.conf.task_default_queue == "celery"
        result = module.aware.apply_async(headers={"tenant_id": A}, queue="aware").get(timeout=20)
        after = module.aware.apply_async(queue="aware").get(timeout=20)
    assert result == {"property": A, "context": A}
    assert after == {"property": None, "context": None}


def test_forged_tenant_headers_are_rejected(services, monkeypatch):  # noqa: F811
    """With CELERYLINT_TENANT_SIGNING_KEY, a tenant header that the publisher did not
    sign with the key (or that someone with access to the broker changed) fails the task."""
    from celery.signals import before_task_publish

    monkeypatch.setenv("CELERYLINT_TENANT_SIGNING_KEY", "first-key")
    with worker(services, queues="signed", CELERYLINT_TENANT_SIGNING_KEY="first-key") as module:
        def send(task, **options):
            return task.apply_async(queue="signed", **options)

        signed = [send(module.declares, kwargs={"tenant_id": A}), send(module.whoami, headers={"tenant_id": B}),
                  send(module.whoami, tenant_id=A), send(module.whoami)]
        with tenant_context(B):
            signed.append(send(module.whoami))
        assert [r.get(timeout=20) for r in signed] == [{"argument": A, "context": A}, B, A, None, B]

        forged = []
        monkeypatch.setenv("CELERYLINT_TENANT_SIGNING_KEY", "another-key")
        forged.append(send(module.whoami, headers={"tenant_id": B}))
        monkeypatch.delenv("CELERYLINT_TENANT_SIGNING_KEY")
        forged.append(send(module.whoami, headers={"tenant_id": B}))  # unsigned
        monkeypatch.setenv("CELERYLINT_TENANT_SIGNING_KEY", "first-key")

        def tamper(sender=None, headers=None, body=None, **kwargs):
            if headers.get("tamper") == "header":
                headers["tenant_id"] = B
            elif headers.get("tamper") == "keyword":
                body[1]["tenant_id"] = B

        before_task_publish.connect(tamper)  # runs after the runtime has signed
        try:
            forged.append(send(module.whoami, tenant_id=A, headers={"tamper": "header"}))
            forged.append(send(module.declares, kwargs={"tenant_id": A}, headers={"tamper": "keyword"}))
        finally:
            before_task_publish.disconnect(tamper)
        for result in forged:
            with pytest.raises(TenantSignatureMismatch):
                result.get(timeout=20)
        assert send(module.whoami).get(timeout=20) is None


@pytest.fixture
def persistent_redis(tmp_path):
    """A Redis of its own that keeps its data across a restart (append-only file)."""
    import redis

    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--daemonize", "yes", "--save", "",
               "--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path),
               "--pidfile", str(tmp_path / "redis.pid"), "--logfile", str(tmp_path / "redis.log")]
    url = f"redis://127.0.0.1:{port}"

    def start():
        subprocess.run(command, check=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop():
        subprocess.run(["redis-cli", "-p", str(port), "shutdown"], capture_output=True)

    start()
    yield url, start, stop
    stop()


def test_broker_outage_mid_spawn_then_a_rerun_neither_duplicates_nor_loses(services, persistent_redis):  # noqa: F811
    """Redis stops after 25 of 60 messages; the spawner fails. Redis restarts (with the
    25), the same run is spawned again (60 messages, 25 of them copies), then a worker
    (4 threads) takes them all: each tenant's task starts exactly once."""
    from celery import Celery
    from celery.signals import before_task_publish

    from celerylint_runtime import install

    url, start_redis, stop_redis = persistent_redis
    client = Celery("outage-client", broker=f"{url}/0", backend=f"{url}/1", set_as_current=False)
    client.conf.update(task_serializer="json", accept_content=["json"],
                       task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2})
    install(client)

    @client.task(name="tests.runtime_app.celeryapp.record_start", shared=False)
    def record_start(**kwargs):
        raise AssertionError("runs in the worker, never here")

    tenants = [f"tenant-{i:02d}" for i in range(60)]
    published = []

    def drop_broker_after_25(sender=None, headers=None, **kwargs):
        if sender == record_start.name:
            published.append(headers["id"])
            if len(published) == 26:
                stop_redis()

    environment = {"CELERY_TENANT_BATCH_SIZE": "10", "CELERY_TENANT_BATCH_DELAY": "0.5"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        before_task_publish.connect(drop_broker_after_25)
        try:
            with pytest.raises(Exception) as outage:
                spawn_tenant_tasks_with_rate_limiting(tenants, record_start, "record_start", run_id="outage-run")
        finally:
            before_task_publish.disconnect(drop_broker_after_25)
        assert "Connection" in repr(outage.value) or "connect" in str(outage.value).lower(), outage.value
        start_redis()
        summary = spawn_tenant_tasks_with_rate_limiting(tenants, record_start, "record_start", run_id="outage-run")
    assert summary["sent"] == 60
    with worker(services, redis_url=url, flush=False, pool="threads", **environment) as module:
        recorded = starts(url, 60, settle=3.0)
        log = module.worker_log.read_text()
    assert sorted(t for _, t, _, _ in recorded) == tenants, "duplicated or lost"
    assert all(ctx == tenant for _, tenant, ctx, _ in recorded)
    assert log.count("already started from another copy of this message: skipped") == 25, log[-3000:]
