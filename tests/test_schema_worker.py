"""Schema per tenant, proved at run time (issue 10): a tiny django-tenants project, checked
by celerylint, then run on real PostgreSQL under a real `celery worker`. The task the
analyzer calls restored (`with schema_context(schema_name)`) counts exactly its tenant's
notes; the task it flags TEN003 (no restore) runs in the public schema and sees no
tenant's notes at all.

Services come from scripts/services (see tests/services.py and tests/runtime_support.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import findings, write_project
from runtime_support import _admin, _wait_for_log, service_env, services, stop  # noqa: F401

DATABASE = "celerylint_schema_worker"
BROKER_DB, BACKEND_DB = 5, 6  # not the 0-2 the other runtime tests flush
COUNTS = {"t1": 2, "t2": 5}

PROJECT = {
    "proj/__init__.py": "from .celery import app as celery_app\n",
    "proj/celery.py": """\
        import os

        from celery import Celery

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
        app = Celery("proj")
        app.config_from_object("django.conf:settings", namespace="CELERY")
        app.autodiscover_tasks()
        """,
    "proj/settings.py": f"""\
        import os

        SECRET_KEY = "schema-worker"
        USE_TZ = True
        SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes"]
        TENANT_APPS = ["notes"]
        INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
        TENANT_MODEL = "customers.Client"
        TENANT_DOMAIN_MODEL = "customers.Domain"
        DATABASES = {{"default": {{
            "ENGINE": "django_tenants.postgresql_backend", "NAME": "{DATABASE}", "USER": "postgres",
            "HOST": os.environ["CELERYLINT_PG_HOST"], "PORT": os.environ["CELERYLINT_PG_PORT"],
        }}}}
        DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
        DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
        CELERY_BROKER_URL = os.environ["CELERYLINT_REDIS_URL"] + "/{BROKER_DB}"
        CELERY_RESULT_BACKEND = os.environ["CELERYLINT_REDIS_URL"] + "/{BACKEND_DB}"
        CELERY_TASK_SERIALIZER = "json"
        """,
    "customers/models.py": """\
        from django.db import models
        from django_tenants.models import DomainMixin, TenantMixin


        class Client(TenantMixin):
            name = models.CharField(max_length=100)


        class Domain(DomainMixin):
            pass
        """,
    # Written by hand (what makemigrations gives, minus validators): no makemigrations run.
    "customers/migrations/0001_initial.py": """\
        import django.db.models.deletion
        from django.db import migrations, models


        class Migration(migrations.Migration):
            initial = True
            dependencies = []
            operations = [
                migrations.CreateModel("Client", [
                    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                    ("schema_name", models.CharField(db_index=True, max_length=63, unique=True)),
                    ("name", models.CharField(max_length=100)),
                ]),
                migrations.CreateModel("Domain", [
                    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                    ("domain", models.CharField(db_index=True, max_length=253, unique=True)),
                    ("is_primary", models.BooleanField(db_index=True, default=True)),
                    ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                                 related_name="domains", to="customers.client")),
                ]),
            ]
        """,
    "notes/models.py": """\
        from django.db import models


        class Note(models.Model):
            text = models.TextField()
        """,
    "notes/migrations/0001_initial.py": """\
        from django.db import migrations, models


        class Migration(migrations.Migration):
            initial = True
            dependencies = []
            operations = [
                migrations.CreateModel("Note", [
                    ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                    ("text", models.TextField()),
                ]),
            ]
        """,
    "notes/tasks.py": """\
        from celery import shared_task
        from django_tenants.utils import schema_context

        from notes.models import Note


        @shared_task
        def count_notes_in(schema_name):
            with schema_context(schema_name):
                return Note.objects.count()


        @shared_task
        def count_notes():
            return Note.objects.count()
        """,
}

# Migrate the shared apps into public, then create the tenants: saving a Client creates
# its schema and migrates the tenant apps (notes) into it. notes_note exists only there.
SEED = f"""
import django
django.setup()
from django.core.management import call_command
from django_tenants.utils import schema_context
from customers.models import Client
from notes.models import Note
call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
for schema, count in {COUNTS!r}.items():
    Client.objects.create(schema_name=schema, name=schema)
    with schema_context(schema):
        Note.objects.bulk_create(Note(text=f"{{schema}}-{{i}}") for i in range(count))
"""


def _line(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def test_restored_task_runs_in_its_tenants_schema_and_the_flagged_one_does_not(tmp_path, services):  # noqa: F811
    import redis
    from celery import Celery

    root = write_project(tmp_path / "schemaproj", PROJECT)

    # 1. The analyzer's verdicts, which the run below proves.
    # Every TEN finding is on `def count_notes` (none on count_notes_in), TEN003 among them.
    flagged = _line(root / "notes" / "tasks.py", "def count_notes(")
    found = [(path, line, code) for path, line, _, code, _ in findings(root, select=("TEN",))]
    assert {(path, line) for path, line, _ in found} == {("notes/tasks.py", flagged)}, found
    assert "TEN003" in {code for _, _, code in found}, found

    # 2. Real PostgreSQL: public with the shared apps, schemas t1 (2 notes) and t2 (5 notes).
    with _admin(services) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DATABASE}")
    env = service_env(services, DJANGO_SETTINGS_MODULE="proj.settings")
    seeded = subprocess.run([sys.executable, "-c", SEED], cwd=root, env=env, capture_output=True, text=True,
                            timeout=120)
    assert seeded.returncode == 0, seeded.stderr[-4000:]

    # 3. A real worker (solo pool: one thread, one database connection for every task).
    for db in (BROKER_DB, BACKEND_DB):
        redis.Redis.from_url(f"{services['redis_url']}/{db}").flushdb()
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "proj", "worker", "--pool=solo", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"schema-{os.getpid()}@localhost"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_log(log_path, "ready.", process)
            client = Celery("schema-client", broker=f"{services['redis_url']}/{BROKER_DB}",
                            backend=f"{services['redis_url']}/{BACKEND_DB}", set_as_current=False)
            client.conf.update(task_serializer="json", accept_content=["json"], result_accept_content=["json"])

            def run(name, *args):
                return client.send_task(f"notes.tasks.{name}", args=args).get(timeout=30)

            t1 = run("count_notes_in", "t1")
            t2 = run("count_notes_in", "t2")
            # The flagged task, sent as a caller would (no schema): the worker's connection
            # is on the public schema (schema_context put it back after each task above),
            # and public has no notes_note table -- the notes live only in the tenants'
            # schemas -- so the task fails instead of counting any tenant's notes.
            with pytest.raises(Exception, match='relation "notes_note" does not exist'):
                run("count_notes")
            again = run("count_notes_in", "t1")  # the failure left the connection usable
        finally:
            stop(process)
    assert (t1, t2, again) == (COUNTS["t1"], COUNTS["t2"], COUNTS["t1"])
