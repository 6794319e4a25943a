"""`manage.py validate_schedules` and the celerylint system checks, run for real: as a
`python manage.py` subprocess and through `call_command` (in a subprocess too, since
Django can be configured once per process), against the example project and the test
project tests/fixtures/djproject, which each test breaks in one way (an edit to its
sources, an environment variable, or django-celery-beat rows) next to the clean one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import REPO, findings
from services import services  # noqa: F401  (fixture)
from test_examples_project import EXAMPLES, deliberate

DJPROJECT = REPO / "tests" / "fixtures" / "djproject"
IGNORE = shutil.ignore_patterns(".celerylint_cache", "__pycache__", "*.sqlite3")

CALL_COMMAND = """
import io, json, sys
import django
django.setup()
from django.core.management import call_command
from django.core.management.base import CommandError
out = io.StringIO()
try:
    call_command("validate_schedules", *sys.argv[1:], stdout=out)
    code = 0
except CommandError as exc:
    code = exc.returncode
print(json.dumps({"code": code, "out": out.getvalue()}))
"""


def copy_project(source: Path, tmp_path: Path, edits: dict | None = None) -> Path:
    """A copy of `source` with `edits` ({relative path: [(old, new)]}) applied."""
    root = tmp_path / source.name
    shutil.copytree(source, root, ignore=IGNORE)
    for rel, replacements in (edits or {}).items():
        path = root / rel
        text = path.read_text()
        for old, new in replacements:
            assert old in text, (rel, old)
            text = text.replace(old, new)
        path.write_text(text)
    return root


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite database with djproject's migrations applied, copied into each test's project."""
    root = copy_project(DJPROJECT, tmp_path_factory.mktemp("migrated"))
    proc = manage(root, "migrate", "--verbosity", "0")
    assert proc.returncode == 0, proc.stderr
    return root / "db.sqlite3"


@pytest.fixture
def djproject(tmp_path, migrated_sqlite):
    """make(edits, name) -> a migrated copy of tests/fixtures/djproject with `edits`."""
    def make(edits: dict | None = None, name: str = "") -> Path:
        root = copy_project(DJPROJECT, tmp_path / name if name else tmp_path, edits)
        shutil.copy(migrated_sqlite, root / "db.sqlite3")
        return root

    return make


def environment(root: Path, env: dict | None) -> dict:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DJ_", "REPORT_", "SHOP_", "DJANGO_"))}
    full.pop("FORCE_COLOR", None)
    full.update({"DJ_SQLITE_PATH": str(root / "db.sqlite3"), "SHOP_SQLITE_PATH": str(root / "db.sqlite3")})
    full.update(env or {})
    return full


def manage(root: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=root, capture_output=True, text=True,
                          env=environment(root, env), timeout=300)


