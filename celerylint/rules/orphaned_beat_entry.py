from celerylint.rules.base import Rule, beat_entry_entity


class OrphanedBeatEntry(Rule):
    """## What it does
    Flags a beat schedule entry whose task name no task definition registers (an
    orphaned entry), and suggests the closest name that is registered.

    Names starting with `celery.` (Celery's built-ins such as `celery.backend_cleanup`)
    and names matching `external-tasks` count as defined. A dotted name outside the
    project's packages (a third-party app's task) cannot be verified and is not
    reported; neither is a name that a task with an unfoldable `name=` could register,
    nor a name whose module does not parse (SYN001 reports that module).

    ## Why is this bad?
    Celery beat sends the message anyway; the worker logs "Received unregistered task"
    and drops it. Nothing fails loudly, the job simply never runs: the classic symptom
    after renaming or deleting a task.

    ## Example
    ```python
    # proj/settings.py
    from celery.schedules import crontab

    CELERY_BEAT_SCHEDULE = {
        "charge-all": {
            "task": "billing.tasks.charge_all",  # BEAT001
            "schedule": crontab(hour=2, minute=0),
        },
    }
    # billing/tasks.py
    from celery import shared_task

    @shared_task
    def charge_all_tenants():
        pass
    ```

    ## Use instead
    ```python
    # proj/settings.py
    from celery.schedules import crontab

    CELERY_BEAT_SCHEDULE = {
        "charge-all": {
            "task": "billing.tasks.charge_all_tenants",
            "schedule": crontab(hour=2, minute=0),
        },
    }
    # billing/tasks.py
    from celery import shared_task

    @shared_task
    def charge_all_tenants():
        pass
    ```

    ## Options
    - `external-tasks`: fnmatch patterns of task names defined outside the project.
    """

    code = "BEAT001"
    summary = "a beat entry names a task that no definition registers"
    valid = (
        # Celery's built-in tasks, a name folded from constants, and a task object's .name
        """
        # proj/settings.py
        from billing.tasks import charge
        from billing.names import PREFIX

        CELERY_BEAT_SCHEDULE = {
            "cleanup": {"task": "celery.backend_cleanup", "schedule": 3600},
            "charge": {"task": charge.name, "schedule": 60},
            "report": {"task": PREFIX + ".report", "schedule": 60},
            "dynamic": {"task": get_task_name(), "schedule": 60},
        }
        # billing/names.py
        PREFIX = "billing"
        # billing/tasks.py
        from celery import shared_task
        from billing.names import PREFIX

        @shared_task
        def charge():
            pass

        @shared_task(name=f"{PREFIX}.report")
        def report():
            pass
        """,
        # A task re-exported through a package __init__ and an aliased decorator
        """
        # proj/celery.py
        from celery import Celery

        app = Celery("proj")
        app.conf.beat_schedule = {
            "sync": {"task": "inventory.jobs.sync_stock", "schedule": 300},
            "third-party": {"task": "django_celery_results.tasks.cleanup", "schedule": 300},
        }
        # inventory/jobs.py
        from celery import shared_task as st

        @st()
        def sync_stock():
            pass
        """,
    )
    invalid = (
        """
        # proj/celery.py
        from celery import Celery
        from celery.schedules import crontab

        app = Celery("proj")

        @app.on_after_configure.connect
        def setup_periodic_tasks(sender, **kwargs):
            sender.add_periodic_task(crontab(minute=0), signature("proj.tasks.nightly"))  # BEAT001
        """,
    )

    def check(self, project):
        entries = [e for e in project.schedules.entries(rows=True) if e.task is not None and e.task_span is not None]
        project.tasks.prefetch({e.task for e in entries if e.task not in project.tasks.registry})
        missing = [e for e in entries if _verdict(project, e.task, note=True) in ORPHANED]
        if missing:
            project.tasks.search_definitions(e.task for e in missing)
        reported = set()
        for entry in missing:
            if (entry.rel, entry.task_span) in reported:
                continue  # the entries a comprehension makes share their task reference
            reported.add((entry.rel, entry.task_span))
            name = entry.task
            verdict = _verdict(project, name, note=True)  # a definition found since may make it defined
            if verdict not in ORPHANED:
                continue
            suggestion = project.tasks.suggest(name)
            hint = f' (did you mean "{suggestion}"?)' if suggestion else ""
            label = entry.label()
            if verdict == "nowhere":
                reason = project.tasks.reasons.get(name) or project.tasks.reasons.get(_bare(name), "")
                message = f'{label} names task "{name}", which no task registers: {reason}{hint}'
            else:
                message = f'{label} names task "{name}", which no task registers{hint}'
            yield self.report(entry.rel, entry.task_span, message, entity=beat_entry_entity(entry))


ORPHANED = ("missing", "nowhere")


def _bare(name):
    return name.replace("(", "").replace(")", "")


def _verdict(project, name, note=False):
    """The name's status (TaskRegistry.status), as written or without parentheses:
    "defined", "external" and "maybe" (unverified) are not orphaned. With `note`, the
    names not checked are noted for --verbose, with the reason."""
    tasks = project.tasks
    statuses = {tasks.status(name), tasks.status(_bare(name))}
    if "defined" in statuses:
        return "defined"
    for status in ("external", "maybe"):
        if status in statuses:
            if note:
                reason = tasks.reasons.get(name) or tasks.reasons.get(_bare(name))
                detail = "unverified" if status == "maybe" else status
                project.notes.append(f'task "{name}" is not defined in the project; not checked ({detail}'
                                     + (f": {reason})" if reason else ")"))
            return status
    return "nowhere" if "nowhere" in statuses else "missing"
