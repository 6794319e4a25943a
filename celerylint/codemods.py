"""celerylint's fixes as libcst codemods, one per fixable rule, named after the rule's
class, for teams that drive their refactorings with libcst's tool:

    python -m libcst.tool codemod -x celerylint.codemods.TenantContextNotRestored src/

(`-x`: the command is a module path; or add "celerylint" to the `modules` of
`.libcst.codemod.yaml` and run `codemods.TenantContextNotRestored`). Each file is
fixed with the whole project's analysis, exactly as `celerylint check --fix
--unsafe-fixes --select CODE` would, so a rename also reaches the beat entries of other
files when libcst's run includes them.
"""

from __future__ import annotations

import os

import libcst as cst
from libcst.codemod import CodemodCommand, SkipFile

from celerylint.rules import all_rules


class RuleCodemod(CodemodCommand):
    CODE = ""
    DESCRIPTION = "Apply a celerylint fix."

    def transform_module_impl(self, tree: cst.Module) -> cst.Module:
        from celerylint.config import load_settings
        from celerylint.engine.discover import find_project_root
        from celerylint.engine import check
        from celerylint.fixes.apply import apply_edits

        filename = self.context.filename
        if not filename:
            raise SkipFile("celerylint's fixes need the file's path (not stdin)")
        path = os.path.abspath(filename)
        root = find_project_root(path)
        result = check([], load_settings(root), root, select=(self.CODE,))
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        edits = [e for d in result.diagnostics if d.fix is not None for e in d.fix.edits if e.rel == rel]
        if not edits:
            raise SkipFile(f"no {self.CODE} fix here")
        new = apply_edits(tree.code, list(dict.fromkeys(edits)))
        if new is None:
            raise SkipFile(f"the {self.CODE} fix does not apply to this file's current content")
        return cst.parse_module(new)


for _rule in all_rules():
    if _rule.fixable:
        globals()[_rule.__name__] = type(_rule.__name__, (RuleCodemod,), {
            "CODE": _rule.code,
            "DESCRIPTION": f"celerylint {_rule.code}: {_rule.summary} ({_rule.fix_safety} fix).",
            "__module__": __name__,
        })
del _rule
