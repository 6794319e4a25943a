"""The fact store of the whole project: every file's facts (loaded on demand for files
the prefilter skipped), name resolution and constant folding.

Names are resolved, not string-matched: a name is looked up in its module's imports
and definitions, and followed through re-exports (`from .celery import app as
celery_app` in a package `__init__`) and star imports. Files that the byte prefilter
skipped are parsed on demand, in batches, when resolution passes through them.
Whatever cannot be resolved or folded is UNKNOWN, and UNKNOWN never produces a finding.

Folding turns a value of the facts into a Python value: str, int, float, bool, None,
list, dict, a `Call` (callee resolved, arguments folded), or UNKNOWN.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Protocol

from celerylint.config import Settings
from celerylint.facts.model import (
    UNKNOWN, BinOp, CallExpr, ClassFacts, DictExpr, FileFacts, IfExpr, Join, Num, Ref, SeqExpr, SourceFile, Str, Value,
)


@dataclass(frozen=True)
class Call:
    """A folded call: its resolved callee and folded arguments (`**x` in kwargs is the
    key "**" with UNKNOWN)."""

    callee: tuple
    args: tuple
    kwargs: dict


class Loader(Protocol):
    """How the index gets the facts of files the prefilter skipped (the engine's)."""

    def facts(self, sources: list[SourceFile]) -> dict[str, FileFacts]: ...

    def search(self, sources: list[SourceFile], groups: tuple[tuple[bytes, ...], ...]) -> list[SourceFile]: ...


class ProjectIndex:
    def __init__(self, root: str, files: list[SourceFile], facts: dict[str, FileFacts | None],
                 settings: Settings, loader: Loader | None = None, enqueuing: set[str] | None = None,
                 roots: list[str] | None = None, declared: Any = None, data_rows: tuple = ()):
        self.root = root
        # The source roots (absolute), the declared dependencies (dependencies.Declared,
        # None when nothing trustworthy is declared) and the django-celery-beat rows of
        # JSON/YAML fixtures (rows.FixtureRow), from the engine.
        self.roots = list(roots or [])
        self.declared = declared
        self.data_rows = tuple(data_rows)
        self._packages: tuple | None = None
        self.settings = settings
        self.loader = loader
        self.files = files
        self._facts = dict(facts)  # rel -> facts (None: not parsed yet)
        self.by_module: dict[str, SourceFile] = {}
        for f in files:
            self.by_module.setdefault(f.module, f)
        self.top_packages = {m.split(".")[0] for m in self.by_module}
        self.notes: list[str] = []  # --verbose remarks (unreadable schedules and the like)
        self.enqueuing = enqueuing or set()  # skipped files that may enqueue tasks
        self.version = 0  # bumped whenever files are loaded on demand
        # The registered name of the task object `name` in `module` (its name or
        # UNKNOWN), or None when it is not a task: how `<task>.name` folds. Set by the
        # task registry.
        self.task_name_of: Callable[[str, str], Any] = lambda module, name: None
        self._canonical: dict[tuple, tuple] = {}
        self._resolved: dict[tuple, tuple] = {}
        self._parsed: list | None = None
        self._parsed_version = -1
        self._demand_searched: set[str] = set()

    # ------------------------------------------------------------------ facts
    def facts_for(self, source: SourceFile) -> FileFacts | None:
        if self._facts.get(source.rel) is None:
            self.load([source])
        return self._facts.get(source.rel)

    def load(self, sources: Iterable[SourceFile]) -> None:
        """Parse, in one parallel batch, the files among `sources` not parsed yet."""
        todo = [s for s in sources if self._facts.get(s.rel) is None and s.rel not in self._demand_searched]
        if not todo or self.loader is None:
            return
        self._demand_searched.update(s.rel for s in todo)
        for rel, facts in self.loader.facts(todo).items():
            self._facts[rel] = facts
        self.version += 1

    def prefetch_imports(self, depth: int = 1) -> None:
        """Load the project modules that the parsed files import, and those they import,
        `depth` levels deep, one parallel batch per level: the models and helpers that
        tenant-scope inference and name resolution reach (loading them one by one as
        resolution reaches them costs a round trip to the parse workers each)."""
        level = [facts for _, facts in list(self.parsed())]
        for _ in range(depth):
            wanted = {}
            for facts in level:
                targets = list(facts.imports.values()) + [tuple(s.split(".")) for s in facts.star_imports]
                targets += [t for fn in facts.functions for t in fn.imports.values()]
                for target in targets:
                    for cut in range(len(target), 0, -1):
                        source = self.by_module.get(".".join(target[:cut]))
                        if source is not None:
                            if self._facts.get(source.rel) is None and source.rel not in self._demand_searched:
                                wanted[source.rel] = source
                            break
            if not wanted:
                return
            self.load(wanted.values())
            level = [self._facts[rel] for rel in wanted if self._facts.get(rel) is not None]

    def parse_files_mentioning(self, *groups: tuple[bytes, ...], among: set[str] | None = None) -> None:
        """Parse the skipped files (optionally only those `among`) that contain a needle
        of every group."""
        if not all(groups) or self.loader is None:
            return
        groups = tuple(tuple(sorted(set(g))) for g in groups)  # a stable key for the cached search
        candidates = [source for source in self.files
                      if (among is None or source.rel in among)
                      and self._facts.get(source.rel) is None and source.rel not in self._demand_searched]
        self.load(self.loader.search(candidates, groups))

    def parsed_facts(self, rel: str) -> FileFacts | None:
        """The facts of a file if it has been parsed (never parses)."""
        return self._facts.get(rel)

    def module_facts(self, module: str) -> FileFacts | None:
        source = self.by_module.get(module)
        return self.facts_for(source) if source is not None else None

    def parsed(self) -> Iterator[tuple[SourceFile, FileFacts]]:
        """(source, facts) of every file parsed so far, in path order. Files parsed
        later (on demand) join the list; the list is rebuilt only then."""
        if self._parsed is None or self._parsed_version != self.version:
            self._parsed = [(s, self._facts[s.rel]) for s in self.files if self._facts.get(s.rel) is not None]
            self._parsed_version = self.version
        return iter(self._parsed)

    # ------------------------------------------------------------------ names
    def packages(self) -> tuple[frozenset, frozenset]:
        """(tops, anywhere): the top-level packages and modules of the project under any
        source root (a file under two roots counts under both: `backend/app/x.py` is
        `app.x` and `backend.app.x`), and every directory or module name of the project
        at any depth (what a `sys.path.insert` in settings could make importable)."""
        if self._packages is None:
            import os

            tops, anywhere = set(self.top_packages), set()
            prefixes = [r.rstrip(os.sep) + os.sep for r in self.roots]
            for source in self.files:
                parts = source.rel[:-3].split("/") if source.rel.endswith(".py") else source.rel.split("/")
                anywhere.update(p for p in parts if p.isidentifier())
                for prefix in prefixes:
                    if source.path.startswith(prefix):
                        first = source.path[len(prefix):].split(os.sep)[0]
                        tops.add(first[:-3] if first.endswith(".py") else first)
            self._packages = (frozenset(tops), frozenset(anywhere | tops))
        return self._packages

    def defines(self, module: str, name: str) -> bool:
        facts = self.module_facts(module)
        return facts is not None and (name in facts.assigns or name in facts.imports)

    def resolve(self, module: str, dotted: tuple) -> tuple:
        """The canonical qualified name of `dotted` as written in `module`."""
        key = (module, dotted)
        found = self._resolved.get(key)
        if found is None:
            found = self._resolved[key] = self._resolve(module, dotted)
        return found

    def _resolve(self, module: str, dotted: tuple) -> tuple:
        facts = self.module_facts(module)
        head = dotted[0]
        if facts is not None:
            target = facts.imports.get(head)
            if target is not None:
                return self.canonical(target + dotted[1:])
            if head in facts.assigns:
                return self.canonical(tuple(module.split(".")) + dotted)
            external = None
            for star in reversed(facts.star_imports):
                if star in self.by_module:
                    if self.defines(star, head):
                        return self.canonical(tuple(star.split(".")) + dotted)
                elif external is None:
                    external = star
            if external is not None:
                return tuple(external.split(".")) + dotted
        return dotted

    def resolve_in(self, module: str, local_imports: dict, dotted: tuple) -> tuple:
        """`resolve` for a name used in a function body, whose own imports come first."""
        if dotted[0] in local_imports:
            return self.canonical(local_imports[dotted[0]] + dotted[1:])
        return self.resolve(module, dotted)

    def canonical(self, qualified: tuple, depth: int = 0) -> tuple:
        """Follow a qualified name through re-exports (`from .x import y` in a package),
        star imports and plain aliases (`app_task = shared_task`) to its definition."""
        cached = self._canonical.get(qualified)
        if cached is not None:
            return cached
        self._canonical[qualified] = qualified  # provisional: stops alias cycles
        result = qualified
        for cut in range(len(qualified), 0, -1):
            module = ".".join(qualified[:cut])
            if module not in self.by_module:
                continue
            rest = qualified[cut:]
            if rest and depth < 25:
                facts = self.module_facts(module)
                if facts is not None:
                    head = rest[0]
                    if head in facts.imports:
                        result = self.canonical(facts.imports[head] + rest[1:], depth + 1)
                    elif head in facts.assigns:
                        value = facts.assigns[head]
                        if type(value) is Ref:
                            result = self.canonical(self.resolve(module, value.dotted) + rest[1:], depth + 1)
                    else:
                        for star in reversed(facts.star_imports):
                            if star in self.by_module and self.defines(star, head):
                                result = self.canonical(tuple(star.split(".")) + rest, depth + 1)
                                break
            break
        self._canonical[qualified] = result
        return result

    def split_definition(self, qualified: tuple) -> tuple[str, tuple] | None:
        """(module, rest) for a qualified name inside the project, else None."""
        for cut in range(len(qualified) - 1, 0, -1):
            module = ".".join(qualified[:cut])
            if module in self.by_module:
                return module, qualified[cut:]
        return None

    def find_class(self, qualified: tuple) -> tuple[str, ClassFacts] | None:
        found = self.split_definition(qualified)
        if found is None or len(found[1]) != 1:
            return None
        module, (name,) = found
        facts = self.module_facts(module)
        if facts is None:
            return None
        for cls in facts.classes:
            if cls.name == name and not cls.nested:
                return module, cls
        return None

    def inherits(self, qualified: tuple, matches, depth: int = 0) -> bool:
        """Whether the class `qualified` is one `matches` accepts, or a project class that
        derives from one (through its bases, across modules; cycles stop at depth 10)."""
        if matches(qualified):
            return True
        found = self.find_class(qualified)
        if found is None or depth > 10:
            return False
        module, cls = found
        return any(type(b) is Ref and self.inherits(self.resolve(module, b.dotted), matches, depth + 1)
                   for b in cls.bases)

    def locate(self, module: str, dotted: tuple) -> tuple[str, Value] | None:
        """(defining module, value) of a module-level name or a class attribute."""
        found = self.split_definition(self.resolve(module, dotted))
        if found is None:
            return None
        target, rest = found
        facts = self.module_facts(target)
        if facts is None:
            return None
        if len(rest) == 1 and rest[0] in facts.assigns:
            return target, facts.assigns[rest[0]]
        if len(rest) == 2:
            for cls in facts.classes:
                if cls.name == rest[0]:
                    for attr in cls.attrs:
                        if attr.name == rest[1]:
                            return target, attr.value
        return None

    # ------------------------------------------------------------------ folding
    def evaluate(self, module: str, value: Value, depth: int = 0) -> Any:
        """Fold a value of the facts into a Python value, a `Call`, or UNKNOWN."""
        if depth > 40:
            return UNKNOWN
        kind = type(value)
        if kind is Str:
            return value.text
        if kind is Num:
            return value.value
        if kind is Join:
            parts = [self.evaluate(module, p, depth + 1) for p in value.parts]
            if all(isinstance(p, str) for p in parts):
                return "".join(parts)
            if all(isinstance(p, (str, int, float)) and not isinstance(p, bool) for p in parts):
                return "".join(str(p) for p in parts)
            return UNKNOWN
        if kind is BinOp:
            left = self.evaluate(module, value.left, depth + 1)
            right = self.evaluate(module, value.right, depth + 1)
            return _arith(value.op, left, right)
        if kind is SeqExpr:
            return [self.evaluate(module, v, depth + 1) for v in value.items]
        if kind is DictExpr:
            if value.spreads:
                return UNKNOWN
            out = {}
            for item in value.items:
                k = self.evaluate(module, item.key, depth + 1)
                if k is UNKNOWN or isinstance(k, (list, dict)):
                    return UNKNOWN
                out[k] = self.evaluate(module, item.value, depth + 1)
            return out
        if kind is IfExpr:
            # Both branches alike fold to their value; otherwise which one holds is
            # not known statically (schedules read both, see schedules.py).
            body = self.evaluate(module, value.body, depth + 1)
            if body is not UNKNOWN and not isinstance(body, Call) \
                    and body == self.evaluate(module, value.orelse, depth + 1):
                return body
            return UNKNOWN
        if kind is CallExpr:
            callee = value.callee
            if callee is None:
                return UNKNOWN
            qualified = self.resolve(module, callee) if callee[0] != "?" else callee
            args = tuple(self.evaluate(module, a, depth + 1) for a in value.args)
            kwargs = {k.name: self.evaluate(module, k.value, depth + 1) for k in value.kwargs if k.name is not None}
            if any(k.name is None for k in value.kwargs):
                kwargs["**"] = UNKNOWN
            return Call(qualified, args, kwargs)
        if kind is Ref:
            return self._evaluate_ref(module, value.dotted, depth)
        return UNKNOWN

    def _evaluate_ref(self, module: str, dotted: tuple, depth: int) -> Any:
        qualified = self.resolve(module, dotted)
        found = self.split_definition(qualified)
        if found is None:
            return UNKNOWN
        target, rest = found
        facts = self.module_facts(target)
        if facts is None:
            return UNKNOWN
        if len(rest) == 1:
            value = facts.assigns.get(rest[0])
            return self.evaluate(target, value, depth + 1) if value is not None else UNKNOWN
        if len(rest) == 2 and rest[1] == "name":
            name = self.task_name_of(target, rest[0])
            if name is not None:
                return name
        if len(rest) >= 2:
            for cls in facts.classes:
                if cls.name == rest[0] and not cls.nested:
                    for attr in cls.attrs:
                        if attr.name == rest[1]:
                            result = self.evaluate(target, attr.value, depth + 1)
                            if len(rest) == 2 or (len(rest) == 3 and rest[2] == "value"):
                                return result
        return UNKNOWN

    def evaluate_pattern(self, module: str, value: Value) -> re.Pattern | None:
        """For a partially foldable string value, a regex of what it can be."""
        pieces = self._pattern_pieces(module, value, 0)
        if pieces is None or all(p is None for p in pieces):
            return None
        regex = "".join(".*" if p is None else re.escape(p) for p in pieces)
        return re.compile(regex + r"\Z", re.DOTALL)

    def _pattern_pieces(self, module: str, value: Value, depth: int) -> list | None:
        if depth > 20:
            return [None]
        if type(value) is Join or (type(value) is BinOp and value.op == "+"):
            parts = value.parts if type(value) is Join else (value.left, value.right)
            out: list = []
            for p in parts:
                sub = self._pattern_pieces(module, p, depth + 1)
                if sub is None:
                    return None
                out.extend(sub)
            return out
        folded = self.evaluate(module, value)
        if isinstance(folded, str):
            return [folded]
        return [None]


def memo(cache: dict, key: Any, compute: Callable[[], Any]) -> Any:
    """`compute()` once per key; False while it runs, which stops recursive questions (a
    class hierarchy or call chain that loops) from looping."""
    if key not in cache:
        cache[key] = False
        cache[key] = compute()
    return cache[key]


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if op == "+" and isinstance(left, list) and isinstance(right, list):  # `SHARED_APPS + [...]`
        return left + right
    numeric = (int, float)
    if isinstance(left, bool) or isinstance(right, bool) or not isinstance(left, numeric) or not isinstance(right, numeric):
        if op == "%" and isinstance(left, str) and isinstance(right, (str, int, float)):
            try:
                return left % right
            except (TypeError, ValueError):
                return UNKNOWN
        return UNKNOWN
    try:
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            return left / right
        if op == "//":
            return left // right
        if op == "%":
            return left % right
    except (ArithmeticError, ValueError):
        return UNKNOWN
    return UNKNOWN
