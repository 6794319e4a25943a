"""`check --add-noqa` (ruff's): write `# noqa: CODE` at the end of each finding's line,
merged into a `# noqa` directive already there (its codes are kept, in their order, the
new ones appended). A directive goes where Python reads a comment: at the end of a line
that ends a statement or continues inside brackets. A line that ends inside a string
(a multi-line string or f-string) or continues with a backslash gets none: a comment
there would change the string or break the code; such lines are returned as skipped.
Text outside the directive is never changed, and the file keeps its encoding, byte order
mark and line endings."""

from __future__ import annotations

import io
import re
import tokenize

# A directive and the codes it names, as the suppression reads them (facts/prefilter.py).
_DIRECTIVE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Za-z]+[0-9]+(?:[,\s]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")


def add_noqa(source: bytes, codes_by_line: dict[int, set[str]], lenient: bool = False) -> tuple[bytes, list[int]]:
    """(the new source, the lines where no directive could be added). `lenient`: for a file
    that does not parse, lines the tokenizer never reached take a directive unless they end
    with a backslash."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
        text = source.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return source, sorted(codes_by_line)
    lines = [(m.group(1), m.group(2)) for m in _LINE.finditer(text)]
    if lines and lines[-1] == ("", ""):
        lines.pop()
    ends, comments, reached = _line_ends(text)
    skipped = []
    for number, codes in sorted(codes_by_line.items()):
        if not 1 <= number <= len(lines):
            skipped.append(number)
            continue
        content, newline = lines[number - 1]
        if number in ends:
            pass
        elif lenient and number > reached and not content.rstrip().endswith("\\"):
            pass
        else:
            skipped.append(number)
            continue
        lines[number - 1] = (_with_directive(content, comments.get(number), codes), newline)
    new = "".join(content + newline for content, newline in lines)
    return new.encode(encoding), skipped


def _line_ends(text: str) -> tuple[set[int], dict[int, int], int]:
    """(lines whose end a comment may follow, {line: column of its comment}, the last line
    the tokenizer reached)."""
    ends: set[int] = set()
    comments: dict[int, int] = {}
    reached = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            reached = max(reached, token.end[0])
            if token.type in (tokenize.NEWLINE, tokenize.NL):
                ends.add(token.start[0])
            elif token.type == tokenize.COMMENT:
                comments[token.start[0]] = token.start[1]
                ends.add(token.start[0])
    except (tokenize.TokenError, SyntaxError):
        pass
    return ends, comments, reached


def _with_directive(content: str, comment_at: int | None, codes: set[str]) -> str:
    if comment_at is not None:
        match = _DIRECTIVE.search(content, comment_at)
        if match is not None:
            if match.group("codes") is None:
                return content  # a bare `# noqa` suppresses everything already
            existing = [c.upper() for c in re.split(r"[,\s]+", match.group("codes")) if c]
            merged = existing + sorted(set(codes) - set(existing))
            return content[:match.start()] + "# noqa: " + ", ".join(merged) + content[match.end():]
    return content.rstrip(" \t") + "  # noqa: " + ", ".join(sorted(codes))
