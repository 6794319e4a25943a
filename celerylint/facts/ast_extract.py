"""The per-file pass on the standard library's `ast`: the same `FileFacts` as the libcst
extractor (extract.py), at a fraction of its time and memory.

ast first; libcst for syntax newer than the running interpreter; libcst always for
--fix. `extract.extract` calls `extract_ast` first and falls back to the libcst path
when it returns None: when `ast` cannot parse the file (syntax newer than the running
interpreter, such as Python 3.14's `except A, B:`, which libcst parses; or a file that
neither parses, which the libcst path reports as SYN001 exactly as before). Fixes
(`--fix`, fixes/) always work on libcst trees: they rewrite source, which needs a
concrete syntax tree.

The facts must be EQUAL to the libcst extractor's for every file (tests/test_ast_facts.py
and `python -m celerylint.facts.oracle` compare the two), so this module mirrors
extract.py method by method (`_AstExtractor` <-> `_Extractor`, `_AstBodyScan` <->
`_BodyScan`, same names, same order of calls), translating libcst's tree shapes:

- libcst groups the small statements of a line (`a = 1; b = 2`) into one
  SimpleStatementLine, and a body on the header's line (`def f(): return 1`) is a
  SimpleStatementSuite; ast has flat statement lists. `_joined` and `_is_suite` recover
  both from the source where the facts depend on them (statement numbers in branch
  names, docstrings, first statements, single-return methods, enqueue-only loops).
- `True`, `False` and `None` are libcst Names (so they are "refs" and dotted names).
- ast folds implicit string concatenation into one node; libcst keeps a right-nested
  ConcatenatedString, whose Join structure is rebuilt from the source's string tokens;
  f-string text parts, conversions and format specs are also read from the source.
- A call's arguments are one list in libcst (source order); ast splits positional and
  keyword arguments, which are merged back by position.
- The visit order of `_AstBodyScan` follows libcst's field order (a handler's body
  before its type, a class body before its bases, a case body before its guard, ...),
  since the order of loops, restore calls and enqueue sites is part of the facts.

Positions are libcst's PositionProvider's (1-based columns in characters, end
exclusive). ast gives UTF-8 byte columns, converted per line; nodes whose libcst range
differs from ast's are computed from the source text: a decorator starts at its `@`,
a def/class name is found after its keyword, a parameter covers its star and name
only, a parenthesized tuple or generator expression excludes its parentheses, and a
`for` loop ends where its last statement ends (not at a trailing semicolon).

A file whose identifiers change under NFKC normalization (ast normalizes them, libcst
keeps the source text) is left to libcst, like one that `ast` cannot parse.
"""

from __future__ import annotations

import ast
import re
import sys
import unicodedata
import warnings
from bisect import bisect_right
from typing import Any

from celerylint.facts.common import (
    _BEAT_SIGNALS, _INTERESTING_CALLS, _LOGGING_METHODS, _LOGGING_ROOTS, _REGISTRATIONS, KEY_METHODS, RELATIONS,
    SQL_METHODS, TASK_SIGNALS, ExtractOptions, _import_target, _interesting_name, _is_field_or_manager,
    is_crontab_call, kept_attribute, restore_candidate, row_write, schedule_target, signal_sender,
)
from celerylint.facts.model import (
    ENQUEUE_METHODS, OTHER_STATEMENT, UNKNOWN, BinOp, CallExpr, ClassAttr, ClassFacts, CrontabCall, DecoratorFacts,
    DictComp, DictExpr, DictItem, EnqueueFacts, FileFacts, FirstStatement, FunctionFacts, Guard, IfExpr, Join,
    Keyword, LoopFacts, Num, Op, ParamFacts, PeriodicFacts, Ref, RestoreCall, RowWrite, SeqExpr, SignalHandler, Str,
    Value, refs_of,
)
from celerylint.facts.prefilter import noqa_lines

_Name = ast.Name
_Attribute = ast.Attribute
_Constant = ast.Constant
_Call = ast.Call
_Starred = ast.Starred
_Dict = ast.Dict
_JoinedStr = ast.JoinedStr
_FormattedValue = ast.FormattedValue
_Expr = ast.Expr
_Assign = ast.Assign
_AnnAssign = ast.AnnAssign
_Return = ast.Return
_FunctionDef = ast.FunctionDef
_AsyncFunctionDef = ast.AsyncFunctionDef
_ClassDef = ast.ClassDef
_For = ast.For
_AsyncFor = ast.AsyncFor
_While = ast.While
_If = ast.If
_With = ast.With
_AsyncWith = ast.AsyncWith
_Try = ast.Try
_TryStar = getattr(ast, "TryStar", ast.Try)
_Match = getattr(ast, "Match", None)
_Import = ast.Import
_ImportFrom = ast.ImportFrom
_Tuple = ast.Tuple
_List = ast.List
_TypeAlias = getattr(ast, "TypeAlias", None)
_GeneratorExp = ast.GeneratorExp
_Subscript = ast.Subscript

_DEFS = (_FunctionDef, _AsyncFunctionDef)
_COMPOUND = frozenset(t for t in (
    _FunctionDef, _AsyncFunctionDef, _ClassDef, _For, _AsyncFor, _While, _If, _With, _AsyncWith, _Try, _TryStar,
    _Match,
) if t is not None)
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}

_NEWLINE = re.compile(r"\r\n?|\n")
_WORD = re.compile(r"\w+")
_BOM = b"\xef\xbb\xbf"
_NEWLINE_BYTES = re.compile(rb"\r\n?|\n")
# After `def`/`class` (and `async`): the keyword's whitespace, line continuations included.
_WS = r"(?:[ \t\f]|\\\r\n|\\\r|\\\n)+"
_DEF_NAME = re.compile(r"(?:async" + _WS + r")?def" + _WS)
_CLASS_NAME = re.compile(r"class" + _WS)
_STRING_BODY = {
    "'": re.compile(r"[^'\\\r\n]*(?:\\(?:\r\n|[\s\S])[^'\\\r\n]*)*'"),
    '"': re.compile(r'[^"\\\r\n]*(?:\\(?:\r\n|[\s\S])[^"\\\r\n]*)*"'),
    "'''": re.compile(r"[^'\\]*(?:(?:\\[\s\S]|'(?!''))[^'\\]*)*'''"),
    '"""': re.compile(r'[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*"""'),
}
_PREFIX = re.compile(r"[A-Za-z]*")
_NESTED_FSTRINGS = sys.version_info >= (3, 12)  # PEP 701: f-string fields may reuse the quotes


# --------------------------------------------------------------------------- entry point


