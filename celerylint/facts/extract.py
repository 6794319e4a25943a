"""The per-file pass: one parse of a file into its `FileFacts` (facts/model.py).

ast first; libcst for syntax newer than the running interpreter; libcst always for
--fix. `extract` parses with the standard library's `ast` (ast_extract.py, several times
faster and smaller); when `ast` cannot parse the file (e.g. Python 3.14's `except A, B:`
on an older interpreter, which libcst parses), the libcst extractor of this module runs
exactly as before, including its SYN001 messages and positions for files that neither
parses. Both give equal facts for every file that both parse (tests/test_ast_facts.py);
this module stays the reference, and the fixes (fixes/) always use libcst.

Everything the rules need is extracted here, once per file content, and cached: the
module's imports and assignments, its functions (decorators, parameters, the first
statement, calls, names used, loops, restore and enqueue calls), classes, schedule
operations and `add_periodic_task` calls. Expressions are kept as values (Str, Ref,
CallExpr, ...) that the project layer folds later, resolving names across modules.

Bodies are read by a walk over node fields (`_BodyScan`), several times cheaper than a
libcst visitor, and positions are computed only for the nodes the facts refer to
(spans.py).
"""

from __future__ import annotations

from typing import Any

from celerylint.facts import ast_extract
from celerylint.facts.common import (  # ExtractOptions is imported from here too
    _BEAT_SIGNALS, _INTERESTING_CALLS, _LOGGING_METHODS, _LOGGING_ROOTS, _REGISTRATIONS, KEY_METHODS, SQL_METHODS,
    TASK_SIGNALS, ExtractOptions, _import_target, _interesting_name, is_crontab_call,
    kept_attribute, restore_candidate, row_write, schedule_target, signal_sender,
)
from celerylint.facts.model import (
    ENQUEUE_METHODS, OTHER_STATEMENT, UNKNOWN, BinOp, CallExpr, ClassAttr, ClassFacts, CrontabCall, DecoratorFacts,
    DictComp, DictExpr, DictItem, EnqueueFacts, FileFacts, FirstStatement, FunctionFacts, Guard, IfExpr, Join,
    Keyword, LoopFacts, Num, Op, ParamFacts, PeriodicFacts, Ref, RestoreCall, RowWrite, SeqExpr, SignalHandler, Span,
    Str, SyntaxFacts, Value, refs_of,
)
from celerylint.facts.prefilter import noqa_lines
from celerylint.facts.spans import compute_spans


# --------------------------------------------------------------------------- guards

MAX_NESTING = 200  # CPython's own limit on nested brackets


def _too_deep(data: bytes, limit: int) -> tuple[int, int] | None:
    """The position where brackets first nest deeper than `limit`, or None. Python
    rejects such files, and libcst's native parser can overflow its stack on them."""
    if data.count(b"(") + data.count(b"[") + data.count(b"{") <= limit:
        return None
    depth = peak = 0
    for byte in data:
        if byte in (40, 91, 123):
            depth += 1
            if depth > peak:
                peak = depth
        elif byte in (41, 93, 125):
            depth -= 1
    if peak <= limit:
        return None
    # Brackets inside strings and comments count above: check with the tokenizer.
    import io
    import tokenize

    depth = 0
    try:
        for tok in tokenize.tokenize(io.BytesIO(data).readline):
            if tok.type == tokenize.OP:
                if tok.string in "([{":
                    depth += 1
                    if depth > limit:
                        return tok.start[0], tok.start[1] + 1
                elif tok.string in ")]}":
                    depth -= 1
    except tokenize.TokenError as exc:
        # Python 3.12+ tokenizes with CPython's own tokenizer, which stops at the limit.
        message, where = (tuple(exc.args) + (None, None))[:2]
        if "nested" in str(message) and isinstance(where, tuple) and len(where) == 2:
            return where[0], where[1]
        return None
    except (SyntaxError, UnicodeDecodeError):
        return None
    return None


def too_deep(data: bytes) -> bool:
    """Whether brackets nest deeper than Python allows (such a file goes to the workers,
    where libcst decides, never to the parser in the main process)."""
    return _too_deep(data, MAX_NESTING) is not None


def syntax_error_facts(module: str, is_package: bool, message: str, line: int = 1, column: int = 1,
                       data: bytes = b"") -> FileFacts:
    return FileFacts(module, is_package, {}, (), {}, (), (), (), (), (), noqa_lines(data),
                     SyntaxFacts(message, line, column))


# --------------------------------------------------------------------------- extraction


def extract(data: bytes, module: str, is_package: bool, options: ExtractOptions = ExtractOptions()) -> FileFacts:
    """The facts of `data`: ast first (ast_extract.py); libcst for syntax newer than the
    running interpreter, and for files that neither parses (SYN001). (Brackets nested
    deeper than Python allows make `ast` fail, so the nesting guard libcst needs runs
    only on the way to libcst.)"""
    facts = ast_extract.extract_ast(data, module, is_package, options)
    if facts is not None:
        return facts
    return extract_libcst(data, module, is_package, options)


def extract_libcst(data: bytes, module: str, is_package: bool,
                   options: ExtractOptions = ExtractOptions()) -> FileFacts:
    """The facts of `data` from libcst alone: the fallback of `extract`, and the reference
    the ast extractor is compared with (tests/test_ast_facts.py, facts/oracle.py)."""
    deep = _too_deep(data, MAX_NESTING)
    if deep is not None:
        return syntax_error_facts(module, is_package, "too many nested parentheses", *deep, data=data)
    return _libcst_facts(data, module, is_package, options)


