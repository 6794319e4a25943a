from celerylint.rules.base import Rule, beat_entry_entity


class BeatSchedulesTenantTask(Rule):
    """## What it does
    Flags a beat entry that schedules a tenant-scoped task directly.

    ## Why is this bad?
    Beat sends the task with no arguments: it runs once, with `tenant_id=None`, instead
    of once per tenant. Schedule a wrapper task that spawns the per-tenant tasks.

    ## Tenancy mechanisms
    Not reported when beat runs a tenant-aware scheduler (`CELERY_BEAT_SCHEDULER` naming
    one, such as `tenant_schemas_celery.scheduler.TenantAwareScheduler`): it runs every
    entry in each tenant.

    ## Example
    ```python
    # shop/models.py
    from django.db import models

    class Tenant(models.Model):
        name = models.CharField(max_length=100)

    class Invoice(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from shop.models import Invoice

    @shared_task
    def issue_invoices(*, tenant_id=None):
        restore_tenant_context(tenant_id)
        Invoice.objects.filter(issued=False).update(issued=True)
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "issue-invoices": {"task": "shop.tasks.issue_invoices", "schedule": 3600},  # BEAT006
    }
    ```

    ## Use instead
    ```python
    # shop/models.py
    from django.db import models

    class Tenant(models.Model):
        name = models.CharField(max_length=100)

    class Invoice(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context, spawn_tenant_tasks_with_rate_limiting
    from shop.models import Invoice, Tenant

    @shared_task
    def issue_invoices(*, tenant_id=None):
        restore_tenant_context(tenant_id)
        Invoice.objects.filter(issued=False).update(issued=True)

    @shared_task
    def issue_invoices_all_tenants():
        spawn_tenant_tasks_with_rate_limiting(tenants=Tenant.objects.all(), task_callable=issue_invoices.delay,
                                              task_name="issue_invoices")
    # proj/settings.py
    CELERY_BEAT_SCHEDULE = {
        "issue-invoices": {"task": "shop.tasks.issue_invoices_all_tenants", "schedule": 3600},
    }
    ```
    """

    code = "BEAT006"
    summary = "a beat entry schedules a tenant-scoped task directly"

    def check(self, project):
        tenancy = project.tenancy
        if not tenancy.models_exist() or tenancy.found().tenant_aware_beat:
            return  # nothing is tenant-scoped, or beat runs every entry in each tenant
        for entry in project.schedules.entries():
            if entry.task is None or entry.task_span is None:
                continue
            for task in project.tasks.registry.get(entry.task, ()):
                use = tenancy.task_use(task)
                if use is not None and not tenancy.finds_its_tenants(task):
                    yield self.report(entry.rel, entry.task_span,
                                      f'beat entry "{entry.key or "?"}" schedules tenant-scoped task {task.function} '
                                      f"({use.describe()}) directly: it runs with tenant_id=None; schedule a wrapper "
                                      "that spawns it per tenant", entity=beat_entry_entity(entry))
                    break
