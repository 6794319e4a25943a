"""Settings for the celerylint example project.

SQLite by default; set SHOP_DB=postgres to use PostgreSQL through the usual
libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
"""
import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "insecure-example-key-do-not-use-in-production")
DEBUG = os.environ.get("SHOP_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "tenants",
    "orders",
    "billing",
    "reports",
    # Tenant propagation for the Celery app below, `manage.py validate_schedules` and
    # the celerylint.E001/W001 system checks.
    "celerylint_runtime.django",
]

CELERYLINT_APP = "shop.celery:app"

if os.environ.get("SHOP_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "localhost"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "NAME": os.environ.get("PGDATABASE", "shop"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SHOP_SQLITE_PATH", BASE_DIR / "db.sqlite3"),
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True

# --- Celery ----------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "memory://")
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True

# Read by spawn_tenant_tasks_with_rate_limiting(): how many per-tenant tasks a
# wrapper enqueues per batch, and the delay in seconds between batches.
CELERY_TENANT_BATCH_SIZE = int(os.environ.get("CELERY_TENANT_BATCH_SIZE", "10"))
CELERY_TENANT_BATCH_DELAY = int(os.environ.get("CELERY_TENANT_BATCH_DELAY", "60"))

# Beat only ever schedules wrapper tasks (which fan out per tenant) and global
# tasks. shop/celery.py adds one more entry with add_periodic_task().
CELERY_BEAT_SCHEDULE = {
    "cancel-stale-orders-all-tenants": {
        "task": "orders.tasks.scheduled_cancel_stale_orders_all_tenants",
        "schedule": crontab(hour=2, minute=15),
        "options": {"expires": 24 * 3600},
    },
    "issue-invoices-all-tenants": {
        "task": "billing.tasks.scheduled_issue_invoice_all_tenants",  # deliberate: BEAT001 (orphaned: the task was renamed)
        "schedule": crontab(hour=1, minute=0),
        "options": {"expires": 24 * 3600},
    },
    "refresh-exchange-rates": {
        "task": "reports.refresh_rates()",  # deliberate: BEAT002 (parentheses in the task name)
        "schedule": timedelta(hours=1),
        "options": {"expires": 3600},
    },
    "check-exchange-rates": {
        "task": "reports.check_exchange_rates",
        "schedule": timedelta(minutes=30),
        "kwargs": {"max_age_minutes": 90},
        "options": {"expires": 1800},
    },
    # Same key as Celery's built-in entry, so this replaces its 04:00 default.
    "celery.backend_cleanup": {
        "task": "celery.backend_cleanup",
        "schedule": crontab(hour=4, minute=30),
        "options": {"expires": 12 * 3600},
    },
}
