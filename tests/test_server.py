"""`celerylint server` with a real LSP client session: the server runs as a subprocess
(`python -m celerylint server`) and the test speaks JSON-RPC over its stdio as an editor
does: initialize, open a file, receive diagnostics, edit without saving, request a code
action and apply its edit, hover."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections import Counter

import pytest

from celerylint.rules import rule_by_code

from conftest import REPO, run_cli
from lsp_client import LspClient

pytest.importorskip("pygls")


@pytest.fixture
def session(tmp_path):
    root = tmp_path / "shop"
    shutil.copytree(REPO / "examples", root, ignore=shutil.ignore_patterns(".celerylint_cache", "__pycache__"))
    client = LspClient([sys.executable, "-m", "celerylint", "server"], cwd=tmp_path, env=dict(os.environ))
    try:
        result = client.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(),
            "capabilities": {"general": {"positionEncodings": ["utf-16"]},
                             "textDocument": {"codeAction": {"codeActionLiteralSupport": {
                                 "codeActionKind": {"valueSet": ["quickfix"]}}}}},
        })
        assert result["capabilities"]["hoverProvider"] and result["capabilities"]["codeActionProvider"]
        client.notify("initialized", {})
        yield client, root
    finally:
        code = client.close()
        assert code == 0


def cli_findings(root, rel):
    proc = run_cli("check", "--no-cache", "--format", "json", rel, cwd=root)
    return json.loads(proc.stdout)["diagnostics"]


def open_document(client, path, text=None, version=1):
    uri = path.as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": version, "text": path.read_text() if text is None else text}})
    return uri


def published(client, uri, version=None):
    return client.wait_for("textDocument/publishDiagnostics",
                           lambda p: p["uri"] == uri and (version is None or p.get("version") == version))


def apply_text_edits(text, edits):
    """Apply LSP TextEdits (UTF-16 positions; these files are ASCII) to `text`."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(position):
        return offsets[min(position["line"], len(lines))] + position["character"]

    for edit in sorted(edits, key=lambda e: offset(e["range"]["start"]), reverse=True):
        start, end = offset(edit["range"]["start"]), offset(edit["range"]["end"])
        text = text[:start] + edit["newText"] + text[end:]
    return text


def test_diagnostics_code_action_and_hover(session):
    client, root = session
    path = root / "billing" / "tasks.py"
    expected = cli_findings(root, "billing/tasks.py")
    assert [d["code"] for d in expected] == ["TSK003"]
    uri = open_document(client, path)

    diagnostics = published(client, uri)["diagnostics"]
    assert [(d["code"], d["source"]) for d in diagnostics] == [("TSK003", "celerylint")]
    found = diagnostics[0]
    want = expected[0]
    assert found["range"] == {"start": {"line": want["line"] - 1, "character": want["column"] - 1},
                              "end": {"line": want["end_line"] - 1, "character": want["end_column"] - 1}}
    assert found["message"] == want["message"] and found["severity"] == 1

    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": found["range"]["start"]})
    assert hover["contents"]["value"] == rule_by_code("TSK003").documentation()
    elsewhere = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                      "position": {"line": 0, "character": 0}})
    assert elsewhere is None

    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": found["range"], "context": {"diagnostics": [found]}})
    fixes = [a for a in actions if a["title"].startswith("Fix TSK003")]
    assert len(fixes) == 1 and "(safe)" in fixes[0]["title"] and fixes[0]["kind"] == "quickfix"
    assert any(a["title"] == "Suppress TSK003 with # noqa: TSK003" for a in actions)
    original = path.read_text()
    fixed = apply_text_edits(original, fixes[0]["edit"]["changes"][uri])
    assert fixed != original
    path.write_text(fixed)
    assert cli_findings(root, "billing/tasks.py") == []
    # The edit is the one `check --fix` makes.
    path.write_text(original)
    run_cli("check", "--no-cache", "--fix", "billing/tasks.py", cwd=root)
    assert path.read_text() == fixed

    # Saving the fixed file: the finding goes away.
    client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2},
                                             "contentChanges": [{"text": fixed}]})
    client.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert published(client, uri, version=2)["diagnostics"] == []


def test_unsaved_changes_are_checked_in_the_project(session):
    client, root = session
    tasks = root / "reports" / "tasks.py"
    settings = root / "shop" / "settings.py"
    on_disk = tasks.read_text()
    tasks_uri = open_document(client, tasks)
    settings_uri = open_document(client, settings)
    first = {p["uri"]: p for p in (published(client, tasks_uri), published(client, settings_uri))}
    assert {d["code"] for d in first[tasks_uri]["diagnostics"]} == {"TSK001"}
    assert {d["code"] for d in first[settings_uri]["diagnostics"]} == {"BEAT001", "BEAT002"}

    # Typing (not saved): the task is renamed. The buffer is checked, and the beat entry in
    # the other open file that named the old name is now an orphan too.
    edited = on_disk.replace('"reports.refresh_rates()"', '"reports.refresh_all_rates"')
    assert edited != on_disk
    client.notify("textDocument/didChange", {"textDocument": {"uri": tasks_uri, "version": 2},
                                             "contentChanges": [{"text": edited}]})
    assert published(client, tasks_uri, version=2)["diagnostics"] == []
    after = published(client, settings_uri)["diagnostics"]
    assert Counter(d["code"] for d in after) == Counter({"BEAT001": 2, "BEAT002": 1})
    assert any('"reports.refresh_rates()", which no task registers' in d["message"] for d in after)
    assert tasks.read_text() == on_disk  # nothing written
