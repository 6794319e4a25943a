from django.apps import AppConfig


class CelerylintConfig(AppConfig):
    """Re-applies the current tenant to every new database connection and, when
    `CELERYLINT_APP = "proj.celery:app"` is set, installs tenant propagation into that
    Celery app (`celerylint_runtime.install`).

    Settings: CELERYLINT_APP, CELERYLINT_TENANT_SESSION_VARIABLE (default
    "app.current_tenant"), CELERY_TENANT_BATCH_SIZE (10), CELERY_TENANT_BATCH_DELAY (60).
    """

    name = "celerylint_runtime.django"
    label = "celerylint"
    verbose_name = "celerylint"

    def ready(self) -> None:
        from django.conf import settings

        from celerylint_runtime.context import connect_django_signals
        from celerylint_runtime.task import install

        from celerylint_runtime.django import checks  # noqa: F401  (registers the system checks)

        connect_django_signals()
        app_path = getattr(settings, "CELERYLINT_APP", None)
        if app_path:
            install(load_app(app_path))


def load_app(path: str):
    """Import "package.module:attribute" (or "package.module.attribute")."""
    from importlib import import_module

    module_name, _, attribute = path.partition(":") if ":" in path else path.rpartition(".")
    return getattr(import_module(module_name), attribute)
