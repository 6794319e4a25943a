"""One run: discover -> facts (prefiltered, cached, parsed in parallel) -> project ->
rules -> noqa."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from celerylint.baseline import Baseline
from celerylint.config import Settings, check_codes
from celerylint.diagnostics import Diagnostic
from celerylint.fixes.apply import CONDITIONAL_OPS
from celerylint.engine.discover import discover, explicit_file
from celerylint.engine.cache import PARSE
from celerylint.engine.load import DemandLoader, FactLoading
from celerylint.engine.noqa import NOQA, directives, suppressed, suppression
from celerylint.facts.model import SourceFile
from celerylint.project import Project
from celerylint.project.index import ProjectIndex
from celerylint.rules import all_rules, is_code_selector, selected_codes
from celerylint.rules.unused_suppression import NoqaDirective, StaleEntry, Suppressions


# How many levels of imports the tenant analysis loads ahead of the rules (the call
# chains it follows are task -> service -> selector -> model, give or take a level).
IMPORT_DEPTH = 4


class UsageError(Exception):
    """A bad command line (exit status 2)."""


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]  # paths relative to the project root
    files_checked: int
    root: str
    project: Project | None  # None for a reused result (check(..., reuse=True))
    scope: set = field(default_factory=set)  # root-relative paths whose findings are reported (and fixed)
    notes: list[str] = field(default_factory=list)  # for --verbose
    warnings: list[str] = field(default_factory=list)  # always printed to stderr
    seconds: float = 0.0
    baselined: int = 0  # findings the baseline suppressed


def check(paths: list[str], settings: Settings, root: str, *, use_cache: bool = True, jobs: int | None = None,
          select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (), extend_select: tuple[str, ...] = (),
          verbose: bool = False, overlay: Mapping[str, bytes] | None = None,
          baseline: Baseline | None = None, reuse: bool = False) -> CheckResult:
    """Check the project at `root`; report the findings located in `paths` (all when empty).
    `select` replaces the configured `select`, `extend_select` and `ignore` add to the
    configured ones. `verbose` adds what was found (tasks, beat entries) to the notes;
    `overlay` maps absolute paths of files to contents that replace theirs (nothing is
    written). `baseline` drops the findings it covers
    (after `noqa` and `per-file-ignores`). With `reuse`, a run over a project whose
    every file (and the analyzer, configuration, selection and baseline) is as in an
    earlier run returns that run's result, with `project` None."""
    started = time.perf_counter()
    check_codes(settings, is_code_selector)
    codes = selected_codes(select if select is not None else settings.select,
                           settings.extend_select + tuple(extend_select), settings.ignore + tuple(ignore))
    tenant_rules = any(code.startswith("TEN") or code == "BEAT006" for code in codes)
    # (no pool until a file is parsed)
    run = FactLoading(root, settings, use_cache, jobs or os.cpu_count() or 1, overlay, tenant_rules)
    found = discover(root, settings, run.cache.ignore_memo)
    run.cache.remember_ignores(found.ignore_memo)
    files = list(found.files)
    known = {f.path for f in files}
    scope_files: set[str] = set()
    scope_dirs: list[str] = []
    for raw in paths:
        path = os.path.normpath(os.path.abspath(raw))
        if os.path.isdir(path):
            scope_dirs.append(path.rstrip(os.sep) + os.sep)
        elif os.path.exists(path) or os.path.islink(path):
            if path not in known:
                extra = explicit_file(path, root, found.roots)
                if extra.rel.startswith("../"):
                    raise UsageError(f"{raw} is outside the project root {root}")
                files.append(extra)
                known.add(path)
            scope_files.add(path)
        else:
            raise UsageError(f"{raw}: no such file or directory")

    def in_scope(source: SourceFile) -> bool:
        if not paths:
            return True
        return source.path in scope_files or any(source.path.startswith(d) for d in scope_dirs) \
            or any(os.path.normpath(source.path) + os.sep == d for d in scope_dirs)

    scoped = {f.rel: f for f in files if in_scope(f)}
    # Fixtures with django-celery-beat rows get findings too (never fixes).
    data_files = {rel: SourceFile(path, rel, "") for path, rel in found.fixtures}
    data_scoped = {rel: f for rel, f in data_files.items() if in_scope(f)}
    try:
        run.survey(files)
        state = None
        if reuse and not run.overlay and not verbose and run.cache.enabled and baseline is None \
                and not any(cls.uses_suppressions and cls.code in codes for cls in all_rules()):
            # The whole project's findings, by what they depend on; a run reports those in
            # its scope.
            state = _project_state(run, files, codes, found=found)
            earlier = run.cache.results.get(state)
            if earlier is None and run.facts_unchanged(files):
                earlier = run.cache.results.get(_project_state(run, files, codes, as_before=True, found=found))
                if earlier is not None:
                    run.cache.remember_result(state, earlier)
            if earlier is not None:
                warning = run.cache.save()
                return CheckResult([d for d in earlier if d.path in scoped or d.path in data_scoped], len(scoped),
                                   root, None, set(scoped), [], list(found.warnings) + ([warning] if warning else []),
                                   time.perf_counter() - started)
        facts = run.load(files, also=run.needed(files, IMPORT_DEPTH))
        data = _DataFiles(run, found)
        index = ProjectIndex(root, files, facts, settings, DemandLoader(run), enqueuing=run.enqueuing,
                             roots=found.roots, declared=data.declared(), data_rows=data.rows())
        index.notes.extend(data.notes)
        project = Project(index, tenancy_files=run.tenancy_files, memo=run.cache)
        asked: set = set()
        for _ in range(3):  # a decorator instance may be made in a file that the first round finds
            needles = tuple(n for n in project.tasks.factory_needles() if n not in asked)
            if not needles:
                break
            asked.update(needles)
            index.parse_files_mentioning(needles)
        if tenant_rules and project.tenancy.models_exist():
            index.prefetch_imports(IMPORT_DEPTH)
        diagnostics: list[Diagnostic] = []
        all_files = {f.rel: f for f in files}
        used: dict[tuple[str, int], set[str]] = {}  # (rel, line) -> codes its noqa suppressed
        for rule_cls in all_rules():
            if rule_cls.code not in codes or rule_cls.uses_suppressions:
                continue
            for diag in rule_cls().check(project):
                source = scoped.get(diag.path) or data_scoped.get(diag.path) \
                    or ((all_files.get(diag.path) or data_files.get(diag.path)) if state is not None else None)
                if source is None:
                    continue
                how = suppression(diag, source, index.parsed_facts(source.rel), settings)
                if how == NOQA:
                    used.setdefault((diag.path, diag.line), set()).add(diag.code)
                elif how is None:
                    diagnostics.append(diag)
        diagnostics = sorted(set(diagnostics))
        if any(d.fix is not None and any(e.op in CONDITIONAL_OPS for e in d.fix.edits) for d in diagnostics):
            from celerylint.fixes.apply import confirm_fixable

            diagnostics = confirm_fixable(diagnostics, root, run.overlay)
        baselined, stale = 0, []
        if baseline is not None:
            match = baseline.apply(diagnostics, lambda rel: not paths or rel in scoped or rel in data_scoped, codes)
            diagnostics, baselined, stale = match.kept, match.suppressed, match.stale
            notes_baseline = [f"baseline {baseline.path}: {baselined} findings suppressed, "
                              f"{len(stale)} stale entries"]
        else:
            notes_baseline = []
        late = [cls for cls in all_rules() if cls.uses_suppressions and cls.code in codes]
        if late:
            suppressions = Suppressions(
                tuple(_directives(run, scoped, index, used)),
                tuple(StaleEntry(_rel(baseline.path, root), entry.line, entry.code, entry.path, entry.entity, count)
                      for entry, count in stale) if baseline is not None else (),
                frozenset(codes), frozenset(cls.code for cls in all_rules()))
            for rule_cls in late:
                for diag in rule_cls().check_suppressions(suppressions):
                    source = scoped.get(diag.path)
                    if source is not None and suppressed(diag, source, index.parsed_facts(source.rel), settings):
                        continue
                    diagnostics.append(diag)
        found_notes = (_found_notes(project) if verbose else []) + notes_baseline
        diagnostics = sorted(set(diagnostics))
        if state is not None:
            run.cache.remember_result(state, diagnostics)
            diagnostics = [d for d in diagnostics if d.path in scoped or d.path in data_scoped]
    finally:
        run.close()
    warning = run.cache.save()
    warnings = list(found.warnings) + ([warning] if warning else [])
    notes = [
        f"project root: {root}",
        "source roots: " + ", ".join(os.path.relpath(r, root) for r in found.roots),
        f"configuration: {settings.source or 'defaults'}",
        f"files: {len(files)} in the project, {len(scoped)} checked; parsed {run.stats['parsed']}, "
        f"from cache {run.stats['cached']}, skipped by the prefilter {run.stats['skipped']}, "
        f"loaded on demand {run.stats['demand'] + run.stats['loaded']} ({run.stats['demand']} parsed, "
        f"in {run.stats['rounds']} rounds)",
    ] + found_notes + sorted(set(index.notes))
    return CheckResult(diagnostics, len(scoped), root, project, set(scoped), notes, warnings,
                       time.perf_counter() - started, baselined)


