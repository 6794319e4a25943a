"""celerylint-runtime: tenant context for Celery tasks (the API is filled in by the
runtime issue; this distribution exists now so that the install command is final)."""

__version__ = "0.1.0"

__all__: list[str] = []
