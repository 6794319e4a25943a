"""`[tool.celerylint]` -> a frozen `Settings`; any bad key or value is a `ConfigError`."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """A configuration problem; the message names the offending key (exit status 2)."""


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    src: tuple[str, ...] = (".",)
    app_names: tuple[str, ...] = ("app", "celery_app")
    task_decorators: tuple[str, ...] = ()
    external_tasks: tuple[str, ...] = ()
    tenant_models: tuple[str, ...] = ()
    tenant_model_bases: tuple[str, ...] = ("TenantModel", "TenantAwareModel")
    tenant_managers: tuple[str, ...] = ("TenantManager",)
    tenant_model: str = "Tenant"
    tenant_tasks: tuple[str, ...] = ()
    global_tasks: tuple[str, ...] = ()
    restore_functions: tuple[str, ...] = ("restore_tenant_context",)
    restore_import: str = "celerylint_runtime"
    context_managers: tuple[str, ...] = ("tenant_context",)
    tenant_task_bases: tuple[str, ...] = ("TenantAwareTask",)
    spawner_functions: tuple[str, ...] = ("spawn_tenant_tasks_with_rate_limiting",)
    hotspot_threshold: int = 3
    tenancy: str = "auto"  # "auto" detects the mechanisms; "row", "schema", "database" or "off" decide
    # A baseline file (celerylint.baseline) whose findings are not reported; relative to the
    # directory of the configuration file (see `baseline_path`).
    baseline: str | None = None
    # Where the settings came from (not a key): shown by --verbose.
    source: str | None = field(default=None, compare=False)

    def fingerprint(self) -> str:
        """A stable digest of every value that can change what the analyzer extracts."""
        values = dataclasses.asdict(self)
        values.pop("source")
        values.pop("baseline")  # which findings are reported, not what is extracted
        return hashlib.blake2b(repr(sorted(values.items())).encode(), digest_size=8).hexdigest()


_LIST_KEYS = {
    "select", "ignore", "extend-select", "exclude", "src", "app-names", "task-decorators",
    "external-tasks", "tenant-models", "tenant-model-bases", "tenant-managers", "tenant-tasks",
    "global-tasks", "restore-functions", "context-managers", "tenant-task-bases",
    "spawner-functions",
}
# ruff's convention: every list key has an `extend-` twin that adds to the defaults (or
# to the plain key's value) while the plain key replaces them. `extend-select` is a
# setting of its own (rule selection keeps it apart from `select`).
_EXTEND_KEYS = {f"extend-{key}": key for key in _LIST_KEYS if not key.startswith("extend-") and key != "select"}
_STR_KEYS = {"tenant-model", "restore-import", "baseline"}
_CODE_LIST_KEYS = {"select", "ignore", "extend-select", "extend-ignore"}
TENANCY_MODES = ("auto", "row", "schema", "database", "off")
KNOWN_KEYS = frozenset(_LIST_KEYS | set(_EXTEND_KEYS) | _STR_KEYS
                       | {"per-file-ignores", "hotspot-threshold", "tenancy"})


def check_codes(settings: Settings, is_code_selector: Callable[[str], bool]) -> None:
    """Every rule code or prefix in `select`, `ignore`, `extend-select` and
    `per-file-ignores` names a rule (`is_code_selector`, from the rule registry, which
    this module does not import); else a ConfigError naming the key."""
    keyed = [("select", settings.select), ("ignore", settings.ignore), ("extend-select", settings.extend_select)]
    keyed += [(f"per-file-ignores.{pattern}", codes) for pattern, codes in settings.per_file_ignores]
    for key, codes in keyed:
        for code in codes:
            if not is_code_selector(code):
                raise ConfigError(f"tool.celerylint.{key}: unknown rule code or prefix {code!r}")


_CODE = re.compile(r"ALL|[A-Z]+[0-9]*")


def _check_code_syntax(key: str, codes: tuple[str, ...]) -> None:
    for code in codes:
        if not _CODE.fullmatch(code):
            raise ConfigError(f"{key}: not a rule code or prefix: {code!r}")


def settings_from_mapping(table: Mapping[str, Any], source: str | None = None) -> Settings:
    """Validate a `[tool.celerylint]` table; kebab-case keys only, as in RULES.md §4."""
    values: dict[str, Any] = {}
    extensions: dict[str, tuple] = {}  # extend-<key> values, added once every key is read
    for key, value in table.items():
        where = f"tool.celerylint.{key}"
        if key not in KNOWN_KEYS:
            hint = ""
            if key.replace("_", "-") in KNOWN_KEYS:
                hint = f" (did you mean {key.replace('_', '-')!r}?)"
            raise ConfigError(f"{where}: unknown configuration key{hint}")
        attr = key.replace("-", "_")
        if key in _LIST_KEYS or key in _EXTEND_KEYS:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: expected a list of strings, got {value!r}")
            items = tuple(value)
            if key in _CODE_LIST_KEYS:
                items = tuple(v.strip().upper() for v in items)
                _check_code_syntax(where, items)
            if key in _EXTEND_KEYS:
                extensions[_EXTEND_KEYS[key].replace("-", "_")] = items
            else:
                values[attr] = items
        elif key == "tenancy":
            if value not in TENANCY_MODES:
                raise ConfigError(f"{where}: expected one of {', '.join(map(repr, TENANCY_MODES))}, got {value!r}")
            values[attr] = value
        elif key in _STR_KEYS:
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
            values[attr] = value.strip()
        elif key == "hotspot-threshold":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}: expected a positive integer, got {value!r}")
            values[attr] = value
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: expected a table of pattern = [codes], got {value!r}")
            pairs = []
            for pattern, codes in value.items():
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
                    raise ConfigError(f"{where}.{pattern}: expected a list of rule codes, got {codes!r}")
                codes_t = tuple(c.strip().upper() for c in codes)
                _check_code_syntax(f"{where}.{pattern}", codes_t)
                pairs.append((pattern, codes_t))
            values[attr] = tuple(pairs)
    defaults = Settings()
    for attr, items in extensions.items():
        values[attr] = tuple(values.get(attr, getattr(defaults, attr))) + items
    return Settings(source=source, **values)


def baseline_path(settings: Settings, project_root: str) -> str | None:
    """The `baseline` key as an absolute path: relative to the directory of the
    configuration file it was read from (the project root for its pyproject.toml)."""
    if settings.baseline is None:
        return None
    base = os.path.dirname(os.path.abspath(settings.source)) if settings.source else project_root
    return os.path.normpath(os.path.join(base, settings.baseline))


def load_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"cannot read configuration file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_settings(project_root: str, config_file: str | None = None) -> Settings:
    """`--config FILE` (a pyproject.toml or a file with a `[tool.celerylint]` table or
    top-level keys), else `<root>/pyproject.toml`, else the defaults."""
    if config_file is not None:
        data = load_toml(config_file)
        table = data.get("tool", {}).get("celerylint") if isinstance(data.get("tool"), dict) else None
        if table is None:
            table = {k: v for k, v in data.items() if k != "tool"}
        if not isinstance(table, dict):
            raise ConfigError(f"{config_file}: [tool.celerylint] must be a table")
        return settings_from_mapping(table, source=config_file)
    path = os.path.join(project_root, "pyproject.toml")
    if not os.path.isfile(path):
        return Settings()
    data = load_toml(path)
    tool = data.get("tool", {})
    table = tool.get("celerylint") if isinstance(tool, dict) else None
    if table is None:
        return Settings()
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.celerylint] must be a table")
    return settings_from_mapping(table, source=path)
