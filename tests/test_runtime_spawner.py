"""The spawner's own logic on Kombu's in-memory broker (the messages it publishes are
read back from the queues): batches and countdowns, options, validation, signatures,
deterministic task ids, each broker's horizon, and continuations over a real PostgreSQL
QuerySet. Real workers, a routed queue and a broker outage are in test_runtime_worker.py."""

import math
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from celery import Celery

from celerylint_runtime import install, spawn_tenant_tasks_with_rate_limiting, tenant_context
from celerylint_runtime import spawner
from celerylint_runtime.spawner import SPAWN_HEADER, broker_horizon, max_countdown

from conftest import REPO
from runtime_support import databases, scenario, services  # noqa: F401


class Tenant:
    def __init__(self, pk):
        self.id = pk


@pytest.fixture
def app(monkeypatch):
    monkeypatch.setenv("CELERY_TENANT_BATCH_SIZE", "10")
    monkeypatch.setenv("CELERY_TENANT_BATCH_DELAY", "60")
    monkeypatch.delenv("CELERYLINT_BROKER_HORIZON", raising=False)
    app = Celery("spawner-tests", broker="memory://", set_as_current=False)
    app.conf.task_default_queue = f"spawner-{uuid.uuid4().hex}"
    app.conf.task_routes = {"tests.routed": {"queue": f"routed-{uuid.uuid4().hex}"}}
    install(app)
    app.called = []

    @app.task(name="tests.record", shared=False)
    def record(*args, **kwargs):
        app.called.append((args, kwargs))

    @app.task(name="tests.routed", shared=False)
    def routed(**kwargs):
        app.called.append(((), kwargs))

    app.finalize()
    return app


def published(app, queue=None):
    """[(headers, args, kwargs, properties, seconds until due or None)] in `queue`."""
    messages = []
    with app.connection_for_read() as connection:
        simple = connection.SimpleQueue(queue or app.conf.task_default_queue)
        while True:
            try:
                message = simple.get(timeout=0.05)
            except simple.Empty:
                break
            message.ack()
            eta = message.headers.get("eta")
            due = None if eta is None else (datetime.fromisoformat(eta) - datetime.now(timezone.utc)).total_seconds()
            messages.append((message.headers, message.payload[0], message.payload[1], message.properties, due))
        simple.close()
    return messages


def rounded(due):
    return None if due is None else round(due / 10) * 10


def test_batches_get_increasing_countdowns_and_string_ids(app):
    tenants = [Tenant(uuid.UUID(int=i)) for i in range(25)]
    summary = spawn_tenant_tasks_with_rate_limiting(tenants, app.tasks["tests.record"].delay, "record",
                                                    scheduled=True)
    assert {k: summary[k] for k in ("task", "tenants", "batches", "spread", "sent", "continued")} == {
        "task": "record", "tenants": 25, "batches": 3, "spread": pytest.approx(120, abs=1), "sent": 25,
        "continued": 0}
    messages = published(app)
    assert [rounded(due) for *_, due in messages] == [None] * 10 + [60] * 10 + [120] * 5
    assert messages[0][2] == {"scheduled": True, "tenant_id": str(uuid.UUID(int=0))}
    assert [m[2]["tenant_id"] for m in messages] == [str(t.id) for t in tenants]  # in the order given
    assert all(h[SPAWN_HEADER] == summary["run_id"] for h, *_ in messages)
    assert app.called == []  # sent, not run


@pytest.mark.parametrize("size", ["0", "1"])
def test_batch_size_zero_or_one_sends_everything_at_once(app, monkeypatch, size):
    monkeypatch.setenv("CELERY_TENANT_BATCH_SIZE", size)
    summary = spawn_tenant_tasks_with_rate_limiting(["a", "b", "c"], app.tasks["tests.record"], "record")
    assert summary["batches"] == 1 and summary["spread"] == 0
    assert [due for *_, due in published(app)] == [None, None, None]


