"""Autofixes: every fixable rule's before/after examples (`fix_examples` on the rule
class) through the real command line, twice (a second --fix changes nothing), and the
fixed project has no finding of the fixed code left."""

import subprocess
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from celerylint.rules import all_rules
from celerylint.rules.base import parse_example

from conftest import run_cli, write_project

CASES = [pytest.param(rule, before, after, id=f"{rule.code}-{i}")
         for rule in all_rules() for i, (before, after) in enumerate(rule.fix_examples)]


def test_fixable_rules_match_the_contract():
    fixable = {rule.code for rule in all_rules() if rule.fixable}
    assert fixable == {"TSK001", "TSK003", "BEAT002", "BEAT004", "BEAT008", "TEN001", "TEN002", "TEN003", "TEN004",
                       "TEN006", "TEN007", "TEN008"}
    for rule in all_rules():
        assert bool(rule.fix_safety) == rule.fixable, rule.code
        if rule.fixable:
            assert "Fix safety" in rule.sections(), rule.code


@pytest.mark.parametrize("rule, before, after", CASES)
def test_fix_example(tmp_path, rule, before, after):
    before_files = parse_example(textwrap.dedent(before)).files
    after_files = parse_example(textwrap.dedent(after)).files
    assert set(before_files) == set(after_files)
    root = write_project(tmp_path / "p", before_files)
    found = run_cli("check", "--select", rule.code, "--no-cache", "--format", "json", cwd=root)
    assert found.returncode == 1 and f'"{rule.code}"' in found.stdout, found.stdout + found.stderr
    fixed = run_cli("check", "--select", rule.code, "--fix", "--unsafe-fixes", "--no-cache", cwd=root)
    for path, expected in after_files.items():
        assert (root / path).read_text() == expected, path
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    again = run_cli("check", "--select", rule.code, "--fix", "--unsafe-fixes", "--diff", "--no-cache", cwd=root)
    assert again.returncode == 0 and again.stdout == ""


# --------------------------------------------------------------------------- round trips


def fix_until_stable(root, unsafe=True):
    """`check --fix` on the project: the CLI's loop, then the files written."""
    from celerylint.fixes import apply as fixes
    from celerylint.config import load_settings
    from celerylint.engine import check

    settings = load_settings(str(root))

    def recheck(overlay=None):
        return check([], settings, str(root), use_cache=False, jobs=1, overlay=overlay)

    result, changed, _ = fixes.fix_until_stable(recheck, recheck(), str(root), unsafe)
    for rel, (_, new) in changed.items():
        (root / rel).write_bytes(new)
    assert not fixes.fix_round(result.diagnostics, str(root), unsafe, result.scope)[0], "fixes did not settle"
    return result


def snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_fixture_project_round_trip(tmp_path):
    """`check --fix --unsafe-fixes` on the tenant fixture project leaves only findings
    without a fix, and a second --fix changes nothing."""
    import shutil

    from conftest import REPO

    root = tmp_path / "tenant_project"
    shutil.copytree(REPO / "tests" / "fixtures" / "tenant_project", root)
    before = run_cli("check", "--no-cache", "--format", "json", cwd=root)
    import json

    found = json.loads(before.stdout)["diagnostics"]
    unfixable = {(d["path"], d["code"]) for d in found if not d["fixable"]}
    assert any(d["fixable"] for d in found)
    first = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "--format", "json", cwd=root)
    left = json.loads(first.stdout)
    assert {(d["path"], d["code"]) for d in left["diagnostics"]} == unfixable
    assert not any(d["fixable"] for d in left["diagnostics"])
    assert left["summary"]["fixed"] == len(found) - len(left["diagnostics"]) == 10
    state = snapshot(root)
    second = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", "--format", "json", cwd=root)
    assert snapshot(root) == state and json.loads(second.stdout)["summary"]["fixed"] == 0


