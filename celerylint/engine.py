"""discover -> facts (prefiltered, cached, parsed in parallel) -> index -> rules -> noqa."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from celerylint import __version__
from celerylint.cache import PARSE, SKIPPED, SKIPPED_ENQUEUES, FactsCache, digest, facts_format
from celerylint.config import Settings
from celerylint.diagnostics import Diagnostic
from celerylint.discover import SourceFile, discover, explicit_file, matches_any
from celerylint.facts import ExtractOptions, FileFacts, enqueues, needs_parse, syntax_error_facts, tenancy_pattern
from celerylint.index import ProjectIndex
from celerylint.pool import ParsePool
from celerylint.rules import all_rules, selected_codes


class UsageError(Exception):
    """A bad command line (exit status 2)."""


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]  # paths relative to the project root
    files_checked: int
    root: str
    index: ProjectIndex
    scope: set = field(default_factory=set)  # root-relative paths whose findings are reported (and fixed)
    notes: list[str] = field(default_factory=list)  # for --verbose
    warnings: list[str] = field(default_factory=list)  # always printed to stderr
    seconds: float = 0.0


class _Loader:
    """Reads and parses files on demand for the index (files the prefilter skipped)."""

    def __init__(self, engine: "_Run"):
        self.engine = engine

    def facts(self, sources: list[SourceFile]) -> dict[str, FileFacts]:
        """rel -> facts, parsed in parallel."""
        return self.engine.parse_now(sources)

    def search(self, sources: list[SourceFile], groups: tuple[tuple[bytes, ...], ...]) -> list[SourceFile]:
        """The sources holding a needle of every group; remembered in the cache while no
        skipped file changes, so warm runs with a lasting orphan do not re-read them."""
        cache = self.engine.cache
        key = (groups, digest("\n".join(s.rel for s in sources).encode()))
        found = cache.searches.get(key)
        if found is None:
            found = [s.rel for s in sources if self.contains(s, groups)]
            cache.remember_search(key, found)
        wanted = set(found)
        return [s for s in sources if s.rel in wanted]

    def contains(self, source: SourceFile, groups: tuple[tuple[bytes, ...], ...]) -> bool:
        """Whether the file holds a needle of every group."""
        try:
            data = self.engine.read(source)
        except OSError:
            return False
        return all(any(n in data for n in needles) for needles in groups)


class _Run:
    def __init__(self, root: str, settings: Settings, use_cache: bool, jobs: int,
                 overlay: Mapping[str, bytes] | None = None):
        self.root = root
        self.settings = settings
        # Contents that replace files on disk (the rounds of --fix/--diff before anything
        # is written): the cache is read by content only and never written.
        self.overlay = dict(overlay or {})
        self.cache = FactsCache(root, f"{__version__}-{facts_format()}-{settings.fingerprint()}", enabled=use_cache,
                                read_only=bool(self.overlay))
        if self.overlay:
            self.cache.searches = {}  # results over the files on disk
        self.jobs = jobs
        self.pool: ParsePool | None = None
        self.stats = {"parsed": 0, "cached": 0, "skipped": 0, "demand": 0, "loaded": 0}
        self.enqueuing: set[str] = set()  # skipped files that may enqueue tasks
        self.entries: dict[str, tuple] = {}  # rel -> (stat, content digest, prefilter kind)
        self.loadable: dict[str, FileFacts] = {}  # skipped files whose facts an earlier run cached
        self.tenancy_files: set[str] = set()  # files that may define tenant-scoped models
        self.tenancy = tenancy_pattern(tuple(n.rsplit(".", 1)[-1] for n in settings.tenant_model_bases
                                             + settings.tenant_managers + settings.tenant_models))
        self.needles = tuple(d.rsplit(".", 1)[-1].encode() for d in settings.task_decorators)

    def get_pool(self) -> ParsePool:
        if self.pool is None:
            self.pool = ParsePool(self.jobs, ExtractOptions.from_settings(self.settings))
        return self.pool

    def load(self, files: list[SourceFile]) -> dict[str, FileFacts | None]:
        """Facts of the files the prefilter selects (from the cache or parsed now); the
        others are None until the index asks for them (see parse_now)."""
        facts: dict[str, FileFacts | None] = {}
        todo = []
        for source in files:
            try:
                st = os.stat(source.path)
            except OSError as exc:
                facts[source.rel] = syntax_error_facts(source.module, _is_package(source),
                                                       f"could not read file: {exc.strerror or exc}")
                continue
            entry = None if source.path in self.overlay else self.cache.by_stat(source.rel, st)
            if entry is not None:
                self.entries[source.rel] = (st, self.cache.entries[source.rel][3], entry[0], entry[2])
            else:
                try:
                    data = self.read(source)
                except OSError as exc:
                    facts[source.rel] = syntax_error_facts(source.module, _is_package(source),
                                                           f"could not read file: {exc.strerror or exc}")
                    continue
                content = digest(data)
                entry = self.cache.by_digest(source.rel, st, content)
                if entry is None:
                    kind = PARSE if needs_parse(data, self.needles) else SKIPPED_ENQUEUES if enqueues(data) else SKIPPED
                    if kind != PARSE:
                        self.cache.forget_searches()
                    entry = (kind, None, bool(self.tenancy.search(data)))
                    self.entries[source.rel] = (st, content, kind, entry[2])
                    self.cache.store(source.rel, st, content, entry)
                else:
                    self.entries[source.rel] = (st, content, entry[0], entry[2])
            kind, cached, defines_tenancy = entry
            if defines_tenancy:
                self.tenancy_files.add(source.rel)
            if kind == PARSE:
                if cached is None:
                    todo.append(self._job(source, st.st_size))
                else:
                    self.stats["cached"] += 1
                facts[source.rel] = cached
            else:
                self.stats["skipped"] += 1
                facts[source.rel] = None
                if cached is not None:
                    self.loadable[source.rel] = cached
                if kind == SKIPPED_ENQUEUES:
                    self.enqueuing.add(source.rel)
        if todo:
            parsed = self.get_pool().parse(todo)
            self.stats["parsed"] += len(parsed)
            for rel, result in parsed.items():
                facts[rel] = result
                self._remember(rel, result)
        self.cache.forget_missing({f.rel for f in files})
        return facts

    def parse_now(self, sources: list[SourceFile]) -> dict[str, FileFacts]:
        """Facts of files the prefilter skipped, for the index: from the cache when an
        earlier run loaded them, else parsed now (in parallel)."""
        results = {s.rel: self.loadable.pop(s.rel) for s in sources if s.rel in self.loadable}
        self.stats["loaded"] += len(results)
        jobs = [self._job(s, self.entries[s.rel][0].st_size)
                for s in sources if s.rel not in results and s.rel in self.entries]
        parsed = self.get_pool().parse(jobs) if jobs else {}
        self.stats["demand"] += len(parsed)
        for rel, facts in parsed.items():
            self._remember(rel, facts)
        results.update(parsed)
        return results

    def read(self, source: SourceFile) -> bytes:
        """The file's content, from the overlay when it has one (OSError if unreadable)."""
        if source.path in self.overlay:
            return self.overlay[source.path]
        with open(source.path, "rb") as fh:
            return fh.read()

    def _job(self, source: SourceFile, size: int) -> tuple:
        data = self.overlay.get(source.path)
        return (source.rel, source.path, source.module, _is_package(source),
                size if data is None else len(data), data)

    def _remember(self, rel: str, facts: FileFacts) -> None:
        if not _transient(facts) and rel in self.entries:
            st, content, kind, defines_tenancy = self.entries[rel]
            self.cache.store_new(rel, st, content, (kind, facts, defines_tenancy))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _is_package(source: SourceFile) -> bool:
    return os.path.basename(source.path) == "__init__.py"