def test_signatures_are_sent_never_called(app):
    record = app.tasks["tests.record"]
    for task_callable in (record.s(1, x=2), record.signature(args=(1,), kwargs={"x": 2}), record.delay,
                          record.apply_async, record):
        spawn_tenant_tasks_with_rate_limiting(["t1", "t2"], task_callable, "record", y=3)
    messages = published(app)
    assert app.called == []  # nothing ran in the caller
    assert [(tuple(args), kwargs) for _, args, kwargs, _, _ in messages[:2]] == [
        ((1,), {"x": 2, "y": 3, "tenant_id": "t1"}), ((1,), {"x": 2, "y": 3, "tenant_id": "t2"})]
    assert len(messages) == 10 and all(kwargs["y"] == 3 for _, _, kwargs, _, _ in messages)


@pytest.mark.parametrize("task_callable", [lambda **kw: None, print, "tests.record"])
def test_anything_but_a_task_is_refused(app, task_callable):
    with pytest.raises(TypeError, match="never calls them"):
        spawn_tenant_tasks_with_rate_limiting(["a"], task_callable, "record")
    assert published(app) == []


def test_tenant_id_is_the_spawners_to_pass(app):
    with pytest.raises(TypeError, match="tenant_id"):
        spawn_tenant_tasks_with_rate_limiting(["a"], app.tasks["tests.record"], "record", tenant_id="x")
    with pytest.raises(TypeError, match="tenant_id"):
        spawn_tenant_tasks_with_rate_limiting(["a"], app.tasks["tests.record"].s(tenant_id="x"), "record")


def test_ids_of_every_kind(app):
    tenants = [Tenant(7), 8, "acme", uuid.UUID(int=5), "00000000-0000-0000-0000-000000000006"]
    spawn_tenant_tasks_with_rate_limiting(tenants, app.tasks["tests.record"], "record")
    assert [kwargs["tenant_id"] for _, _, kwargs, _, _ in published(app)] == [
        7, 8, "acme", str(uuid.UUID(int=5)), str(uuid.UUID(int=6))]
    with pytest.raises(TypeError, match="cannot tell the id"):
        spawn_tenant_tasks_with_rate_limiting([object()], app.tasks["tests.record"], "record")
    with pytest.raises(TypeError):
        spawn_tenant_tasks_with_rate_limiting([1.5], app.tasks["tests.record"], "record")


def test_queue_priority_and_expires_pass_through(app):
    queue = f"other-{uuid.uuid4().hex}"
    spawn_tenant_tasks_with_rate_limiting([f"t{i}" for i in range(12)], app.tasks["tests.record"], "record",
                                          queue=queue, priority=7, expires=30)
    messages = published(app, queue)
    assert len(messages) == 12 and published(app) == []
    assert {properties["priority"] for *_, properties, _ in messages} == {7}
    for headers, *_, due in messages:
        # expires counts from when the task is due, not from the publish
        expires = (datetime.fromisoformat(headers["expires"]) - datetime.now(timezone.utc)).total_seconds()
        assert expires == pytest.approx((due or 0) + 30, abs=2)
    until = datetime.now(timezone.utc) + timedelta(hours=1)
    spawn_tenant_tasks_with_rate_limiting(["t"], app.tasks["tests.record"], "record", expires=until)
    assert datetime.fromisoformat(published(app)[0][0]["expires"]) == until


@pytest.mark.parametrize("setting, value", [
    ("CELERY_TENANT_BATCH_DELAY", "nan"), ("CELERY_TENANT_BATCH_DELAY", "inf"), ("CELERY_TENANT_BATCH_DELAY", "-1"),
    ("CELERY_TENANT_BATCH_DELAY", "soon"), ("CELERY_TENANT_BATCH_SIZE", "ten"), ("CELERY_TENANT_BATCH_SIZE", "-1"),
    ("CELERY_TENANT_BATCH_SIZE", "2.5"),
])
def test_bad_settings_are_reported(app, monkeypatch, setting, value):
    monkeypatch.setenv(setting, value)
    with pytest.raises(ValueError, match=setting):
        spawn_tenant_tasks_with_rate_limiting(["a"], app.tasks["tests.record"], "record")
    assert published(app) == []


