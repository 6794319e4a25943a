from celerylint.diagnostics import SAFE, Edit, Fix
from celerylint.facts.model import CallExpr
from celerylint.rules.base import Rule, function_entity


class TenantIdNotString(Rule):
    """## What it does
    Flags `tenant_id` enqueued as something that is not a string: `x.id`, `x.pk`,
    `uuid4()`, `UUID(...)`, `get_current_tenant_id()`.

    ## Why is this bad?
    Task arguments are serialised (JSON by default): a UUID either fails to serialise
    or arrives as a different type than the code expects, and comparisons such as
    `str(tenant.id) == tenant_id` quietly fail. Pass `str(...)`.

    ## Example
    ```python
    # shop/tasks.py
    from celery import shared_task

    @shared_task
    def report(*, tenant_id=None):
        pass
    # shop/views.py
    from shop.tasks import report

    def export(request):
        report.delay(tenant_id=request.tenant.id)  # TEN006
    ```

    ## Fix safety
    Safe: `x.id`, `x.pk`, `uuid4()` and `UUID(...)` become `str(...)`; a value that may
    be None (`get_current_tenant_id()`, outside any tenant) becomes
    `str(x) if x is not None else None`, so "no tenant" never turns into the tenant
    `"None"`. The task receives the same tenant as a string, whatever the mechanism:
    explicit restore and a context manager get `str` ids (what seed-style helpers and
    celerylint_runtime parse); a restoring decorator, a task_prerun handler / tenant-aware
    app or task class read the same keyword; schema per tenant: a schema name is already
    a string and is not reported.

    ## Use instead
    ```python
    # shop/tasks.py
    from celery import shared_task

    @shared_task
    def report(*, tenant_id=None):
        pass
    # shop/views.py
    from shop.tasks import report

    def export(request):
        report.delay(tenant_id=str(request.tenant.id))
    ```
    """

    code = "TEN006"
    summary = "tenant_id is enqueued as a non-string"
    fix_safety = SAFE
    fix_examples = ((
        """
        # shop/tasks.py
        from celery import shared_task

        @shared_task
        def report(*, tenant_id=None):
            pass
        # shop/views.py
        from shop.tasks import report

        def export(request):
            report.apply_async(kwargs={"tenant_id": request.tenant.pk}, countdown=5)
        """,
        """
        # shop/tasks.py
        from celery import shared_task

        @shared_task
        def report(*, tenant_id=None):
            pass
        # shop/views.py
        from shop.tasks import report

        def export(request):
            report.apply_async(kwargs={"tenant_id": str(request.tenant.pk)}, countdown=5)
        """,
    ), (
        """
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import get_current_tenant_id

        @shared_task
        def report(*, tenant_id=None):
            pass

        def export_current():
            report.delay(tenant_id=get_current_tenant_id())
        """,
        """
        # shop/tasks.py
        from celery import shared_task
        from celerylint_runtime import get_current_tenant_id

        @shared_task
        def report(*, tenant_id=None):
            pass

        def export_current():
            report.delay(tenant_id=str(get_current_tenant_id()) if get_current_tenant_id() is not None else None)
        """,
    ),)

    def check(self, project):
        from celerylint.project.tenancy import non_string_tenant  # the tenancy package loads when rules run

        for source, facts, site, task in project.tenancy.enqueue_sites():
            if site.tenant != "given" or site.tenant_span < 0:
                continue
            shown = non_string_tenant(site.tenant_value)
            if shown is None:
                continue
            span = facts.spans[site.tenant_span]
            if may_be_none(site.tenant_value):
                advice = f"pass str({shown}) if it is not None"
                fix = Fix(SAFE, (Edit(source.rel, span, "str_or_none"),))
            else:
                advice = f"pass str({shown})"
                fix = Fix(SAFE, (Edit(source.rel, span, "wrap_str"),))
            yield self.report(source.rel, span, f"tenant_id={shown} is not a string; {advice}",
                              fix=fix, entity=function_entity(site.function))


def may_be_none(value) -> bool:
    """A getter of the current tenant returns None outside any tenant: `str()` of it
    would make "no tenant" the tenant "None". Ids (`x.id`, `x.pk`) and new UUIDs are
    values."""
    return type(value) is CallExpr and bool(value.callee) and value.callee[-1] not in ("uuid4", "uuid1", "UUID")
