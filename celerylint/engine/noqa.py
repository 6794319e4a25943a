"""Suppression: `# noqa` / `# noqa: CODE` comments on the reported line, and
`per-file-ignores`; and the directives themselves with their positions (for SUP001)."""

from __future__ import annotations

import re

from celerylint.config import Settings
from celerylint.diagnostics import Diagnostic
from celerylint.engine.discover import matches_any
from celerylint.facts.model import FileFacts, SourceFile
from celerylint.facts.prefilter import noqa_lines

PER_FILE, NOQA = "per-file-ignores", "noqa"


def suppression(diag: Diagnostic, source: SourceFile, facts: FileFacts | None, settings: Settings) -> str | None:
    """What suppresses `diag`: PER_FILE, NOQA, or None."""
    for pattern, codes in settings.per_file_ignores:
        if matches_any(source.rel, (pattern,)) and any(diag.code.startswith(c) or c == "ALL" for c in codes):
            return PER_FILE
    if facts is None:
        return None
    marks = facts.noqa.get(diag.line, False)
    if marks is False:
        return None
    return NOQA if marks is None or diag.code in marks else None


def suppressed(diag: Diagnostic, source: SourceFile, facts: FileFacts | None, settings: Settings) -> bool:
    return suppression(diag, source, facts, settings) is not None


# Where a directive is on its line; which codes it names is `noqa_lines`' reading (the one
# the suppression above uses).
_DIRECTIVE = re.compile(r"#\s*noqa(?::\s*[A-Za-z]+[0-9]+(?:[,\s]+[A-Za-z]+[0-9]+)*)?", re.IGNORECASE)


def directives(data: bytes) -> list[tuple[int, int, int, tuple[str, ...]]]:
    """[(line, column, end column, codes)] of the file's `# noqa` comments: 1-based
    character columns, the end exclusive; codes () for a bare `# noqa`."""
    marks = noqa_lines(data)
    if not marks:
        return []
    lines = re.split(r"\r\n|\r|\n", data.decode("utf-8", "replace"))
    found = []
    for number, codes in sorted(marks.items()):
        match = _DIRECTIVE.search(lines[number - 1])
        column, end = (match.start() + 1, match.end() + 1) if match else (1, len(lines[number - 1]) + 1)
        found.append((number, column, end, tuple(sorted(codes, key=_position_in(lines[number - 1])))
                      if codes else ()))
    return found


def _position_in(line: str):
    upper = line.upper()
    return lambda code: (upper.find(code), code)
