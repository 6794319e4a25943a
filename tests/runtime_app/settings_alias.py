"""The runtime tests with the "database" applier: one database per tenant (aliases
"t1" and "t2", each with a table `items`), chosen by celerylint_runtime's router."""

from tests.runtime_app.settings import *  # noqa: F401,F403
from tests.runtime_app.settings import DATABASES

DATABASES["default"]["NAME"] = "celerylint_alias_default"
for _alias in ("t1", "t2"):
    DATABASES[_alias] = {**DATABASES["default"], "NAME": f"celerylint_alias_{_alias}"}
DATABASE_ROUTERS = ["celerylint_runtime.TenantDatabaseRouter"]
CELERYLINT_TENANT_APPLIER = "database"
