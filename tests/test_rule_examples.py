"""Every rule's documented examples are executable: the "Example" blocks (and the
rule's extra `invalid` cases) must give exactly the findings marked with a trailing
`# CODE` comment, nothing more; the "Use instead" blocks (and `valid` cases) must
give no finding at all, from any default rule."""

import pytest

from celerylint.rules import all_rules

from conftest import codes_at, findings, write_project

CASES = []
for rule in all_rules():
    bad, good = rule.examples()
    assert bad, f"{rule.code} has no bad example"
    assert good, f"{rule.code} has no good example"
    CASES += [pytest.param(rule, ex, True, id=f"{rule.code}-bad-{i}") for i, ex in enumerate(bad)]
    CASES += [pytest.param(rule, ex, False, id=f"{rule.code}-good-{i}") for i, ex in enumerate(good)]


@pytest.mark.parametrize("rule, example, flagged", CASES)
def test_rule_example(tmp_path, rule, example, flagged):
    root = write_project(tmp_path / "proj", example.files)
    from celerylint.rules import selected_codes

    select = tuple(sorted(selected_codes((), (), ()) | {rule.code}))
    got = codes_at(findings(root, select=select))
    expected = set(example.expected)
    if flagged:
        assert any(code == rule.code for _, _, code in expected), "a bad example must mark its rule"
        assert got == expected
    else:
        assert expected == set()
        assert got == set()
