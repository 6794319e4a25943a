"""The project's declared dependencies and the import names they provide (RULES.md §1,
"Known external tasks"): a beat entry naming `pkg.tasks.x` is a third-party task only
when `pkg` is the project's own or an import name of one of its declared dependencies.

Declarations are read from every file that makes them (the engine finds and reads the
files; this module only parses text): requirements files (`requirements*.txt`,
`requirements/*.txt`, pip-tools `*.in`, with `-r` includes), `pyproject.toml`
(PEP 621 `[project]` dependencies and optional dependencies, PEP 735 dependency groups,
Poetry's dependencies and groups, PDM's dev dependencies), `Pipfile`, `setup.cfg`
(`install_requires`, `extras_require`) and `setup.py` (literal `install_requires=[...]`
and `extras_require={...}` of the `setup(...)` call).

A distribution's import names: its normalized name (lower case, `-` and `.` as `_`), a
table of well-known differences (`django-celery-email` -> `djcelery_email`), and generous spellings (`django-`,
`python-`, `py`, `dj` prefixes and `-django`, `-python`, `-sdk`, `-client` suffixes
removed; separators ignored; the import name among the distribution name's words).
Generous on purpose: a package taken for a dependency's is "external" and never
reported, which at worst misses a finding. A package installed where the analyzer runs
(`importlib.metadata.packages_distributions()`: a dependency's dependency, when the
analyzer runs in the project's environment) is external too.

Declarations are trusted only when they declare Celery or Django (a project whose
dependency files do not mention them declares its runtime elsewhere); otherwise, and
when nothing is declared, `Declared` is None and an unknown top-level package stays
"external", as it always was.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

# Distribution (normalized) -> import names, where the import name is not a spelling
# of the distribution's name.
KNOWN_IMPORTS: dict[str, tuple[str, ...]] = {
    "django_celery_email": ("djcelery_email",),
    "django_celery": ("djcelery",),
    "djangorestframework": ("rest_framework",),
    "djangorestframework_simplejwt": ("rest_framework_simplejwt",),
    "djangorestframework_gis": ("rest_framework_gis",),
    "django_health_check": ("health_check",),
    "pillow": ("PIL",),
    "beautifulsoup4": ("bs4",),
    "pyyaml": ("yaml",),
    "python_dateutil": ("dateutil",),
    "pyjwt": ("jwt",),
    "python_magic": ("magic",),
    "scikit_learn": ("sklearn",),
    "opencv_python": ("cv2",),
    "opencv_python_headless": ("cv2",),
    "psycopg2_binary": ("psycopg2",),
    "psycopg_binary": ("psycopg",),
    "django_oauth_toolkit": ("oauth2_provider",),
    "django_cors_headers": ("corsheaders",),
    "django_filter": ("django_filters",),
    "django_environ": ("environ",),
    "django_simple_history": ("simple_history",),
    "social_auth_app_django": ("social_django",),
    "social_auth_core": ("social_core",),
    "django_notifications_hq": ("notifications",),
    "django_push_notifications": ("push_notifications",),
    "django_registration_redux": ("registration",),
    "django_two_factor_auth": ("two_factor",),
    "django_dbbackup": ("dbbackup",),
    "django_q2": ("django_q",),
    "django_tenant_schemas": ("tenant_schemas",),
    "django_auth_ldap": ("django_auth_ldap",),
    "python_ldap": ("ldap",),
    "google_api_python_client": ("googleapiclient",),
    "msgpack_python": ("msgpack",),
    "python_jose": ("jose",),
    "pycryptodome": ("Crypto",),
    "pycryptodomex": ("Cryptodome",),
    "attrs": ("attr", "attrs"),
    "setuptools": ("setuptools", "pkg_resources"),
    "dnspython": ("dns",),
    "pymongo": ("pymongo", "bson", "gridfs"),
    "python_json_logger": ("pythonjsonlogger",),
    "django_celery_beat": ("django_celery_beat",),
    "django_celery_results": ("django_celery_results",),
}

_PREFIXES = ("django_", "djangorestframework_", "drf_", "python_", "py", "dj", "flask_")
_SUFFIXES = ("_django", "_python", "_py", "_sdk", "_client", "_api")
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize(name: str) -> str:
    """A distribution's name as compared here: lower case, `-`/`.` runs as `_`."""
    return re.sub(r"[-_.]+", "_", name).lower()


