"""Positions of the nodes the facts refer to, as libcst's PositionProvider defines them."""

from __future__ import annotations

import re
from typing import Any

from celerylint.facts.model import Span


def compute_spans(tree: Any, wanted: dict[int, Any]) -> dict[int, Span]:
    """Positions (as libcst's PositionProvider defines them) of the wanted nodes only.

    A full PositionProvider run records every node and costs about twice a parse;
    this codegen pass records only what the facts refer to.
    """
    if not wanted:
        return {}
    from contextlib import contextmanager

    from libcst._nodes.internal import CodegenState

    class _State(CodegenState):
        __slots__ = ("want", "line", "column", "stack", "out")

        def __init__(self, default_indent: str, default_newline: str):
            super().__init__(default_indent=default_indent, default_newline=default_newline)
            self.want = set(wanted)
            self.line = 1
            self.column = 0
            self.stack: list = []
            self.out: dict = {}

        def add_indent_tokens(self) -> None:
            for token in self.indent_tokens:
                self.add_token(token)

        def add_token(self, value: str) -> None:
            if "\n" in value or "\r" in value:
                if "\r" in value:
                    pieces = re.split(r"\r\n?|\n", value)
                    self.line += len(pieces) - 1
                    self.column = len(pieces[-1])
                else:
                    self.line += value.count("\n")
                    self.column = len(value) - value.rfind("\n") - 1
            else:
                self.column += len(value)

        def pop_trailing_newline(self) -> None:
            pass

        def before_codegen(self, node: Any) -> None:
            if id(node) in self.want:
                self.stack.append((self.line, self.column))

        def after_codegen(self, node: Any) -> None:
            # Nodes without a syntactic position of their own (a parenthesized import's
            # RightParen, the end node of an ImportFrom) get their whitespace-inclusive
            # range, as in PositionProvider.
            key = id(node)
            if key in self.want:
                start = self.stack.pop()
                if key not in self.out:
                    self.out[key] = (start[0], start[1] + 1, self.line, self.column + 1)

        @contextmanager
        def record_syntactic_position(self, node: Any, *, start_node: Any = None, end_node: Any = None):
            key = id(node)
            if key not in self.want:
                yield
                return
            if start_node is not None:
                self.want.add(id(start_node))
            if end_node is not None:
                self.want.add(id(end_node))
            start = (self.line, self.column + 1)
            try:
                yield
            finally:
                end = (self.line, self.column + 1)
                if start_node is not None and id(start_node) in self.out:
                    start = self.out[id(start_node)][:2]
                if end_node is not None and id(end_node) in self.out:
                    end = self.out[id(end_node)][2:]
                self.out[key] = (start[0], start[1], end[0], end[1])

    state = _State(tree.default_indent, tree.default_newline)
    tree._codegen(state)
    return state.out
