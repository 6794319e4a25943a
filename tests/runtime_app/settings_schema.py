"""The runtime tests with django-tenants and the "schema" applier: schemas t_acme and
t_globex (and public) each have a table `items` (tests/runtime_support.py)."""

from tests.runtime_app.settings import *  # noqa: F401,F403
from tests.runtime_app.settings import DATABASES

DATABASES["default"]["ENGINE"] = "django_tenants.postgresql_backend"
DATABASES["default"]["NAME"] = "celerylint_schemas"
INSTALLED_APPS = ["django_tenants", "django.contrib.contenttypes", "tests.runtime_app.schema_tenants",
                  "tests.runtime_app", "celerylint_runtime.django"]
SHARED_APPS = ["django_tenants", "django.contrib.contenttypes", "tests.runtime_app.schema_tenants"]
TENANT_APPS = ["tests.runtime_app"]
TENANT_MODEL = "schema_tenants.Client"
TENANT_DOMAIN_MODEL = "schema_tenants.Domain"
DATABASE_ROUTERS = ["django_tenants.routers.TenantSyncRouter"]
CELERYLINT_TENANT_APPLIER = "schema"
