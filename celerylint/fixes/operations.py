"""The libcst side of the fixes: the transformer that applies `Edit`s at their
positions, and the operations it knows.

Imported only when a fix is applied, so a check run never loads libcst for fixes.
"""

from __future__ import annotations

from typing import Any, Callable

import libcst as cst
from libcst.metadata import PositionProvider

from celerylint.diagnostics import Edit


class NotApplicable(Exception):
    pass


class Applier(cst.CSTTransformer):
    """Applies the edits whose spans match a node's position (PositionProvider)."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, by_span: dict[tuple, list[Edit]]):
        super().__init__()
        self.by_span = by_span
        self.pending = {k: list(v) for k, v in by_span.items()}

    def on_leave(self, original_node, updated_node):
        if isinstance(original_node, cst.SimpleStatementLine) and len(original_node.body) == 1 \
                and isinstance(original_node.body[0], cst.Expr) and self._take(original_node.body[0].value, "remove"):
            return cst.RemoveFromParent()  # "remove": the statement that is just this call
        if isinstance(original_node, cst.With) and self._take(original_node.items[0].item, "remove"):
            return _unwrap_with(updated_node)  # "remove" the context manager of a `with`
        # Function-level edits name the function by its name's span (where rules report).
        target = original_node.name if isinstance(original_node, cst.FunctionDef) else original_node
        try:
            pos = self.get_metadata(PositionProvider, target)
        except KeyError:
            return updated_node
        key = (pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1)
        edits = self.pending.get(key)
        if not edits:
            return updated_node
        remaining = []
        for edit in edits:
            op = OPERATIONS.get(edit.op)
            result = op(updated_node, edit.arg) if op is not None else None
            if result is None:
                remaining.append(edit)  # maybe a node of another type at the same span
            else:
                updated_node = result
        if remaining:
            self.pending[key] = remaining
        else:
            del self.pending[key]
        return updated_node

    def _take(self, node, op: str) -> bool:
        """Whether an edit `op` is pending for `node`; consumes it."""
        try:
            pos = self.get_metadata(PositionProvider, node)
        except KeyError:
            return False
        key = (pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1)
        edits = self.pending.get(key, [])
        for edit in edits:
            if edit.op == op:
                edits.remove(edit)
                if not edits:
                    del self.pending[key]
                return True
        return False


# --------------------------------------------------------------------------- operations
# Each takes the (updated) node and the edit's argument, and returns the new node, or
# None when the node is not of the kind the operation changes.


def _unwrap_with(node):
    """The `with` block without its first context manager: the other managers stay, or
    with none left the body takes the block's place (comments above and on the `with`
    line go to its first statement). A manager bound with `as` is left alone."""
    if node.items[0].asname is not None:
        return node
    if len(node.items) > 1:
        return node.with_changes(items=node.items[1:])
    body = node.body
    if not isinstance(body, cst.IndentedBlock):
        return cst.SimpleStatementLine(body=body.body, leading_lines=node.leading_lines)
    lead = list(node.leading_lines)
    if body.header.comment is not None:
        lead.append(cst.EmptyLine(comment=body.header.comment))
    first, *rest = body.body
    return cst.FlattenSentinel([first.with_changes(leading_lines=[*lead, *first.leading_lines]), *rest])


def _string(node, text: str):
    if not isinstance(node, cst.SimpleString) or "b" in node.prefix.lower():
        return None
    quote = node.quote
    body = text.replace("\\", "\\\\") if "r" not in node.prefix.lower() else text
    if quote in body:
        return None
    return node.with_changes(value=f"{node.prefix}{quote}{body}{quote}")


def _wrap_str(node, _):
    if not isinstance(node, cst.BaseExpression):
        return None
    return cst.Call(func=cst.Name("str"), args=[cst.Arg(value=node)])


def _name(node, name: str):
    if not isinstance(node, cst.BaseExpression):
        return None
    return cst.Name(name)


def _decorator_to(node, name: str):
    """`@app.task(...)` / `@app.task` -> `@<name>(...)` / `@<name>`."""
    if not isinstance(node, cst.Decorator):
        return None
    expr = node.decorator
    if isinstance(expr, cst.Call):
        return node.with_changes(decorator=expr.with_changes(func=cst.Name(name)))
    return node.with_changes(decorator=cst.Name(name))


def _tenant_param():
    return cst.Param(name=cst.Name("tenant_id"), default=cst.Name("None"),
                     equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                           whitespace_after=cst.SimpleWhitespace("")))


def _add_tenant_param(node, _):
    """`*, tenant_id=None` as the last parameter before `**kwargs` (keyword-only)."""
    if not isinstance(node, cst.FunctionDef):
        return None
    params = node.params
    if any(p.name.value == "tenant_id" for p in _all_params(params)):
        return None
    new = [_tenant_param()]
    if not isinstance(params.star_arg, (cst.Param, cst.ParamStar)):
        new.insert(0, cst.ParamStar())
    return node.with_changes(params=_insert_params(node, params, new))


def _all_params(params) -> list:
    out = list(params.posonly_params) + list(params.params)
    if isinstance(params.star_arg, cst.Param):
        out.append(params.star_arg)
    out += list(params.kwonly_params)
    if params.star_kwarg is not None:
        out.append(params.star_kwarg)
    return out


def _insert_params(function, params, new: list):
    """Insert `new` (a ParamStar and/or Params) before `**kwargs` or at the end, laid out
    like the existing parameters (one per line with trailing commas stays so)."""
    has_star = isinstance(params.star_arg, (cst.Param, cst.ParamStar))
    before = list(params.posonly_params) + list(params.params) + ([params.star_arg] if has_star else []) \
        + list(params.kwonly_params)
    laid = with_layout(before, new, params.star_kwarg is not None, function.whitespace_before_params)
    cut = len(params.posonly_params)
    posonly, laid = laid[:cut], laid[cut:]
    cut = len(params.params)
    normal, laid = laid[:cut], laid[cut:]
    star = params.star_arg
    if has_star:
        star, laid = laid[0], laid[1:]
    elif laid and isinstance(laid[0], cst.ParamStar):
        star, laid = laid[0], laid[1:]
    return params.with_changes(posonly_params=posonly, params=normal, star_arg=star, kwonly_params=laid)


def with_layout(before: list, new: list, followed: bool, opening) -> list:
    """`before + new`, with commas copying the existing layout."""
    if not before:
        return new
    if not followed:
        before, new = _move_closing_whitespace(before, new)
    last = before[-1]
    trailing = last.comma
    multiline = isinstance(trailing, cst.Comma) and isinstance(trailing.whitespace_after,
                                                                cst.ParenthesizedWhitespace)
    if multiline:
        if len(before) >= 2 and isinstance(before[-2].comma, cst.Comma):
            between = before[-2].comma
        elif isinstance(opening, cst.ParenthesizedWhitespace):
            between = cst.Comma(whitespace_after=opening)
        else:
            between = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        if followed:  # **kwargs comes after: everything new sits "between"
            return before + [n.with_changes(comma=between) for n in new]
        laid = [n.with_changes(comma=between) for n in new[:-1]] + [new[-1].with_changes(comma=trailing)]
        return before[:-1] + [last.with_changes(comma=between)] + laid
    if isinstance(trailing, cst.Comma) and not followed:
        before = before[:-1] + [last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))]
    return before + new


def _move_closing_whitespace(before: list, new: list) -> tuple[list, list]:
    """The whitespace before the closing parenthesis (a newline, in `def f(\n    a, b\n):`)
    belongs to the last element: it moves to the new last one."""
    for attribute in ("whitespace_after_param", "whitespace_after_arg"):
        space = getattr(before[-1], attribute, None)
        if space is not None and hasattr(new[-1], attribute) and space != cst.SimpleWhitespace(""):
            before = before[:-1] + [before[-1].with_changes(**{attribute: cst.SimpleWhitespace("")})]
            new = new[:-1] + [new[-1].with_changes(**{attribute: space})]
    return before, new


def _param_default_none(node, _):
    if not isinstance(node, cst.Param):
        return None
    # PEP 8: `tenant_id=None`, but `tenant_id: str = None` with an annotation.
    space = cst.SimpleWhitespace(" " if node.annotation is not None else "")
    equal = node.equal if isinstance(node.equal, cst.AssignEqual) else cst.AssignEqual(
        whitespace_before=space, whitespace_after=space)
    return node.with_changes(default=cst.Name("None"), equal=equal)


def _param_to_keyword_last(node, _):
    """Move `tenant_id` out of its place and add it back as `*, tenant_id=None`."""
    if not isinstance(node, cst.FunctionDef):
        return None
    params = node.params
    kept = params.with_changes(
        params=[p for p in params.params if p.name.value != "tenant_id"],
        posonly_params=[p for p in params.posonly_params if p.name.value != "tenant_id"],
        kwonly_params=[p for p in params.kwonly_params if p.name.value != "tenant_id"],
    )
    if len(_all_params(kept)) == len(_all_params(params)):
        return None
    # The element now last among the positionals may have kept a comma meant for a
    # following one; `_insert_params` relays the commas out.
    stripped = node.with_changes(params=kept)
    return _add_tenant_param(stripped, None)


def _insert_restore(node, name: str):
    """`<name>(tenant_id)` as the first statement, after a docstring."""
    if not isinstance(node, cst.FunctionDef) or not isinstance(node.body, cst.IndentedBlock):
        return None
    statement = cst.SimpleStatementLine(body=[cst.Expr(cst.Call(func=cst.Name(name),
                                                                args=[cst.Arg(cst.Name("tenant_id"))]))])
    body = list(node.body.body)
    at = 1 if body and is_docstring(body[0]) else 0
    return node.with_changes(body=node.body.with_changes(body=body[:at] + [statement] + body[at:]))


def is_docstring(stmt) -> bool:
    return (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
            and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString)))


def _add_expires(node, seconds: Any):
    """A beat entry dict: `"options": {"expires": N}` (or `"expires": N` added to an
    existing options dict literal)."""
    if not isinstance(node, cst.Dict):
        return None
    number = _number(seconds)
    for index, element in enumerate(node.elements):
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString) \
                and element.key.evaluated_value == "options":
            if not isinstance(element.value, cst.Dict):
                return None
            options = element.value
            added = _dict_append(options, cst.DictElement(key=_like_key(options, "expires"), value=number))
            elements = list(node.elements)
            elements[index] = element.with_changes(value=added)
            return node.with_changes(elements=elements)
    inner = cst.Dict(elements=[cst.DictElement(key=_like_key(node, "expires"), value=number)])
    return _dict_append(node, cst.DictElement(key=_like_key(node, "options"), value=inner))


def _number(seconds: Any):
    value = int(seconds) if float(seconds).is_integer() else float(seconds)
    return cst.Integer(str(value)) if isinstance(value, int) else cst.Float(repr(value))


def _like_key(dict_node, text: str):
    """A string key quoted like the dict's other keys."""
    quote = '"'
    for element in dict_node.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
            quote = element.key.quote
            break
    return cst.SimpleString(f"{quote}{text}{quote}")


