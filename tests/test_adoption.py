"""Adopting celerylint on a code base that already has findings (issue 14): `--add-noqa`,
baselines (`--write-baseline`, `--baseline`, the `baseline` key), SUP001 for suppressions
that suppress nothing, and ruff's command-line flags (`-q`, `-s`, `--exit-zero`,
`--exit-non-zero-on-fix`, `--statistics`, `--output-format`, `--show-fixes`,
`--extend-select`/`--extend-ignore`, `--stdin-filename`). Everything through the real
command line, on copies of the example project and of the tenant fixture."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter

import pytest

from celerylint.rules import all_rules, rule_by_code

from conftest import REPO, run_cli, write_project

TENANT_FIXTURE = REPO / "tests" / "fixtures" / "tenant_project"
EXAMPLES = REPO / "examples"


def copy(source, tmp_path, name="proj"):
    target = tmp_path / name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".celerylint_cache", "__pycache__"))
    return target


def diagnostics(root, *args):
    proc = run_cli("check", "--no-cache", "--format", "json", *args, cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["diagnostics"]


def keys(diags):
    return Counter((d["path"], d["code"]) for d in diags)


# --------------------------------------------------------------------------- --add-noqa


@pytest.mark.parametrize("source", [EXAMPLES, TENANT_FIXTURE], ids=["examples", "tenant_project"])
def test_add_noqa_then_check_passes(tmp_path, source):
    root = copy(source, tmp_path)
    before = diagnostics(root)
    assert len(before) >= 5
    lines_with = {(d["path"], d["line"]) for d in before}
    proc = run_cli("check", "--add-noqa", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert f"Added {len(lines_with)} noqa directive" in proc.stderr
    # Every finding's line now names its code (lines with two findings name both).
    for d in before:
        line = (root / d["path"]).read_text().splitlines()[d["line"] - 1]
        codes = re.search(r"#\s*noqa:\s*([A-Z0-9, ]+)", line)
        assert codes and d["code"] in re.split(r"[,\s]+", codes.group(1)), line
    after = run_cli("check", "--no-cache", cwd=root)
    assert after.returncode == 0, after.stdout
    # A second run finds nothing left to add and changes nothing.
    snapshot = {p: p.read_bytes() for p in root.rglob("*.py")}
    again = run_cli("check", "--add-noqa", "--no-cache", cwd=root)
    assert again.returncode == 0 and "Added 0 noqa directives" in again.stderr
    assert snapshot == {p: p.read_bytes() for p in root.rglob("*.py")}


def test_add_noqa_merges_with_existing_directives_and_keeps_other_text(tmp_path):
    root = write_project(tmp_path / "p", {
        "ops/tasks.py": "from celery import shared_task\n\n@shared_task\ndef ping(): pass\n",
        "proj/settings.py": (
            "CELERY_BEAT_SCHEDULE = {\r\n"
            '    "a": {"task": "ops.tasks.pingg", "schedule": 10},  # noqa:E501 (long line)\r\n'
            '    "b": {"task": "ops.tasks.ping()", "schedule": 10},\r\n'
            "}\r\n"
        ),
    })
    settings = root / "proj" / "settings.py"
    settings.write_bytes(settings.read_text().replace("\n", "\r\n").encode())  # write_text translated them
    proc = run_cli("check", "--add-noqa", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stderr
    data = settings.read_bytes()
    assert data.count(b"\r\n") == 4 and b"\n" not in data.replace(b"\r\n", b"")  # line endings kept
    lines = data.decode().split("\r\n")
    assert lines[1].endswith("},  # noqa: E501, BEAT001 (long line)")
    assert lines[2].endswith("},  # noqa: BEAT002")
    assert run_cli("check", "--no-cache", cwd=root).returncode == 0


def test_add_noqa_never_writes_into_a_string(tmp_path):
    root = write_project(tmp_path / "p", {
        "ops/tasks.py": (
            "from celery import shared_task\n\n"
            '@shared_task(name="ops.tasks.ping()", description="""first line\n'
            'second line""")\n'
            "def ping(): pass\n"
        ),
    })
    original = (root / "ops" / "tasks.py").read_text()
    proc = run_cli("check", "--add-noqa", "--no-cache", cwd=root)
    assert proc.returncode == 0
    assert "ops/tasks.py:3: the line ends inside a string" in proc.stderr
    assert (root / "ops" / "tasks.py").read_text() == original
    assert run_cli("check", "--no-cache", cwd=root).returncode == 1  # still reported: nothing was hidden


