"""What rules report and what renderers print."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    fix: Any = field(default=None, compare=False, hash=False)  # celerylint.fixes.Fix, if any


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
