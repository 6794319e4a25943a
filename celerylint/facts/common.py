"""What the two extractors share (extract.py, libcst; ast_extract.py, ast): the options
of the per-file pass, and the small rules about names that decide which facts are kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celerylint.facts.model import CallExpr


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


def _interesting_name(name: str) -> bool:
    return name in _SCHEDULE_NAMES or name.endswith("BEAT_SCHEDULE")
