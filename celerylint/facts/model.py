"""The facts of one file, as named types: what the per-file pass (`extract.py`) records
and everything above it reads. Facts are small, immutable and picklable (they cross
process boundaries and live in the cache); rules never see syntax trees.

Expressions that the project layer may need to evaluate later (task names, schedule
dicts, crontab arguments, default values) are kept as **values**, a small closed set of
named types that the project layer folds, resolving names across modules:

    Str(text)                         a string literal
    Num(value)                        an int, float, bool or None literal
    Ref(dotted)                       a dotted name, ("a", "b") for `a.b`
    Join(parts)                       a string concatenation or f-string
    BinOp(op, left, right)            arithmetic (+ - * / // %)
    CallExpr(callee, args, kwargs)    a call; kwargs are Keyword(name, value), name None for `**x`
    DictExpr(items, spreads)          a dict literal: DictItem(key, value, key_span, value_span)
    SeqExpr(items)                    a list, tuple or set literal
    IfExpr(test, body, orelse)        a conditional expression: `body if test else orelse`
    DictComp(key, value, targets, iterable)
                                      a dict comprehension with one `for` clause and no
                                      condition: `{key: value for targets in iterable}`,
                                      targets the loop's names ("a",) or ("a", "b")
    UNKNOWN                           anything else; falsy, and the only unknown there is

Values compare equal only to values of the same type (`Str("a") != Ref(("a",))`).
Positions are indexes into `FileFacts.spans` (-1: none), resolved only when a finding
is reported.
"""

from __future__ import annotations

import os
from collections import namedtuple
from dataclasses import dataclass
from typing import Any, NamedTuple, Union

Span = tuple  # (line, column, end_line, end_column): 1-based, end exclusive


# --------------------------------------------------------------------------- values


class Unknown:
    """What the analyzer cannot know. One instance, `UNKNOWN`; falsy; pickles to itself."""

    __slots__ = ()
    _instance: "Unknown | None" = None

    def __new__(cls) -> "Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = Unknown()