def test_add_noqa_keeps_encodings_and_skips_continuations():
    from celerylint.fixes.noqa import add_noqa

    latin = "# -*- coding: latin-1 -*-\nname = 'caf\u00e9'\nx = 1 + \\\n    2\ny = 3  # noqa\n".encode("latin-1")
    new, skipped = add_noqa(latin, {2: {"TSK001"}, 3: {"TSK002"}, 5: {"TSK003"}})
    assert skipped == [3]
    assert new.decode("latin-1").splitlines()[1] == "name = 'caf\u00e9'  # noqa: TSK001"
    assert new.decode("latin-1").splitlines()[4] == "y = 3  # noqa"  # a bare noqa already covers it
    bom = "\ufeffx = 1\n".encode("utf-8")
    new, _ = add_noqa(bom, {1: {"BEAT001"}})
    assert new == "\ufeffx = 1  # noqa: BEAT001\n".encode("utf-8")


def test_add_noqa_conflicts_are_usage_errors(tmp_path):
    root = write_project(tmp_path / "p", {"ops/tasks.py": "x = 1\n"})
    for args in (["--add-noqa", "--fix"], ["--add-noqa", "--write-baseline", "b.json"],
                 ["--write-baseline", "b.json", "--diff"]):
        proc = run_cli("check", *args, cwd=root)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)


# --------------------------------------------------------------------------- baselines


def insert_lines(path, at, count):
    lines = path.read_text().splitlines(keepends=True)
    lines[at:at] = [f"# inserted line {i}\n" for i in range(count)]
    path.write_text("".join(lines))


def test_baseline_survives_inserted_lines_and_reports_new_findings(tmp_path):
    root = copy(TENANT_FIXTURE, tmp_path)
    before = diagnostics(root)
    assert len(before) >= 10 and len({(d["path"], d["line"]) for d in before}) < len(before)  # shared lines
    proc = run_cli("check", "--no-cache", "--write-baseline", "celerylint-baseline.json", cwd=root)
    assert proc.returncode == 0 and f"Wrote {len(before)} findings" in proc.stderr
    assert run_cli("check", "--no-cache", "--baseline", "celerylint-baseline.json", cwd=root).returncode == 0

    # Lines inserted above every finding: all of them move, the baseline still holds.
    for rel in {d["path"] for d in before}:
        insert_lines(root / rel, 0, 7)
    moved = diagnostics(root)
    assert keys(moved) == keys(before)
    assert {(d["path"], d["line"]) for d in moved} == {(d["path"], d["line"] + 7) for d in before}
    assert diagnostics(root, "--baseline", "celerylint-baseline.json") == []

    # A new finding: a third non-string tenant_id in bulk_edit, which the baseline counts twice.
    views = root / "documents" / "views.py"
    text = views.read_text()
    anchor = "    bulk_update_documents.delay(ids, tenant_id=get_current_tenant_id())  # TEN006\n"
    views.write_text(text.replace(anchor, anchor + "    bulk_update_documents.delay(ids, tenant_id=request.user.pk)\n"))
    new = diagnostics(root, "--baseline", "celerylint-baseline.json")
    assert [(d["path"], d["code"]) for d in new] == [("documents/views.py", "TEN006")]
    assert "request.user.pk" in new[0]["message"]
    # ...and one in a function the baseline does not know.
    views.write_text(views.read_text() + "\n\ndef upload_again(request, path):\n    consume_file.delay(path)\n")
    new = diagnostics(root, "--baseline", "celerylint-baseline.json")
    assert sorted(d["code"] for d in new) == ["TEN005", "TEN006"]


