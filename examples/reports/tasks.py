"""Global tasks: exchange rates are reference data shared by all tenants."""
from datetime import timedelta
from decimal import Decimal

from celery import Task, current_app, shared_task
from celery.utils.log import get_task_logger
from django.utils import timezone

from .models import ExchangeRate

logger = get_task_logger(__name__)

# A real deployment would ask a rates provider; the example uses fixed values.
REFERENCE_RATES = {
    ("EUR", "USD"): Decimal("1.08500000"),
    ("EUR", "GBP"): Decimal("0.85700000"),
    ("EUR", "CHF"): Decimal("0.94400000"),
}


@shared_task(name="reports.refresh_rates()")  # deliberate: TSK001 (parentheses in the task name)
def refresh_rates():
    """Store a fresh snapshot of the reference exchange rates."""
    now = timezone.now()
    ExchangeRate.objects.bulk_create(
        ExchangeRate(base=base, quote=quote, rate=rate, as_of=now)
        for (base, quote), rate in REFERENCE_RATES.items()
    )
    return len(REFERENCE_RATES)


@shared_task
def purge_stale_rates(days=30, *, tenant_id=None):
    """Delete rates older than ``days``.

    ``tenant_id`` is accepted for a uniform task signature and ignored:
    exchange rates are global, so this is not a tenant-scoped task.
    """
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = ExchangeRate.objects.filter(as_of__lt=cutoff).delete()
    return deleted


class CheckExchangeRates(Task):
    """Class-based task: warn when the newest exchange rate is too old."""

    name = "reports.check_exchange_rates"
    ignore_result = True

    def run(self, max_age_minutes=90):
        latest = ExchangeRate.objects.order_by("-as_of").first()
        if latest is None or latest.as_of < timezone.now() - timedelta(minutes=max_age_minutes):
            logger.warning("Exchange rates are stale (latest: %s)", latest)
            return False
        return True


check_exchange_rates = current_app.register_task(CheckExchangeRates())
