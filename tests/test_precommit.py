"""The pre-commit hooks for real: a throwaway git repository uses this repository
through `pre-commit try-repo`, which builds the hook's own virtualenv and installs
celerylint into it exactly as users get it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, write_project

SETTINGS_BROKEN = 'CELERY_BEAT_SCHEDULE = {"nightly": {"task": "ops.tasks.charge_al", "schedule": 60}}\n'
SETTINGS_FIXED = 'CELERY_BEAT_SCHEDULE = {"nightly": {"task": "ops.tasks.charge_all", "schedule": 60}}\n'
TASKS = "from celery import shared_task\n\n\n@shared_task\ndef charge_all():\n    pass\n"


def git(*args, cwd):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory):
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(hook, cwd, home):
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(REPO), hook, "--all-files",
                           "--verbose"], cwd=cwd, capture_output=True, text=True, env=env, timeout=900)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed for pre-commit")
def test_hook_fails_on_an_orphaned_entry_and_passes_once_fixed(tmp_path, pre_commit_home):
    repo = write_project(tmp_path / "user-project", {"ops/tasks.py": TASKS, "proj/settings.py": SETTINGS_BROKEN})
    git("init", "-q", cwd=repo)
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", "-A", cwd=repo)

    failing = try_repo("celerylint", repo, pre_commit_home)
    output = failing.stdout + failing.stderr
    assert failing.returncode == 1, output
    assert "proj/settings.py:1:45: BEAT001" in output
    assert 'did you mean "ops.tasks.charge_all"?' in output

    (repo / "proj" / "settings.py").write_text(SETTINGS_FIXED)
    git("add", "-A", cwd=repo)
    passing = try_repo("celerylint", repo, pre_commit_home)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "Passed" in passing.stdout


def test_hook_definitions_follow_the_contract():
    import yaml  # pre-commit depends on PyYAML

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"celerylint", "celerylint-fix"}
    assert hooks["celerylint"]["entry"] == "celerylint check"
    assert hooks["celerylint-fix"]["entry"] == "celerylint check --fix"
    for hook in hooks.values():
        assert hook["language"] == "python" and hook["types"] == ["python"] and hook["require_serial"] is True


def test_repository_is_installable_as_a_hook():
    # try-repo installs the repository root: its pyproject must declare the script.
    text = (REPO / "pyproject.toml").read_text()
    assert 'celerylint = "celerylint.cli:console_main"' in text
    assert Path(REPO / "celerylint" / "__main__.py").exists()


TENANT_MODELS = ("from django.db import models\n\n\nclass Order(models.Model):\n"
                 "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n")
UNRESTORED = "from celery import shared_task\nfrom shop.models import Order\n\n\n@shared_task\ndef close():\n" \
             "    Order.objects.all()\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed for pre-commit")
def test_fix_hook_rewrites_and_fails_then_passes(tmp_path, pre_commit_home):
    repo = write_project(tmp_path / "user-project", {"shop/models.py": TENANT_MODELS, "shop/tasks.py": UNRESTORED})
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)

    first = try_repo("celerylint-fix", repo, pre_commit_home)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    fixed = (repo / "shop" / "tasks.py").read_text()
    assert "def close(*, tenant_id=None):\n    restore_tenant_context(tenant_id)\n" in fixed
    assert "from celerylint_runtime import restore_tenant_context" in fixed

    git("add", "-A", cwd=repo)
    second = try_repo("celerylint-fix", repo, pre_commit_home)
    assert second.returncode == 0, second.stdout + second.stderr
