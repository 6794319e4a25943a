"""Autofixes: every fixable rule's before/after examples (`fix_examples` on the rule
class) through the real command line, twice (a second --fix changes nothing), and the
fixed project has no finding of the fixed code left."""

import textwrap

import pytest

from celerylint.rules import all_rules
from celerylint.rules.base import parse_example

from conftest import run_cli, write_project

CASES = [pytest.param(rule, before, after, id=f"{rule.code}-{i}")
         for rule in all_rules() for i, (before, after) in enumerate(rule.fix_examples)]


def test_fixable_rules_match_the_contract():
    fixable = {rule.code for rule in all_rules() if rule.fixable}
    assert fixable == {"TSK001", "TSK003", "BEAT002", "BEAT004", "TEN001", "TEN002", "TEN003", "TEN004",
                       "TEN006", "TEN007", "TEN008"}
    for rule in all_rules():
        assert bool(rule.fix_safety) == rule.fixable, rule.code
        if rule.fixable:
            assert "Fix safety" in rule.sections(), rule.code


@pytest.mark.parametrize("rule, before, after", CASES)
def test_fix_example(tmp_path, rule, before, after):
    before_files = parse_example(textwrap.dedent(before)).files
    after_files = parse_example(textwrap.dedent(after)).files
    assert set(before_files) == set(after_files)
    root = write_project(tmp_path / "p", before_files)
    found = run_cli("check", "--select", rule.code, "--no-cache", "--format", "json", cwd=root)
    assert found.returncode == 1 and f'"{rule.code}"' in found.stdout, found.stdout + found.stderr
    fixed = run_cli("check", "--select", rule.code, "--fix", "--unsafe-fixes", "--no-cache", cwd=root)
    for path, expected in after_files.items():
        assert (root / path).read_text() == expected, path
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    again = run_cli("check", "--select", rule.code, "--fix", "--unsafe-fixes", "--diff", "--no-cache", cwd=root)
    assert again.returncode == 0 and again.stdout == ""