class _DataFiles:
    """The files besides Python sources that the analysis reads: dependency declarations
    (project.dependencies) and django-celery-beat rows of fixtures (project.rows)."""

    def __init__(self, run: FactLoading, found):
        self.run = run
        self.found = found
        self.notes: list[str] = []

    def _read(self, path: str) -> str | None:
        try:
            data = self.run.overlay[path] if path in self.run.overlay else open(path, "rb").read()
        except OSError:
            return None
        return data.decode("utf-8", "replace")

    def declared(self):
        from celerylint.project import dependencies

        texts = {}
        for path, rel in self.found.declarations:
            text = self._read(path)
            if text is not None:
                texts[rel] = text
        root = self.found.root

        def read(rel: str) -> str | None:
            path = os.path.normpath(os.path.join(root, rel))
            return self._read(path) if path.startswith(root) else None

        return dependencies.declared(texts, read, dependencies.installed_packages) if texts else None

    def rows(self) -> list:
        from celerylint.project import rows

        out = []
        for path, rel in self.found.fixtures:
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if b"django_celery_beat" not in data:
                continue
            found, problem = rows.parse_fixture(rel, data.decode("utf-8", "replace"))
            out.extend(found)
            if problem:
                self.notes.append(f"{rel}: fixture not read: {problem}")
        return out