def test_baseline_file_format_is_stable_and_sorted(tmp_path):
    root = copy(TENANT_FIXTURE, tmp_path)
    run_cli("check", "--no-cache", "--write-baseline", "b1.json", cwd=root)
    run_cli("check", "--no-cache", "--write-baseline", "b2.json", cwd=root)
    text = (root / "b1.json").read_text()
    assert text == (root / "b2.json").read_text()
    data = json.loads(text)
    assert data["version"] == 1
    entries = data["entries"]
    assert all(set(e) == {"path", "code", "entity", "count", "message"} for e in entries)
    assert entries == sorted(entries, key=lambda e: (e["path"], e["code"], e["entity"] or ""))
    assert sum(e["count"] for e in entries) == len(diagnostics(root))
    assert any(e["count"] == 2 for e in entries)  # two TEN006 in bulk_edit: one entry, counted
    assert len(text.splitlines()) == len(entries) + 5  # one entry a line


def test_stale_baseline_entries_and_unused_noqa_under_sup001(tmp_path):
    root = copy(TENANT_FIXTURE, tmp_path)
    run_cli("check", "--no-cache", "--write-baseline", "baseline.json", cwd=root)
    tasks = root / "documents" / "tasks.py"
    tasks.write_text(tasks.read_text().replace("    restore_tenant_context(tenant_id)  # TEN008\n", ""))
    quiet = run_cli("check", "--no-cache", "--baseline", "baseline.json", cwd=root)
    assert quiet.returncode == 0, quiet.stdout  # stale entries are reported only when asked
    found = diagnostics(root, "--baseline", "baseline.json", "--extend-select", "SUP001")
    assert [d["code"] for d in found] == ["SUP001"]
    stale = found[0]
    assert stale["path"] == "baseline.json" and "TEN008" in stale["message"]
    line = (root / "baseline.json").read_text().splitlines()[stale["line"] - 1]
    assert '"code": "TEN008"' in line  # reported at the entry's own line
    # A run over other files does not call the entries of unchecked files stale.
    assert diagnostics(root, "--baseline", "baseline.json", "--extend-select", "SUP001", "documents/views.py") == []
    # A deleted file's entries are stale in a run over the whole project.
    (root / "documents" / "views.py").unlink()
    gone = diagnostics(root, "--baseline", "baseline.json", "--extend-select", "SUP001")
    entries = json.loads((root / "baseline.json").read_text())["entries"]
    views_entries = [e for e in entries if e["path"] == "documents/views.py"]
    assert len(gone) == 1 + len(views_entries) and all(d["path"] == "baseline.json" for d in gone)


def test_baseline_key_in_the_configuration(tmp_path):
    root = copy(EXAMPLES, tmp_path)
    (root / "pyproject.toml").write_text('[tool.celerylint]\nbaseline = "lint/baseline.json"\n')
    missing = run_cli("check", "--no-cache", cwd=root)
    assert missing.returncode == 2 and "baseline.json" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert run_cli("check", "--no-cache", "--write-baseline", "lint/baseline.json", cwd=root).returncode == 0
    assert run_cli("check", "--no-cache", cwd=root).returncode == 0
    # Relative to the configuration file, not to the current directory.
    assert run_cli("check", "--no-cache", ".", cwd=root).returncode == 0
    assert run_cli("check", "--no-cache", str(root), cwd=tmp_path).returncode == 0
    (root / "lint" / "baseline.json").write_text("{not json")
    broken = run_cli("check", "--no-cache", cwd=root)
    assert broken.returncode == 2 and "not a celerylint baseline" in broken.stderr


