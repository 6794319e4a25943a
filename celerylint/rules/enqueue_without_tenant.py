from celerylint.rules.base import Rule, function_entity


class EnqueueWithoutTenant(Rule):
    """## What it does
    Flags a call that enqueues a tenant-scoped task (`.delay`, `.apply_async`, `.s`,
    `.si`, `.signature`) without passing `tenant_id` (for `apply_async` and
    `signature`, in the `kwargs` mapping). Calls inside a spawner call are left alone,
    and so are tasks whose base carries the tenant in message headers
    (`tenant-task-bases`).

    ## Why is this bad?
    The task runs with `tenant_id=None`: it restores no tenant, and its queries see no
    tenant's rows, or another tenant's.

    ## Tenancy mechanisms
    The tenant travels as the `tenant_id` keyword, in `kwargs=`, in `headers=`, as the
    `apply_async(..., tenant_id=...)` option, or under the names an app-wide `task_prerun`
    handler reads. Not reported inside a `with` of a tenant context manager, or when the
    task's base, the app (tenant-schemas-celery) or a `before_task_publish` handler captures
    the publisher's tenant. A restore that captures nothing on publish (a prerun handler,
    django-omnitenant, a decorator) still needs the tenant passed.

    ## Example
    ```python
    # shop/models.py
    from django.db import models

    class Tenant(models.Model):
        name = models.CharField(max_length=100)

    class Order(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from shop.models import Order

    @shared_task
    def recalculate(order_id, *, tenant_id=None):
        restore_tenant_context(tenant_id)
        Order.objects.filter(id=order_id).update(total=0)
    # shop/views.py
    from shop import tasks

    def order_changed(request, order_id):
        tasks.recalculate.delay(order_id)  # TEN005
        tasks.recalculate.apply_async(args=(order_id,), countdown=5)  # TEN005
    ```

    ## Use instead
    ```python
    # shop/models.py
    from django.db import models

    class Tenant(models.Model):
        name = models.CharField(max_length=100)

    class Order(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from shop.models import Order

    @shared_task
    def recalculate(order_id, *, tenant_id=None):
        restore_tenant_context(tenant_id)
        Order.objects.filter(id=order_id).update(total=0)
    # shop/views.py
    from shop import tasks

    def order_changed(request, order_id):
        tasks.recalculate.delay(order_id, tenant_id=str(request.tenant.id))
        tasks.recalculate.apply_async(args=(order_id,), kwargs={"tenant_id": str(request.tenant.id)})
    ```
    """

    code = "TEN005"
    summary = "a tenant-scoped task is enqueued without tenant_id"

    def check(self, project):
        tenancy = project.tenancy
        for source, facts, site, task in tenancy.enqueue_sites():
            if site.tenant != "missing" or tenancy.inside_spawner(site):
                continue
            use = tenancy.task_use(task)
            if use is None or tenancy.carried(facts.module, site, task):
                continue
            yield self.report(source.rel, facts.spans[site.span],
                              f"{'.'.join(site.receiver)}.{site.method}() enqueues tenant-scoped task "
                              f"{task.function} ({use.describe()}) without tenant_id", entity=function_entity(site.function))
