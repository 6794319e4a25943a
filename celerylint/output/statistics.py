"""`check --statistics`: how many findings each rule has, instead of the findings, as ruff
prints them. Text: one line per code, most frequent first,

    3	TEN003	[*] a tenant-scoped task does not restore tenant context first

(count right-aligned, tab, code, tab, `[*]` when some of those findings have a fix, else
`[ ]`, and the rule's summary); nothing when there are no findings. JSON (`--output-format
json`): a list of {"code", "summary", "count", "fixable"} in the same order."""

from __future__ import annotations

import json

from celerylint.diagnostics import Report


def rows(report: Report) -> list[dict]:
    summaries = {rule.code: rule.summary for rule in report.rules}
    counts: dict[str, int] = {}
    fixable: dict[str, bool] = {}
    for d in report.diagnostics:
        counts[d.code] = counts.get(d.code, 0) + 1
        fixable[d.code] = fixable.get(d.code, False) or d.fixable
    order = sorted(counts, key=lambda code: (-counts[code], code))
    return [{"code": code, "summary": summaries.get(code, ""), "count": counts[code], "fixable": fixable[code]}
            for code in order]


def render(report: Report, fmt: str = "text") -> str:
    table = rows(report)
    if fmt == "json":
        return json.dumps(table, indent=2) + "\n"
    if not table:
        return ""
    count_width = max(len(str(row["count"])) for row in table)
    code_width = max(len(row["code"]) for row in table)
    return "".join(f"{row['count']:>{count_width}}\t{row['code']:<{code_width}}\t"
                   f"{'[*]' if row['fixable'] else '[ ]'} {row['summary']}\n" for row in table)
