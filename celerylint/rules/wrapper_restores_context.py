from celerylint.diagnostics import SAFE, Edit, Fix
from celerylint.rules.base import Rule, task_entity


# The other files of every fix example: the task the wrapper spawns, and the models.
_JOBS_AND_MODELS = """
        # shop/jobs.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context
        from tenants.models import Classifier

        @shared_task
        def train(*, tenant_id=None):
            restore_tenant_context(tenant_id)
            Classifier.objects.all()
        # tenants/models.py
        from django.db import models

        class Tenant(models.Model):
            is_active = models.BooleanField(default=True)

        class Classifier(models.Model):
            tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
"""


class WrapperRestoresContext(Rule):
    """## What it does
    Flags a restore call in a wrapper task (a task that calls a spawner, or loops over
    tenants enqueueing a task per tenant).

    ## Why is this bad?
    Wrappers run in scheduler context, for all tenants: restoring one tenant there
    leaves that tenant set on the worker for whatever runs next, and the wrapper itself
    has no tenant to restore.

    ## Example
    ```python
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context, spawn_tenant_tasks_with_rate_limiting
    from shop.jobs import train
    from tenants.models import Tenant

    @shared_task
    def train_all_tenants(tenant_id=None):
        restore_tenant_context(tenant_id)  # TEN008
        spawn_tenant_tasks_with_rate_limiting(tenants=Tenant.objects.all(), task_callable=train.delay,
                                              task_name="train")
    # shop/jobs.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from tenants.models import Classifier

    @shared_task
    def train(*, tenant_id=None):
        restore_tenant_context(tenant_id)
        Classifier.objects.all()
    # tenants/models.py
    from django.db import models

    class Tenant(models.Model):
        is_active = models.BooleanField(default=True)

    class Classifier(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    ```

    ## Fix safety
    Safe: the statement that is only the restore call is removed; a `with` block loses
    the context manager (its body stays, dedented) unless the manager is bound with `as`.
    Spawned tasks carry their own `tenant_id`, so no task's tenant changes. By tenancy
    mechanism: explicit restore (the call) and context manager (the `with`) are what is
    removed; a restoring decorator, a task_prerun handler / tenant-aware app or task
    class still see no tenant for the wrapper (it takes none); schema per tenant: the
    wrapper runs in the public schema, where the tenant list lives.

    ## Use instead
    ```python
    # shop/tasks.py
    from celery import shared_task
    from celerylint_runtime import spawn_tenant_tasks_with_rate_limiting
    from shop.jobs import train
    from tenants.models import Tenant

    @shared_task
    def train_all_tenants():
        spawn_tenant_tasks_with_rate_limiting(tenants=Tenant.objects.all(), task_callable=train.delay,
                                              task_name="train")
    # shop/jobs.py
    from celery import shared_task
    from celerylint_runtime import restore_tenant_context
    from tenants.models import Classifier

    @shared_task
    def train(*, tenant_id=None):
        restore_tenant_context(tenant_id)
        Classifier.objects.all()
    # tenants/models.py
    from django.db import models

    class Tenant(models.Model):
        is_active = models.BooleanField(default=True)

    class Classifier(models.Model):
        tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    ```
    """

    code = "TEN008"
    summary = "a wrapper task restores tenant context"
    fix_safety = SAFE
    fix_examples = ((
        """
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context, spawn_tenant_tasks_with_rate_limiting
        from shop.jobs import train
        from tenants.models import Tenant

        @shared_task
        def train_all_tenants(tenant_id=None):
            restore_tenant_context(tenant_id)
            spawn_tenant_tasks_with_rate_limiting(tenants=Tenant.objects.all(), task_callable=train.delay,
                                                  task_name="train")
        """ + _JOBS_AND_MODELS,
        """
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import restore_tenant_context, spawn_tenant_tasks_with_rate_limiting
        from shop.jobs import train
        from tenants.models import Tenant

        @shared_task
        def train_all_tenants(tenant_id=None):
            spawn_tenant_tasks_with_rate_limiting(tenants=Tenant.objects.all(), task_callable=train.delay,
                                                  task_name="train")
        """ + _JOBS_AND_MODELS,
    ), (
        """
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import spawn_tenant_tasks_with_rate_limiting, tenant_context
        from shop.jobs import train
        from tenants.models import Tenant

        @shared_task
        def train_all_tenants(tenant_id=None):
            # spawn every tenant's training
            with tenant_context(tenant_id):  # was: one tenant
                tenants = Tenant.objects.all()
                spawn_tenant_tasks_with_rate_limiting(tenants=tenants, task_callable=train.delay,
                                                      task_name="train")
        """ + _JOBS_AND_MODELS,
        """
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import spawn_tenant_tasks_with_rate_limiting, tenant_context
        from shop.jobs import train
        from tenants.models import Tenant

        @shared_task
        def train_all_tenants(tenant_id=None):
            # spawn every tenant's training
            # was: one tenant
            tenants = Tenant.objects.all()
            spawn_tenant_tasks_with_rate_limiting(tenants=tenants, task_callable=train.delay,
                                                  task_name="train")
        """ + _JOBS_AND_MODELS,
    ),)

    def check(self, project):
        tenancy = project.tenancy
        for task in project.tasks.all():
            if tenancy.task_function(task) is None or not tenancy.is_wrapper(task):
                continue
            facts = project.index.parsed_facts(task.rel)
            for callee, _, call_span, _ in tenancy.restore_calls(task):
                span = facts.spans[call_span]
                yield self.report(task.rel, span,
                                  f"wrapper task {task.function} runs for all tenants and must not restore a "
                                  f"tenant context ({'.'.join(callee)})",
                                  fix=Fix(SAFE, (Edit(task.rel, span, "remove"),)), entity=task_entity(task))