def _transient(facts: FileFacts) -> bool:
    """Results not worth caching: the file could not be read, or the parser died."""
    return facts.error is not None and facts.error.message.startswith(("could not read", "the parser"))


def check(paths: list[str], settings: Settings, root: str, *, use_cache: bool = True, jobs: int | None = None,
          select: tuple[str, ...] | None = None, ignore: tuple[str, ...] = (), verbose: bool = False,
          overlay: Mapping[str, bytes] | None = None) -> CheckResult:
    """Check the project at `root`; report the findings located in `paths` (all when empty).
    `verbose` adds what was found (tasks, beat entries) to the notes; `overlay` maps
    absolute paths of files to contents that replace theirs (nothing is written)."""
    started = time.perf_counter()
    run = _Run(root, settings, use_cache, jobs or os.cpu_count() or 1, overlay)  # no pool until a file is parsed
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

    try:
        facts = run.load(files)
        index = ProjectIndex(root, files, facts, settings, _Loader(run), enqueuing=run.enqueuing)
        codes = selected_codes(select if select is not None else settings.select, settings.extend_select,
                               settings.ignore + tuple(ignore))
        index.parse_files_mentioning(index.factory_needles())
        index.tenancy_files = run.tenancy_files
        index.tenancy_possible = bool(run.tenancy_files or settings.tenant_models or settings.tenant_tasks)
        if any(code.startswith("TEN") or code == "BEAT006" for code in codes) and index.tenancy.models_exist():
            index.prefetch_imports()
        scoped = {f.rel: f for f in files if in_scope(f)}
        diagnostics: list[Diagnostic] = []
        for rule_cls in all_rules():
            if rule_cls.code not in codes:
                continue
            for diag in rule_cls().check(index):
                source = scoped.get(diag.path)
                if source is None or _suppressed(diag, index, source, settings):
                    continue
                diagnostics.append(diag)
        found_notes = _found_notes(index) if verbose else []
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
        f"loaded on demand {run.stats['demand'] + run.stats['loaded']} ({run.stats['demand']} parsed)",
    ] + found_notes + sorted(set(index.notes))
    return CheckResult(sorted(set(diagnostics)), len(scoped), root, index, set(scoped), notes, warnings,
                       time.perf_counter() - started)


def _found_notes(index: ProjectIndex) -> list[str]:
    tasks = index.all_tasks()
    entries = index.beat_entries()
    schedules = [s for s in index.schedules if s.merged_into is None]
    return [
        f"found: {len(tasks)} task definitions ({len({t.name for t in tasks if t.name})} names) in "
        f"{len({t.rel for t in tasks})} files; {len(entries)} beat entries in {len(schedules)} schedules",
    ]


def _suppressed(diag: Diagnostic, index: ProjectIndex, source: SourceFile, settings: Settings) -> bool:
    for pattern, codes in settings.per_file_ignores:
        if matches_any(source.rel, (pattern,)) and any(diag.code.startswith(c) or c == "ALL" for c in codes):
            return True
    facts = index.parsed_facts(source.rel)
    if facts is None:
        return False
    marks = facts.noqa.get(diag.line, False)
    if marks is False:
        return False
    return marks is None or diag.code in marks
