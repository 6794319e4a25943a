"""Tenancy mechanisms (RULES.md §1, "Tenancy mechanisms"): one fixture project per
mechanism under tests/fixtures/mechanisms, each with its real defects marked on their
lines (`# CODE`) and look-alikes that must stay silent, and what `celerylint tenancy`
concludes about it; then the variations that switch a mechanism on or off."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import codes_at, findings, write_project
from test_tenant_rules import markers

FIXTURES = Path(__file__).parent / "fixtures" / "mechanisms"
TENANT = ("TEN", "BEAT006")


def copy(tmp_path, name):
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    return root


def tenancy(root) -> dict:
    out = subprocess.run([sys.executable, "-m", "celerylint", "tenancy", str(root), "--format", "json", "--no-cache"],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def verdicts(report) -> dict:
    return {t["task"].rsplit(".", 1)[-1]: t for t in report["tasks"]}


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_fixture_gives_exactly_the_marked_findings(tmp_path, name):
    root = copy(tmp_path, name)
    expected = markers(root)
    assert expected, "every mechanism fixture has a real defect"
    assert codes_at(findings(root, select=TENANT)) == expected


def test_row_helper_is_a_restore_function_by_definition(tmp_path):
    report = tenancy(copy(tmp_path, "row_helper"))
    assert report["mode"] == "row" and report["active"]
    assert {s["function"] for s in report["setters"]} >= {"core.tenancy.activate_tenant"}
    assert "core.tenancy.set_tenant_label" not in {s["function"] for s in report["setters"]}
    assert "Organization" in report["tenant_models"] or "core.models.Organization" in report["tenant_models"]
    tasks = verdicts(report)
    assert tasks["close_after_lookup"]["scoped"] and "NOT" not in tasks["close_after_lookup"]["context"]
    assert not tasks["count_organizations"]["scoped"]
    assert "explicitly global" in tasks["admin_report"]["why"]
    assert tasks["relabel"]["context"] == "NOT restored"


def test_decorator_and_context_manager(tmp_path):
    report = tenancy(copy(tmp_path, "decorator_with"))
    setters = {s["function"] for s in report["setters"]}
    assert "api.decorators.set_tenant" in setters
    assert "api.decorators.log_calls" not in setters
    managers = {m["manager"] for m in report["context_managers"]}
    assert "api.db_utils.rls_transaction" in managers and "api.db_utils.timing" not in managers
    tasks = verdicts(report)
    assert tasks["check_provider"]["context"].startswith("provided")
    assert "NOT" not in tasks["delete_provider_task"]["context"]  # every use inside rls_transaction


def test_prerun_handler_restores_for_every_task(tmp_path):
    root = copy(tmp_path, "prerun")
    report = tenancy(root)
    assert [m["kind"] for m in report["mechanisms"]] == ["task_prerun handler"]
    assert "tenant" in report["tenant_travels_as"]
    # A handler that only clears the tenant is not a restore: every task is unrestored.
    celery = root / "proj" / "celery.py"
    celery.write_text(celery.read_text().replace(
        'set_tenant_alias(kwargs.pop("tenant", None) or task.request.get("tenant"))', "set_tenant_alias(None)"))
    assert {code for *_, code, _ in findings(root, select=TENANT)} == {"TEN001", "TEN003", "TEN005"}
    assert tenancy(root)["mechanisms"][0]["why"].startswith("clears")


def test_schema_mode_models_from_tenant_apps(tmp_path):
    root = copy(tmp_path, "schema")
    report = tenancy(root)
    assert report["mode"] == "schema"
    models = {m["model"]: m["why"] for m in report["tenant_scoped_models"]}
    assert list(models) == ["notes.models.Note"] and "TENANT_APPS" in models["notes.models.Note"]
    assert "customers.models.Client" in report["tenant_models"]


def test_schema_with_tenant_schemas_celery_and_tenant_aware_beat(tmp_path):
    root = copy(tmp_path, "schema")
    (root / "proj" / "celery.py").write_text(
        "from tenant_schemas_celery.app import CeleryApp\n\n\nclass TenantAwareCeleryApp(CeleryApp):\n    pass\n\n\n"
        "app = TenantAwareCeleryApp('proj')\napp.config_from_object('django.conf:settings', namespace='CELERY')\n")
    # The app restores the publisher's schema in every task and captures it on publish.
    assert codes_at(findings(root, select=TENANT)) == {("proj/settings.py", 6, "BEAT006")}
    settings = root / "proj" / "settings.py"
    settings.write_text(settings.read_text()
                        + 'CELERY_BEAT_SCHEDULER = "tenant_schemas_celery.scheduler.TenantAwareScheduler"\n')
    assert findings(root, select=TENANT) == []
    kinds = {m["kind"] for m in tenancy(root)["mechanisms"]}
    assert kinds == {"tenant-aware Celery app", "tenant-aware beat scheduler"}


def test_omnitenant_switch(tmp_path):
    root = copy(tmp_path, "omnitenant")
    assert [m["kind"] for m in tenancy(root)["mechanisms"]] == ["django-omnitenant"]
    settings = root / "proj" / "settings.py"
    settings.write_text(settings.read_text().replace('"django_omnitenant", ', ""))
    assert {code for *_, code, _ in findings(root, select=TENANT)} == {"TEN001", "TEN003", "TEN005"}


def test_multitenant_tenant_model_is_not_tenant_scoped(tmp_path):
    report = tenancy(copy(tmp_path, "multitenant"))
    assert {"app.models.Workspace", "app.models.Team"} <= set(report["tenant_models"])
    assert {m["model"] for m in report["tenant_scoped_models"]} == {"app.models.Project", "app.models.Task"}
    tasks = verdicts(report)
    assert not tasks["count_workspaces"]["scoped"]
    assert "explicitly global" in tasks["global_cleanup"]["why"]


def test_tenancy_off_and_forced_modes(tmp_path):
    root = copy(tmp_path, "row_helper")
    with open(root / "pyproject.toml", "a") as fh:
        fh.write('\n[tool.celerylint]\ntenancy = "off"\n')
    assert findings(root, select=TENANT) == []


def test_an_unrelated_name_does_not_switch_the_analysis(tmp_path):
    files = {
        "proj/celery.py": "from celery import Celery\n\napp = Celery('proj')\n",
        "shop/models.py": "from django.db import models\n\n\nclass Tenant(models.Model):\n    name = models.CharField()\n",
        "shop/tasks.py": "from celery import shared_task\n\nfrom shop.models import Tenant\n\n\n"
                         "@shared_task\ndef fan_out():\n    for tenant in Tenant.objects.all():\n"
                         "        ping.delay(tenant_id=str(tenant.pk))\n\n\n@shared_task\ndef ping(*, tenant_id=None):\n"
                         "    pass\n",
    }
    root = write_project(tmp_path / "a", files)
    with_name = write_project(tmp_path / "b", {**files, "misc/names.py": "TenantModel = None\n"})
    assert findings(root, select=TENANT) == findings(with_name, select=TENANT) != []


def test_text_output_names_mechanisms_and_tasks(tmp_path):
    root = copy(tmp_path, "prerun")
    out = subprocess.run([sys.executable, "-m", "celerylint", "tenancy", str(root), "--no-cache"],
                         capture_output=True, text=True, check=True).stdout
    assert "task_prerun handler at proj/celery.py:proj.celery.restore_tenant" in out
    assert "shop.tasks.recalculate: tenant-scoped, provided: task_prerun handler" in out


def test_tenant_aware_app_imported_in_one_arm_of_an_if(tmp_path):
    root = copy(tmp_path, "schema")
    (root / "proj" / "celery.py").write_text(
        "from django.conf import settings\n\nif settings.TENANTS_ENABLED:\n"
        "    from tenant_schemas_celery.app import CeleryApp as Celery\nelse:\n    from celery import Celery\n\n"
        "app = Celery('proj')\n")
    assert {code for *_, code, _ in findings(root, select=TENANT)} == {"BEAT006"}


def test_unreadable_shared_apps_makes_no_model_tenant_scoped(tmp_path):
    root = copy(tmp_path, "schema")
    settings = root / "proj" / "settings.py"
    settings.write_text(settings.read_text().replace(
        'SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes", "notes.directory"]',
        'SHARED_APPS = ["django_tenants", "customers"] + load_apps()'))
    assert findings(root, select=TENANT) == []
    assert tenancy(root)["tenant_scoped_models"] == []


def test_explicit_global_forms_and_sweeps(tmp_path):
    tasks = verdicts(tenancy(copy(tmp_path, "decorator_with")))
    assert "explicitly global" in tasks["global_audit"]["why"]  # inside `with transaction.atomic():`
    schema = verdicts(tenancy(copy(tmp_path, "schema")))
    assert schema["nightly_prune"]["why"].startswith("a sweep")
    row = verdicts(tenancy(copy(tmp_path, "row_helper")))
    for name in ("close_after_annotated_lookup", "close_with_thread_local", "archive"):
        assert row[name]["scoped"] and "NOT" not in row[name]["context"], name
    assert row["archive_all"]["why"].startswith("a wrapper")
    assert row["overdue_report"]["why"].startswith("a sweep")  # filters each tenant's rows itself
