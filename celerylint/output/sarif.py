"""SARIF 2.1.0 output, for GitHub code scanning and other SARIF viewers.

One run. `tool.driver.rules` lists every rule in `report.rules` (opt-in rules too), and
each result points at its rule by `ruleId` and `ruleIndex`. Artifact URIs are the
diagnostic paths as relative URI references against `%SRCROOT%`, which
`originalUriBaseIds` maps to the current directory. Columns count Unicode code points,
and region ends are exclusive, as celerylint's own.

GitHub's limits are kept: shortDescription and fullDescription at most 1024 characters,
rule names at most 255, no empty required strings. `partialFingerprints` are left out:
the upload-sarif action computes them from the checked-out sources.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

from celerylint.diagnostics import Report
from celerylint.output import end_of, ordered

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/celerylint/celerylint"
SRCROOT = "%SRCROOT%"
_DESCRIPTION_LIMIT = 1024  # GitHub code scanning's limit for short/full descriptions
_NAME_LIMIT = 255  # and for rule names


def render(report: Report) -> str:
    return json.dumps(sarif_log(report), indent=2) + "\n"


def sarif_log(report: Report) -> dict:
    rules = [_descriptor(rule) for rule in report.rules]
    index = {}
    for i, rule in enumerate(report.rules):
        index.setdefault(rule.code, i)

    results = []
    for d in ordered(report.diagnostics):
        end_line, end_column = end_of(d)
        result: dict = {"ruleId": d.code}
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        result["level"] = _level(d.severity)
        result["message"] = {"text": d.message or d.code}
        result["locations"] = [{
            "physicalLocation": {
                "artifactLocation": {"uri": path_to_uri(d.path), "uriBaseId": SRCROOT},
                "region": {
                    "startLine": d.line,
                    "startColumn": d.column,
                    "endLine": end_line,
                    "endColumn": end_column,
                },
            },
        }]
        if d.fixable:
            result["properties"] = {"fixable": True}
        results.append(result)

    driver: dict = {"name": "celerylint"}
    if report.version:
        driver["version"] = report.version
    driver["informationUri"] = INFORMATION_URI
    driver["rules"] = rules
    run = {
        "tool": {"driver": driver},
        "originalUriBaseIds": {SRCROOT: {"uri": directory_uri(Path.cwd())}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def path_to_uri(path: str) -> str:
    """A relative "/"-separated path as a relative URI reference: percent-encoded UTF-8,
    with ":" encoded too so that a first segment such as "c:" is not read as a scheme."""
    return quote(path, safe="/")


def directory_uri(directory: Path) -> str:
    """`directory` as an absolute file:// URI ending with "/", as a base URI must."""
    uri = directory.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _descriptor(rule) -> dict:
    documentation = rule.documentation()
    summary = _limit(rule.summary or rule.code, _DESCRIPTION_LIMIT)
    properties = {
        "problem.severity": "warning" if rule.severity == "warning" else "error",
        "opt_in": bool(rule.opt_in),
        "fixable": bool(rule.fixable),
    }
    tags = [tag for tag, on in (("opt-in", rule.opt_in), ("fixable", rule.fixable)) if on]
    if tags:
        properties["tags"] = tags
    return {
        "id": rule.code,
        "name": rule_name(rule),
        "shortDescription": {"text": summary},
        "fullDescription": {"text": _limit(_description(rule), _DESCRIPTION_LIMIT)},
        "help": {"text": documentation, "markdown": documentation},
        "defaultConfiguration": {"level": _level(rule.severity)},
        "properties": properties,
    }


def rule_name(rule) -> str:
    """The summary in CamelCase ("Task retried forever" -> "TaskRetriedForever")."""
    words = re.findall(r"[A-Za-z0-9]+", rule.summary or "")
    name = "".join(word[0].upper() + word[1:] for word in words)
    return name[:_NAME_LIMIT] or rule.code


def _description(rule) -> str:
    """The rule's "What it does" section when it has one, else its summary."""
    sections = getattr(rule, "sections", None)
    text = sections().get("What it does", "").strip() if callable(sections) else ""
    return text or rule.summary or rule.code


def _level(severity: str) -> str:
    return "warning" if severity == "warning" else "error"


def _limit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
