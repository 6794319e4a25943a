from celerylint.index import UNKNOWN
from celerylint.rules.base import Rule


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

    def check(self, index):
        for entry in index.beat_entries():
            options = entry.options
            if options is UNKNOWN:
                continue
            if isinstance(options, dict) and "expires" in options:
                continue
            if entry.anchor is None:
                continue
            label = f'beat entry "{entry.key}"' if entry.key else "beat entry"
            yield self.report(entry.rel, entry.anchor,
                              f'{label} has no options={{"expires": ...}}; missed runs pile up while workers are down')
