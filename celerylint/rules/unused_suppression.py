"""SUP001: suppressions that suppress nothing. Unlike the other rules it does not look at
the project but at what the run's suppressions did, which only the engine knows after the
other rules ran: the engine records every `# noqa` directive in the checked files with the
codes that suppressed a finding, and the baseline entries that matched fewer findings than
they count, and gives them to `check_suppressions` (`uses_suppressions = True`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, NamedTuple

from celerylint.diagnostics import Diagnostic
from celerylint.rules.base import Rule


class NoqaDirective(NamedTuple):
    rel: str  # the file, relative to the project root
    line: int
    column: int  # of the `#`, 1-based
    end_column: int  # exclusive
    codes: tuple  # the codes as written (upper-case); () for a bare `# noqa`
    used: frozenset  # the codes that suppressed a finding in this run


class StaleEntry(NamedTuple):
    rel: str  # the baseline file, relative to the project root
    line: int  # the entry's line in it
    code: str
    path: str
    entity: str | None
    count: int  # how many of the findings it counts no longer exist


@dataclass(frozen=True)
class Suppressions:
    directives: tuple  # NoqaDirective, in the files checked
    stale: tuple  # StaleEntry
    enabled: frozenset  # the codes checked in this run
    known: frozenset  # every rule code


class UnusedSuppression(Rule):
    """## What it does
    Reports `# noqa` codes that suppress no finding on their line, and baseline entries
    (`--baseline`, the `baseline` key) that no longer match a finding: the finding was
    fixed, or the task, beat entry or function it was about was renamed or removed. A
    `noqa` code is reported when its rule found nothing on that line ("unused"), when its
    rule is not enabled in this run ("non-enabled") or when celerylint has no such rule
    ("unknown"). Only celerylint's own code families are looked at (`TSK`, `BEAT`, `TEN`,
    `SYN`, `SUP`): `# noqa: E501` belongs to another tool, and so does a bare `# noqa`.

    ## Why is this bad?
    A suppression that suppresses nothing hides the next real finding on that line (or, for
    a baseline entry, the next finding about that task), and it tells readers that
    something is wrong where nothing is. Removing them keeps the suppressions honest as
    the code base is cleaned up after adopting celerylint.

    ## Example
    ```python
    # app/tasks.py
    from celery import shared_task


    @shared_task
    def ping():  # noqa: TEN003  # SUP001
        return "pong"
    ```

    ## Use instead
    ```python
    # app/tasks.py
    from celery import shared_task


    @shared_task
    def ping():
        return "pong"
    ```

    ## Options
    Opt-in: enable it with its full code, `--extend-select SUP001` or
    `extend-select = ["SUP001"]`. It reads every checked file for its `noqa` comments.
    A stale baseline entry is reported in the baseline file, at the entry's line, when its
    file is among the checked files and its rule ran; rewrite the baseline with
    `--write-baseline FILE`. Write `# noqa: SUP001` on a line to keep its directive as it is.
    """

    code = "SUP001"
    summary = "a noqa code or a baseline entry suppresses nothing"
    severity = "warning"
    opt_in = True
    uses_suppressions = True

    valid = (
        # A used noqa code, and codes of other tools.
        """
        # app/tasks.py
        from celery import Celery, shared_task

        app = Celery("proj")


        @shared_task
        def ping():
            return "pong"


        @app.task  # noqa: TSK003, E501
        def pong():
            return "ping"
        """,
    )
    invalid = (
        """
        # app/tasks.py
        import os  # noqa: F401, BEAT004, TEN999  # SUP001
        """,
    )

    def check(self, project) -> Iterator[Diagnostic]:
        return iter(())  # its findings come from check_suppressions, after the other rules

    def check_suppressions(self, suppressions: Suppressions) -> Iterator[Diagnostic]:
        families = {code.rstrip("0123456789") for code in suppressions.known}
        for directive in suppressions.directives:
            unused, disabled, unknown = [], [], []
            for code in dict.fromkeys(directive.codes):
                if code.rstrip("0123456789") not in families or code == self.code or code in directive.used:
                    continue
                if code not in suppressions.known:
                    unknown.append(code)
                elif code not in suppressions.enabled:
                    disabled.append(code)
                else:
                    unused.append(code)
            parts = [f"{label}: {', '.join(codes)}" for label, codes in
                     (("unused", unused), ("non-enabled", disabled), ("unknown", unknown)) if codes]
            if parts:
                span = (directive.line, directive.column, directive.line, directive.end_column)
                yield self.report(directive.rel, span, f"unused noqa directive ({'; '.join(parts)})",
                                  entity="noqa:" + ",".join(unused + disabled + unknown))
        for entry in suppressions.stale:
            about = entry.entity or "the file"
            times = f" ({entry.count} findings)" if entry.count > 1 else ""
            yield self.report(entry.rel, (entry.line, 1, entry.line, 1),
                              f"stale baseline entry: no {entry.code} finding about {about} in {entry.path} any "
                              f"more{times}; rewrite the baseline with --write-baseline",
                              entity=f"baseline:{entry.path}:{entry.code}:{entry.entity}")
