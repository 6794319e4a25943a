"""Which tenant a task runs as, without services: the publish side on Kombu's in-memory
broker (the messages are read back from the queue, as a worker would receive them) and
eager mode (`.apply()`, `task_always_eager`), where the task runs inline in the caller.
The same rules with a real worker, Redis and PostgreSQL are in test_runtime_worker.py."""

import logging
import os
import subprocess
import sys
import uuid

import pytest
from celery import Celery

from celerylint_runtime import (
    InvalidTenantId,
    TenantAwareTask,
    TenantNotFound,
    get_current_tenant_id,
    install,
    restore_tenant_context,
    set_current_tenant_id,
    tenant_context,
)
from celerylint_runtime.task import SIGNATURE_HEADER

from conftest import REPO

A = "0b8a5f1e-1c3f-4f57-9d0e-6f1b2a3c4d5e"


def known_tenant(tenant_id):
    """CELERYLINT_TENANT_LOOKUP of these tests: tenants "acme" and 42 exist."""
    return tenant_id in ("acme", 42)


@pytest.fixture(scope="module")
def app():
    app = Celery("tasks-tests", broker="memory://", backend="cache+memory://", set_as_current=False)
    app.conf.task_default_queue = f"tasks-tests-{uuid.uuid4().hex}"
    install(app)
    app.ran = []

    @app.task(name="tests.report")
    def report(*args, **kwargs):
        app.ran.append(kwargs)
        tenant = get_current_tenant_id()
        return None if tenant is None else str(tenant)

    @app.task(name="tests.seed_style")
    def seed_style(*, tenant_id=None):
        restore_tenant_context(tenant_id)
        return str(get_current_tenant_id())

    @app.task(name="tests.switches")
    def switches():
        restore_tenant_context("switched")
        return str(get_current_tenant_id())

    @app.task(name="tests.aware", base=TenantAwareTask)
    def aware(**kwargs):
        app.ran.append(kwargs)
        return str(get_current_tenant_id())

    app.finalize()
    return app


@pytest.fixture(autouse=True)
def clean(app, monkeypatch):
    for name in ("CELERYLINT_TENANT_LOOKUP", "CELERYLINT_TENANT_SIGNING_KEY"):
        monkeypatch.delenv(name, raising=False)
    set_current_tenant_id(None)
    app.ran.clear()
    yield
    app.conf.task_always_eager = False
    set_current_tenant_id(None)


def published(app):
    """The messages in the app's default queue: [(headers, kwargs, properties)]."""
    messages = []
    with app.connection_for_read() as connection:
        queue = connection.SimpleQueue(app.conf.task_default_queue)
        while True:
            try:
                message = queue.get(timeout=0.05)
            except queue.Empty:
                break
            message.ack()
            messages.append((message.headers, message.payload[1], message.properties))
        queue.close()
    return messages


def test_publish_resolution_order_keyword_option_header_context(app):
    report = app.tasks["tests.report"]
    with tenant_context("context"):
        report.apply_async(kwargs={"tenant_id": "keyword"}, tenant_id="option", headers={"tenant_id": "header"})
        report.apply_async(tenant_id="option", headers={"tenant_id": "header"})
        report.apply_async(args=(1,), tenant_id="acme")  # seed 001's option form
        report.apply_async(headers={"tenant_id": "header"})
        report.delay()
        app.send_task("tests.report", tenant_id="sent")
    report.delay()  # no tenant anywhere: no header
    messages = published(app)
    assert [h.get("tenant_id") for h, _, _ in messages] == [
        "keyword", "option", "acme", "header", "context", "sent", None]
    # The option is not left as a message property that nothing reads.
    assert all("tenant_id" not in properties for _, _, properties in messages)


def test_tenant_ids_keep_their_type_on_the_wire(app):
    report = app.tasks["tests.report"]
    with tenant_context(42):
        report.delay()
    with tenant_context(uuid.UUID(A)):
        report.delay()
    report.apply_async(tenant_id=7)
    assert [h["tenant_id"] for h, _, _ in published(app)] == [42, A, 7]


def test_signed_headers(app, monkeypatch):
    monkeypatch.setenv("CELERYLINT_TENANT_SIGNING_KEY", "secret")
    report = app.tasks["tests.report"]
    first = report.apply_async(tenant_id="acme")
    second = report.apply_async(tenant_id="acme")
    report.delay()  # nothing to sign
    (h1, _, _), (h2, _, _), (h3, _, _) = published(app)
    assert len(h1[SIGNATURE_HEADER]) == 64 and h1[SIGNATURE_HEADER] != h2[SIGNATURE_HEADER]  # bound to the task id
    assert h1["id"] == first.id and h2["id"] == second.id and SIGNATURE_HEADER not in h3


def test_eager_resolution_order_and_the_callers_context_afterwards(app):
    report = app.tasks["tests.report"]
    with tenant_context("caller"):
        results = [
            report.apply(kwargs={"tenant_id": "keyword"}, tenant_id="option", headers={"tenant_id": "header"}).get(),
            report.apply(tenant_id="option", headers={"tenant_id": "header"}).get(),
            report.apply(headers={"tenant_id": "header"}).get(),
            report.apply().get(),
            report.s().apply(tenant_id="signature").get(),
        ]
        assert get_current_tenant_id() == "caller"
        app.conf.task_always_eager = True
        results += [report.apply_async(tenant_id="option").get(), report.delay().get(),
                    report.delay(tenant_id=42).get()]
        assert get_current_tenant_id() == "caller"
    assert results == ["keyword", "option", "header", "caller", "signature", "option", "caller", "42"]
    assert get_current_tenant_id() is None


