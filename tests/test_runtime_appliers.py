"""The other context appliers on real PostgreSQL: django-tenants schemas ("schema": the
tenant id is the schema name; t_acme, t_globex and public each have a table `items`) in
a worker and in eager mode, and one database per tenant ("database", with
celerylint_runtime.TenantDatabaseRouter)."""

import pytest

from celerylint_runtime import TenantNotFound, tenant_context
from runtime_support import databases, scenario, services, worker  # noqa: F401

pytest.importorskip("django_tenants")

SCHEMA = {"DJANGO_SETTINGS_MODULE": "tests.runtime_app.settings_schema",
          "CELERYLINT_TENANT_LOOKUP": "tests.runtime_app.schema_tenants.models.client_exists"}
ACME, GLOBEX, PUBLIC = ["acme-1", "acme-2"], ["globex-1"], ["public-1"]


def test_django_tenants_schema_in_a_worker(databases):  # noqa: F811
    with worker(databases, **SCHEMA) as tasks:
        acme = tasks.schema_items.delay(tenant_id="t_acme").get(timeout=20)
        globex = tasks.schema_items.apply_async(tenant_id="t_globex").get(timeout=20)
        header = tasks.schema_items.apply_async(headers={"tenant_id": "t_acme"}).get(timeout=20)
        with tenant_context("t_globex"):
            context = tasks.schema_items.delay().get(timeout=20)
        none = tasks.schema_items.delay().get(timeout=20)
        with pytest.raises(TenantNotFound, match="t_missing"):
            tasks.schema_items.delay(tenant_id="t_missing").get(timeout=20)
        after = tasks.schema_items.delay().get(timeout=20)
    assert (acme["schema"], acme["items"]) == ("t_acme", ACME)
    assert (globex["schema"], globex["items"]) == ("t_globex", GLOBEX)
    assert (header["schema"], header["items"]) == ("t_acme", ACME)
    assert (context["schema"], context["items"]) == ("t_globex", GLOBEX)
    # no tenant: the public schema, never the previous task's
    assert (none["schema"], none["items"]) == ("public", PUBLIC)
    assert (after["schema"], after["items"]) == ("public", PUBLIC)


def test_django_tenants_schema_in_eager_mode_and_on_a_shared_connection(databases):  # noqa: F811
    seen = scenario(databases, "schema", "t_acme", "t_globex", settings="tests.runtime_app.settings_schema")
    assert seen["public"]["items"] == PUBLIC
    assert seen["caller"]["items"] == ACME
    assert seen["eager_globex"]["items"] == GLOBEX and seen["eager_option"]["items"] == GLOBEX
    assert seen["eager_inherited"]["items"] == ACME
    assert (seen["caller_after"]["schema"], seen["caller_after"]["items"]) == ("t_acme", ACME)
    assert (seen["outside"]["schema"], seen["outside"]["items"]) == ("public", PUBLIC)
    assert [s["items"] for s in seen["shared_acme"]] == [ACME] * 5
    assert [s["items"] for s in seen["shared_globex"]] == [GLOBEX] * 5


def test_database_per_tenant_with_the_router(databases):  # noqa: F811
    seen = scenario(databases, "alias", settings="tests.runtime_app.settings_alias")
    assert seen == {
        "none": ["default-item"], "t1": ["t1-item"], "eager_t2": ["t2-item"], "t1_after": ["t1-item"],
        "threads_carried": [["t1-item"], ["t1-item"]],
        "t3": "TenantError: tenant 't3' has no database: DATABASES has no alias 't3'",
    }
