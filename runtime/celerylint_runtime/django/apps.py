from django.apps import AppConfig


class CelerylintConfig(AppConfig):
    """Guards every database connection with the tenant context applier and, when
    `CELERYLINT_APP = "proj.celery:app"` is set, installs tenant propagation into that
    Celery app (`celerylint_runtime.install`, which also guards the connections: either
    is enough). Settings: CELERYLINT_APP and those in `celerylint_runtime.settings`.
    """

    name = "celerylint_runtime.django"
    label = "celerylint"
    verbose_name = "celerylint"

    def ready(self) -> None:
        from django.conf import settings

        from celerylint_runtime.appliers import connect_database_hooks
        from celerylint_runtime.settings import import_object
        from celerylint_runtime.task import install

        from celerylint_runtime.django import checks  # noqa: F401  (registers the system checks)

        connect_database_hooks()
        app_path = getattr(settings, "CELERYLINT_APP", None)
        if app_path:
            install(import_object(app_path))