@pytest.mark.parametrize("options", [{"expires": math.nan}, {"expires": math.inf}, {"expires": -5},
                                     {"priority": 256}, {"priority": "high"}, {"queue": ""}])
def test_bad_options_are_reported(app, options):
    with pytest.raises(ValueError):
        spawn_tenant_tasks_with_rate_limiting(["a"], app.tasks["tests.record"], "record", **options)
    assert published(app) == []


def test_task_ids_are_deterministic_per_run_tenant_and_arguments(app):
    record = app.tasks["tests.record"]

    def ids(**kwargs):
        spawn_tenant_tasks_with_rate_limiting(["a", "b"], record, "record", **kwargs)
        return [headers["id"] for headers, *_ in published(app)]

    first = ids(run_id="nightly-2024-05-01")
    assert ids(run_id="nightly-2024-05-01") == first  # a rerun of the run: the same ids
    assert len(set(first)) == 2
    assert not set(ids(run_id="nightly-2024-05-02")) & set(first)
    assert not set(ids(run_id="nightly-2024-05-01", scheduled=True)) & set(first)  # other arguments
    assert not set(ids()) & set(ids())  # outside a task and without run_id: a new run each time


def test_inside_a_task_the_run_is_the_calling_task(app):
    record = app.tasks["tests.record"]

    @app.task(name="tests.wrapper", shared=False)
    def wrapper():
        return spawn_tenant_tasks_with_rate_limiting(["a"], record, "record")["run_id"]

    assert wrapper.apply(task_id="wrapper-1").get() == "wrapper-1"  # its retries keep the id: the same run


def test_each_brokers_horizon():
    def horizon(url, **conf):
        app = Celery("horizon", broker=url, set_as_current=False)
        app.conf.update(conf)
        return broker_horizon(app), max_countdown(app)

    assert horizon("redis://localhost:6379/0") == (3600, 1800)
    assert horizon("rediss://h/0", broker_transport_options={"visibility_timeout": 300}) == (300, 150)
    assert horizon("sentinel://h:26379") == (3600, 1800)
    assert horizon("sqs://") == (1800, 900)
    assert horizon("sqs://", broker_transport_options={"visibility_timeout": 43200})[0] == 43200
    for url in ("amqp://guest@localhost//", "pyamqp://h//", "amqps://h//"):
        assert horizon(url) == (1800, 900)  # RabbitMQ's consumer_timeout
    assert horizon("redis://a;redis://b", broker_transport_options={"visibility_timeout": 60}) == (60, 30)
    assert horizon("memory://") == (None, None)
    assert horizon("filesystem://") == (None, None)
    assert horizon("redis://h/0", task_always_eager=True) == (None, None)
    with pytest.raises(ValueError, match="visibility_timeout"):
        horizon("redis://h/0", broker_transport_options={"visibility_timeout": float("nan")})


def test_horizon_setting_overrides_the_brokers(monkeypatch):
    app = Celery("horizon", broker="amqp://h//", set_as_current=False)
    monkeypatch.setenv("CELERYLINT_BROKER_HORIZON", "7200")
    assert broker_horizon(app) == 7200
    for bad in ("0", "-5", "nan", "later"):
        monkeypatch.setenv("CELERYLINT_BROKER_HORIZON", bad)
        with pytest.raises(ValueError, match="CELERYLINT_BROKER_HORIZON"):
            broker_horizon(app)


