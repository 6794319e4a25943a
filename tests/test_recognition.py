"""Task and schedule recognition on code shaped like real projects (issue 12): task
decorators followed through their values, certainty (unverified is never orphaned),
external names decided by the declared dependencies, every schedule form (conditional
expressions, `|=`, merges, comprehensions, configure-time functions), django-celery-beat
rows written by code and fixtures, add_periodic_task keys, and source roots. Each point
has look-alikes that must not be flagged."""

import textwrap

import pytest

from celerylint.config import Settings
from celerylint.engine import check
from celerylint.project import dependencies

from conftest import codes_at, findings, write_project

PING = "from celery import shared_task\n\n@shared_task\ndef ping(): pass\n"
APP = "from celery import Celery\n\napp = Celery('proj')\n"


def run(root):
    return check([], Settings(), str(root), use_cache=False, jobs=1, verbose=True)


def task_names(root):
    return {t.name for t in run(root).project.tasks.all()}


def beat(root):
    """{(key, task)} of every entry, database rows included."""
    return {(e.key, e.task) for e in run(root).project.schedules.entries(rows=True)}


def orphans(root, **config):
    return [(p, line, message) for p, line, _, code, message in findings(root, **config) if code == "BEAT001"]


# --------------------------------------------------------------------------- 1. decorators through values


def test_decorator_values_assigned_calls_partials_factories(tmp_path):
    root = write_project(tmp_path, {
        "proj/celery.py": APP,
        "core/decorators.py": """
            import functools
            from functools import partial
            from celery import shared_task
            from proj.celery import app

            retrying_task = shared_task(acks_late=True, autoretry_for=(Exception,))
            finmars_task = functools.partial(app.task, base=object)
            mytask = partial(shared_task, base=object)

            def cron_task(**options):
                def wrap(func):
                    @functools.wraps(func)
                    def wrapper(*a, **kw):
                        return func(*a, **kw)
                    return shared_task(**options)(wrapper)
                return wrap

            nightly = cron_task(queue="nightly")
        """,
        "ops/tasks.py": """
            from core.decorators import finmars_task, mytask, nightly, retrying_task

            @retrying_task
            def retried(): pass

            @finmars_task(name="ops.renamed", bind=True)
            def partial_app(self): pass

            @finmars_task
            def partial_bare(): pass

            @mytask()
            def partial_shared(): pass

            @nightly
            def from_factory(): pass
        """,
    })
    assert task_names(root) == {"ops.tasks.retried", "ops.renamed", "ops.tasks.partial_bare",
                                "ops.tasks.partial_shared", "ops.tasks.from_factory"}


def test_instances_of_decorator_classes(tmp_path):
    root = write_project(tmp_path, {
        "proj/celery.py": APP,
        "core/scheduling.py": """
            import functools
            from celery import shared_task

            class Scheduled:
                def __init__(self, queue="default"):
                    self.queue = queue

                def __call__(self, func):
                    @functools.wraps(func)
                    def wrapper(*args, **kwargs):
                        return func(*args, **kwargs)
                    return shared_task(bind=True, queue=self.queue)(wrapper)

            class Hourly(Scheduled):
                pass

            class Registry:
                def __init__(self, app):
                    self.app = app

                def register(self, **options):
                    return self.app.task(**options)

            class Cache:
                def __call__(self, func):
                    return func
        """,
        # The instances live in a module that never mentions "task" (the byte prefilter
        # skips it), and so do the modules they decorate.
        "core/jobs.py": """
            from core.scheduling import Cache, Hourly, Registry, Scheduled
            from proj.celery import app

            scheduled = Scheduled(queue="low")
            hourly = Hourly()
            registry = Registry(app)
            memoize = Cache()
        """,
        "ops/reports.py": """
            from core.jobs import hourly, memoize, registry, scheduled

            @scheduled
            def daily_report(): pass

            @hourly
            def hourly_report(): pass

            @registry.register(name="ops.registered")
            def via_method(): pass

            @memoize
            def cached(): pass
        """,
        "proj/settings.py": """
            CELERY_BEAT_SCHEDULE = {
                "daily": {"task": "ops.reports.daily_report", "schedule": 86400},
                "hourly": {"task": "ops.reports.hourly_report", "schedule": 3600},
                "registered": {"task": "ops.registered", "schedule": 3600},
                "cached": {"task": "ops.reports.cached", "schedule": 3600},
            }
        """,
    })
    assert task_names(root) == {"ops.reports.daily_report", "ops.reports.hourly_report", "ops.registered"}
    # A class instance whose __call__ applies no task decorator is no task decorator:
    # `cached` is a plain function (known not to be a task, since Cache is readable).
    assert [(p, line) for p, line, _ in orphans(root)] == [("proj/settings.py", 6)]


