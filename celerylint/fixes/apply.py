"""Applying fixes. A rule attaches a `Fix` (celerylint.diagnostics) to a finding: a
safety level and `Edit`s, each naming a file, the span of the node to change (positions
as the facts record them, which equal libcst's PositionProvider's) and an operation.
`apply_edits` re-parses one file, finds the nodes by position, applies the operations
(operations.py) and re-renders the module: comments, blank lines and formatting around
the change are kept, imports are added only when missing (imports.py), and a result
that does not parse is refused. `fix_until_stable` is what `check --fix` and `--diff`
run.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any, Callable

from celerylint.diagnostics import SAFE, Edit

def apply_edits(source: bytes | str, edits: list[Edit], reasons: list | None = None) -> bytes | str | None:
    """The new source after `edits` (all for this file), or None when an edit's node is
    not found, an operation does not apply, or the result does not parse. Bytes in,
    bytes out (in the file's own encoding). `reasons` collects why an operation did not
    apply, when it says (NotApplicable's message)."""
    import libcst as cst
    from libcst.metadata import MetadataWrapper

    from celerylint.fixes.imports import add_import
    from celerylint.fixes.operations import Applier, NotApplicable

    try:
        module = cst.parse_module(source)
    except (cst.ParserSyntaxError, SyntaxError, UnicodeDecodeError):
        return None
    by_span: dict[tuple, list[Edit]] = {}
    module_edits = []
    for edit in edits:
        if edit.span is None:
            module_edits.append(edit)
        else:
            by_span.setdefault(tuple(edit.span), []).append(edit)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    applier = Applier(by_span)
    try:
        new = wrapper.visit(applier)
    except NotApplicable as exc:
        if reasons is not None and str(exc):
            reasons.append(str(exc))
        return None
    if applier.pending:
        return None  # some edit found no node at its position: the file changed since
    for edit in module_edits:
        if edit.op == "import":
            new = add_import(new, *edit.arg)
    code = new.bytes if isinstance(source, bytes) else new.code
    try:
        cst.parse_module(code)
    except (cst.ParserSyntaxError, SyntaxError):
        return None
    return code


def _read(root: str, rel: str, overlay: dict | None) -> bytes | None:
    path = os.path.normpath(os.path.join(root, rel))
    if overlay and path in overlay:
        return overlay[path]
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _file_edits(fixes: list, rel: str) -> list:
    return list(dict.fromkeys(e for fix in fixes for e in fix.edits if e.rel == rel))


# Operations whose edit may not apply although the rule offered it (they check the code
# itself): a finding with one is called fixable only after a dry run says it applies.
CONDITIONAL_OPS = frozenset({"loop_to_spawner"})


def confirm_fixable(diagnostics: list, root: str, overlay: dict | None = None) -> list:
    """`diagnostics` with the fixes that would not apply (a dry run of their edits alone
    on the file's content) taken away, their message saying so: `fixable` is true only
    when the fix will apply. Only fixes with a CONDITIONAL_OPS edit are tried (the others
    apply wherever their node is), so a run without them never imports libcst."""
    import dataclasses

    out = []
    contents: dict[str, bytes | None] = {}
    for diag in diagnostics:
        fix = diag.fix
        if fix is not None and any(e.op in CONDITIONAL_OPS for e in fix.edits):
            ok = True
            reasons: list = []
            for rel in dict.fromkeys(e.rel for e in fix.edits):
                if rel not in contents:
                    contents[rel] = _read(root, rel, overlay)
                if contents[rel] is None or apply_edits(contents[rel], _file_edits([fix], rel), reasons) is None:
                    ok = False
            if not ok:
                why = reasons[0] if reasons else "the edit does not apply to this code"
                diag = dataclasses.replace(diag, fix=None, fixable=False, message=f"{diag.message} (no fix: {why})")
        out.append(diag)
    return out


def fix_round(diagnostics: list, root: str, unsafe: bool, scope: set[str],
              overlay: dict[str, bytes] | None = None, applied_to: list | None = None,
              refused: dict | None = None) -> tuple[dict, int]:
    """Apply the fixes of `diagnostics` (safe ones, and unsafe ones when asked) whose edits
    all fall in `scope` (root-relative paths) to the files' contents (from `overlay`,
    absolute path -> content, when it has them). Returns ({rel: (old bytes, new bytes)},
    number of findings fixed); nothing is written. The fixed findings are appended to
    `applied_to` when given (for `--show-fixes`).

    A fix whose edits do not apply (or whose result does not parse) is left out and the
    others of its file still apply: when all of a file's edits together fail, its fixes
    are added one at a time, each kept only if the file still re-parses with it.
    `refused` (finding key -> reason) collects the fixes left out, and fixes already in it
    are not tried."""
    refused = {} if refused is None else refused
    chosen = [d for d in diagnostics if d.fix is not None and (d.fix.safety == SAFE or unsafe)
              and all(e.rel in scope for e in d.fix.edits) and finding_key(d) not in refused]
    by_file: dict[str, list] = {}
    for diag in chosen:
        for rel in {e.rel for e in diag.fix.edits}:
            by_file.setdefault(rel, []).append(diag)
    changes: dict[str, tuple[bytes, bytes]] = {}
    failed: set = set()  # finding keys whose fix did not apply in one of its files
    for rel, file_diags in sorted(by_file.items()):
        old = _read(root, rel, overlay)
        if old is None:
            failed.update(finding_key(d) for d in file_diags)
            continue
        new = apply_edits(old, _file_edits([d.fix for d in file_diags], rel))
        if new is None:
            kept: list = []
            new = old
            for diag in file_diags:
                attempt = apply_edits(old, _file_edits([d.fix for d in kept + [diag]], rel))
                if attempt is None:
                    failed.add(finding_key(diag))
                else:
                    kept.append(diag)
                    new = attempt
        if new != old:
            changes[rel] = (old, new)
    for key in failed:
        refused.setdefault(key, "its edit does not apply to this code, or the result would not parse")
    # A fix spanning several files is applied only if every one of its files is.
    if failed:
        survivors = [d for d in chosen if finding_key(d) not in failed]
        if len(survivors) < len(chosen):
            return fix_round(survivors, root, unsafe, scope, overlay, applied_to, refused)
    applied = [d for d in chosen if all(e.rel in changes for e in d.fix.edits)]
    if applied_to is not None:
        applied_to.extend(applied)
    return changes, len(applied)


def finding_key(diag) -> tuple:
    """A finding across fix rounds (lines move when a fix edits above it)."""
    return (diag.path, diag.code, diag.entity, diag.message.split(" (no fix:")[0] if diag.entity is None else "")


MAX_FIX_ROUNDS = 5


def fix_until_stable(recheck: Callable[[dict[str, bytes]], Any], result: Any, root: str, unsafe: bool,
                     overlay: dict[str, bytes] | None = None, applied_to: list | None = None) -> tuple:
    """What `check --fix` and `--diff` do: fix in memory, re-check the project with the
    fixed contents (`recheck(overlay)`, overlay: absolute path -> content), and repeat
    until nothing changes (a fix may enable another), at most MAX_FIX_ROUNDS times.
    Returns (the last check result, {rel: (original, fixed)} of the changed files, the
    number of findings fixed). Nothing is written. `overlay`: contents that replace files
    from the start (`--stdin-filename`); `applied_to` collects the fixed findings.

    Every round is verified before it is kept: the re-check must no longer report a
    finding whose fix was applied (nor offer a fix on a changed file's finding forever:
    the last round must settle). A fix that fails this is refused and the round redone
    without it; the findings whose fixes were refused keep no fix and say why."""
    originals: dict[str, bytes] = {}
    overlay = dict(overlay or {})
    fixed = 0
    refused: dict = {}
    rounds = 0
    attempts = 0
    while rounds < MAX_FIX_ROUNDS and attempts < MAX_FIX_ROUNDS * 4:
        attempts += 1
        applied: list = []
        changes, count = fix_round(result.diagnostics, root, unsafe, result.scope, overlay, applied, refused)
        if not changes:
            break
        trial = dict(overlay)
        for rel, (old, new) in changes.items():
            trial[os.path.normpath(os.path.join(root, rel))] = new
        after = recheck(trial)
        left = Counter(finding_key(d) for d in after.diagnostics)
        before = Counter(finding_key(d) for d in result.diagnostics)
        stuck = {finding_key(d) for d in applied if left[finding_key(d)] >= before[finding_key(d)]}
        if stuck:
            for key in stuck:
                refused[key] = "the finding was still reported after the fix"
            continue  # redo the round without them
        for rel, (old, new) in changes.items():
            originals.setdefault(rel, old)
        overlay = trial
        fixed += count
        if applied_to is not None:
            applied_to.extend(applied)
        result = after
        rounds += 1
    else:
        if rounds >= MAX_FIX_ROUNDS:
            # Still changing after MAX_FIX_ROUNDS: the last fixes offered are not stable.
            for diag in result.diagnostics:
                if diag.fix is not None:
                    refused.setdefault(finding_key(diag), "fixing did not settle")
    result.diagnostics = annotate_refused(result.diagnostics, refused, unsafe, result.scope)
    changed = {rel: (old, overlay[os.path.normpath(os.path.join(root, rel))]) for rel, old in originals.items()}
    return result, {rel: pair for rel, pair in changed.items() if pair[0] != pair[1]}, fixed


def annotate_refused(diagnostics: list, refused: dict, unsafe: bool, scope: set) -> list:
    """The findings whose fix was refused: no fix, `fixable` false, and why."""
    import dataclasses

    if not refused:
        return diagnostics
    out = []
    for diag in diagnostics:
        reason = refused.get(finding_key(diag))
        if reason is not None and diag.fix is not None:
            diag = dataclasses.replace(diag, fix=None, fixable=False, message=f"{diag.message} (fix not applied: {reason})")
        out.append(diag)
    return out
