"""celerylint: static analysis of Celery tasks and beat schedules in Django projects."""

__version__ = "0.1.0"
