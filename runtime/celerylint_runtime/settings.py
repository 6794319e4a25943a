"""The runtime's settings: Django's settings when Django is installed and configured,
else the environment (so a Celery app without Django is configured the same way).

- CELERYLINT_TENANT_APPLIER ("rls"): how the tenant reaches the database: "rls",
  "schema", "database" or a dotted path (celerylint_runtime.appliers);
- CELERYLINT_TENANT_SESSION_VARIABLE ("app.current_tenant"): the variable RLS policies read;
- CELERYLINT_RLS_TRANSACTION_POOLING (off): the database is behind a transaction pooler
  (pgbouncer pool_mode = transaction);
- CELERYLINT_TENANT_LOOKUP: a dotted callable, tenant id -> the tenant (falsy, or a
  DoesNotExist / LookupError: there is no such tenant and the task fails);
- CELERYLINT_TENANT_SIGNING_KEY: HMAC key for the tenant header (in Django settings also
  a list of keys: the first signs, any verifies);
- CELERYLINT_BROKER_HORIZON: seconds a broker holds a delivered message (default: by broker);
- CELERY_TENANT_BATCH_SIZE (10) and CELERY_TENANT_BATCH_DELAY (60): the spawner's batches.
"""

from __future__ import annotations

import math
import os
from importlib import import_module
from typing import Any


def setting(name: str, default: Any = None) -> Any:
    """`name` from Django's settings when configured, else from the environment;
    `default` when it is unset or empty."""
    value = None
    settings = django_settings()
    if settings is not None:
        value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return default if value is None or value == "" else value


def django_settings():
    """Django's settings when Django is installed and configured, else None."""
    try:
        from django.conf import settings
    except ImportError:
        return None
    return settings if settings.configured else None


def flag_setting(name: str) -> bool:
    value = setting(name, False)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def number_setting(name: str, default: float, cast=float) -> Any:
    """A finite, non-negative number (`cast` int or float)."""
    value = setting(name)
    if value is None:
        return default
    try:
        return checked_number(name, cast(value))
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None


def checked_number(name: str, value: Any) -> Any:
    """`value` when it is a finite number >= 0 (nan, inf and negatives are refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def import_object(path: str) -> Any:
    """Import "package.module:attribute" (or "package.module.attribute")."""
    module_name, _, attribute = path.partition(":") if ":" in path else path.rpartition(".")
    if not module_name or not attribute:
        raise ImportError(f"{path!r} is not a dotted path to an object")
    try:
        return getattr(import_module(module_name), attribute)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attribute!r}") from None