def test_listed_tenants_must_fit_within_the_horizon(app, monkeypatch):
    monkeypatch.setenv("CELERYLINT_BROKER_HORIZON", "300")  # countdowns up to 150 s
    record = app.tasks["tests.record"]
    summary = spawn_tenant_tasks_with_rate_limiting([f"t{i}" for i in range(30)], record, "record")
    assert summary["batches"] == 3 and summary["sent"] == 30 and len(published(app)) == 30
    with pytest.raises(ValueError, match="pass a QuerySet"):
        spawn_tenant_tasks_with_rate_limiting([f"t{i}" for i in range(45)], record, "record")
    assert published(app) == []  # refused before sending anything


def test_eager_mode_runs_each_task_as_its_tenant(app):
    app.conf.task_always_eager = True
    seen = []

    @app.task(name="tests.eager_seen", shared=False)
    def eager_seen(tenant_id=None):
        from celerylint_runtime import get_current_tenant_id

        seen.append((tenant_id, get_current_tenant_id()))

    with tenant_context("caller"):
        summary = spawn_tenant_tasks_with_rate_limiting([1, 2, "x"], eager_seen, "eager_seen")
        from celerylint_runtime import get_current_tenant_id

        assert get_current_tenant_id() == "caller"
    assert seen == [(1, 1), (2, 2), ("x", "x")] and summary["sent"] == 3


def test_runtime_distribution_does_not_depend_on_libcst():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    data = tomllib.loads((REPO / "runtime" / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"] + sum(data["project"].get("optional-dependencies", {}).values(), [])
    assert not any("libcst" in d for d in deps)


def test_runtime_imports_with_libcst_unavailable():
    code = ("import sys; sys.modules['libcst'] = None\n"
            "import celerylint_runtime, celerylint_runtime.context, celerylint_runtime.task, "
            "celerylint_runtime.spawner, celerylint_runtime.appliers, celerylint_runtime.django.apps\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


def test_bound_apply_async_and_delay_are_recognised_as_the_task():
    app = Celery("bound", set_as_current=False)

    @app.task(name="tests.bound")
    def bound(**kwargs):
        pass

    # `bound` is Celery's lazy proxy; what the spawner finds is the task behind it.
    assert spawner._task_of(bound.apply_async).name == "tests.bound"
    assert spawner._task_of(bound.delay).name == "tests.bound"
    assert spawner._task_of(bound).name == "tests.bound"
    assert spawner._task_of(print) is None


def test_spawning_is_quick_and_never_sleeps(app):
    started = time.perf_counter()
    spawn_tenant_tasks_with_rate_limiting([f"t{i}" for i in range(300)], app.tasks["tests.record"], "record")
    assert time.perf_counter() - started < 2.0
    assert len(published(app)) == 300


def test_continuations_carry_a_cursor_over_a_queryset_at_a_constant_size(databases):  # noqa: F811
    """Real PostgreSQL, in-memory broker with a 150 s horizon: batches of 10 every 60 s
    may be sent 75 s ahead, so each continuation sends the next batch and continues."""
    seen = scenario(databases, "continuation_messages")
    for label, tenants, continuations in (("42", 42, 3), ("27", 27, 1)):
        run = seen[label]
        assert {k: run["summary"][k] for k in ("tenants", "batches", "sent", "continued")} == {
            "tenants": tenants, "batches": math.ceil(tenants / 10), "sent": 20, "continued": tenants - 20}
        assert run["summary"]["spread"] == pytest.approx((math.ceil(tenants / 10) - 1) * 60, abs=1)
        assert [tenant for tenant, _ in run["sent"]] == run["expected"]  # each once, in id order
        assert [countdown for _, countdown in run["sent"]] == [0] * 10 + [60] * (tenants - 10)
        assert len(run["sizes"]) == continuations and [c["continued"] for c in run["continued"]][-1] == 0
    sizes = seen["42"]["sizes"] + seen["27"]["sizes"]
    assert max(sizes) - min(sizes) <= 8 and max(sizes) < 4096, sizes  # not one id more per tenant
