"""The tables of the runtime tests, created by SQL in tests/runtime_support.py (the
application role `app` owns none of them, and every tenant table has ENABLE and FORCE
ROW LEVEL SECURITY)."""

import uuid

from django.db import models


class Note(models.Model):
    """Rows of tenants with UUID or string ids (policy on `app.current_tenant`)."""

    tenant_id = models.TextField()
    body = models.TextField()

    class Meta:
        managed = False
        db_table = "notes"


class Account(models.Model):
    """Rows of tenants with integer ids (Django's default key)."""

    tenant_id = models.IntegerField()
    name = models.TextField()

    class Meta:
        managed = False
        db_table = "accounts"


class Tenant(models.Model):
    """The tenants themselves (no row-level security: a wrapper task lists them)."""

    id = models.UUIDField(primary_key=True)
    name = models.TextField()
    active = models.BooleanField(default=True)

    class Meta:
        managed = False
        db_table = "tenants"


def tenant_exists(tenant_id) -> bool:
    """CELERYLINT_TENANT_LOOKUP for the tests: Note tenants are the `tenants` rows (UUIDs),
    Account tenants are integers below 1000."""
    if isinstance(tenant_id, int):
        return tenant_id < 1000
    return isinstance(tenant_id, uuid.UUID) and Tenant.objects.filter(pk=tenant_id).exists()


class Item(models.Model):
    """A table in each django-tenants schema, or in each tenant's database."""

    name = models.TextField()

    class Meta:
        managed = False
        db_table = "items"
