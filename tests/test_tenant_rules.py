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
