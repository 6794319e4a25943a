"""Django settings for the runtime tests: PostgreSQL as the non-superuser role `app`, on
the loopback port of scripts/services (or of its pgbouncer, CELERYLINT_PG_PORT), the RLS
applier. Environment switches:

* CELERYLINT_TEST_POOL=1: Django's psycopg connection pool (one connection) instead of
  persistent connections;
* CELERYLINT_TEST_WITHOUT_APP=1: "celerylint_runtime.django" not in INSTALLED_APPS
  (install(app) alone must guard the connections).

Runtime settings such as CELERYLINT_TENANT_LOOKUP or CELERYLINT_TENANT_SIGNING_KEY are
read from the environment when they are not Django settings."""

import os

SECRET_KEY = "tests"
USE_TZ = True
INSTALLED_APPS = ["tests.runtime_app"]
if not os.environ.get("CELERYLINT_TEST_WITHOUT_APP"):
    INSTALLED_APPS.append("celerylint_runtime.django")
ROOT_URLCONF = "tests.runtime_app.urls"
ALLOWED_HOSTS = ["*"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ.get("CELERYLINT_PG_HOST", "127.0.0.1"),
        "PORT": os.environ.get("CELERYLINT_PG_PORT", "55432"),
        "NAME": os.environ.get("CELERYLINT_PG_DB", "celerylint_rls"),
        "USER": "app",
        "PASSWORD": "",
    }
}
if os.environ.get("CELERYLINT_TEST_POOL"):
    DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 1, "max_size": 1}}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = None
