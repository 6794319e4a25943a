"""Adding an import to a module the way a person would: reuse an existing import of
the name, join an existing `from X import ...` line, or add one after the imports."""

from __future__ import annotations

import libcst as cst

from celerylint.fixes.operations import is_docstring, with_layout


def add_import(module, source: str, name: str):
    """`from <source> import <name>`, unless `name` is already bound by an import: joined
    to an existing `from <source> import ...` line, else a new line after the module's
    imports (after the docstring and `__future__` imports when there are none)."""
    body = list(module.body)
    last_import = -1
    for index, stmt in enumerate(body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            if last_import >= 0 or not is_docstring(stmt):
                continue
        for small in getattr(stmt, "body", ()):
            if isinstance(small, (cst.Import, cst.ImportFrom)):
                last_import = index
                if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                    for alias in small.names:
                        bound = alias.asname.name.value if alias.asname else alias.name.value
                        if bound == name:
                            return module
                elif isinstance(small, cst.Import):
                    for alias in small.names:
                        if alias.asname and alias.asname.name.value == name:
                            return module
    for index, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 \
                and isinstance(stmt.body[0], cst.ImportFrom) and stmt.body[0].relative == () \
                and stmt.body[0].module is not None and _dotted_text(stmt.body[0].module) == source \
                and not isinstance(stmt.body[0].names, cst.ImportStar):
            node = stmt.body[0]
            names = list(node.names)
            names = with_layout(names, [cst.ImportAlias(name=cst.Name(name))], False,
                                 node.lpar.whitespace_after if node.lpar else None)
            body[index] = stmt.with_changes(body=[node.with_changes(names=names)])
            return module.with_changes(body=body)
    new = cst.parse_statement(f"from {source} import {name}\n")
    if last_import < 0:
        at = 1 if body and is_docstring(body[0]) else 0
    else:
        at = last_import + 1
    return module.with_changes(body=body[:at] + [new] + body[at:])


def _dotted_text(node) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted_text(node.value)}.{node.attr.value}"
    return ""