def call_command(root: Path, *args: str, env: dict | None = None, settings: str = "config.settings") -> tuple:
    """(return code, stdout) of call_command("validate_schedules", *args)."""
    full = environment(root, env)
    full.setdefault("DJANGO_SETTINGS_MODULE", settings)
    proc = subprocess.run([sys.executable, "-c", CALL_COMMAND, *args], cwd=root, capture_output=True, text=True,
                          env=full, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    return result["code"], result["out"]


def report(root: Path, *args: str, env: dict | None = None) -> tuple[int, dict]:
    proc = manage(root, "validate_schedules", "--format", "json", *args, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def by_check(data: dict, check: str) -> list[dict]:
    return [f for f in data["findings"] if f["check"] == check]


# --------------------------------------------------------------------------- the clean project


def test_clean_project_passes_and_lists_every_source_of_entries(tmp_path):
    root = copy_project(DJPROJECT, tmp_path)
    proc = manage(root, "migrate", "--verbosity", "0")
    assert proc.returncode == 0, proc.stderr
    code, data = report(root)
    assert code == 0 and data["findings"] == [], data["findings"]
    sources = {e["name"]: e["task"] for e in data["entries"]}
    assert sources == {
        "cleanup-sessions": "jobs.tasks.cleanup_sessions",  # settings
        "send-digest": "jobs.tasks.send_digest",
        "report-eu": "jobs.tasks.build_report",  # built from REPORT_REGIONS
        "report-us": "jobs.tasks.build_report",
        "heartbeat": "jobs.tasks.heartbeat",  # add_periodic_task in on_after_configure
        "rollup-daily": "jobs.rollup_daily",  # app.conf.beat_schedule.update, task registered at run time
    }
    assert data["app"] == "config"  # found as config.celery_app, without CELERYLINT_APP


def test_verbose_lists_entries_with_their_next_run(tmp_path):
    root = copy_project(DJPROJECT, tmp_path)
    before = datetime.now(timezone.utc)
    proc = manage(root, "validate_schedules", "--verbose", "--no-static", "--check-orphaned-tasks")
    assert proc.returncode == 0, proc.stderr
    assert "6 beat entries" in proc.stdout
    lines = proc.stdout.splitlines()
    at = lines.index("  cleanup-sessions  [beat_schedule]")
    assert lines[at + 1].strip() == "task: jobs.tasks.cleanup_sessions"
    when = datetime.fromisoformat(lines[at + 3].split("next run: ")[1])
    assert (when.hour, when.minute, when.second) == (3, 0, 0)
    assert before < when <= before + timedelta(days=1)
    heartbeat = datetime.fromisoformat(lines[lines.index("  heartbeat  [beat_schedule]") + 3].split("next run: ")[1])
    assert timedelta(seconds=298) <= heartbeat - before <= timedelta(seconds=302 + 60)


def test_task_registered_only_at_run_time_is_not_orphaned(tmp_path):
    root = copy_project(DJPROJECT, tmp_path)
    static = [(path, code) for path, _, _, code, message in findings(root) if "rollup" in message]
    assert static == [("config/celery.py", "BEAT001")]  # static analysis alone calls it orphaned
    code, data = report(root)
    assert code == 0
    assert not [f for f in data["findings"] if "rollup" in f["message"]]
    assert "celerylint.E001" not in manage(root, "check").stderr


# --------------------------------------------------------------------------- orphaned


ORPHAN = {"config/settings.py": [('"task": "jobs.tasks.send_digest"', '"task": "jobs.tasks.send_digests"')]}


def test_orphaned_entry_fails_through_call_command_and_manage_py(djproject):
    bad = djproject(ORPHAN, "bad")
    code, out = call_command(bad, "--check-orphaned-tasks")
    assert code == 1
    assert ('ERROR [orphaned] beat entry "send-digest" names task "jobs.tasks.send_digests", which is not '
            'registered (did you mean "jobs.tasks.send_digest"?)') in out
    proc = manage(bad, "validate_schedules", "--check-orphaned-tasks")
    assert proc.returncode == 1
    assert "CommandError: 1 error in the beat schedule" in proc.stderr
    fixed = djproject(name="fixed")
    assert call_command(fixed, "--check-orphaned-tasks")[0] == 0
    assert manage(fixed, "validate_schedules", "--check-orphaned-tasks").returncode == 0


def test_orphan_is_reported_once_though_static_analysis_sees_it_too(djproject):
    bad = djproject(ORPHAN)
    assert ("config/settings.py", "BEAT001") in [(p, c) for p, _, _, c, _ in findings(bad)]
    code, data = report(bad)
    assert code == 1
    assert [(f["check"], f["entries"]) for f in data["findings"]] == [("orphaned", ["send-digest"])]
    assert data["summary"] == {"errors": 1, "warnings": 0}


def test_manage_py_check_prints_the_system_check_error(djproject):
    bad = djproject(ORPHAN, "bad")
    proc = manage(bad, "check")
    assert proc.returncode == 1
    assert ('send-digest: (celerylint.E001) beat entry "send-digest" names task "jobs.tasks.send_digests", '
            "which is not registered") in proc.stderr
    deploy = manage(bad, "check", "--deploy")
    assert deploy.returncode == 1 and "(celerylint.E001)" in deploy.stderr
    fixed = djproject(name="fixed")
    proc = manage(fixed, "check")
    assert proc.returncode == 0 and "celerylint" not in proc.stderr + proc.stdout
    silenced = djproject({"config/settings.py": ORPHAN["config/settings.py"] + [
        ("CELERY_TASK_TIME_LIMIT = 600", 'CELERY_TASK_TIME_LIMIT = 600\nSILENCED_SYSTEM_CHECKS = ["celerylint.E001"]')]},
        "silenced")
    proc = manage(silenced, "check")
    assert proc.returncode == 0 and "celerylint.E001" not in proc.stderr


# --------------------------------------------------------------------------- duplicates


def test_same_task_and_arguments_scheduled_twice_is_a_duplicate(djproject):
    twice = {"config/celery.py": [(
        '    sender.add_periodic_task(300.0,',
        '    sender.add_periodic_task(crontab(hour=3, minute=0), sender.signature("jobs.tasks.cleanup_sessions"),\n'
        '                             name="nightly-cleanup", expires=60)\n'
        '    sender.add_periodic_task(300.0,')]}
    bad = djproject(twice, "bad")
    code, data = report(bad, "--check-duplicates")
    assert code == 1
    assert [(f["level"], f["entries"]) for f in data["findings"]] == [("error", ["cleanup-sessions", "nightly-cleanup"])]
    assert "the job runs twice" in data["findings"][0]["message"]
    # Different arguments are different jobs: the region reports share a task.
    fixed = djproject(name="fixed")
    assert report(fixed, "--check-duplicates")[1]["findings"] == []


# --------------------------------------------------------------------------- hotspots

CROWDED = {"REPORT_REGIONS": "eu,us,apac,latam", "REPORT_MINUTE_STEP": "0"}


def test_more_entries_than_the_threshold_in_one_minute_is_a_hotspot(djproject):
    root = djproject()
    code, data = report(root, "--check-hotspots", env=CROWDED)
    assert code == 0  # a warning
    [finding] = data["findings"]
    assert finding["level"] == "warning"
    assert finding["entries"] == ["report-eu", "report-us", "report-apac", "report-latam"]
    assert finding["message"] == ('4 crontab entries fire together every day at 05:00 (CELERYLINT_HOTSPOT_THRESHOLD '
                                  'is 3): "report-eu", "report-us", "report-apac", "report-latam"')
    proc = manage(root, "check", env=CROWDED)
    assert proc.returncode == 0 and "(celerylint.W001) 4 crontab entries fire together" in proc.stderr
    # the same regions staggered (the environment's default step), or three of them, are fine
    assert report(root, "--check-hotspots", env={"REPORT_REGIONS": "eu,us,apac,latam"})[1]["findings"] == []
    assert report(root, "--check-hotspots", env={**CROWDED, "REPORT_REGIONS": "eu,us,apac"})[1]["findings"] == []


def test_hotspot_threshold_setting(djproject):
    higher = {"config/settings.py": [("CELERY_TASK_TIME_LIMIT = 600", "CELERY_TASK_TIME_LIMIT = 600\n"
                                      "CELERYLINT_HOTSPOT_THRESHOLD = 4")]}
    root = djproject(higher, "higher")
    assert report(root, "--check-hotspots", env=CROWDED)[1]["findings"] == []
    broken = {"config/settings.py": [("CELERY_TASK_TIME_LIMIT = 600", "CELERY_TASK_TIME_LIMIT = 600\n"
                                      "CELERYLINT_HOTSPOT_THRESHOLD = '4'")]}
    root = djproject(broken, "broken")
    proc = manage(root, "validate_schedules", "--check-hotspots")
    assert proc.returncode == 2
    assert "CELERYLINT_HOTSPOT_THRESHOLD must be a positive integer, not '4'" in proc.stderr


# --------------------------------------------------------------------------- idempotency


def test_entry_that_can_pile_up_is_reported_with_the_fix(djproject):
    no_expiry = {"config/celery.py": [(', name="heartbeat", expires=300)', ', name="heartbeat")')]}
    bad = djproject(no_expiry, "bad")
    code, data = report(bad, "--check-idempotency")
    assert code == 0
    assert [f["message"] for f in data["findings"]] == [
        'beat entry "heartbeat" runs every 300 s without expires and its task\'s time limit (600 s) is longer: '
        'runs can pile up; set options={"expires": 300}']
    fixed = djproject(name="fixed")
    assert report(fixed, "--check-idempotency")[1]["findings"] == []


# --------------------------------------------------------------------------- django-celery-beat

ROWS = """
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
every_10 = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
nightly = CrontabSchedule.objects.create(minute="45", hour="2", timezone="UTC")
PeriodicTask.objects.create(name="db-digest", task="jobs.tasks.send_digest", crontab=nightly,
                            kwargs='{"period": "weekly"}', expire_seconds=3600)
PeriodicTask.objects.create(name="db-orphan", task="jobs.tasks.retired_job", interval=every_10, expire_seconds=600)
PeriodicTask.objects.create(name="db-disabled-orphan", task="jobs.tasks.gone", interval=every_10, enabled=False)
PeriodicTask.objects.create(name="heartbeat", task="jobs.tasks.send_digest", kwargs='{"period": "hourly"}',
                            interval=every_10, expire_seconds=600)
PeriodicTask.objects.create(name="cleanup-sessions", task="jobs.tasks.cleanup_sessions", crontab=nightly,
                            expire_seconds=3600)  # DatabaseScheduler's copy of the settings entry

"""


def database_rows_are_checked(root: Path, env: dict) -> None:
    proc = manage(root, "migrate", "--verbosity", "0", env=env)
    assert proc.returncode == 0, proc.stderr
    proc = manage(root, "shell", "-c", ROWS, env=env)
    assert proc.returncode == 0, proc.stderr
    code, data = report(root, env=env)
    assert code == 1
    names = {e["name"]: e["source"] for e in data["entries"]}
    assert names["db-digest"] == names["db-orphan"] == "database" and "db-disabled-orphan" not in names
    assert names["cleanup-sessions"] == "beat_schedule"  # listed once
    assert {(f["check"], tuple(f["entries"])) for f in data["findings"]} == {
        ("orphaned", ("db-orphan",)),
        ("duplicates", ("heartbeat",)),  # the database row takes the name of a beat_schedule entry
    }
    orphan = by_check(data, "orphaned")[0]["message"]
    assert orphan.startswith('database entry "db-orphan" names task "jobs.tasks.retired_job", which is not registered')
    # `manage.py check` reads the database only when asked to
    assert "db-orphan" not in manage(root, "check", env=env).stderr
    proc = manage(root, "check", "--database", "default", env=env)
    assert proc.returncode == 1 and "db-orphan: (celerylint.E001)" in proc.stderr
    # fixed: the orphan row disabled, the colliding one renamed
    fix = ('from django_celery_beat.models import PeriodicTask\n'
           'PeriodicTask.objects.filter(name="db-orphan").update(enabled=False)\n'
           'PeriodicTask.objects.filter(name="heartbeat").update(name="db-cleanup")\n')
    assert manage(root, "shell", "-c", fix, env=env).returncode == 0
    code, data = report(root, env=env)
    assert code == 0 and data["findings"] == [], data["findings"]
    assert manage(root, "check", "--database", "default", env=env).returncode == 0


def test_django_celery_beat_rows_in_sqlite(tmp_path):
    database_rows_are_checked(copy_project(DJPROJECT, tmp_path), {})


CLOCKED_AND_SOLAR = """
from datetime import datetime, timezone
from django_celery_beat.models import ClockedSchedule, PeriodicTask, SolarSchedule
once = ClockedSchedule.objects.create(clocked_time=datetime(2031, 5, 4, 3, 2, 1, tzinfo=timezone.utc))
PeriodicTask.objects.create(name="db-once", task="jobs.tasks.send_digest", clocked=once, one_off=True,
                            kwargs='{"period": "once"}')
# Celery cannot build this one (no ephem library, or with it an unknown event): beat fails on it
odd = SolarSchedule.objects.create(event="moonbounce", latitude=52.1, longitude=4.3)
PeriodicTask.objects.create(name="db-moon", task="jobs.tasks.send_digest", solar=odd, kwargs='{"period": "moon"}')
"""


def test_clocked_rows_and_rows_whose_schedule_cannot_be_built(tmp_path):
    root = copy_project(DJPROJECT, tmp_path)
    assert manage(root, "migrate", "--verbosity", "0").returncode == 0
    assert manage(root, "shell", "-c", CLOCKED_AND_SOLAR).returncode == 0
    code, data = report(root, "--no-static")
    entries = {e["name"]: e for e in data["entries"]}
    assert entries["db-once"]["next_run"] == "2031-05-04T03:02:01+00:00"
    assert entries["db-moon"]["next_run"] is None
    [finding] = by_check(data, "schedule")
    assert code == 1 and finding["level"] == "error" and finding["entries"] == ["db-moon"]
    assert finding["message"].startswith('database entry "db-moon" has a schedule that cannot be built: ')
    assert [f["check"] for f in data["findings"]] == ["schedule"]
    proc = manage(root, "check", "--database", "default")
    assert proc.returncode == 1 and "db-moon: (celerylint.E003)" in proc.stderr


def test_django_celery_beat_rows_in_postgresql(tmp_path, services):  # noqa: F811
    import psycopg

    name = f"djproject_{uuid.uuid4().hex[:8]}"
    dsn = dict(host=services["pg_host"], port=services["pg_port"], user="postgres", dbname="postgres", autocommit=True)
    with psycopg.connect(**dsn) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        env = {"DJ_DB": "postgres", "DJ_PG_HOST": services["pg_host"], "DJ_PG_PORT": str(services["pg_port"]),
               "DJ_PG_NAME": name}
        database_rows_are_checked(copy_project(DJPROJECT, tmp_path), env)
    finally:
        with psycopg.connect(**dsn) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_unmigrated_database_is_a_warning_not_a_crash(tmp_path):
    root = copy_project(DJPROJECT, tmp_path)
    code, data = report(root)
    assert code == 0
    [finding] = data["findings"]
    assert finding["check"] == "database" and finding["level"] == "warning"
    assert "no such table: django_celery_beat_periodictask" in finding["message"]


# --------------------------------------------------------------------------- the example project


def test_example_project_live_and_static_findings(tmp_path):
    root = copy_project(EXAMPLES, tmp_path)
    code, out = call_command(root, settings="shop.settings")
    assert code == 1
    assert ('ERROR [orphaned] beat entry "issue-invoices-all-tenants" names task '
            '"billing.tasks.scheduled_issue_invoice_all_tenants", which is not registered (did you mean '
            '"billing.tasks.scheduled_issue_invoices_all_tenants"?)') in out
    code, data = report(root)
    static = {(f["location"].split(":")[0], int(f["location"].split(":")[1]), f["code"])
              for f in by_check(data, "static")}
    live_orphan = {(p, line, c) for p, line, c in deliberate(root) if c == "BEAT001"}
    assert len(live_orphan) == 1
    # every deliberate mistake once: the orphan from the live app, the rest from static analysis
    assert static == deliberate(root) - live_orphan
    assert by_check(data, "orphaned")[0]["entries"] == ["issue-invoices-all-tenants"]
    proc = manage(root, "check")
    assert proc.returncode == 1 and "issue-invoices-all-tenants: (celerylint.E001)" in proc.stderr


def test_example_project_fixed_passes_the_live_checks(tmp_path):
    rename = {"shop/settings.py": [("scheduled_issue_invoice_all_tenants", "scheduled_issue_invoices_all_tenants")]}
    root = copy_project(EXAMPLES, tmp_path, rename)
    proc = manage(root, "validate_schedules", "--no-static")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Checked 6 beat entries (orphaned, duplicates, hotspots, idempotency): 0 errors, 0 warnings" in proc.stdout
    assert manage(root, "check").returncode == 0


# --------------------------------------------------------------------------- our logic


def test_idempotency_asks_for_the_shortest_gap_between_runs():
    # The interval is BEAT004's (crontab.interval_seconds): see test_static_and_live_verdicts_agree.
    from types import SimpleNamespace

    from celery.schedules import crontab, schedule

    from celerylint_runtime.django.schedules import Entry, check_idempotency

    # What the check reads of the app (a real Celery app here would adopt the shared tasks
    # other tests define): no time limit, so every entry without expires can pile up.
    app = SimpleNamespace(conf=SimpleNamespace(task_time_limit=None), tasks={})
    entries = [
        Entry("weekly", "ops.tasks.job", crontab(hour=3, minute=30, day_of_week="sunday")),
        Entry("quarter-hourly", "ops.tasks.job", crontab(minute="*/15")),
        Entry("night", "ops.tasks.job", crontab(hour="1,23", minute=0)),  # 23:00 -> 01:00
        Entry("monthly", "ops.tasks.job", crontab(hour=3, minute=0, day_of_month=1)),  # Feb 1 -> Mar 1
        Entry("interval", "ops.tasks.job", schedule(timedelta(seconds=90))),
        Entry("expiring", "ops.tasks.job", schedule(timedelta(seconds=90)), options={"expires": 90}),
    ]
    got = {f.entries[0]: f.message for f in check_idempotency(app, entries)}
    assert set(got) == {"weekly", "quarter-hourly", "night", "monthly", "interval"}
    assert got["weekly"].startswith(f'beat entry "weekly" runs every {7 * 86400} s without expires and its task '
                                    f'has no time limit')
    assert got["quarter-hourly"].endswith('set options={"expires": 900}')
    assert got["night"].startswith('beat entry "night" runs as often as every 7200 s')  # not a regular period
    assert got["monthly"].endswith(f'set options={{"expires": {28 * 86400}}}')
    assert got["interval"].endswith('set options={"expires": 90}')
    app.conf.task_time_limit = 3 * 3600  # runs end before the next one is due only for the rarer entries
    assert {f.entries[0] for f in check_idempotency(app, entries)} == {"quarter-hourly", "night", "interval"}


def test_hotspots_count_monthly_entries_only_on_their_days():
    from celery.schedules import crontab

    from celerylint_runtime.django.schedules import Entry, check_hotspots

    def entry(name, **fields):
        return Entry(name, "ops.tasks.job", crontab(minute=0, hour=0, **fields), args=(name,))

    daily = [entry("d1"), entry("d2"), entry("d3")]
    # Two monthly jobs on different days never fire together: at most 4 at once, on the 1st or the 15th.
    [finding1, finding15] = sorted(check_hotspots(daily + [entry("m1", day_of_month=1), entry("m15", day_of_month=15)], 3),
                                   key=lambda f: f.entries)
    assert finding1.entries == ("d1", "d2", "d3", "m1") and finding15.entries == ("d1", "d2", "d3", "m15")
    assert finding1.message.startswith("4 crontab entries fire together at 00:00 on day 1 of the month")
    assert finding15.message.startswith("4 crontab entries fire together at 00:00 on day 15 of the month")
    assert check_hotspots(daily[:2] + [entry("m1", day_of_month=1), entry("m15", day_of_month=15)], 3) == []
    # The same day of the month, or a month that contains it, does collide.
    [finding] = check_hotspots(daily[:2] + [entry("m1", day_of_month=1), entry("j1", day_of_month=1, month_of_year=1)], 3)
    assert finding.entries == ("d1", "d2", "m1", "j1")
    # Without day restrictions, the plain weekday grouping.
    [plain] = check_hotspots(daily + [entry("mon", day_of_week="mon")], 3)
    assert plain.entries == ("d1", "d2", "d3", "mon")
    assert plain.message.startswith("4 crontab entries fire together Mon at 00:00 (CELERYLINT_HOTSPOT_THRESHOLD is 3)")


def test_bad_celerylint_configuration_exits_2_naming_the_key(djproject):
    root = djproject()
    (root / "pyproject.toml").write_text("[tool.celerylint]\nhotspot-treshold = 4\n")
    proc = manage(root, "validate_schedules", "--check-orphaned-tasks")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "tool.celerylint.hotspot-treshold" in proc.stderr and "Traceback" not in proc.stderr
    assert manage(root, "validate_schedules", "--check-orphaned-tasks", "--no-static").returncode == 0


# --------------------------------------------------------------------------- as a pre-commit hook

LOCAL_HOOK = """\
repos:
  - repo: local
    hooks:
      - id: validate-schedules
        name: validate the live beat schedule
        entry: python manage.py validate_schedules --check-orphaned-tasks --no-static
        language: system
        pass_filenames: false
        files: (tasks|celery|settings)\\.py$
"""


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed for pre-commit")
def test_local_pre_commit_hook_blocks_an_orphaned_entry(djproject, tmp_path):
    # The README's recipe, run by pre-commit itself on a commit of the settings file.
    assert LOCAL_HOOK in (REPO / "README.md").read_text()
    root = djproject(ORPHAN, "hooked")
    (root / ".pre-commit-config.yaml").write_text(LOCAL_HOOK)
    env = environment(root, {"PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "PRE_COMMIT_COLOR": "never",
                             "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")})

    def run(*args):
        return subprocess.run(args, cwd=root, capture_output=True, text=True, env=env, timeout=300)

    run("git", "init", "-q")
    run("git", "add", "-A")
    failing = run(sys.executable, "-m", "pre_commit", "run", "--all-files")
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert 'beat entry "send-digest" names task "jobs.tasks.send_digests", which is not registered' in failing.stdout
    settings_py = root / "config" / "settings.py"
    settings_py.write_text(settings_py.read_text().replace("jobs.tasks.send_digests", "jobs.tasks.send_digest"))
    run("git", "add", "-A")
    passing = run(sys.executable, "-m", "pre_commit", "run", "--all-files")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "validate the live beat schedule" in passing.stdout and "Passed" in passing.stdout


# --------------------------------------------------------------------------- one schedule logic, static and live
#
# One schedule, written as CELERY_BEAT_SCHEDULE and as django-celery-beat rows, fed to the
# static rules (celerylint.engine.check) and to `manage.py validate_schedules`: the same
# orphans with the same suggestion, the same duplicates, the same hotspot groups with the
# same "when", and the same expires for the entries that can pile up (no task has a time
# limit, so every entry without expires can).

SAME_TASKS = """\
from celery import shared_task


@shared_task
def cleanup():
    return "cleaned"


@shared_task
def send_digest(period="daily"):
    return period


@shared_task
def build_report(region):
    return region


@shared_task
def sync(region):
    return region


@shared_task
def archive(scope="all"):
    return scope


@shared_task
def heartbeat():
    return "ok"
"""

# (name, task, schedule, args, kwargs, expires); a schedule is crontab keyword arguments,
# or seconds (int: written as a number, float: as a timedelta).
SAME_SCHEDULE = [
    # every day at 00:00: five entries, two of them the same job
    ("nightly-cleanup", "jobs.tasks.cleanup", {"minute": 0, "hour": 0}, None, None, 3600),
    ("digest", "jobs.tasks.send_digest", {"minute": 0, "hour": 0}, None, {"period": "daily"}, None),
    ("report-eu", "jobs.tasks.build_report", {"minute": 0, "hour": 0}, ("eu",), None, 3600),
    ("report-us", "jobs.tasks.build_report", {"minute": "0", "hour": "0"}, ["us"], None, 3600),
    ("report-eu-copy", "jobs.tasks.build_report", {"minute": "0", "hour": "0"}, ["eu"], None, 3600),
    # 09:00 on weekdays, with a monthly and a quarterly job that join them on the 1st
    ("sync-eu", "jobs.tasks.sync", {"minute": 0, "hour": 9, "day_of_week": "mon-fri"}, ("eu",), None, 3600),
    ("sync-us", "jobs.tasks.sync", {"minute": 0, "hour": 9, "day_of_week": "1-5"}, ("us",), None, 3600),
    ("sync-apac", "jobs.tasks.sync", {"minute": 0, "hour": 9}, ("apac",), None, 3600),
    ("sync-eu-evening", "jobs.tasks.sync", {"minute": 0, "hour": 18}, ("eu",), None, 3600),  # not a duplicate
    ("archive-monthly", "jobs.tasks.archive", {"minute": 0, "hour": 9, "day_of_month": 1}, None, None, None),
    ("archive-quarterly", "jobs.tasks.archive", {"minute": 0, "hour": 9, "day_of_month": 1,
                                                 "month_of_year": "1,4,7,10"}, None, {"scope": "quarter"}, 3600),
    # intervals: 300 s twice, the second without expires
    ("heartbeat", "jobs.tasks.heartbeat", 300, None, None, 300),
    ("heartbeat-2", "jobs.tasks.heartbeat", 300.0, None, None, None),
    # irregular crontab: 23:15 -> 01:15 is the shortest gap
    ("evening-and-night", "jobs.tasks.heartbeat", {"minute": 15, "hour": "1,23"}, None, None, None),
    # a renamed task
    ("digest-weekly", "jobs.tasks.send_digests", {"minute": 30, "hour": 7, "day_of_week": "sun"}, None,
     {"period": "weekly"}, None),
]


def _settings_entry(name, task, schedule, args, kwargs, expires) -> str:
    if isinstance(schedule, dict):
        when = "crontab(" + ", ".join(f"{k}={v!r}" for k, v in schedule.items()) + ")"
    elif isinstance(schedule, float):
        when = f"timedelta(seconds={int(schedule)})"
    else:
        when = repr(schedule)
    fields = [f'"task": {task!r}', f'"schedule": {when}']
    if args is not None:
        fields.append(f'"args": {args!r}')
    if kwargs is not None:
        fields.append(f'"kwargs": {kwargs!r}')
    if expires is not None:
        fields.append(f'"options": {{"expires": {expires}}}')
    return f"    {name!r}: {{{', '.join(fields)}}},\n"


def _row(name, task, schedule, args, kwargs, expires) -> str:
    if isinstance(schedule, dict):
        when = ("crontab=CrontabSchedule.objects.create(timezone='UTC', "
                + ", ".join(f"{k}={str(v)!r}" for k, v in schedule.items()) + ")")
    else:
        when = f"interval=IntervalSchedule.objects.create(every={int(schedule)}, period=IntervalSchedule.SECONDS)"
    return (f"PeriodicTask.objects.create(name={name!r}, task={task!r}, {when}, "
            f"args={json.dumps(list(args or []))!r}, kwargs={json.dumps(kwargs or {})!r}, "
            f"expire_seconds={expires!r})\n")


def schedule_project(root: Path, schedule_in_settings: bool) -> Path:
    files = {
        "manage.py": (DJPROJECT / "manage.py").read_text(),
        "config/__init__.py": "from .celery import app as celery_app\n\n__all__ = (\"celery_app\",)\n",
        "config/celery.py": ("import os\n\nfrom celery import Celery\n\n"
                             "os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"config.settings\")\n\n"
                             "app = Celery(\"config\")\n"
                             "app.config_from_object(\"django.conf:settings\", namespace=\"CELERY\")\n"
                             "app.autodiscover_tasks()\n"),
        "config/settings.py": (
            "import os\nfrom datetime import timedelta\n\nfrom celery.schedules import crontab\n\n"
            "SECRET_KEY = \"tests\"\nUSE_TZ = True\nTIME_ZONE = \"UTC\"\n"
            "DEFAULT_AUTO_FIELD = \"django.db.models.BigAutoField\"\n"
            "INSTALLED_APPS = [\"django.contrib.contenttypes\", \"django_celery_beat\", "
            "\"celerylint_runtime.django\", \"jobs\"]\n"
            "DATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.sqlite3\", "
            "\"NAME\": os.environ[\"DJ_SQLITE_PATH\"]}}\n"
            "CELERY_BROKER_URL = \"memory://\"\nCELERY_TIMEZONE = TIME_ZONE\n\n"
            "CELERY_BEAT_SCHEDULE = {\n"
            + ("".join(_settings_entry(*entry) for entry in SAME_SCHEDULE) if schedule_in_settings else "")
            + "}\n"),
        "jobs/__init__.py": "",
        "jobs/tasks.py": SAME_TASKS,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def static_verdicts(root: Path) -> dict:
    from celerylint.config import load_settings
    from celerylint.engine import check

    result = check([], load_settings(str(root)), str(root), use_cache=False, jobs=1,
                   select=("BEAT001", "BEAT003", "BEAT004", "BEAT005"))
    verdicts = {"orphaned": set(), "duplicates": set(), "hotspots": set(), "expires": set()}
    for d in result.diagnostics:
        if d.code == "BEAT001":
            key, task = re.match(r'beat entry "(.*?)" names task "(.*?)"', d.message).groups()
            hint = re.search(r'did you mean "(.*?)"\?', d.message)
            verdicts["orphaned"].add((key, task, hint and hint.group(1)))
        elif d.code == "BEAT003":
            later, first = re.match(r'beat entry "(.*?)" duplicates "(.*?)"', d.message).groups()
            verdicts["duplicates"].add((first, later))
        elif d.code == "BEAT005":
            count, when, names = re.match(r"(\d+) crontab entries fire together (.*) \(hotspot-threshold is 3\): (.*)",
                                          d.message).groups()
            members = tuple(re.findall(r'"(.*?)"', names))
            assert len(members) == int(count)
            verdicts["hotspots"].add((members, when))
        elif d.code == "BEAT004":
            key = re.match(r'beat entry "(.*?)"', d.message).group(1)
            arg = d.fix.edits[0].arg if d.fix else None
            seconds = arg[1] if isinstance(arg, tuple) else arg
            verdicts["expires"].add((key, None if seconds is None else str(int(seconds))))
    return verdicts


def live_verdicts(data: dict) -> dict:
    verdicts = {"orphaned": set(), "duplicates": set(), "hotspots": set(), "expires": set()}
    for f in data["findings"]:
        if f["check"] == "orphaned":
            task = re.search(r'names task "(.*?)"', f["message"]).group(1)
            hint = re.search(r'did you mean "(.*?)"\?', f["message"])
            verdicts["orphaned"].add((f["entries"][0], task, hint and hint.group(1)))
        elif f["check"] == "duplicates":
            verdicts["duplicates"].add(tuple(f["entries"]))
        elif f["check"] == "hotspots":
            count, when = re.match(r"(\d+) crontab entries fire together (.*) \(CELERYLINT_HOTSPOT_THRESHOLD is 3\)",
                                   f["message"]).groups()
            assert len(f["entries"]) == int(count)
            verdicts["hotspots"].add((tuple(f["entries"]), when))
        elif f["check"] == "idempotency":
            verdicts["expires"].add((f["entries"][0], re.search(r'"expires": (\S+)}', f["message"]).group(1)))
        else:
            assert f["check"] == "database" and f["level"] == "warning", f  # no migrated database: no rows
    return verdicts


def unordered(verdicts: dict) -> dict:
    """Database rows come in the database's order: compare groups and pairs as sets."""
    return {**verdicts,
            "duplicates": {frozenset(pair) for pair in verdicts["duplicates"]},
            "hotspots": {(frozenset(members), when) for members, when in verdicts["hotspots"]}}


def test_static_and_live_verdicts_agree(tmp_path):
    in_settings = schedule_project(tmp_path / "settings", schedule_in_settings=True)
    static = static_verdicts(in_settings)
    code, data = report(in_settings, "--no-static")
    assert code == 1  # the orphan
    live = live_verdicts(data)
    assert {e["name"] for e in data["entries"]} == {entry[0] for entry in SAME_SCHEDULE}
    assert live == static

    # Not vacuous: each verdict, worked out by hand.
    assert static["orphaned"] == {("digest-weekly", "jobs.tasks.send_digests", "jobs.tasks.send_digest")}
    assert static["duplicates"] == {("report-eu", "report-eu-copy"), ("heartbeat", "heartbeat-2")}
    assert static["hotspots"] == {
        (("nightly-cleanup", "digest", "report-eu", "report-us", "report-eu-copy"), "every day at 00:00"),
        (("sync-eu", "sync-us", "sync-apac", "archive-monthly", "archive-quarterly"),
         "Mon-Fri at 09:00 on day 1 of Jan, Apr, Jul, Oct"),
    }
    assert static["expires"] == {
        ("digest", str(86400)), ("archive-monthly", str(28 * 86400)), ("heartbeat-2", "300"),
        ("evening-and-night", str(2 * 3600)), ("digest-weekly", str(7 * 86400)),
    }

    # The same schedule as django-celery-beat rows (CrontabSchedule, IntervalSchedule),
    # read by the live checks only: the same verdicts again.
    as_rows = schedule_project(tmp_path / "rows", schedule_in_settings=False)
    env = {"DJ_SQLITE_PATH": str(as_rows / "db.sqlite3")}
    assert manage(as_rows, "migrate", "--verbosity", "0", env=env).returncode == 0
    rows = ("from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask\n"
            + "".join(_row(*entry) for entry in SAME_SCHEDULE))
    proc = manage(as_rows, "shell", "-c", rows, env=env)
    assert proc.returncode == 0, proc.stderr
    code, data = report(as_rows, "--no-static", env=env)
    assert code == 1
    assert {e["source"] for e in data["entries"]} == {"database"} and len(data["entries"]) == len(SAME_SCHEDULE)
    assert unordered(live_verdicts(data)) == unordered(static)


# --------------------------------------------------------------------------- without celerylint

HIDDEN = {
    # celerylint not installed: importing it fails as a missing module does
    "absent": {"celerylint/__init__.py": "raise ModuleNotFoundError(\"No module named 'celerylint'\", "
                                         "name='celerylint')\n"},
    # a celerylint from before the shared schedule logic
    "too old": {"celerylint/__init__.py": "__version__ = '0.0.1'\n",
                "celerylint/project/__init__.py": "",
                "celerylint/project/crontab.py": "def hotspots(entries, threshold=3):\n    return []\n"},
}


@pytest.mark.parametrize("kind", list(HIDDEN))
def test_runtime_without_celerylint(djproject, tmp_path, kind):
    # celerylint-runtime does not require celerylint: the orphan check and celerylint.E001
    # still work (without the "did you mean" hint); the checks that share celerylint's
    # schedule logic say that they did not run, rather than pass.
    stub = tmp_path / "stub"
    for rel, text in HIDDEN[kind].items():
        (stub / rel).parent.mkdir(parents=True, exist_ok=True)
        (stub / rel).write_text(text)
    env = {**CROWDED, "PYTHONPATH": os.pathsep.join([str(stub), os.environ.get("PYTHONPATH", "")])}
    root = djproject(ORPHAN, "bad")
    code, data = report(root, env=env)
    assert code == 1
    orphan = by_check(data, "orphaned")
    assert [f["entries"] for f in orphan] == [["send-digest"]]
    assert orphan[0]["message"] == ('beat entry "send-digest" names task "jobs.tasks.send_digests", which is not '
                                    'registered: register a task by that name or remove the entry')
    skipped = {f["check"]: f for f in data["findings"] if f["check"] != "orphaned"}
    assert set(skipped) == {"duplicates", "hotspots", "idempotency"}  # no static findings either
    for check, finding in skipped.items():
        assert finding["level"] == "warning" and finding["entries"] == []
        assert " not run: it needs celerylint installed (`pip install celerylint`)" in finding["message"]
    assert skipped["hotspots"]["message"].startswith("hotspot check not run")
    # the system checks: E001 as usual, and I001 for the hotspot check that did not run
    proc = manage(root, "check", env=env)
    assert proc.returncode == 1
    assert ('send-digest: (celerylint.E001) beat entry "send-digest" names task "jobs.tasks.send_digests", '
            'which is not registered: register') in proc.stderr
    assert "(celerylint.I001) hotspot check not run: it needs celerylint installed" in proc.stderr
    assert "celerylint.W001" not in proc.stderr
    # with celerylint, the same project gets the hint and the hotspot
    code, data = report(root, "--no-static", env=CROWDED)
    assert 'did you mean "jobs.tasks.send_digest"?' in by_check(data, "orphaned")[0]["message"]
    assert [f["entries"] for f in by_check(data, "hotspots")] == [
        ["report-eu", "report-us", "report-apac", "report-latam"]]


def test_system_check_says_nothing_without_celerylint_when_no_hotspot_is_possible(djproject, tmp_path):
    stub = tmp_path / "stub"
    (stub / "celerylint").mkdir(parents=True)
    (stub / "celerylint" / "__init__.py").write_text(HIDDEN["absent"]["celerylint/__init__.py"])
    env = {"PYTHONPATH": os.pathsep.join([str(stub), os.environ.get("PYTHONPATH", "")])}
    root = djproject({"config/settings.py": [("CELERY_TASK_TIME_LIMIT = 600", "CELERY_TASK_TIME_LIMIT = 600\n"
                                              "CELERYLINT_HOTSPOT_THRESHOLD = 5")]})
    # five beat entries (one report region) cannot be more than five in one minute
    proc = manage(root, "check", env={**env, "REPORT_REGIONS": "eu"})
    assert proc.returncode == 0 and "celerylint" not in proc.stderr + proc.stdout
    # six could be
    proc = manage(root, "check", env={**env, "REPORT_REGIONS": "eu,us"})
    assert proc.returncode == 0 and "(celerylint.I001) hotspot check not run" in proc.stderr


def test_live_checks_load_the_shared_logic_without_libcst(djproject):
    # With celerylint installed, the live checks use its schedule logic, which is
    # standard-library only: a production app running them never imports libcst.
    root = djproject()
    script = ("import io, sys\nimport django\ndjango.setup()\n"
              "from django.core.management import call_command\n"
              "call_command('validate_schedules', '--no-static', stdout=io.StringIO())\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('celerylint', 'libcst')))\n")
    full = environment(root, {"DJANGO_SETTINGS_MODULE": "config.settings"})
    proc = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, env=full,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[-1].replace("'", '"')) == ["celerylint", "celerylint.project", "celerylint.project.crontab"]


# --------------------------------------------------------------------------- every minute (BEAT008)

SETUP_BEAT_COMMAND = '''
from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask


class Command(BaseCommand):
    def handle(self, *args, **options):
        early, _ = CrontabSchedule.objects.get_or_create(hour="5", day_of_week="1", timezone="UTC")
        PeriodicTask.objects.update_or_create(name="db-weekly-digest", defaults={
            "task": "jobs.tasks.send_digest", "crontab": early, "kwargs": '{"period": "weekly"}',
            "expire_seconds": 3600})
'''


def test_every_minute_crontab_same_verdict_live_and_static(djproject):
    """A CrontabSchedule row that a management command writes with hour and day_of_week
    but no minute: BEAT008 where the command writes it, and the live hotspot check on the
    row once the command ran, with the same words."""
    root = djproject()
    command = root / "jobs" / "management" / "commands" / "setup_beat.py"
    command.parent.mkdir(parents=True)
    for folder in (command.parent, command.parent.parent):
        (folder / "__init__.py").write_text("")
    command.write_text(SETUP_BEAT_COMMAND)
    static = [(path, line, message) for path, line, _, code, message in findings(root) if code == "BEAT008"]
    assert static == [("jobs/management/commands/setup_beat.py", 8,
                       'CrontabSchedule row: minute is "*": it fires every minute of hour 05 on Mon, 60 runs '
                       'instead of 1; set minute=0')]
    assert manage(root, "setup_beat").returncode == 0
    code, data = report(root, "--check-hotspots")
    assert code == 1  # an error, as the static rule
    [live] = by_check(data, "hotspots")
    assert live["level"] == "error" and live["entries"] == ["db-weekly-digest"]
    assert live["message"] == 'database entry "db-weekly-digest": ' + static[0][2].split(": ", 1)[1]
    # minute=0: neither reports it
    command.write_text(SETUP_BEAT_COMMAND.replace('hour="5"', 'minute="0", hour="5"'))
    assert [f for f in findings(root) if f[3] == "BEAT008"] == []
    assert manage(root, "setup_beat").returncode == 0  # a new row, the old one's schedule updated
    code, data = report(root, "--check-hotspots")
    assert by_check(data, "hotspots") == [] and code == 0


def test_every_minute_in_the_shared_logic():
    from celery.schedules import crontab

    from celerylint.project import crontab as shared
    from celerylint_runtime.django.schedules import Entry, check_hotspots

    [finding] = check_hotspots([Entry("nightly", "ops.tasks.job", crontab(hour=5)),
                                Entry("ok", "ops.tasks.job", crontab(minute=0, hour=5)),
                                Entry("often", "ops.tasks.job", crontab(minute="*/5", hour=5)),
                                Entry("always", "ops.tasks.job", crontab())], 3)
    assert finding.entries == ("nightly",) and finding.level == "error"
    assert finding.message == ('beat entry "nightly": minute is "*": it fires every minute of hour 05, '
                               '60 runs instead of 1; set minute=0')
    assert shared.every_minute(shared.crontab_from_string("* 9-17 * * 1-5"))
    assert not shared.every_minute(shared.crontab_from_string("* * * * *"))
    assert shared.every_minute(shared.crontab_from_call((), {"minute": "0-59", "month_of_year": 2}))
