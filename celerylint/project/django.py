"""The Django project around the tasks: which module is the settings module, and the
settings the tenant analysis reads (INSTALLED_APPS, SHARED_APPS / TENANT_APPS of
django-tenants, the beat scheduler, django-omnitenant's configuration), and which
installed app a module belongs to.

Settings are read from every settings-like module that assigns them at module level
(`settings.py`, `settings/base.py`, `proj/settings_prod.py`, ...), folded with the
index's constant folding, and united: a project that lists an app in any of its
settings modules has it. A value that cannot be folded is unknown.
"""

from __future__ import annotations

from typing import Any

from celerylint.facts.model import UNKNOWN
from celerylint.project.index import ProjectIndex

# What to search the files the prefilter skipped for, so the settings modules are parsed.
SETTINGS_NEEDLES = (b"INSTALLED_APPS", b"TENANT_APPS", b"SHARED_APPS", b"TENANT_MODEL", b"OMNITENANT_CONFIG",
                    b"BEAT_SCHEDULER", b"beat_scheduler")


class DjangoProject:
    def __init__(self, index: ProjectIndex):
        self.index = index
        self._loaded = False
        self._values: dict[str, list[tuple[str, Any]]] = {}
        self._folded: dict[str, list[tuple[str, Any]]] = {}

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        self.index.parse_files_mentioning(SETTINGS_NEEDLES)
        for _, facts in list(self.index.parsed()):
            if not _settings_like(facts.module):
                continue
            for name, value in facts.assigns.items():
                if name.isupper() and value is not UNKNOWN:
                    self._values.setdefault(name, []).append((facts.module, value))

    def setting(self, name: str) -> list[tuple[str, Any]]:
        """(module, folded value) of every settings module that assigns `name` (folded
        once: the settings modules are all loaded by then)."""
        self._load()
        if name not in self._folded:
            self._folded[name] = [(module, self.index.evaluate(module, value))
                                  for module, value in self._values.get(name, [])]
        return self._folded[name]

    def setting_modules(self, name: str) -> list[str]:
        self._load()
        return [module for module, _ in self._values.get(name, [])]

    def app_list(self, name: str) -> frozenset[str] | None:
        """The app names a list setting holds across the settings modules (entries
        like "shop.apps.ShopConfig" count as "shop"); None when no module sets it, or
        some value cannot be read."""
        values = self.setting(name)
        if not values:
            return None
        apps: set[str] = set()
        for _, value in values:
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                return None
            apps.update(_app_name(v) for v in value)
        return frozenset(apps)

    def installed(self, app: str) -> bool:
        """Whether any app list of the settings (INSTALLED_APPS, SHARED_APPS,
        TENANT_APPS) names `app`."""
        return any(app in (self.app_list(name) or ()) for name in ("INSTALLED_APPS", "SHARED_APPS", "TENANT_APPS"))

    def string_setting(self, *names: str) -> list[tuple[str, str]]:
        """(module, value) of string settings among `names`."""
        return [(module, value) for name in names for module, value in self.setting(name) if isinstance(value, str)]


def app_of(module: str, apps: frozenset[str]) -> str | None:
    """The installed app (the longest dotted prefix among `apps`) a module belongs to."""
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in apps:
            return candidate
    return None


def _app_name(entry: str) -> str:
    """"shop.apps.ShopConfig" -> "shop" (an AppConfig path names its package)."""
    parts = entry.split(".")
    if len(parts) >= 3 and parts[-2] == "apps" and parts[-1][:1].isupper():
        return ".".join(parts[:-2])
    return entry


def _settings_like(module: str) -> bool:
    return any(part == "settings" or part.startswith("settings_") or part.endswith("_settings")
               for part in module.split("."))