def _libcst_facts(data: bytes, module: str, is_package: bool, options: ExtractOptions) -> FileFacts:
    """Parse `data` once with libcst and return its facts; a parse failure is SYN001."""
    import libcst as cst

    try:
        tree = cst.parse_module(data)
    except cst.ParserSyntaxError as exc:
        detail = exc.message.strip().splitlines()[0] if exc.message.strip() else "invalid syntax"
        line, column = exc.raw_line, exc.raw_column + 1
        python = _python_syntax_error(data)
        if python is not None:  # CPython locates errors more precisely than libcst
            detail, line, column = python
        elif b"\0" in data:
            at = data.index(b"\0")
            detail, line, column = "null byte in source", data.count(b"\n", 0, at) + 1, at - data.rfind(b"\n", 0, at)
        return syntax_error_facts(module, is_package, f"invalid syntax: {detail}", line, column, data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        text = getattr(exc, "msg", None) or str(exc)
        return syntax_error_facts(module, is_package, f"cannot decode file: {text}", data=data)
    except RecursionError:
        return syntax_error_facts(module, is_package, "too deeply nested to parse", data=data)
    if not _BINOPS:
        _init_binops()
    extractor = _Extractor(module, is_package, options)
    extractor.crontab_text = b"crontab" in data
    extractor.visit_module(tree)
    return extractor.facts(compute_spans(tree, extractor.wanted), noqa_lines(data))


def _python_syntax_error(data: bytes) -> tuple[str, int, int] | None:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, "<file>", "exec", dont_inherit=True, flags=0x400)  # PyCF_ONLY_AST
    except SyntaxError as exc:
        if exc.lineno:
            return exc.msg, exc.lineno, max(1, exc.offset or 1)
    except (ValueError, RecursionError, MemoryError):
        return None
    return None


# Dotted names ------------------------------------------------------------------------


def dotted(node: Any) -> tuple[str, ...] | None:
    import libcst as cst

    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return tuple(reversed(parts))
    return None