def _project_state(run: FactLoading, files: list[SourceFile], codes: frozenset, as_before: bool = False,
                   found=None) -> bytes:
    """What the whole project's findings depend on besides the configuration (the
    cache's own key): the analyzer's code, the rules selected, every file of the
    project by name, module and content, and the data files read (dependency
    declarations, fixtures). `as_before`: with the contents the changed files had in the
    cache (for files whose facts did not change)."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(repr((_analyzer_state(), sorted(codes))).encode())
    for source in files:
        state = run.states.get(source.rel)
        if as_before and source.rel in run.previous:
            state = run.previous[source.rel]
        hasher.update(f"\0{source.rel}\0{source.module}\0".encode() + (state.digest if state else b"-"))
    for path, rel in (found.declarations + found.fixtures) if found is not None else ():
        try:
            st = os.stat(path)
        except OSError:
            continue
        hasher.update(f"\0{rel}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return hasher.digest()


def _analyzer_state() -> tuple:
    """The analyzer's own modules by name, size and modification time: a result is never
    reused across a change of celerylint's code."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = []
    for folder, _, names in os.walk(package):
        for name in sorted(names):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                found.append((os.path.relpath(os.path.join(folder, name), package), st.st_size, st.st_mtime_ns))
    return tuple(sorted(found))


def _directives(run: FactLoading, scoped: dict[str, SourceFile], index: ProjectIndex,
                used: dict[tuple[str, int], set[str]]):
    """The `# noqa` directives of the files in scope, with the codes that suppressed a
    finding in this run. A parsed file without any is not read again."""
    for rel, source in sorted(scoped.items()):
        facts = index.parsed_facts(rel)
        if facts is not None and not facts.noqa:
            continue
        try:
            data = run.read(source)
        except OSError:
            continue
        for line, column, end, codes in directives(data):
            yield NoqaDirective(rel, line, column, end, codes, frozenset(used.get((rel, line), ())))


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def _found_notes(project: Project) -> list[str]:
    tasks = project.tasks.all()
    entries = project.schedules.entries()
    rows = len(project.schedules.entries(rows=True)) - len(entries)
    return [
        f"found: {len(tasks)} task definitions ({len({t.name for t in tasks if t.name})} names) in "
        f"{len({t.rel for t in tasks})} files; {len(entries)} beat entries in "
        f"{len([s for s in project.schedules.running() if s.label != 'django-celery-beat rows'])} schedules"
        + (f"; {rows} django-celery-beat rows written by code or fixtures" if rows else ""),
    ]
