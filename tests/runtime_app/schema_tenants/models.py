from django.db import models
from django_tenants.models import DomainMixin, TenantMixin


class Client(TenantMixin):
    name = models.TextField()
    auto_create_schema = False  # the schemas are created by SQL in tests/runtime_support.py

    class Meta:
        managed = False
        db_table = "schema_tenants_client"


class Domain(DomainMixin):
    class Meta:
        managed = False
        db_table = "schema_tenants_domain"


def client_exists(schema_name) -> bool:
    """CELERYLINT_TENANT_LOOKUP: a tenant is a Client row (read in the public schema)."""
    return Client.objects.filter(schema_name=str(schema_name)).exists()
