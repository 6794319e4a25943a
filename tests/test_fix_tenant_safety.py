"""Issue 11: fixes that never change which tenant a task runs as. The project's own
helper (restore function, context manager, spawner) is the one a fix calls; TEN001 only
with the restore it serves; TEN006 never turns "no tenant" into "None"; TEN007 keeps the
tenant key and the options or is not offered; every fix is verified, and one that
cannot apply blocks nothing else. The run-time proof is in test_fix_runtime.py."""

from __future__ import annotations

import ast
import json
import shutil

import pytest

from conftest import REPO, run_cli, write_project

TENANTS = """
from django.db import models


class Tenant(models.Model):
    tenant_id = models.SlugField(unique=True)
    is_active = models.BooleanField(default=True)
"""
MODELS = """
from django.db import models


class Note(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
    body = models.TextField()
"""
# Seed 000's style: the project's own restore function, getter and spawner.
OWN_TENANCY = '''
"""The project's own tenant helpers."""
from celery import shared_task

from docs.models import Note

_current = {}


def get_current_tenant_id():
    return _current.get("tenant")


def restore_tenant_context(tenant_id):
    if tenant_id is None:
        return
    _current["tenant"] = tenant_id


def spawn_tenant_tasks_with_rate_limiting(tenants, task_callable, task_name, **task_kwargs):
    for tenant in tenants:
        task_callable(**task_kwargs, tenant_id=str(tenant.id))


@shared_task
def purge_notes():
    Note.objects.all().delete()
'''
OWN_TASKS = '''
import logging

from celery import shared_task

from docs.models import Note
from docs.tenancy import get_current_tenant_id, restore_tenant_context
from tenants.models import Tenant

logger = logging.getLogger(__name__)


@shared_task
def count_notes(kind="all"):
    return Note.objects.count()


@shared_task
def wrong_restore(note_id, *, tenant_id=None):
    restore_tenant_context(note_id)
    return Note.objects.filter(id=note_id).count()


@shared_task
def touch(*, tenant_id=None):
    restore_tenant_context(tenant_id)
    Note.objects.update(body="x")


def view(request):
    touch.delay(tenant_id=get_current_tenant_id())
    touch.delay(tenant_id=request.tenant.id)


@shared_task
def all_by_slug():
    for tenant in Tenant.objects.filter(is_active=True):
        touch.delay(tenant_id=tenant.tenant_id)


@shared_task
def all_by_id():
    for tenant in Tenant.objects.filter(is_active=True):
        logger.info("touching %s", tenant.id)
        touch.delay(tenant_id=str(tenant.id))


@shared_task
def all_queued():
    for tenant in Tenant.objects.all():
        touch.apply_async(kwargs={"tenant_id": str(tenant.id)}, queue="slow")


@shared_task
def wrapper_restoring(tenant_id=None):
    restore_tenant_context(tenant_id)
    for tenant in Tenant.objects.all():
        touch.delay(tenant_id=str(tenant.id))
'''
DECLARED = '[project]\nname = "p"\ndependencies = ["celery>=5", "django>=4.2"]\n'


def _project(tmp_path, files, pyproject=DECLARED):
    root = write_project(tmp_path / "p", {"tenants/models.py": TENANTS, "docs/models.py": MODELS, **files})
    (root / "pyproject.toml").write_text(pyproject)
    return root


def _diagnostics(root, *args):
    proc = run_cli("check", "--no-cache", "--format", "json", *args, cwd=root)
    return json.loads(proc.stdout)["diagnostics"]


