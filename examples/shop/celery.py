import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("shop")

# All Celery settings live in Django settings under the CELERY_ prefix,
# including the beat schedule (CELERY_BEAT_SCHEDULE).
app.config_from_object("django.conf:settings", namespace="CELERY")

# Load tasks.py from every installed Django app.
app.autodiscover_tasks()


# on_after_finalize rather than on_after_configure: the task module imports
# Django models, and `celery beat` loads the configuration before Django's app
# registry is ready (the import would fail and the entry would be missing).
@app.on_after_finalize.connect
def setup_periodic_tasks(sender, **kwargs):
    from reports.tasks import purge_stale_rates

    # Merged into CELERY_BEAT_SCHEDULE, not a replacement for it.
    sender.add_periodic_task(
        crontab(hour=3, minute=30, day_of_week="sunday"),
        purge_stale_rates.s(days=90),
        name="purge-stale-exchange-rates",
        expires=7 * 24 * 3600,
    )
