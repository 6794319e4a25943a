from celerylint.rules.base import Rule
from celerylint.tenancy import non_string_tenant


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

    def check(self, index):
        for source, facts, site, task in index.tenancy.enqueue_sites():
            if site.tenant != "given" or site.tenant_span < 0:
                continue
            shown = non_string_tenant(site.tenant_value)
            if shown is None:
                continue
            yield self.report(source.rel, facts.spans[site.tenant_span],
                              f"tenant_id={shown} is not a string; pass str({shown})")
