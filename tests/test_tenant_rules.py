"""Tenant rules on a multi-file project written like a real multi-tenant app
(tests/fixtures/tenant_project: every expected finding is a trailing `# CODE` comment
on its line), and the inference they stand on, form by form."""

import re
import shutil
from pathlib import Path

import pytest

from conftest import codes_at, findings, write_project

FIXTURE = Path(__file__).parent / "fixtures" / "tenant_project"
MARKER = re.compile(r"#\s*((?:(?:TSK|BEAT|TEN|SYN)\d{3}[,\s]*)+)\s*$")


def markers(root: Path) -> set:
    expected = set()
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = MARKER.search(line)
            if match:
                for code in re.findall(r"(?:TSK|BEAT|TEN|SYN)\d{3}", match.group(1)):
                    expected.add((path.relative_to(root).as_posix(), number, code))
    return expected


def test_fixture_project_gives_exactly_the_marked_findings(tmp_path):
    root = tmp_path / "tenant_project"
    shutil.copytree(FIXTURE, root)
    expected = markers(root)
    assert {code for _, _, code in expected} >= {"TEN001", "TEN002", "TEN003", "TEN004", "TEN005", "TEN006",
                                                "TEN007", "TEN008", "BEAT006"}
    assert codes_at(findings(root)) == expected


def test_messages_name_the_model_and_the_call_path(tmp_path):
    root = tmp_path / "tenant_project"
    shutil.copytree(FIXTURE, root)
    messages = {(path, line, code): message for path, line, _, code, message in findings(root)}
    assert "uses Document via documents.search.rebuild -> documents.search.purge_index" in \
        messages[("documents/tasks.py", 33, "TEN003")]
    assert "uses Document" in messages[("documents/views.py", 10, "TEN005")]


MODELS = """
from django.db import models

class Tenant(models.Model):
    name = models.CharField(max_length=10)
"""


def task_using(model_expr: str, imports: str) -> str:
    return f"""
from celery import shared_task
{imports}

@shared_task
def job():
    {model_expr}
"""


@pytest.mark.parametrize("files, imports, use", [
    # abstract base in another module, referenced as module.Class and re-exported by a package
    ({"core/models/__init__.py": "from .base import Owned\n",
      "core/models/base.py": MODELS + "\nclass Owned(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n"
                             "    class Meta:\n        abstract = True\n",
      "docs/models.py": "from django.db import models\nimport core.models\n\nclass Doc(core.models.Owned):\n    pass\n"},
     "from docs.models import Doc", "Doc.objects.all()"),
    # a manager class named in tenant-managers
    ({"docs/models.py": "from django.db import models\nfrom core.managers import TenantManager\n\n"
                        "class Doc(models.Model):\n    objects = TenantManager()\n",
      "core/managers.py": "from django.db import models\n\nclass TenantManager(models.Manager):\n    pass\n"},
     "from docs.models import Doc", "Doc._default_manager.count()"),
    # a third-party base named in tenant-model-bases, instantiation
    ({"docs/models.py": "from django_multitenant.models import TenantModel\n\nclass Doc(TenantModel):\n    pass\n"},
     "from docs import models as m", "m.Doc(title='x').save()"),
    # a tenant_id field of any kind, through all_objects
    ({"docs/models.py": "from django.db import models\n\nclass Doc(models.Model):\n    tenant_id = models.IntegerField()\n"},
     "import docs.models", "docs.models.Doc.all_objects.all()"),
])
def test_tenant_scoped_model_forms(tmp_path, files, imports, use):
    files = dict(files)
    files["work/tasks.py"] = task_using(use, imports)
    root = write_project(tmp_path, files)
    assert {code for *_, code, _ in findings(root)} == {"TEN001", "TEN003"}


