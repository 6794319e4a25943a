"""A Celery app, Django settings, models and an ASGI app that the runtime tests run
for real: `celery -A tests.runtime_app.celeryapp worker`, `uvicorn
tests.runtime_app.asgi:application`, and `python -m tests.runtime_app.scenarios NAME`."""