class _Extractor:
    def __init__(self, module: str, is_package: bool, options: ExtractOptions):
        import libcst as cst

        self.cst = cst
        self.options = options
        self.enqueues: list[EnqueueFacts] = []
        self.module = module
        self.is_package = is_package
        self.wanted: dict[int, Any] = {}  # id(node) -> node
        self.span_ids: dict[int, int] = {}  # id(node) -> span index
        self.imports: dict[str, tuple[str, ...]] = {}
        self.rebound: dict[str, tuple] = {}  # names bound by more than one import
        self.star_imports: list[str] = []
        self.assigns: dict[str, Value] = {}
        self.functions: list[FunctionFacts] = []
        self.classes: list[ClassFacts] = []
        self.periodic: list[PeriodicFacts] = []
        self.ops: list[Op] = []
        self.handlers: list[SignalHandler] = []
        self.branch = ""
        self.body_branch = ""  # the arms of a function body's statement being read (block)
        self.rows: list[RowWrite] = []
        self.row_nodes: list = []  # the call node of each row, for bind_row
        self.crontabs: set[CrontabCall] = set()
        self.crontab_text = True  # whether the source mentions "crontab" (set by the caller)

    # -- spans
    def span(self, node: Any) -> int:
        key = id(node)
        index = self.span_ids.get(key)
        if index is None:
            index = len(self.span_ids)
            self.span_ids[key] = index
            self.wanted[key] = node
        return index

    def facts(self, positions: dict[int, Span], noqa: dict) -> FileFacts:
        spans = [None] * len(self.span_ids)
        for key, index in self.span_ids.items():
            spans[index] = positions.get(key, (1, 1, 1, 1))
        return FileFacts(
            module=self.module,
            is_package=self.is_package,
            imports=self.imports,
            rebound=self.rebound,
            star_imports=tuple(self.star_imports),
            assigns=self.assigns,
            functions=tuple(self.functions),
            classes=tuple(self.classes),
            periodic=tuple(self.periodic),
            ops=tuple(self.ops),
            spans=tuple(spans),
            noqa=noqa,
            handlers=tuple(self.handlers),
            enqueues=tuple(self.enqueues),
            rows=tuple(self.rows),
            crontabs=frozenset(self.crontabs),
        )

    def bind_row(self, value: Any, name: str) -> None:
        """`name = <row write>` (or `name, _ = ...`, or `name = <row write>[0]`): the
        local name the row is bound to."""
        cst = self.cst
        if isinstance(value, cst.Subscript) and len(value.slice) == 1 and isinstance(value.slice[0].slice, cst.Index):
            index = value.slice[0].slice.value
            if isinstance(index, cst.Integer) and index.evaluated_value == 0:
                value = value.value
        if isinstance(value, cst.Call) and self.row_nodes[-1] is value:
            self.rows[-1] = self.rows[-1]._replace(bound=name)

    def crontab_calls(self, tree: Any) -> None:
        """Every call of a name ending in `crontab` (CrontabCall), with whether it sits in
        a function, lambda, comprehension or class body (where names may be local)."""
        cst = self.cst
        local_types = (cst.FunctionDef, cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp,
                       cst.ClassDef)
        stack = [(tree, False)]
        while stack:
            node, local = stack.pop()
            t = type(node)
            if t is cst.Call and is_crontab_call(dotted(node.func)):
                self.crontabs.add(CrontabCall(self.call_value(node), self.span(node), local))
            inner = local or t in local_types
            for child in node.children:
                stack.append((child, inner))

    # -- values
    def value(self, node: Any) -> Value:
        cst = self.cst
        t = type(node)
        if t is cst.SimpleString:
            try:
                v = node.evaluated_value
            except Exception:
                return UNKNOWN
            return Str(v) if isinstance(v, str) else UNKNOWN
        if t is cst.Name:
            if node.value in ("True", "False", "None"):
                return Num({"True": True, "False": False, "None": None}[node.value])
            if node.value == "__name__":
                return Str(self.module)
            return Ref((node.value,))
        if t is cst.Attribute:
            d = dotted(node)
            return Ref(d) if d is not None else UNKNOWN
        if t is cst.Integer or t is cst.Float:
            try:
                return Num(node.evaluated_value)
            except Exception:
                return UNKNOWN
        if t is cst.ConcatenatedString:
            return Join((self.value(node.left), self.value(node.right)))
        if t is cst.FormattedString:
            return self._fstring(node)
        if t is cst.Call:
            return self.call_value(node)
        if t is cst.Dict:
            return self.dict_value(node)
        if t in (cst.List, cst.Tuple, cst.Set):
            elems = []
            for el in node.elements:
                if isinstance(el, cst.StarredElement):
                    return UNKNOWN
                elems.append(self.value(el.value))
            return SeqExpr(tuple(elems))
        if t is cst.BinaryOperation:
            op = _BINOPS.get(type(node.operator))
            if op is None:
                return UNKNOWN
            return BinOp(op, self.value(node.left), self.value(node.right))
        if t is cst.UnaryOperation and isinstance(node.operator, cst.Minus):
            inner = self.value(node.expression)
            if type(inner) is Num and isinstance(inner.value, (int, float)) and not isinstance(inner.value, bool):
                return Num(-inner.value)
            return BinOp("*", Num(-1), inner)
        if t is cst.IfExp:
            return IfExpr(self.value(node.test), self.value(node.body), self.value(node.orelse))
        if t is cst.DictComp:
            return self._dict_comp(node)
        return UNKNOWN

    def _dict_comp(self, node: Any) -> Value:
        """`{key: value for targets in iterable}`: one `for`, no `if`, names as targets."""
        cst = self.cst
        clause = node.for_in
        if clause.inner_for_in is not None or clause.ifs or clause.asynchronous is not None:
            return UNKNOWN
        target = clause.target
        if isinstance(target, cst.Name):
            targets: tuple = (target.value,)
        elif isinstance(target, (cst.Tuple, cst.List)) and target.elements and all(
                isinstance(e, cst.Element) and isinstance(e.value, cst.Name) for e in target.elements):
            targets = tuple(e.value.value for e in target.elements)
        else:
            return UNKNOWN
        return DictComp(self.value(node.key), self.value(node.value), targets, self.value(clause.iter))

    def _fstring(self, node: Any) -> Value:
        cst = self.cst
        if "b" in node.prefix.lower():
            return UNKNOWN
        raw = "r" in node.prefix.lower()
        parts = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text = part.value.replace("{{", "{").replace("}}", "}")
                if not raw and "\\" in text:
                    try:
                        text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
                    except Exception:
                        return UNKNOWN
                parts.append(Str(text))
            else:
                if part.conversion is not None or part.format_spec:
                    return UNKNOWN
                parts.append(self.value(part.expression))
        return Join(tuple(parts))

    def call_value(self, node: Any) -> CallExpr:
        cst = self.cst
        args = []
        kwargs = []
        for arg in node.args:
            if arg.keyword is not None:
                kwargs.append(Keyword(arg.keyword.value, self.value(arg.value)))
            elif arg.star == "**":
                kwargs.append(Keyword(None, self.value(arg.value)))
            elif arg.star == "*":
                args.append(UNKNOWN)
            else:
                args.append(self.value(arg.value))
        callee = dotted(node.func)
        if callee is None and isinstance(node.func, cst.Attribute):
            # e.g. crontab.from_string(...) on a call result: keep the attribute name
            callee = ("?", node.func.attr.value)
        return CallExpr(callee, tuple(args), tuple(kwargs))

    def dict_value(self, node: Any) -> DictExpr:
        cst = self.cst
        items = []
        spreads = []
        for el in node.elements:
            if isinstance(el, cst.StarredDictElement):
                spreads.append(self.value(el.value))
                continue
            key = self.value(el.key)
            val = self.value(el.value)
            key_span = value_span = -1
            if type(val) is DictExpr:
                # A dict of dicts: its keys may be beat entry names (and its values entries).
                key_span, value_span = self.span(el.key), self.span(el.value)
            elif key == Str("task"):
                value_span = self.span(el.value)
            items.append(DictItem(key, val, key_span, value_span))
        return DictExpr(tuple(items), tuple(spreads))

    # -- module walk
    def visit_module(self, tree: Any) -> None:
        self.statements(tree.body, scope="module")
        if self.crontab_text:
            self.crontab_calls(tree)

    def statements(self, body: Any, scope: str) -> None:
        cst = self.cst
        outer = self.branch
        for number, stmt in enumerate(body):
            t = type(stmt)
            if t is cst.SimpleStatementLine:
                for small in stmt.body:
                    self.small_statement(small, scope)
            elif t is cst.FunctionDef:
                self.function(stmt, nested=scope != "module")
            elif t is cst.ClassDef:
                self.class_def(stmt, nested=scope != "module")
            else:
                inner = "loop" if scope == "module" and t in (cst.For, cst.While) else scope
                for arm, suite in enumerate(_suites(stmt)):
                    self.branch = f"{outer}/{number}.{arm}"
                    self.suite(suite, inner)
                self.branch = outer

    def suite(self, suite: Any, scope: str) -> None:
        if isinstance(suite, self.cst.SimpleStatementSuite):
            for small in suite.body:
                self.small_statement(small, scope)
        else:
            self.statements(suite.body, scope)

    def small_statement(self, small: Any, scope: str) -> None:
        cst = self.cst
        t = type(small)
        if scope == "module" or scope == "loop":
            if t is cst.Import or t is cst.ImportFrom:
                self.bind_imports(self.import_names(small))
                return
        if t is cst.Assign:
            value = self.value(small.value)
            for target in small.targets:
                self.assignment(target.target, value, small, scope)
        elif t is cst.AnnAssign and small.value is not None:
            self.assignment(small.target, self.value(small.value), small, scope)
        elif t is cst.Expr and isinstance(small.value, cst.Call):
            self.call_statement(small.value, small, scope)
        elif t is cst.AugAssign and isinstance(small.operator, cst.BitOrAssign):
            self.augmented(small.target, self.value(small.value), small, scope)

    def augmented(self, target: Any, value: Value, stmt: Any, scope: str) -> None:
        """`X |= value` at module level: X's value becomes `X | value` (its previous
        value inline), and a schedule name gets an "ior" op."""
        if scope not in ("module", "loop"):
            return
        d = dotted(target)
        if d is None:
            return
        if len(d) == 1:
            previous = self.assigns.get(d[0], UNKNOWN)
            self.assigns[d[0]] = BinOp("|", previous, value) if scope == "module" else UNKNOWN
        if schedule_target(d):
            self.ops.append(Op("ior", d, value, UNKNOWN, self.span(stmt), "module"))

    def bind_imports(self, found: dict) -> None:
        """Module-level import bindings; a name imported again with another target (the
        arms of `if`/`try`) keeps every target in `rebound`, in order."""
        for name, target in found.items():
            old = self.imports.get(name)
            if old is not None and old != target:
                self.rebound[name] = tuple(dict.fromkeys(self.rebound.get(name, (old,)) + (target,)))
        self.imports.update(found)

    def import_names(self, node: Any) -> dict[str, tuple]:
        """local name -> absolute dotted target for an import statement (a star import
        is remembered in `star_imports` instead)."""
        cst = self.cst
        names: dict[str, tuple] = {}
        if isinstance(node, cst.Import):
            for alias in node.names:
                target = dotted(alias.name)
                if target is not None:
                    if alias.asname is not None:
                        names[alias.asname.name.value] = target
                    else:
                        names[target[0]] = target[:1]
            return names
        base = dotted(node.module) if node.module is not None else ()
        if base is None:
            return names
        source = _import_target(self.module, self.is_package, len(node.relative), base)
        if isinstance(node.names, cst.ImportStar):
            self.star_imports.append(".".join(source))
            return names
        for alias in node.names:
            if isinstance(alias.name, cst.Name):
                local = alias.asname.name.value if alias.asname is not None else alias.name.value
                names[local] = source + (alias.name.value,)
        return names

    def assignment(self, target: Any, value: Value, stmt: Any, scope: str) -> None:
        cst = self.cst
        if scope.startswith("class:"):
            return  # handled by class_def
        if isinstance(target, cst.Name):
            if scope in ("module", "loop"):
                self.assigns[target.value] = value if scope == "module" else UNKNOWN
                if _interesting_name(target.value) or type(value) is DictExpr:
                    self.ops.append(Op("assign", (target.value,), value, UNKNOWN, self.span(stmt), "module"))
            return
        if isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                if isinstance(el.value, cst.Name) and scope in ("module", "loop"):
                    self.assigns[el.value.value] = UNKNOWN
            return
        if scope not in ("module", "loop"):
            return
        if isinstance(target, cst.Attribute):
            d = dotted(target)
            if d is not None:
                self.ops.append(Op("assign", d, value, UNKNOWN, self.span(stmt), "module"))
        elif isinstance(target, cst.Subscript):
            d = dotted(target.value)
            if d is not None and len(target.slice) == 1 and isinstance(target.slice[0].slice, cst.Index):
                key_node = target.slice[0].slice.value
                key = self.value(key_node)
                if type(value) is DictExpr:
                    # `SCHEDULE["name"] = {...}`: the key is the entry name.
                    key_span = self.span(key_node)
                    entry = DictExpr((DictItem(key, value, key_span, self.span(stmt.value)),), ())
                    self.ops.append(Op("setitem", d, entry, key, self.span(stmt), "module"))
                else:
                    self.ops.append(Op("setitem", d, value, key, self.span(stmt), "module"))

    def call_statement(self, call: Any, stmt: Any, scope: str) -> None:
        callee = dotted(call.func)
        if callee is None:
            return
        last = callee[-1]
        if last == "add_periodic_task":
            self.add_periodic(call, callee[:-1], scope)
            return
        if scope not in ("module", "loop"):
            if scope.startswith("function:") and last == "update" and (
                    schedule_target(callee[:-1]) or callee[-2:-1] == ("conf",)):
                self.ops.append(Op("call", callee, self.call_value(call), UNKNOWN, self.span(stmt), scope))
            return
        if last in _INTERESTING_CALLS or len(callee) == 1 or last in _REGISTRATIONS:
            self.ops.append(Op("call", callee, self.call_value(call), UNKNOWN, self.span(stmt), "module"))
            if last == "connect" and len(callee) >= 2 and (callee[-2] in _BEAT_SIGNALS or callee[-2] in TASK_SIGNALS) \
                    and call.args:
                fn = dotted(call.args[0].value)
                if fn is not None and len(fn) == 1:
                    if callee[-2] in _BEAT_SIGNALS:
                        self.handlers.append(SignalHandler(fn[0], callee[:-2]))
                    else:
                        sender = next((a.value for a in call.args if a.keyword is not None
                                       and a.keyword.value == "sender"), None)
                        self.handlers.append(SignalHandler(fn[0], (dotted(sender) or ()) if sender is not None
                                                           else (), callee[-2]))

    def add_periodic(self, call: Any, receiver: tuple[str, ...], scope: str) -> None:
        """`receiver.add_periodic_task(schedule, sig, name=..., **options)`; inside a
        function, `scope` is "function:<name>:<first parameter>" so that the index can
        tell that `sender` is the app the handler is connected to."""
        cst = self.cst
        function = sender = None
        if scope.startswith("function:"):
            _, function, sender = scope.split(":", 2)
        positional = [a for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a for a in call.args if a.keyword is not None}
        schedule_node = positional[0].value if positional else (keywords["schedule"].value if "schedule" in keywords else None)
        sig_node = positional[1].value if len(positional) > 1 else (keywords["sig"].value if "sig" in keywords else None)
        schedule = self.value(schedule_node) if schedule_node is not None else UNKNOWN
        task, task_span, args, kwargs = UNKNOWN, -1, UNKNOWN, UNKNOWN
        if isinstance(sig_node, cst.Call):
            task, task_span, args, kwargs = self.signature(sig_node)
        name_arg = keywords.get("name")
        name = self.value(name_arg.value) if name_arg is not None else UNKNOWN
        name_span = self.span(name_arg.value) if name_arg is not None else -1
        if "args" in keywords:
            args = self.value(keywords["args"].value)
        if "kwargs" in keywords:
            kwargs = self.value(keywords["kwargs"].value)
        options = tuple(
            Keyword(k, self.value(a.value)) for k, a in keywords.items() if k not in ("schedule", "sig", "name", "args", "kwargs")
        )
        self.periodic.append(PeriodicFacts(
            receiver, function, sender, schedule, task, task_span, args, kwargs, name, name_span, options,
            self.span(call), self.branch + (self.body_branch if function is not None else ""),
        ))

    def signature(self, sig: Any) -> tuple[Value, int, Value, Value]:
        """`task.s(...)`, `task.si(...)`, `task.signature(args, kwargs)`,
        `signature("name", args, kwargs)`, `app.signature("name", ...)`
        -> (task value, task span, args value, kwargs value)."""
        cst = self.cst
        callee = dotted(sig.func)
        if callee is None or any(a.star for a in sig.args):
            return UNKNOWN, -1, UNKNOWN, UNKNOWN
        positional = [a.value for a in sig.args if a.keyword is None]
        keywords = {a.keyword.value: a.value for a in sig.args if a.keyword is not None}
        first = positional[0] if positional else keywords.get("varies")
        named = callee[-1] == "signature" and first is not None and (
            isinstance(first, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))
            or (len(callee) == 1 and isinstance(first, (cst.Name, cst.Attribute)))
        )
        if named:
            rest = positional[1:]
        elif callee[-1] in ("s", "si", "signature") and len(callee) > 1:
            first = sig.func.value
            rest = positional
            if callee[-1] != "signature":
                args = SeqExpr(tuple(self.value(p) for p in positional))
                kwargs = DictExpr(tuple(DictItem(Str(k), self.value(v), -1, -1) for k, v in keywords.items()), ())
                return Ref(callee[:-1]), self.span(first), args, kwargs
        else:
            return UNKNOWN, -1, UNKNOWN, UNKNOWN
        args = self.value(rest[0]) if rest else self.value(keywords["args"]) if "args" in keywords else SeqExpr(())
        kwargs = self.value(rest[1]) if len(rest) > 1 else self.value(keywords["kwargs"]) if "kwargs" in keywords else DictExpr((), ())
        task = self.value(first) if named else Ref(callee[:-1])
        return task, self.span(first), args, kwargs

    # -- definitions
    def decorator(self, dec: Any) -> DecoratorFacts:
        cst = self.cst
        expr = dec.decorator
        if isinstance(expr, cst.Call):
            value = self.call_value(expr)
            name_span = -1
            for arg in expr.args:
                if arg.keyword is not None and arg.keyword.value == "name":
                    name_span = self.span(arg.value)
            return DecoratorFacts(dotted(expr.func), value.args, value.kwargs, self.span(dec), name_span)
        return DecoratorFacts(dotted(expr), (), (), self.span(dec), -1)

    def function(self, node: Any, nested: bool, owner: str | None = None) -> None:
        """A function definition. Module-level functions and methods (`owner` is the
        class) get their bodies scanned; functions nested in a function are part of the
        enclosing function's scan."""
        decorators = tuple(self.decorator(d) for d in node.decorators)
        name = node.name.value
        scanned = not nested or owner is not None
        if decorators or scanned:
            body = _BodyScan(self, f"{owner}.{name}" if owner else name)
            if scanned:
                body.visit(node.body, ())
            self.functions.append(FunctionFacts(
                name, decorators, self.span(node.name), nested, self.branch,
                # Parameters matter for tasks only: decorated functions and Task.run methods.
                params=self.params(node.params) if decorators or name == "run" else (),
                first=self.first_statement(node.body), owner=owner, **body.function_facts(),
            ))
        if not nested:
            self.assigns[name] = UNKNOWN
        for dec in decorators:
            d = dec.dotted
            if d is not None and len(d) >= 3 and d[-1] == "connect" and d[-2] in _BEAT_SIGNALS:
                self.handlers.append(SignalHandler(name, d[:-2]))
            elif d is not None and len(d) >= 2 and d[-1] == "connect" and d[-2] in TASK_SIGNALS:
                self.handlers.append(SignalHandler(name, signal_sender(dec.kwargs), d[-2]))
        params = node.params.params
        first = params[0].name.value if params else ""
        self.block(node.body, f"function:{name}:{first}")

    def params(self, params: Any) -> tuple:
        cst = self.cst
        out = []
        groups = (("posonly", params.posonly_params), ("pos", params.params),
                  ("vararg", [params.star_arg] if isinstance(params.star_arg, cst.Param) else []),
                  ("kwonly", params.kwonly_params),
                  ("kwarg", [params.star_kwarg] if params.star_kwarg is not None else []))
        for kind, group in groups:
            for param in group:
                default = self.value(param.default) if param.default is not None else None
                out.append(ParamFacts(param.name.value, kind, default, self.span(param)))
        return tuple(out)

    def first_statement(self, body: Any) -> FirstStatement:
        """The first statement after a docstring, when it is a call or a `with` of a call."""
        cst = self.cst
        stmts = list(body.body) if isinstance(body, cst.IndentedBlock) else [body]
        if stmts and _is_docstring(stmts[0]):
            stmts = stmts[1:]
        lookups: set = set()
        skipped = 0
        while len(stmts) > 1 and skipped < 3 and isinstance(stmts[0], cst.SimpleStatementLine) \
                and len(stmts[0].body) == 1 and _named_assignment(stmts[0].body[0], cst):
            lookups.update(refs_of(self.value(stmts[0].body[0].value)))
            stmts = stmts[1:]
            skipped += 1
        found = frozenset(lookups)
        if not stmts:
            return OTHER_STATEMENT
        stmt = stmts[0]
        if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            small = stmt.body[0]
            if isinstance(small, cst.Return) and small.value is not None:
                small = cst.Expr(small.value)  # `return helper(tenant_id=tenant_id)` delegates like a call
            if isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and dotted(small.value.func):
                return self._first_call("call", small.value, False, found)
        elif isinstance(stmt, cst.With) and stmt.items and isinstance(stmt.items[0].item, cst.Call):
            if dotted(stmt.items[0].item.func):
                return self._first_call("with", stmt.items[0].item, len(stmts) == 1, found)
        return OTHER_STATEMENT

    def _first_call(self, kind: str, call: Any, wraps_rest: bool, lookups: frozenset) -> FirstStatement:
        value = self.call_value(call)
        first_arg = call.args[0].value if call.args else None
        return FirstStatement(kind, dotted(call.func), value.args, value.kwargs, self.span(call),
                              self.span(first_arg) if first_arg is not None else -1, wraps_rest, lookups)

    def block(self, body: Any, scope: str, branch: str = "") -> None:
        """Walk a function body: nested definitions, statement-level calls and schedule
        changes, with the arms (`branch`) of if/try statements they sit in."""
        cst = self.cst
        for number, stmt in enumerate(body.body if isinstance(body, cst.IndentedBlock) else (body,)):
            t = type(stmt)
            if t is cst.SimpleStatementLine or t is cst.SimpleStatementSuite:
                self.body_branch = branch
                for small in stmt.body:
                    ts = type(small)
                    if ts is cst.Expr and isinstance(small.value, cst.Call):
                        self.call_statement(small.value, small, scope)
                    elif ts is cst.Assign:
                        for target in small.targets:
                            self.function_assignment(target.target, small, scope)
                    elif ts is cst.AnnAssign and small.value is not None:
                        self.function_assignment(small.target, small, scope)
                    elif ts is cst.AugAssign and isinstance(small.operator, cst.BitOrAssign):
                        d = dotted(small.target)
                        if schedule_target(d):
                            self.ops.append(Op("ior", d, self.value(small.value), UNKNOWN, self.span(small), scope))
            elif t is cst.FunctionDef:
                saved = self.body_branch
                self.function(stmt, nested=True)
                self.body_branch = saved
            elif t is cst.ClassDef:
                self.class_def(stmt, nested=True)
            else:
                for arm, suite in enumerate(_suites(stmt)):
                    self.block(suite, scope, f"{branch}/{number}.{arm}")

    def function_assignment(self, target: Any, stmt: Any, scope: str) -> None:
        """A schedule changed in a function body: `X.conf.beat_schedule = ...`,
        `SCHEDULE[key] = ...` (ops with the function's scope)."""
        cst = self.cst
        if isinstance(target, cst.Attribute):
            d = dotted(target)
            if schedule_target(d) and len(d) > 1:
                self.ops.append(Op("assign", d, self.value(stmt.value), UNKNOWN, self.span(stmt), scope))
        elif isinstance(target, cst.Subscript):
            d = dotted(target.value)
            if not schedule_target(d) or len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
                return
            key_node = target.slice[0].slice.value
            key = self.value(key_node)
            value = self.value(stmt.value)
            if type(value) is DictExpr:
                value = DictExpr((DictItem(key, value, self.span(key_node), self.span(stmt.value)),), ())
            self.ops.append(Op("setitem", d, value, key, self.span(stmt), scope))

    def _single_return(self, fn: Any) -> Value:
        """The returned value when a function body is just `return <expr>` (after a docstring)."""
        cst = self.cst
        body = fn.body.body if isinstance(fn.body, cst.IndentedBlock) else [fn.body]
        stmts = [s for s in body if not (isinstance(s, cst.SimpleStatementLine) and len(s.body) == 1
                                         and isinstance(s.body[0], cst.Expr)
                                         and isinstance(s.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))]
        if len(stmts) == 1 and isinstance(stmts[0], (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
            smalls = stmts[0].body
            if len(smalls) == 1 and isinstance(smalls[0], cst.Return) and smalls[0].value is not None:
                return self.value(smalls[0].value)
        return UNKNOWN

    def class_def(self, node: Any, nested: bool, owner: str | None = None) -> None:
        cst = self.cst
        bases = tuple(self.value(arg.value) for arg in node.bases if arg.keyword is None)
        attrs = []
        methods: dict[str, Value] = {}
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else node.body.body
        scope = "class:" + node.name.value
        for stmt in body:
            if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                for small in stmt.body:
                    target = value_node = None
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target, value_node = small.targets[0].target, small.value
                    elif isinstance(small, cst.AnnAssign) and small.value is not None:
                        target, value_node = small.target, small.value
                    if isinstance(target, cst.Name):
                        value = self.value(value_node)
                        schedule = not nested and _interesting_name(target.value)
                        # A model field or manager only matters by its callee: drop its
                        # arguments, which make up most of a models module.
                        kept = kept_attribute(value)
                        attrs.append(ClassAttr(target.value, kept, self.span(value_node) if target.value == "name" else -1))
                        if schedule:
                            self.ops.append(Op("assign", (node.name.value, target.value), value, UNKNOWN,
                                               self.span(small), scope))
            elif isinstance(stmt, cst.FunctionDef):
                self.function(stmt, nested=True, owner=None if nested else node.name.value)
                methods[stmt.name.value] = self._single_return(stmt)
            elif isinstance(stmt, cst.ClassDef):
                self.class_def(stmt, nested=True, owner=node.name.value)
        self.classes.append(ClassFacts(node.name.value, bases, tuple(attrs), self.span(node.name), nested,
                                       self.branch, methods, owner))
        if not nested:
            self.assigns[node.name.value] = UNKNOWN


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_SKIPPED_FIELDS = ("whitespace", "lpar", "rpar", "comma", "semicolon", "leading_lines", "lines_after",
                   "header", "footer", "newline", "indent", "operator", "equal", "colon", "star", "dot",
                   "first_line", "empty_lines", "prefix")


def _child_fields(node_type: type) -> tuple[str, ...]:
    import dataclasses

    names = _FIELD_NAMES.get(node_type)
    if names is None:
        names = _FIELD_NAMES[node_type] = tuple(
            f.name for f in dataclasses.fields(node_type) if not f.name.startswith(_SKIPPED_FIELDS))
    return names


def _is_docstring(stmt: Any) -> bool:
    import libcst as cst

    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


class _BodyScan:
    """One read-only walk over a function body (a walk over node fields: several times
    cheaper than a libcst visitor, which rebuilds every node). Collects the callees, the
    dotted names used (apart for the `with` blocks whose context manager is a call: the
    guards), `for` loops, calls that may restore a tenant context, spawner calls, SQL
    statements, attribute stores, string keys read, and the enqueue sites, which go to
    the file's list."""

    quiet = False  # a scan of a value visited again by its parent: records no rows

    def __init__(self, extractor: "_Extractor", function: str | None):
        import libcst as cst

        self.cst = cst
        self.ex = extractor
        self.function = function
        self.calls: set = set()  # outside every guard (see `guard`)
        self.refs: set = set()
        self.loops: list = []
        self.restores: list = []
        self.spawns = False
        self.bound: dict[str, set] = {}  # local name -> dotted names in what it was bound to
        self.values: dict[str, Value] = {}  # local name -> the value it was bound to (the last one seen)
        self.imports: dict[str, tuple] = {}
        self.enqueue_count = 0
        self.setters: list = []  # callees of restore candidates, in order (loops take their share)
        self.fan_out_targets: set[str] = set()  # loop variables an enqueue took tenant_id from
        self.guards: list = []  # Guard, ... (their refs and calls filled in when their body is done)
        self.guard_stack: list[int] = []
        self.sql: list = []
        self.stores: set = set()
        self.keys_read: set = set()

    def visit(self, node: Any, enclosing: tuple) -> None:
        cst = self.cst
        t = type(node)
        if t is cst.Name or t is cst.Attribute:
            chain = dotted(node)
            if chain is not None:
                self.refs.add(chain)
                return
        elif t is cst.Call:
            self.call(node, enclosing)
            return
        elif t is cst.For:
            self.loop(node, enclosing)
            return
        elif t is cst.With:
            self.with_statement(node, enclosing)
            return
        elif t is cst.Subscript:
            if len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Index):
                key = self.ex.value(node.slice[0].slice.value)
                if type(key) is Str:
                    self.keys_read.add(key.text)
        elif t is cst.Assign:
            for assigned in node.targets:
                if isinstance(assigned.target, cst.Attribute):
                    chain = dotted(assigned.target)
                    if chain is not None:
                        self.stores.add(chain)
            if len(node.targets) == 1:
                target = node.targets[0].target
                bind = None
                if isinstance(target, cst.Name):
                    inner = _BodyScan(self.ex, self.function)
                    inner.quiet = True  # the value is visited again below: its rows count once
                    inner.visit(node.value, ())
                    self.bound[target.value] = inner.refs
                    self.values[target.value] = self.ex.value(node.value)
                    bind = target.value
                elif isinstance(target, (cst.Tuple, cst.List)) and target.elements \
                        and isinstance(target.elements[0].value, cst.Name):
                    bind = target.elements[0].value.value
                if bind is not None:
                    self._fields(node, t, enclosing)
                    if self.ex.row_nodes:
                        self.ex.bind_row(node.value, bind)
                    return
        elif t is cst.Import or t is cst.ImportFrom:
            self.imports.update(self.ex.import_names(node))
            return
        self._fields(node, t, enclosing)

    def _fields(self, node: Any, t: type, enclosing: tuple) -> None:
        cst = self.cst
        for name in _child_fields(t):
            child = getattr(node, name)
            if isinstance(child, (list, tuple)):
                for c in child:
                    if isinstance(c, cst.CSTNode):
                        self.visit(c, enclosing)
            elif isinstance(child, cst.CSTNode):
                self.visit(child, enclosing)

    def with_statement(self, node: Any, enclosing: tuple) -> None:
        """A `with`: its items as usual; its body apart, in the partition of the guard
        its last call item opens (each call item is a guard inside the one before)."""
        cst = self.cst
        opened = 0
        for item in node.items:
            self.visit(item, enclosing)
            call = item.item
            if isinstance(call, cst.Call) and dotted(call.func) is not None:
                value = self.ex.call_value(call)
                first = call.args[0].value if call.args else None
                parent = self.guard_stack[-1] if self.guard_stack else -1
                self.guards.append(Guard(dotted(call.func), value.args, value.kwargs, self.ex.span(call),
                                         self.ex.span(first) if first is not None else -1, parent,
                                         frozenset(), frozenset()))
                self.guard_stack.append(len(self.guards) - 1)
                opened += 1
        if not opened:
            self.visit(node.body, enclosing)
            return
        outer_refs, outer_calls = self.refs, self.calls
        self.refs, self.calls = set(), set()
        self.visit(node.body, enclosing)
        inner = self.guard_stack[-1]
        self.guards[inner] = self.guards[inner]._replace(refs=frozenset(self.refs), calls=frozenset(self.calls))
        for index in self.guard_stack[len(self.guard_stack) - opened:-1]:  # the outer items of this `with`
            self.guards[index] = self.guards[index]._replace(refs=frozenset(), calls=frozenset())
        del self.guard_stack[len(self.guard_stack) - opened:]
        self.refs, self.calls = outer_refs, outer_calls

    def guard_callees(self) -> tuple:
        return tuple(self.guards[i].callee for i in self.guard_stack)

    def call(self, node: Any, enclosing: tuple) -> None:
        cst = self.cst
        ex = self.ex
        callee = dotted(node.func)
        func = node.func
        chain = callee
        if callee is None and isinstance(func, cst.Attribute) and isinstance(func.value, cst.Call):
            made = dotted(func.value.func)
            if made is not None:  # `Service(...).run()`: a method of what the call made
                chain = made + ("()", func.attr.value)
                self.calls.add(chain)
        written = row_write(chain)
        if written is not None and not self.quiet and not any(n is node for n in ex.row_nodes):
            # `M.objects.filter(...).delete()`: the query call, with what is done to it
            self.row(func.value if "." in written[1] else node, written)
        if callee is not None:
            self.calls.add(callee)
            last = callee[-1]
            if last in ex.options.spawners:
                self.spawns = True
            if restore_candidate(last, ex.options):
                self.setters.append(callee)
                if node.args:
                    arg = node.args[0].value
                    self.restores.append(RestoreCall(callee, ex.value(arg), ex.span(node), ex.span(arg)))
            if last in SQL_METHODS and node.args:
                self.sql.append(ex.value(node.args[0].value))
            elif last in KEY_METHODS and node.args and node.args[0].keyword is None:
                key = ex.value(node.args[0].value)
                if type(key) is Str:
                    self.keys_read.add(key.text)
            elif callee == ("setattr",) and len(node.args) == 3 and all(a.keyword is None and not a.star
                                                                       for a in node.args):
                target, name = dotted(node.args[0].value), ex.value(node.args[1].value)
                if target is not None and type(name) is Str:
                    self.stores.add(target + (name.text,))  # setattr(_local, "tenant", x)
            if last in ENQUEUE_METHODS and len(callee) > 1 and callee[0] not in ("self", "cls"):
                self.enqueue(node, callee[:-1], last, enclosing)
        self.visit(node.func, enclosing)
        inner = enclosing + (callee or ("?",),)
        for arg in node.args:
            self.visit(arg.value, inner)

    def row(self, node: Any, written: tuple) -> None:
        """A django-celery-beat row written here: its keyword arguments (`**x` with name
        None) and their positions."""
        ex = self.ex
        kwargs, spans = [], []
        for arg in node.args:
            if arg.keyword is None and arg.star != "**":
                continue  # positional arguments
            kwargs.append(Keyword(arg.keyword.value if arg.keyword is not None else None, ex.value(arg.value)))
            spans.append(ex.span(arg.value))
        ex.rows.append(RowWrite(written[0], written[1], tuple(kwargs), tuple(spans), ex.span(node), self.function))
        ex.row_nodes.append(node)

    def enqueue(self, node: Any, receiver: tuple, method: str, enclosing: tuple) -> None:
        cst = self.cst
        ex = self.ex
        state, value, span = "missing", UNKNOWN, -1
        keywords = {a.keyword.value: a.value for a in node.args if a.keyword is not None}
        keys: set[str] = set()
        if any(a.star == "**" for a in node.args):
            state = "unknown"
        if method in ("delay", "s", "si"):
            keys.update(keywords)
            count = -1 if any(a.star == "*" for a in node.args) \
                else sum(1 for a in node.args if a.keyword is None and not a.star)
            if "tenant_id" in keywords:
                state, value, span = "given", ex.value(keywords["tenant_id"]), ex.span(keywords["tenant_id"])
        else:  # apply_async / signature: in the kwargs mapping, as an option, or in headers
            keys.update(k for k in keywords if k not in ("args", "kwargs", "headers"))
            positional = [a.value for a in node.args if a.keyword is None and not a.star]
            sequence = keywords.get("args", positional[0] if positional else None)
            count = 0 if sequence is None else len(sequence.elements) \
                if isinstance(sequence, (cst.List, cst.Tuple)) and not any(
                    isinstance(e, cst.StarredElement) for e in sequence.elements) else -1
            mapping = keywords.get("kwargs", positional[1] if len(positional) > 1 else None)
            for source in (mapping, keywords.get("headers")):
                if isinstance(source, cst.Dict):
                    for el in source.elements:
                        if isinstance(el, cst.StarredDictElement):
                            state = "unknown" if state != "given" else state
                            continue
                        key = ex.value(el.key)
                        if type(key) is Str:
                            keys.add(key.text)
                        if key == Str("tenant_id") and state != "given":
                            state, value, span = "given", ex.value(el.value), ex.span(el.value)
                elif isinstance(source, cst.Call) and dotted(source.func) == ("dict",):
                    for arg in source.args:
                        if arg.keyword is not None:
                            keys.add(arg.keyword.value)
                            if arg.keyword.value == "tenant_id" and state != "given":
                                state, value, span = "given", ex.value(arg.value), ex.span(arg.value)
                        elif arg.star:
                            state = "unknown" if state != "given" else state
                elif source is not None:
                    state = "unknown" if state != "given" else state
            if "tenant_id" in keywords and state != "given":  # the option form: apply_async(..., tenant_id=...)
                state, value, span = "given", ex.value(keywords["tenant_id"]), ex.span(keywords["tenant_id"])
        self.enqueue_count += 1
        if state == "given":
            self.fan_out_targets |= {r[0] for r in refs_of(value)}
            if type(value) is Ref and len(value.dotted) == 1 and value.dotted[0] in self.values:
                value = self.values[value.dotted[0]]  # `tid = org.pk; task.delay(tenant_id=tid)`
        ex.enqueues.append(EnqueueFacts(receiver, method, state, value, span, ex.span(node), enclosing,
                                        self.function, frozenset(keys), self.guard_callees(), count))

    def loop(self, node: Any, enclosing: tuple) -> None:
        cst = self.cst
        iterable = _BodyScan(self.ex, self.function)
        iterable.visit(node.iter, ())
        iter_refs = set(iterable.refs)
        root = _iter_root(node.iter, cst)
        if root is not None:  # `for t in tenants`, `for t in tenants.iterator()`
            iter_refs |= self.bound.get(root, set())
        self.refs |= iterable.refs
        self.calls |= iterable.calls
        before, setters_before, fan_before = self.enqueue_count, len(self.setters), set(self.fan_out_targets)
        self.fan_out_targets = set()
        self.visit(node.body, enclosing)
        if node.orelse is not None:
            self.visit(node.orelse, enclosing)
        count = self.enqueue_count - before
        target = node.target.value if isinstance(node.target, cst.Name) else None
        fans_out = target is not None and target in self.fan_out_targets
        self.fan_out_targets |= fan_before
        self.loops.append(LoopFacts(frozenset(iter_refs), target, count, count == 1 and self._only_enqueue(node),
                                    self.ex.span(node), fans_out, frozenset(self.setters[setters_before:])))

    def function_facts(self) -> dict:
        """The FunctionFacts fields this walk fills."""
        refs, calls = frozenset(self.refs), frozenset(self.calls)
        all_refs, all_calls = refs, calls
        if self.guards:
            all_refs = refs.union(*(g.refs for g in self.guards))
            all_calls = calls.union(*(g.calls for g in self.guards))
        return {"calls": all_calls, "refs": all_refs, "loops": tuple(self.loops), "restores": tuple(self.restores),
                "spawns": self.spawns, "imports": self.imports, "guards": tuple(self.guards),
                "unguarded_refs": refs, "unguarded_calls": calls, "sql": tuple(self.sql),
                "stores": frozenset(self.stores), "keys_read": frozenset(self.keys_read),
                "from_tenant_id": frozenset(name for name, value in self.values.items()
                                            if ("tenant_id",) in refs_of(value))}

    def _only_enqueue(self, node: Any) -> bool:
        """The loop body is one enqueue call, give or take logging calls."""
        cst = self.cst
        if node.orelse is not None or not isinstance(node.body, cst.IndentedBlock):
            return False
        enqueues = 0
        for stmt in node.body.body:
            if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
                return False
            small = stmt.body[0]
            if not isinstance(small, cst.Expr) or not isinstance(small.value, cst.Call):
                return False
            callee = dotted(small.value.func) or ()
            if callee and callee[-1] in ENQUEUE_METHODS:
                enqueues += 1
            elif not callee or not (callee[0] in _LOGGING_ROOTS or callee[-1] in _LOGGING_METHODS):
                return False
        return enqueues == 1



def _suites(stmt: Any) -> list:
    """The indented blocks of a compound statement (if/elif/else, try/except/finally,
    for/while/else, with, match)."""
    import libcst as cst

    suites = []
    body = getattr(stmt, "body", None)
    if isinstance(body, cst.BaseSuite):
        suites.append(body)
    orelse = getattr(stmt, "orelse", None)
    while orelse is not None:
        suites.append(orelse.body)
        orelse = getattr(orelse, "orelse", None)
    for handler in getattr(stmt, "handlers", ()):
        suites.append(handler.body)
    final = getattr(stmt, "finalbody", None)
    if final is not None:
        suites.append(final.body)
    for case in getattr(stmt, "cases", ()):
        suites.append(case.body)
    return [s for s in suites if isinstance(s, cst.BaseSuite)]


_BINOPS: dict = {}


def _init_binops() -> None:
    import libcst as cst

    _BINOPS.update({cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.Divide: "/",
                    cst.FloorDivide: "//", cst.Modulo: "%"})


def _named_assignment(small, cst) -> bool:
    """`name = value` or `name: T = value` (a lookup before the first statement)."""
    if isinstance(small, cst.Assign):
        return len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name)
    return isinstance(small, cst.AnnAssign) and small.value is not None and isinstance(small.target, cst.Name)


def _iter_root(node, cst) -> str | None:
    """The name a loop's iterable starts from (`tenants`, `tenants.iterator()`)."""
    while True:
        if isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Attribute):
            node = node.value
        else:
            return node.value if isinstance(node, cst.Name) else None
