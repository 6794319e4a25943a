"""Invoicing tasks.

This module predates the project's "@shared_task everywhere" convention and
still binds one task to the app instance; celerylint reports that as TSK003.
"""
from datetime import timedelta

from celery import shared_task
from celery.utils.log import get_task_logger
from django.utils import timezone

from celerylint_runtime import restore_tenant_context, spawn_tenant_tasks_with_rate_limiting
from orders.models import Order
from shop.celery import app
from tenants.models import Tenant

from .models import Invoice

logger = get_task_logger(__name__)


@shared_task
def issue_invoices(*, tenant_id=None):
    """Invoice every paid order that has no invoice yet, then deliver each one."""
    restore_tenant_context(tenant_id)
    orders = Order.objects.select_related("tenant").filter(
        status=Order.Status.PAID, invoice__isnull=True
    )
    issued = []
    for order in orders:
        invoice = Invoice.objects.create(
            tenant=order.tenant,
            order=order,
            number=f"INV-{order.number}",
            amount=order.total,
        )
        # Follow-up work for the same tenant carries the tenant along.
        deliver_invoice.delay(invoice.pk, tenant_id=tenant_id)
        issued.append(invoice.pk)
    return issued


@shared_task
def deliver_invoice(invoice_id, *, tenant_id=None):
    """Send one invoice to the customer (stubbed as a log line)."""
    restore_tenant_context(tenant_id)
    invoice = Invoice.objects.select_related("tenant").get(pk=invoice_id)
    logger.info("Delivering invoice %s for tenant %s", invoice.number, invoice.tenant)
    invoice.sent_at = timezone.now()
    invoice.save(update_fields=["sent_at"])


@shared_task
def scheduled_issue_invoices_all_tenants():
    """Celery Beat wrapper: runs issue_invoices once per active tenant."""
    spawn_tenant_tasks_with_rate_limiting(
        tenants=Tenant.objects.filter(is_active=True),
        task_callable=issue_invoices.delay,
        task_name="issue_invoices",
    )


@app.task  # deliberate: TSK003 (@app.task mixed with @shared_task in one module)
def send_payment_reminders(days_overdue=14, *, tenant_id=None):
    """Remind customers about invoices unpaid for more than ``days_overdue`` days."""
    restore_tenant_context(tenant_id)
    cutoff = timezone.now() - timedelta(days=days_overdue)
    overdue = Invoice.objects.filter(paid_at__isnull=True, issued_at__lt=cutoff)
    for invoice in overdue:
        logger.info("Payment reminder for invoice %s", invoice.number)
    return len(overdue)
