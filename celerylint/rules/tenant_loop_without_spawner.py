from celerylint.rules.base import Rule


class TenantLoopWithoutSpawner(Rule):
    """## What it does
    Flags a `for` loop over tenants in a wrapper task that calls `.delay` /
    `.apply_async` per tenant instead of using a rate-limited spawner
    (`spawner-functions`, default `spawn_tenant_tasks_with_rate_limiting`).

    ## Why is this bad?
    With hundreds of tenants, the loop floods the queue in one burst and every worker
    starts the same job for every tenant at once. The spawner enqueues in batches
    (`CELERY_TENANT_BATCH_SIZE`) staggered by a countdown (`CELERY_TENANT_BATCH_DELAY`)
    and converts tenant ids to strings.

    ## Example
    ```python
    # tenants/models.py
    from django.db import models

    class Tenant(models.Model):
        is_active = models.BooleanField(default=True)

    class Classifier(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    # shop/tasks.py
    from celery import shared_task
    from shop.jobs import train
    from tenants.models import Tenant

    @shared_task
    def train_all_tenants():
        for tenant in Tenant.objects.filter(is_active=True):  # TEN007
            train.delay(tenant_id=str(tenant.id))
    # shop/jobs.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from tenants.models import Classifier

    @shared_task
    def train(*, tenant_id=None):
        restore_tenant_context(tenant_id)
        Classifier.objects.all()
    ```

    ## Use instead
    ```python
    # tenants/models.py
    from django.db import models

    class Tenant(models.Model):
        is_active = models.BooleanField(default=True)

    class Classifier(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import spawn_tenant_tasks_with_rate_limiting
    from shop.jobs import train
    from tenants.models import Tenant

    @shared_task
    def train_all_tenants():
        spawn_tenant_tasks_with_rate_limiting(
            tenants=Tenant.objects.filter(is_active=True),
            task_callable=train.delay,
            task_name="train",
        )
    # shop/jobs.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from tenants.models import Classifier

    @shared_task
    def train(*, tenant_id=None):
        restore_tenant_context(tenant_id)
        Classifier.objects.all()
    ```
    """

    code = "TEN007"
    summary = "a wrapper loops over tenants instead of using a rate-limited spawner"

    def check(self, index):
        tenancy = index.tenancy
        reported = set()
        for task in index.all_tasks():
            for module, loop in tenancy.tenant_loops(task):
                source = index.by_module[module]
                if (source.rel, loop.span) in reported:
                    continue
                reported.add((source.rel, loop.span))
                facts = index.parsed_facts(source.rel)
                yield self.report(source.rel, facts.spans[loop.span],
                                  f"wrapper task {task.function} enqueues one task per tenant in a loop; use "
                                  "spawn_tenant_tasks_with_rate_limiting(...) to batch and stagger them")
