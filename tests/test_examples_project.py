"""The bundled example project (README's first command) gives exactly the deliberate
findings marked in its sources with `# deliberate: CODE ...` comments."""

import re
import shutil
from pathlib import Path

from conftest import REPO, codes_at, findings, run_cli

EXAMPLES = REPO / "examples"


def deliberate(root: Path) -> set:
    expected = set()
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = re.search(r"#\s*deliberate:\s*((?:[A-Z]+\d{3}[,\s+]*)+)", line)
            if match:
                for code in re.findall(r"[A-Z]+\d{3}", match.group(1)):
                    expected.add((path.relative_to(root).as_posix(), number, code))
    return expected


def test_examples_give_exactly_the_deliberate_findings(tmp_path):
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root, ignore=shutil.ignore_patterns(".celerylint_cache", "__pycache__", "*.sqlite3"))
    expected = deliberate(root)
    assert {code for *_, code in expected} >= {"BEAT001", "BEAT002", "TSK001", "TSK003", "TEN003"}
    assert codes_at(findings(root)) == expected


def test_readme_first_command_output_matches(tmp_path):
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLES, root / "examples", ignore=shutil.ignore_patterns(".celerylint_cache", "__pycache__"))
    proc = run_cli("check", "examples/", "--no-cache", cwd=root)
    assert proc.returncode == 1
    readme = (REPO / "README.md").read_text()
    shown = readme.split("deliberate mistakes). It prints the findings and exits with status 1:", 1)[1]
    shown = shown.split("```", 2)[1].strip("\n")
    assert proc.stdout.strip() == shown.strip()
