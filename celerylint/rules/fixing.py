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
