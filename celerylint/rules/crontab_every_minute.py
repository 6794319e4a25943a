from celerylint.diagnostics import UNSAFE, Edit, Fix
from celerylint.project import crontab
from celerylint.rules.base import Rule


class CrontabEveryMinute(Rule):
    """## What it does
    Flags a crontab whose minute is `*` (omitted, or written out) while hour,
    day_of_week, day_of_month or month_of_year restricts it: `crontab(hour=5)` fires at
    every minute from 05:00 to 05:59, 60 times, not once at 05:00. Checked on every
    `crontab(...)` and `crontab.from_string(...)` of Celery's whose fields the analyzer
    can read, and on django-celery-beat `CrontabSchedule` rows that code or fixtures
    write (whose fields also default to `*`). Reported at the `crontab(...)` call (or
    where the row is written). `manage.py validate_schedules --check-hotspots` reports
    the same on the live schedule.

    ## Why is this bad?
    Every field of a crontab defaults to `*`, the minute too. Restricting the hour and
    forgetting the minute is the classic Celery schedule mistake: the nightly job runs
    sixty times in a row, piling work on the workers and the database.

    ## Example
    ```python
    # proj/settings.py
    from celery.schedules import crontab

    CELERY_BEAT_SCHEDULE = {
        "nightly-report": {
            "task": "reports.tasks.nightly",
            "schedule": crontab(hour=5),  # BEAT008
        },
    }
    # reports/tasks.py
    from celery import shared_task

    @shared_task
    def nightly():
        pass
    ```

    ## Use instead
    ```python
    # proj/settings.py
    from celery.schedules import crontab

    CELERY_BEAT_SCHEDULE = {
        "nightly-report": {
            "task": "reports.tasks.nightly",
            "schedule": crontab(minute=0, hour=5),
        },
        "every-minute": {"task": "reports.tasks.nightly", "schedule": crontab()},
        "quarter-hours": {"task": "reports.tasks.nightly", "schedule": crontab(minute="*/15", hour="9-17")},
    }
    # reports/tasks.py
    from celery import shared_task

    @shared_task
    def nightly():
        pass
    ```

    ## Fix safety
    Unsafe: the fix sets `minute=0` (`minute="0"` on a `CrontabSchedule` row), which is
    what is nearly always meant, but a job that should run every minute of those hours
    would then run once. `crontab.from_string(...)` and fixture rows have no fix.
    """

    code = "BEAT008"
    summary = "a crontab fires every minute of the hours it restricts"
    fix_safety = UNSAFE
    valid = (
        # Names inside a function may be its own: only literal fields are read there.
        """
        # ops/schedules.py
        from celery.schedules import crontab

        HOUR = 5

        def build(hour):
            return crontab(hour=hour)

        DAILY = crontab(minute=30, hour=HOUR)
        ANY = crontab(minute="*")
        """,
    )
    invalid = (
        """
        # ops/schedules.py
        from celery.schedules import crontab
        from celery import schedules

        HOUR = 5
        NIGHTLY = crontab(hour=HOUR)  # BEAT008
        WEEKLY = schedules.crontab("*", 3, "mon")  # BEAT008
        FROM_STRING = crontab.from_string("* 4 * * *")  # BEAT008

        def schedule():
            return crontab(minute="*", day_of_month=1)  # BEAT008
        """,
        """
        # reports/migrations/0002_beat.py
        from django.db import migrations

        def forward(apps, schema_editor):
            CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
            CrontabSchedule.objects.get_or_create(day_of_month=1, hour=1)  # BEAT008

        class Migration(migrations.Migration):
            operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
        """,
    )
    fix_examples = ((
        """
        # proj/settings.py
        from celery.schedules import crontab

        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "celery.backend_cleanup", "schedule": crontab(hour=5)},
            "b": {"task": "celery.backend_cleanup", "schedule": crontab("*", "*/6")},
            "c": {"task": "celery.backend_cleanup", "schedule": crontab(minute="*", hour=1, day_of_week=2)},
        }
        # reports/management/commands/setup_beat.py
        from django.core.management.base import BaseCommand
        from django_celery_beat.models import CrontabSchedule

        class Command(BaseCommand):
            def handle(self, *args, **options):
                CrontabSchedule.objects.get_or_create(hour="4", day_of_week="1")
        """,
        """
        # proj/settings.py
        from celery.schedules import crontab

        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "celery.backend_cleanup", "schedule": crontab(minute=0, hour=5)},
            "b": {"task": "celery.backend_cleanup", "schedule": crontab(0, "*/6")},
            "c": {"task": "celery.backend_cleanup", "schedule": crontab(minute=0, hour=1, day_of_week=2)},
        }
        # reports/management/commands/setup_beat.py
        from django.core.management.base import BaseCommand
        from django_celery_beat.models import CrontabSchedule

        class Command(BaseCommand):
            def handle(self, *args, **options):
                CrontabSchedule.objects.get_or_create(minute="0", hour="4", day_of_week="1")
        """,
    ),)

    def check(self, project):
        for found in project.schedules.crontabs():
            if not crontab.every_minute(found.crontab):
                continue
            fix = Fix(UNSAFE, (Edit(found.rel, found.span, "crontab_minute_zero", found.fix),)) if found.fix else None
            yield self.report(found.rel, found.span, f"{found.what}: {crontab.every_minute_message(found.crontab)}",
                              fix=fix, entity=f"crontab:{found.what}:{_fields(found.crontab)}")


def _fields(schedule) -> str:
    return "/".join(",".join(str(v) for v in sorted(getattr(schedule, name)))
                    for name in ("hour", "day_of_week", "day_of_month", "month_of_year"))
