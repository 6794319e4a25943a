from celerylint.rules.base import Rule


class ReplacedBeatSchedule(Rule):
    """## What it does
    Flags `app.conf.beat_schedule = {...}` (or `app.conf.update(beat_schedule=...)`)
    when the configuration the app loads with `config_from_object` also defines a beat
    schedule (`CELERY_BEAT_SCHEDULE` / `beat_schedule`), or when the assignment comes
    after `.update()` or item assignments on the same schedule. The message counts the
    entries that never run.

    ## Why is this bad?
    Assignment replaces; it does not merge. Every entry defined in Django settings (or
    added earlier) is silently discarded, and beat never runs those jobs.

    ## Example
    ```python
    # proj/celery.py
    import os
    from celery import Celery

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    app = Celery("proj")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.beat_schedule = {  # BEAT007
        "ping": {"task": "celery.ping", "schedule": 60},
    }
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "cleanup": {"task": "celery.backend_cleanup", "schedule": 3600},
    }
    ```

    ## Use instead
    ```python
    # proj/celery.py
    import os
    from celery import Celery

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    app = Celery("proj")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.beat_schedule.update({
        "ping": {"task": "celery.ping", "schedule": 60},
    })
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "cleanup": {"task": "celery.backend_cleanup", "schedule": 3600},
    }
    ```
    """

    invalid = (
        # Assignment after item assignment in the same module, through conf.update().
        """
        # proj/celery.py
        from celery import Celery

        app = Celery("proj")
        app.conf.beat_schedule["a"] = {"task": "celery.backend_cleanup", "schedule": 60}
        app.conf.update(beat_schedule={"b": {"task": "celery.backend_cleanup", "schedule": 120}})  # BEAT007
        """,
        # A plain celeryconfig module without namespace.
        """
        # proj/celeryconfig.py
        beat_schedule = {"a": {"task": "celery.backend_cleanup", "schedule": 60}}
        # proj/celery.py
        from celery import Celery

        app = Celery("proj")
        app.config_from_object("proj.celeryconfig")
        app.conf.beat_schedule = {"b": {"task": "celery.backend_cleanup", "schedule": 120}}  # BEAT007
        """,
    )
    valid = (
        # The settings module defines no schedule; the replacement keeps every key; a
        # schedule assigned first and updated afterwards.
        """
        # proj/settings.py
        DEBUG = False
        # proj/celery.py
        import os
        from celery import Celery

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
        app = Celery("proj")
        app.config_from_object("django.conf:settings", namespace="CELERY")
        app.conf.beat_schedule = {"a": {"task": "celery.backend_cleanup", "schedule": 60}}
        app.conf.beat_schedule["b"] = {"task": "celery.backend_cleanup", "schedule": 120}
        """,
        """
        # proj/celeryconfig.py
        beat_schedule = {"a": {"task": "celery.backend_cleanup", "schedule": 60}}
        # proj/celery.py
        from celery import Celery

        app = Celery("proj")
        app.config_from_object("proj.celeryconfig")
        app.conf.beat_schedule = {"a": {"task": "celery.backend_cleanup", "schedule": 30}}
        """,
    )
    code = "BEAT007"
    summary = "a beat schedule is replaced instead of merged"

    def check(self, project):
        for schedule in project.schedules.all():
            for assignment in schedule.assignments:
                yield from self._lost(schedule, assignment, assignment.before, "earlier updates")
            if schedule.assignments:
                last = schedule.assignments[-1]
                for config in schedule.overridden:
                    yield from self._lost(schedule, last, config.all_entries(), config.label)

    def _lost(self, schedule, assignment, entries, where):
        """The entries among `entries` that the assignment drops: report them there."""
        lost = [e for e in entries if e.key is None or e.key not in assignment.keys]
        if not lost:
            return
        count = len(lost)
        names = ", ".join(f'"{e.key}"' for e in lost[:5] if e.key) + (", ..." if count > 5 else "")
        origin = "added before this assignment" if where == "earlier updates" else f"from {where}"
        yield self.report(
            assignment.rel, assignment.span,
            f"this assignment replaces the beat schedule instead of merging: {count} "
            f"{'entry' if count == 1 else 'entries'} {origin} never run ({names})",
            entity=f"schedule:{schedule.label}",
        )
