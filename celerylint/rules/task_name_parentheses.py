from celerylint.rules.base import Rule


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

    def check(self, index):
        for task in index.all_tasks():
            if task.explicit_name and task.name is not None and ("(" in task.name or ")" in task.name):
                yield self.report(
                    task.rel, task.name_span or task.def_span,
                    f'task name "{task.name}" contains parentheses; register it as '
                    f'"{task.name.replace("(", "").replace(")", "")}"',
                )
