"""The command line as users and scripts meet it: exit codes, formats, selection,
suppression, configuration errors, PATHS scoping, `rules` and `explain`."""

import json

import pytest

from celerylint.rules import all_rules

from conftest import run_cli, write_project

ORPHAN_PROJECT = {
    "ops/tasks.py": "from celery import shared_task\n\n@shared_task\ndef ping(): pass\n",
    "proj/settings.py": (
        "CELERY_BEAT_SCHEDULE = {\n"
        '    "a": {"task": "ops.tasks.pingg", "schedule": 10},\n'
        '    "b": {"task": "ops.tasks.ping()", "schedule": 10},\n'
        "}\n"
    ),
}


def test_text_output_and_exit_status(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT)
    proc = run_cli("check", str(root), "--no-cache", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[:2] == [
        'p/proj/settings.py:2:19: BEAT001 beat entry "a" names task "ops.tasks.pingg", which no task registers '
        '(did you mean "ops.tasks.ping"?)',
        'p/proj/settings.py:3:19: BEAT002 beat task name "ops.tasks.ping()" contains parentheses; use "ops.tasks.ping"',
    ]
    assert lines[-1] == "Found 2 findings in 1 file (checked 4 files)."
    assert "\x1b[" not in proc.stdout


def test_clean_project_exits_zero(tmp_path):
    root = write_project(tmp_path / "p", {"ops/tasks.py": ORPHAN_PROJECT["ops/tasks.py"]})
    proc = run_cli("check", "--no-cache", cwd=root)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "All checks passed (checked 2 files)."


def test_verbose_says_what_was_found_and_what_could_not_be_read(tmp_path):
    files = dict(ORPHAN_PROJECT)
    files["proj/celery.py"] = (
        "from celery import Celery\n\napp = Celery('proj')\n"
        "app.conf.beat_schedule = {name: {'task': 'ops.tasks.ping', 'schedule': 5} for name in load_names()}\n"
    )
    root = write_project(tmp_path / "p", files)
    quiet = run_cli("check", "--no-cache", cwd=root)
    assert quiet.stderr == ""
    proc = run_cli("check", "--no-cache", "--verbose", cwd=root)
    assert proc.stdout == quiet.stdout and proc.returncode == quiet.returncode == 1
    notes = proc.stderr.splitlines()
    assert "celerylint: found: 1 task definitions (1 names) in 1 files; 2 beat entries in 2 schedules" in notes
    assert ("celerylint: proj/celery.py:4: a beat schedule comprehension over a value that cannot be read "
            "statically") in notes


def test_json_output_matches_the_contract(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT)
    proc = run_cli("check", "--format", "json", "--no-cache", cwd=root)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert set(data) == {"version", "diagnostics", "summary"}
    first = data["diagnostics"][0]
    assert first == {"code": "BEAT001", "message": first["message"], "path": "proj/settings.py", "line": 2,
                     "column": 19, "end_line": 2, "end_column": 36, "severity": "error", "fixable": False}
    assert data["summary"]["files"] == 4 and data["summary"]["diagnostics"] == 2 and data["summary"]["fixed"] == 0


def test_github_format(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT)
    proc = run_cli("check", "--format", "github", "--no-cache", cwd=root)
    assert proc.stdout.splitlines()[0].startswith(
        "::error file=proj/settings.py,line=2,col=19,endLine=2,endColumn=36,title=BEAT001::")


def test_select_and_ignore_with_prefixes(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT)
    only_002 = run_cli("check", "--select", "BEAT002", "--no-cache", "--format", "json", cwd=root)
    assert [d["code"] for d in json.loads(only_002.stdout)["diagnostics"]] == ["BEAT002"]
    ignored = run_cli("check", "--ignore", "BEAT00", "--no-cache", cwd=root)
    assert ignored.returncode == 0
    unknown = run_cli("check", "--select", "XYZ1", cwd=root)
    assert unknown.returncode == 2 and "XYZ1" in unknown.stderr and len(unknown.stderr.strip().splitlines()) == 1


def test_opt_in_rule_needs_its_full_code(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT)
    by_prefix = run_cli("check", "--select", "BEAT", "--no-cache", "--format", "json", cwd=root)
    assert "BEAT004" not in {d["code"] for d in json.loads(by_prefix.stdout)["diagnostics"]}
    exact = run_cli("check", "--select", "BEAT004", "--no-cache", "--format", "json", cwd=root)
    assert [d["code"] for d in json.loads(exact.stdout)["diagnostics"]] == ["BEAT004", "BEAT004"]


def test_noqa_comments(tmp_path):
    files = dict(ORPHAN_PROJECT)
    files["proj/settings.py"] = (
        "CELERY_BEAT_SCHEDULE = {\n"
        '    "a": {"task": "ops.tasks.pingg", "schedule": 10},  # noqa: BEAT001\n'
        '    "b": {"task": "ops.tasks.ping()", "schedule": 10},  # noqa: BEAT001\n'
        '    "c": {"task": "ops.tasks.pong", "schedule": 10},  # noqa\n'
        "}\n"
    )
    root = write_project(tmp_path / "p", files)
    proc = run_cli("check", "--no-cache", "--format", "json", cwd=root)
    got = [(d["line"], d["code"]) for d in json.loads(proc.stdout)["diagnostics"]]
    assert got == [(3, "BEAT002")]  # the noqa on line 3 names another code


def test_config_file_selection_and_per_file_ignores(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT, config="""
        ignore = ["BEAT002"]
        extend-select = ["BEAT004"]
        [tool.celerylint.per-file-ignores]
        "proj/settings.py" = ["BEAT001"]
    """)
    proc = run_cli("check", "--no-cache", "--format", "json", cwd=root)
    assert [d["code"] for d in json.loads(proc.stdout)["diagnostics"]] == ["BEAT004", "BEAT004"]


@pytest.mark.parametrize("config, key", [
    ("unknown-key = 1\n", "tool.celerylint.unknown-key"),
    ("app_names = ['x']\n", "tool.celerylint.app_names"),
    ("hotspot-threshold = 0\n", "tool.celerylint.hotspot-threshold"),
    ("select = 'BEAT'\n", "tool.celerylint.select"),
    ("select = ['NOPE']\n", "tool.celerylint.select"),
    ("[tool.celerylint.per-file-ignores]\n'x.py' = 'BEAT001'\n", "tool.celerylint.per-file-ignores.x.py"),
    ("extend-app-names = 'worker'\n", "tool.celerylint.extend-app-names"),
    ("extend-ignore = ['NOPE']\n", "tool.celerylint.ignore"),
    ("tenancy = 'rows'\n", "tool.celerylint.tenancy"),
])
def test_configuration_errors_name_the_key_and_exit_2(tmp_path, config, key):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT, config=config)
    proc = run_cli("check", "--no-cache", cwd=root)
    assert proc.returncode == 2
    assert key in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""


