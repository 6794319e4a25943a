"""GitHub Actions workflow commands, one per diagnostic, which the runner turns into
annotations on the pull request:

    ::error file={path},line={line},col={column},endLine={end},endColumn={end},title={code}::{message}

(`::warning` for warnings). No summary line. Escaping follows the Actions toolkit:
in the message `%`, CR and LF are percent-encoded; property values also encode `:` and `,`.
"""

from __future__ import annotations

from celerylint.diagnostics import Report
from celerylint.output import end_of, ordered


def render(report: Report) -> str:
    lines = []
    for d in ordered(report.diagnostics):
        end_line, end_column = end_of(d)
        command = "warning" if d.severity == "warning" else "error"
        properties = {
            "file": d.path,
            "line": d.line,
            "col": d.column,
            "endLine": end_line,
            "endColumn": end_column,
            "title": d.code,
        }
        props = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
        lines.append(f"::{command} {props}::{escape_data(d.message)}")
    return "".join(line + "\n" for line in lines)


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
