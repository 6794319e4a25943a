"""Running a check: discover the files (discover.py), get their facts (load.py: the
prefilter, the cache in cache.py, the parse pool in pool.py), build the project layer,
run the selected rules and drop suppressed findings (noqa.py). `check` is the entry."""

from celerylint.engine.run import CheckResult, UsageError, check

__all__ = ["CheckResult", "UsageError", "check"]
