"""Byte-level decisions made before (or instead of) parsing a file: could it define
tasks, apps or schedules; could it enqueue tasks; could it define a tenant-scoped
model; and its `# noqa` comments. Plain `in` tests on bytes first, regexes only on the
files that pass them."""

from __future__ import annotations

import re
from typing import Callable, Iterator

# Each needle a file lacks costs a scan of the whole file: "rontab" serves both `crontab(`
# and `CrontabSchedule`; a file writing IntervalSchedule rows also names PeriodicTask
# (their task), which "Task" finds.
_NEEDLES = (b"task", b"Task", b"celery", b"Celery", b"BEAT", b"beat_schedule", b"rontab")
# Definitions of tasks, apps and schedules, crontabs and django-celery-beat rows. (A class
# line counts when a base's name ends in "Task": `class Sync(BaseTask):`, not
# `class V(ViewSet[PaperlessTask])`. An attribute
# named `task` counts only when called or aliased: `scan.task.id` in a big test module
# is not a reason to parse it.)
_RELEVANT = re.compile(
    rb"shared_task|\.task[ \t]*\(|=[ \t]*[\w.]*\.task[ \t]*(?:#.*)?$"  # `app.task(...)(f)`, `task = app.task`
    rb"|^[ \t]*@[ \t]*[\w.]*task\w*|Celery\(|BEAT_SCHEDULE|beat_schedule"
    rb"|add_periodic_task|config_from_object|^[ \t]*class[ \t]+\w+[ \t]*\([^)]*?\w*Task[ \t]*[,)]"
    # crontabs (BEAT008) and the rows of django-celery-beat that code writes
    rb"|crontab[ \t]*\(|CrontabSchedule|IntervalSchedule|PeriodicTask|django_celery_beat",
    re.MULTILINE,
)


ENQUEUE_NEEDLES = (b".delay(", b".apply_async(", b".s(", b".si(", b".signature(")

# An import statement from the start of its line (the `import` keyword is on that line).
_IMPORT = re.compile(rb"[ \t]*(?:from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]*(\([^)]*\)|[^\n#;]*)|import[ \t]+([^\n#;]+))")
_WORD = re.compile(rb"[\w.]+")


def imported_modules(data: bytes, module: str, is_package: bool) -> tuple[str, ...]:
    """The modules a file may import, from its bytes (module-level and function-level
    imports; for `from x import y`, both `x` and `x.y`): what the project layer will
    need to resolve names, known before anything is parsed. A superset is harmless."""
    if b"import" not in data:
        return ()
    found: dict[str, None] = {}
    base = module.split(".") if module else []
    if not is_package:
        base = base[:-1]
    for match in _import_statements(data):
        dots, source, names, plain = match.groups()
        if plain is not None:
            for word in _WORD.findall(plain):
                if word != b"as":
                    found[word.decode("ascii", "replace")] = None
            continue
        prefix = base[: len(base) - (len(dots) - 1)] if dots and len(dots) - 1 <= len(base) else ([] if dots else [])
        if dots and len(dots) - 1 > len(base):
            continue
        target = ".".join(prefix + ([source.decode("ascii", "replace")] if source else []))
        if not target:
            continue
        found[target] = None
        for word in _WORD.findall(names or b""):
            if word != b"as" and b"." not in word:
                found[f"{target}.{word.decode('ascii', 'replace')}"] = None
    return tuple(found)


def _import_statements(data: bytes) -> Iterator[re.Match[bytes]]:
    """The matches of `_IMPORT` at line starts, as `re.finditer` with `^` would give them
    (none starting inside an earlier one), found from the lines that say `import`."""
    end = tried = -1
    at = data.find(b"import")
    while at >= 0:
        start = data.rfind(b"\n", 0, at) + 1
        if start >= end and start != tried:
            tried = start
            match = _IMPORT.match(data, start)
            if match is not None:
                yield match
                end = match.end()
        at = data.find(b"import", at + 6)