@pytest.mark.parametrize("value", ["1", '""', "['a.json']"])
def test_bad_baseline_key_is_a_configuration_error(tmp_path, value):
    root = write_project(tmp_path / "p", {"ops/tasks.py": "x = 1\n"}, config=f"baseline = {value}\n")
    proc = run_cli("check", "--no-cache", cwd=root)
    assert proc.returncode == 2 and "tool.celerylint.baseline" in proc.stderr


def test_every_rule_names_what_its_findings_are_about(tmp_path):
    """Baselines match by entity: every rule's documented findings carry one."""
    from celerylint.config import Settings
    from celerylint.engine import check

    for rule in all_rules():
        for j, example in enumerate(rule.examples()[0]):
            root = write_project(tmp_path / f"{rule.code}-{j}", example.files)
            result = check([], Settings(), str(root), use_cache=False, jobs=1, select=(rule.code,))
            ours = [d for d in result.diagnostics if d.code == rule.code]
            assert ours, (rule.code, j)
            if rule.code != "SYN001":
                assert all(d.entity for d in ours), (rule.code, [d for d in ours if not d.entity])


# --------------------------------------------------------------------------- SUP001


def test_unused_noqa_codes(tmp_path):
    root = write_project(tmp_path / "p", {
        "ops/tasks.py": "from celery import shared_task\n\n@shared_task\ndef ping(): pass\n",
        "proj/settings.py": (
            "CELERY_BEAT_SCHEDULE = {\n"
            '    "a": {"task": "ops.tasks.pingg", "schedule": 10},  # noqa: BEAT001, TEN003, E501\n'
            '    "b": {"task": "ops.tasks.ping", "schedule": 10},  # noqa: BEAT002, SUP001\n'
            '    "c": {"task": "ops.tasks.ping", "schedule": 20},  # noqa\n'
            "}\n"
        ),
        "ops/util.py": "import os  # noqa: F401, BEAT004\n",
    })
    assert run_cli("check", "--no-cache", cwd=root).returncode == 0  # opt-in
    found = diagnostics(root, "--extend-select", "SUP001")
    got = {(d["path"], d["line"]): d for d in found}
    assert set(got) == {("proj/settings.py", 2), ("ops/util.py", 1)}
    assert "unused: TEN003" in got[("proj/settings.py", 2)]["message"]
    assert "BEAT001" not in got[("proj/settings.py", 2)]["message"] and "E501" not in got[("proj/settings.py", 2)]["message"]
    assert got[("proj/settings.py", 2)]["column"] == len('    "a": {"task": "ops.tasks.pingg", "schedule": 10},  ') + 1
    assert "non-enabled: BEAT004" in got[("ops/util.py", 1)]["message"]
    # With BEAT004 enabled the same code is unused; with BEAT001 not selected it is not "used".
    enabled = diagnostics(root, "--extend-select", "SUP001,BEAT004", "ops/util.py")
    assert ["unused: BEAT004" in d["message"] for d in enabled] == [True]
    narrowed = diagnostics(root, "--select", "SUP001", "proj/settings.py")
    assert {d["line"] for d in narrowed} == {2}
    assert "non-enabled: BEAT001, TEN003" in narrowed[0]["message"]


# --------------------------------------------------------------------------- ruff's flags


def test_quiet_silent_and_exit_zero(tmp_path):
    root = copy(EXAMPLES, tmp_path)
    normal = run_cli("check", "--no-cache", cwd=root)
    assert normal.returncode == 1
    quiet = run_cli("check", "-q", "--no-cache", cwd=root)
    assert quiet.returncode == 1 and quiet.stdout.splitlines() == normal.stdout.splitlines()[:-1]
    assert run_cli("check", "--quiet", "--no-cache", cwd=root).stdout == quiet.stdout
    silent = run_cli("check", "-s", "--no-cache", cwd=root)
    assert silent.returncode == 1 and silent.stdout == "" and silent.stderr == ""
    zero = run_cli("check", "--exit-zero", "--no-cache", cwd=root)
    assert zero.returncode == 0 and zero.stdout == normal.stdout
    assert run_cli("check", "-e", "-s", "--no-cache", cwd=root).returncode == 0
    clean = write_project(tmp_path / "clean", {"ops/tasks.py": "x = 1\n"})
    quiet_clean = run_cli("check", "-q", "--no-cache", cwd=clean)
    assert quiet_clean.returncode == 0 and quiet_clean.stdout == ""


