"""Machine-readable output: exactly one JSON object.

    {"version": ..., "diagnostics": [{"code", "message", "path", "line", "column",
     "end_line", "end_column", "severity", "fixable"}, ...],
     "summary": {"files", "diagnostics", "fixed", "seconds"}}

Diagnostics are sorted like the text output; an unknown end is reported as the start.
"""

from __future__ import annotations

import json

from celerylint.diagnostics import Report
from celerylint.output import end_of, ordered


def render(report: Report) -> str:
    diagnostics = []
    for d in ordered(report.diagnostics):
        end_line, end_column = end_of(d)
        diagnostics.append({
            "code": d.code,
            "message": d.message,
            "path": d.path,
            "line": d.line,
            "column": d.column,
            "end_line": end_line,
            "end_column": end_column,
            "severity": d.severity,
            "fixable": d.fixable,
        })
    document = {
        "version": report.version,
        "diagnostics": diagnostics,
        "summary": {
            "files": report.files,
            "diagnostics": len(diagnostics),
            "fixed": report.fixed,
            "seconds": round(report.seconds, 3),
        },
    }
    return json.dumps(document, indent=2) + "\n"
