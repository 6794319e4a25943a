from celerylint.rules.base import Rule


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

    def check(self, index):
        tenancy = index.tenancy
        for task in index.all_tasks():
            if tenancy.task_function(task) is None or tenancy.is_wrapper(task):
                continue
            facts = index.parsed_facts(task.rel)
            for callee, argument, _, arg_span in tenancy.restore_calls(task):
                if argument == ("r", ("tenant_id",)) or arg_span < 0:
                    continue
                yield self.report(task.rel, facts.spans[arg_span],
                                  f"{'.'.join(callee)}() in task {task.function} is given something other than "
                                  "the task's tenant_id parameter")
