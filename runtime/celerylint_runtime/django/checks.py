"""Django system checks on the live beat schedule: `manage.py check` reports
celerylint.E001 (an entry whose task is not registered), celerylint.E003 (a database
entry whose schedule cannot be built) and celerylint.W001 (a hotspot: more than
CELERYLINT_HOTSPOT_THRESHOLD entries firing in one minute).

E001 and E003 need only Celery (E001's "did you mean" hint needs celerylint). W001
shares BEAT005's logic with celerylint: without celerylint installed, a schedule with
more entries than the threshold gets celerylint.I001 (the hotspot check did not run)."""

from __future__ import annotations

from django.core import checks

from celerylint_runtime.django import schedules


@checks.register("celerylint")
def check_beat_schedule(app_configs=None, databases=None, **kwargs) -> list:
    if schedules.loading_tasks():
        return []  # run by Celery's Django fixup while our own load_tasks() imports the tasks
    try:
        app = schedules.find_app()
        registered = schedules.load_tasks(app)
        # the django-celery-beat rows only when the check may query the database, and
        # none when it cannot be read (as before `migrate`): no obstacle to migrating
        entries, _ = schedules.effective_entries(app, database=bool(databases))
        threshold = schedules.hotspot_threshold()
    except (ValueError, ImportError) as exc:
        return [checks.Error(f"celerylint cannot read the beat schedule: {exc}", id="celerylint.E002",
                             hint="Set CELERYLINT_APP = \"proj.celery:app\" and CELERYLINT_HOTSPOT_THRESHOLD "
                                  "to a positive integer.")]
    messages = []
    for finding in schedules.check_schedules(entries):
        messages.append(checks.Error(finding.message, obj=finding.entries[0], id="celerylint.E003",
                                     hint="Install what the schedule needs (solar: `pip install celery[solar]`) "
                                          "or change the entry."))
    for finding in schedules.check_orphaned(entries, registered):
        messages.append(checks.Error(finding.message, obj=finding.entries[0], id="celerylint.E001",
                                     hint="Run `manage.py validate_schedules --check-orphaned-tasks --verbose`."))
    if schedules.shared_logic() is None:
        if len(entries) > threshold:  # up to `threshold` entries cannot make a hotspot
            messages.append(checks.Info(schedules.needs_celerylint("hotspots").message, obj="CELERY_BEAT_SCHEDULE",
                                        id="celerylint.I001",
                                        hint="pip install celerylint, or silence celerylint.I001."))
        return messages
    for finding in schedules.check_hotspots(entries, threshold):
        messages.append(checks.Warning(finding.message, obj="CELERY_BEAT_SCHEDULE", id="celerylint.W001",
                                       hint="Spread these entries over different minutes."))
    return messages