@pytest.mark.parametrize("helper_files, imports, call", [
    ({}, "", "helper()"),  # same module
    ({"util/db.py": "from docs.models import Doc\n\ndef helper():\n    return Doc.objects.all()\n"},
     "from util.db import helper", "helper()"),
    ({"util/db.py": "from docs.models import Doc\n\ndef helper():\n    return Doc.objects.all()\n"},
     "import util.db", "util.db.helper()"),
    ({"util/db.py": "from docs.models import Doc\n\ndef helper():\n    return Doc.objects.all()\n"},
     "from util import db", "db.helper()"),
    ({"util/db.py": "from util.deeper import inner\n\ndef helper():\n    return inner()\n",
      "util/deeper.py": "from docs.models import Doc\n\ndef inner():\n    return helper()\n\n"
                        "def helper():\n    return Doc.objects.all()\n"},
     "from util.db import helper", "helper()"),  # two calls deep, with a cycle
])
def test_call_graph_forms(tmp_path, helper_files, imports, call):
    files = {"docs/models.py": "from django.db import models\n\nclass Doc(models.Model):\n"
                               "    tenant = models.ForeignKey('t.Tenant', on_delete=models.CASCADE)\n"}
    files.update(helper_files)
    source = task_using(call, imports)
    if not helper_files:
        source += "\nfrom docs.models import Doc\n\ndef helper():\n    return Doc.objects.all()\n"
    files["work/tasks.py"] = source
    root = write_project(tmp_path, files)
    assert {code for *_, code, _ in findings(root)} == {"TEN001", "TEN003"}


def test_look_alikes_stay_silent(tmp_path):
    root = write_project(tmp_path, {
        "docs/models.py": MODELS + "\nclass Doc(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n"
                                   "\nclass Rate(models.Model):\n    value = models.IntegerField()\n",
        "work/tasks.py": """
            from celery import shared_task
            from celerylint_runtime import restore_tenant_context
            from docs.models import Doc, Rate, Tenant

            @shared_task
            def only_tenant_model():
                return Tenant.objects.count()

            @shared_task
            def only_global_model():
                return Rate.objects.count()

            @shared_task
            def mentions_only(doc: Doc):
                return doc.title

            @shared_task
            def listed_global():
                return Doc.objects.count()

            @shared_task
            def wrapper_with_loop_via_get_tenant_model():
                for tenant in get_tenant_model().objects.all():  # a wrapper: TEN007, not TEN001/TEN003
                    use_doc.delay(tenant_id=str(tenant.pk))
                    Doc.objects.count()

            @shared_task
            def use_doc(*, tenant_id=None):
                \"\"\"A docstring first is fine.\"\"\"
                restore_tenant_context(tenant_id)
                return Doc.objects.count()
        """,
    }, config='global-tasks = ["work.tasks.listed_global"]\n')
    assert [(line, code) for _, line, _, code, _ in findings(root)] == [(24, "TEN007")]


def test_tenant_tasks_setting_and_base_exemptions(tmp_path):
    root = write_project(tmp_path, {
        "proj/celery.py": "from celery import Celery\nfrom core.base import TenantTask\n\n"
                          "app = Celery('proj', task_cls=TenantTask)\n",
        "core/base.py": "from celerylint_runtime import TenantAwareTask\n\nclass TenantTask(TenantAwareTask):\n    pass\n",
        "work/tasks.py": "from celery import shared_task\n\n@shared_task\ndef listed():\n    pass\n",
    }, config='tenant-tasks = ["work.tasks.listed"]\n')
    assert findings(root) == []  # every task of the only app gets its tenant from headers
    (root / "proj" / "celery.py").write_text("from celery import Celery\n\napp = Celery('proj')\n")
    assert {code for *_, code, _ in findings(root)} == {"TEN001", "TEN003"}
    (root / "proj" / "celery.py").write_text(
        "from celery import Celery\nfrom core.base import TenantTask\n\napp = Celery('proj')\napp.Task = TenantTask\n")
    assert findings(root) == []


def test_enqueue_sites_in_files_without_task_code_are_found(tmp_path):
    # views.py has no task definitions: the prefilter skips it; the tenant rules load
    # it because it enqueues and mentions a tenant-scoped task.
    root = write_project(tmp_path, {
        "docs/models.py": MODELS + "\nclass Doc(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n",
        "work/tasks.py": "from celery import shared_task\nfrom celerylint_runtime import restore_tenant_context\n"
                         "from docs.models import Doc\n\n@shared_task\ndef touch(*, tenant_id=None):\n"
                         "    restore_tenant_context(tenant_id)\n    Doc.objects.all()\n",
        "web/views.py": "from work.tasks import touch as t\n\ndef view(request):\n    t.si()\n    t.signature(kwargs={})\n"
                        "    t.signature((), {'tenant_id': '1'})\n",
    })
    assert codes_at(findings(root)) == {("web/views.py", 4, "TEN005"), ("web/views.py", 5, "TEN005")}