def test_fix_touches_only_the_files_named_but_sees_the_project(tmp_path):
    root = write_project(tmp_path / "p", {
        "shop/models.py": "from django.db import models\n\nclass Order(models.Model):\n"
                          "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n",
        "shop/tasks.py": "from celery import shared_task\nfrom shop.models import Order\n\n"
                         "@shared_task\ndef a():\n    Order.objects.all()\n",
        "shop/more.py": "from celery import shared_task\nfrom shop.models import Order\n\n"
                        "@shared_task\ndef b():\n    Order.objects.all()\n",
    })
    untouched = (root / "shop" / "more.py").read_text()
    proc = run_cli("check", "shop/tasks.py", "--fix", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stdout
    assert "restore_tenant_context(tenant_id)" in (root / "shop" / "tasks.py").read_text()
    assert (root / "shop" / "more.py").read_text() == untouched


def test_unsafe_fixes_need_the_flag_and_diff_writes_nothing(tmp_path):
    source = "from celery import shared_task\n\n@shared_task\ndef rebuild(tenant_id=None, full=False):\n    pass\n"
    root = write_project(tmp_path / "p", {"shop/tasks.py": source})
    safe_only = run_cli("check", "--fix", "--no-cache", cwd=root)
    assert safe_only.returncode == 1 and (root / "shop" / "tasks.py").read_text() == source
    diff = run_cli("check", "--diff", "--unsafe-fixes", "--no-cache", cwd=root)
    assert diff.returncode == 1 and (root / "shop" / "tasks.py").read_text() == source
    assert "-def rebuild(tenant_id=None, full=False):" in diff.stdout
    assert "+def rebuild(full=False, *, tenant_id=None):" in diff.stdout
    fixed = run_cli("check", "--fix", "--unsafe-fixes", "--no-cache", cwd=root)
    assert fixed.returncode == 0 and "(1 fixed)" in fixed.stdout


def test_diff_shows_everything_fix_writes_including_fixes_enabled_by_fixes(tmp_path):
    # TEN004's fix (pass tenant_id to the restore call) needs the parameter that TEN001's
    # fix adds: two rounds. --diff must show both, exactly what --fix then writes.
    models = ("from django.db import models\n\n\nclass Order(models.Model):\n"
              "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n")
    source = ("from celery import shared_task\nfrom celerylint_runtime import restore_tenant_context\n"
              "from shop.models import Order\n\n\n@shared_task\ndef close(x):\n"
              "    restore_tenant_context(x)\n    Order.objects.all()\n")
    root = write_project(tmp_path / "p", {"shop/models.py": models, "shop/tasks.py": source})
    diff = run_cli("check", "--diff", "--no-cache", cwd=root)
    assert diff.returncode == 1 and (root / "shop" / "tasks.py").read_text() == source
    assert "+def close(x, *, tenant_id=None):" in diff.stdout
    assert "+    restore_tenant_context(tenant_id)" in diff.stdout
    git_apply = subprocess.run(["git", "apply", "-"], input=diff.stdout, cwd=root, capture_output=True, text=True)
    assert git_apply.returncode == 0, git_apply.stderr
    by_diff = (root / "shop" / "tasks.py").read_text()
    (root / "shop" / "tasks.py").write_text(source)
    fixed = run_cli("check", "--fix", "--no-cache", cwd=root)
    assert fixed.returncode == 0 and "(2 fixed)" in fixed.stdout, fixed.stdout
    assert (root / "shop" / "tasks.py").read_text() == by_diff
    assert run_cli("check", "--diff", cwd=root).stdout == ""


def test_libcst_codemod_entry_point(tmp_path):
    import subprocess
    import sys

    root = write_project(tmp_path / "p", {
        "shop/models.py": "from django.db import models\n\nclass Order(models.Model):\n"
                          "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n",
        "shop/tasks.py": "from celery import shared_task\nfrom shop.models import Order\n\n"
                         "@shared_task\ndef close():\n    Order.objects.all()\n",
    })
    proc = subprocess.run([sys.executable, "-m", "libcst.tool", "codemod", "-x", "--no-format",
                           "celerylint.codemods.TenantContextNotRestored", "shop"], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert "Transformed 1 files successfully" in proc.stderr, proc.stderr
    assert (root / "shop" / "tasks.py").read_text() == (
        "from celery import shared_task\nfrom shop.models import Order\n"
        "from celerylint_runtime import restore_tenant_context\n\n"
        "@shared_task\ndef close(*, tenant_id=None):\n    restore_tenant_context(tenant_id)\n    Order.objects.all()\n")


# --------------------------------------------------------------------------- property


def _task_source(index, spec):
    decorator, is_async, params, docstring, comment, uses, restore = spec
    bound = "bind=True" in decorator
    params = params.replace("(", "(self, " if bound else "(", 1) if params != "()" else ("(self)" if bound else "()")
    lines = [decorator, f"{'async ' if is_async else ''}def task_{index}{params}:"]
    if docstring:
        lines.append('    """Generated."""')
    if comment:
        lines.append("    # keep this comment")
    if restore == "first":
        lines.append("    restore_tenant_context(tenant_id)")
    elif restore == "wrong":
        lines.append("    restore_tenant_context(x)")
    lines.append({"Order": "    Order.objects.filter(pk=1).count()",
                  "Rate": "    Rate.objects.count()",
                  "none": "    return None"}[uses])
    return "\n".join(lines) + "\n"


TASKS = st.tuples(
    st.sampled_from(["@shared_task", "@shared_task(bind=True)", "@shared_task(\n    bind=True,\n    max_retries=2,\n)",
                     "@app.task", "@app.task(name='renamed()')"]),
    st.booleans(),
    st.sampled_from(["(x)", "(x, tenant_id)", "(x, tenant_id=None, y=1)", "(x, tenant_id='main')", "(x, **kw)",
                     "(x, *args, **kw)", "(x, *, tenant_id=None)", "(\n    x,\n    **kw,\n)", "()"]),
    st.booleans(), st.booleans(), st.sampled_from(["Order", "Rate", "none"]),
    st.sampled_from(["none", "first", "wrong"]),
)
CALLS = st.sampled_from(["task_{i}.delay(1)", "task_{i}.delay(1, tenant_id=request.tenant.id)",
                         "task_{i}.apply_async(args=(1,), kwargs={{'tenant_id': str(request.tenant.pk)}})",
                         "task_{i}.s(1)"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tasks=st.lists(TASKS, min_size=1, max_size=5), calls=st.lists(CALLS, max_size=5))
def test_fixing_is_idempotent_parses_and_leaves_nothing_fixable(tmp_path_factory, tasks, calls):
    import ast

    root = tmp_path_factory.mktemp("generated")
    header = ("from celery import shared_task\nfrom celerylint_runtime import restore_tenant_context\n"
              "from proj.celery import app\nfrom shop.models import Order, Rate\n\n\n")
    module = header + "\n\n".join(_task_source(i, spec) for i, spec in enumerate(tasks))
    usable = [c.format(i=i) for i, c in enumerate(calls) if i < len(tasks)]
    view = "from shop.tasks import *\n\n\ndef view(request):\n" + "".join(f"    {c}\n" for c in usable or ["pass"])
    files = {
        "proj/celery.py": "from celery import Celery\n\napp = Celery('proj')\n",
        "shop/models.py": "from django.db import models\n\n\nclass Order(models.Model):\n"
                          "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n\n\n"
                          "class Rate(models.Model):\n    value = models.IntegerField()\n",
        "shop/tasks.py": module,
        "shop/views.py": view,
    }
    write_project(root, files)
    original = snapshot(root)
    from celerylint.engine import check
    from celerylint.config import load_settings

    initially_fixable = [d for d in check([], load_settings(str(root)), str(root), use_cache=False, jobs=1).diagnostics
                         if d.fix is not None]
    result = fix_until_stable(root)
    once = snapshot(root)
    assert (once != original) == bool(initially_fixable)
    for rel, source in once.items():
        ast.parse(source, rel)
    assert not [d for d in result.diagnostics if d.fix is not None]
    fix_until_stable(root)
    assert snapshot(root) == once


@pytest.mark.parametrize("before, after", [
    ("def f():\n    with a(), tenant_context(t):\n        go()\n", "def f():\n    with tenant_context(t):\n        go()\n"),
    ("def f():\n    with a() as ctx:\n        go(ctx)\n", None),  # bound with `as`: left alone
    ("def f():\n    with a(): go()\n", "def f():\n    go()\n"),
])
def test_removing_a_with_statements_context_manager(before, after):
    from celerylint.diagnostics import Edit
    from celerylint.fixes.apply import apply_edits

    edit = Edit("x.py", (2, 10, 2, 13), "remove")  # the span of `a()`
    assert apply_edits(before, [edit]) == (before if after is None else after)