def tenancy_probe(names: tuple[str, ...], tenant_model: str = "Tenant") -> Callable[[bytes], bool]:
    """Whether a file could define a tenant-scoped model or a tenancy mechanism: a
    `tenant`/`tenant_id` field (`tenant = models.ForeignKey(...)`, `tenant_id: UUID =
    models.UUIDField(...)`), one of the configured tenant base, manager or model names
    used as a base or value (not any variable of that name), the tenant model's class,
    or a tenancy library or `TENANT_APPS`. In a multi-tenant project most files say
    "tenant", so each test starts from its own literal (searched at C speed) and looks
    around each occurrence, rather than trying one regex at every position:
    `tests/test_facts.py` holds the whole test as one regex and compares the two."""
    names = tuple(dict.fromkeys(n.encode() for n in names if n))
    model = tenant_model.encode()
    literals = (b"tenant", b"Tenant", b"TENANT") + names + (model,)
    model_class = re.compile(rb"class[ \t]+" + re.escape(model) + rb"\b")

    def probe(data: bytes) -> bool:
        if not any(literal in data for literal in literals):
            return False
        if any(needle in data for needle in TENANCY_LIBRARY_NEEDLES):
            return True
        if b"tenant" in data:
            for match in _TENANT_FIELD.finditer(data):  # after the line's indentation only
                indent = data[data.rfind(b"\n", 0, match.start()) + 1:match.start()]
                if indent and not indent.strip(b" \t"):
                    return True
        for name in names:
            at = data.find(name)
            while at >= 0:
                end = at + len(name)
                if (end == len(data) or not _WORD_BYTE[data[end]]) \
                        and _VALUE_BEFORE.search(data, data.rfind(b"\n", 0, at) + 1, at):
                    return True
                at = data.find(name, at + 1)
        if model in data:
            for match in model_class.finditer(data):  # at the start of a line
                if match.start() == 0 or data[match.start() - 1] == 10:
                    return True
        return False

    return probe


# `tenant = models.ForeignKey(`, `tenant_id: UUID = models.UUIDField(` (indented: a field)
_TENANT_FIELD = re.compile(rb"tenant(?:_id)?[ \t]*(?::[^=\n]*)?=[ \t]*[\w.]*(?:Field|Key)\(")
# What precedes a name used as a base or a value: `(`, `,` or `=`, then `models.`-like prefixes
_VALUE_BEFORE = re.compile(rb"[(,=][ \t]*(?:\w+\.)*\Z")
_WORD_BYTE = tuple(chr(b).isascii() and (chr(b).isalnum() or b == 95) for b in range(256))


# Files naming these may set up a tenancy mechanism (libraries, settings). Task signal
# handlers are not among them: every project has some (task tracking, logging), and the
# mechanisms read them from the files that connect them (see MechanismFinder).
TENANCY_LIBRARY_NEEDLES = (b"django_tenants", b"tenant_schemas", b"django_multitenant", b"django_omnitenant",
                           b"TENANT_APPS")


def enqueues(data: bytes) -> bool:
    """Could this file enqueue tasks (`.delay(`, `.apply_async(`, `.s(`...)?"""
    return any(n in data for n in ENQUEUE_NEEDLES)


def needs_parse(data: bytes, extra_needles: tuple[bytes, ...] = ()) -> bool:
    """Cheap byte-level test: could this file define tasks, apps or schedules?"""
    if not any(n in data for n in _NEEDLES) and not any(n in data for n in extra_needles):
        return False
    if _RELEVANT.search(data):
        return True
    return any(n in data for n in extra_needles)



_NOQA = re.compile(r"#\s*noqa(?::[\s]*(?P<codes>[A-Za-z]+[0-9]+(?:[,\s]+[A-Za-z]+[0-9]+)*))?", re.IGNORECASE)


def noqa_lines(data: bytes) -> dict[int, frozenset[str] | None]:
    """`# noqa` and `# noqa: CODE, CODE` comments by line (Python's own line breaks)."""
    result: dict[int, frozenset[str] | None] = {}
    if b"noqa" not in data.lower():
        return result
    text = data.decode("utf-8", "replace")
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), 1):
        if "#" not in line:
            continue
        match = _NOQA.search(line)
        if match is None:
            continue
        codes = match.group("codes")
        result[number] = None if codes is None else frozenset(c.upper() for c in re.split(r"[,\s]+", codes) if c)
    return result

