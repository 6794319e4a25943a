"""The spawner's own logic with a recording stand-in for a Celery task (the real
broker and worker are in test_runtime_worker.py): batching, countdowns, the
visibility-timeout continuation, settings, and what it accepts."""

import sys
import uuid

import pytest
from celery import Celery

from celerylint_runtime import spawner
from celerylint_runtime.spawner import spawn_tenant_tasks_with_rate_limiting

from conftest import REPO


class Tenant:
    def __init__(self, pk):
        self.id = pk


def make_task(broker="redis://localhost:6379/0", visibility=None):
    app = Celery("spawner-tests", broker=broker, set_as_current=False)
    if visibility is not None:
        app.conf.broker_transport_options = {"visibility_timeout": visibility}
    sent, continued = [], []

    @app.task(name="tests.record")
    def record(**kwargs):
        pass

    record.apply_async = lambda args=None, kwargs=None, countdown=None, **o: sent.append((kwargs, countdown))
    app.send_task = lambda name, kwargs=None, countdown=None, **o: continued.append((name, kwargs, countdown))
    return record, sent, continued


@pytest.fixture(autouse=True)
def batch_env(monkeypatch):
    monkeypatch.setenv("CELERY_TENANT_BATCH_SIZE", "10")
    monkeypatch.setenv("CELERY_TENANT_BATCH_DELAY", "60")


def test_batches_get_increasing_countdowns_and_string_ids():
    task, sent, _ = make_task()
    tenants = [Tenant(uuid.UUID(int=i)) for i in range(25)]
    summary = spawn_tenant_tasks_with_rate_limiting(tenants, task.delay, "record", scheduled=True)
    assert summary == {"task": "record", "tenants": 25, "batches": 3, "last_countdown": 120.0, "continued": 0}
    assert [c for _, c in sent] == [None] * 10 + [60.0] * 10 + [120.0] * 5
    assert sent[0][0] == {"scheduled": True, "tenant_id": str(uuid.UUID(int=0))}


@pytest.mark.parametrize("size", ["0", "1"])
def test_batch_size_zero_or_one_sends_everything_at_once(monkeypatch, size):
    monkeypatch.setenv("CELERY_TENANT_BATCH_SIZE", size)
    task, sent, _ = make_task()
    summary = spawn_tenant_tasks_with_rate_limiting(["a", "b", "c"], task, "record")
    assert summary["batches"] == 1 and [c for _, c in sent] == [None, None, None]


def test_plain_callables_are_called_once_per_tenant():
    calls = []
    summary = spawn_tenant_tasks_with_rate_limiting([Tenant(1), Tenant(2)], lambda **kw: calls.append(kw), "plain",
                                                    x=1)
    assert calls == [{"tenant_id": "1", "x": 1}, {"tenant_id": "2", "x": 1}] and summary["tenants"] == 2


def test_continuation_when_countdowns_would_outlive_the_visibility_timeout():
    task, sent, continued = make_task(visibility=300)  # countdowns may reach 150 s
    summary = spawn_tenant_tasks_with_rate_limiting([f"t{i}" for i in range(45)], task.delay, "record")
    assert summary == {"task": "record", "tenants": 45, "batches": 3, "last_countdown": 120.0, "continued": 15}
    assert len(sent) == 30
    ((name, kwargs, countdown),) = continued
    assert name == spawner.CONTINUATION_TASK and countdown == 120.0
    assert kwargs["tenant_ids"] == [f"t{i}" for i in range(30, 45)] and kwargs["first_countdown"] == 60.0


def test_delay_longer_than_the_timeout_waits_in_hops():
    task, sent, continued = make_task(visibility=60)  # limit 30 s, delay 60 s
    summary = spawn_tenant_tasks_with_rate_limiting([f"t{i}" for i in range(15)], task, "record")
    assert len(sent) == 10 and summary["continued"] == 5
    assert continued[0][2] is None and continued[0][1]["first_countdown"] == 60.0
    # Run the continuation's logic as the worker would: first it hops (no batch due yet).
    spawner._send(task, continued[0][1]["tenant_ids"], "record", {}, 10, 60.0, first_countdown=60.0)
    assert len(sent) == 10 and continued[1][2] == 30.0 and continued[1][1]["first_countdown"] == 30.0
    # Then the batch is due within the limit: sent with the remaining 30 s countdown
    # (60 s after the first batch in all), and nothing continues.
    spawner._send(task, continued[1][1]["tenant_ids"], "record", {}, 10, 60.0, first_countdown=30.0)
    assert len(sent) == 15 and {c for _, c in sent[10:]} == {30.0} and len(continued) == 2


def test_amqp_has_no_visibility_limit():
    task, sent, continued = make_task(broker="amqp://localhost//")
    spawn_tenant_tasks_with_rate_limiting([f"t{i}" for i in range(200)], task, "record")
    assert continued == [] and sent[-1][1] == 19 * 60.0


@pytest.mark.parametrize("value", ["ten", "-1"])
def test_bad_settings_are_reported(monkeypatch, value):
    monkeypatch.setenv("CELERY_TENANT_BATCH_SIZE", value)
    task, _, _ = make_task()
    with pytest.raises(ValueError, match="CELERY_TENANT_BATCH_SIZE"):
        spawn_tenant_tasks_with_rate_limiting(["a"], task, "record")


def test_runtime_distribution_does_not_depend_on_libcst():
    tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
    data = tomllib.loads((REPO / "runtime" / "pyproject.toml").read_text())
    deps = data["project"]["dependencies"] + sum(data["project"].get("optional-dependencies", {}).values(), [])
    assert not any("libcst" in d for d in deps)


def test_runtime_imports_with_libcst_unavailable():
    import subprocess

    code = ("import sys; sys.modules['libcst'] = None\n"
            "import celerylint_runtime, celerylint_runtime.context, celerylint_runtime.task, "
            "celerylint_runtime.spawner, celerylint_runtime.django.apps\nprint('ok')")
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


def test_django_app_installs_propagation_into_the_configured_celery_app(tmp_path):
    import subprocess

    (tmp_path / "proj_app.py").write_text("from celery import Celery\napp = Celery('proj', set_as_current=False)\n")
    (tmp_path / "proj_settings.py").write_text(
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['celerylint_runtime.django']\nCELERYLINT_APP = 'proj_app:app'\n"
        "DATABASES = {}\n")
    code = ("import django; django.setup()\n"
            "from django.apps import apps\n"
            "from django.db.backends.signals import connection_created\n"
            "from celerylint_runtime.task import installed\n"
            "import proj_app\n"
            "print(apps.get_app_config('celerylint').name, installed(proj_app.app),"
            " any('celerylint_runtime' in str(r[0]) for r in connection_created.receivers))")
    env = {"PYTHONPATH": str(tmp_path), "DJANGO_SETTINGS_MODULE": "proj_settings", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.stdout.split() == ["celerylint_runtime.django", "True", "True"], out.stderr
