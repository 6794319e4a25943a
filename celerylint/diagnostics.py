"""Plain data shared by the rules, the fixes and the renderers: a finding
(`Diagnostic`), the fix a rule attaches to it (`Fix`: a safety level and `Edit`s), and
what a renderer prints (`Report`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


SAFE, UNSAFE = "safe", "unsafe"


@dataclass(frozen=True)
class Edit:
    """One change to one file: an operation (celerylint.fixes.operations) on the node
    at `span` (positions as the facts record them), or on the module when None."""

    rel: str
    span: tuple | None  # (line, column, end_line, end_column) of the node; None for module edits
    op: str
    arg: Any = None


@dataclass(frozen=True)
class Fix:
    safety: str  # SAFE or UNSAFE
    edits: tuple  # Edit, ...


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str  # relative to the project root while checking; relative to the cwd when rendered
    line: int  # 1-based
    column: int  # 1-based, in characters
    code: str
    message: str
    end_line: int = 0
    end_column: int = 0
    severity: str = "error"  # "error" or "warning"
    fixable: bool = False
    fix: Fix | None = field(default=None, compare=False, hash=False)
    # What the finding is about, independent of its line: "task:<function>", "beat:<key>",
    # "function:<name>", "schedule:<label>", "noqa:<codes>"... (None: the file itself). Baselines
    # and the gitlab format match findings by (code, path, entity), so edits elsewhere in
    # the file keep them valid.
    entity: str | None = field(default=None, compare=False, hash=False)


@dataclass
class Report:
    """Everything a renderer needs."""

    diagnostics: list[Diagnostic]
    files: int  # files checked
    fixed: int = 0
    seconds: float = 0.0
    version: str = ""
    color: bool = False
    rules: list = field(default_factory=list)  # rule classes, for SARIF's tool.driver.rules
    quiet: bool = False  # text: the findings only, no summary line (`-q`)
    fixes: list = field(default_factory=list)  # (path, code, count) fixed, for `--show-fixes`