# Cases found by running the rules on real multi-tenant code bases (rewritten, not copied).
TENANT_MODELS = {
    "core/models.py": MODELS + "\nclass Order(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n"
                               "\nclass BackupConfig(models.Model):\n    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE)\n"
                               "    enabled = models.BooleanField()\n",
}


def project_with(tmp_path, files, config=None):
    all_files = dict(TENANT_MODELS)
    all_files.update(files)
    return write_project(tmp_path, all_files, config)


def test_decorator_that_restores_context(tmp_path):
    root = project_with(tmp_path, {
        "scans/decorators.py": """
            from functools import wraps
            from celerylint_runtime import restore_tenant_context

            def with_tenant(func):
                @wraps(func)
                def wrapper(*args, **kwargs):
                    restore_tenant_context(kwargs.pop("tenant_id"))
                    return func(*args, **kwargs)
                return wrapper
        """,
        "scans/tasks.py": """
            from celery import shared_task
            from core.models import Order
            from scans.decorators import with_tenant

            @shared_task
            @with_tenant
            def check(order_id):
                return Order.objects.get(pk=order_id)

            @shared_task
            @rls_scope
            def configured(order_id):
                return Order.objects.get(pk=order_id)
        """,
    }, config='context-managers = ["tenant_context", "rls_scope"]\n')
    assert findings(root) == []


def test_wrapper_one_call_deep_and_fan_out_over_per_tenant_rows(tmp_path):
    root = project_with(tmp_path, {
        "backup/scheduler.py": """
            from core.models import Tenant

            def fan_out():
                from backup.tasks import make_backup
                for tenant in Tenant.objects.all():
                    make_backup.delay(tenant_id=str(tenant.id))
        """,
        "backup/tasks.py": """
            from celery import shared_task
            from celerylint_runtime import restore_tenant_context
            from backup.scheduler import fan_out
            from core.models import BackupConfig, Order

            @shared_task
            def make_backup(*, tenant_id=None):
                restore_tenant_context(tenant_id)
                Order.objects.all()

            @shared_task
            def backup_all_via_helper():
                fan_out()

            @shared_task
            def backup_all_by_config():
                for config in BackupConfig.objects.filter(enabled=True):
                    make_backup.delay(tenant_id=str(config.tenant_id))
        """,
        "proj/settings.py": 'CELERY_BEAT_SCHEDULE = {"c": {"task": "backup.tasks.backup_all_by_config", "schedule": 60}}\n',
    })
    # The helper's loop over tenants is the wrapper's loop: TEN007 where it is.
    assert codes_at(findings(root)) == {("backup/scheduler.py", 6, "TEN007")}


def test_sweep_restoring_each_tenant_is_not_tenant_scoped(tmp_path):
    root = project_with(tmp_path, {
        "ops/tasks.py": """
            from celery import shared_task
            from celerylint_runtime import restore_tenant_context, tenant_context
            from core.models import Order, Tenant

            @shared_task
            def purge_all():
                for tenant in Tenant.objects.all():
                    with tenant_context(str(tenant.id)):
                        Order.objects.filter(total=0).delete()

            @shared_task
            def purge_all_restoring():
                for tenant in Tenant.objects.all():
                    restore_tenant_context(str(tenant.id))
                    Order.objects.filter(total=0).delete()
        """,
    })
    assert findings(root) == []


def test_delegating_the_restore_to_a_callee(tmp_path):
    root = project_with(tmp_path, {
        "ops/jobs.py": """
            from celerylint_runtime import tenant_context
            from core.models import Order

            def purge(order_id, tenant_id):
                with tenant_context(tenant_id):
                    Order.objects.filter(pk=order_id).delete()

            def leaky(order_id, tenant_id):
                return Order.objects.filter(pk=order_id).delete()
        """,
        "ops/tasks.py": """
            from celery import shared_task
            from ops.jobs import leaky, purge

            @shared_task
            def purge_task(order_id, *, tenant_id=None):
                return purge(order_id, tenant_id=tenant_id)

            @shared_task
            def leaky_task(order_id, *, tenant_id=None):
                return leaky(order_id, tenant_id)
        """,
    })
    assert codes_at(findings(root)) == {("ops/tasks.py", 10, "TEN003")}


