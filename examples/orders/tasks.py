"""Per-tenant order maintenance, plus the wrapper that Celery Beat schedules."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

from celery import shared_task
from celery.utils.log import get_task_logger
from django.utils import timezone

from celerylint_runtime import restore_tenant_context, spawn_tenant_tasks_with_rate_limiting
from tenants.models import Tenant

from .models import Order

logger = get_task_logger(__name__)


def open_orders_older_than(hours):
    cutoff = timezone.now() - timedelta(hours=hours)
    return Order.objects.filter(status=Order.Status.OPEN, created_at__lt=cutoff)


@shared_task
def recalculate_order_totals(order_ids=None, *, tenant_id=None):
    """Recompute ``Order.total`` from the order lines."""
    restore_tenant_context(tenant_id)
    orders = Order.objects.prefetch_related("lines")
    if order_ids is not None:
        orders = orders.filter(pk__in=order_ids)
    changed = 0
    for order in orders:
        total = sum((line.line_total for line in order.lines.all()), Decimal("0.00"))
        if order.total != total:
            order.total = total
            order.save(update_fields=["total"])
            changed += 1
    return changed


@shared_task
def cancel_stale_orders(max_age_hours=48, *, tenant_id=None):
    """Cancel orders that stayed open for more than ``max_age_hours``."""
    restore_tenant_context(tenant_id)
    cancelled = open_orders_older_than(max_age_hours).update(status=Order.Status.CANCELLED)
    logger.info("Cancelled %d stale orders", cancelled)
    return cancelled


@shared_task
def scheduled_cancel_stale_orders_all_tenants():
    """Celery Beat wrapper: runs cancel_stale_orders once per active tenant."""
    spawn_tenant_tasks_with_rate_limiting(
        tenants=Tenant.objects.filter(is_active=True),
        task_callable=cancel_stale_orders.delay,
        task_name="cancel_stale_orders",
        max_age_hours=48,
    )


@shared_task
def export_open_orders(*, tenant_id=None):  # deliberate: TEN003 (no restore_tenant_context)
    """Return the tenant's open orders as CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["number", "total", "created_at"])
    for order in Order.objects.filter(status=Order.Status.OPEN).order_by("created_at"):
        writer.writerow([order.number, order.total, order.created_at.isoformat()])
    return buffer.getvalue()