@dataclass
class Declared:
    """What the project declares: distributions (normalized), and where."""

    distributions: frozenset
    sources: tuple  # the files that declared them (root-relative)
    installed: Callable[[], Mapping[str, list]] | None = None  # import name -> distributions, when asked
    _provided: dict = field(default_factory=dict)

    def provides(self, top: str) -> str | None:
        """The declared distribution that may provide the import name `top`, or None."""
        if top in self._provided:
            return self._provided[top]
        found = self._find(top)
        self._provided[top] = found
        return found

    def _find(self, top: str) -> str | None:
        wanted = top.lower()
        for dist in sorted(self.distributions):
            if _spells(dist, wanted):
                return dist
        if self.installed is not None:
            try:
                table = self.installed()
            except Exception:  # a broken installation's metadata: ask nothing of it
                table = {}
            for dist in table.get(top, ()):
                # Installed where the analyzer runs: declared, or a dependency's dependency.
                return normalize(dist)
        return None


def _spells(dist: str, top: str) -> bool:
    """Whether the import name `top` (lower case) may be the distribution `dist`'s."""
    if top in (name.lower() for name in KNOWN_IMPORTS.get(dist, ())):
        return True
    if top == dist:
        return True
    variants = {dist}
    for prefix in _PREFIXES:
        if dist.startswith(prefix) and len(dist) > len(prefix):
            variants.add(dist[len(prefix):].lstrip("_"))
    for variant in list(variants):
        for suffix in _SUFFIXES:
            if variant.endswith(suffix) and len(variant) > len(suffix):
                variants.add(variant[: -len(suffix)])
    if top in variants:
        return True
    bare_top = top.replace("_", "")
    if any(v.replace("_", "") == bare_top for v in variants):
        return True
    words = dist.split("_")
    top_words = top.split("_")
    for start in range(len(words) - len(top_words) + 1):
        if words[start:start + len(top_words)] == top_words:
            return True  # `health_check` in `django_health_check`
    return len(bare_top) >= 4 and bare_top in dist.replace("_", "")


# --------------------------------------------------------------------------- parsing


def requirement_name(spec: str) -> str | None:
    """The distribution of a PEP 508 string or requirements line (`celery[redis]>=5`,
    `pkg @ https://...`), or None."""
    spec = spec.strip()
    if not spec or spec.startswith(("#", "-", ".", "/", "http:", "https:", "git+", "file:")):
        egg = _EGG.search(spec)
        return normalize(egg.group(1)) if egg else None
    match = _NAME.match(spec)
    return normalize(match.group(1)) if match else None


def parse_requirements(text: str, rel: str, read: Callable[[str], str | None],
                       seen: set | None = None) -> set[str]:
    """The distributions of a requirements file, following `-r` includes (`read` gives
    the text of another root-relative file, or None)."""
    seen = set() if seen is None else seen
    seen.add(rel)
    names: set[str] = set()
    lines = re.sub(r"\\\r?\n", " ", text).splitlines()
    for raw in lines:
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        include = re.match(r"(?:-r|--requirement)(?:\s+|=)(\S+)", line)
        if include:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), include.group(1)))
            if target not in seen:
                other = read(target)
                if other is not None:
                    names |= parse_requirements(other, target, read, seen)
            continue
        editable = re.match(r"(?:-e|--editable)(?:\s+|=)(\S+)", line)
        if editable:
            egg = _EGG.search(editable.group(1))
            if egg:
                names.add(normalize(egg.group(1)))
            continue
        if line.startswith("-"):
            continue  # -c, -i, --hash and other options
        name = requirement_name(line)
        if name:
            names.add(name)
    return names


