"""Concise human output, like ruff's: `path:line:col: CODE message`, then a summary line.

With `report.fixes` (`--show-fixes`) the fixes applied are listed before the summary line,
per file and code, as ruff does; `report.quiet` (`-q`) leaves out everything but the
findings. Colour (ANSI escape codes) only when `report.color` is true; the CLI decides that from
isatty, NO_COLOR and FORCE_COLOR. Control characters in paths and messages are printed
escaped, so every diagnostic stays on one line and no escape code slips through.
"""

from __future__ import annotations

import re

from celerylint.diagnostics import Diagnostic, Report
from celerylint.output import ordered

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
CYAN = "\x1b[36m"
RED_BOLD = "\x1b[1;31m"
YELLOW_BOLD = "\x1b[1;33m"

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def render(report: Report) -> str:
    diagnostics = ordered(report.diagnostics)
    lines = [_line(d, report.color) for d in diagnostics]
    if not report.quiet:
        if report.fixes:
            lines += ([""] if lines else []) + fixes_block(report) + [""]
        lines.append(summary(report))
    return "".join(line + "\n" for line in lines)


def fixes_block(report: Report) -> list[str]:
    """`--show-fixes`: "Fixed N findings:", then per file "- path:" and "    n × CODE (summary)"."""
    summaries = {rule.code: rule.summary for rule in report.rules}
    total = sum(count for _, _, count in report.fixes)
    lines = [f"Fixed {_count(total, 'finding')}:"]
    by_path: dict[str, list[tuple[str, int]]] = {}
    for path, code, count in report.fixes:
        by_path.setdefault(path, []).append((code, count))
    for path in sorted(by_path):
        lines.append(f"- {_printable(path)}:")
        for code, count in sorted(by_path[path]):
            about = f" ({summaries[code]})" if code in summaries else ""
            lines.append(f"    {count} × {code}{about}")
    return lines


def summary(report: Report) -> str:
    checked = f"(checked {_count(report.files, 'file')})"
    fixed = f" ({report.fixed} fixed)" if report.fixed > 0 else ""
    if not report.diagnostics:
        return f"All checks passed{fixed} {checked}."
    files = len({d.path for d in report.diagnostics})
    found = _count(len(report.diagnostics), "finding")
    return f"Found {found} in {_count(files, 'file')}{fixed} {checked}."


def _line(d: Diagnostic, color: bool) -> str:
    path, message = _printable(d.path), _printable(d.message)
    if not color:
        return f"{path}:{d.line}:{d.column}: {d.code} {message}"
    sep = f"{CYAN}:{RESET}"
    code_style = RED_BOLD if d.severity == "error" else YELLOW_BOLD
    return (f"{BOLD}{path}{RESET}{sep}{d.line}{sep}{d.column}{sep} "
            f"{code_style}{d.code}{RESET} {message}")


def _printable(text: str) -> str:
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r"}.get(char, f"\\x{ord(char):02x}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
