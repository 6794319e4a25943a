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
from typing import Any, Callable

from celerylint.diagnostics import SAFE, Edit

def apply_edits(source: bytes | str, edits: list[Edit]) -> bytes | str | None:
    """The new source after `edits` (all for this file), or None when an edit's node is
    not found, an operation does not apply, or the result does not parse. Bytes in,
    bytes out (in the file's own encoding)."""
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
    except NotApplicable:
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


def fix_round(diagnostics: list, root: str, unsafe: bool, scope: set[str],
              overlay: dict[str, bytes] | None = None, applied_to: list | None = None) -> tuple[dict, int]:
    """Apply the fixes of `diagnostics` (safe ones, and unsafe ones when asked) whose edits
    all fall in `scope` (root-relative paths) to the files' contents (from `overlay`,
    absolute path -> content, when it has them). Returns ({rel: (old bytes, new bytes)},
    number of findings fixed); nothing is written. The fixed findings are appended to
    `applied_to` when given (for `--show-fixes`)."""
    chosen = [d for d in diagnostics if d.fix is not None and (d.fix.safety == SAFE or unsafe)
              and all(e.rel in scope for e in d.fix.edits)]
    fixes = [d.fix for d in chosen]
    by_file: dict[str, list] = {}
    for fix in fixes:
        for rel in {e.rel for e in fix.edits}:
            by_file.setdefault(rel, []).append(fix)
    changes: dict[str, tuple[bytes, bytes]] = {}
    failed: set[str] = set()
    for rel, file_fixes in sorted(by_file.items()):
        path = os.path.normpath(os.path.join(root, rel))
        if overlay and path in overlay:
            old = overlay[path]
        else:
            try:
                with open(path, "rb") as fh:
                    old = fh.read()
            except OSError:
                failed.add(rel)
                continue
        edits = list(dict.fromkeys(e for fix in file_fixes for e in fix.edits if e.rel == rel))
        new = apply_edits(old, edits)
        if new is None:
            failed.add(rel)
        elif new != old:
            changes[rel] = (old, new)
    # A fix spanning several files is applied only if every one of its files is.
    for fix in fixes:
        if any(e.rel in failed for e in fix.edits):
            for rel in {e.rel for e in fix.edits}:
                changes.pop(rel, None)
    applied = [d for d in chosen if all(e.rel in changes for e in d.fix.edits)]
    if applied_to is not None:
        applied_to.extend(applied)
    return changes, len(applied)


MAX_FIX_ROUNDS = 5


def fix_until_stable(recheck: Callable[[dict[str, bytes]], Any], result: Any, root: str, unsafe: bool,
                     overlay: dict[str, bytes] | None = None, applied_to: list | None = None) -> tuple:
    """What `check --fix` and `--diff` do: fix in memory, re-check the project with the
    fixed contents (`recheck(overlay)`, overlay: absolute path -> content), and repeat
    until nothing changes (a fix may enable another), at most MAX_FIX_ROUNDS times.
    Returns (the last check result, {rel: (original, fixed)} of the changed files, the
    number of findings fixed). Nothing is written. `overlay`: contents that replace files
    from the start (`--stdin-filename`); `applied_to` collects the fixed findings."""
    originals: dict[str, bytes] = {}
    overlay = dict(overlay or {})
    fixed = 0
    for _ in range(MAX_FIX_ROUNDS):
        changes, count = fix_round(result.diagnostics, root, unsafe, result.scope, overlay, applied_to)
        if not changes:
            break
        for rel, (old, new) in changes.items():
            originals.setdefault(rel, old)
            overlay[os.path.normpath(os.path.join(root, rel))] = new
        fixed += count
        result = recheck(overlay)
    changed = {rel: (old, overlay[os.path.normpath(os.path.join(root, rel))]) for rel, old in originals.items()}
    return result, {rel: pair for rel, pair in changed.items() if pair[0] != pair[1]}, fixed