def _dict_append(dict_node, element):
    elements = list(dict_node.elements)
    laid = with_layout(elements, [element], False, dict_node.lbrace.whitespace_after)
    return dict_node.with_changes(elements=laid)


def _add_keyword(node, arg):
    """`call(..., name=value)` (for add_periodic_task's expires)."""
    if not isinstance(node, cst.Call):
        return None
    name, seconds = arg
    keyword = cst.Arg(keyword=cst.Name(name), value=_number(seconds),
                      equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""),
                                            whitespace_after=cst.SimpleWhitespace("")))
    return node.with_changes(args=with_layout(list(node.args), [keyword], False, node.whitespace_before_args))


def _wrap_context(node, name: str):
    """The body (after a docstring) inside `with <name>(tenant_id):`."""
    if not isinstance(node, cst.FunctionDef) or not isinstance(node.body, cst.IndentedBlock):
        return None
    body = list(node.body.body)
    at = 1 if body and is_docstring(body[0]) else 0
    if at >= len(body):
        return None
    call = cst.Call(func=cst.Name(name), args=[cst.Arg(cst.Name("tenant_id"))])
    inner = cst.IndentedBlock(body=body[at:])
    block = cst.With(items=[cst.WithItem(item=call)], body=inner)
    return node.with_changes(body=node.body.with_changes(body=body[:at] + [block]))


