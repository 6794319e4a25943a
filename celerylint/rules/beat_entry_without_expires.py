from celerylint.diagnostics import SAFE, Edit, Fix
from celerylint.facts.model import UNKNOWN
from celerylint.project import crontab
from celerylint.rules.base import Rule, beat_entry_entity


class BeatEntryWithoutExpires(Rule):
    """## What it does
    Flags a beat entry without `options={"expires": ...}`. Opt-in: select `BEAT004`.

    ## Why is this bad?
    When workers are down or busy, beat keeps sending; every missed run queues up and
    they all execute when workers come back. `expires` (usually the schedule interval)
    drops runs that are already stale.

    ## Example
    ```python
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "refresh-cache": {  # BEAT004
            "task": "cache.tasks.refresh",
            "schedule": 300,
        },
    }
    # cache/tasks.py
    from celery import shared_task

    @shared_task
    def refresh():
        pass
    ```

    ## Fix safety
    Safe. The fix sets `expires` to the schedule's interval when it is statically known:
    an interval schedule's, or the shortest gap between two firings of a crontab (a
    queued run that has not started when the next one is due is stale); otherwise there
    is no fix. `manage.py validate_schedules --check-idempotency` asks for the same value.

    ## Use instead
    ```python
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "refresh-cache": {
            "task": "cache.tasks.refresh",
            "schedule": 300,
            "options": {"expires": 300},
        },
    }
    # cache/tasks.py
    from celery import shared_task

    @shared_task
    def refresh():
        pass
    ```
    """

    code = "BEAT004"
    summary = "a beat entry has no expires option"
    severity = "warning"
    opt_in = True
    fix_safety = SAFE
    fix_examples = ((
        """
        # proj/settings.py
        from datetime import timedelta
        from celery.schedules import crontab

        CELERY_BEAT_SCHEDULE = {
            "refresh": {"task": "celery.backend_cleanup", "schedule": timedelta(minutes=5)},
            "hourly": {
                "task": "celery.backend_cleanup",
                "schedule": crontab(minute=7),
                "options": {"queue": "low"},
            },
        }
        """,
        """
        # proj/settings.py
        from datetime import timedelta
        from celery.schedules import crontab

        CELERY_BEAT_SCHEDULE = {
            "refresh": {"task": "celery.backend_cleanup", "schedule": timedelta(minutes=5), "options": {"expires": 300}},
            "hourly": {
                "task": "celery.backend_cleanup",
                "schedule": crontab(minute=7),
                "options": {"queue": "low", "expires": 3600},
            },
        }
        """,
    ),)

    def check(self, project):
        for entry in project.schedules.entries():
            options = entry.options
            if options is UNKNOWN:
                continue
            if isinstance(options, dict) and "expires" in options:
                continue
            if entry.anchor is None:
                continue
            label = f'beat entry "{entry.key}"' if entry.key else "beat entry"
            yield self.report(entry.rel, entry.anchor,
                              f'{label} has no options={{"expires": ...}}; missed runs pile up while workers are down',
                              fix=_fix(entry, options), entity=beat_entry_entity(entry))


def _fix(entry, options):
    """`expires` = the schedule's interval (`crontab.interval_seconds`, shared with
    validate_schedules' idempotency check), where it is statically known: an interval
    schedule, or the shortest gap between a crontab's firings."""
    seconds = crontab.interval_seconds(entry.schedule)
    if not seconds or entry.value_span is None or options is UNKNOWN:
        return None
    if entry.kind == "periodic":
        edit = Edit(entry.rel, entry.value_span, "add_keyword", ("expires", seconds))
    else:
        edit = Edit(entry.rel, entry.value_span, "add_expires", seconds)
    return Fix(SAFE, (edit,))
