"""Suppression: `# noqa` / `# noqa: CODE` comments on the reported line, and
`per-file-ignores`."""

from __future__ import annotations

from celerylint.config import Settings
from celerylint.diagnostics import Diagnostic
from celerylint.engine.discover import matches_any
from celerylint.facts.model import FileFacts, SourceFile


def suppressed(diag: Diagnostic, source: SourceFile, facts: FileFacts | None, settings: Settings) -> bool:
    for pattern, codes in settings.per_file_ignores:
        if matches_any(source.rel, (pattern,)) and any(diag.code.startswith(c) or c == "ALL" for c in codes):
            return True
    if facts is None:
        return False
    marks = facts.noqa.get(diag.line, False)
    if marks is False:
        return False
    return marks is None or diag.code in marks
