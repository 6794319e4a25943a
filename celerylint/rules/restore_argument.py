from celerylint.diagnostics import SAFE, Edit, Fix
from celerylint.facts.model import Ref
from celerylint.rules.base import Rule, task_entity


class RestoreArgument(Rule):
    """## What it does
    Flags a restore call (or `with` context manager) in a task whose argument is not
    the task's own `tenant_id` parameter.

    ## Why is this bad?
    Restoring from anything else — a tenant looked up by name, `self.request`, a
    global — restores the wrong tenant or none, silently.

    ## Example
    ```python
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context

    @shared_task
    def sync(account, *, tenant_id=None):
        restore_tenant_context(account.tenant_id)  # TEN004
    ```

    ## Fix safety
    Safe, when the task has a `tenant_id` parameter: the argument becomes `tenant_id`,
    the tenant its caller passes, in the same helper call. By tenancy mechanism: explicit
    restore and a context manager (`with manager(x)` -> `with manager(tenant_id)`) keep
    their own helper; a restoring decorator, a task_prerun handler / tenant-aware app or
    task class already set the caller's tenant, which the call now restores again instead
    of replacing it with another; schema per tenant: the schema helper gets the caller's
    tenant.

    ## Use instead
    ```python
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context

    @shared_task
    def sync(account, *, tenant_id=None):
        restore_tenant_context(tenant_id)
    ```
    """

    code = "TEN004"
    summary = "a restore call's argument is not the task's own tenant_id"
    fix_safety = SAFE
    fix_examples = ((
        """
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context

        @shared_task
        def sync(account, *, tenant_id=None):
            restore_tenant_context(account.tenant_id)
        """,
        """
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context

        @shared_task
        def sync(account, *, tenant_id=None):
            restore_tenant_context(tenant_id)
        """,
    ),)

    def check(self, project):
        tenancy = project.tenancy
        for task in project.tasks.all():
            if tenancy.task_function(task) is None or tenancy.is_wrapper(task):
                continue
            facts = project.index.parsed_facts(task.rel)
            has_param = any(p.name == "tenant_id" for p in tenancy.task_function(task).params)
            for callee, argument, _, arg_span in tenancy.restore_calls(task):
                if argument == Ref(("tenant_id",)) or arg_span < 0:
                    continue
                span = facts.spans[arg_span]
                fix = Fix(SAFE, (Edit(task.rel, span, "name", "tenant_id"),)) if has_param else None
                yield self.report(task.rel, span,
                                  f"{'.'.join(callee)}() in task {task.function} is given something other than "
                                  "the task's tenant_id parameter", fix=fix, entity=task_entity(task))