def _imports(root) -> set[str]:
    """Top-level packages imported anywhere in the project."""
    found = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def test_seed_style_project_fixed_with_its_own_helpers(tmp_path):
    root = _project(tmp_path, {"docs/tenancy.py": OWN_TENANCY, "docs/tasks.py": OWN_TASKS})
    before = {(d["path"], d["line"], d["code"]): d for d in _diagnostics(root)}
    slug = before[("docs/tasks.py", 37, "TEN007")]
    assert not slug["fixable"] and "tenant_id=tenant.tenant_id" in slug["message"] \
        and "change which tenant" in slug["message"]
    queued = before[("docs/tasks.py", 50, "TEN007")]
    assert not queued["fixable"] and "queue=" in queued["message"]
    assert before[("docs/tasks.py", 43, "TEN007")]["fixable"]
    proc = run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", "--show-fixes", cwd=root)
    tasks = (root / "docs" / "tasks.py").read_text()
    tenancy = (root / "docs" / "tenancy.py").read_text()
    # The project's own helpers, imported from where the project has them.
    assert "celerylint_runtime" not in tasks + tenancy
    assert "from docs.tenancy import get_current_tenant_id, restore_tenant_context, " \
           "spawn_tenant_tasks_with_rate_limiting\n" in tasks
    assert 'def count_notes(kind="all", *, tenant_id=None):\n    restore_tenant_context(tenant_id)\n' in tasks
    assert "    restore_tenant_context(tenant_id)\n    return Note.objects.filter(id=note_id)" in tasks  # TEN004
    # The helper's own module: no import, and the restore the parameter serves.
    assert tenancy.count("import") == 2
    assert "def purge_notes(*, tenant_id=None):\n    restore_tenant_context(tenant_id)\n" in tenancy
    # TEN006: "no tenant" stays None; an id becomes its string.
    assert "touch.delay(tenant_id=str(get_current_tenant_id()) if get_current_tenant_id() is not None else None)" \
        in tasks
    assert "touch.delay(tenant_id=str(request.tenant.id))" in tasks
    # TEN007: the loops the spawner can take are rewritten (the slug and queue= ones stay),
    # and TEN008's removal went through in the same file.
    assert tasks.count("spawn_tenant_tasks_with_rate_limiting(tenants=") == 2
    assert "touch.delay(tenant_id=tenant.tenant_id)" in tasks
    assert 'touch.apply_async(kwargs={"tenant_id": str(tenant.id)}, queue="slow")' in tasks
    assert "def wrapper_restoring(tenant_id=None):\n    spawn_tenant_tasks_with_rate_limiting(" in tasks
    # --show-fixes lists what was applied.
    assert "Fixed 10 findings:" in proc.stdout and "2 × TEN007" in proc.stdout and "1 × TEN008" in proc.stdout
    assert "- docs/tenancy.py:" in proc.stdout
    left = _diagnostics(root)
    assert {(d["code"], d["fixable"]) for d in left} == {("TEN007", False)}
    assert run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", "--diff", cwd=root).stdout == ""


def test_no_helper_and_no_runtime_dependency_is_not_fixable_and_says_what_to_configure(tmp_path):
    tasks = "from celery import shared_task\nfrom docs.models import Note\n\n\n" \
            "@shared_task\ndef count_notes():\n    return Note.objects.count()\n"
    root = _project(tmp_path, {"docs/tasks.py": tasks})
    found = {d["code"]: d for d in _diagnostics(root)}
    for code in ("TEN001", "TEN003"):  # TEN001 alone would add a tenant_id that nothing uses
        assert not found[code]["fixable"], code
        assert "celerylint-runtime" in found[code]["message"] and "restore-functions" in found[code]["message"]
    run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", cwd=root)
    assert (root / "docs" / "tasks.py").read_text() == tasks
    # Declaring the runtime (or configuring the project's helper) makes it fixable.
    (root / "pyproject.toml").write_text(DECLARED.replace('"django>=4.2"', '"django>=4.2", "celerylint-runtime"'))
    run_cli("check", "--no-cache", "--fix", cwd=root)
    assert "from celerylint_runtime import restore_tenant_context\n" in (root / "docs" / "tasks.py").read_text()


def test_configured_restore_import_and_dotted_helper(tmp_path):
    helper = "def enter_tenant(tenant_id):\n    pass\n\n\ndef other(tenant_id):\n    pass\n"
    tasks = "from celery import shared_task\nfrom docs.models import Note\n\n\n" \
            "@shared_task\ndef count_notes():\n    return Note.objects.count()\n"
    root = _project(tmp_path, {"core/tenancy.py": helper, "docs/tasks.py": tasks},
                    DECLARED + '\n[tool.celerylint]\nrestore-functions = ["core.tenancy.enter_tenant"]\n')
    run_cli("check", "--no-cache", "--fix", cwd=root)
    fixed = (root / "docs" / "tasks.py").read_text()
    assert "from core.tenancy import enter_tenant\n" in fixed and "    enter_tenant(tenant_id)\n" in fixed