def test_output_format_is_an_alias_of_format(tmp_path):
    root = copy(EXAMPLES, tmp_path)
    for fmt in ("json", "github", "gitlab", "text"):
        a = run_cli("check", "--no-cache", "--format", fmt, cwd=root)
        b = run_cli("check", "--no-cache", "--output-format", fmt, cwd=root)
        drop_time = re.compile(r'"seconds": [0-9.]+')
        assert drop_time.sub("", a.stdout) == drop_time.sub("", b.stdout) and a.returncode == b.returncode == 1


def test_statistics(tmp_path):
    root = copy(TENANT_FIXTURE, tmp_path)
    found = diagnostics(root)
    expected = Counter(d["code"] for d in found)
    fixable = {code: any(d["fixable"] for d in found if d["code"] == code) for code in expected}
    proc = run_cli("check", "--statistics", "--no-cache", cwd=root)
    assert proc.returncode == 1
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert {code.strip(): int(count) for count, code, _ in rows} == dict(expected)
    counts = [int(count) for count, _, _ in rows]
    assert counts == sorted(counts, reverse=True)
    for _, code, rest in rows:
        assert rest.startswith("[*] " if fixable[code.strip()] else "[ ] ")
        assert rest[4:] == rule_by_code(code.strip()).summary
    as_json = json.loads(run_cli("check", "--statistics", "--output-format", "json", "--no-cache", cwd=root).stdout)
    assert {row["code"]: row["count"] for row in as_json} == dict(expected)
    assert {row["code"]: row["fixable"] for row in as_json} == fixable


def test_show_fixes_and_exit_non_zero_on_fix(tmp_path):
    files = {
        "ops/tasks.py": ("from celery import Celery, shared_task\n\napp = Celery('ops')\n\n"
                         "@shared_task\ndef ping(): pass\n\n@app.task\ndef pong(): pass\n\n@app.task\ndef pang(): pass\n"),
    }
    root = write_project(tmp_path / "a", files)
    before = diagnostics(root)
    assert [d["code"] for d in before] == ["TSK003", "TSK003"] and all(d["fixable"] for d in before)
    would = run_cli("check", "--diff", "--show-fixes", "--no-cache", cwd=root)
    assert would.returncode == 1 and would.stdout.startswith("--- a/ops/tasks.py")
    assert "Would fix 2 findings:\n- ops/tasks.py:\n    2 × TSK003 (" in would.stderr
    proc = run_cli("check", "--fix", "--show-fixes", "--no-cache", cwd=root)
    assert proc.returncode == 0, proc.stdout
    assert "Fixed 2 findings:\n- ops/tasks.py:\n    2 × TSK003 (" in proc.stdout
    assert proc.stdout.rstrip().endswith("All checks passed (2 fixed) (checked 2 files).")
    again = write_project(tmp_path / "b", files)
    strict = run_cli("check", "--fix", "--exit-non-zero-on-fix", "--no-cache", cwd=again)
    assert strict.returncode == 1 and "Fixed" not in strict.stdout
    assert run_cli("check", "--no-cache", cwd=again).returncode == 0
    # Machine formats stay parseable: the list goes to stderr.
    third = write_project(tmp_path / "c", files)
    as_json = run_cli("check", "--fix", "--show-fixes", "--format", "json", "--no-cache", cwd=third)
    assert json.loads(as_json.stdout)["summary"]["fixed"] == 2 and "2 × TSK003" in as_json.stderr


