import uuid

from django.db import models


class Tenant(models.Model):
    """A customer of the shop platform. Tasks receive its id as ``tenant_id``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    subdomain = models.SlugField(max_length=63, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["subdomain"]

    def __str__(self):
        return self.subdomain


class TenantOwnedModel(models.Model):
    """Abstract base for rows that belong to exactly one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