def test_context_manager_only_project_wraps_the_body(tmp_path):
    helper = ("from contextlib import contextmanager\n\n\n@contextmanager\ndef tenant_context(tenant_id):\n"
              "    yield\n")
    tasks = ('from celery import shared_task\nfrom docs.models import Note\nfrom docs.scope import tenant_context\n\n\n'
             '@shared_task\ndef count_notes(*, tenant_id=None):\n    """Count."""\n    # how many\n'
             '    total = Note.objects.count()\n    return total\n')
    root = _project(tmp_path, {"docs/scope.py": helper, "docs/tasks.py": tasks})
    run_cli("check", "--no-cache", "--fix", cwd=root)
    assert (root / "docs" / "tasks.py").read_text().endswith(
        '    """Count."""\n    with tenant_context(tenant_id):\n        # how many\n'
        '        total = Note.objects.count()\n        return total\n')
    assert _diagnostics(root) == []


def test_two_project_helpers_of_the_same_name_are_ambiguous(tmp_path):
    helper = "def restore_tenant_context(tenant_id):\n    pass\n"
    tasks = ("from celery import shared_task\nfrom docs.models import Note\n\n\n"
             "@shared_task\ndef count_notes():\n    return Note.objects.count()\n")
    users = ("from a.ctx import restore_tenant_context as one\nfrom b.ctx import restore_tenant_context as two\n")
    root = _project(tmp_path, {"a/ctx.py": helper, "b/ctx.py": helper, "docs/uses.py": users,
                               "docs/tasks.py": tasks})
    found = {d["code"]: d for d in _diagnostics(root)}
    assert not found["TEN003"]["fixable"] and "a.ctx.restore_tenant_context" in found["TEN003"]["message"]


RUNTIME_WRAPPERS = '''
from celery import shared_task
from celerylint_runtime import restore_tenant_context
from docs.models import Note
from tenants.models import Tenant


@shared_task
def touch(*, tenant_id=None):
    restore_tenant_context(tenant_id)
    Note.objects.update(body="x")


@shared_task
def queued():
    for tenant in Tenant.objects.all():
        touch.apply_async(kwargs={"tenant_id": tenant.pk}, queue="slow", priority=3)


@shared_task
def later():
    for tenant in Tenant.objects.all():
        touch.apply_async(kwargs={"tenant_id": str(tenant.id)}, countdown=30)


@shared_task
def with_side_effect():
    for tenant in Tenant.objects.all():
        Note.objects.filter(tenant=tenant).delete()
        touch.delay(tenant_id=str(tenant.id))
'''


def test_runtime_spawner_keeps_options_it_takes_and_refuses_the_others(tmp_path):
    root = _project(tmp_path, {"docs/wrappers.py": RUNTIME_WRAPPERS})
    found = {d["line"]: d for d in _diagnostics(root, "--select", "TEN007")}
    assert found[16]["fixable"]
    assert not found[22]["fixable"] and "countdown=" in found[22]["message"]
    assert not found[28]["fixable"] and "does more than enqueue" in found[28]["message"]
    run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", "--select", "TEN007", cwd=root)
    fixed = (root / "docs" / "wrappers.py").read_text()
    assert ('spawn_tenant_tasks_with_rate_limiting(tenants=Tenant.objects.all(), task_callable=touch.delay, '
            'task_name="touch", queue="slow", priority=3)') in fixed
    assert "from celerylint_runtime import restore_tenant_context, spawn_tenant_tasks_with_rate_limiting\n" in fixed
    assert "countdown=30" in fixed and "Note.objects.filter(tenant=tenant).delete()" in fixed


# --------------------------------------------------------------------------- application


def test_a_fix_that_cannot_apply_does_not_block_the_others_in_its_file(tmp_path):
    from celerylint.diagnostics import SAFE, Diagnostic, Edit, Fix
    from celerylint.fixes.apply import fix_round

    (tmp_path / "m.py").write_text("def f(x):\n    return g(x)\n")
    good = Diagnostic("m.py", 2, 14, "TEN006", "m", fixable=True, entity="function:f",
                      fix=Fix(SAFE, (Edit("m.py", (2, 14, 2, 15), "wrap_str"),)))
    bad = Diagnostic("m.py", 1, 1, "TEN004", "n", fixable=True, entity="function:f",
                     fix=Fix(SAFE, (Edit("m.py", (9, 1, 9, 2), "name", "tenant_id"),)))  # no node there
    refused: dict = {}
    changes, count = fix_round([bad, good], str(tmp_path), True, {"m.py"}, refused=refused)
    assert changes["m.py"][1] == b"def f(x):\n    return g(str(x))\n" and count == 1
    assert list(refused.values()) == ["its edit does not apply to this code, or the result would not parse"]


