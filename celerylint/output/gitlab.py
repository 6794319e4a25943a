"""GitLab Code Quality report: a JSON array of issues, one per diagnostic, in the subset
of the Code Climate format that GitLab reads (docs.gitlab.com, "Code Quality", "Code
Quality report format"):

    [{"description": "TEN003 task ... does not restore tenant context first",
      "check_name": "TEN003",
      "fingerprint": "<md5 hex>",
      "severity": "major",
      "location": {"path": "app/tasks.py", "lines": {"begin": 12, "end": 12}}}]

`severity` is "major" for errors and "minor" for warnings. `location.path` is the
diagnostic path (relative to the current directory: run it from the repository root, as
GitLab expects). `fingerprint` identifies the finding across pipelines the way baselines
do: a hash of the code, the path and what the finding is about (`Diagnostic.entity`; the
message when it has none) and its rank among the findings with those, never of its line,
so a finding that only moved is not reported as new in the merge request widget. An
empty report is `[]`.
"""

from __future__ import annotations

import hashlib
import json

from celerylint.diagnostics import Report
from celerylint.output import end_of, ordered

SEVERITY = {"error": "major", "warning": "minor"}


def render(report: Report) -> str:
    issues = []
    seen: dict[tuple, int] = {}
    for d in ordered(report.diagnostics):
        end_line, _ = end_of(d)
        about = d.entity if d.entity is not None else d.message
        identity = (d.code, d.path, about)
        rank = seen.get(identity, 0)
        seen[identity] = rank + 1
        fingerprint = hashlib.md5("\0".join((*identity, str(rank))).encode("utf-8")).hexdigest()
        issues.append({
            "description": f"{d.code} {d.message}",
            "check_name": d.code,
            "fingerprint": fingerprint,
            "severity": SEVERITY.get(d.severity, "major"),
            "location": {"path": d.path, "lines": {"begin": d.line, "end": end_line}},
        })
    return json.dumps(issues, indent=2) + "\n"