def test_project_classes_used_directly_as_decorators(tmp_path):
    root = write_project(tmp_path, {
        "core/task.py": """
            import functools
            from celery import shared_task

            class retryable_task:
                def __init__(self, *args, **kwargs):
                    self.task_args, self.task_kwargs = args, kwargs

                def __call__(self, f):
                    @functools.wraps(f)
                    def inner(*args, **kwargs):
                        return f(*args, **kwargs)
                    return shared_task(*self.task_args, **self.task_kwargs)(inner)

            class Registered:
                def __init__(self, func):
                    self.task = shared_task(func)

            class timed:  # applies no task decorator
                def __init__(self, label=""):
                    self.label = label

                def __call__(self, f):
                    return f

            class Registry:  # applies one, but not in __call__ or __init__
                def __call__(self, f):
                    return f

                def register(self, f):
                    return shared_task(f)
        """,
        "ops/tasks.py": """
            from core.task import Registered, Registry, retryable_task, timed

            @retryable_task(name="store-pulse", max_retries=10)
            def store(): pass

            @retryable_task()
            def unnamed(): pass

            @Registered
            def wrapped(): pass

            @timed(label="x")
            def plain(): pass

            @Registry()
            def registry_call(): pass
        """,
        "proj/settings.py": """
            CELERY_BEAT_SCHEDULE = {
                "store": {"task": "store-pulse", "schedule": 60},
                "unnamed": {"task": "ops.tasks.unnamed", "schedule": 60},
                "wrapped": {"task": "ops.tasks.wrapped", "schedule": 60},
                "plain": {"task": "ops.tasks.plain", "schedule": 60},
                "registry": {"task": "ops.tasks.registry_call", "schedule": 60},
            }
        """,
    })
    assert task_names(root) == {"store-pulse", "ops.tasks.unnamed", "ops.tasks.wrapped"}
    # The look-alikes are readable classes that make no task of what they decorate.
    assert [(p, line) for p, line, _ in orphans(root)] == [("proj/settings.py", 6), ("proj/settings.py", 7)]


def test_nested_functions_resolve_decorators_with_the_imports_around_them(tmp_path):
    root = write_project(tmp_path, {
        "tests/conftest.py": """
            import pytest

            @pytest.fixture
            def mock_parser(monkeypatch):
                from celery import shared_task

                @shared_task
                def fetch_mock(*args, **kwargs):
                    pass

                return fetch_mock

            class Fixtures:
                def make(self):
                    from celery import shared_task as st

                    @st(name="fixtures.made")
                    def made():
                        pass

            def load_test():
                from locust import task

                @task
                def browse():
                    pass

            def no_import():
                @shared_task
                def unresolved():
                    pass
        """,
    })
    assert task_names(root) == {"tests.conftest.fetch_mock", "fixtures.made"}


