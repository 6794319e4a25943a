from celerylint.rules.base import Rule


class TenantIdParameterShape(Rule):
    """## What it does
    Flags a task's `tenant_id` parameter when it is required, has a default other than
    `None`, or is not the last parameter (before `**kwargs`).

    ## Why is this bad?
    The same task is called from web requests (where the tenant comes from the request)
    and from workers; a required `tenant_id` breaks every caller that does not pass it,
    and a parameter in the middle of the signature is easy to fill positionally by
    mistake. The convention is `*, tenant_id=None`, last.

    ## Example
    ```python
    # shop/tasks.py
    from celery import shared_task

    @shared_task
    def export(fmt, tenant_id):  # TEN002
        pass

    @shared_task
    def rebuild(tenant_id=None, full=False):  # TEN002
        pass
    ```

    ## Use instead
    ```python
    # shop/tasks.py
    from celery import shared_task

    @shared_task
    def export(fmt, *, tenant_id=None):
        pass

    @shared_task
    def rebuild(full=False, tenant_id=None, **kwargs):
        pass
    ```
    """

    code = "TEN002"
    summary = "a task's tenant_id parameter is required, has a non-None default or is not last"

    def check(self, index):
        tenancy = index.tenancy
        for task in index.all_tasks():
            fn = tenancy.task_function(task)
            if fn is None:
                continue
            params = [p for p in fn.params if p.kind != "kwarg"]
            for position, param in enumerate(params):
                if param.name != "tenant_id" or param.kind == "vararg":
                    continue
                facts = index.parsed_facts(task.rel)
                span = facts.spans[param.span]
                if param.default is None:
                    problem = "is required"
                elif param.default != ("n", None):
                    problem = "has a default other than None"
                elif position != len(params) - 1:
                    problem = "is not the last parameter"
                else:
                    continue
                yield self.report(task.rel, span, f"tenant_id of task {task.function} {problem}; "
                                                  "declare it last as `*, tenant_id=None`")
