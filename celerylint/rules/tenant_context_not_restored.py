from celerylint.diagnostics import SAFE
from celerylint.rules.fixing import restore_fix
from celerylint.rules.base import Rule, task_entity


class TenantContextNotRestored(Rule):
    """## What it does
    Flags a tenant-scoped task whose first statement (after a docstring) does not
    restore the tenant context: a call to a `restore-functions` function, or a `with`
    block of a `context-managers` context manager that wraps the rest of the body.
    Reported together with TEN001 when the parameter is missing too.

    ## Why is this bad?
    Any query before the restore, and every query when there is none, runs without the
    tenant: row-level security sees no tenant (or the last task's), and data leaks
    across customers.

    ## Example
    ```python
    # shop/models.py
    from django.db import models

    class Tenant(models.Model):
        name = models.CharField(max_length=100)

    class Order(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    # shop/queries.py
    from shop.models import Order

    def open_orders():
        return Order.objects.filter(closed=False)
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from shop.queries import open_orders

    @shared_task
    def close_stale(*, tenant_id=None):  # TEN003
        orders = open_orders()
        restore_tenant_context(tenant_id)
        orders.update(closed=True)
    ```

    ## Tenancy mechanisms
    Restoring means, under the mechanism the project uses: a first statement calling a
    setter (`restore-functions`, a project function that sets the tenant by calling a
    setter, running `SET`/`set_config`, setting a tenant ContextVar or thread-local, or a
    library setter such as `set_current_tenant`), also after lookups of the tenant by its
    id; a `with` of a tenant context manager (`tenant_context`, `schema_context`, a project
    `@contextmanager` that sets it) around the rest of the body, or around every statement
    that touches tenant data, here or in the functions the task calls; a restoring
    decorator; or an app-wide restore, under which this rule does not apply. A first
    statement that clears the tenant (`set_current_tenant(None)`) makes the task global.

    ## Fix safety
    Safe. The fix calls the project's own helper (celerylint.project.tenancy.helpers):
    a restore function or context manager the file already imports or defines, else the
    one the project defines (imported from its module; none needed inside that module),
    else `restore-import` (default `celerylint_runtime`), only when the project depends
    on celerylint-runtime or has no helper of its own. When no correct helper is known
    the finding has no fix and says what to configure. A missing `tenant_id` parameter
    is added as for TEN001. By tenancy mechanism:
    - explicit restore: `helper(tenant_id)` goes first (after a docstring);
    - context manager (only a manager, no restore function): the body after the
      docstring goes inside `with manager(tenant_id):`;
    - restoring decorator, task_prerun handler / tenant-aware app or task class: the
      context is provided, TEN003 is not reported, no fix;
    - schema per tenant: the project's schema helper (configured in `restore-functions`
      or `context-managers`) is used like a restore function or manager; without one
      there is no fix.

    ## Use instead
    ```python
    # shop/models.py
    from django.db import models

    class Tenant(models.Model):
        name = models.CharField(max_length=100)

    class Order(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    # shop/queries.py
    from shop.models import Order

    def open_orders():
        return Order.objects.filter(closed=False)
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context, tenant_context
    from shop.queries import open_orders

    @shared_task
    def close_stale(*, tenant_id=None):
        \"\"\"Close orders nobody touched for a week.\"\"\"
        restore_tenant_context(tenant_id)
        open_orders().update(closed=True)

    @shared_task
    def close_all(*, tenant_id=None):
        with tenant_context(tenant_id):
            open_orders().update(closed=True)
    ```
    """

    code = "TEN003"
    summary = "a tenant-scoped task does not restore tenant context first"
    fix_safety = SAFE
    fix_examples = ((
        """
        # shop/models.py
        from django.db import models

        class Order(models.Model):
            tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
        # shop/tasks.py
        \"\"\"Order tasks.\"\"\"
        from celery import shared_task
        from celerylint_runtime import tenant_context
        from shop.models import Order

        @shared_task
        def close(order_id, *, tenant_id=None):
            \"\"\"Close one order.\"\"\"
            # the comment stays
            Order.objects.filter(id=order_id).update(closed=True)

        @shared_task
        def reopen(order_id):
            Order.objects.filter(id=order_id).update(closed=False)
        """,
        """
        # shop/models.py
        from django.db import models

        class Order(models.Model):
            tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
        # shop/tasks.py
        \"\"\"Order tasks.\"\"\"
        from celery import shared_task
        from celerylint_runtime import tenant_context, restore_tenant_context
        from shop.models import Order

        @shared_task
        def close(order_id, *, tenant_id=None):
            \"\"\"Close one order.\"\"\"
            restore_tenant_context(tenant_id)
            # the comment stays
            Order.objects.filter(id=order_id).update(closed=True)

        @shared_task
        def reopen(order_id, *, tenant_id=None):
            restore_tenant_context(tenant_id)
            Order.objects.filter(id=order_id).update(closed=False)
        """,
    ), (
        """
        # shop/models.py
        from django.db import models

        class Order(models.Model):
            tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context as restore
        from shop.models import Order

        @shared_task(bind=True)
        async def archive(self, order_id, **kwargs):
            await Order.objects.filter(id=order_id).adelete()
        """,
        """
        # shop/models.py
        from django.db import models

        class Order(models.Model):
            tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE)
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context as restore
        from shop.models import Order

        @shared_task(bind=True)
        async def archive(self, order_id, *, tenant_id=None, **kwargs):
            restore(tenant_id)
            await Order.objects.filter(id=order_id).adelete()
        """,
    ),)

    def check(self, project):
        tenancy = project.tenancy
        for task in project.tasks.all():
            use = tenancy.task_use(task)
            if use is None or tenancy.restores_first(task) or tenancy.context_provided(task):
                continue
            fix = restore_fix(project, task, tenancy.task_function(task))
            yield self.report(task.rel, task.def_span,
                              f"task {task.function} is tenant-scoped ({use.describe()}) but does not restore "
                              f"tenant context first; {_advice(fix)}",
                              fix=None if isinstance(fix, str) else fix, entity=task_entity(task))


def _advice(fix) -> str:
    """What to do, in the words of the helper the fix uses (or why there is no fix)."""
    if isinstance(fix, str):
        return f"restore it as its first statement (no fix: {fix})"
    for edit in fix.edits:
        if edit.op == "insert_restore":
            return f"call {edit.arg}(tenant_id) as its first statement"
        if edit.op == "wrap_context":
            return f"run its body inside `with {edit.arg}(tenant_id):`"
    return "restore it as its first statement"
