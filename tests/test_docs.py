"""docs/rules.md and the README's rule table are generated from the rule classes and
must be current; every rule documents the fixed sections."""

import subprocess
import sys

from celerylint.rules import all_rules

from conftest import REPO


def test_generated_docs_are_current():
    proc = subprocess.run([sys.executable, "-m", "celerylint.docs", "--check"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_every_rule_documents_the_fixed_sections():
    for rule in all_rules():
        sections = rule.sections()
        for title in ("What it does", "Why is this bad?", "Example", "Use instead"):
            assert sections.get(title, "").strip(), f"{rule.code} lacks '{title}'"


def test_rule_codes_match_the_contract():
    # RULES.md lives outside the repository in development; its table is copied here.
    contract = {"TSK001", "TSK002", "TSK003", "BEAT001", "BEAT002", "BEAT003", "BEAT004", "BEAT005", "BEAT006",
                "BEAT007", "BEAT008", "TEN001", "TEN002", "TEN003", "TEN004", "TEN005", "TEN006", "TEN007", "TEN008", "SYN001",
                "SUP001"}  # SUP001: issue 14 (unused noqa codes, stale baseline entries), opt-in
    assert {rule.code for rule in all_rules()} == contract
