"""Django settings for the runtime tests' worker: PostgreSQL as the non-superuser role
`app`, on the loopback port of scripts/services. CELERYLINT_TEST_POOL=1 uses Django's
psycopg connection pool instead of persistent connections."""

import os

SECRET_KEY = "tests"
USE_TZ = True
INSTALLED_APPS = ["celerylint_runtime.django"]
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