def test_names_bound_to_task_decorator_calls_used_otherwise_are_not_decorators(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": """
            from celery import shared_task

            def cleanup_impl(): pass

            cleanup = shared_task(cleanup_impl)  # a task, not a decorator
            options = shared_task(acks_late=True)

            @cleanup
            def not_a_task(): pass

            print(options)
        """,
        "proj/settings.py": 'CELERY_BEAT_SCHEDULE = {"c": {"task": "ops.tasks.cleanup_impl", "schedule": 60}}\n',
    })
    assert task_names(root) == set()  # `cleanup` registers cleanup_impl by a call (below), not a definition
    assert orphans(root) == []  # the call registers "ops.tasks.cleanup_impl"


# --------------------------------------------------------------------------- 2. certainty


CERTAINTY = {
    "proj/celery.py": APP,
    "ops/tasks.py": """
        import vendorlib
        from django.contrib.auth.decorators import login_required
        from celery import shared_task
        from proj.celery import app

        @vendorlib.periodic(hours=1)
        def sync(): pass

        @login_required
        def view(): pass

        def plain(): pass

        made = vendorlib.make_task(plain)

        def registered_later(): pass

        registered_later = shared_task(registered_later)
        app.task(plain, name="ops.plain_by_call")

        @vendorlib.job(name="ops.named_elsewhere")
        def anything(): pass
    """,
    "other/tasks.py": """
        from proj.celery import app
        from other.base import SyncTask

        app.register_task(SyncTask())
    """,
    "proj/settings.py": """
        CELERY_BEAT_SCHEDULE = {
            "sync": {"task": "ops.tasks.sync", "schedule": 60},
            "view": {"task": "ops.tasks.view", "schedule": 60},
            "plain": {"task": "ops.tasks.plain", "schedule": 60},
            "made": {"task": "ops.tasks.made", "schedule": 60},
            "later": {"task": "ops.tasks.registered_later", "schedule": 60},
            "by-call": {"task": "ops.plain_by_call", "schedule": 60},
            "named": {"task": "ops.named_elsewhere", "schedule": 60},
            "registered": {"task": "other.tasks.whatever", "schedule": 60},
        }
    """,
}


def test_unverified_names_are_never_orphaned(tmp_path):
    root = write_project(tmp_path, CERTAINTY)
    # Orphaned for sure: a function under a decorator known not to register tasks, and a
    # plain function.
    assert [(line, message.split(",")[0]) for _, line, message in orphans(root)] == [
        (4, 'beat entry "view" names task "ops.tasks.view"'),
        (5, 'beat entry "plain" names task "ops.tasks.plain"'),
    ]
    notes = run(root).notes
    for expected in (
        'task "ops.tasks.sync" is not defined in the project; not checked (unverified: ops.tasks.sync is '
        'decorated with @vendorlib.periodic, which the analyzer cannot resolve)',
        'task "ops.tasks.made" is not defined in the project; not checked (unverified: ops.tasks.made is bound to '
        'a call the analyzer cannot read)',
        'task "ops.named_elsewhere" is not defined in the project; not checked (unverified: ops.tasks.anything is '
        'decorated with @vendorlib.job(name=...), which the analyzer cannot resolve)',
        'task "other.tasks.whatever" is not defined in the project; not checked (unverified: other.tasks registers '
        'tasks by a call the analyzer cannot read (other/tasks.py:5))',
    ):
        assert expected in notes


# --------------------------------------------------------------------------- 3. external names


EXTERNAL = {
    "ops/tasks.py": PING,
    "proj/settings.py": """
        INSTALLED_APPS = ["django.contrib.admin", "post_office", "ops"]
        CELERY_BEAT_SCHEDULE = {
            "results": {"task": "django_celery_results.tasks.cleanup", "schedule": 60},
            "email": {"task": "djcelery_email.tasks.send_emails", "schedule": 60},
            "health": {"task": "health_check.contrib.celery.tasks.add", "schedule": 60},
            "mail": {"task": "post_office.tasks.send_queued_mail", "schedule": 60},
            "deleted-app": {"task": "reports.tasks.daily_digest", "schedule": 60},
        }
    """,
}


@pytest.mark.parametrize("declaration", [
    ("requirements.txt", "-r requirements/base.txt\ndjango-health-check==3.17\n"),
    ("pyproject.toml", "[project]\nname = 'x'\ndependencies = ['celery[redis]>=5', 'django-celery-results',"
                       " 'django-celery-email', 'django-health-check']\n"),
    ("pyproject.toml", "[tool.poetry.dependencies]\npython = '^3.11'\ncelery = '^5'\n"
                       "django-celery-results = '*'\n[tool.poetry.group.extra.dependencies]\n"
                       "django-celery-email = '*'\ndjango-health-check = '*'\n"),
    ("Pipfile", "[packages]\ncelery = '*'\ndjango-celery-results = '*'\ndjango-celery-email = '*'\n"
                "django-health-check = '*'\n"),
    ("setup.cfg", "[options]\ninstall_requires =\n    celery>=5\n    django-celery-results\n"
                  "    django-celery-email\n    django-health-check\n"),
    ("setup.py", "from setuptools import setup\n\nREQUIRES = ['celery', 'django-celery-results', "
                 "'django-celery-email', 'django-health-check']\nsetup(name='x', install_requires=REQUIRES)\n"),
])
def test_a_package_from_neither_project_nor_dependencies_is_orphaned(tmp_path, declaration):
    files = dict(EXTERNAL)
    files[declaration[0]] = declaration[1]
    files["requirements/base.txt"] = "celery>=5\ndjango-celery-results\ndjango-celery-email  # sends mail\n"
    root = write_project(tmp_path, files)
    if declaration[0] == "pyproject.toml":  # write_project's own pyproject.toml, replaced
        (root / "pyproject.toml").write_text(declaration[1])
    [(path, line, message)] = orphans(root)
    assert (path, line) == ("proj/settings.py", 8)
    assert message.startswith('beat entry "deleted-app" names task "reports.tasks.daily_digest", which no task '
                              'registers: package "reports" is neither in the project nor a declared dependency (')


def test_without_trustworthy_declarations_unknown_packages_stay_external(tmp_path):
    root = write_project(tmp_path, EXTERNAL)  # pyproject.toml without dependencies
    assert orphans(root) == []
    files = dict(EXTERNAL, **{"requirements-docs.txt": "sphinx\nfuro\n"})  # declares neither Celery nor Django
    root = write_project(tmp_path / "docs-only", files)
    assert orphans(root) == []


def test_distribution_names_map_to_import_names():
    declared = dependencies.declared({"requirements.txt": "celery\ndjango-celery-email\ndjango-health-check\n"
                                                          "sentry-sdk\ndjangorestframework\nPyYAML\n"})
    assert declared is not None and declared.sources == ("requirements.txt",)
    for top, dist in [("djcelery_email", "django_celery_email"), ("health_check", "django_health_check"),
                      ("sentry_sdk", "sentry_sdk"), ("rest_framework", "djangorestframework"), ("yaml", "pyyaml"),
                      ("celery", "celery")]:
        assert declared.provides(top) == dist
    assert declared.provides("reports") is None and declared.provides("billing") is None
    assert dependencies.requirement_name("Django[argon2] >= 4.2 ; python_version > '3.8'") == "django"
    assert dependencies.requirement_name("pkg @ https://example.org/pkg.zip") == "pkg"
    assert dependencies.requirement_name("-e git+https://x/y.git#egg=django-foo") == "django_foo"


# --------------------------------------------------------------------------- 4. schedules


def test_merges_ior_and_comprehensions_over_literals(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": PING,
        "proj/schedules.py": """
            BASE = {"base": {"task": "ops.tasks.ping", "schedule": 60}}
            EXTRA = {"extra": {"task": "ops.tasks.gone_one", "schedule": 60}}
            SCHEDULE = dict(BASE, **EXTRA)
            SCHEDULE |= {"ior": {"task": "ops.tasks.gone_two", "schedule": 60}}
            REGIONS = ("eu", "us")
        """,
        "proj/settings.py": """
            from proj.schedules import REGIONS, SCHEDULE

            CELERY_BEAT_SCHEDULE = {
                **SCHEDULE,
                **{f"sync-{region}": {"task": "ops.tasks.ping", "schedule": 60, "args": (region,)}
                   for region in REGIONS},
                **{name: {"task": "ops.tasks.gone_three", "schedule": 60} for name in ["a", "b"]},
            }
            CELERY_BEAT_SCHEDULE |= {"late": {"task": "ops.tasks.gone_four", "schedule": 60}}
        """,
    })
    assert beat(root) == {("base", "ops.tasks.ping"), ("extra", "ops.tasks.gone_one"), ("ior", "ops.tasks.gone_two"),
                          ("sync-eu", "ops.tasks.ping"), ("sync-us", "ops.tasks.ping"), ("a", "ops.tasks.gone_three"),
                          ("b", "ops.tasks.gone_three"), ("late", "ops.tasks.gone_four")}
    # The two entries of one comprehension share their task reference: reported once.
    assert [(p, line) for p, line, _ in orphans(root)] == [
        ("proj/schedules.py", 3), ("proj/schedules.py", 5), ("proj/settings.py", 8), ("proj/settings.py", 10)]


CONDITIONAL = """
import os
from celery.schedules import crontab

DEBUG = os.environ.get("DEBUG") == "1"
MIDNIGHT = crontab(minute=0, hour=0)

CELERY_BEAT_SCHEDULE = {} if DEBUG else {
    "report": {"task": "ops.tasks.gone", "schedule": 60},
}
CELERY_BEAT_SCHEDULE |= {
    "x-0": {"task": "ops.tasks.ping", "schedule": MIDNIGHT, "args": (0,)},
    "x-1": {"task": "ops.tasks.ping", "schedule": MIDNIGHT, "args": (1,)},
} if DEBUG else {
    "y-0": {"task": "ops.tasks.ping", "schedule": MIDNIGHT, "args": (0,)},
    "y-1": {"task": "ops.tasks.ping", "schedule": MIDNIGHT, "args": (1,)},
}
"""


def test_conditional_schedules_read_both_arms_which_never_run_together(tmp_path):
    root = write_project(tmp_path, {"ops/tasks.py": PING, "proj/settings.py": CONDITIONAL})
    assert {key for key, _ in beat(root)} == {"report", "x-0", "x-1", "y-0", "y-1"}
    # BEAT001 in the else arm; two midnight jobs per arm are no hotspot (4 > 3 only if
    # both arms ran); the same task, arguments and schedule in both arms is no duplicate.
    assert codes_at(findings(root)) == {("proj/settings.py", 9, "BEAT001")}
    # Both dicts in one arm: a hotspot, and x-0/y-0, x-1/y-1 are duplicates.
    (root / "proj" / "settings.py").write_text(CONDITIONAL.replace("} if DEBUG else {\n    \"y-0", "    \"y-0"))
    got = codes_at(findings(root))
    assert {(line, code) for _, line, code in got} == {(9, "BEAT001"), (12, "BEAT005"), (13, "BEAT005"),
                                                        (14, "BEAT005"), (15, "BEAT005"), (14, "BEAT003"),
                                                        (15, "BEAT003")}


def test_changes_made_in_configure_time_functions(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": PING,
        "proj/celery.py": """
            from celery import Celery
            from proj.beat import configure

            app = Celery("proj")
            configure(app)

            @app.on_after_configure.connect
            def setup(sender, **kwargs):
                sender.conf.beat_schedule.update({"handler": {"task": "ops.tasks.gone_one", "schedule": 60}})
                sender.conf.beat_schedule["item"] = {"task": "ops.tasks.ping", "schedule": 60}
        """,
        "proj/beat.py": """
            def configure(app):
                app.conf.beat_schedule |= {"called": {"task": "ops.tasks.gone_two", "schedule": 60}}

            def never_called(app):
                app.conf.beat_schedule.update({"unknown": {"task": "ops.tasks.gone_three", "schedule": 60}})
        """,
        "proj/apps.py": """
            from django.apps import AppConfig

            class ProjConfig(AppConfig):
                name = "proj"

                def ready(self):
                    from proj.celery import app
                    app.conf.beat_schedule["ready"] = {"task": "ops.tasks.gone_four", "schedule": 60}
        """,
    })
    assert beat(root) == {("handler", "ops.tasks.gone_one"), ("item", "ops.tasks.ping"),
                          ("called", "ops.tasks.gone_two"), ("ready", "ops.tasks.gone_four")}
    assert codes_at(findings(root)) == {("proj/celery.py", 10, "BEAT001"), ("proj/beat.py", 3, "BEAT001"),
                                        ("proj/apps.py", 9, "BEAT001")}
    assert ("proj/beat.py:6: the schedule change in function never_called is not read: the analyzer does not know "
            "it to run when the app is configured") in run(root).notes


def test_unreadable_forms_are_listed_with_file_and_line(tmp_path):
    root = write_project(tmp_path, {
        "proj/settings.py": """
            import os

            CELERY_BEAT_SCHEDULE = load_schedule()
            CELERY_BEAT_SCHEDULE.update({name: {"task": name, "schedule": 60} for name in os.environ["TASKS"]})
            CELERY_BEAT_SCHEDULE["x"] = make_entry()
        """,
    })
    notes = run(root).notes
    assert "proj/settings.py:4: a beat schedule built by code cannot be read statically" in notes
    assert "proj/settings.py:5: a beat schedule comprehension over a value that cannot be read statically" in notes
    assert "proj/settings.py:6: a beat entry that is not a dict literal cannot be read" in notes
    assert findings(root) == []


# --------------------------------------------------------------------------- 5. database rows written by code

MIGRATION = """
from django.db import migrations


def create_tasks(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    monthly, _ = CrontabSchedule.objects.get_or_create(day_of_month=1, hour=1)
    PeriodicTask.objects.create(name="monthly-invoices", task="billing.tasks.issue_invoices", crontab=monthly)
    PeriodicTask.objects.create(name="old-report", task="reports.tasks.retired", crontab=monthly)
    PeriodicTask.objects.create(name="digest", task="billing.tasks.send_digest", crontab=monthly,
                                args='["weekly"]')


def remove_tasks(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.create(name="never", task="billing.tasks.reverse_only")


class Migration(migrations.Migration):
    dependencies = [("django_celery_beat", "0018_improve_crontab_helptext")]
    operations = [migrations.RunPython(create_tasks, remove_tasks)]
"""

BILLING = """
from celery import shared_task

@shared_task
def send_digest(period): pass

@shared_task
def cleanup(): pass
"""


def test_rows_written_by_migrations_commands_and_ready_hooks(tmp_path):
    root = write_project(tmp_path, {
        "billing/tasks.py": BILLING,
        "billing/migrations/0002_periodic_tasks.py": MIGRATION,
        "billing/migrations/0003_unapplied.py": MIGRATION.replace("[migrations.RunPython(create_tasks, remove_tasks)]",
                                                                  "[]  # migrations.RunPython(create_tasks)"),
        "billing/management/commands/setup_beat.py": """
            from django.core.management.base import BaseCommand
            from django_celery_beat.models import IntervalSchedule, PeriodicTask

            class Command(BaseCommand):
                def handle(self, *args, **options):
                    every, _ = IntervalSchedule.objects.get_or_create(every=10, period=IntervalSchedule.MINUTES)
                    PeriodicTask.objects.update_or_create(
                        name="cleanup", defaults={"task": "billing.tasks.cleanupp", "interval": every})
        """,
        "billing/apps.py": """
            from django.apps import AppConfig
            from django.db.models.signals import post_migrate

            class BillingConfig(AppConfig):
                name = "billing"

                def ready(self):
                    post_migrate.connect(self.create_rows, sender=self)

                def create_rows(self, **kwargs):
                    from django_celery_beat.models import PeriodicTask
                    PeriodicTask.objects.get_or_create(name="digest-copy", task="billing.tasks.send_digest",
                                                       args='["weekly"]')
        """,
        "billing/views.py": """
            from django_celery_beat.models import PeriodicTask

            def schedule_for(user):
                PeriodicTask.objects.create(name=f"user-{user.pk}", task="billing.tasks.user_job")
        """,
    })
    got = [(p, line, code) for p, line, _, code, _ in findings(root)]
    assert got == [
        ("billing/management/commands/setup_beat.py", 9, "BEAT001"),  # the task in defaults={...}
        ("billing/migrations/0002_periodic_tasks.py", 8, "BEAT008"),  # day_of_month=1, hour=1: 60 runs
        ("billing/migrations/0002_periodic_tasks.py", 9, "BEAT001"),
        # "reports.tasks.retired" (line 10): no declared dependencies, so "reports" may be
        # a third-party package; the reverse function, the migration that does not run it
        # and the view are not read.
    ]
    rows = {key for key, _ in beat(root)}
    assert rows == {"monthly-invoices", "old-report", "digest", "cleanup", "digest-copy"}
    message = dict(((p, line), m) for p, line, _, _, m in findings(root))
    assert message[("billing/migrations/0002_periodic_tasks.py", 9)].startswith(
        'periodic task row "monthly-invoices" names task "billing.tasks.issue_invoices", which no task registers')
    notes = run(root).notes
    assert ("billing/views.py:5: django-celery-beat rows written in schedule_for are not read: the analyzer does not "
            "know it to run at deploy or start-up") in notes


def test_rows_a_later_migration_deletes_are_not_read(tmp_path):
    root = write_project(tmp_path, {
        "billing/tasks.py": BILLING,
        "billing/migrations/0002_periodic_tasks.py": MIGRATION,
        "billing/migrations/0004_drop_old.py": """
            from django.db import migrations

            def drop(apps, schema_editor):
                PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
                PeriodicTask.objects.filter(name__in=["monthly-invoices", "old-report"]).delete()
                PeriodicTask.objects.filter(task="billing.tasks.send_digest").exists()

            class Migration(migrations.Migration):
                operations = [migrations.RunPython(drop)]
        """,
    })
    assert [(p, line, code) for p, line, _, code, _ in findings(root)] == [
        ("billing/migrations/0002_periodic_tasks.py", 8, "BEAT008")]
    assert {key for key, _ in beat(root)} == {"digest"}


def test_rows_named_like_a_configured_entry_are_replaced_by_it(tmp_path):
    # DatabaseScheduler writes the configured beat_schedule into the table by name at
    # start-up: the row a migration created under the same name is not what runs.
    root = write_project(tmp_path, {
        "billing/tasks.py": BILLING,
        "billing/migrations/0002_periodic_tasks.py": MIGRATION,
        "proj/settings.py": """
            CELERY_BEAT_SCHEDULE = {
                "old-report": {"task": "billing.tasks.cleanup", "schedule": 3600},
            }
        """,
    })
    got = [(p, line, code) for p, line, _, code, _ in findings(root)]
    # "monthly-invoices" (line 9) is still a row of its own; "old-report" (line 10) is not.
    assert got == [("billing/migrations/0002_periodic_tasks.py", 8, "BEAT008"),
                   ("billing/migrations/0002_periodic_tasks.py", 9, "BEAT001")]
    entries = beat(root)
    assert ("old-report", "billing.tasks.cleanup") in entries
    assert ("old-report", "reports.tasks.retired") not in entries
    assert ("monthly-invoices", "billing.tasks.issue_invoices") in entries


def test_rows_of_fixtures(tmp_path):
    fixture = textwrap.dedent("""\
        [
          {"model": "django_celery_beat.crontabschedule", "pk": 1,
           "fields": {"minute": "*", "hour": "3", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"}},
          {"model": "django_celery_beat.periodictask", "pk": 1,
           "fields": {"name": "nightly", "task": "billing.tasks.gone", "crontab": 1, "enabled": true}},
          {"model": "django_celery_beat.periodictask", "pk": 2,
           "fields": {"name": "digest", "task": "billing.tasks.send_digest", "crontab": 1, "args": "[\\"d\\"]"}},
          {"model": "auth.group", "pk": 1, "fields": {"name": "staff"}}
        ]
        """)
    yaml_fixture = textwrap.dedent("""\
        - model: django_celery_beat.periodictask
          pk: 3
          fields:
            name: yaml-row
            task: billing.tasks.also_gone
        """)
    root = write_project(tmp_path, {"billing/tasks.py": BILLING})
    (root / "billing" / "fixtures").mkdir()
    (root / "billing" / "fixtures" / "beat.json").write_text(fixture)
    (root / "billing" / "fixtures" / "beat.yaml").write_text(yaml_fixture)
    got = [(p, line, col, code) for p, line, col, code, _ in findings(root)]
    assert got == [
        ("billing/fixtures/beat.json", 2, 1, "BEAT008"),  # the crontabschedule object, at its line
        ("billing/fixtures/beat.json", 5, 42, "BEAT001"),  # the "task" value
        ("billing/fixtures/beat.yaml", 5, 11, "BEAT001"),
    ]
    assert {key for key, _ in beat(root)} == {"nightly", "digest", "yaml-row"}


# --------------------------------------------------------------------------- 6. add_periodic_task keys


def test_add_periodic_task_keys_as_celery_keys_them(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": PING + "\n@shared_task\ndef pong(x): pass\n",
        "proj/celery.py": """
            from celery import Celery
            from celery.schedules import crontab
            from ops.tasks import ping, pong

            app = Celery("proj")
            app.add_periodic_task(crontab(minute="*/15"), ping.s())
            app.add_periodic_task(crontab(minute="*/15"), ping.s())
            app.add_periodic_task(60, pong.s(1), name="pong")
            app.add_periodic_task(120, pong.s(2), name="pong")
            app.add_periodic_task(60, pong.s(1))
            app.add_periodic_task(60, pong.s(2))

            @app.on_after_configure.connect
            def setup(sender, **kwargs):
                if sender.conf.debug:
                    sender.add_periodic_task(10, pong.s(3), name="debug")
                else:
                    sender.add_periodic_task(600, pong.s(3), name="debug")
        """,
    })
    got = [(line, message) for _, line, _, code, message in findings(root) if code == "BEAT003"]
    assert got == [
        (8, 'add_periodic_task adds key "ops.tasks.ping()" again (Celery keys an entry added without name= by '
            'repr(sig)); Celery keeps one entry per key, so this one replaces the one added at line 7, the same '
            'entry twice: remove one call'),
        (10, 'add_periodic_task adds key "pong" again; Celery keeps one entry per key, so this one replaces the one '
             'added at line 9, the earlier one never runs: pass distinct name= to keep both'),
    ]
    keys = {key for key, _ in beat(root)}
    assert {"ops.tasks.ping()", "pong", "ops.tasks.pong(1)", "ops.tasks.pong(2)", "debug"} == keys


def test_add_periodic_task_with_a_task_imported_in_the_function(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": PING,
        "ops/other.py": PING,
        "proj/celery.py": """
            from celery import Celery
            from ops.tasks import ping

            app = Celery("proj")

            class Service:
                def setup(self, sender, **kwargs):
                    from ops.other import ping
                    sender.add_periodic_task(60, ping.s(), name="local")

            @app.on_after_finalize.connect
            def setup(sender, **kwargs):
                sender.add_periodic_task(60, ping.s(), name="module")

            app.on_after_finalize.connect(Service().setup)
        """,
    })
    entries = beat(root)
    # The function's own import shadows the module's.
    assert ("local", "ops.other.ping") in entries
    assert ("module", "ops.tasks.ping") in entries


# --------------------------------------------------------------------------- 7. BEAT008


def test_beat008_every_minute_crontabs_and_look_alikes(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": PING,
        "proj/settings.py": """
            import os
            from celery.schedules import crontab

            HOUR = os.environ.get("HOUR")
            CELERY_BEAT_SCHEDULE = {
                "a": {"task": "ops.tasks.ping", "schedule": crontab(hour=5)},
                "b": {"task": "ops.tasks.ping", "schedule": crontab(minute="*", day_of_week="sun")},
                "c": {"task": "ops.tasks.ping", "schedule": crontab.from_string("* 3 * * *")},
                "d": {"task": "ops.tasks.ping", "schedule": crontab()},
                "e": {"task": "ops.tasks.ping", "schedule": crontab(minute=0, hour=5)},
                "f": {"task": "ops.tasks.ping", "schedule": crontab(minute="*/5", hour="9-17")},
                "g": {"task": "ops.tasks.ping", "schedule": crontab(hour=HOUR)},
                "h": {"task": "ops.tasks.ping", "schedule": crontab(minute=os.environ["M"], hour=5)},
            }
        """,
    })
    got = [(line, message) for _, line, _, code, message in findings(root) if code == "BEAT008"]
    # Flagged: minute * under a restricting field. Not: every minute on purpose (d), a
    # minute given (e, f), a field that cannot be read (g, h).
    assert [line for line, _ in got] == [7, 8, 9]
    assert got[0][1].startswith('crontab(...): minute is "*": it fires every minute of hour 05')



# --------------------------------------------------------------------------- 8. source roots


def test_a_django_root_inside_a_package_names_modules_by_the_package_path(tmp_path):
    root = write_project(tmp_path, {
        "requirements.txt": "celery\ndjango\n",
        "proj/manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")\n',
        "proj/__init__.py": "",
        "proj/settings.py": """
            CELERY_BEAT_SCHEDULE = {
                "ok": {"task": "proj.shop.tasks.ping", "schedule": 60},
                "gone": {"task": "proj.shop.tasks.pong", "schedule": 60},
            }
        """,
        "proj/shop/tasks.py": PING,
    })
    assert task_names(root) == {"proj.shop.tasks.ping"}
    [(path, line, message)] = orphans(root)
    assert (path, line) == ("proj/settings.py", 4) and "neither in the project" not in message


def test_packages_under_any_root_are_the_projects(tmp_path):
    root = write_project(tmp_path, {
        "requirements.txt": "celery\ndjango\n",
        "backend/manage.py": 'import os\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")\n',
        "backend/config/settings.py": """
            CELERY_BEAT_SCHEDULE = {
                "short": {"task": "shop.tasks.ping", "schedule": 60},
                "long": {"task": "backend.shop.tasks.ping", "schedule": 60},
                "gone": {"task": "backend.shop.tasks.gone", "schedule": 60},
                "apps-dir": {"task": "legacy.tasks.gone", "schedule": 60},
            }
        """,
        "backend/shop/tasks.py": PING,
        "backend/apps/legacy/models.py": "",
    })
    assert task_names(root) == {"shop.tasks.ping"}
    # "backend" is the project's package under the root "." (never "not in the project");
    # "legacy" a directory of it (a sys.path entry could make it importable).
    [(path, line, message)] = orphans(root)
    assert (path, line) == ("backend/config/settings.py", 5) and "neither in the project" not in message


def test_the_src_directory_of_each_distribution_is_a_source_root(tmp_path):
    root = write_project(tmp_path, {
        "requirements.txt": "celery\ndjango\n",
        "backend/pyproject.toml": "[project]\nname = 'core'\n",
        "backend/src/core/manage.py": "from django.core.management import execute_from_command_line\n",
        "backend/src/core/__init__.py": "",
        "backend/src/core/tasks.py": PING,
        "premium/backend/pyproject.toml": "[project]\nname = 'premium'\n",
        "premium/backend/src/premium/tasks.py": PING,
        # Look-alike: a `src` directory of no distribution is no source root.
        "tools/src/scripts/tasks.py": PING,
        "backend/src/core/settings.py": """
            CELERY_BEAT_SCHEDULE = {
                "core": {"task": "core.tasks.ping", "schedule": 60},
                "premium": {"task": "premium.tasks.ping", "schedule": 60},
                "tools": {"task": "tools.src.scripts.tasks.ping", "schedule": 60},
                "gone": {"task": "premium.tasks.gone", "schedule": 60},
            }
        """,
    })
    assert task_names(root) == {"core.tasks.ping", "premium.tasks.ping", "tools.src.scripts.tasks.ping"}
    [(path, line, message)] = orphans(root)
    assert (path, line) == ("backend/src/core/settings.py", 6) and "neither in the project" not in message


def test_a_manage_py_inside_a_package_of_a_distribution(tmp_path):
    # baserow: `backend/src/baserow/manage.py`, run as the `baserow.manage:main` script.
    root = write_project(tmp_path, {
        "requirements.txt": "celery\ndjango\n",
        "backend/pyproject.toml": "[project]\nname = 'baserow'\n",
        "backend/src/baserow/__init__.py": "",
        "backend/src/baserow/manage.py": "from django.core.management import execute_from_command_line\n",
        "backend/src/baserow/core/tasks.py": PING,
        # Look-alike: a manage.py of no distribution keeps its directory as the root, even
        # in a package (test_tasks.test_manage_py_in_a_subdirectory_is_a_source_root).
        "tool/manage.py": "from django.core.management import execute_from_command_line\n",
        "tool/jobs/tasks.py": PING.replace("ping", "pong"),
    })
    for directory in ("backend", "backend/src"):  # not packages
        (root / directory / "__init__.py").unlink()
    assert task_names(root) == {"baserow.core.tasks.ping", "jobs.tasks.pong"}
