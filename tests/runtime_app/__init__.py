"""A Celery app (and optional Django settings) that the runtime tests run in a real
worker process: `celery -A tests.runtime_app.celeryapp worker`."""
