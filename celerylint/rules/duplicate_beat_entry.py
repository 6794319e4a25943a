from celerylint.project import crontab
from celerylint.project.schedules import plain
from celerylint.rules.base import Rule, beat_entry_entity


class DuplicateBeatEntry(Rule):
    """## What it does
    Flags duplicate beat entries: the same key twice in one dict literal (Python keeps
    only the last one), or an entry with the same task, args, kwargs and schedule as
    an earlier entry of the same schedule. Arguments compare as the JSON message Celery
    sends (a tuple equals a list, keyword order does not matter); crontabs compare by
    when they fire, intervals by their seconds; solar schedules and values the
    analyzer cannot read are never duplicates. `manage.py validate_schedules
    --check-duplicates` uses the same identity on the live schedule.

    ## Why is this bad?
    A repeated key silently drops the first entry; an identical entry under another
    key runs the same job twice at the same moment, doubling the work and racing with
    itself.

    ## Example
    ```python
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "send-digest": {"task": "mail.tasks.send_digest", "schedule": 3600},
        "send-digest-hourly": {"task": "mail.tasks.send_digest", "schedule": 3600},  # BEAT003
    }
    # mail/tasks.py
    from celery import shared_task

    @shared_task
    def send_digest():
        pass
    ```

    ## Use instead
    ```python
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "send-digest": {"task": "mail.tasks.send_digest", "schedule": 3600},
    }
    # mail/tasks.py
    from celery import shared_task

    @shared_task
    def send_digest():
        pass
    ```
    """

    code = "BEAT003"
    summary = "duplicate beat entries"
    invalid = (
        """
        # proj/settings.py
        CELERY_BEAT_SCHEDULE = {
            "cleanup": {"task": "mail.tasks.cleanup", "schedule": 60},
            "cleanup": {"task": "mail.tasks.cleanup", "schedule": 120},  # BEAT003
        }
        # mail/tasks.py
        from celery import shared_task

        @shared_task
        def cleanup():
            pass
        """,
    )
    valid = (
        # Same task, different arguments or schedules: two real jobs.
        """
        # proj/settings.py
        CELERY_BEAT_SCHEDULE = {
            "sync-eu": {"task": "mail.tasks.sync", "schedule": 60, "args": ("eu",)},
            "sync-us": {"task": "mail.tasks.sync", "schedule": 60, "args": ("us",)},
            "sync-slow": {"task": "mail.tasks.sync", "schedule": 600, "args": ("eu",)},
        }
        # proj/settings_test.py
        CELERY_BEAT_SCHEDULE = {
            "sync-eu": {"task": "mail.tasks.sync", "schedule": 60, "args": ("eu",)},
        }
        # mail/tasks.py
        from celery import shared_task

        @shared_task
        def sync(region):
            pass
        """,
    )

    def check(self, project):
        reported = set()
        for later, first in project.schedules.duplicate_keys():
            if later.identity in reported:
                continue
            reported.add(later.identity)
            yield self.report(later.rel, later.anchor,
                              f'beat entry key "{later.key}" appears twice in this dict; the first one '
                              f"(line {first.anchor[0] if first.anchor else '?'}) is silently dropped", entity=beat_entry_entity(later))
        for later, earlier in project.schedules.replaced_periodic():
            if later.identity in reported:
                continue
            reported.add(later.identity)
            unnamed = later.key_span == later.value_span  # no name=: keyed by repr(sig)
            how = " (Celery keys an entry added without name= by repr(sig))" if unnamed else ""
            same = _signature(later) is not None and _signature(later) == _signature(earlier)
            advice = "the same entry twice: remove one call" if same else \
                "the earlier one never runs: pass distinct name= to keep both"
            yield self.report(later.rel, later.anchor,
                              f'add_periodic_task adds key "{later.key}" again{how}; Celery keeps one entry per key, '
                              f"so this one replaces the one added at {_where(later, earlier)}, {advice}",
                              entity=beat_entry_entity(later))
        for schedule in project.schedules.running():
            for world in schedule.worlds():
                seen = {}
                for entry in world:
                    if not entry.enabled:
                        continue
                    signature = _signature(entry)
                    if signature is None:
                        continue
                    first = seen.setdefault(signature, entry)
                    if first is entry or entry.identity in reported or first.identity == entry.identity:
                        continue
                    reported.add(entry.identity)
                    yield self.report(entry.rel, entry.anchor,
                                      f"{entry.label()} duplicates {_name(first)} "
                                      f"({first.rel}:{first.anchor[0] if first.anchor else '?'}): same task, "
                                      "arguments and schedule", entity=beat_entry_entity(entry))


def _name(entry):
    return f'"{entry.key}"' if entry.key else entry.label()


def _where(entry, other):
    line = other.anchor[0] if other.anchor else "?"
    return f"line {line}" if other.rel == entry.rel else f"{other.rel}:{line}"


def _signature(entry):
    """The entry's identity (`crontab.entry_identity`, shared with validate_schedules'
    duplicates check), or None when part of it cannot be read statically: an unreadable
    value never makes two entries equal."""
    if not all(plain(value) for value in (entry.args, entry.kwargs)):
        return None
    return crontab.entry_identity(entry.task, entry.args, entry.kwargs, entry.schedule)
