"""What the two extractors share (extract.py, libcst; ast_extract.py, ast): the options
of the per-file pass, and the small rules about names that decide which facts are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celerylint.facts.model import CallExpr, Ref


@dataclass(frozen=True)
class ExtractOptions:
    """What the per-file pass needs from the configuration: the last names of the
    restore functions, spawners and context managers, whose uses it records."""

    restores: frozenset = frozenset({"restore_tenant_context"})
    spawners: frozenset = frozenset({"spawn_tenant_tasks_with_rate_limiting"})
    context_managers: frozenset = frozenset({"tenant_context"})

    @classmethod
    def from_settings(cls, settings: Any) -> "ExtractOptions":
        def last(names: tuple) -> frozenset:
            return frozenset(n.rsplit(".", 1)[-1] for n in names)

        return cls(last(settings.restore_functions), last(settings.spawner_functions),
                   last(settings.context_managers))


def _import_target(module: str, is_package: bool, relative: int, name: tuple[str, ...]) -> tuple[str, ...]:
    if not relative:
        return name
    base = module.split(".") if module else []
    if not is_package:
        base = base[:-1]
    if relative > 1:
        base = base[: len(base) - (relative - 1)] if relative - 1 <= len(base) else []
    return tuple(base) + name


# Celery's task signals, whose handlers may restore a tenant for every task.
TASK_SIGNALS = frozenset({"task_prerun", "task_postrun", "before_task_publish", "after_task_publish",
                          "task_received", "task_success", "task_failure", "task_retry"})
_TENANT_WORDS = ("tenant", "schema")
_TENANT_PARTS = frozenset({"org", "organization", "organisation", "workspace", "space", "account", "customer",
                           "client", "company", "team"})
SQL_METHODS = frozenset({"execute", "executemany"})
KEY_METHODS = frozenset({"get", "pop", "setdefault"})


def signal_sender(kwargs: tuple) -> tuple:
    """The dotted `sender=` of a `@signal.connect(sender=...)` decorator, or ()."""
    for keyword in kwargs:
        if keyword.name == "sender" and type(keyword.value) is Ref:
            return keyword.value.dotted
    return ()


def restore_candidate(name: str, options: ExtractOptions) -> bool:
    """Whether a call by this (last) name may set a tenant context, and so is recorded
    (RestoreCall, LoopFacts.setters): a configured restore function or context manager,
    or a name about tenants, schemas or organisations (`set_current_tenant`,
    `schema_context`, `tmp_to_org`, `activate_workspace`). Resolution decides which of
    them really set one."""
    return name in options.restores or name in options.context_managers or tenant_named(name)


def tenant_named(name: str) -> bool:
    """A name about tenants, schemas or organisations (`set_current_tenant`,
    `schema_context`, `tmp_to_org`, `activate_workspace`)."""
    lower = name.lower()
    return any(word in lower for word in _TENANT_WORDS) or any(part in _TENANT_PARTS for part in lower.split("_"))


_LOGGING_ROOTS = frozenset({"logger", "log", "logging", "LOGGER", "LOG", "print"})
_LOGGING_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})
_BEAT_SIGNALS = frozenset({"on_after_configure", "on_after_finalize"})
_INTERESTING_CALLS = frozenset({"update", "config_from_object", "setdefault", "connect", "register_task"})
_SCHEDULE_NAMES = frozenset({"CELERY_BEAT_SCHEDULE", "CELERYBEAT_SCHEDULE", "beat_schedule", "BEAT_SCHEDULE"})


def _is_field_or_manager(value: tuple) -> bool:
    if type(value) is not CallExpr or not value.callee:
        return False
    callee = value.callee
    return callee[0] == "models" or callee[-1].endswith(("Field", "Key", "Manager", "Relation"))


RELATIONS = frozenset({"ForeignKey", "OneToOneField", "ManyToManyField", "TenantForeignKey", "TenantOneToOneField"})


def kept_attribute(value: Any) -> Any:
    """What a class attribute keeps: a model field or manager only its callee (their
    arguments make up most of a models module), a relation also its target (the first
    argument or `to=`)."""
    if not _is_field_or_manager(value):
        return value
    if value.callee[-1] in RELATIONS:
        target = value.args[:1] or tuple(k.value for k in value.kwargs if k.name == "to")[:1]
        return CallExpr(value.callee, target, ())
    return CallExpr(value.callee, (), ())


def _interesting_name(name: str) -> bool:
    return name in _SCHEDULE_NAMES or name.endswith("BEAT_SCHEDULE")


# django-celery-beat's models, whose rows written by code are beat entries and schedules.
BEAT_MODELS = frozenset({"PeriodicTask", "CrontabSchedule", "IntervalSchedule", "SolarSchedule", "ClockedSchedule"})
_ROW_METHODS = frozenset({"create", "get_or_create", "update_or_create"})
_MANAGERS = frozenset({"objects", "_default_manager"})
# Module-level calls kept as ops besides _INTERESTING_CALLS: registrations (`app.task(f)`).
_REGISTRATIONS = frozenset({"task", "shared_task"})


def row_write(chain: tuple | None) -> tuple[tuple, str] | None:
    """(model, method) when a call's dotted chain writes or queries django-celery-beat
    rows (a method of a call's result is written `(..., "()", method)`):

    - writes: `PeriodicTask.objects.create / get_or_create / update_or_create(...)`,
      `M.objects.using(db).create(...)`, or `CrontabSchedule(...)` itself (method "new");
    - queries: `M.objects.filter(...)` (method "filter"), and a method applied to a
      query's result, `M.objects.filter(...).delete()` (method "filter.delete", with the
      query's arguments: the extractors record the query call once, as this)."""
    if not chain:
        return None
    last = chain[-1]
    if last in BEAT_MODELS:
        return chain, "new"
    for cut in range(len(chain) - 1):
        if chain[cut] in BEAT_MODELS and chain[cut + 1] in _MANAGERS:
            model, rest = chain[:cut + 1], chain[cut + 2:]
            break
    else:
        return None
    if len(rest) >= 3 and rest[0] in ("using", "db_manager") and rest[1] == "()":
        rest = rest[2:]
    if len(rest) == 1:
        return (model, rest[0]) if rest[0] not in ("using", "db_manager") else None
    if len(rest) == 3 and rest[1] == "()" and rest[0] not in _ROW_METHODS:
        return model, f"{rest[0]}.{rest[2]}"
    return None


def query_inside(chain: tuple | None) -> bool:
    """Whether a `(..., "()", method)` chain applies a method to a row query, whose own
    call is then recorded with it (and not again on its own)."""
    found = row_write(chain)
    return found is not None and "." in found[1]


def schedule_target(dotted: tuple | None) -> bool:
    """A dotted name that is a schedule: `X.conf.beat_schedule`, `CELERY_BEAT_SCHEDULE`,
    `settings.CELERY_BEAT_SCHEDULE`, `self.beat_schedule`..."""
    return bool(dotted) and _interesting_name(dotted[-1])


def is_crontab_call(callee: tuple | None) -> bool:
    """`crontab(...)`, `schedules.crontab(...)`, `crontab.from_string(...)`."""
    return bool(callee) and (callee[-1] == "crontab" or (callee[-1] == "from_string" and len(callee) >= 2
                                                        and callee[-2] == "crontab"))