class ValueBase:
    """The base of the value types. Equality by type and fields; pickled through the C tuple constructor (several
    times faster to load than a namedtuple's own `__new__`)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and tuple.__eq__(self, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = tuple.__hash__

    def __reduce__(self) -> tuple:
        return tuple.__new__, (type(self), tuple(self))  # type: ignore[arg-type]


class Str(ValueBase, namedtuple("Str", "text")):
    __slots__ = ()


class Num(ValueBase, namedtuple("Num", "value")):
    __slots__ = ()


class Ref(ValueBase, namedtuple("Ref", "dotted")):
    __slots__ = ()


class Join(ValueBase, namedtuple("Join", "parts")):
    __slots__ = ()


class BinOp(ValueBase, namedtuple("BinOp", "op left right")):
    __slots__ = ()


class CallExpr(ValueBase, namedtuple("CallExpr", "callee args kwargs")):
    """callee: the dotted name called, ("?", attr) for a method of an expression
    (`crontab.from_string(...)` on a call result), or None."""

    __slots__ = ()


class DictExpr(ValueBase, namedtuple("DictExpr", "items spreads")):
    __slots__ = ()


class SeqExpr(ValueBase, namedtuple("SeqExpr", "items")):
    __slots__ = ()


class IfExpr(ValueBase, namedtuple("IfExpr", "test body orelse")):
    """`body if test else orelse`: folds to the branch its test selects; a schedule
    whose test cannot be folded holds the entries of both branches."""

    __slots__ = ()


class DictComp(ValueBase, namedtuple("DictComp", "key value targets iterable")):
    """`{key: value for targets in iterable}` (one `for`, no `if`): a schedule built
    from a literal sequence (`for region in ("eu", "us")`) is read entry by entry."""

    __slots__ = ()


Value = Union[Str, Num, Ref, Join, BinOp, CallExpr, DictExpr, SeqExpr, IfExpr, DictComp, Unknown]


class Keyword(NamedTuple):
    name: str | None  # None for `**value`
    value: Any  # Value


class DictItem(NamedTuple):
    key: Any  # Value
    value: Any  # Value
    key_span: int  # recorded when the value is a dict (a schedule's entries) ...
    value_span: int  # ... or the key is "task"


def refs_of(value: Any) -> list[tuple]:
    """The dotted names inside a value (`str(config.tenant_id)` -> [("str",), ("config", "tenant_id")])."""
    kind = type(value)
    if kind is Ref:
        return [value.dotted]
    if kind is CallExpr:
        out = [value.callee] if value.callee and value.callee[0] != "?" else []
        for arg in value.args:
            out += refs_of(arg)
        for keyword in value.kwargs:
            out += refs_of(keyword.value)
        return out
    if kind is Join or kind is SeqExpr:
        return [r for part in (value.parts if kind is Join else value.items) for r in refs_of(part)]
    if kind is BinOp:
        return refs_of(value.left) + refs_of(value.right)
    return []


# --------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class SourceFile:
    """A Python file of the project, as the analysis names it."""

    path: str  # absolute, normalised
    rel: str  # relative to the project root, with "/"
    module: str  # dotted module name as Celery derives task names

    @property
    def is_package(self) -> bool:
        return os.path.basename(self.path) == "__init__.py"


class DecoratorFacts(NamedTuple):
    dotted: tuple[str, ...] | None  # the decorator without its call: ("app", "task")
    args: tuple  # values
    kwargs: tuple  # Keyword, ...
    span: int
    name_span: int  # span of the `name=` value, or -1


class ParamFacts(NamedTuple):
    name: str
    kind: str  # "posonly", "pos", "vararg", "kwonly" or "kwarg"
    default: Any  # value of the default, None when there is none
    span: int


class EnqueueFacts(NamedTuple):
    """`task.delay(...)`, `.apply_async(...)`, `.s(...)`, `.si(...)`, `.signature(...)`."""

    receiver: tuple  # dotted name of the task object
    method: str
    # tenant_id as a task keyword, in the `kwargs=` mapping, as an apply_async option or
    # in `headers=`: "given", "missing", or "unknown" (`**kwargs`, `kwargs=<name>`)
    tenant: str
    tenant_value: Any  # its value when given (a local name: the value it was bound to)
    tenant_span: int
    span: int
    enclosing: tuple  # dotted callees of the calls whose arguments contain this one, innermost last
    function: str | None  # the module-level function (or "Class.method") it is in, if any
    # Every name the call hands over: task keywords, keys of `kwargs=` and `headers=`
    # mappings, apply_async options (a tenant may travel under another name).
    keys: frozenset = frozenset()
    guards: tuple = ()  # dotted callees of the `with` context managers around it, outermost first
    positional: int = -1  # how many positional arguments it hands the task (-1: unknown)


class LoopFacts(NamedTuple):
    """A `for` statement in a function body."""

    iter_refs: frozenset  # dotted names in the iterable (and in what a local iterable name was bound to)
    target: str | None  # the loop variable
    enqueues: int  # enqueue calls in the loop body
    only_enqueue: bool  # the body is nothing but one enqueue call (and logging)
    span: int
    fans_out: bool = False  # an enqueue in the body passes tenant_id taken from the loop variable
    setters: frozenset = frozenset()  # callees in the body that may set a tenant context (restore_candidate)


class FirstStatement(NamedTuple):
    """The first statement of a function body after its docstring, when it is a call
    (or `return` of one), or a `with` whose first context manager is a call."""

    kind: str  # "call", "with" or "other"
    callee: tuple | None = None
    args: tuple = ()  # values
    kwargs: tuple = ()  # Keyword, ...
    span: int = -1  # the call
    arg_span: int = -1  # its first argument
    wraps_rest: bool = False  # "with": the statement is the body's last, so it wraps the rest
    # Dotted names used by up to three `name = ...` statements before it (skipped to find
    # it: `tenant = Tenant.objects.get(pk=tenant_id)` then `set_current_tenant(tenant)`).
    lookups: frozenset = frozenset()


OTHER_STATEMENT = FirstStatement("other")


class RestoreCall(NamedTuple):
    """A call that may set a tenant context (common.restore_candidate: a configured
    restore function or context manager, or a name about tenants, schemas or
    organisations); the project layer decides which ones do."""

    callee: tuple
    argument: Any  # value of the first argument
    span: int
    argument_span: int


class Guard(NamedTuple):
    """A `with` statement in a function body whose context manager is a call, and what
    runs inside it (not inside a guard nested in it)."""

    callee: tuple
    args: tuple  # values
    kwargs: tuple  # Keyword, ...
    span: int  # the call
    arg_span: int  # its first argument
    parent: int  # the index of the guard around this one, -1 for none
    refs: frozenset
    calls: frozenset


class FunctionFacts(NamedTuple):
    name: str
    decorators: tuple[DecoratorFacts, ...]
    def_span: int  # the function's name
    nested: bool  # defined inside another function or a class
    branch: str = ""  # which arm of module-level if/try statements holds it, e.g. "/3.0"
    calls: frozenset = frozenset()  # dotted callees called anywhere in the body
    params: tuple = ()  # ParamFacts (decorated functions and Task.run methods only)
    first: FirstStatement = OTHER_STATEMENT
    refs: frozenset = frozenset()  # dotted names used in the body (`Order.objects.filter` -> whole chain)
    loops: tuple = ()  # LoopFacts
    restores: tuple = ()  # RestoreCall
    spawns: bool = False  # calls a spawner function
    imports: dict = {}  # imports inside the body: local name -> dotted target (never mutated)
    owner: str | None = None  # the class, for a method
    guards: tuple = ()  # Guard, ...
    unguarded_refs: frozenset = frozenset()  # refs outside every guard (refs itself when there is none)
    unguarded_calls: frozenset = frozenset()  # calls likewise
    sql: tuple = ()  # values of the statements handed to `.execute(...)` / `.executemany(...)`
    stores: frozenset = frozenset()  # dotted targets of attribute assignments (`_local.tenant = x`)
    keys_read: frozenset = frozenset()  # string keys read: `x["k"]`, `x.get("k")`, `x.pop("k")`
    from_tenant_id: frozenset = frozenset()  # local names bound to a value that uses tenant_id


class ClassAttr(NamedTuple):
    name: str
    value: Any  # value (a model field or manager keeps only its callee; a relation, its target too)
    span: int  # the value's span, for `name = ...` only


class ClassFacts(NamedTuple):
    name: str
    bases: tuple  # values of the base expressions
    attrs: tuple  # ClassAttr, ... class-level assignments
    def_span: int
    nested: bool
    branch: str = ""
    # method name -> value returned when the body is a single `return <expr>`, else UNKNOWN
    methods: dict = {}
    owner: str | None = None  # the class it is defined in (`class TenantMeta:` in a model)


class PeriodicFacts(NamedTuple):
    """`<receiver>.add_periodic_task(schedule, sig, name=..., **options)`."""

    receiver: tuple[str, ...]  # dotted receiver, e.g. ("sender",) or ("app",)
    function: str | None  # the enclosing function, if any
    sender: str | None  # that function's first parameter
    schedule: Any  # value
    task: Any  # value: Str(name) or Ref(dotted) of a task object, or UNKNOWN
    task_span: int
    args: Any  # value
    kwargs: Any  # value
    name: Any  # value of name=, or UNKNOWN when absent
    name_span: int
    options: tuple  # Keyword, ... the remaining keyword arguments
    span: int
    # Which arm of if/try statements holds the call: the module-level branch of the
    # statement or function it is in, then the arms inside the function ("/2.0/0.1").
    # Calls in exclusive arms never both run (exclusive_branches).
    branch: str = ""


class Op(NamedTuple):
    """A module-level statement that configures an app or changes a schedule, in order.

    kind: "assign" (target = value), "setitem" (target[key] = value), "ior"
    (target |= value), "call" (target(*args, **kwargs), e.g. ("app", "conf", "update");
    at module level also every call of a plain name, `configure(app)`, and of
    `*.task` / `*.shared_task` / `*.register_task`).
    target: dotted tuple; for class attributes the class name comes first and `scope`
    says so.
    scope: "module", "class:<Name>", or "function:<name>:<first parameter>" for the
    schedule changes made in a function body (`sender.conf.beat_schedule.update(...)`,
    `SCHEDULE[key] = ...`, `X |= ...` on a schedule name), which the project layer
    applies only when the app runs that function at configure time.
    """

    kind: str
    target: tuple[str, ...]
    value: Any  # assign/setitem: the value; call: the CallExpr
    key: Any  # setitem: the key value; otherwise UNKNOWN
    span: int
    scope: str  # "module", or "class:<Name>"


class RowWrite(NamedTuple):
    """A django-celery-beat row written in a function body (model by its last name:
    PeriodicTask, CrontabSchedule, IntervalSchedule, SolarSchedule, ClockedSchedule):
    `M.objects[.using(db)].create / get_or_create / update_or_create(...)`, or `M(...)`
    (method "new"). The project layer checks that `M` is django-celery-beat's model."""

    model: tuple  # dotted name of the model as written
    method: str  # "create", "get_or_create", "update_or_create" or "new"
    kwargs: tuple  # Keyword, ... (`**x`: name None)
    value_spans: tuple  # the span of each keyword's value, in the same order
    span: int  # the call
    function: str | None  # the function ("Class.method") it is in
    bound: str | None = None  # the local name the result is bound to (`s = ...`, `s, _ = ...`)