def test_restore_none_inside_a_task_keeps_the_delivered_tenant(app, caplog):
    seed_style = app.tasks["tests.seed_style"]
    with tenant_context("caller"):
        assert seed_style.apply(headers={"tenant_id": "header"}).get() == "header"
        assert seed_style.apply(tenant_id="option").get() == "option"
        assert seed_style.apply().get() == "caller"
        assert seed_style.apply(kwargs={"tenant_id": "keyword"}).get() == "keyword"
        assert app.tasks["tests.switches"].apply().get() == "switched"  # a non-None value switches
        assert get_current_tenant_id() == "caller"
    with caplog.at_level(logging.WARNING, logger="celerylint_runtime"):
        assert seed_style.apply().get() == "None"
    assert "sent without a tenant" in caplog.text


@pytest.mark.parametrize("task_name", ["tests.report", "tests.aware"])
@pytest.mark.parametrize("bad", [1.5, True, "", [1]])
def test_an_invalid_tenant_fails_the_task_before_it_runs(app, task_name, bad):
    task = app.tasks[task_name]
    with tenant_context("caller"):
        for result in (task.apply(kwargs={"tenant_id": bad}), task.apply(headers={"tenant_id": bad})):
            assert result.status == "FAILURE"
            assert isinstance(result.result, InvalidTenantId), result.result
        with pytest.raises(InvalidTenantId):
            task.apply(tenant_id=bad, throw=True)
        assert get_current_tenant_id() == "caller"
    assert app.ran == []  # the task body never ran


def test_lookup_fails_a_task_for_a_missing_tenant(app, monkeypatch):
    monkeypatch.setenv("CELERYLINT_TENANT_LOOKUP", "test_runtime_tasks.known_tenant")
    report = app.tasks["tests.report"]
    assert report.apply(kwargs={"tenant_id": "acme"}).get() == "acme"
    assert report.apply(tenant_id=42).get() == "42"
    missing = report.apply(tenant_id="ghost")
    assert missing.status == "FAILURE" and isinstance(missing.result, TenantNotFound)
    assert "no tenant 'ghost'" in str(missing.result)
    assert report.apply().get() is None  # no tenant: nothing to look up
    assert len(app.ran) == 3


def _django_process(tmp_path, settings: str, code: str) -> subprocess.CompletedProcess:
    (tmp_path / "proj_app.py").write_text("from celery import Celery\napp = Celery('proj', set_as_current=False)\n")
    (tmp_path / "proj_settings.py").write_text("SECRET_KEY = 'x'\nDATABASES = {}\n" + settings)
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO / "runtime")]),
           "DJANGO_SETTINGS_MODULE": "proj_settings", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", "import django; django.setup()\n" + code], capture_output=True,
                          text=True, env=env, cwd=tmp_path)


def test_django_app_installs_propagation_into_the_configured_celery_app(tmp_path):
    out = _django_process(
        tmp_path, "INSTALLED_APPS = ['celerylint_runtime.django']\nCELERYLINT_APP = 'proj_app:app'\n",
        "from django.apps import apps\n"
        "from django.db.backends.signals import connection_created\n"
        "from celerylint_runtime.task import installed\n"
        "import proj_app\n"
        "print(apps.get_app_config('celerylint').name, installed(proj_app.app),"
        " any('celerylint_runtime' in str(r[0]) for r in connection_created.receivers))")
    assert out.stdout.split() == ["celerylint_runtime.django", "True", "True"], out.stderr


def test_install_without_the_django_app_guards_the_connections_itself(tmp_path):
    out = _django_process(
        tmp_path, "INSTALLED_APPS = []\n",
        "from django.db.backends.signals import connection_created\n"
        "from celerylint_runtime import install\n"
        "import proj_app\n"
        "before = any('celerylint_runtime' in str(r[0]) for r in connection_created.receivers)\n"
        "install(proj_app.app)\n"
        "print(before, any('celerylint_runtime' in str(r[0]) for r in connection_created.receivers))")
    assert out.stdout.split() == ["False", "True"], out.stderr


@pytest.mark.parametrize("settings, error", [
    ("CELERYLINT_TENANT_APPLIER = 'schema'\n",
     "ImportError: CELERYLINT_TENANT_APPLIER = \"schema\" needs django-tenants"),
    ("CELERYLINT_TENANT_APPLIER = 'rows'\n", "ValueError: CELERYLINT_TENANT_APPLIER must be one of"),
    ("CELERYLINT_TENANT_APPLIER = 'proj_app.app'\n", "TypeError: CELERYLINT_TENANT_APPLIER 'proj_app.app' is not"),
])
def test_install_raises_a_clear_error_for_a_wrong_applier(tmp_path, settings, error):
    out = _django_process(tmp_path, "INSTALLED_APPS = []\n" + settings,
                          "import sys; sys.modules['django_tenants'] = None\n"
                          "from celerylint_runtime import install\nimport proj_app\ninstall(proj_app.app)")
    assert out.returncode == 1 and error in out.stderr.strip().splitlines()[-1], out.stderr
