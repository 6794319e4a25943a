"""The project layer: what the per-file facts mean once the whole project is seen.

- `index.ProjectIndex`: the fact store (demand loading of skipped files), name
  resolution and constant folding;
- `tasks.TaskRegistry`: which definitions are tasks and under which names;
- `schedules.Schedules`: the beat schedules as beat would run them;
- `tenancy.Tenancy`: tenant-scoped models and tasks, wrappers, context, enqueues;
- `crontab`: Celery's schedule semantics (standard library only; the runtime's live
  checks use it too).

`Project` holds one of each, built lazily; rules receive it and ask it questions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # imported where used: `celerylint.project.crontab` alone loads nothing else
    from celerylint.project.index import ProjectIndex


class Memo(Protocol):
    """Answers kept across runs (the engine's cache), for questions whose answer is
    costly and keyed by everything it depends on."""

    def recall(self, key: tuple, default: Any) -> Any: ...

    def remember(self, key: tuple, value: Any) -> None: ...


class Project:
    def __init__(self, index: "ProjectIndex", tenancy_files: set[str] | None = None, memo: Memo | None = None):
        from celerylint.project.schedules import Schedules
        from celerylint.project.tasks import TaskRegistry

        self.index = index
        self.settings = index.settings
        self.notes = index.notes  # --verbose remarks
        self.tasks = TaskRegistry(index, memo)
        self.schedules = Schedules(index, self.tasks)
        self._tenancy_files = tenancy_files
        self._tenancy = None

    @property
    def tenancy(self):
        """Tenant-scope inference (celerylint.project.tenancy), built on first use."""
        if self._tenancy is None:
            from celerylint.project.tenancy import Tenancy

            self._tenancy = Tenancy(self.index, self.tasks, self._tenancy_files)
        return self._tenancy
