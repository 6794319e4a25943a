from celerylint.project import crontab
from celerylint.rules.base import Rule, beat_entry_entity


class BeatHotspot(Rule):
    """## What it does
    Flags crontab beat entries when more than `hotspot-threshold` (default 3) of them
    fire in the same minute of the week. Fields are read as Celery reads them (an
    omitted field is `*`, all fields must match, as Celery does). Interval schedules do
    not count, and neither do entries that fire more than once an hour (`minute="*"`,
    `"*/15"`, `"0,30"`): they are steady background load, present at every hotspot and
    none of its cause. Each entry of the crowded minute is reported at its key.

    ## Why is this bad?
    Jobs that all start at 00:00 compete for the same workers and database at once
    (a thundering herd), while the rest of the hour sits idle. Spread them out.

    ## Example
    ```python
    # proj/settings.py
    from celery.schedules import crontab

    CELERY_BEAT_SCHEDULE = {
        "a": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour=0)},  # BEAT005
        "b": {"task": "ops.tasks.b", "schedule": crontab(minute=0, hour=0)},  # BEAT005
        "c": {"task": "ops.tasks.c", "schedule": crontab(minute="0", hour="*/2")},  # BEAT005
        "d": {"task": "ops.tasks.d", "schedule": crontab(minute=0)},  # BEAT005
        "e": {"task": "ops.tasks.d", "schedule": crontab(minute="*/15")},
    }
    # ops/tasks.py
    from celery import shared_task

    @shared_task
    def a(): pass

    @shared_task
    def b(): pass

    @shared_task
    def c(): pass

    @shared_task
    def d(): pass
    ```

    ## Use instead
    ```python
    # proj/settings.py
    from celery.schedules import crontab

    CELERY_BEAT_SCHEDULE = {
        "a": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour=0)},
        "b": {"task": "ops.tasks.b", "schedule": crontab(minute=10, hour=0)},
        "c": {"task": "ops.tasks.c", "schedule": crontab(minute="20", hour="*/2")},
        "d": {"task": "ops.tasks.d", "schedule": crontab(minute=30)},
    }
    # ops/tasks.py
    from celery import shared_task

    @shared_task
    def a(): pass

    @shared_task
    def b(): pass

    @shared_task
    def c(): pass

    @shared_task
    def d(): pass
    ```

    ## Options
    - `hotspot-threshold`: how many entries may share a minute (default 3).
    """

    valid = (
        # Three at midnight is the threshold, not above it; entries that fire several times
        # an hour, interval schedules and monthly jobs on different days do not add to it.
        """
        # proj/settings.py
        from datetime import timedelta
        from celery.schedules import crontab

        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour=0)},
            "b": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour="0,12")},
            "d": {"task": "ops.tasks.a", "schedule": crontab()},
            "h": {"task": "ops.tasks.a", "schedule": crontab(minute="*/15")},
            "e": {"task": "ops.tasks.a", "schedule": timedelta(hours=1)},
            "f": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour=0, day_of_month=1)},
            "g": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour=0, day_of_month=15)},
        }
        # ops/tasks.py
        from celery import shared_task

        @shared_task
        def a(): pass
        """,
    )
    invalid = (
        # A monthly job joins the daily ones on the 1st.
        """
        # proj/settings.py
        from celery.schedules import crontab

        CELERY_BEAT_SCHEDULE = {
            "a": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour=0)},  # BEAT005
            "b": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour="*/6")},  # BEAT005
            "c": {"task": "ops.tasks.a", "schedule": crontab(minute="0")},  # BEAT005
            "f": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour=0, day_of_month=1)},  # BEAT005
            "g": {"task": "ops.tasks.a", "schedule": crontab(minute=0, hour=1, day_of_month=15, month_of_year=2)},
        }
        # ops/tasks.py
        from celery import shared_task

        @shared_task
        def a(): pass
        """,
    )
    code = "BEAT005"
    summary = "too many crontab beat entries fire in the same minute"
    severity = "warning"

    def check(self, project):
        threshold = project.settings.hotspot_threshold
        reported = set()
        for schedule in project.schedules.running():
            for world in schedule.worlds():  # entries in exclusive arms of a condition never add up
                entries = [e for e in world if e.anchor and e.enabled]
                for group in crontab.hotspot_groups([(e, e.schedule) for e in entries], threshold):
                    message = crontab.hotspot_message(group, [e.key or "?" for e in group.keys], threshold)
                    for entry in group.keys:
                        if entry.identity in reported:
                            continue
                        reported.add(entry.identity)
                        yield self.report(entry.rel, entry.anchor, message, entity=beat_entry_entity(entry))
