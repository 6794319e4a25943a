"""Project root, source roots, the walk (excludes and .gitignore) and module names."""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
from dataclasses import dataclass, field
from typing import Any

from celerylint.config import Settings
from celerylint.facts.model import SourceFile
from celerylint.project.dependencies import is_declaration
from celerylint.project.rows import is_fixture

ROOT_MARKERS = ("pyproject.toml", "setup.cfg", "manage.py", ".git")

# Directories nobody wants linted (as ruff's default `exclude`).
DEFAULT_EXCLUDES = frozenset({
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".mypy_cache", ".nox",
    ".pants.d", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", ".celerylint_cache",
    "__pypackages__", "__pycache__", "_build", "buck-out", "build", "dist",
    "node_modules", "site-packages", "venv",
})


def find_project_root(start: str) -> str:
    """The nearest directory upward from `start` holding a root marker, else `start`'s directory."""
    here = os.path.abspath(start)
    if not os.path.isdir(here):
        here = os.path.dirname(here)
    probe = here
    while True:
        if any(os.path.exists(os.path.join(probe, marker)) for marker in ROOT_MARKERS):
            return probe
        parent = os.path.dirname(probe)
        if parent == probe:
            return here
        probe = parent


def source_roots(root: str, settings: Settings, manage_dirs: list[str] = (), package_dirs: list[str] = ()
                 ) -> list[str]:
    """The `src` setting (default ".") plus "src" when it exists. With the default, every
    directory holding a `manage.py` is a source root too when the root has none: Django
    puts manage.py's directory on sys.path (`backend/manage.py`,
    `packages/backend/manage.py`), and imports and task names are relative to it.

    Unless the Django root sits inside a package that the settings module is named
    through (`proj/manage.py` with `proj/__init__.py` and
    `DJANGO_SETTINGS_MODULE = "proj.settings"`): Celery then imports the modules by the
    package path, so the directory above the package is the source root (for a
    manage.py at the root, that directory replaces "."). And with the default, the `src`
    directory of every distribution in the project (`premium/backend/src` next to
    `premium/backend/pyproject.toml`): it is how the distribution is installed and
    imported (`package_dirs` are the directories holding a pyproject.toml, setup.py or
    setup.cfg); a manage.py inside a package there is a module of that package, not a
    root of its own."""
    default = settings.src == Settings().src
    roots = [os.path.normpath(os.path.join(root, s)) for s in settings.src]
    if default and os.path.exists(os.path.join(root, "manage.py")):
        above = import_root(root)
        if above != root:
            roots = [above]
    src = os.path.join(root, "src")
    if "src" not in settings.src and os.path.isdir(src):
        roots.append(os.path.normpath(src))
    distributions = [os.path.normpath(os.path.join(d, "src")) for d in package_dirs
                     if os.path.normpath(d) != os.path.normpath(root) and os.path.isdir(os.path.join(d, "src"))]
    if default and not os.path.exists(os.path.join(root, "manage.py")):
        for d in manage_dirs:
            d = os.path.normpath(d)
            if os.path.isfile(os.path.join(d, "__init__.py")) and any(d.startswith(s + os.sep) for s in distributions):
                continue  # a module of an installed package (`baserow = "baserow.manage:main"`)
            roots.append(import_root(d))
    if default:
        roots.extend(distributions)
    # Deepest first, so a file is named after the innermost root that holds it.
    return sorted(set(roots), key=lambda p: (-p.count(os.sep), p))


_SETTINGS_MODULE = re.compile(rb"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")


def import_root(manage_dir: str) -> str:
    """The directory Django and Celery import a project's modules from: manage.py's
    directory, or the directory above the packages its DJANGO_SETTINGS_MODULE is named
    through, when the settings module is only found from there."""
    try:
        with open(os.path.join(manage_dir, "manage.py"), "rb") as fh:
            match = _SETTINGS_MODULE.search(fh.read(65536))
    except OSError:
        return manage_dir
    if match is None:
        return manage_dir
    parts = match.group(1).decode().split(".")

    def holds(directory: str) -> bool:
        base = os.path.join(directory, *parts)
        return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))

    if holds(manage_dir):
        return manage_dir
    candidate = manage_dir
    for _ in range(len(parts) - 1):
        if not os.path.isfile(os.path.join(candidate, "__init__.py")):
            break
        candidate = os.path.dirname(candidate)
        if holds(candidate):
            return candidate
    return manage_dir


