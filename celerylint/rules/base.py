"""The rule base class. A rule is a class with a code, a docstring in fixed sections
(What it does / Why is this bad? / Example / Use instead), and a `check` method that
yields diagnostics from the project (celerylint.project). The Example and Use instead blocks are
executable: the test suite runs every one of them (see `examples()`)."""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Iterator

from celerylint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from celerylint.project import Project

SECTION_TITLES = ("What it does", "Why is this bad?", "Example", "Use instead", "Fix safety", "Options")
_FENCE = re.compile(r"```python\n(.*?)```", re.DOTALL)
_FILE_HEADER = re.compile(r"^# ([\w./-]+\.py)\s*$")
_EXPECT = re.compile(r"#\s*((?:(?:TSK|BEAT|TEN|SYN|SUP)\d{3}[,\s]*)+)\s*$")


@dataclass(frozen=True)
class Example:
    """A small project: {path: source}, and the (path, line, code) findings it must give."""

    files: dict
    expected: tuple  # ((path, line, code), ...)


class Rule:
    code: ClassVar[str]
    summary: ClassVar[str]  # one line, for `celerylint rules`
    severity: ClassVar[str] = "error"
    opt_in: ClassVar[bool] = False
    # Rules whose findings are about the run's suppressions (SUP001): the engine calls their
    # `check_suppressions(suppressions)` after the other rules ran, instead of `check`.
    uses_suppressions: ClassVar[bool] = False
    # Before/after sources ({path: source} projects as in the examples, after = the files
    # `check --fix --unsafe-fixes` must produce); a rule is fixable when it has any.
    fix_examples: ClassVar[tuple[tuple[str, str], ...]] = ()
    fix_safety: ClassVar[str] = ""  # "safe", "unsafe", or "safe or unsafe" (see the docs)
    fixable: ClassVar[bool] = False
    # Extra documentation-free test cases: sources that must not / must be flagged.
    # Markers as in the docstring examples: a trailing `# CODE` comment on the line.
    valid: ClassVar[tuple[str, ...]] = ()
    invalid: ClassVar[tuple[str, ...]] = ()

    def check(self, project: "Project") -> Iterator[Diagnostic]:  # pragma: no cover - abstract
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.fixable = bool(cls.__dict__.get("fix_examples", ()))  # derived, never declared

    def report(self, rel: str, span: tuple | None, message: str, fix=None, entity: str | None = None) -> Diagnostic:
        """A finding of this rule. `entity` names what it is about independently of its
        position (see `task_entity`, `beat_entity`, `function_entity`): baselines match by it."""
        line, column, end_line, end_column = span or (1, 1, 1, 1)
        return Diagnostic(rel, line, column, self.code, message, end_line, end_column, self.severity,
                          fix is not None, fix, entity)

    # -- documentation
    @classmethod
    def sections(cls) -> dict[str, str]:
        doc = inspect.cleandoc(cls.__doc__ or "")
        sections: dict[str, str] = {}
        current = None
        lines: list[str] = []
        for line in doc.splitlines():
            if line.startswith("## ") and line[3:].strip() in SECTION_TITLES:
                if current is not None:
                    sections[current] = "\n".join(lines).strip("\n")
                current = line[3:].strip()
                lines = []
            else:
                lines.append(line)
        if current is not None:
            sections[current] = "\n".join(lines).strip("\n")
        return sections

    @classmethod
    def documentation(cls) -> str:
        head = f"# {cls.code}: {cls.summary}\n\n"
        flags = [f"Severity: {cls.severity}", "Default: off (opt-in)" if cls.opt_in else "Default: on",
                 f"Fix: {cls.fix_safety}" if cls.fixable else "Fix: none"]
        body = inspect.cleandoc(cls.__doc__ or "")
        return head + " · ".join(flags) + "\n\n" + body + "\n"

    @classmethod
    def examples(cls) -> tuple[list[Example], list[Example]]:
        """(must flag, must not flag): the docstring's Example / Use instead blocks plus
        the `invalid` / `valid` class attributes."""
        sections = cls.sections()
        bad = [parse_example(block) for block in _FENCE.findall(sections.get("Example", ""))]
        good = [parse_example(block) for block in _FENCE.findall(sections.get("Use instead", ""))]
        bad += [parse_example(textwrap.dedent(src)) for src in cls.invalid]
        good += [parse_example(textwrap.dedent(src)) for src in cls.valid]
        return bad, good


def task_entity(task) -> str:
    """A task definition, by its Python name (the function, or the class)."""
    return f"task:{task.function}"


def beat_entry_entity(entry) -> str:
    """A beat entry, by its key (by its task when the key cannot be read)."""
    return f"beat:{entry.key}" if entry.key else f"beat-task:{entry.task}"


def function_entity(name: str | None) -> str:
    """Code in a function ("Class.method" for a method), or at module level."""
    return f"function:{name}" if name else "module"


def parse_example(block: str) -> Example:
    """Split a code block into files at `# path/to/file.py` header lines (default
    `app/tasks.py`) and collect the expected findings from trailing `# CODE` comments."""
    files: dict[str, list[str]] = {}
    expected = []
    current = "app/tasks.py"
    for raw in block.strip("\n").splitlines():
        header = _FILE_HEADER.match(raw)
        if header:
            current = header.group(1)
            files.setdefault(current, [])
            continue
        lines = files.setdefault(current, [])
        lines.append(raw)
        marker = _EXPECT.search(raw)
        if marker:
            for code in re.findall(r"(?:TSK|BEAT|TEN|SYN|SUP)\d{3}", marker.group(1)):
                expected.append((current, len(lines), code))
    return Example({path: "\n".join(lines) + "\n" for path, lines in files.items()}, tuple(expected))
