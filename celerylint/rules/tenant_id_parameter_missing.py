from celerylint.diagnostics import SAFE, Edit, Fix
from celerylint.rules.base import Rule, task_entity
from celerylint.rules.fixing import restore_fix


class TenantIdParameterMissing(Rule):
    """## What it does
    Flags a tenant-scoped task that has no `tenant_id` parameter. A task is
    tenant-scoped when it uses a tenant-scoped model (one with a `tenant`/`tenant_id`
    field, a tenant manager, or a tenant base class, directly or by inheritance), or
    calls a project function that does, or is listed in `tenant-tasks`.

    Wrapper tasks (they call a spawner, or loop over tenants enqueueing a task per
    tenant), tasks listed in `global-tasks`, tasks using only the tenant model itself,
    and tasks whose base is in `tenant-task-bases` are not concerned.

    ## Why is this bad?
    A worker has no request and no tenant: without `tenant_id` the task cannot restore
    the tenant context, so its queries run unfiltered by row-level security, or with
    whatever tenant the previous task left on that worker.

    ## Example
    ```python
    # shop/models.py
    from django.db import models

    class Tenant(models.Model):
        name = models.CharField(max_length=100)

    class Order(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
        total = models.IntegerField(default=0)
    # shop/tasks.py
    from celery import shared_task
    from shop.models import Order

    @shared_task
    def recalculate(order_id):  # TEN001, TEN003
        Order.objects.filter(id=order_id).update(total=0)
    ```

    ## Use instead
    ```python
    # shop/models.py
    from django.db import models

    class Tenant(models.Model):
        name = models.CharField(max_length=100)

    class Order(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
        total = models.IntegerField(default=0)
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from shop.models import Order

    @shared_task
    def recalculate(order_id, *, tenant_id=None):
        restore_tenant_context(tenant_id)
        Order.objects.filter(id=order_id).update(total=0)
    ```

    ## Tenancy mechanisms
    Not reported for a task that gets its tenant another way: a restoring decorator, an
    app-wide restore (a `task_prerun` handler, tenant-schemas-celery's app, a restoring
    default task class, django-omnitenant), or a first statement that restores from another
    parameter (`with schema_context(schema_name)`). `celerylint tenancy` lists each task's
    verdict.

    ## Fix safety
    Safe: a keyword-only parameter with a default breaks no caller. It is added last,
    before `**kwargs`, after `*args` or a new `*`, and only together with what uses it:
    the task's existing restore call (TEN004 then passes it `tenant_id`), or TEN003's fix
    (the same edits); when TEN003 has no fix, neither has TEN001, and the message says
    what to configure. By tenancy mechanism:
    - explicit restore: the parameter comes with the project's own restore call
      (`restore-functions`, defined or imported in the project), never another package's;
    - restoring decorator, task_prerun handler / tenant-aware app or task class
      (`tenant-task-bases`): the context is provided, TEN001 is not reported, no fix;
    - context manager: with TEN003's fix, the body goes inside the project's manager;
    - schema per tenant: the same as explicit restore, with the project's schema helper
      (`restore-functions` / `context-managers` naming it).

    ## Options
    `tenant-models`, `tenant-model-bases`, `tenant-managers`, `tenant-model`,
    `tenant-tasks`, `global-tasks`, `tenant-task-bases`, `spawner-functions`.
    """

    code = "TEN001"
    summary = "a tenant-scoped task has no tenant_id parameter"
    fix_safety = SAFE
    fix_examples = ((
        """
        # shop/models.py
        from django.db import models

        class Order(models.Model):
            tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context
        from shop.models import Order

        @shared_task(bind=True)
        def recalculate(
            self,
            order_id,
            **options,
        ):
            restore_tenant_context(tenant_id)
            Order.objects.filter(id=order_id)

        @shared_task
        async def notify(order_id, *recipients):
            restore_tenant_context(tenant_id)
            Order.objects.filter(id=order_id)
        """,
        """
        # shop/models.py
        from django.db import models

        class Order(models.Model):
            tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context
        from shop.models import Order

        @shared_task(bind=True)
        def recalculate(
            self,
            order_id,
            *,
            tenant_id=None,
            **options,
        ):
            restore_tenant_context(tenant_id)
            Order.objects.filter(id=order_id)

        @shared_task
        async def notify(order_id, *recipients, tenant_id=None):
            restore_tenant_context(tenant_id)
            Order.objects.filter(id=order_id)
        """,
    ),)

    def check(self, project):
        tenancy = project.tenancy
        for task in project.tasks.all():
            fn = tenancy.task_function(task)
            if fn is None or any(p.name == "tenant_id" for p in fn.params):
                continue
            use = tenancy.task_use(task)
            if use is None or tenancy.context_provided(task) or tenancy.restored_from_other(task):
                continue
            fix = _fix(project, task, fn)
            note = f" (no fix: {fix})" if isinstance(fix, str) else ""
            yield self.report(task.rel, task.def_span,
                              f"task {task.function} is tenant-scoped ({use.describe()}) but has no tenant_id "
                              "parameter; add `*, tenant_id=None`" + note,
                              fix=None if isinstance(fix, str) else fix, entity=task_entity(task))


def _fix(project, task, fn):
    """The parameter only together with what uses it: the task's existing restore call
    or context manager (TEN004 then points it at `tenant_id`), else the same fix as
    TEN003's (parameter and restore). A string when neither is possible."""
    if task.kind == "class":
        return "a Task class's run() is not rewritten"
    tenancy = project.tenancy
    if tenancy.restores_first(task) or tenancy.restore_calls(task):
        return Fix(SAFE, (Edit(task.rel, task.def_span, "add_tenant_param"),))
    return restore_fix(project, task, fn)
