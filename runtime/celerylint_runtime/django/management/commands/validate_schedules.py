"""`manage.py validate_schedules`: check the beat schedule the live Celery app will run."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from celerylint_runtime.django import schedules

CHECKS = {
    "check_orphaned_tasks": "orphaned",
    "check_duplicates": "duplicates",
    "check_hotspots": "hotspots",
    "check_idempotency": "idempotency",
}


class Command(BaseCommand):
    help = ("Validate the effective Celery beat schedule (settings, app configuration, on_after_configure "
            "handlers and django-celery-beat rows) against the tasks the app registers. With no --check-* "
            "option every check runs. Exits 1 on any error. The duplicates, hotspot and idempotency checks share "
            "celerylint's schedule logic: without celerylint installed they report that they did not run.")
    requires_system_checks: list = []  # our own checks are what this command reports

    def add_arguments(self, parser) -> None:
        parser.add_argument("--verbose", action="store_true",
                            help="list every entry with its schedule and next run (as -v 2)")
        parser.add_argument("--check-orphaned-tasks", action="store_true",
                            help="entries whose task is not registered (error)")
        parser.add_argument("--check-duplicates", action="store_true",
                            help="one task scheduled twice with the same arguments and schedule, or one entry name used "
                                 "twice (error; needs celerylint)")
        parser.add_argument("--check-hotspots", action="store_true",
                            help="more than CELERYLINT_HOTSPOT_THRESHOLD (3) entries firing in the same minute (warning; "
                                 "needs celerylint)")
        parser.add_argument("--check-idempotency", action="store_true",
                            help="entries without expires whose runs can pile up (warning; needs celerylint)")
        parser.add_argument("--format", choices=("text", "json"), default="text")
        parser.add_argument("--no-static", action="store_true",
                            help="skip celerylint's static analysis even when it is installed")

    def handle(self, *args, **options) -> None:
        selected = [check for option, check in CHECKS.items() if options[option]] or list(CHECKS.values())
        try:
            app = schedules.find_app()
            entries, findings = schedules.run_checks(app, selected, static=not options["no_static"])
        except (ValueError, ImportError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        verbose = options["verbose"] or options["verbosity"] >= 2
        if options["format"] == "json":
            self.stdout.write(json.dumps(report(app, entries, findings, selected), indent=2))
        else:
            self.write_text(app, entries, findings, selected, verbose)
        errors = sum(f.level == "error" for f in findings)
        if errors:
            raise CommandError(f"{errors} error{'s' if errors != 1 else ''} in the beat schedule", returncode=1)

    def write_text(self, app, entries, findings, selected, verbose: bool) -> None:
        if verbose:
            self.stdout.write(f"Celery app {app.main!r}: {len(app.tasks)} registered tasks, {len(entries)} beat entries")
            for entry in entries:
                when = schedules.next_run(entry.schedule)
                self.stdout.write(f"  {entry.name}  [{entry.source}]\n"
                                  f"      task: {entry.task}\n"
                                  f"      schedule: {entry.schedule}\n"
                                  f"      next run: {when.isoformat(timespec='seconds') if when else 'unknown'}")
        for finding in findings:
            style = self.style.ERROR if finding.level == "error" else self.style.WARNING
            where = f"{finding.location}: {finding.code} " if finding.code else ""
            self.stdout.write(style(f"{finding.level.upper()} [{finding.check}] {where}{finding.message}"))
        errors = sum(f.level == "error" for f in findings)
        warnings = len(findings) - errors
        summary = (f"Checked {len(entries)} beat entries ({', '.join(selected)}): "
                   f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}")
        self.stdout.write(self.style.SUCCESS(summary) if not findings else summary)


def report(app, entries, findings, selected) -> dict:
    return {
        "app": app.main,
        "checks": selected,
        "entries": [{
            "name": entry.name,
            "task": entry.task,
            "source": entry.source,
            "schedule": str(entry.schedule),
            "next_run": _isoformat(schedules.next_run(entry.schedule)),
            "args": _jsonable(entry.args),
            "kwargs": _jsonable(entry.kwargs),
            "options": _jsonable(entry.options),
        } for entry in entries],
        "findings": [finding.as_dict() for finding in findings],
        "summary": {"errors": sum(f.level == "error" for f in findings),
                    "warnings": sum(f.level == "warning" for f in findings)},
    }


def _isoformat(when):
    return when.isoformat(timespec="seconds") if when else None


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))