def test_extend_select_and_extend_ignore(tmp_path):
    root = write_project(tmp_path / "p", {
        "ops/tasks.py": "from celery import shared_task\n\n@shared_task(name='ops.ping()')\ndef ping(): pass\n",
        "proj/settings.py": 'CELERY_BEAT_SCHEDULE = {"a": {"task": "ops.pingg", "schedule": 10}}\n',
    }, config='select = ["BEAT001"]\n')
    base = keys(diagnostics(root))
    assert base == Counter({("proj/settings.py", "BEAT001"): 1})
    extended = keys(diagnostics(root, "--extend-select", "BEAT004,TSK"))
    assert extended - base == Counter({("proj/settings.py", "BEAT004"): 1, ("ops/tasks.py", "TSK001"): 1})
    ignored = keys(diagnostics(root, "--extend-select", "TSK", "--extend-ignore", "BEAT001"))
    assert ignored == Counter({("ops/tasks.py", "TSK001"): 1})
    assert run_cli("check", "--extend-select", "NOPE1", cwd=root).returncode == 2


def test_stdin_filename_checks_the_buffer_in_the_project(tmp_path):
    root = copy(EXAMPLES, tmp_path)
    tasks = root / "reports" / "tasks.py"
    on_disk = tasks.read_text()
    assert "reports.refresh_rates()" in on_disk
    fixed_buffer = on_disk.replace("reports.refresh_rates()", "reports.refresh_rates")
    proc = run_cli_stdin(root, fixed_buffer, "check", "--no-cache", "--format", "json",
                         "--stdin-filename", "reports/tasks.py", "-")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["diagnostics"] == [] and data["summary"]["files"] == 1
    # The project is still read from disk around it: a buffer naming a task another file defines is fine,
    # a buffer registering a second copy of one is not.
    duplicate = fixed_buffer + "\n\n@shared_task(name=\"orders.tasks.export_open_orders\")\ndef again():\n    pass\n"
    proc = run_cli_stdin(root, duplicate, "check", "--no-cache", "--format", "json", "--stdin-filename",
                         "reports/tasks.py")
    assert [d["code"] for d in json.loads(proc.stdout)["diagnostics"]] == ["TSK002"]
    assert json.loads(proc.stdout)["diagnostics"][0]["path"] == "reports/tasks.py"
    assert tasks.read_text() == on_disk


def test_stdin_fix_prints_the_fixed_source(tmp_path):
    root = copy(EXAMPLES, tmp_path)
    path = root / "orders" / "tasks.py"
    on_disk = path.read_text()
    proc = run_cli_stdin(root, on_disk, "check", "--no-cache", "--fix", "--stdin-filename", "orders/tasks.py", "-")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout != on_disk and "restore_tenant_context(tenant_id)" in proc.stdout
    assert "All checks passed (1 fixed)" in proc.stderr
    assert path.read_text() == on_disk  # nothing written
    # The fixed source is what --fix writes on disk.
    run_cli("check", "--no-cache", "--fix", "orders/tasks.py", cwd=root)
    assert path.read_text() == proc.stdout


def test_stdin_usage_errors(tmp_path):
    root = copy(EXAMPLES, tmp_path)
    for args in (["check", "-"], ["check", "--stdin-filename", "nope.py", "-"],
                 ["check", "--stdin-filename", "orders/tasks.py", "billing/tasks.py"]):
        proc = run_cli_stdin(root, "x = 1\n", *args)
        assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)


def run_cli_stdin(cwd, text, *args):
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    return subprocess.run([sys.executable, "-m", "celerylint", *args], cwd=cwd, input=text, capture_output=True,
                          text=True, env=env, timeout=300)


def test_quiet_no_longer_a_usage_error(tmp_path):
    root = write_project(tmp_path / "p", {"ops/tasks.py": "x = 1\n"})
    assert run_cli("check", "-q", cwd=root).returncode == 0
