"""Output renderers: one module per format, each with `render(report) -> str`.

Renderers get a finished `Report` whose diagnostic paths are already relative to the
current directory with "/" separators. They return the whole output as one string that
ends with a newline unless it is empty (the github format prints nothing when there are
no findings); the caller writes it out as is.
"""

from __future__ import annotations

import importlib
from typing import Iterable

from celerylint.diagnostics import Diagnostic, Report

FORMATS = ("text", "json", "github", "gitlab", "sarif")


def render(fmt: str, report: Report) -> str:
    """Render `report` in output format `fmt` (one of `FORMATS`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown output format {fmt!r} (choose from {', '.join(FORMATS)})")
    module = importlib.import_module(f"{__name__}.{fmt}")
    return module.render(report)


def ordered(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The order every format prints in: path, line, column, code (then message)."""
    return sorted(diagnostics, key=lambda d: (d.path, d.line, d.column, d.code, d.message))


def end_of(diagnostic: Diagnostic) -> tuple[int, int]:
    """(end_line, end_column), exclusive and 1-based; the start when the end is unknown."""
    d = diagnostic
    if d.end_line <= 0 or d.end_column <= 0 or (d.end_line, d.end_column) < (d.line, d.column):
        return d.line, d.column
    return d.end_line, d.end_column