def test_a_fix_that_leaves_its_finding_is_not_written_and_says_why(tmp_path):
    from dataclasses import dataclass, field

    from celerylint.diagnostics import SAFE, Diagnostic, Edit, Fix
    from celerylint.fixes.apply import fix_until_stable

    (tmp_path / "m.py").write_text("def f(x):\n    return g(x)\n")
    finding = Diagnostic("m.py", 2, 14, "TEN006", "tenant_id=x is not a string", fixable=True, entity="function:f",
                         fix=Fix(SAFE, (Edit("m.py", (2, 14, 2, 15), "wrap_str"),)))

    @dataclass
    class Result:
        diagnostics: list
        scope: set = field(default_factory=lambda: {"m.py"})

    result, changed, fixed = fix_until_stable(lambda overlay: Result([finding]), Result([finding]),
                                              str(tmp_path), True)
    assert changed == {} and fixed == 0
    [left] = result.diagnostics
    assert left.fix is None and not left.fixable
    assert left.message.endswith("(fix not applied: the finding was still reported after the fix)")


# --------------------------------------------------------------------------- docs


@pytest.mark.parametrize("code", ["TEN001", "TEN002", "TEN003", "TEN004", "TEN006", "TEN007", "TEN008"])
def test_fix_safety_docs_cover_every_tenancy_mechanism(code):
    from celerylint.rules import all_rules

    rule = next(r for r in all_rules() if r.code == code)
    text = " ".join(rule.sections()["Fix safety"].lower().split())
    for mechanism in ("explicit restore", "restoring decorator", "context manager", "task_prerun",
                      "schema per tenant"):
        assert mechanism in text, (code, mechanism)


# --------------------------------------------------------------------------- fixture projects


def _declared_or_used(root, before_imports) -> set[str]:
    packages = {p.name for p in root.iterdir() if (p / "__init__.py").exists() or p.suffix == ".py"}
    return packages | before_imports


MECHANISM_FIXTURES = sorted(f"tests/fixtures/mechanisms/{p.name}" for p in (REPO / "tests/fixtures/mechanisms").iterdir())


@pytest.mark.parametrize("fixture", ["tests/fixtures/tenant_project", "tests/fixtures/djproject", "examples"]
                         + MECHANISM_FIXTURES)
def test_fixture_projects_fix_cleanly(tmp_path, fixture):
    """`check --fix --unsafe-fixes` leaves no finding that claims to be fixable, every
    file parses, a second run changes nothing, and no fix imports a package the project
    did not already use or declare."""
    root = tmp_path / "p"
    shutil.copytree(REPO / fixture, root)
    before = _imports(root)
    proc = run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", "--format", "json", cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    left = json.loads(proc.stdout)["diagnostics"]
    assert not [d for d in left if d["fixable"]]
    for path in root.rglob("*.py"):
        ast.parse(path.read_text(), str(path))
    assert _imports(root) - _declared_or_used(root, before) == set()
    snapshot = {p: p.read_bytes() for p in root.rglob("*.py")}
    again = run_cli("check", "--no-cache", "--fix", "--unsafe-fixes", "--format", "json", cwd=root)
    assert json.loads(again.stdout)["summary"]["fixed"] == 0
    assert {p: p.read_bytes() for p in root.rglob("*.py")} == snapshot


@pytest.mark.parametrize("before, op, after", [
    ("def f(\n    tenant_id: str, a: int, b=None\n):\n    pass\n", "param_to_keyword_last",
     "def f(\n    a: int, b=None, *, tenant_id=None\n):\n    pass\n"),
    ("def f(\n    a: int, b=None\n):\n    pass\n", "add_tenant_param",
     "def f(\n    a: int, b=None, *, tenant_id=None\n):\n    pass\n"),
])
def test_parameters_before_a_closing_parenthesis_on_its_own_line(before, op, after):
    """The newline before `)` stays before `)` (it was moved after the new parameter's
    comma, leaving `*, tenant_id=None):` at column 0)."""
    from celerylint.diagnostics import Edit
    from celerylint.fixes.apply import apply_edits

    assert apply_edits(before, [Edit("x.py", (1, 5, 1, 6), op)]) == after


