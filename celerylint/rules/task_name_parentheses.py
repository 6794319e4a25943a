from celerylint.diagnostics import UNSAFE, Edit, Fix
from celerylint.facts.model import Str
from celerylint.rules.base import Rule, task_entity


class TaskNameParentheses(Rule):
    """## What it does
    Flags a task whose explicit `name=` contains `(` or `)`.

    ## Why is this bad?
    A task name is a registry key, not a call. Beat entries and callers that spell the
    name without the parentheses (as everyone does) never find the task, so the
    schedule silently does nothing.

    ## Example
    ```python
    # jobs/tasks.py
    from celery import shared_task

    @shared_task(name="create_job()")  # TSK001
    def create_job(job_ids=None):
        pass
    ```

    ## Fix safety
    Unsafe: the fix renames the task (and the beat entries naming it by a string), so
    code sending it by its old name stops finding it.

    ## Use instead
    ```python
    # jobs/tasks.py
    from celery import shared_task

    @shared_task(name="create_job")
    def create_job(job_ids=None):
        pass
    ```
    """

    valid = (
        # Parentheses elsewhere: a non-Celery decorator's name, a queue, a docstring.
        """
        # jobs/tasks.py
        from celery import shared_task
        from invoke import task

        @task(name="deploy()")
        def deploy(c):
            pass

        @shared_task(name="jobs.create", queue="jobs(high)")
        def create():
            \"\"\"Create jobs (all of them).\"\"\"
        """,
    )
    invalid = (
        # A folded name, and a class-based task.
        """
        # jobs/tasks.py
        from celery import Task, shared_task

        PREFIX = "jobs"

        @shared_task(name=PREFIX + ".close()")  # TSK001
        def close():
            pass

        class Report(Task):
            name = "jobs.report()"  # TSK001
        """,
    )
    code = "TSK001"
    summary = "a task's explicit name contains parentheses"
    fix_safety = UNSAFE
    fix_examples = ((
        """
        # jobs/tasks.py
        from celery import shared_task

        @shared_task(name="create_job()")
        def create_job():
            pass
        # proj/settings.py
        CELERY_BEAT_SCHEDULE = {
            "jobs": {"task": "create_job()", "schedule": 60},  # the reference follows
        }
        """,
        """
        # jobs/tasks.py
        from celery import shared_task

        @shared_task(name="create_job")
        def create_job():
            pass
        # proj/settings.py
        CELERY_BEAT_SCHEDULE = {
            "jobs": {"task": "create_job", "schedule": 60},  # the reference follows
        }
        """,
    ),)

    def check(self, project):
        for task in project.tasks.all():
            if task.explicit_name and task.name is not None and ("(" in task.name or ")" in task.name):
                fixed = task.name.replace("(", "").replace(")", "")
                yield self.report(
                    task.rel, task.name_span or task.def_span,
                    f'task name "{task.name}" contains parentheses; register it as "{fixed}"',
                    fix=self._fix(project, task, fixed), entity=task_entity(task),
                )

    @staticmethod
    def _fix(project, task, fixed):
        """Rename the task and every beat entry that names it by a string literal. Unsafe:
        code that sends the task by its old name (send_task) stops finding it."""
        if type(task.options.get("name")) is not Str or task.name_span is None or fixed in project.tasks.registry:
            return None
        edits = [Edit(task.rel, task.name_span, "string", fixed)]
        for entry in project.schedules.entries(rows=True):
            if entry.task == task.name:
                if not entry.task_literal or entry.task_span is None:
                    return None
                edits.append(Edit(entry.rel, entry.task_span, "string", fixed))
        return Fix(UNSAFE, tuple(edits))
