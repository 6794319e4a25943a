"""The package's imports point one way (README "How it works"): a layer imports only the
layers below it, and no module imports itself back through others.

    entry points (cli, codemods, docs, server, __main__)
        -> engine -> rules -> project -> facts;  engine -> fixes (dry runs, issue 11)
    rules -> diagnostics (Fix, Edit: plain data), never fixes
    fixes -> diagnostics;  output -> diagnostics;  config imports nothing of ours
    engine -> baseline -> diagnostics

Every import counts, also those inside functions and under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "celerylint"

# layer -> the layers it may import (besides itself). The package root `celerylint`
# (its __init__: the version) may be imported by anyone.
ALLOWED = {
    "config": set(),
    "diagnostics": set(),
    "facts": set(),
    "project": {"facts", "config"},
    "rules": {"project", "facts", "config", "diagnostics"},
    "fixes": {"diagnostics"},
    "output": {"diagnostics"},
    # baseline.py: reading, matching and writing baseline files; plain data over findings.
    # The engine applies a baseline in the same pass as noqa (SUP001 reports stale entries).
    "baseline": {"diagnostics"},
    # The engine dry-runs the fixes that check the code themselves (TEN007's loop
    # rewrite), so a finding is called fixable only when its fix applies (issue 11).
    "engine": {"facts", "project", "rules", "config", "diagnostics", "baseline", "fixes"},
    "entry": {"engine", "rules", "project", "facts", "fixes", "output", "config", "diagnostics", "baseline"},
}
ENTRY_POINTS = {"cli", "codemods", "docs", "server", "__main__"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    name = parts[1]
    return "entry" if name in ENTRY_POINTS else name


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, module: str | None = None) -> set[str]:
    """The celerylint modules a file (the module `module`) imports: `from celerylint.x
    import y` counts as `celerylint.x.y` when that is a module, else `celerylint.x`."""
    tree = ast.parse(path.read_text(), str(path))
    module = module or module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names] + [target]
        else:
            continue
        for name in names:
            if name == "celerylint" or name.startswith("celerylint."):
                found.add(_existing_module(name))
    return found


def _existing_module(name: str) -> str:
    parts = name.split(".")
    while parts:
        candidate = PACKAGE.parent.joinpath(*parts)
        if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
            return ".".join(parts)
        parts.pop()
    return name


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {i for i in imports_of(path) if i != name} for name, path in modules.items()}


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, imported in sorted(edges.items()):
        layer = layer_of(module)
        for target in sorted(imported):
            other = layer_of(target)
            if other == layer or (other == "root" and layer != "root") or other in ALLOWED.get(layer, ()):
                continue
            wrong.append(f"{module} ({layer}) imports {target} ({other})")
    return wrong


def cycles_of(edges: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles, except a package's __init__ re-exporting its own modules."""
    found = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state and nxt in edges:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return [c for c in found if not any(a.startswith(b + ".") or b.startswith(a + ".")
                                        for a, b in itertools.pairwise(c))]


def test_every_layer_is_known():
    assert {layer_of(m) for m in graph()} <= set(ALLOWED) | {"root"}, "a new layer? add it to ALLOWED and the README"


def test_every_import_points_down():
    wrong = upward_imports(graph())
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_no_import_cycles():
    cycles = cycles_of(graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_checks_catch_what_they_are_for(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from celerylint.fixes.apply import apply_edits\n"
                     "from celerylint.rules import all_rules\nfrom . import x\n")
    assert imports_of(probe, "celerylint.rules.probe") == {
        "celerylint.fixes.apply", "celerylint.rules", "celerylint.rules"}  # `from . import x`: the package
    edges = graph()
    edges["celerylint.rules.base"] = edges["celerylint.rules.base"] | {"celerylint.fixes.apply"}
    edges["celerylint.config"] = {"celerylint.rules"}
    wrong = upward_imports(edges)
    assert any(w.startswith("celerylint.rules.base (rules) imports celerylint.fixes.apply") for w in wrong)
    assert any(w.startswith("celerylint.config (config) imports celerylint.rules") for w in wrong)
    edges = graph()
    edges["celerylint.fixes.apply"] = edges["celerylint.fixes.apply"] | {"celerylint.fixes.operations"}
    edges["celerylint.fixes.operations"] = edges["celerylint.fixes.operations"] | {"celerylint.fixes.apply"}
    assert any(c[0] == c[-1] == "celerylint.fixes.apply" and "celerylint.fixes.operations" in c
               for c in cycles_of(edges))


def test_the_shared_schedule_logic_and_the_runtime_need_no_libcst():
    import subprocess
    import sys

    probe = "import sys, celerylint.project.crontab, celerylint_runtime; assert 'libcst' not in sys.modules"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0
