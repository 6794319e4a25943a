from celerylint.diagnostics import SAFE, UNSAFE, Edit, Fix
from celerylint.facts.model import Num
from celerylint.rules.base import Rule, task_entity


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

    ## Fix safety
    Safe when `tenant_id` is last and only lacks `=None`. Unsafe when the fix changes an
    existing default or moves the parameter (callers passing it positionally would
    pass something else). The fix touches only the signature, so what runs as which
    tenant depends on the mechanism, unchanged: explicit restore and a context manager
    get the same `tenant_id` a caller passes by keyword; a restoring decorator, a
    task_prerun handler / tenant-aware app or task class read the keyword (or header)
    they read before; schema per tenant: the schema helper gets the same value. A
    changed default (`"main"` -> `None`) does change the tenant of a caller that relied
    on it: that is why it is unsafe.

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
    fix_safety = "safe or unsafe"
    fix_examples = ((
        """
        # shop/tasks.py
        from celery import shared_task

        @shared_task
        def export(fmt, tenant_id):
            pass

        @shared_task
        def rebuild(tenant_id=None, full=False):
            pass

        @shared_task
        def audit(*, tenant_id="main"):
            pass

        @shared_task
        def purge(days: int, tenant_id: str):
            pass
        """,
        """
        # shop/tasks.py
        from celery import shared_task

        @shared_task
        def export(fmt, tenant_id=None):
            pass

        @shared_task
        def rebuild(full=False, *, tenant_id=None):
            pass

        @shared_task
        def audit(*, tenant_id=None):
            pass

        @shared_task
        def purge(days: int, tenant_id: str = None):
            pass
        """,
    ),)

    def check(self, project):
        tenancy = project.tenancy
        for task in project.tasks.all():
            fn = tenancy.task_function(task)
            if fn is None or not any(p.name == "tenant_id" for p in fn.params) or not tenancy.convention_applies(task):
                continue
            params = [p for p in fn.params if p.kind != "kwarg"]
            for position, param in enumerate(params):
                if param.name != "tenant_id" or param.kind == "vararg":
                    continue
                facts = project.index.parsed_facts(task.rel)
                span = facts.spans[param.span]
                last = position == len(params) - 1
                if param.default is None and last:
                    problem, fix = "is required", Fix(SAFE, (Edit(task.rel, span, "param_default_none"),))
                elif param.default is None:
                    problem, fix = "is required", _move(project, task)
                elif param.default != Num(None):
                    problem = "has a default other than None"
                    fix = _guarded(project, task, Fix(UNSAFE, (Edit(task.rel, span, "param_default_none"),))) \
                        if last else _move(project, task)
                elif not last:
                    problem, fix = "is not the last parameter", _move(project, task)
                else:
                    continue
                note = f" (no fix: {fix})" if isinstance(fix, str) else ""
                yield self.report(task.rel, span, f"tenant_id of task {task.function} {problem}; "
                                                  "declare it last as `*, tenant_id=None`" + note,
                                  fix=None if isinstance(fix, str) else fix, entity=task_entity(task))


def _move(project, task):
    """Reordering parameters changes what positional callers pass: unsafe."""
    return _guarded(project, task, Fix(UNSAFE, (Edit(task.rel, task.def_span, "param_to_keyword_last"),)))


def _guarded(project, task, fix):
    """`fix` (moving the parameter or changing its default), unless an enqueue of the
    task does not pass tenant_id by name: that caller's tenant (positional, or the
    default) would change. A string saying so then."""
    for source, _, site, target in project.tenancy.enqueue_sites():
        if target == task and site.tenant != "given":
            return (f"{source.rel} enqueues {task.function} without tenant_id by name: moving the parameter or "
                    "changing its default would change the tenant that call runs as")
    return fix