def _str_or_none(node, _):
    """`str(x) if x is not None else None` (x: a name, an attribute chain or a call of a
    tenant getter, evaluated twice)."""
    if not isinstance(node, (cst.Name, cst.Attribute, cst.Call)):
        return None
    converted = cst.Call(func=cst.Name("str"), args=[cst.Arg(value=node)])
    test = cst.Comparison(left=node, comparisons=[cst.ComparisonTarget(operator=cst.IsNot(),
                                                                        comparator=cst.Name("None"))])
    return cst.IfExp(test=test, body=converted, orelse=cst.Name("None"))


# apply_async options the runtime spawner takes (it computes the countdown itself).
SPAWNER_OPTIONS = ("queue", "expires", "priority")


def _loop_to_spawner(node, arg):
    """`for tenant in TENANTS: [logging;] task.delay(k=v, tenant_id=str(tenant.id))` ->
    `spawner(tenants=TENANTS, task_callable=task.delay, task_name="task", k=v)`.

    `arg`: (the spawner's local name, the tenant attributes it passes as tenant_id, the
    apply_async options it takes). Only when the body is that single keyword-only call
    (plus logging calls), its tenant_id is `tenant.<attribute>` (or `str()` of it) of the
    loop variable with an attribute the spawner passes too, nothing else uses the loop
    variable, and every apply_async option is one the spawner takes (kept as its own
    keyword argument). Otherwise None: the rewrite would change which tenant a task runs
    as, or drop an option."""
    spawner, keys, options = arg if isinstance(arg, tuple) else (arg, ("id", "pk"), ())
    if not isinstance(node, cst.For):
        return None
    if not isinstance(node.target, cst.Name) or node.orelse is not None \
            or not isinstance(node.body, cst.IndentedBlock) or node.asynchronous is not None:
        raise NotApplicable("the loop's shape (target, else, async) is not a plain `for tenant in ...`")
    target = node.target.value
    enqueue = None
    for stmt in node.body.body:
        if not (isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1
                and isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, cst.Call)):
            raise NotApplicable("the loop body does more than enqueue (and log)")
        call = stmt.body[0].value
        if isinstance(call.func, cst.Attribute) and call.func.attr.value in ("delay", "apply_async"):
            if enqueue is not None:
                raise NotApplicable("the loop enqueues more than one task")
            enqueue = call
        elif not _is_logging(call):
            raise NotApplicable("the loop body does more than enqueue (and log)")
    if enqueue is None:
        raise NotApplicable("the loop body does not enqueue with .delay or .apply_async")
    receiver = enqueue.func.value
    kept_options = []
    if enqueue.func.attr.value == "delay":
        arguments = list(enqueue.args)
    else:  # apply_async(kwargs={...}, <options the spawner takes>)
        arguments = None
        for argument in enqueue.args:
            if argument.keyword is None or argument.star:
                raise NotApplicable("apply_async takes positional or unpacked arguments")
            keyword = argument.keyword.value
            if keyword == "kwargs" and isinstance(argument.value, cst.Dict):
                arguments = []
                for element in argument.value.elements:
                    if not isinstance(element, cst.DictElement) or not isinstance(element.key, cst.SimpleString):
                        raise NotApplicable("the task's kwargs are not a dict of literal keys")
                    arguments.append(cst.Arg(keyword=cst.Name(element.key.evaluated_value), value=element.value))
            elif keyword in options:
                kept_options.append(argument)
            else:  # args=, countdown=, eta=, headers=...
                raise NotApplicable(f"the spawner cannot keep the enqueue's {keyword}= option"
                                    + (f" (it takes {', '.join(options)})" if options else ""))
        if arguments is None:
            raise NotApplicable("apply_async has no kwargs={...} dict")
    if any(a.keyword is None or a.star for a in arguments):
        raise NotApplicable("the task gets positional or unpacked arguments")
    code = cst.Module([]).code_for_node
    tenant = [a for a in arguments if a.keyword.value == "tenant_id"]
    others = [a for a in arguments if a.keyword.value != "tenant_id"]
    if len(tenant) != 1:
        raise NotApplicable("the enqueue passes no tenant_id keyword")
    key = _tenant_key(tenant[0].value, target)
    if key not in keys:
        shown = cst.Module([]).code_for_node(tenant[0].value)
        raise NotApplicable(f"the loop passes tenant_id={shown}, while the spawner passes {target}."
                            f"{' or '.join(keys)}: it would change which tenant each task runs as")
    if any(target in _names(a.value) for a in others + kept_options):
        raise NotApplicable(f"other arguments use the loop variable {target}")
    if any(a.keyword.value in ("tenants", "task_callable", "task_name", "run_id") + SPAWNER_OPTIONS
           for a in others):
        raise NotApplicable("a task argument has the name of one of the spawner's own")
    task = code(receiver)
    parts = [f"tenants={code(node.iter)}", f"task_callable={task}.delay", f'task_name="{task.split(".")[-1]}"']
    parts += [f"{a.keyword.value}={code(a.value)}" for a in others]
    parts += [f"{a.keyword.value}={code(a.value)}" for a in kept_options]
    call = cst.parse_expression(f"{spawner}({', '.join(parts)})")
    return cst.SimpleStatementLine(body=[cst.Expr(call)], leading_lines=node.leading_lines)


