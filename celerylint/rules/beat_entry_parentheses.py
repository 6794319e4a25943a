from celerylint.diagnostics import SAFE, Edit, Fix
from celerylint.rules.base import Rule, beat_entry_entity


class BeatEntryParentheses(Rule):
    """## What it does
    Flags a beat entry whose task name contains `(` or `)`. When neither the name as
    written nor the name without the parentheses is registered, BEAT001 is reported
    too.

    ## Why is this bad?
    Task names are registry keys. `"create_job()"` only matches a task registered
    with that exact odd name (see TSK001); the usual intent is `"create_job"`.

    ## Example
    ```python
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "create-jobs": {"task": "create_job()", "schedule": 300},  # BEAT002
    }
    # jobs/tasks.py
    from celery import shared_task

    @shared_task(name="create_job")
    def create_job():
        pass
    ```

    ## Fix safety
    Safe, and offered only when the name without parentheses is registered (when only
    the odd name is, TSK001's fix renames the task and its beat references together).

    ## Use instead
    ```python
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "create-jobs": {"task": "create_job", "schedule": 300},
    }
    # jobs/tasks.py
    from celery import shared_task

    @shared_task(name="create_job")
    def create_job():
        pass
    ```
    """

    valid = (
        # Parentheses in the entry's key, arguments or a comment are fine.
        """
        # proj/settings.py
        CELERY_BEAT_SCHEDULE = {
            "create jobs (hourly)": {"task": "create_job", "schedule": 3600, "args": ("(x)",)},  # create_job()
        }
        # jobs/tasks.py
        from celery import shared_task

        @shared_task(name="create_job")
        def create_job(x):
            pass
        """,
    )
    invalid = (
        # Neither "nightly()" nor "nightly" is registered: BEAT001 as well.
        """
        # proj/settings.py
        CELERY_BEAT_SCHEDULE = {
            "n": {"task": "nightly()", "schedule": 60},  # BEAT001, BEAT002
        }
        """,
    )
    code = "BEAT002"
    summary = "a beat entry's task name contains parentheses"
    fix_safety = SAFE
    fix_examples = ((
        """
        # proj/settings.py
        CELERY_BEAT_SCHEDULE = {
            "jobs": {'task': 'create_job()', "schedule": 60},
        }
        # jobs/tasks.py
        from celery import shared_task

        @shared_task(name="create_job")
        def create_job():
            pass
        """,
        """
        # proj/settings.py
        CELERY_BEAT_SCHEDULE = {
            "jobs": {'task': 'create_job', "schedule": 60},
        }
        # jobs/tasks.py
        from celery import shared_task

        @shared_task(name="create_job")
        def create_job():
            pass
        """,
    ),)

    def check(self, project):
        for entry in project.schedules.entries(rows=True):
            name = entry.task
            if name is None or entry.task_span is None or ("(" not in name and ")" not in name):
                continue
            fixed = name.replace("(", "").replace(")", "")
            fix = None
            if entry.task_literal and project.tasks.status(fixed) == "defined":
                fix = Fix(SAFE, (Edit(entry.rel, entry.task_span, "string", fixed),))
            yield self.report(entry.rel, entry.task_span, f'beat task name "{name}" contains parentheses; use "{fixed}"',
                              fix=fix, entity=beat_entry_entity(entry))
