from celerylint.diagnostics import SAFE, Edit, Fix
from celerylint.rules.fixing import imported_name
from celerylint.rules.base import Rule, task_entity


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

    ## Fix safety
    Safe: the decorator becomes `@shared_task` with the same arguments (the name the
    file already imports it under, else a new `from celery import shared_task`).

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
    fix_safety = SAFE
    fix_examples = ((
        """
        # reports/tasks.py
        from celery import shared_task as st
        from proj.celery import app

        @app.task(
            bind=True,  # keeps its arguments
            max_retries=3,
        )
        def build(self):
            pass

        @st
        def send():
            pass
        # proj/celery.py
        from celery import Celery

        app = Celery("proj")
        """,
        """
        # reports/tasks.py
        from celery import shared_task as st
        from proj.celery import app

        @st(
            bind=True,  # keeps its arguments
            max_retries=3,
        )
        def build(self):
            pass

        @st
        def send():
            pass
        # proj/celery.py
        from celery import Celery

        app = Celery("proj")
        """,
    ),)

    def check(self, project):
        for source, _ in list(project.index.parsed()):
            tasks = project.tasks.of_file(source)
            if not any(t.kind == "shared" for t in tasks):
                continue
            facts = project.index.parsed_facts(source.rel)
            name = imported_name(facts, source.rel, "celery", "shared_task")
            for task in tasks:
                if task.kind == "app" and task.decorator_span is not None:
                    fix = None
                    if name is not None:
                        local, imports = name
                        fix = Fix(SAFE, (Edit(source.rel, task.decorator_span, "decorator_to", local),) + imports)
                    yield self.report(
                        source.rel, task.decorator_span,
                        f"{task.function} is registered with the app's @task decorator while this module "
                        "also uses @shared_task; use @shared_task", fix=fix, entity=task_entity(task),
                    )
