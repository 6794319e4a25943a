from django.db import models
from django.utils import timezone


class ExchangeRate(models.Model):
    """Global reference data shared by every tenant: no tenant column."""

    base = models.CharField(max_length=3)
    quote = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    as_of = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-as_of"]
        indexes = [models.Index(fields=["base", "quote", "-as_of"])]

    def __str__(self):
        return f"{self.base}/{self.quote} {self.rate} @ {self.as_of:%Y-%m-%d %H:%M}"