def module_name(path: str, roots: list[str]) -> str:
    for src in roots:
        prefix = src.rstrip(os.sep) + os.sep
        if path.startswith(prefix):
            rel = path[len(prefix):]
            break
    else:
        rel = os.path.basename(path)
    stem = rel[:-3] if rel.endswith(".py") else os.path.splitext(rel)[0]
    parts = stem.split(os.sep)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


class _AnyPattern:
    """A gitignore spec without negated patterns: a path is ignored when any pattern
    matches, so one combined regex replaces pathspec's pattern-by-pattern loop (the
    walk's hot spot on projects with long .gitignore files)."""

    def __init__(self, regexes: list[str]):
        # No pattern (a file of comments, such as git's default info/exclude) ignores nothing.
        self.regex = re.compile("|".join(f"(?:{r})" for r in regexes) or "(?!)")

    def match_file(self, path: str) -> bool:
        return self.regex.match(path) is not None


def _fast(spec: Any) -> Any:
    """A pathspec spec, or a faster equivalent for one without negated patterns."""
    patterns = [p for p in spec.patterns if p.include is not None]
    if all(p.include for p in patterns) and all(p.regex is not None for p in patterns):
        return _AnyPattern([p.regex.pattern.replace("(?P<ps_d>", "(?:") for p in patterns])
    return spec


class _IgnoreRules:
    """`.gitignore` files (each applying below its own directory), `.git/info/exclude`
    and the `exclude` setting (gitignore-style patterns relative to the root). Paths
    are root-relative with "/"; "" is the root.

    Decisions are remembered (`memo`, kept in the cache): a path's decision is reused
    while the ignore files of every directory above it are byte for byte those it was
    made with, so a warm run neither compiles patterns nor imports pathspec."""

    def __init__(self, root: str, settings: Settings, memo: dict | None = None):
        self.root = root
        self.exclude_lines = list(settings.exclude)
        self.lines: dict[str, list[str]] = {}  # directory (root-relative) -> its patterns
        self._specs: dict[str, Any] = {}  # directory -> its compiled patterns, when first needed
        self._exclude: Any = None
        memo = memo or {}
        self.known_files: dict[str, bytes] = memo.get("files", {})  # directory -> digest of its ignore files
        self.known: dict[tuple[str, bool], bool] = memo.get("ignored", {})
        self.files: dict[str, bytes] = {}
        self.decided: dict[tuple[str, bool], bool] = {}
        self.unchanged: dict[str, bool] = {}  # directory -> its ignore files and all above it are as in the memo

    def load_dir(self, directory: str, rel_dir: str, names: set[str]) -> None:
        """Read a directory's ignore files; the walk calls it before deciding on its entries."""
        paths = [os.path.join(directory, ".gitignore")] if ".gitignore" in names else []
        if not rel_dir:  # the root: .git/info/exclude first, in one spec (a later "!" can undo it)
            info = os.path.join(self.root, ".git", "info", "exclude")
            paths = ([info] if os.path.isfile(info) else []) + paths
        contents = []
        for path in paths:
            try:
                with open(path, "rb") as fh:
                    contents.append(fh.read())
            except OSError:
                continue
        above = self.unchanged[rel_dir.rpartition("/")[0]] if rel_dir else True
        if any(contents):
            blob = b"\0".join(contents)
            self.files[rel_dir] = hashlib.blake2b(blob, digest_size=16).digest()
            self.lines[rel_dir] = blob.decode("utf-8", "replace").replace("\0", "\n").splitlines()
        self.unchanged[rel_dir] = above and self.files.get(rel_dir) == self.known_files.get(rel_dir)

    def memo(self) -> dict:
        return {"files": self.files, "ignored": self.decided}

    def ignored(self, rel: str, is_dir: bool) -> bool:
        if not rel:
            return False  # never let a pattern exclude the root itself
        key = (rel, is_dir)
        if self.unchanged.get(rel.rpartition("/")[0]) and key in self.known:
            result = self.known[key]
        else:
            result = self._match(rel + "/" if is_dir else rel)
        self.decided[key] = result
        return result

    def _match(self, probe: str) -> bool:
        if self.exclude_lines:
            if self._exclude is None:
                self._exclude = _compile(self.exclude_lines)
            if self._exclude.match_file(probe):
                return True
        for rel_dir in self.lines:
            if not rel_dir:
                below = probe
            elif probe.startswith(rel_dir + "/"):
                below = probe[len(rel_dir) + 1:]
            else:
                continue
            spec = self._specs.get(rel_dir)
            if spec is None:
                spec = self._specs[rel_dir] = _compile(self.lines[rel_dir])
            if spec.match_file(below):
                return True
        return False


