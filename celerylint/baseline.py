"""Baselines: the findings a project had when it adopted celerylint, kept in a JSON file so
that only new findings fail the check (`check --write-baseline FILE` writes one,
`check --baseline FILE` or the `baseline` configuration key applies one).

The file (format version 1) is written with a stable order, one entry a line, so that it
diffs well in review:

    {
      "version": 1,
      "entries": [
        {"path": "billing/tasks.py", "code": "TSK003", "entity": "task:send_reminders", "count": 1, "message": "..."},
        ...
      ]
    }

An entry matches findings by `code`, `path` (relative to the project root, with "/") and
`entity` (`Diagnostic.entity`: the task, beat entry, function or schedule the finding is
about; null for the file itself), never by line or message, so lines inserted or removed
elsewhere in the file keep it valid. Findings with the same key form a multiset: `count` of
them are suppressed (the first ones by position), a further one is new and reported.
`message` is the first one's message, for people reading the file; it is not matched.
Entries are sorted by path, code and entity.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Callable, Iterable

from celerylint.diagnostics import Diagnostic

FORMAT_VERSION = 1


class BaselineError(Exception):
    """A baseline file that cannot be read or is not a baseline (exit status 2)."""


@dataclass(frozen=True)
class Entry:
    path: str
    code: str
    entity: str | None
    count: int
    message: str = ""
    line: int = 1  # where the entry is in its file (for reporting it as stale)

    @property
    def key(self) -> tuple:
        return self.path, self.code, self.entity


def key_of(diagnostic: Diagnostic) -> tuple:
    """What a baseline entry matches: (path, code, entity)."""
    return diagnostic.path, diagnostic.code, diagnostic.entity


@dataclass(frozen=True)
class Match:
    kept: list  # the findings the baseline does not cover
    suppressed: int  # how many it covers
    stale: list  # (Entry, count left unmatched), for entries in scope that match fewer findings than counted


class Baseline:
    def __init__(self, path: str, entries: Iterable[Entry]):
        self.path = path  # absolute
        self.entries = tuple(entries)

    @classmethod
    def load(cls, path: str) -> "Baseline":
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise BaselineError(f"cannot read baseline {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise BaselineError(f"{path}: not a celerylint baseline (not UTF-8 text)") from None
        return cls(os.path.abspath(path), parse(text, path))

    def apply(self, diagnostics: list[Diagnostic], in_scope: Callable[[str], bool],
              ran: Iterable[str]) -> Match:
        """Split `diagnostics` (paths relative to the project root) into kept and covered.
        An entry is stale when its file is in scope, its rule ran, and it covers fewer
        findings than its count (`ran`: the codes checked in this run)."""
        budget: dict[tuple, int] = {}
        for entry in self.entries:
            budget[entry.key] = budget.get(entry.key, 0) + entry.count
        kept = []
        suppressed = 0
        for d in sorted(diagnostics, key=lambda d: (d.path, d.line, d.column, d.code, d.message)):
            left = budget.get(key_of(d), 0)
            if left > 0:
                budget[key_of(d)] = left - 1
                suppressed += 1
            else:
                kept.append(d)
        ran = set(ran)
        stale = []
        for entry in self.entries:
            left = budget.get(entry.key, 0)
            if left <= 0 or entry.code not in ran or not in_scope(entry.path):
                continue
            unmatched = min(left, entry.count)
            budget[entry.key] = left - unmatched
            stale.append((entry, unmatched))
        return Match(sorted(kept), suppressed, stale)


def parse(text: str, where: str = "baseline") -> list[Entry]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BaselineError(f"{where}: not a celerylint baseline (invalid JSON: {exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise BaselineError(f'{where}: not a celerylint baseline (expected an object with "entries")')
    if data.get("version") != FORMAT_VERSION:
        raise BaselineError(f"{where}: unsupported baseline version {data.get('version')!r} "
                            f"(this celerylint reads version {FORMAT_VERSION})")
    lines = _entry_lines(text, len(data["entries"]))
    entries = []
    for i, item in enumerate(data["entries"]):
        if not (isinstance(item, dict) and isinstance(item.get("path"), str) and isinstance(item.get("code"), str)
                and (item.get("entity") is None or isinstance(item.get("entity"), str))
                and isinstance(item.get("count", 1), int) and not isinstance(item.get("count", 1), bool)
                and item.get("count", 1) >= 1):
            raise BaselineError(f"{where}: entry {i + 1} is not a baseline entry "
                                '(path, code, entity, count >= 1): ' + json.dumps(item)[:200])
        entries.append(Entry(item["path"], item["code"].upper(), item.get("entity"), item.get("count", 1),
                             str(item.get("message", "")), lines[i]))
    return entries


def _entry_lines(text: str, count: int) -> list[int]:
    """The line each element of "entries" starts on (1 for all when the layout is odd)."""
    start = re.search(r'"entries"\s*:\s*\[', text)
    if start is None:
        return [1] * count
    decoder = json.JSONDecoder()
    position = start.end()
    found = []
    while len(found) < count:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        try:
            _, end = decoder.raw_decode(text, position)
        except ValueError:
            return [1] * count
        found.append(text.count("\n", 0, position) + 1)
        position = end
    return found


def entries_of(diagnostics: Iterable[Diagnostic]) -> list[Entry]:
    """The baseline of `diagnostics` (root-relative paths): one entry per key, counted."""
    groups: dict[tuple, list[Diagnostic]] = {}
    for d in diagnostics:
        groups.setdefault(key_of(d), []).append(d)
    entries = []
    for key in sorted(groups, key=lambda k: (k[0], k[1], k[2] or "")):
        first = min(groups[key], key=lambda d: (d.line, d.column, d.message))
        entries.append(Entry(key[0], key[1], key[2], len(groups[key]), first.message))
    return entries


def dumps(diagnostics: Iterable[Diagnostic]) -> str:
    """The baseline file's text for `diagnostics`."""
    return _dumps(entries_of(diagnostics))


def _dumps(entries: list[Entry]) -> str:
    lines = []
    for entry in entries:
        item = {"path": entry.path, "code": entry.code, "entity": entry.entity, "count": entry.count,
                "message": entry.message}
        lines.append("    " + json.dumps(item, ensure_ascii=False))
    body = ",\n".join(lines)
    return ('{\n  "version": %d,\n  "entries": [\n%s%s  ]\n}\n'
            % (FORMAT_VERSION, body, "\n" if lines else ""))


def write(path: str, diagnostics: list[Diagnostic]) -> int:
    """Write the baseline of `diagnostics` to `path` (atomically); returns the number of entries."""
    entries = entries_of(diagnostics)
    text = _dumps(entries)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    os.replace(temporary, path)
    return len(entries)
