from celerylint.rules.base import Rule


class MixedTaskDecorators(Rule):
    """## What it does
    Flags each `@<app>.task` decorator in a module that also defines tasks with
    `@shared_task`.

    ## Why is this bad?
    `@app.task` binds the task to one app instance and makes the module import the
    app (a frequent cause of circular imports in Django projects), while
    `@shared_task` works with whichever app is current. Mixing both in one module
    means two registration paths for the same code base; the convention is
    `@shared_task` everywhere.

    ## Example
    ```python
    # reports/tasks.py
    from celery import shared_task
    from proj.celery import app

    @app.task  # TSK003
    def build_report():
        pass

    @shared_task
    def send_report():
        pass
    # proj/celery.py
    from celery import Celery

    app = Celery("proj")
    ```

    ## Use instead
    ```python
    # reports/tasks.py
    from celery import shared_task

    @shared_task
    def build_report():
        pass

    @shared_task
    def send_report():
        pass
    ```
    """

    valid = (
        # Only @app.task in one module and only @shared_task in another is consistent per
        # module; `invoke.task` and a non-Celery object named `cli` are not app tasks.
        """
        # proj/celery.py
        from celery import Celery

        app = Celery("proj")
        # legacy/tasks.py
        from proj.celery import app

        @app.task
        def old():
            pass
        # ops/tasks.py
        from celery import shared_task
        from invoke import task

        @task
        def deploy(c):
            pass

        @shared_task
        def new():
            pass
        """,
    )
    code = "TSK003"
    summary = "a module defines tasks with both @<app>.task and @shared_task"

    def check(self, index):
        for source, _ in list(index.parsed()):
            tasks = index.tasks_of(source)
            if not any(t.kind == "shared" for t in tasks):
                continue
            for task in tasks:
                if task.kind == "app" and task.decorator_span is not None:
                    yield self.report(
                        source.rel, task.decorator_span,
                        f"{task.function} is registered with the app's @task decorator while this module "
                        "also uses @shared_task; use @shared_task",
                    )
