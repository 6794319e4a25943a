"""Helpers for rules that offer fixes: what an edit needs to know about a file."""

from __future__ import annotations

from celerylint.diagnostics import Edit
from celerylint.facts.model import FileFacts


def imported_name(facts: FileFacts, rel: str, source: str, name: str) -> tuple[str, tuple] | None:
    """The local name under which a file can use `source.name`, and the edits needed
    (an import, unless the file already binds it). None when `name` is taken by
    something else in that file."""
    target = tuple(source.split(".")) + (name,)
    for local, imported in facts.imports.items():
        if imported == target:
            return local, ()
    if name in facts.imports or name in facts.assigns:
        return None
    return name, (Edit(rel, None, "import", (source, name)),)


def restore_fix(project, task, fn):
    """TEN003's fix for a task (TEN001's too: the parameter is added only with the
    restore it serves): the project's own restore call first (after a docstring), else
    the body inside its own context manager, else the `restore-import` helper
    (celerylint.project.tenancy.helpers.fix_helper decides which). A `Fix`, or a string
    saying why none is offered."""
    from celerylint.diagnostics import SAFE, Fix
    from celerylint.project.tenancy.helpers import Helper, fix_helper

    if task.kind == "class" or fn is None:
        return "a Task class's run() is not rewritten"
    restore = fix_helper(project, task.rel, "restore")
    context = fix_helper(project, task.rel, "context")
    choices = [(h, op) for h, op in ((restore, "insert_restore"), (context, "wrap_context")) if isinstance(h, Helper)]
    choices.sort(key=lambda pair: pair[0].is_runtime)  # the project's own first; stable: restore before context
    if not choices:
        return restore.reason
    helper, op = choices[0]
    edits = (Edit(task.rel, task.def_span, op, helper.local),)
    if helper.source is not None:
        edits += (Edit(task.rel, None, "import", (helper.source, helper.name)),)
    if not any(p.name == "tenant_id" for p in fn.params):
        edits = (Edit(task.rel, task.def_span, "add_tenant_param"),) + edits
    return Fix(SAFE, edits)
