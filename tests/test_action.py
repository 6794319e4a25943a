"""`action.yml`, the composite GitHub Action: a valid action definition whose steps run as
documented (README, "In CI"): the install step installs the action's own source (or the
pinned version), and the check step prints GitHub annotations and fails on findings."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess

import pytest
import yaml

from conftest import REPO, run_cli

ACTION = REPO / "action.yml"


@pytest.fixture(scope="module")
def action():
    return yaml.safe_load(ACTION.read_text())


def step(action, name):
    (found,) = [s for s in action["runs"]["steps"] if s.get("name") == name]
    return found


def test_the_action_is_a_valid_composite_action(action):
    assert set(action) <= {"name", "description", "author", "branding", "inputs", "outputs", "runs"}
    assert action["name"] and action["description"]
    assert action["runs"]["using"] == "composite"
    for name, spec in action["inputs"].items():
        assert set(spec) <= {"description", "required", "default", "deprecationMessage"} and spec["description"], name
    for s in action["runs"]["steps"]:
        assert s["shell"] == "bash" and "run" in s  # composite run steps need a shell
        assert "${{ inputs." not in s["run"], "inputs reach scripts through env, never pasted into them"
        for value in s.get("env", {}).values():
            for ref in value.replace("${{", "\0").split("\0")[1:]:
                assert ref.split("}}")[0].strip().split(".")[1] in action["inputs"]


def run_step(action, name, cwd, env):
    s = step(action, name)
    full_env = dict(os.environ)
    full_env.pop("FORCE_COLOR", None)
    for key, value in s.get("env", {}).items():
        full_env[key] = value.replace("${{ inputs.args }}", env.get("args", "")) \
            .replace("${{ inputs.paths }}", env.get("paths", "")).replace("${{ inputs.version }}", env.get("version", ""))
    full_env.update(env.get("extra", {}))
    return subprocess.run(["bash", "-e", "-c", s["run"]], cwd=cwd, env=full_env, capture_output=True, text=True,
                          timeout=300)


def test_install_step_installs_the_action_source_or_the_pinned_version(action, tmp_path):
    shim = tmp_path / "bin"
    shim.mkdir()
    python = shim / "python"
    python.write_text('#!/bin/sh\necho "$@" >> "$SHIM_LOG"\n')
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "log"
    extra = {"PATH": f"{shim}{os.pathsep}{os.environ['PATH']}", "SHIM_LOG": str(log), "GITHUB_ACTION_PATH": str(REPO)}
    assert run_step(action, "Install celerylint", tmp_path, {"extra": extra}).returncode == 0
    assert run_step(action, "Install celerylint", tmp_path, {"version": "0.1.0", "extra": extra}).returncode == 0
    first, second = log.read_text().splitlines()
    assert first.startswith("-m pip install") and first.endswith(str(REPO))
    assert second.startswith("-m pip install") and second.endswith("celerylint==0.1.0")


def test_check_step_annotates_the_findings_and_fails(action, tmp_path):
    if shutil.which("celerylint") is None:
        pytest.skip("the celerylint console script is not installed")
    root = tmp_path / "examples"
    shutil.copytree(REPO / "examples", root, ignore=shutil.ignore_patterns(".celerylint_cache", "__pycache__"))
    expected = json.loads(run_cli("check", "--no-cache", "--format", "json", cwd=root).stdout)["diagnostics"]
    assert expected

    proc = run_step(action, "Run celerylint", root, {"args": "--no-cache"})
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(expected)
    for line, d in zip(lines, expected):
        assert line.startswith(f"::error file={d['path']},line={d['line']},col={d['column']},")
        assert f"title={d['code']}::" in line

    # `paths` narrows what is reported; `args` passes options (here a baseline): nothing left, success.
    only = run_step(action, "Run celerylint", root, {"args": "--no-cache", "paths": "billing/tasks.py orders"})
    assert {line.split(",")[0] for line in only.stdout.splitlines()} == {
        "::error file=billing/tasks.py", "::error file=orders/tasks.py"}
    assert run_cli("check", "--no-cache", "--write-baseline", "baseline.json", cwd=root).returncode == 0
    clean = run_step(action, "Run celerylint", root, {"args": "--no-cache --baseline baseline.json"})
    assert clean.returncode == 0 and clean.stdout == ""


def test_readme_documents_the_action_and_gitlab(action):
    readme = (REPO / "README.md").read_text()
    assert "uses: celerylint/celerylint@" in readme
    for name in action["inputs"]:
        assert f"`{name}`" in readme, name
    assert "--output-format gitlab" in readme and "codequality:" in readme
