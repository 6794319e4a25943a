"""Task discovery: every form in RULES.md §1 is found with the name Celery registers,
and look-alikes are not tasks. Checked through the registry the rules use."""

import pytest

from celerylint.config import settings_from_mapping
from celerylint.engine import check

from conftest import findings, write_project


def registry(root, **config):
    settings = settings_from_mapping({k.replace("_", "-"): v for k, v in config.items()})
    result = check([], settings, str(root), use_cache=False, jobs=1)
    return {t.name: t for t in result.project.tasks.all()}, result


CELERY_APP = """
from celery import Celery

app = Celery("proj")
"""


def test_shared_task_forms_and_names(tmp_path):
    root = write_project(tmp_path, {
        "proj/celery.py": CELERY_APP,
        "shop/tasks.py": """
            import celery
            from celery import shared_task
            from celery import shared_task as st

            @shared_task
            def bare(): pass

            @shared_task()
            def called(): pass

            @st(bind=True)
            def aliased(self): pass

            @celery.shared_task
            def dotted(): pass

            @shared_task(name="explicit.name")
            def renamed(): pass
        """,
    })
    tasks, _ = registry(root)
    assert {"shop.tasks.bare", "shop.tasks.called", "shop.tasks.aliased", "shop.tasks.dotted",
            "explicit.name"} <= set(tasks)
    assert tasks["shop.tasks.bare"].kind == "shared"
    assert tasks["explicit.name"].explicit_name and tasks["explicit.name"].function == "renamed"


def test_app_task_through_reexports_and_app_names(tmp_path):
    root = write_project(tmp_path, {
        "proj/__init__.py": "from .celery import app as celery_app\n\n__all__ = ('celery_app',)\n",
        "proj/celery.py": CELERY_APP,
        "a/tasks.py": """
            from proj import celery_app

            @celery_app.task
            def via_package(): pass
        """,
        "b/tasks.py": """
            from proj.celery import app as worker

            @worker.task(name="b.renamed")
            def via_alias(): pass
        """,
        "c/tasks.py": """
            def register(app):
                @app.task
                def nested(): pass
        """,
        "d/tasks.py": """
            from celery import current_app

            @current_app.task
            def current(): pass
        """,
        "e/tasks.py": """
            import proj.celery as pc

            @pc.app.task
            def module_alias(): pass
        """,
    })
    tasks, _ = registry(root)
    assert tasks["a.tasks.via_package"].kind == "app"
    assert tasks["b.renamed"].kind == "app"
    assert tasks["c.tasks.nested"].nested  # `app` is in app-names
    assert tasks["d.tasks.current"].kind == "app"
    assert tasks["e.tasks.module_alias"].kind == "app"


def test_custom_task_decorators_and_class_based_tasks(tmp_path):
    root = write_project(tmp_path, {
        "core/decorators.py": """
            from vendor.celery_helpers import tenant_task_factory

            tenant_task = tenant_task_factory(queue="tenants")
        """,
        "core/base.py": """
            from celery import Task

            class BaseTask(Task):
                abstract = True
        """,
        "jobs/tasks.py": """
            from celery.app.task import Task as CeleryTask
            from core.base import BaseTask
            from core.decorators import tenant_task

            @tenant_task(name="jobs.custom")
            def custom(): pass

            class Direct(CeleryTask):
                name = "jobs.direct"

            class ThroughProject(BaseTask):
                name = "jobs.through_project"
                def run(self): pass

            class NoName(BaseTask):
                def run(self): pass
        """,
    })
    tasks, _ = registry(root, task_decorators=["core.decorators.tenant_task"])
    assert tasks["jobs.custom"].kind == "custom"
    assert tasks["jobs.direct"].kind == "class"
    assert tasks["jobs.through_project"].kind == "class"
    assert not any(t.function == "NoName" for t in tasks.values())
    tasks_without, _ = registry(root)
    assert "jobs.custom" not in tasks_without


def test_name_folding(tmp_path):
    root = write_project(tmp_path, {
        "names/__init__.py": 'PREFIX = "acme"\n',
        "names/consts.py": """
            from names import PREFIX

            class TaskNames:
                SYNC = PREFIX + ".sync"
        """,
        "work/tasks.py": """
            from celery import shared_task
            from names import PREFIX
            from names.consts import TaskNames

            LOCAL = "local"

            @shared_task(name=__name__ + ".x")
            def dunder(): pass

            @shared_task(name=f"{PREFIX}.{LOCAL}.fstring")
            def fstring(): pass

            @shared_task(name=PREFIX + "." + "concat")
            def concat(): pass

            @shared_task(name="implicit" ".join")
            def implicit(): pass

            @shared_task(name=TaskNames.SYNC)
            def class_constant(): pass

            @shared_task(name=make_name())
            def unknown(): pass
        """,
    })
    tasks, _ = registry(root)
    assert {"work.tasks.x", "acme.local.fstring", "acme.concat", "implicit.join", "acme.sync"} <= set(tasks)
    assert None in tasks  # the unfoldable name is unknown, not guessed
    assert tasks[None].function == "unknown"


