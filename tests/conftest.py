"""Shared helpers: build a throwaway project on disk and check it for real (the same
engine the CLI uses, with worker processes and the cache)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from celerylint.config import Settings, load_settings, settings_from_mapping
from celerylint.engine import check

REPO = Path(__file__).resolve().parent.parent


def write_project(root: Path, files: dict[str, str], config: str | None = None) -> Path:
    """Write `files` ({relative path: source}) under `root`, with the package
    `__init__.py` files a real project would have, and a pyproject.toml root marker."""
    root.mkdir(parents=True, exist_ok=True)
    pyproject = "[project]\nname = 'sample'\n"
    if config:
        pyproject += "\n[tool.celerylint]\n" + textwrap.dedent(config)
    (root / "pyproject.toml").write_text(pyproject)
    for rel, source in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, bytes):
            path.write_bytes(source)
        else:
            path.write_text(textwrap.dedent(source))
        parent = path.parent
        while parent != root:
            init = parent / "__init__.py"
            if not init.exists() and not any(r == str(init.relative_to(root)) for r in files):
                init.write_text("")
            parent = parent.parent
    return root


def findings(root: Path, select=None, settings: Settings | None = None, paths=(), **config):
    """[(path, line, column, code, message)] for the project at `root`."""
    if settings is None:
        if config:
            settings = settings_from_mapping({k.replace("_", "-"): v for k, v in config.items()})
        else:
            settings = load_settings(str(root))
    result = check([str(root / p) for p in paths], settings, str(root), use_cache=False, jobs=2,
                   select=tuple(select) if select else None)
    return [(d.path, d.line, d.column, d.code, d.message) for d in result.diagnostics]


def codes_at(results) -> set[tuple[str, int, str]]:
    return {(path, line, code) for path, line, _, code, _ in results}


def run_cli(*args: str, cwd: Path | str, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("FORCE_COLOR", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "celerylint", *args], cwd=cwd, capture_output=True,
                          text=True, env=full_env, timeout=300)


@pytest.fixture
def project(tmp_path):
    def make(files: dict[str, str], config: str | None = None) -> Path:
        return write_project(tmp_path / "proj", files, config)

    return make