def test_extend_keys_add_to_the_defaults_and_plain_keys_replace_them():
    from celerylint.config import Settings, settings_from_mapping

    defaults = Settings()
    extended = settings_from_mapping({"extend-tenant-model-bases": ["OrgOwned"], "extend-app-names": ["worker"],
                                      "extend-ignore": ["ten"], "extend-exclude": ["legacy/"]})
    assert extended.tenant_model_bases == defaults.tenant_model_bases + ("OrgOwned",)
    assert extended.app_names == defaults.app_names + ("worker",)
    assert extended.ignore == ("TEN",) and extended.exclude == ("legacy/",)
    both = settings_from_mapping({"extend-restore-functions": ["set_org"], "restore-functions": ["activate"]})
    assert both.restore_functions == ("activate", "set_org")
    assert settings_from_mapping({"tenancy": "schema"}).tenancy == "schema" and defaults.tenancy == "auto"


def test_extend_ignore_turns_rules_off(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT, config='extend-ignore = ["BEAT"]\n')
    assert run_cli("check", "--no-cache", cwd=root).returncode == 0


def test_explicit_config_file(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT)
    (tmp_path / "lint.toml").write_text('ignore = ["BEAT"]\n')
    proc = run_cli("check", "--no-cache", "--config", str(tmp_path / "lint.toml"), cwd=root)
    assert proc.returncode == 0, proc.stdout
    missing = run_cli("check", "--config", str(tmp_path / "nope.toml"), cwd=root)
    assert missing.returncode == 2 and "nope.toml" in missing.stderr


def test_paths_scope_the_output_but_not_the_analysis(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT)
    # Only the tasks file is named, as pre-commit would: the orphan lives in settings,
    # so nothing is printed, but the analysis still saw the whole project.
    proc = run_cli("check", "ops/tasks.py", "--no-cache", cwd=root)
    assert proc.returncode == 0 and "checked 1 file" in proc.stdout
    proc = run_cli("check", "proj/settings.py", "--no-cache", cwd=root)
    assert proc.returncode == 1 and "BEAT001" in proc.stdout
    proc = run_cli("check", "proj", "--no-cache", cwd=root)
    assert proc.returncode == 1 and "checked 2 files" in proc.stdout
    missing = run_cli("check", "nope.py", cwd=root)
    assert missing.returncode == 2 and "nope.py" in missing.stderr


def test_usage_errors_are_one_line(tmp_path):
    for args in (["check", "--format", "xml"], ["frobnicate"], ["check", "--jobs", "0"], []):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, args
        assert len(proc.stderr.strip().splitlines()) == 1, (args, proc.stderr)


def test_rules_listing(tmp_path):
    proc = run_cli("rules", "--format", "json", cwd=tmp_path)
    data = json.loads(proc.stdout)
    assert [r["code"] for r in data] == [r.code for r in all_rules()]
    assert {r["code"]: r["default"] for r in data}["BEAT004"] is False
    assert set(data[0]) == {"code", "summary", "default", "fixable", "fix_safety", "severity"}
    text = run_cli("rules", cwd=tmp_path).stdout
    assert all(r.code in text for r in all_rules())


def test_explain(tmp_path):
    proc = run_cli("explain", "beat001", cwd=tmp_path)
    assert proc.returncode == 0
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead"):
        assert section in proc.stdout
    assert run_cli("explain", "ZZZ999", cwd=tmp_path).returncode == 2


def test_module_and_console_script_agree(tmp_path):
    import shutil
    import subprocess

    script = shutil.which("celerylint")
    assert script is not None
    a = subprocess.run([script, "rules", "--format", "json"], capture_output=True, text=True)
    b = run_cli("rules", "--format", "json", cwd=tmp_path)
    assert a.stdout == b.stdout and a.returncode == 0


def test_colour_only_when_asked(tmp_path):
    root = write_project(tmp_path / "p", ORPHAN_PROJECT)
    forced = run_cli("check", "--no-cache", cwd=root, env={"FORCE_COLOR": "1"})
    assert "\x1b[" in forced.stdout
    no_color = run_cli("check", "--no-cache", cwd=root, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[" not in no_color.stdout
