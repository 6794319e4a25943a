"""Beat discovery: every statically readable form in RULES.md §1, with entries found at
exact positions; schedules built by code are unknown and never produce a finding."""

from celerylint.config import Settings
from celerylint.engine import check

from conftest import codes_at, findings, write_project

TASKS = """
from celery import shared_task

@shared_task
def ping(): pass

@shared_task
def pong(): pass
"""


def entries(root):
    result = check([], Settings(), str(root), use_cache=False, jobs=1)
    return {(e.key, e.task) for e in result.project.schedules.entries()}, result


def test_settings_module_and_settings_class(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/settings.py": """
            CELERY_BEAT_SCHEDULE = {"a": {"task": "ops.tasks.ping", "schedule": 10}}

            class Base(Configuration):
                CELERY_BEAT_SCHEDULE = {
                    "b": {"task": "ops.tasks.pingg", "schedule": 10},
                }
        """,
    })
    got, _ = entries(root)
    assert got == {("a", "ops.tasks.ping"), ("b", "ops.tasks.pingg")}
    assert codes_at(findings(root)) == {("proj/settings.py", 6, "BEAT001")}


def test_merges_updates_item_assignment_and_conf_update(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/schedules.py": """
            BASE = {"base": {"task": "ops.tasks.ping", "schedule": 10}}
            EXTRA = {"extra": {"task": "ops.tasks.missing_one", "schedule": 10}}
        """,
        "proj/celery.py": """
            from celery import Celery
            from proj.schedules import BASE, EXTRA

            app = Celery("proj")
            app.conf.update(beat_schedule={**BASE, **EXTRA, "inline": {"task": "ops.tasks.pong", "schedule": 5}})
            app.conf.beat_schedule.update({"updated": {"task": "ops.tasks.missing_two", "schedule": 5}})
            app.conf.beat_schedule["item"] = {"task": "ops.tasks.missing_three", "schedule": 5}
        """,
    })
    got, _ = entries(root)
    assert got == {("base", "ops.tasks.ping"), ("extra", "ops.tasks.missing_one"), ("inline", "ops.tasks.pong"),
                   ("updated", "ops.tasks.missing_two"), ("item", "ops.tasks.missing_three")}
    assert codes_at(findings(root)) == {
        ("proj/schedules.py", 3, "BEAT001"),  # where the entry's task string is written
        ("proj/celery.py", 7, "BEAT001"),
        ("proj/celery.py", 8, "BEAT001"),
    }


def test_add_periodic_task_forms(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/celery.py": """
            from celery import Celery, signature
            from celery.schedules import crontab
            from ops.tasks import ping, pong

            app = Celery("proj")

            @app.on_after_configure.connect
            def setup(sender, **kwargs):
                sender.add_periodic_task(10.0, ping.s(), name="s")
                sender.add_periodic_task(crontab(minute=5), pong.si(1), name="si")
                sender.add_periodic_task(schedule=30, sig=signature("ops.tasks.gone"), name="kw")
                sender.add_periodic_task(60, app.signature("ops.tasks.pong"))

            def late(sender, **kwargs):
                sender.add_periodic_task(60, signature("ops.tasks.also_gone"))

            app.on_after_finalize.connect(late)
        """,
    })
    got, _ = entries(root)
    # Without name=, Celery keys the entry by repr(sig).
    assert got == {("s", "ops.tasks.ping"), ("si", "ops.tasks.pong"), ("kw", "ops.tasks.gone"),
                   ("ops.tasks.pong()", "ops.tasks.pong"), ("ops.tasks.also_gone()", "ops.tasks.also_gone")}
    got_findings = findings(root)
    assert [(p, line, col, code) for p, line, col, code, _ in got_findings] == [
        ("proj/celery.py", 12, 57, "BEAT001"),
        ("proj/celery.py", 16, 44, "BEAT001"),
    ]


def test_dynamic_schedules_are_unknown_and_silent(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/settings.py": """
            import os

            CELERY_BEAT_SCHEDULE = build_schedule(os.environ["TASKS"])
            CELERY_BEAT_SCHEDULE.update({
                name: {"task": f"ops.tasks.{name}", "schedule": 60} for name in os.environ.get("X", "").split()
            })
            CELERY_BEAT_SCHEDULE["env"] = {"task": os.environ["TASK"], "schedule": 10}
            TASK_NAME = os.environ.get("TASK_NAME")
            CELERY_BEAT_SCHEDULE["env2"] = {"task": TASK_NAME, "schedule": 10}
        """,
    })
    assert findings(root) == []
    _, result = entries(root)
    assert any("cannot be read statically" in note for note in result.notes)


def test_beat_entry_reference_forms_resolve_to_tasks(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS + "\n@shared_task(name='ops.custom')\ndef custom(): pass\n",
        "proj/settings.py": """
            from ops import tasks
            from ops.tasks import custom

            PING = "ops.tasks.ping"
            CELERY_BEAT_SCHEDULE = {
                "const": {"task": PING, "schedule": 1},
                "attr": {"task": custom.name, "schedule": 1},
                "module_attr": {"task": tasks.pong.name, "schedule": 1},
                "builtin": {"task": "celery.backend_cleanup", "schedule": 1},
            }
        """,
    })
    got, _ = entries(root)
    assert got == {("const", "ops.tasks.ping"), ("attr", "ops.custom"), ("module_attr", "ops.tasks.pong"),
                   ("builtin", "celery.backend_cleanup")}
    assert findings(root) == []


def test_external_tasks_setting_and_third_party_names(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/settings.py": """
            CELERY_BEAT_SCHEDULE = {
                "vendor": {"task": "vendor_app.tasks.sync", "schedule": 1},
                "flat": {"task": "legacy_sync", "schedule": 1},
                "ours": {"task": "ops.tasks.pingx", "schedule": 1},
            }
        """,
    })
    assert codes_at(findings(root)) == {("proj/settings.py", 4, "BEAT001"), ("proj/settings.py", 5, "BEAT001")}
    assert codes_at(findings(root, external_tasks=["legacy_*", "ops.tasks.p*"])) == set()


def test_suggestion_names_the_closest_task(tmp_path):
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/settings.py": 'CELERY_BEAT_SCHEDULE = {"x": {"task": "ops.tasks.pnig", "schedule": 1}}\n',
    })
    ((*_, message),) = findings(root)
    assert 'did you mean "ops.tasks.ping"?' in message


def test_task_defined_in_a_file_the_prefilter_skips_is_found_on_demand(tmp_path):
    # The class line has no "Task" in it, so the byte prefilter skips jobs.py; the
    # orphan check must still find the definition before calling the entry orphaned.
    root = write_project(tmp_path, {
        "core/base.py": "from celery import Task\n\nclass Job(Task):\n    abstract = True\n",
        "ops/jobs.py": "from core.base import Job\n\nclass Nightly(Job):\n    name = 'ops.nightly'\n",
        "proj/settings.py": 'CELERY_BEAT_SCHEDULE = {"n": {"task": "ops.nightly", "schedule": 1}}\n',
    })
    assert findings(root) == []


def test_hotspot_message_says_when_the_entries_fire_together(tmp_path):
    entries = "\n".join(
        f'    "{name}": {{"task": "ops.tasks.ping", "args": ({i},), "schedule": crontab(minute=0, hour={hour!r}{dow})}},'
        for i, (name, hour, dow) in enumerate([
            ("a", 0, ""), ("b", 0, ""), ("c", "0,12", ""), ("d", 0, ""),  # together every day at 00:00
            ("e", 9, ', day_of_week="mon-fri"'), ("f", 9, ""), ("g", 9, ""), ("h", 9, ', day_of_week="1-5"'),
        ])
    )
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/settings.py": f"from celery.schedules import crontab\n\nCELERY_BEAT_SCHEDULE = {{\n{entries}\n}}\n",
    })
    messages = {line: message for _, line, _, code, message in findings(root) if code == "BEAT005"}
    assert set(messages) == set(range(4, 12))
    assert messages[4].startswith('4 crontab entries fire together every day at 00:00 (hotspot-threshold is 3): "a", "b"')
    assert messages[8].startswith('4 crontab entries fire together Mon-Fri at 09:00 (hotspot-threshold is 3): "e", "f"')


def test_task_of_a_module_that_does_not_parse_is_not_called_orphaned(tmp_path):
    # The module may well define the task: SYN001 reports the module, not BEAT001 the entry.
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "users/tasks.py": "from {{project_name}} import celery_app\n\n@celery_app.task\ndef clearsessions(): pass\n",
        "proj/settings.py": """
            CELERY_BEAT_SCHEDULE = {
                "clear": {"task": "users.tasks.clearsessions", "schedule": 60},
                "gone": {"task": "ops.tasks.clearsessions", "schedule": 60},
            }
        """,
    })
    assert codes_at(findings(root)) == {("users/tasks.py", 1, "SYN001"), ("proj/settings.py", 4, "BEAT001")}


def test_duplicate_entries_are_the_same_message_at_the_same_moments(tmp_path):
    # BEAT003's identity is crontab.entry_identity, shared with validate_schedules.
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/settings.py": """
            import os
            from celery.schedules import crontab, solar

            CELERY_BEAT_SCHEDULE = {
                "a": {"task": "ops.tasks.ping", "args": ("eu",), "schedule": crontab(minute=0, hour=3)},
                "b": {"task": "ops.tasks.ping", "args": ["eu"], "schedule": crontab(minute="0", hour="3")},
                "c": {"task": "ops.tasks.ping", "args": ("eu",), "schedule": crontab(minute=0, hour=4)},
                "d": {"task": "ops.tasks.ping", "args": (os.environ["A"],), "schedule": 60},
                "e": {"task": "ops.tasks.ping", "args": (os.environ["B"],), "schedule": 60},
                "f": {"task": "ops.tasks.ping", "schedule": solar("sunrise", 52.1, 4.3)},
                "g": {"task": "ops.tasks.ping", "schedule": solar("sunset", 52.1, 4.3)},
                "h": {"task": "ops.tasks.pong", "kwargs": {"x": 1, "y": 2}, "schedule": 60},
                "i": {"task": "ops.tasks.pong", "kwargs": {"y": 2, "x": 1}, "schedule": 60.0},
            }
        """,
    })
    got = [(line, message) for _, line, _, code, message in findings(root) if code == "BEAT003"]
    # a tuple is a list (the same JSON message); "0"/"3" is 0/3; keyword order is irrelevant;
    # values the analyzer cannot read, and solar schedules, are never the same.
    assert [line for line, _ in got] == [7, 14]
    assert got[0][1].startswith('beat entry "b" duplicates "a" (proj/settings.py:6)')
    assert got[1][1].startswith('beat entry "i" duplicates "h" (proj/settings.py:13)')


def test_expires_fix_is_the_shortest_gap_between_runs(tmp_path):
    # BEAT004's fix and validate_schedules' idempotency check share crontab.interval_seconds.
    root = write_project(tmp_path, {
        "ops/tasks.py": TASKS,
        "proj/settings.py": """
            from datetime import timedelta
            from celery.schedules import crontab

            CELERY_BEAT_SCHEDULE = {
                "regular": {"task": "ops.tasks.ping", "schedule": crontab(minute="*/20")},
                "evening-and-night": {"task": "ops.tasks.ping", "schedule": crontab(minute=0, hour="1,23")},
                "monthly": {"task": "ops.tasks.ping", "schedule": crontab(minute=0, hour=3, day_of_month=1)},
                "interval": {"task": "ops.tasks.ping", "schedule": timedelta(minutes=5)},
                "dynamic": {"task": "ops.tasks.ping", "schedule": crontab(minute=compute())},
            }
        """,
    })
    result = check([], Settings(select=("BEAT004",)), str(root), use_cache=False, jobs=1)
    fixes = {}
    for d in result.diagnostics:
        key = d.message.split('"')[1]
        fixes[key] = d.fix.edits[0].arg if d.fix else None
    assert fixes == {
        "regular": 1200.0,
        "evening-and-night": 2 * 3600.0,  # 23:00 -> 01:00, not 01:00 -> 23:00
        "monthly": 28 * 86400.0,  # February 1st -> March 1st
        "interval": 300.0,
        "dynamic": None,
    }