def _compile(lines: list[str]) -> Any:
    import pathspec  # only when a decision is not remembered (see _IgnoreRules)

    return _fast(pathspec.GitIgnoreSpec.from_lines(lines))


@dataclass
class Discovery:
    root: str
    roots: list[str]
    files: list[SourceFile]
    warnings: list[str]
    ignore_memo: dict  # the ignore decisions of this walk, for the next one (see _IgnoreRules)
    # Files that are not Python sources but matter: dependency declarations
    # (requirements, pyproject.toml, Pipfile, setup.cfg, setup.py) and Django fixtures,
    # as (absolute path, root-relative path).
    declarations: list = field(default_factory=list)
    fixtures: list = field(default_factory=list)


def discover(root: str, settings: Settings, ignore_memo: dict | None = None) -> Discovery:
    """Every Python file of the project, ignoring excluded and git-ignored paths.

    Directory symlinks are not followed (so a symlink loop cannot trap the walk); file
    symlinks are listed and, if they cannot be read, reported as SYN001 later.
    """
    rules = _IgnoreRules(root, settings, ignore_memo)
    found: list[tuple[str, str]] = []
    data: list[tuple[str, str]] = []  # declarations and fixtures
    warnings: list[str] = []
    stack = [(root, "")]
    while stack:
        directory, rel_dir = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as exc:
            warnings.append(f"skipping unreadable directory {rel_dir or '.'}: {exc.strerror}")
            continue
        rules.load_dir(directory, rel_dir, {e.name for e in entries})
        for entry in entries:
            name = entry.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir:
                if name in DEFAULT_EXCLUDES or name.endswith(".egg-info") or rules.ignored(rel, True):
                    continue
                stack.append((entry.path, rel))
            elif name.endswith(".py"):
                if is_link and _points_to_dir(entry.path):
                    continue
                if rules.ignored(rel, False):
                    continue
                found.append((entry.path, rel))
                if name == "setup.py":
                    data.append((entry.path, rel))
            elif (name.endswith((".txt", ".in", ".toml", ".cfg", ".json", ".yaml", ".yml")) or name == "Pipfile") \
                    and (is_declaration(rel) or is_fixture(rel)) and not (is_link and _points_to_dir(entry.path)) \
                    and not rules.ignored(rel, False):
                data.append((entry.path, rel))
            elif is_link and _points_to_dir(entry.path):
                target = os.path.realpath(entry.path)
                if root == target or root.startswith(target.rstrip(os.sep) + os.sep):
                    warnings.append(f"skipping symlink loop {rel} -> {target}")
    manage_dirs = [os.path.dirname(path) for path, rel in found if rel.endswith("/manage.py")]
    package_dirs = sorted({os.path.dirname(path) for path, rel in data
                           if rel.rpartition("/")[2] in ("pyproject.toml", "setup.py", "setup.cfg")})
    roots = source_roots(root, settings, manage_dirs, package_dirs)
    files = [SourceFile(path, rel, module_name(path, roots)) for path, rel in found]
    files.sort(key=lambda f: f.rel)
    data.sort(key=lambda item: item[1])
    return Discovery(root, roots, files, warnings, rules.memo(),
                     [item for item in data if is_declaration(item[1])], [item for item in data if is_fixture(item[1])])


def _points_to_dir(path: str) -> bool:
    try:
        return os.path.isdir(path)
    except OSError:
        return False


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def explicit_file(path: str, root: str, roots: list[str]) -> SourceFile:
    """A file named on the command line (pre-commit passes them), even if excluded."""
    path = os.path.normpath(os.path.abspath(path))
    return SourceFile(path, _rel(path, root), module_name(path, roots))


def matches_any(rel: str, patterns: tuple[str, ...]) -> bool:
    """fnmatch-style matching of a root-relative path (for `per-file-ignores`)."""
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)