def extract_ast(data: bytes, module: str, is_package: bool, options: ExtractOptions = ExtractOptions(),
                strict: bool = False) -> FileFacts | None:
    """The facts of `data` from one `ast` parse, or None when `ast` cannot parse it (or
    its identifiers change under NFKC normalization): the caller then uses libcst. An
    error of this module also gives None (libcst is the reference), unless `strict`."""
    try:
        text = _decode(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = compile(text, "<file>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, LookupError, RecursionError, MemoryError):
        return None  # UnicodeError is a ValueError
    if not text.isascii() and _changes_under_nfkc(text):
        return None
    extractor = _AstExtractor(module, is_package, options, _Source(text))
    try:
        extractor.visit_module(tree)
    except RecursionError:
        return None  # the libcst path decides, exactly as before
    except Exception:
        if strict:
            raise
        return None
    return extractor.facts(noqa_lines(data))


def _decode(data: bytes) -> str:
    """The source text as Python decodes it (BOM, coding cookie on the first two lines)."""
    if b"coding" in _first_lines(data):
        import io
        import tokenize

        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)  # raises on a bad cookie
        return data.decode(encoding)
    if data.startswith(_BOM):
        return data[3:].decode("utf-8")
    return data.decode("utf-8")


def _first_lines(data: bytes) -> bytes:
    end = 0
    for _ in range(2):
        match = _NEWLINE_BYTES.search(data, end)
        if match is None:
            return data
        end = match.end()
    return data[:end]


def _changes_under_nfkc(text: str) -> bool:
    """Whether an identifier of `text` changes under NFKC normalization (ast keeps the
    normalized name, libcst the source's). Words in strings and comments do not count."""
    if unicodedata.is_normalized("NFKC", text):
        return False
    words = {word for word in _WORD.findall(text) if not word.isascii()}
    if all(unicodedata.is_normalized("NFKC", word) for word in words):
        return False
    import io
    import tokenize

    try:
        return any(tok.type == tokenize.NAME and not unicodedata.is_normalized("NFKC", tok.string)
                   for tok in tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return True


# --------------------------------------------------------------------------- positions


class _Source:
    """The decoded text, for positions: ast's (line, UTF-8 byte column) to character
    offsets and back to libcst's (line, 1-based column)."""

    __slots__ = ("text", "starts", "ascii", "_encoded", "shifts")

    def __init__(self, text: str):
        self.text = text
        starts = [0]
        if "\r" in text:
            starts += [m.end() for m in _NEWLINE.finditer(text)]
        else:
            find = text.find
            i = find("\n")
            while i >= 0:
                i += 1
                starts.append(i)
                i = find("\n", i)
        self.starts = starts
        self.ascii = text.isascii()
        self._encoded: dict[int, bytes | None] = {}
        # Lines whose libcst columns are shifted (form feeds in indentation, see _formfeed_shifts).
        self.shifts: dict[int, int] = _formfeed_shifts(text) if "\x0c" in text else {}

    def offset(self, line: int, byte_col: int) -> int:
        """Character offset in the text of ast's (line, byte column)."""
        start = self.starts[line - 1]
        if self.ascii:
            return start + byte_col
        encoded = self._encoded.get(line, b"")
        if encoded == b"":
            end = self.starts[line] if line < len(self.starts) else len(self.text)
            chunk = self.text[start:end]
            encoded = self._encoded[line] = None if chunk.isascii() else chunk.encode("utf-8")
        if encoded is None:
            return start + byte_col
        return start + len(encoded[:byte_col].decode("utf-8", "replace"))

    def column(self, line: int, byte_col: int) -> int:
        """libcst's 1-based character column of ast's (line, byte column)."""
        if self.ascii:
            column = byte_col + 1
        else:
            column = self.offset(line, byte_col) - self.starts[line - 1] + 1
        return column + self.shifts.get(line, 0) if self.shifts else column

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect_right(self.starts, offset)
        column = offset - self.starts[line - 1] + 1
        return line, column + self.shifts.get(line, 0) if self.shifts else column

    def span(self, start: int, end: int) -> tuple:
        return self.line_col(start) + self.line_col(end)

    def node_span(self, node: Any) -> tuple:
        return (node.lineno, self.column(node.lineno, node.col_offset),
                node.end_lineno, self.column(node.end_lineno, node.end_col_offset))

    def start(self, node: Any) -> int:
        return self.offset(node.lineno, node.col_offset)

    def end(self, node: Any) -> int:
        return self.offset(node.end_lineno, node.end_col_offset)

    # -- scanning (between tokens: whitespace, comments, line continuations)
    def skip_forward(self, pos: int, limit: int) -> int:
        """The first offset at or after `pos` (before `limit`) that is not whitespace,
        a comment or a line continuation."""
        text = self.text
        while pos < limit:
            c = text[pos]
            if c in " \t\f\r\n\\":
                pos += 1
            elif c == "#":
                match = _NEWLINE.search(text, pos, limit)
                pos = match.start() if match else limit
            else:
                return pos
        return limit

    def last_closer(self, pos: int, limit: int, closers: str) -> int:
        """The offset after the last of `closers` between `pos` and `limit` outside
        comments, or `pos` when there is none."""
        text = self.text
        found = pos
        while pos < limit:
            c = text[pos]
            if c in closers:
                found = pos + 1
            elif c == "#":
                match = _NEWLINE.search(text, pos, limit)
                pos = match.start() if match else limit
                continue
            pos += 1
        return found

    def matching_close(self, pos: int, limit: int) -> int:
        """The offset of the bracket that closes the one at `pos`, or -1."""
        text = self.text
        depth = 0
        while pos < limit:
            c = text[pos]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    return pos
            elif c == "#":
                match = _NEWLINE.search(text, pos, limit)
                pos = match.start() if match else limit
                continue
            elif c in "'\"":
                pos = self.string_end(pos)
                continue
            pos += 1
        return -1

    def string_end(self, pos: int) -> int:
        """The end of the string token whose quote (after any prefix) is at or after `pos`."""
        text = self.text
        start = pos
        pos = _PREFIX.match(text, pos).end()
        quote = text[pos]
        if text.startswith(quote * 3, pos):
            quote *= 3
        if _NESTED_FSTRINGS and "f" in text[start:pos].lower():
            return _fstring_end(text, pos + len(quote), quote, self.string_end)
        match = _STRING_BODY[quote].match(text, pos + len(quote))
        return match.end() if match else len(text)

    def string_tokens(self, start: int, end: int) -> list[tuple[int, int]]:
        """The string tokens of an implicit concatenation between `start` and `end`."""
        tokens = []
        pos = start
        while True:
            pos = self.skip_forward(pos, end)
            if pos >= end:
                return tokens
            stop = self.string_end(pos)
            tokens.append((pos, stop))
            pos = stop

    def continued(self, line: int) -> bool:
        """Whether physical line `line` ends with a line continuation (a backslash that
        is not in a comment)."""
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        text = self.text
        last = end - 1
        while last >= start and text[last] in "\r\n":
            last -= 1
        if last < start or text[last] != "\\":
            return False
        return not _has_comment(text[start:last + 1])


def _formfeed_shifts(text: str) -> dict[int, int]:
    """libcst's columns on lines that start a logical line, when form feeds are in the
    indentation: libcst regenerates the indentation of such a line from its block's
    indentation (the first line's whitespace, `\f` included; none at module level), not
    from the line's own whitespace, which it does not keep (the file then does not
    round-trip). Positions follow the regenerated text: line -> column shift."""
    import io
    import tokenize

    shifts: dict[int, int] = {}
    indents = [""]
    at_start = True
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            kind = tok.type
            if kind == tokenize.INDENT:
                indents.append(tok.string)
            elif kind == tokenize.DEDENT:
                indents.pop()
            elif kind == tokenize.NEWLINE:
                at_start = True
            elif kind in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
                continue
            elif at_start:
                at_start = False
                leading = len(tok.line[:tok.start[1]])
                if leading != len(indents[-1]):
                    shifts[tok.start[0]] = len(indents[-1]) - leading
    except (tokenize.TokenError, SyntaxError):
        pass
    return shifts


def _has_comment(line: str) -> bool:
    """Whether a physical line has a comment (a `#` outside one-line strings)."""
    if "#" not in line:
        return False
    quote = None
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if quote is not None:
            if c == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
        elif c == "#":
            return True
        elif c in "'\"":
            quote = c * 3 if line.startswith(c * 3, i) else c
            i += len(quote)
            continue
        i += 1
    return False


# --------------------------------------------------------------------------- tree shapes


def dotted(node: Any) -> tuple[str, ...] | None:
    """As extract.dotted: `True`, `False` and `None` are names to libcst."""
    if type(node) is _Name:
        return (node.id,)
    parts: list[str] = []
    while type(node) is _Attribute:
        parts.append(node.attr)
        node = node.value
    t = type(node)
    if t is _Name:
        parts.append(node.id)
    elif t is _Constant and (node.value is None or node.value is True or node.value is False):
        parts.append(str(node.value))
    else:
        return None
    parts.reverse()
    return tuple(parts)


def _name_of(node: Any) -> str | None:
    """The name when libcst has a Name node here (True/False/None included)."""
    t = type(node)
    if t is _Name:
        return node.id
    if t is _Constant and (node.value is None or node.value is True or node.value is False):
        return str(node.value)
    return None


def _args(call: Any) -> list:
    """A call's arguments in source order, as libcst's Args: (keyword, star, value)."""
    args = call.args
    keywords = call.keywords
    out = [(None, "*", a.value) if type(a) is _Starred else (None, "", a) for a in args]
    if not keywords:
        return out
    kws = [(k.arg, "" if k.arg is not None else "**", k.value) for k in keywords]
    if not args:
        return kws
    last, first = args[-1], keywords[0]
    if (last.lineno, last.col_offset) < (first.lineno, first.col_offset):
        return out + kws
    merged = [((a.lineno, a.col_offset), o) for a, o in zip(args, out)]
    merged += [((k.lineno, k.col_offset), o) for k, o in zip(keywords, kws)]
    merged.sort(key=lambda item: item[0])
    return [o for _, o in merged]


def _first_arg(call: Any) -> Any:
    """The value of a call's first argument in source order (libcst's `call.args[0].value`)."""
    args = call.args
    keywords = call.keywords
    if not keywords:
        if not args:
            return None
        a = args[0]
    elif not args:
        return keywords[0].value
    else:
        a, k = args[0], keywords[0]
        if (k.lineno, k.col_offset) < (a.lineno, a.col_offset):
            return k.value
    return a.value if type(a) is _Starred else a


def _callee(call: Any) -> tuple | None:
    """A CallExpr's callee: the dotted name, ("?", attr) for a method of an expression."""
    callee = dotted(call.func)
    if callee is None and type(call.func) is _Attribute:
        callee = ("?", call.func.attr)
    return callee


def _has_star(call: Any) -> bool:
    return any(type(a) is _Starred for a in call.args) or any(k.arg is None for k in call.keywords)


class _AstExtractor:
    def __init__(self, module: str, is_package: bool, options: ExtractOptions, source: _Source):
        self.source = source
        self.options = options
        self.enqueues: list[EnqueueFacts] = []
        self.module = module
        self.is_package = is_package
        self.span_ids: dict[tuple, int] = {}  # (kind, id(node)) -> span index
        self.spans: list[tuple] = []
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

    # -- spans (positions computed at once: libcst's node ranges, see the module docstring)
    def _index(self, key: tuple, position: Any) -> int:
        index = self.span_ids.get(key)
        if index is None:
            index = self.span_ids[key] = len(self.spans)
            self.spans.append(position() if callable(position) else position)
        return index

    def span(self, node: Any) -> int:
        """An expression's or a small statement's range."""
        t = type(node)
        if t is _Tuple or t is _GeneratorExp:
            return self._index(("e", id(node)), lambda: self._bracketed_span(node))
        return self._index(("e", id(node)), lambda: self.source.node_span(node))

    def _bracketed_span(self, node: Any) -> tuple:
        """libcst's range of a tuple or generator expression: without its own
        parentheses (which ast includes), with a tuple's trailing comma."""
        source = self.source
        start, end = source.start(node), source.end(node)
        text = source.text
        if type(node) is _Tuple:
            if not node.elts or text[start] != "(" or source.matching_close(start, end) != end - 1:
                if not node.elts:  # `()`: an empty range after the parenthesis
                    return source.span(start + 1, start + 1)
                return source.node_span(node)
            last = node.elts[-1]
        else:
            if text[start] != "(":
                return source.node_span(node)
            generator = node.generators[-1]
            last = generator.ifs[-1] if generator.ifs else generator.iter
        inner_start = source.skip_forward(start + 1, end - 1)
        inner_end = source.last_closer(source.end(last), end - 1, ",)" if type(node) is _Tuple else ")")
        return source.span(inner_start, inner_end)

    def span_decorator(self, node: Any) -> int:
        """libcst's Decorator: from the `@` to the end of the expression, with the
        parentheses around it."""
        def position() -> tuple:
            source = self.source
            text = source.text
            start, end = source.start(node), source.end(node)
            at = text.rfind("@", 0, start)
            wrapping = text.count("(", at + 1, start)
            while wrapping:
                pos = source.skip_forward(end, len(text))
                if pos >= len(text) or text[pos] != ")":
                    break
                end = pos + 1
                wrapping -= 1
            return source.span(at, end)

        return self._index(("d", id(node)), position)

    def span_name(self, node: Any) -> int:
        """A def's or class's name (ast has no node for it)."""
        def position() -> tuple:
            source = self.source
            text = source.text
            start = source.start(node)
            name = node.name
            keyword = "class " if type(node) is _ClassDef else "def "
            if text.startswith(keyword, start) and text.startswith(name, start + len(keyword)):
                column = source.column(node.lineno, node.col_offset) + len(keyword)  # one space
                return (node.lineno, column, node.lineno, column + len(name))
            pattern = _CLASS_NAME if keyword == "class " else _DEF_NAME
            match = pattern.match(text, start)
            name_start = match.end() if match else text.find(name, start)
            return source.span(name_start, name_start + len(name))

        return self._index(("n", id(node)), position)

    def span_param(self, arg: Any, star: str) -> int:
        """libcst's Param: its star and name (not its annotation nor default)."""
        def position() -> tuple:
            source = self.source
            text = source.text
            start = source.start(arg)
            end = start + len(arg.arg)
            if star:
                pos = start - 1
                while pos > 0 and text[pos] in " \t\f\r\n\\":
                    pos -= 1
                if text[pos] != "*":
                    pos = text.rfind("*", 0, start)
                start = pos - 1 if star == "**" else pos
            return source.span(start, end)

        return self._index(("p", id(arg)), position)

    def span_loop(self, node: Any) -> int:
        """libcst's For: from `for` (or `async`) to the end of its last statement."""
        def position() -> tuple:
            last = node.orelse[-1] if node.orelse else node.body[-1]
            end_line, end_col = _statement_end(last)
            source = self.source
            return (node.lineno, source.column(node.lineno, node.col_offset),
                    end_line, source.column(end_line, end_col))

        return self._index(("f", id(node)), position)

    def facts(self, noqa: dict) -> FileFacts:
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
            spans=tuple(self.spans),
            noqa=noqa,
            handlers=tuple(self.handlers),
            enqueues=tuple(self.enqueues),
            rows=tuple(self.rows),
            crontabs=frozenset(self.crontabs),
        )

    def bind_row(self, value: Any, name: str) -> None:
        """`name = <row write>` (or `name, _ = ...`, or `name = <row write>[0]`): the
        local name the row is bound to."""
        if type(value) is ast.Subscript and type(value.slice) is _Constant and value.slice.value == 0 \
                and type(value.slice.value) is int:
            value = value.value
        if type(value) is _Call and self.row_nodes[-1] is value:
            self.rows[-1] = self.rows[-1]._replace(bound=name)

    def crontab_calls(self, tree: Any) -> None:
        """Every call of a name ending in `crontab` (CrontabCall), with whether it sits in
        a function, lambda, comprehension or class body (where names may be local)."""
        local_types = (_FunctionDef, _AsyncFunctionDef, ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                       _GeneratorExp, _ClassDef)
        stack = [(tree, False)]
        while stack:
            node, local = stack.pop()
            t = type(node)
            if t is _Call and is_crontab_call(dotted(node.func)):
                self.crontabs.add(CrontabCall(self.call_value(node), self.span(node), local))
            inner = local or t in local_types
            for child in ast.iter_child_nodes(node):
                stack.append((child, inner))

    # -- source shapes
    def _joined(self, previous: Any, stmt: Any) -> bool:
        """Whether two consecutive simple statements share a line (libcst's SimpleStatementLine)."""
        if stmt.lineno == previous.end_lineno:
            return True
        source = self.source
        if not source.continued(previous.end_lineno):
            return False
        gap = source.text[source.end(previous):source.start(stmt)]
        gap = re.sub(r"\\(?:\r\n|\r|\n)", "", gap)
        return ";" in gap and "\n" not in gap and "\r" not in gap and "#" not in gap

    def _is_suite(self, first: Any) -> bool:
        """Whether a body starts on its header's line (libcst's SimpleStatementSuite)."""
        source = self.source
        line = first.lineno
        start = source.starts[line - 1]
        if source.text[start:source.offset(line, first.col_offset)].strip(" \t\f"):
            return True
        line -= 1
        while line >= 1 and source.continued(line):
            begin, stop = source.starts[line - 1], source.starts[line]
            if source.text[begin:stop].rstrip("\r\n")[:-1].strip(" \t\f"):
                return True
            line -= 1
        return False

    def _lines(self, body: list) -> list[list]:
        """A body as libcst's statements: each compound statement alone, simple
        statements grouped by line."""
        lines: list[list] = []
        previous = None
        for stmt in body:
            if type(stmt) in _COMPOUND:
                lines.append([stmt])
                previous = None
            else:
                if previous is not None and self._joined(previous, stmt):
                    lines[-1].append(stmt)
                else:
                    lines.append([stmt])
                previous = stmt
        return lines

    def _stringish(self, node: Any) -> bool:
        """libcst's SimpleString or ConcatenatedString (an f-string only when concatenated)."""
        t = type(node)
        if t is _Constant:
            return type(node.value) in (str, bytes)
        if t is _JoinedStr:
            source = self.source
            start, end = source.start(node), source.end(node)
            return source.string_end(start) < end
        return False

    def _is_docstring(self, line: list) -> bool:
        return len(line) == 1 and type(line[0]) is _Expr and self._stringish(line[0].value)

    def _suites(self, stmt: Any) -> list:
        """As extract._suites: body, the else/elif chain, handlers, finally, cases."""
        t = type(stmt)
        if t is _If:
            suites = [stmt.body]
            node = stmt
            while node.orelse:
                orelse = node.orelse
                if len(orelse) == 1 and type(orelse[0]) is _If and self._is_elif(orelse[0]):
                    node = orelse[0]
                    suites.append(node.body)
                else:
                    suites.append(orelse)
                    break
            return suites
        if t is _For or t is _AsyncFor or t is _While:
            return [stmt.body, stmt.orelse] if stmt.orelse else [stmt.body]
        if t is _With or t is _AsyncWith:
            return [stmt.body]
        if t is _Try or t is _TryStar:
            suites = [stmt.body]
            if stmt.orelse:
                suites.append(stmt.orelse)
            suites += [h.body for h in stmt.handlers]
            if stmt.finalbody:
                suites.append(stmt.finalbody)
            return suites
        if t is _Match:
            return [case.body for case in stmt.cases]
        return []

    def _is_elif(self, node: Any) -> bool:
        source = self.source
        return source.text.startswith("elif", source.start(node))

    # -- values
    def value(self, node: Any) -> Value:
        t = type(node)
        if t is _Constant:
            v = node.value
            tv = type(v)
            if tv is str or tv is bytes:
                return self._string(node)
            if v is None or tv is bool or tv is int or tv is float:
                return Num(v)
            return UNKNOWN
        if t is _Name:
            if node.id == "__name__":
                return Str(self.module)
            return Ref((node.id,))
        if t is _Attribute:
            d = dotted(node)
            return Ref(d) if d is not None else UNKNOWN
        if t is _JoinedStr:
            return self._string(node)
        if t is _Call:
            return self.call_value(node)
        if t is _Dict:
            return self.dict_value(node)
        if t is ast.List or t is _Tuple or t is ast.Set:
            elems = []
            for el in node.elts:
                if type(el) is _Starred:
                    return UNKNOWN
                elems.append(self.value(el))
            return SeqExpr(tuple(elems))
        if t is ast.BinOp:
            op = _BINOPS.get(type(node.op))
            if op is None:
                return UNKNOWN
            return BinOp(op, self.value(node.left), self.value(node.right))
        if t is ast.UnaryOp and type(node.op) is ast.USub:
            inner = self.value(node.operand)
            if type(inner) is Num and isinstance(inner.value, (int, float)) and not isinstance(inner.value, bool):
                return Num(-inner.value)
            return BinOp("*", Num(-1), inner)
        if t is ast.IfExp:
            return IfExpr(self.value(node.test), self.value(node.body), self.value(node.orelse))
        if t is ast.DictComp:
            return self._dict_comp(node)
        return UNKNOWN

    def _dict_comp(self, node: Any) -> Value:
        """As extract._dict_comp: one `for`, no `if`, names as targets."""
        if len(node.generators) != 1:
            return UNKNOWN
        generator = node.generators[0]
        if generator.ifs or generator.is_async:
            return UNKNOWN
        target = generator.target
        if type(target) is _Name:
            targets: tuple = (target.id,)
        elif type(target) in (_Tuple, ast.List) and target.elts and all(type(e) is _Name for e in target.elts):
            targets = tuple(e.id for e in target.elts)
        else:
            return UNKNOWN
        return DictComp(self.value(node.key), self.value(node.value), targets, self.value(generator.iter))

    def _string(self, node: Any) -> Value:
        """A string, bytes or f-string node: one token, or libcst's right-nested
        ConcatenatedString of several."""
        source = self.source
        start, end = source.start(node), source.end(node)
        first_end = source.string_end(start)
        if first_end >= end:
            return self._token_value(node, start, first_end, _formatted(node))
        tokens = source.string_tokens(start, end)
        formatted = _formatted(node)
        parts = [self._token_value(node, a, b, formatted) for a, b in tokens]
        value = parts[-1]
        for part in reversed(parts[:-1]):
            value = Join((part, value))
        return value

    def _token_value(self, node: Any, start: int, end: int, formatted: list) -> Value:
        token = self.source.text[start:end]
        prefix = _PREFIX.match(token).group().lower()
        if "f" in prefix:
            return self._fstring(token, prefix, formatted)
        if type(node) is _Constant and start == self.source.start(node) and end == self.source.end(node):
            v = node.value  # the whole node is this one token
        else:
            try:
                v = ast.literal_eval(token)
            except Exception:
                return UNKNOWN
        return Str(v) if isinstance(v, str) else UNKNOWN

    def _fstring(self, token: str, prefix: str, formatted: list) -> Value:
        """As extract._fstring, from the token's text; `formatted` holds the f-string's
        replacement fields (ast FormattedValue nodes) still to be consumed, in order."""
        fields = _fstring_parts(token, prefix)
        mine = [formatted.pop(0) for part in fields if part[0] == "E" and formatted]
        if "b" in prefix:
            return UNKNOWN
        raw = "r" in prefix
        parts = []
        values = iter(mine)
        for part in fields:
            if part[0] == "T":
                text = part[1].replace("{{", "{").replace("}}", "}")
                if not raw and "\\" in text:
                    try:
                        text = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
                    except Exception:
                        return UNKNOWN
                parts.append(Str(text))
            else:
                field = next(values, None)
                if part[1] or part[2]:
                    return UNKNOWN
                parts.append(self.value(field.value) if field is not None else UNKNOWN)
        return Join(tuple(parts))

    def call_value(self, node: Any) -> CallExpr:
        args = []
        kwargs = []
        for a in node.args:
            args.append(UNKNOWN if type(a) is _Starred else self.value(a))
        for k in node.keywords:
            kwargs.append(Keyword(k.arg, self.value(k.value)))
        return CallExpr(_callee(node), tuple(args), tuple(kwargs))

    def dict_value(self, node: Any) -> DictExpr:
        items = []
        spreads = []
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is None:
                spreads.append(self.value(value_node))
                continue
            key = self.value(key_node)
            val = self.value(value_node)
            key_span = value_span = -1
            if type(val) is DictExpr:
                key_span, value_span = self.span(key_node), self.span(value_node)
            elif key == Str("task"):
                value_span = self.span(value_node)
            items.append(DictItem(key, val, key_span, value_span))
        return DictExpr(tuple(items), tuple(spreads))

    # -- module walk
    def visit_module(self, tree: Any) -> None:
        self.statements(tree.body, scope="module")
        if "crontab" in self.source.text:
            self.crontab_calls(tree)

    def statements(self, body: list, scope: str) -> None:
        outer = self.branch
        number = -1
        previous = None
        for stmt in body:
            t = type(stmt)
            if t not in _COMPOUND:
                if previous is None or not self._joined(previous, stmt):
                    number += 1
                previous = stmt
                self.small_statement(stmt, scope)
                continue
            number += 1
            previous = None
            if t is _FunctionDef or t is _AsyncFunctionDef:
                self.function(stmt, nested=scope != "module")
            elif t is _ClassDef:
                self.class_def(stmt, nested=scope != "module")
            else:
                inner = "loop" if scope == "module" and t in (_For, _AsyncFor, _While) else scope
                for arm, suite in enumerate(self._suites(stmt)):
                    self.branch = f"{outer}/{number}.{arm}"
                    self.suite(suite, inner)
                self.branch = outer

    def suite(self, suite: list, scope: str) -> None:
        self.statements(suite, scope)

    def small_statement(self, small: Any, scope: str) -> None:
        t = type(small)
        if scope == "module" or scope == "loop":
            if t is _Import or t is _ImportFrom:
                self.bind_imports(self.import_names(small))
                return
        if t is _Assign:
            value = self.value(small.value)
            for target in small.targets:
                self.assignment(target, value, small, scope)
        elif t is _AnnAssign and small.value is not None:
            self.assignment(small.target, self.value(small.value), small, scope)
        elif t is _Expr and type(small.value) is _Call:
            self.call_statement(small.value, small, scope)
        elif t is ast.AugAssign and type(small.op) is ast.BitOr:
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
        names: dict[str, tuple] = {}
        if type(node) is _Import:
            for alias in node.names:
                target = tuple(alias.name.split("."))
                if alias.asname is not None:
                    names[alias.asname] = target
                else:
                    names[target[0]] = target[:1]
            return names
        base = tuple(node.module.split(".")) if node.module is not None else ()
        source = _import_target(self.module, self.is_package, node.level or 0, base)
        if len(node.names) == 1 and node.names[0].name == "*":
            self.star_imports.append(".".join(source))
            return names
        for alias in node.names:
            local = alias.asname if alias.asname is not None else alias.name
            names[local] = source + (alias.name,)
        return names

    def assignment(self, target: Any, value: Value, stmt: Any, scope: str) -> None:
        if scope.startswith("class:"):
            return  # handled by class_def
        t = type(target)
        if t is _Name:
            if scope in ("module", "loop"):
                self.assigns[target.id] = value if scope == "module" else UNKNOWN
                if _interesting_name(target.id) or type(value) is DictExpr:
                    self.ops.append(Op("assign", (target.id,), value, UNKNOWN, self.span(stmt), "module"))
            return
        if t is _Tuple or t is ast.List:
            for el in target.elts:
                if type(el) is _Starred:
                    el = el.value
                if type(el) is _Name and scope in ("module", "loop"):
                    self.assigns[el.id] = UNKNOWN
            return
        if scope not in ("module", "loop"):
            return
        if t is _Attribute:
            d = dotted(target)
            if d is not None:
                self.ops.append(Op("assign", d, value, UNKNOWN, self.span(stmt), "module"))
        elif t is ast.Subscript:
            d = dotted(target.value)
            key_node = target.slice
            if self._subscript_tuple(target):  # `x[a, b]`: several elements; `x[a,]`: one
                key_node = key_node.elts[0] if len(key_node.elts) == 1 else None
            if d is not None and key_node is not None and type(key_node) not in (ast.Slice, _Starred):
                key = self.value(key_node)
                if type(value) is DictExpr:
                    key_span = self.span(key_node)
                    entry = DictExpr((DictItem(key, value, key_span, self.span(stmt.value)),), ())
                    self.ops.append(Op("setitem", d, entry, key, self.span(stmt), "module"))
                else:
                    self.ops.append(Op("setitem", d, value, key, self.span(stmt), "module"))

    def _subscript_tuple(self, target: Any) -> bool:
        """`x[a, b]`: several subscript elements to libcst (`x[(a, b)]` is one)."""
        key = target.slice
        if type(key) is not _Tuple or not key.elts:
            return False
        source = self.source
        start, end = source.start(key), source.end(key)
        return not (source.text[start] == "(" and source.matching_close(start, end) == end - 1)

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
            if last == "connect" and len(callee) >= 2 and (callee[-2] in _BEAT_SIGNALS or callee[-2] in TASK_SIGNALS):
                first = _first_arg(call)
                if first is not None:
                    fn = dotted(first)
                    if fn is not None and len(fn) == 1:
                        if callee[-2] in _BEAT_SIGNALS:
                            self.handlers.append(SignalHandler(fn[0], callee[:-2]))
                        else:
                            sender = next((k.value for k in call.keywords if k.arg == "sender"), None)
                            self.handlers.append(SignalHandler(fn[0], (dotted(sender) or ()) if sender is not None
                                                               else (), callee[-2]))

    def add_periodic(self, call: Any, receiver: tuple[str, ...], scope: str) -> None:
        function = sender = None
        if scope.startswith("function:"):
            _, function, sender = scope.split(":", 2)
        positional = [a for a in call.args if type(a) is not _Starred]
        keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
        schedule_node = positional[0] if positional else keywords.get("schedule")
        sig_node = positional[1] if len(positional) > 1 else keywords.get("sig")
        schedule = self.value(schedule_node) if schedule_node is not None else UNKNOWN
        task, task_span, args, kwargs = UNKNOWN, -1, UNKNOWN, UNKNOWN
        if type(sig_node) is _Call:
            task, task_span, args, kwargs = self.signature(sig_node)
        name_node = keywords.get("name")
        name = self.value(name_node) if name_node is not None else UNKNOWN
        name_span = self.span(name_node) if name_node is not None else -1
        if "args" in keywords:
            args = self.value(keywords["args"])
        if "kwargs" in keywords:
            kwargs = self.value(keywords["kwargs"])
        options = tuple(
            Keyword(k, self.value(v)) for k, v in keywords.items() if k not in ("schedule", "sig", "name", "args", "kwargs")
        )
        self.periodic.append(PeriodicFacts(
            receiver, function, sender, schedule, task, task_span, args, kwargs, name, name_span, options,
            self.span(call), self.branch + (self.body_branch if function is not None else ""),
        ))

    def signature(self, sig: Any) -> tuple[Value, int, Value, Value]:
        callee = dotted(sig.func)
        if callee is None or _has_star(sig):
            return UNKNOWN, -1, UNKNOWN, UNKNOWN
        positional = list(sig.args)
        keywords = {k.arg: k.value for k in sig.keywords}
        first = positional[0] if positional else keywords.get("varies")
        named = callee[-1] == "signature" and first is not None and (
            self._stringish(first) or type(first) is _JoinedStr
            or (len(callee) == 1 and (type(first) is _Attribute or _name_of(first) is not None))
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
    def decorator(self, expr: Any) -> DecoratorFacts:
        if type(expr) is _Call:
            value = self.call_value(expr)
            name_span = -1
            for k in expr.keywords:
                if k.arg == "name":
                    name_span = self.span(k.value)
            return DecoratorFacts(dotted(expr.func), value.args, value.kwargs, self.span_decorator(expr), name_span)
        return DecoratorFacts(dotted(expr), (), (), self.span_decorator(expr), -1)

    def function(self, node: Any, nested: bool, owner: str | None = None) -> None:
        decorators = tuple(self.decorator(d) for d in node.decorator_list)
        name = node.name
        scanned = not nested or owner is not None
        if decorators or scanned:
            body = _AstBodyScan(self, f"{owner}.{name}" if owner else name)
            if scanned:
                body.visit_body(node.body, ())
            self.functions.append(FunctionFacts(
                name, decorators, self.span_name(node), nested, self.branch,
                params=self.params(node.args) if decorators or name == "run" else (),
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
        params = node.args.args
        first = params[0].arg if params else ""
        self.block(node.body, f"function:{name}:{first}")

    def params(self, params: Any) -> tuple:
        out = []
        positional = params.posonlyargs + params.args
        defaults = [None] * (len(positional) - len(params.defaults)) + list(params.defaults)
        groups = (("posonly", params.posonlyargs, defaults[:len(params.posonlyargs)], ""),
                  ("pos", params.args, defaults[len(params.posonlyargs):], ""),
                  ("vararg", [params.vararg] if params.vararg is not None else [], [None], "*"),
                  ("kwonly", params.kwonlyargs, params.kw_defaults, ""),
                  ("kwarg", [params.kwarg] if params.kwarg is not None else [], [None], "**"))
        for kind, group, group_defaults, star in groups:
            for param, default_node in zip(group, group_defaults):
                default = self.value(default_node) if default_node is not None else None
                out.append(ParamFacts(param.arg, kind, default, self.span_param(param, star)))
        return tuple(out)

    def first_statement(self, body: list) -> FirstStatement:
        """The first statement after a docstring (libcst's: not on a one-line body, and
        alone on its line), when it is a call or a `with` of a call."""
        first = 0
        if (type(body[0]) is _Expr and self._stringish(body[0].value) and not self._is_suite(body[0])
                and not (len(body) > 1 and type(body[1]) not in _COMPOUND and self._joined(body[0], body[1]))):
            first = 1
        lookups: set = set()
        skipped = 0
        suite = self._is_suite(body[0])
        while not suite and first < len(body) - 1 and skipped < 3 and _named_assignment(body[first]) \
                and not self._joined(body[first], body[first + 1]) \
                and not (first > 0 and type(body[first - 1]) not in _COMPOUND and self._joined(body[first - 1], body[first])):
            lookups.update(refs_of(self.value(body[first].value)))
            first += 1
            skipped += 1
        found = frozenset(lookups)
        if first >= len(body):
            return OTHER_STATEMENT
        stmt = body[first]
        t = type(stmt)
        if t is _Return or t is _Expr:
            call = stmt.value
            if type(call) is _Call and dotted(call.func):
                return self._first_call("call", call, False, found)
        elif (t is _With or t is _AsyncWith) and stmt.items and type(stmt.items[0].context_expr) is _Call:
            call = stmt.items[0].context_expr
            if dotted(call.func):
                return self._first_call("with", call, first == len(body) - 1, found)
        return OTHER_STATEMENT

    def _first_call(self, kind: str, call: Any, wraps_rest: bool, lookups: frozenset) -> FirstStatement:
        value = self.call_value(call)
        first_arg = _first_arg(call)
        return FirstStatement(kind, dotted(call.func), value.args, value.kwargs, self.span(call),
                              self.span(first_arg) if first_arg is not None else -1, wraps_rest, lookups)

    def block(self, body: list, scope: str, branch: str = "") -> None:
        """As extract.block: statement-level calls and schedule changes of a function
        body, with the arms (`branch`) they sit in, numbered as libcst's statements."""
        number = -1
        previous = None
        for stmt in body:
            t = type(stmt)
            if t not in _COMPOUND:
                if previous is None or not self._joined(previous, stmt):
                    number += 1
                previous = stmt
                self.body_branch = branch
                if t is _Expr and type(stmt.value) is _Call:
                    self.call_statement(stmt.value, stmt, scope)
                elif t is _Assign:
                    for target in stmt.targets:
                        self.function_assignment(target, stmt, scope)
                elif t is _AnnAssign and stmt.value is not None:
                    self.function_assignment(stmt.target, stmt, scope)
                elif t is ast.AugAssign and type(stmt.op) is ast.BitOr:
                    d = dotted(stmt.target)
                    if schedule_target(d):
                        self.ops.append(Op("ior", d, self.value(stmt.value), UNKNOWN, self.span(stmt), scope))
                continue
            number += 1
            previous = None
            if t is _FunctionDef or t is _AsyncFunctionDef:
                saved = self.body_branch
                self.function(stmt, nested=True)
                self.body_branch = saved
            elif t is _ClassDef:
                self.class_def(stmt, nested=True)
            else:
                for arm, suite in enumerate(self._suites(stmt)):
                    self.block(suite, scope, f"{branch}/{number}.{arm}")

    def function_assignment(self, target: Any, stmt: Any, scope: str) -> None:
        """A schedule changed in a function body: `X.conf.beat_schedule = ...`,
        `SCHEDULE[key] = ...` (ops with the function's scope)."""
        t = type(target)
        if t is _Attribute:
            d = dotted(target)
            if schedule_target(d) and len(d) > 1:
                self.ops.append(Op("assign", d, self.value(stmt.value), UNKNOWN, self.span(stmt), scope))
        elif t is ast.Subscript:
            d = dotted(target.value)
            key_node = target.slice
            if self._subscript_tuple(target):
                key_node = key_node.elts[0] if len(key_node.elts) == 1 else None
            if not schedule_target(d) or key_node is None or type(key_node) in (ast.Slice, _Starred):
                return
            key = self.value(key_node)
            value = self.value(stmt.value)
            if type(value) is DictExpr:
                value = DictExpr((DictItem(key, value, self.span(key_node), self.span(stmt.value)),), ())
            self.ops.append(Op("setitem", d, value, key, self.span(stmt), scope))

    def _single_return(self, fn: Any) -> Value:
        body = fn.body
        if self._is_suite(body[0]):
            stmts = [body]
        else:
            stmts = [line for line in self._lines(body) if not self._is_docstring(line)]
        if len(stmts) == 1 and type(stmts[0][0]) not in _COMPOUND:
            smalls = stmts[0]
            if len(smalls) == 1 and type(smalls[0]) is _Return and smalls[0].value is not None:
                return self.value(smalls[0].value)
        return UNKNOWN

    def class_def(self, node: Any, nested: bool, owner: str | None = None) -> None:
        bases = tuple(self.value(b.value if type(b) is _Starred else b) for b in node.bases)
        attrs = []
        methods: dict[str, Value] = {}
        scope = "class:" + node.name
        # libcst: the statements of a one-line body (`class A: x = 1`) are small
        # statements, which it does not look at.
        suite = self._is_suite(node.body[0])
        for stmt in node.body:
            t = type(stmt)
            if t not in _COMPOUND:
                if suite:
                    continue
                target = value_node = None
                if t is _Assign and len(stmt.targets) == 1:
                    target, value_node = stmt.targets[0], stmt.value
                elif t is _AnnAssign and stmt.value is not None:
                    target, value_node = stmt.target, stmt.value
                if type(target) is _Name:
                    schedule = not nested and _interesting_name(target.id)
                    if not schedule and type(value_node) is _Call and _is_field_or_manager(
                            CallExpr(_callee(value_node), (), ())) and _callee(value_node)[-1] not in RELATIONS:
                        # What libcst's path keeps of it, without folding the arguments it drops.
                        value = kept = CallExpr(_callee(value_node), (), ())
                    else:
                        value = self.value(value_node)
                        kept = kept_attribute(value)
                    attrs.append(ClassAttr(target.id, kept, self.span(value_node) if target.id == "name" else -1))
                    if schedule:
                        self.ops.append(Op("assign", (node.name, target.id), value, UNKNOWN, self.span(stmt), scope))
            elif t is _FunctionDef or t is _AsyncFunctionDef:
                self.function(stmt, nested=True, owner=None if nested else node.name)
                methods[stmt.name] = self._single_return(stmt)
            elif t is _ClassDef:
                self.class_def(stmt, nested=True, owner=node.name)
        self.classes.append(ClassFacts(node.name, bases, tuple(attrs), self.span_name(node), nested,
                                       self.branch, methods, owner))
        if not nested:
            self.assigns[node.name] = UNKNOWN


def _fstring_end(text: str, i: int, quote: str, string_end: Any) -> int:
    """Python 3.12+ (PEP 701): the end of an f-string token from just after its opening
    quote, whose replacement fields may hold strings in the same quotes, f-strings and
    comments."""
    n = len(text)
    depth = 0  # replacement fields open
    brackets: list[int] = []  # per open field: brackets open in its expression, -1 in its format spec
    while i < n:
        c = text[i]
        if not brackets or brackets[-1] < 0:  # literal text, or a format spec
            if not brackets and text.startswith(quote, i):
                return i + len(quote)
            if c == "\\":
                i += 2
                continue
            if c == "{":
                if not brackets and text.startswith("{", i + 1):
                    i += 2
                    continue
                brackets.append(0)
                depth += 1
            elif c == "}":
                if brackets:
                    brackets.pop()
                    depth -= 1
                elif text.startswith("}", i + 1):
                    i += 1
            i += 1
            continue
        if c in "'\"":
            begin = i
            while begin > 0 and (text[begin - 1].isalpha()):
                begin -= 1
            i = string_end(begin)
            continue
        if c == "#":
            while i < n and text[i] not in "\r\n":
                i += 1
            continue
        if c in "([{":
            brackets[-1] += 1
        elif c in ")]":
            brackets[-1] -= 1
        elif c == "}":
            if brackets[-1] == 0:
                brackets.pop()
                depth -= 1
            else:
                brackets[-1] -= 1
        elif c == ":" and brackets[-1] == 0:
            brackets[-1] = -1
        elif c == "!" and brackets[-1] == 0 and not text.startswith("=", i + 1):
            pass  # a conversion: letters up to ":" or "}"
        i += 1
    return n


def _formatted(node: Any) -> list:
    """The top-level replacement fields of a JoinedStr, in order."""
    if type(node) is not _JoinedStr:
        return []
    return [v for v in node.values if type(v) is _FormattedValue]


def _statement_end(stmt: Any) -> tuple[int, int]:
    """Where libcst's range of a statement ends: a compound statement at the end of its
    last statement (ast's end would include a trailing `;`)."""
    while True:
        t = type(stmt)
        if t not in _COMPOUND:
            return stmt.end_lineno, stmt.end_col_offset
        if t is _Try or t is _TryStar:
            body = stmt.finalbody or stmt.orelse or (stmt.handlers[-1].body if stmt.handlers else stmt.body)
        elif t is _Match:
            body = stmt.cases[-1].body
        elif t is _If or t is _For or t is _AsyncFor or t is _While:
            body = stmt.orelse or stmt.body
        else:
            body = stmt.body
        stmt = body[-1]


def _fstring_parts(token: str, prefix: str) -> list[tuple]:
    """An f-string token's pieces as libcst's parts: ("T", raw text) and
    ("E", has a conversion, format spec text) for each top-level replacement field."""
    quote_at = len(prefix)
    quote = token[quote_at]
    if token.startswith(quote * 3, quote_at):
        quote *= 3
    body = token[quote_at + len(quote):len(token) - len(quote)]
    raw = "r" in prefix
    parts: list[tuple] = []
    n = len(body)
    i = text_start = 0
    while i < n:
        c = body[i]
        if c == "\\":
            if not raw and body.startswith("N{", i + 1):
                close = body.find("}", i + 3)
                i = close + 1 if close >= 0 else n
            else:
                i += 2 if body.startswith("\\", i + 1) else 1
            continue
        if c == "{":
            if body.startswith("{", i + 1):
                i += 2
                continue
            if i > text_start:
                parts.append(("T", body[text_start:i]))
            i, conversion, spec = _fstring_field(body, i + 1)
            parts.append(("E", conversion, spec))
            text_start = i
            continue
        if c == "}":
            i += 2 if body.startswith("}", i + 1) else 1
            continue
        i += 1
    if text_start < n:
        parts.append(("T", body[text_start:n]))
    return parts


def _fstring_field(body: str, i: int) -> tuple[int, bool, str]:
    """Scan a replacement field from just after its `{`: (offset after its `}`, whether
    it has a `!conversion`, its format spec text)."""
    n = len(body)
    depth = 0
    conversion = False
    while i < n:
        c = body[i]
        if c in "'\"":
            quote = c * 3 if body.startswith(c * 3, i) else c
            close = body.find(quote, i + len(quote))
            i = close + len(quote) if close >= 0 else n
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                return i + 1, conversion, ""
            depth -= 1
        elif depth == 0 and c == "!" and not body.startswith("=", i + 1):
            conversion = True
        elif depth == 0 and c == ":":
            start = i + 1
            i = start
            nested = 0
            while i < n:
                c = body[i]
                if c == "{":
                    nested += 1
                elif c == "}":
                    if nested == 0:
                        return i + 1, conversion, body[start:i]
                    nested -= 1
                i += 1
            return n, conversion, body[start:n]
        i += 1
    return n, conversion, ""


# --------------------------------------------------------------------------- body scan


def _param_nodes(args: Any) -> list:
    """libcst's Parameters children in its field order (params, kwonly_params,
    posonly_params; its star_arg and star_kwarg are not walked): (arg, default)."""
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    posonly = len(args.posonlyargs)
    return (list(zip(args.args, defaults[posonly:])) + list(zip(args.kwonlyargs, args.kw_defaults))
            + list(zip(args.posonlyargs, defaults[:posonly])))


# The children of each node type in libcst's field order (the order of loops, restore
# calls and enqueue sites in the facts depends on it), and the identifiers that libcst
# holds as Name nodes (refs; a set, so their order does not matter).
_FIELDS: dict[type, tuple[str, ...]] = {
    ast.Return: ("value",), ast.Delete: ("targets",), ast.Assign: ("targets", "value"),
    ast.AugAssign: ("target", "value"), ast.AnnAssign: ("target", "annotation", "value"),
    ast.While: ("test", "body", "orelse"), ast.If: ("test", "body", "orelse"),
    ast.With: ("items", "body"), ast.AsyncWith: ("items", "body"), ast.withitem: ("context_expr", "optional_vars"),
    ast.Raise: ("exc", "cause"), ast.Try: ("body", "handlers", "orelse", "finalbody"),
    ast.ExceptHandler: ("body", "type"), ast.Assert: ("test", "msg"), ast.Expr: ("value",),
    ast.Pass: (), ast.Break: (), ast.Continue: (),
    ast.BoolOp: ("values",), ast.NamedExpr: ("target", "value"), ast.BinOp: ("left", "right"),
    ast.UnaryOp: ("operand",), ast.IfExp: ("test", "body", "orelse"), ast.Set: ("elts",),
    ast.ListComp: ("elt", "generators"), ast.SetComp: ("elt", "generators"), ast.GeneratorExp: ("elt", "generators"),
    ast.DictComp: ("key", "value", "generators"), ast.comprehension: ("target", "iter", "ifs"),
    ast.Await: ("value",), ast.Yield: ("value",), ast.YieldFrom: ("value",), ast.Compare: ("left", "comparators"),
    ast.FormattedValue: ("value", "format_spec"), ast.JoinedStr: ("values",), ast.Subscript: ("value", "slice"),
    ast.Starred: ("value",), ast.List: ("elts",), ast.Tuple: ("elts",), ast.Slice: ("lower", "upper", "step"),
    ast.keyword: ("value",),
}
_IDENTS: dict[type, tuple[str, ...]] = {ast.ExceptHandler: ("name",), ast.keyword: ("arg",)}
if hasattr(ast, "TryStar"):
    _FIELDS[ast.TryStar] = ("body", "handlers", "orelse", "finalbody")
if hasattr(ast, "Match"):
    _FIELDS.update({
        ast.Match: ("subject", "cases"), ast.match_case: ("pattern", "body", "guard"), ast.MatchValue: ("value",),
        ast.MatchSequence: ("patterns",), ast.MatchStar: (), ast.MatchAs: ("pattern",), ast.MatchOr: ("patterns",),
    })
    _IDENTS.update({ast.MatchStar: ("name",), ast.MatchAs: ("name",)})
_PLANS: dict[type, tuple] = {t: (fields, _IDENTS.get(t, ())) for t, fields in _FIELDS.items()}


class _AstBodyScan:
    """As extract._BodyScan, over ast nodes in libcst's field order."""

    quiet = False  # a scan of a value visited again by its parent: records no rows

    def __init__(self, extractor: _AstExtractor, function: str | None):
        self.ex = extractor
        self.function = function
        self.calls: set = set()
        self.refs: set = set()
        self.loops: list = []
        self.restores: list = []
        self.spawns = False
        self.bound: dict[str, set] = {}
        self.values: dict[str, Value] = {}
        self.imports: dict[str, tuple] = {}
        self.enqueue_count = 0
        self.setters: list = []
        self.fan_out_targets: set[str] = set()
        self.guards: list = []
        self.guard_stack: list[int] = []
        self.sql: list = []
        self.stores: set = set()
        self.keys_read: set = set()

    def visit_body(self, body: list, enclosing: tuple) -> None:
        visit = self.visit
        for stmt in body:
            visit(stmt, enclosing)

    def visit(self, node: Any, enclosing: tuple) -> None:
        t = type(node)
        if t is _Name:
            self.refs.add((node.id,))
            return
        if t is _Attribute:
            value = node.value
            chain = (value.id, node.attr) if type(value) is _Name else dotted(node)
            if chain is not None:
                self.refs.add(chain)
            else:
                self.visit(value, enclosing)
                self.refs.add((node.attr,))
            return
        if t is _Call:
            self.call(node, enclosing)
            return
        if t is _Constant:
            v = node.value
            if v is None or v is True or v is False:
                self.refs.add((str(v),))
            return
        if t is _With or t is _AsyncWith:
            self.with_statement(node, enclosing)
            return
        plan = _PLANS.get(t)
        if plan is None:
            self.special(node, t, enclosing)
            return
        bind = None
        if t is _Assign:
            for assigned in node.targets:
                if type(assigned) is _Attribute:
                    chain = dotted(assigned)
                    if chain is not None:
                        self.stores.add(chain)
            if len(node.targets) == 1:
                target = node.targets[0]
                if type(target) is _Name:
                    inner = _AstBodyScan(self.ex, self.function)
                    inner.quiet = True  # the value is visited again below: its rows count once
                    inner.visit(node.value, ())
                    self.bound[target.id] = inner.refs
                    self.values[target.id] = self.ex.value(node.value)
                    bind = target.id
                elif type(target) in (_Tuple, ast.List) and target.elts and type(target.elts[0]) is _Name:
                    bind = target.elts[0].id
        elif t is _Subscript:
            key = self.ex.value(node.slice)
            if type(key) is Str:
                self.keys_read.add(key.text)
        fields, idents = plan
        for name in idents:
            ident = getattr(node, name)
            if ident is not None:
                self.refs.add((ident,))
        visit = self.visit
        for name in fields:
            child = getattr(node, name)
            if child is None:
                continue
            if type(child) is list:
                for c in child:
                    visit(c, enclosing)
            else:
                visit(child, enclosing)
        if bind is not None and self.ex.row_nodes:
            self.ex.bind_row(node.value, bind)

    def special(self, node: Any, t: type, enclosing: tuple) -> None:
        """The node types whose children do not map field by field."""
        visit = self.visit
        if t is _For or t is _AsyncFor:
            self.loop(node, enclosing)
        elif t is _Import or t is _ImportFrom:
            self.imports.update(self.ex.import_names(node))
        elif t is _FunctionDef or t is _AsyncFunctionDef or t is ast.Lambda:
            if t is not ast.Lambda:
                self.refs.add((node.name,))
            self.parameters(node.args, enclosing)
            if t is ast.Lambda:
                visit(node.body, enclosing)
                return
            self.visit_body(node.body, enclosing)
            for d in node.decorator_list:
                visit(d, enclosing)
            if node.returns is not None:
                visit(node.returns, enclosing)
            self.type_params(node, enclosing)
        elif t is _ClassDef:
            self.refs.add((node.name,))
            self.visit_body(node.body, enclosing)
            for b in node.bases:
                visit(b, enclosing)
            for k in node.keywords:
                visit(k, enclosing)
            for d in node.decorator_list:
                visit(d, enclosing)
            self.type_params(node, enclosing)
        elif t is _TypeAlias:  # Python 3.12: libcst's name, value, type_parameters
            visit(node.name, enclosing)
            visit(node.value, enclosing)
            self.type_params(node, enclosing)
        elif t is _Dict:
            for key, value in zip(node.keys, node.values):
                if key is not None:
                    visit(key, enclosing)
                visit(value, enclosing)
        elif t is ast.Global or t is ast.Nonlocal:
            for name in node.names:
                self.refs.add((name,))
        elif t is ast.MatchSingleton:
            self.refs.add((str(node.value),))
        elif t is ast.MatchMapping:
            for key, pattern in zip(node.keys, node.patterns):
                visit(key, enclosing)
                visit(pattern, enclosing)
            if node.rest is not None:
                self.refs.add((node.rest,))
        elif t is ast.MatchClass:
            visit(node.cls, enclosing)
            for pattern in node.patterns:
                visit(pattern, enclosing)
            for key, pattern in zip(node.kwd_attrs, node.kwd_patterns):
                self.refs.add((key,))
                visit(pattern, enclosing)
        else:  # anything newer: every child node, in ast's order
            for child in ast.iter_child_nodes(node):
                visit(child, enclosing)

    def with_statement(self, node: Any, enclosing: tuple) -> None:
        """As extract._BodyScan.with_statement."""
        ex = self.ex
        opened = 0
        for item in node.items:
            self.visit(item, enclosing)
            call = item.context_expr
            if type(call) is _Call and dotted(call.func) is not None:
                value = ex.call_value(call)
                first = _first_arg(call)
                parent = self.guard_stack[-1] if self.guard_stack else -1
                self.guards.append(Guard(dotted(call.func), value.args, value.kwargs, ex.span(call),
                                         ex.span(first) if first is not None else -1, parent,
                                         frozenset(), frozenset()))
                self.guard_stack.append(len(self.guards) - 1)
                opened += 1
        if not opened:
            self.visit_body(node.body, enclosing)
            return
        outer_refs, outer_calls = self.refs, self.calls
        self.refs, self.calls = set(), set()
        self.visit_body(node.body, enclosing)
        inner = self.guard_stack[-1]
        self.guards[inner] = self.guards[inner]._replace(refs=frozenset(self.refs), calls=frozenset(self.calls))
        for index in self.guard_stack[len(self.guard_stack) - opened:-1]:
            self.guards[index] = self.guards[index]._replace(refs=frozenset(), calls=frozenset())
        del self.guard_stack[len(self.guard_stack) - opened:]
        self.refs, self.calls = outer_refs, outer_calls

    def guard_callees(self) -> tuple:
        return tuple(self.guards[i].callee for i in self.guard_stack)

    def function_facts(self) -> dict:
        """As extract._BodyScan.function_facts."""
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

    def type_params(self, node: Any, enclosing: tuple) -> None:
        """Python 3.12's type parameters, last in libcst's fields: a TypeVar's name and
        bound, a ParamSpec's or TypeVarTuple's name, then any default (3.13)."""
        for param in getattr(node, "type_params", ()):
            self.refs.add((param.name,))
            bound = getattr(param, "bound", None)
            if bound is not None:
                self.visit(bound, enclosing)
            default = getattr(param, "default_value", None)
            if default is not None:
                self.visit(default, enclosing)

    def parameters(self, args: Any, enclosing: tuple) -> None:
        for arg, default in _param_nodes(args):
            self.refs.add((arg.arg,))
            if arg.annotation is not None:
                self.visit(arg.annotation, enclosing)
            if default is not None:
                self.visit(default, enclosing)

    def call(self, node: Any, enclosing: tuple) -> None:
        ex = self.ex
        callee = dotted(node.func)
        func = node.func
        chain = callee
        if callee is None and type(func) is _Attribute and type(func.value) is _Call:
            made = dotted(func.value.func)
            if made is not None:
                chain = made + ("()", func.attr)
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
                if node.args or node.keywords:
                    arg = _first_arg(node)
                    self.restores.append(RestoreCall(callee, ex.value(arg), ex.span(node), ex.span(arg)))
            if last in SQL_METHODS and (node.args or node.keywords):
                self.sql.append(ex.value(_first_arg(node)))
            elif last in KEY_METHODS and node.args and _first_arg(node) is node.args[0]:
                key = ex.value(node.args[0])
                if type(key) is Str:
                    self.keys_read.add(key.text)
            elif callee == ("setattr",) and len(node.args) == 3 and not node.keywords \
                    and not any(type(a) is _Starred for a in node.args):
                target, name = dotted(node.args[0]), ex.value(node.args[1])
                if target is not None and type(name) is Str:
                    self.stores.add(target + (name.text,))  # setattr(_local, "tenant", x)
            if last in ENQUEUE_METHODS and len(callee) > 1 and callee[0] not in ("self", "cls"):
                self.enqueue(node, callee[:-1], last, enclosing)
        if callee is not None:  # what visiting the function would do
            self.refs.add(callee)
        else:
            self.visit(func, enclosing)
        inner = enclosing + (callee or ("?",),)
        visit = self.visit
        args, keywords = node.args, node.keywords
        if keywords and args and (args[-1].lineno, args[-1].col_offset) > (keywords[0].lineno, keywords[0].col_offset):
            for _, _, value in _args(node):  # `f(a=1, *b)`: libcst's source order
                visit(value, inner)
            return
        for a in args:
            visit(a.value if type(a) is _Starred else a, inner)
        for k in keywords:
            visit(k.value, inner)

    def row(self, node: Any, written: tuple) -> None:
        """A django-celery-beat row written here (as extract._BodyScan.row)."""
        ex = self.ex
        kwargs, spans = [], []
        for keyword, star, value in _args(node):
            if keyword is None and star != "**":
                continue  # positional arguments
            kwargs.append(Keyword(keyword, ex.value(value)))
            spans.append(ex.span(value))
        ex.rows.append(RowWrite(written[0], written[1], tuple(kwargs), tuple(spans), ex.span(node), self.function))
        ex.row_nodes.append(node)

    def enqueue(self, node: Any, receiver: tuple, method: str, enclosing: tuple) -> None:
        ex = self.ex
        state, value, span = "missing", UNKNOWN, -1
        keywords = {k.arg: k.value for k in node.keywords if k.arg is not None}
        keys: set[str] = set()
        if any(k.arg is None for k in node.keywords):
            state = "unknown"
        if method in ("delay", "s", "si"):
            keys.update(keywords)
            count = -1 if any(type(a) is _Starred for a in node.args) else len(node.args)
            if "tenant_id" in keywords:
                state, value, span = "given", ex.value(keywords["tenant_id"]), ex.span(keywords["tenant_id"])
        else:
            keys.update(k for k in keywords if k not in ("args", "kwargs", "headers"))
            positional = [a for a in node.args if type(a) is not _Starred]
            sequence = keywords.get("args", positional[0] if positional else None)
            count = 0 if sequence is None else len(sequence.elts) \
                if type(sequence) in (_List, _Tuple) and not any(type(e) is _Starred for e in sequence.elts) else -1
            mapping = keywords.get("kwargs", positional[1] if len(positional) > 1 else None)
            for source in (mapping, keywords.get("headers")):
                if type(source) is _Dict:
                    for key_node, item in zip(source.keys, source.values):
                        if key_node is None:
                            state = "unknown" if state != "given" else state
                            continue
                        key = ex.value(key_node)
                        if type(key) is Str:
                            keys.add(key.text)
                        if key == Str("tenant_id") and state != "given":
                            state, value, span = "given", ex.value(item), ex.span(item)
                elif type(source) is _Call and dotted(source.func) == ("dict",):
                    for keyword, star, item in _args(source):
                        if keyword is not None:
                            keys.add(keyword)
                            if keyword == "tenant_id" and state != "given":
                                state, value, span = "given", ex.value(item), ex.span(item)
                        elif star:
                            state = "unknown" if state != "given" else state
                elif source is not None:
                    state = "unknown" if state != "given" else state
            if "tenant_id" in keywords and state != "given":
                state, value, span = "given", ex.value(keywords["tenant_id"]), ex.span(keywords["tenant_id"])
        self.enqueue_count += 1
        if state == "given":
            self.fan_out_targets |= {r[0] for r in refs_of(value)}
            if type(value) is Ref and len(value.dotted) == 1 and value.dotted[0] in self.values:
                value = self.values[value.dotted[0]]
        ex.enqueues.append(EnqueueFacts(receiver, method, state, value, span, ex.span(node), enclosing,
                                        self.function, frozenset(keys), self.guard_callees(), count))

    def loop(self, node: Any, enclosing: tuple) -> None:
        iterable = _AstBodyScan(self.ex, self.function)
        iterable.visit(node.iter, ())
        iter_refs = set(iterable.refs)
        name = _iter_root(node.iter)
        if name is not None:  # `for t in tenants`, `for t in tenants.iterator()`
            iter_refs |= self.bound.get(name, set())
        self.refs |= iterable.refs
        self.calls |= iterable.calls
        before, setters_before, fan_before = self.enqueue_count, len(self.setters), set(self.fan_out_targets)
        self.fan_out_targets = set()
        self.visit_body(node.body, enclosing)
        if node.orelse:
            self.visit_body(node.orelse, enclosing)
        count = self.enqueue_count - before
        target = node.target.id if type(node.target) is _Name else None
        fans_out = target is not None and target in self.fan_out_targets
        self.fan_out_targets |= fan_before
        self.loops.append(LoopFacts(frozenset(iter_refs), target, count, count == 1 and self._only_enqueue(node),
                                    self.ex.span_loop(node), fans_out, frozenset(self.setters[setters_before:])))

    def _only_enqueue(self, node: Any) -> bool:
        ex = self.ex
        if node.orelse or ex._is_suite(node.body[0]):
            return False
        enqueues = 0
        for line in ex._lines(node.body):
            if len(line) != 1 or type(line[0]) in _COMPOUND:
                return False
            small = line[0]
            if type(small) is not _Expr or type(small.value) is not _Call:
                return False
            callee = dotted(small.value.func) or ()
            if callee and callee[-1] in ENQUEUE_METHODS:
                enqueues += 1
            elif not callee or not (callee[0] in _LOGGING_ROOTS or callee[-1] in _LOGGING_METHODS):
                return False
        return enqueues == 1


def _named_assignment(stmt: Any) -> bool:
    """`name = value` or `name: T = value` (a lookup before the first statement)."""
    t = type(stmt)
    if t is _Assign:
        return len(stmt.targets) == 1 and type(stmt.targets[0]) is _Name
    return t is _AnnAssign and stmt.value is not None and type(stmt.target) is _Name


def _iter_root(node: Any) -> str | None:
    """The name a loop's iterable starts from (`tenants`, `tenants.iterator()`)."""
    while True:
        t = type(node)
        if t is _Call:
            node = node.func
        elif t is _Attribute:
            node = node.value
        else:
            return _name_of(node)