def test_a_monorepo_backends_own_declarations_count(tmp_path):
    """saas-boilerplate's layout: the project root declares nothing, packages/backend
    declares Django: the runtime is not one of its dependencies, so no runtime import."""
    tasks = "from celery import shared_task\nfrom docs.models import Note\n\n\n" \
            "@shared_task\ndef count_notes():\n    return Note.objects.count()\n"
    root = write_project(tmp_path / "p", {"packages/backend/tenants/models.py": TENANTS,
                                          "packages/backend/docs/models.py": MODELS,
                                          "packages/backend/docs/tasks.py": tasks,
                                          "packages/backend/manage.py": "import django\n"})
    (root / "pyproject.toml").unlink()
    (root / "package.json").write_text("{}")
    (root / "packages" / "backend" / "pyproject.toml").write_text(DECLARED)
    (root / ".git").mkdir()
    found = {d["code"]: d for d in _diagnostics(root)}
    assert not found["TEN003"]["fixable"] and "celerylint-runtime" in found["TEN003"]["message"]


def test_ten002_does_not_move_or_change_the_default_under_a_caller_that_relies_on_it(tmp_path):
    tasks = ("from celery import shared_task\n\n\n@shared_task\ndef rebuild(tenant_id, full=False):\n    pass\n\n\n"
             "@shared_task\ndef refresh(tenant_id='main'):\n    pass\n\n\n"
             "@shared_task\ndef reload(tenant_id, full=False):\n    pass\n")
    views = ("from docs.tasks import rebuild, refresh, reload\n\n\ndef view(t):\n    rebuild.delay(t, True)\n"
             "    refresh.delay()\n    reload.delay(tenant_id=t, full=True)\n")
    root = _project(tmp_path, {"docs/tasks.py": tasks, "docs/views.py": views})
    found = {d["line"]: d for d in _diagnostics(root, "--select", "TEN002")}
    assert not found[5]["fixable"] and "docs/views.py enqueues rebuild without tenant_id by name" in found[5]["message"]
    assert not found[10]["fixable"]
    assert found[15]["fixable"]


def test_ten001_alone_brings_the_restore_it_serves(tmp_path):
    """`--select TEN001 --fix` never leaves a tenant_id that nothing uses."""
    tasks = "from celery import shared_task\nfrom docs.models import Note\n\n\n" \
            "@shared_task\ndef count_notes():\n    return Note.objects.count()\n"
    root = _project(tmp_path, {"docs/tenancy.py": OWN_TENANCY, "docs/tasks.py": tasks})
    run_cli("check", "--no-cache", "--fix", "--select", "TEN001", cwd=root)
    assert (root / "docs" / "tasks.py").read_text().endswith(
        "def count_notes(*, tenant_id=None):\n    restore_tenant_context(tenant_id)\n    return Note.objects.count()\n")
    assert "from docs.tenancy import restore_tenant_context\n" in (root / "docs" / "tasks.py").read_text()


def test_a_detected_restore_function_the_tasks_already_use_is_the_fix_helper(tmp_path):
    # No `restore-functions` entry names it: the tenancy mechanisms find `activate_tenant`
    # sets the tenant (set_config), and a task already restores with it.
    root = write_project(tmp_path / "p", {
        "core/tenancy.py": "from django.db import connection\n\n\ndef activate_tenant(tenant_id):\n"
                           "    with connection.cursor() as cursor:\n"
                           "        cursor.execute(\"SELECT set_config('app.tenant', %s, false)\", [tenant_id])\n",
        "shop/models.py": "from django.db import models\n\n\nclass Order(models.Model):\n"
                          "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n",
        "shop/tasks.py": "from celery import shared_task\n\nfrom core.tenancy import activate_tenant\n"
                         "from shop.models import Order\n\n\n@shared_task\ndef good(*, tenant_id=None):\n"
                         "    activate_tenant(tenant_id)\n    Order.objects.count()\n\n\n"
                         "@shared_task\ndef bad(*, tenant_id=None):\n    Order.objects.count()\n",
    })
    (root / "pyproject.toml").write_text("[project]\nname = 'p'\ndependencies = ['celery', 'django']\n")
    fixed = run_cli("check", "--select", "TEN", "--fix", "--no-cache", cwd=root)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    source = (root / "shop" / "tasks.py").read_text()
    assert "def bad(*, tenant_id=None):\n    activate_tenant(tenant_id)\n    Order.objects.count()" in source
    assert "celerylint_runtime" not in source