def test_enqueue_in_a_method_with_a_local_import(tmp_path):
    root = project_with(tmp_path, {
        "exports/tasks.py": """
            from celery import shared_task
            from celerylint_runtime import restore_tenant_context
            from core.models import Order

            @shared_task
            def run_export(export_id, *, tenant_id=None):
                restore_tenant_context(tenant_id)
                Order.objects.all()
        """,
        "exports/schema.py": """
            class StartExport:
                @classmethod
                def mutate(cls, root, info, export_id):
                    from .tasks import run_export
                    run_export.delay(export_id=export_id)
        """,
    })
    assert codes_at(findings(root)) == {("exports/schema.py", 6, "TEN005")}


def test_class_based_tasks_are_checked_through_run(tmp_path):
    root = project_with(tmp_path, {
        "shop/tasks.py": """
            from celery import Task
            from proj.celery import app
            from core.models import Order

            class PurgeOrders(Task):  # reported at the class: it is the task
                name = "shop.purge_orders"

                def run(self):
                    Order.objects.filter(total=0).delete()

            app.register_task(PurgeOrders())
        """,
        "proj/celery.py": """
            from celery import Celery

            app = Celery("proj")
            app.conf.beat_schedule = {"purge": {"task": "shop.purge_orders", "schedule": 3600}}  # BEAT006
        """,
    })
    assert codes_at(findings(root)) == {("shop/tasks.py", 6, "TEN001"), ("shop/tasks.py", 6, "TEN003"),
                                        ("proj/celery.py", 5, "BEAT006")}


def test_backend_several_levels_down_in_a_monorepo(tmp_path):
    root = project_with(tmp_path, {
        "packages/backend/manage.py": "",
        "packages/backend/common/models.py": "from django.db import models\n\nclass Owned(models.Model):\n"
                                             "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n"
                                             "    class Meta:\n        abstract = True\n",
        "packages/backend/shop/models.py": "from common.models import Owned\n\nclass Order(Owned):\n    pass\n",
        "packages/backend/shop/tasks.py": "from celery import shared_task\nfrom shop.models import Order\n\n"
                                          "@shared_task\ndef recalc(order_id):\n    Order.objects.filter(pk=order_id).update(total=0)\n",
    })
    assert {(p, code) for p, _, code in codes_at(findings(root))} == {
        ("packages/backend/shop/tasks.py", "TEN001"), ("packages/backend/shop/tasks.py", "TEN003")}


def test_aliased_shared_task(tmp_path):
    root = project_with(tmp_path, {
        "core/celery.py": "from celery import shared_task\n\napp_task = shared_task\n",
        "dcim/tasks.py": "from core.celery import app_task\nfrom core.models import Order\n\n"
                         "@app_task\ndef refresh():\n    Order.objects.update(total=1)\n",
    })
    assert {code for *_, code, _ in findings(root)} == {"TEN001", "TEN003"}


def test_method_calls_on_project_classes_are_followed(tmp_path):
    root = project_with(tmp_path, {
        "rbac/parity.py": """
            from core.models import Order

            class ParityChecker:
                def run(self):
                    return self.count()

                def count(self):
                    return Order.objects.count()

                @classmethod
                def quick(cls):
                    return Order.objects.exists()

            def run_checks():
                return ParityChecker().run()
        """,
        "rbac/tasks.py": """
            from celery import shared_task
            from rbac.parity import ParityChecker, run_checks

            @shared_task
            def parity_checks():
                return run_checks()

            @shared_task
            def quick_check():
                return ParityChecker.quick()
        """,
    })
    assert codes_at(findings(root)) == {("rbac/tasks.py", 6, "TEN001"), ("rbac/tasks.py", 6, "TEN003"),
                                        ("rbac/tasks.py", 10, "TEN001"), ("rbac/tasks.py", 10, "TEN003")}
    messages = [m for *_, m in findings(root)]
    assert any("via rbac.parity.run_checks -> rbac.parity.ParityChecker.run -> rbac.parity.ParityChecker.count" in m
               for m in messages)