def _tenant_key(value, target: str) -> str | None:
    """`x` of `target.x` or `str(target.x)`, else None."""
    if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "str" \
            and len(value.args) == 1 and value.args[0].keyword is None and not value.args[0].star:
        value = value.args[0].value
    if isinstance(value, cst.Attribute) and isinstance(value.value, cst.Name) and value.value.value == target:
        return value.attr.value
    return None


def _is_logging(call) -> bool:
    func = call.func
    return (isinstance(func, cst.Attribute) and func.attr.value in
            ("debug", "info", "warning", "warn", "error", "exception", "critical", "log")) \
        or (isinstance(func, cst.Name) and func.value == "print")


def _crontab_minute_zero(node, kind: str):
    """`crontab(hour=5)` -> `crontab(minute=0, hour=5)`: the `minute` argument (a
    keyword, or for a crontab call the first positional one) becomes 0, or is added
    first. `kind` "row": a CrontabSchedule row, whose minute is the string "0"."""
    if not isinstance(node, cst.Call):
        return None
    args = list(node.args)
    if kind == "row":
        quote = next((a.value.quote for a in args if isinstance(a.value, cst.SimpleString)), '"')
        zero = cst.SimpleString(f"{quote}0{quote}")
    else:
        zero = cst.Integer("0")
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == "minute":
            args[index] = arg.with_changes(value=zero)
            return node.with_changes(args=args)
    if kind != "row" and args and args[0].keyword is None and not args[0].star:
        args[0] = args[0].with_changes(value=zero)
        return node.with_changes(args=args)
    if any(arg.star for arg in args):
        return None
    equal = cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace(""))
    added = cst.Arg(keyword=cst.Name("minute"), value=zero, equal=equal,
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if args else cst.MaybeSentinel.DEFAULT)
    return node.with_changes(args=[added] + args)


def _names(node) -> set[str]:
    found = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, name):
            found.add(name.value)

    node.visit(Names())
    return found


OPERATIONS: dict[str, Callable] = {
    "string": _string,
    "wrap_str": _wrap_str,
    "name": _name,
    "decorator_to": _decorator_to,
    "add_tenant_param": _add_tenant_param,
    "param_default_none": _param_default_none,
    "param_to_keyword_last": _param_to_keyword_last,
    "insert_restore": _insert_restore,
    "add_expires": _add_expires,
    "add_keyword": _add_keyword,
    "loop_to_spawner": _loop_to_spawner,
    "wrap_context": _wrap_context,
    "str_or_none": _str_or_none,
    "crontab_minute_zero": _crontab_minute_zero,
}
