from celerylint.facts.model import exclusive_branches
from celerylint.rules.base import Rule, task_entity


class DuplicateTask(Rule):
    """## What it does
    Flags a task definition that registers a name another definition already
    registers. Definitions are ordered by path, then line; every one after the first
    is reported, naming the first.

    ## Why is this bad?
    Celery keeps one task per name: whichever module the worker imports last wins, so
    which code runs depends on import order, and fixes applied to one copy silently
    do not run.

    ## Example
    ```python
    # notifications/email_tasks.py
    from celery import shared_task

    @shared_task(name="send_reminder_email")
    def send_reminder_email(user_id):
        pass
    # notifications/tasks.py
    from celery import shared_task

    @shared_task(name="send_reminder_email")
    def send_reminder_email(user_id):  # TSK002
        pass
    ```

    ## Use instead
    ```python
    # notifications/email_tasks.py
    from celery import shared_task

    @shared_task(name="send_reminder_email")
    def send_reminder_email(user_id):
        pass
    # notifications/tasks.py
    from notifications.email_tasks import send_reminder_email
    ```
    """

    code = "TSK002"
    summary = "two task definitions register the same task name"
    valid = (
        # Alternative definitions in the arms of one if/try statement are not duplicates.
        """
        # app/tasks.py
        from celery import shared_task

        try:
            from fast_impl import crunch
        except ImportError:
            @shared_task(name="crunch")
            def crunch():
                pass
        if USE_V2:
            @shared_task(name="sync")
            def sync():
                pass
        else:
            @shared_task(name="sync")
            def sync():
                pass
        """,
        # The same function name in two modules registers two different names.
        """
        # billing/tasks.py
        from celery import shared_task

        @shared_task
        def cleanup():
            pass
        # orders/tasks.py
        from celery import shared_task

        @shared_task
        def cleanup():
            pass
        """,
    )

    def check(self, project):
        for name, defs in project.tasks.registry.items():
            defs = [d for d in defs if not d.nested]
            if len(defs) < 2:
                continue
            first = defs[0]
            for later in defs[1:]:
                if later.rel == first.rel and exclusive_branches(first.branch, later.branch):
                    continue
                yield self.report(
                    later.rel, later.def_span,
                    f'task "{name}" is already registered by {first.function} at {first.rel}:{first.def_span[0]}',
                    entity=task_entity(later),
                )
