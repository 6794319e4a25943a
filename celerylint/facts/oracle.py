"""The equality oracle of the two extractors: the facts of `ast_extract` must equal the
libcst extractor's (extract.py) for every file that both parse.

Facts are compared through `normalized`: every span index is replaced by the position
it stands for (`facts.spans[i]`), so the two may number their spans differently, but
every fact, value (with its type: `Num(True)` is not `Num(1)`) and position must be
identical.

    python -m celerylint.facts.oracle DIR_OR_FILE... [--jobs N] [--show N]

walks the .py files and reports every difference, and, separately, the files only one
extractor parses (ast's SyntaxError on syntax newer than this interpreter, where the
fallback to libcst applies; libcst's SYN001 on files Python itself accepts).
"""

from __future__ import annotations

import os
import sys
from typing import Any

from celerylint.facts.model import FileFacts, Unknown, ValueBase


def normalized(facts: FileFacts) -> Any:
    """A comparable form of `facts`: span indexes resolved to positions, types kept."""
    spans = facts.spans

    def norm(value: Any, field: str = "") -> Any:
        if field and (field == "span" or field.endswith("_span")) and type(value) is int:
            return ("at", spans[value] if value >= 0 else None)
        if isinstance(value, Unknown):
            return "UNKNOWN"
        if isinstance(value, ValueBase):
            return (type(value).__name__,) + tuple(norm(v, f) for v, f in zip(value, value._fields))
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return (type(value).__name__,) + tuple((f, norm(v, f)) for v, f in zip(value, value._fields))
        if isinstance(value, (tuple, list)):
            return ("seq",) + tuple(norm(v) for v in value)
        if isinstance(value, (set, frozenset)):
            return ("set",) + tuple(sorted((norm(v) for v in value), key=repr))
        if isinstance(value, dict):
            return ("dict",) + tuple(sorted(((norm(k), norm(v)) for k, v in value.items()), key=repr))
        return repr(value)

    return tuple((field, norm(getattr(facts, field), field)) for field in FileFacts._fields if field != "spans")


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two normalized forms differ, as readable paths."""
    if a == b:
        return []
    if isinstance(a, tuple) and isinstance(b, tuple) and a[:1] == b[:1]:
        out = []
        if len(a) != len(b):
            out.append(f"{path}: {len(a) - 1} vs {len(b) - 1} items")
        for i, (x, y) in enumerate(zip(a, b)):
            label = x[0] if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) and x[0] == y[0] else i
            out += differences(x, y, f"{path}/{label}")
        if out:
            return out
    return [f"{path}: ast {_short(a)} != libcst {_short(b)}"]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 400 else text[:400] + "..."


def compare(data: bytes, module: str = "pkg.mod", is_package: bool = False) -> tuple[str, list[str]]:
    """Run both extractors: ("equal" | "different" | "ast-only" | "libcst-only" |
    "neither", differences or a reason). "ast-only": libcst's SYN001, or an exception
    of the libcst extractor (which `parse_file` reports as an internal error)."""
    from celerylint.facts.ast_extract import extract_ast
    from celerylint.facts.extract import extract_libcst

    try:
        mine = extract_ast(data, module, is_package, strict=True)
    except Exception as exc:  # a bug of the ast extractor
        return "different", [f"ast extractor raised {type(exc).__name__}: {exc}"]
    try:
        reference = extract_libcst(data, module, is_package)
    except Exception as exc:  # a bug of the libcst extractor (in production: SYN001 "internal error")
        if mine is None:
            return "neither", [f"libcst extractor raised {type(exc).__name__}: {exc}"]
        return "ast-only", [f"libcst extractor raised {type(exc).__name__}: {exc}"]
    if mine is None:
        return ("neither" if reference.error is not None else "libcst-only"), [_ast_reason(data)]
    if reference.error is not None:
        return "ast-only", [reference.error.message]
    found = differences(normalized(mine), normalized(reference))
    return ("different" if found else "equal"), found


def _ast_reason(data: bytes) -> str:
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(data)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return "identifiers change under NFKC normalization"


def python_files(paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        if os.path.isfile(path):
            out.append(path)
            continue
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in (".git", "node_modules", "__pycache__"))
            out += [os.path.join(root, f) for f in sorted(files) if f.endswith(".py")]
    return out


def _module_name(path: str) -> tuple[str, bool]:
    parts = os.path.normpath(path).split(os.sep)[-4:]
    is_package = parts[-1] == "__init__.py"
    parts[-1] = parts[-1][:-3]
    if is_package:
        parts = parts[:-1]
    return ".".join(p for p in parts if p.isidentifier()) or "mod", is_package


def _compare_file(path: str) -> tuple[str, str, list[str]]:
    with open(path, "rb") as fh:
        data = fh.read()
    module, is_package = _module_name(path)
    status, notes = compare(data, module, is_package)
    return path, status, notes


def main(argv: list[str] | None = None) -> int:
    import argparse
    from collections import Counter
    from concurrent.futures import ProcessPoolExecutor

    parser = argparse.ArgumentParser(prog="python -m celerylint.facts.oracle", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--show", type=int, default=20, help="differences shown per file")
    args = parser.parse_args(argv)
    files = python_files(args.paths)
    counts: Counter = Counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        for path, status, notes in pool.map(_compare_file, files, chunksize=16):
            counts[status] += 1
            if status != "equal":
                print(f"{status}: {path}")
                for note in notes[:args.show]:
                    print(f"    {note}")
    print(f"{len(files)} files: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 1 if counts["different"] else 0


if __name__ == "__main__":
    sys.exit(main())
