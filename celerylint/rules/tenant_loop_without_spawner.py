from celerylint.diagnostics import UNSAFE, Edit, Fix
from celerylint.rules.base import Rule, task_entity


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

    ## Fix safety
    Unsafe: the tasks start in staggered batches instead of all at once, and logging
    inside the loop is dropped (the spawner logs each batch). The spawner is the
    project's own (`spawner-functions`, defined or imported in the project), else
    `restore-import`'s under the same conditions as TEN003. Offered only when the loop
    body is one keyword-only `.delay(...)` / `.apply_async(kwargs={...})` plus logging,
    its `tenant_id` is the tenant attribute the spawner passes (`str(tenant.id)`,
    `tenant.pk`; a project spawner's is read from its definition), nothing else uses
    the loop variable, and every apply_async option is one the spawner takes (the
    runtime's: queue, expires, priority; a project's: none); otherwise the finding says
    why there is no fix. By tenancy mechanism: explicit restore, a restoring decorator
    and a context manager get the same `tenant_id` keyword; a task_prerun handler /
    tenant-aware app or task class read that keyword first; schema per tenant: the
    runtime spawner passes the schema name under the schema applier, so a loop passing
    `tenant.id` there is not the same key and the rewrite is refused unless the
    project's own spawner passes it.

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
    fix_safety = UNSAFE
    fix_examples = ((
        """
        # tenants/models.py
        from django.db import models

        class Tenant(models.Model):
            is_active = models.BooleanField(default=True)

        class Classifier(models.Model):
            tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
        # shop/tasks.py
        import logging

        from celery import shared_task
        from shop.jobs import train
        from tenants.models import Tenant

        logger = logging.getLogger(__name__)

        @shared_task
        def train_all_tenants():
            tenants = Tenant.objects.filter(is_active=True)
            for tenant in tenants:
                logger.info("training %s", tenant.pk)
                train.delay(scheduled=True, tenant_id=str(tenant.id))
        # shop/jobs.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context
        from tenants.models import Classifier

        @shared_task
        def train(*, scheduled=False, tenant_id=None):
            restore_tenant_context(tenant_id)
            Classifier.objects.all()
        """,
        """
        # tenants/models.py
        from django.db import models

        class Tenant(models.Model):
            is_active = models.BooleanField(default=True)

        class Classifier(models.Model):
            tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
        # shop/tasks.py
        import logging

        from celery import shared_task
        from shop.jobs import train
        from tenants.models import Tenant
        from celerylint_runtime import spawn_tenant_tasks_with_rate_limiting

        logger = logging.getLogger(__name__)

        @shared_task
        def train_all_tenants():
            tenants = Tenant.objects.filter(is_active=True)
            spawn_tenant_tasks_with_rate_limiting(tenants=tenants, task_callable=train.delay, task_name="train", scheduled=True)
        # shop/jobs.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context
        from tenants.models import Classifier

        @shared_task
        def train(*, scheduled=False, tenant_id=None):
            restore_tenant_context(tenant_id)
            Classifier.objects.all()
        """,
    ),)

    def check(self, project):
        tenancy = project.tenancy
        reported = set()
        for task in project.tasks.all():
            for module, loop in tenancy.tenant_loops(task):
                source = project.index.by_module[module]
                if (source.rel, loop.span) in reported:
                    continue
                reported.add((source.rel, loop.span))
                facts = project.index.parsed_facts(source.rel)
                fix = _fix(project, source.rel, facts, loop)
                note = f" (no fix: {fix})" if isinstance(fix, str) else ""
                yield self.report(source.rel, facts.spans[loop.span],
                                  f"wrapper task {task.function} enqueues one task per tenant in a loop; use "
                                  "spawn_tenant_tasks_with_rate_limiting(...) to batch and stagger them" + note,
                                  fix=None if isinstance(fix, str) else fix, entity=task_entity(task))


def _fix(project, rel, facts, loop):
    """The loop becomes one call of the project's spawner, when its body is only the
    enqueue (and logging), the spawner passes the same tenant key and takes every option
    of the enqueue. The operation checks the loop itself; `fixable` is confirmed by a dry
    run (celerylint.fixes.apply.confirm_fixable). A string says why there is no fix."""
    from celerylint.project.tenancy.helpers import Helper, fix_helper, spawner_contract

    if not loop.only_enqueue:
        return "the loop does more than enqueue one task per tenant"
    helper = fix_helper(project, rel, "spawner")
    if not isinstance(helper, Helper):
        return helper.reason
    contract = spawner_contract(project, helper)
    if not isinstance(contract, tuple):
        return contract.reason
    keys, options = contract
    edits = (Edit(rel, facts.spans[loop.span], "loop_to_spawner", (helper.local, keys, options)),)
    if helper.source is not None:
        edits += (Edit(rel, None, "import", (helper.source, helper.name)),)
    return Fix(UNSAFE, edits)