@pytest.mark.parametrize("source", [
    # invoke's task, newrelic's background_task, signal receivers
    "from invoke import task\n\n@task\ndef deploy(c): pass\n",
    "import newrelic.agent\n\n@newrelic.agent.background_task()\ndef job(): pass\n",
    "from celery.signals import before_task_publish\n\n@before_task_publish.connect\ndef stamp(**kw): pass\n",
    "from prefect import task\n\n@task(name='x')\ndef flow_task(): pass\n",
    # a Django model called *Task and a class with a name field
    "from django.db import models\n\nclass ExportTask(models.Model):\n    name = models.CharField(max_length=10)\n",
    # an object called `app` that is not a Celery app, with a non-default name
    "import typer\n\ncli = typer.Typer()\n\n@cli.task\ndef command(): pass\n",
])
def test_look_alikes_are_not_tasks(tmp_path, source):
    root = write_project(tmp_path, {"ops/tasks.py": source})
    tasks, _ = registry(root)
    assert tasks == {}


def test_same_function_name_in_two_modules_and_reimports_are_not_duplicates(tmp_path):
    root = write_project(tmp_path, {
        "a/tasks.py": "from celery import shared_task\n\n@shared_task\ndef sync(): pass\n",
        "b/tasks.py": "from celery import shared_task\n\n@shared_task\ndef sync(): pass\n",
        "c/tasks.py": "from a.tasks import sync\nfrom b.tasks import sync as sync_b\n",
        "c/__init__.py": "from .tasks import *\n",
    })
    assert findings(root) == []


def test_duplicate_reported_at_every_later_definition_naming_the_first(tmp_path):
    root = write_project(tmp_path, {
        "a/tasks.py": "from celery import shared_task\n\n@shared_task(name='send')\ndef send(): pass\n",
        "b/tasks.py": "from celery import shared_task\n\n\n@shared_task(name='send')\ndef send_copy(): pass\n",
        "c/jobs.py": "from celery import Task\n\nclass Send(Task):\n    name = 'send'\n",
    })
    got = findings(root)
    assert [(p, line, col, code) for p, line, col, code, _ in got] == [
        ("b/tasks.py", 5, 5, "TSK002"),
        ("c/jobs.py", 3, 7, "TSK002"),
    ]
    assert all("a/tasks.py:4" in message for *_, message in got)


def test_project_decorator_factories_make_tasks(tmp_path):
    # rapidpro's cron_task and grafana oncall's shared_dedicated_queue_retry_task: project
    # functions that call shared_task themselves.
    root = write_project(tmp_path, {
        "core/crons.py": """
            from functools import wraps
            from celery import shared_task

            def cron_task(*task_args, **task_kwargs):
                def _cron_task(task_func):
                    @wraps(task_func)
                    def wrapper(*a, **kw):
                        return task_func(*a, **kw)
                    return shared_task(*task_args, **task_kwargs)(wrapper)
                return _cron_task

            def retry_task(*args, **kwargs):
                return shared_task(*args, base=RetryTask, **kwargs)

            def layered(**kwargs):
                return retry_task(**kwargs)

            def not_a_factory(func):
                return func
        """,
        "ops/tasks.py": """
            from core.crons import cron_task, layered, not_a_factory, retry_task

            @cron_task()
            def trim(): pass

            @retry_task(name="ops.renamed")
            def retry(): pass

            @layered()
            def deep(): pass

            @not_a_factory
            def plain(): pass
        """,
    })
    tasks, _ = registry(root)
    assert {"ops.tasks.trim", "ops.renamed", "ops.tasks.deep"} == set(tasks)


def test_app_class_overriding_gen_task_name(tmp_path):
    files = {
        "proj/celery.py": """
            import celery

            class ProjCelery(celery.Celery):
                def gen_task_name(self, name, module):
                    \"\"\"Just the function name.\"\"\"
                    return name

            app = ProjCelery("proj")
        """,
        "ops/tasks.py": "from celery import shared_task\n\n@shared_task\ndef trim(): pass\n",
        "proj/settings.py": 'CELERY_BEAT_SCHEDULE = {"t": {"task": "trim", "schedule": 60}}\n',
    }
    root = write_project(tmp_path / "a", files)
    tasks, _ = registry(root)
    assert set(tasks) == {"trim"}
    assert findings(root) == []
    # An override we cannot evaluate makes every auto-derived name unknown: no finding.
    files["proj/celery.py"] = files["proj/celery.py"].replace("return name", "return module.upper() + name")
    root = write_project(tmp_path / "b", files)
    tasks, _ = registry(root)
    assert set(tasks) == {None}
    assert findings(root) == []


def test_manage_py_in_a_subdirectory_is_a_source_root(tmp_path):
    root = write_project(tmp_path, {
        "backend/manage.py": "",
        "backend/core/deco.py": "from celery import shared_task\n\ndef job(**kw):\n    return shared_task(**kw)\n",
        "backend/ops/tasks.py": "from core.deco import job\n\n@job()\ndef nightly(): pass\n",
        "backend/proj/settings.py": 'CELERY_BEAT_SCHEDULE = {"n": {"task": "ops.tasks.nightlyy", "schedule": 1}}\n',
    })
    tasks, _ = registry(root)
    assert set(tasks) == {"ops.tasks.nightly"}  # named as Celery names it, imports resolved
    assert [(p, code) for p, _, _, code, _ in findings(root)] == [("backend/proj/settings.py", "BEAT001")]


def test_task_class_used_as_base_is_not_a_second_registration(tmp_path):
    # readthedocs: class SyncRepositoryTask(Task) with the same name as the function
    # decorated with @app.task(base=SyncRepositoryTask).
    root = write_project(tmp_path, {
        "proj/celery.py": CELERY_APP,
        "builds/tasks.py": """
            from celery import Task
            from proj.celery import app

            class SyncTask(Task):
                name = __name__ + ".sync"

            @app.task(base=SyncTask, bind=True)
            def sync(self): pass
        """,
    })
    assert findings(root) == []