def parse_pyproject(text: str) -> set[str]:
    import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return set()
    names: set[str] = set()
    project = data.get("project", {})
    if isinstance(project, dict):
        names |= _specs(project.get("dependencies"))
        optional = project.get("optional-dependencies")
        if isinstance(optional, dict):
            for specs in optional.values():
                names |= _specs(specs)
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        for specs in groups.values():
            names |= _specs(specs)
    tool = data.get("tool", {})
    if isinstance(tool, dict):
        poetry = tool.get("poetry", {})
        if isinstance(poetry, dict):
            names |= _keys(poetry.get("dependencies")) | _keys(poetry.get("dev-dependencies"))
            for group in (poetry.get("group") or {}).values() if isinstance(poetry.get("group"), dict) else ():
                if isinstance(group, dict):
                    names |= _keys(group.get("dependencies"))
        pdm = tool.get("pdm", {})
        if isinstance(pdm, dict) and isinstance(pdm.get("dev-dependencies"), dict):
            for specs in pdm["dev-dependencies"].values():
                names |= _specs(specs)
    names.discard("python")
    return names


def parse_pipfile(text: str) -> set[str]:
    import tomllib

    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, ValueError):
        return set()
    return _keys(data.get("packages")) | _keys(data.get("dev-packages"))


def parse_setup_cfg(text: str) -> set[str]:
    import configparser  # only for projects with a setup.cfg: not on every run's import path

    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return set()
    names: set[str] = set()
    if parser.has_option("options", "install_requires"):
        names |= _specs(parser.get("options", "install_requires").splitlines())
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            names |= _specs(value.splitlines())
    return names


def parse_setup_py(text: str) -> set[str]:
    """Literal `install_requires` / `extras_require` of a `setup(...)` call (also a
    module-level name bound to the literal)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()
    constants: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            constants[node.targets[0].id] = node.value
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        callee = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if callee != "setup":
            continue
        for keyword in node.keywords:
            if keyword.arg not in ("install_requires", "extras_require"):
                continue
            value = keyword.value
            if isinstance(value, ast.Name):
                value = constants.get(value.id, value)
            try:
                literal = ast.literal_eval(value)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                continue
            if isinstance(literal, dict):
                for specs in literal.values():
                    names |= _specs(specs)
            else:
                names |= _specs(literal)
    return names


def _specs(value: object) -> set[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return set()
    return {name for spec in value if isinstance(spec, str) for name in [requirement_name(spec)] if name}


def _keys(value: object) -> set[str]:
    return {normalize(k) for k in value} if isinstance(value, dict) else set()


def is_declaration(rel: str) -> bool:
    """Whether a root-relative path names a file that declares dependencies."""
    name = posixpath.basename(rel)
    folder = posixpath.basename(posixpath.dirname(rel))
    if name in ("pyproject.toml", "Pipfile", "setup.cfg", "setup.py"):
        return True
    if name.endswith((".txt", ".in")):
        return name.startswith("requirements") or folder.startswith("requirements")
    return False


def declared(files: Mapping[str, str], read: Callable[[str], str | None] | None = None,
             installed: Callable[[], Mapping[str, list]] | None = None) -> Declared | None:
    """The project's declared distributions from `files` (root-relative path -> text of
    every declaration file; `read` gives the text of a file a requirements file includes
    with `-r`), or None when nothing is declared or the declarations are not trusted
    (they mention neither Celery nor Django)."""
    def include(rel: str) -> str | None:
        return files[rel] if rel in files else read(rel) if read is not None else None

    names: set[str] = set()
    sources = []
    for rel in sorted(files):
        text = files[rel]
        name = posixpath.basename(rel)
        if name == "pyproject.toml":
            found = parse_pyproject(text)
        elif name == "Pipfile":
            found = parse_pipfile(text)
        elif name == "setup.cfg":
            found = parse_setup_cfg(text)
        elif name == "setup.py":
            found = parse_setup_py(text)
        else:
            found = parse_requirements(text, rel, include)
        if found:
            names |= found
            sources.append(rel)
    if not any(_runtime(n) for n in names):
        return None
    return Declared(frozenset(names), tuple(sources), installed)


def _runtime(dist: str) -> bool:
    return dist in ("celery", "django") or dist.startswith(("celery_", "django_celery"))


def installed_packages() -> Mapping[str, list]:
    """Import name -> distributions installed where the analyzer runs."""
    from importlib.metadata import packages_distributions

    return packages_distributions()