class CrontabCall(NamedTuple):
    """A call of a name ending in `crontab` (or `crontab.from_string`), anywhere."""

    value: Any  # CallExpr
    span: int
    local: bool  # inside a function, lambda or comprehension: its names may be local


class SignalHandler(NamedTuple):
    """A module-level function connected to a signal: `<app>.on_after_configure` /
    `on_after_finalize` (the app as written), or one of Celery's task signals
    (`task_prerun`, `before_task_publish`, ...; `app` is its sender, if given)."""

    function: str
    app: tuple  # dotted name of the app, as written
    signal: str = ""  # the signal's name


class SyntaxFacts(NamedTuple):
    message: str
    line: int
    column: int


class FileFacts(NamedTuple):
    module: str
    is_package: bool
    imports: dict  # local name -> absolute dotted tuple (modules and module attributes)
    star_imports: tuple  # absolute module names star-imported, in order
    assigns: dict  # module-level name -> value (the last assignment)
    functions: tuple[FunctionFacts, ...]
    classes: tuple[ClassFacts, ...]
    periodic: tuple[PeriodicFacts, ...]
    ops: tuple[Op, ...]
    spans: tuple  # index -> Span
    noqa: dict  # line -> frozenset of codes, or None for a bare `# noqa`
    error: SyntaxFacts | None = None
    handlers: tuple = ()  # SignalHandler, ...
    enqueues: tuple = ()  # EnqueueFacts, anywhere in the file
    rows: tuple = ()  # RowWrite, in function bodies
    crontabs: frozenset = frozenset()  # CrontabCall, anywhere (files mentioning "crontab")
    # Module-level names imported more than once with different targets (the arms of
    # `if`/`try`): name -> every target, in order (`imports` holds the last).
    rebound: dict = {}

    def span(self, index: int) -> Span | None:
        """The position of span `index`, None for -1."""
        return self.spans[index] if index >= 0 else None


def exclusive_branches(a: str, b: str) -> bool:
    """Whether two definitions sit in different arms of the same if/try statement."""
    for x, y in zip(a.split("/")[1:], b.split("/")[1:]):
        if x != y:
            return x.split(".")[0] == y.split(".")[0]
    return False


ENQUEUE_METHODS = frozenset({"delay", "apply_async", "s", "si", "signature"})
