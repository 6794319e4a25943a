"""Getting every file's facts: from the cache, parsed in the worker pool, or skipped by
the byte prefilter and loaded later when the project layer asks (the `Loader` it is
given)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from celerylint import __version__
from celerylint.config import Settings
from celerylint.engine.cache import PARSE, SKIPPED, SKIPPED_ENQUEUES, FactsCache, FileState, digest, facts_format
from celerylint.engine.pool import ParseJob, ParsePool
from celerylint.facts.ast_extract import extract_ast
from celerylint.facts.extract import ExtractOptions, syntax_error_facts, too_deep
from celerylint.facts.model import FileFacts, SourceFile
from celerylint.facts.prefilter import enqueues, imported_modules, needs_parse, tenancy_probe


# A batch of at most this many bytes is parsed in the main process (see FactLoading.parse).
IN_PROCESS_BYTES = 256 * 1024


class DemandLoader:
    """Reads and parses files on demand for the index (files the prefilter skipped)."""

    def __init__(self, engine: "FactLoading"):
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


class FactLoading:
    """One run's files: `survey` learns each file's state (stat, content digest,
    prefilter decision) from the cache or by reading it; `load` gets the facts of the
    files the prefilter selected; `parse_now` those of skipped files, on demand."""

    def __init__(self, root: str, settings: Settings, use_cache: bool, jobs: int,
                 overlay: Mapping[str, bytes] | None = None, tenant_rules: bool = False):
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
        self.parsed_here: set[str] = set()  # parsed in this process, not by the pool (facts not shared)
        # Files the survey selected for parsing: given to the pool as soon as they add up
        # to more than the main process parses itself, parsed while the survey goes on.
        self.early: list[ParseJob] = []
        self.early_bytes = 0
        self.submitted: set[str] = set()
        self.parsed_early: dict[str, FileFacts] = {}  # their facts, until `load` takes them
        self.stats = {"parsed": 0, "cached": 0, "skipped": 0, "demand": 0, "loaded": 0, "rounds": 0}
        self.states: dict[str, FileState] = {}  # by root-relative path, from `survey`
        self.previous: dict[str, FileState | None] = {}  # files whose content changed: their cached state
        self.unreadable: dict[str, FileFacts] = {}  # SYN001 facts of files that could not be read
        self.enqueuing: set[str] = set()  # skipped files that may enqueue tasks
        self.tenancy_files: set[str] = set()  # files that may define tenant-scoped models
        self.defines_tenancy = tenancy_probe(tuple(n.rsplit(".", 1)[-1] for n in settings.tenant_model_bases
                                                   + settings.tenant_managers + settings.tenant_models),
                                             settings.tenant_model.rsplit(".", 1)[-1])
        self.needles = tuple(d.rsplit(".", 1)[-1].encode() for d in settings.task_decorators)
        # Whether the tenant analysis will run and read the files that define tenancy or
        # enqueue tasks (see `needed`): known as soon as the survey meets one such file.
        self.tenant_rules = tenant_rules
        self.tenant_analysis = tenant_rules and bool(settings.tenant_models or settings.tenant_tasks)

    def get_pool(self) -> ParsePool:
        if self.pool is None:
            # Facts for the cache arrive with their equal values made one object
            # (cache.shared) by the worker that extracted them.
            self.pool = ParsePool(self.jobs, ExtractOptions.from_settings(self.settings), share=self.cache.writable)
        return self.pool

    def survey(self, files: list[SourceFile]) -> None:
        """Each file's state: from the cache when its stat (or else its content) is
        unchanged, else read and prefiltered now. The files it finds to parse whose content
        is new to the cache are given to the parse workers at once (see `_parse_early`)."""
        surveyed: list[SourceFile] = []
        for source in files:
            try:
                st = os.stat(source.path)
            except OSError as exc:
                self.unreadable[source.rel] = syntax_error_facts(source.module, source.is_package,
                                                                 f"could not read file: {exc.strerror or exc}")
                continue
            state = None if source.path in self.overlay else self.cache.by_stat(source.rel, st)
            if state is None:
                try:
                    data = self.read(source)
                except OSError as exc:
                    self.unreadable[source.rel] = syntax_error_facts(source.module, source.is_package,
                                                                     f"could not read file: {exc.strerror or exc}")
                    continue
                content = digest(data)
                state = self.cache.by_digest(source.rel, st, content)
                if state is None:
                    self.previous[source.rel] = self.cache.files.get(source.rel)
                    kind = PARSE if needs_parse(data, self.needles) else SKIPPED_ENQUEUES if enqueues(data) else SKIPPED
                    if kind != PARSE:
                        self.cache.forget_searches()
                    state = self.cache.store(source.rel, st, content, kind, self.defines_tenancy(data),
                                             imported_modules(data, source.module, source.is_package))
            self.states[source.rel] = state
            if state.defines_tenancy:
                self.tenancy_files.add(source.rel)
                if self.tenant_rules and not self.tenant_analysis:
                    self.tenant_analysis = True
                    for earlier in surveyed:  # the enqueuing files met so far
                        if self.states[earlier.rel].kind == SKIPPED_ENQUEUES and earlier.rel in self.previous:
                            self._parse_early(earlier, self.states[earlier.rel])
            if state.kind == SKIPPED_ENQUEUES:
                self.enqueuing.add(source.rel)
            if source.rel in self.previous and (state.kind == PARSE or (
                    self.tenant_analysis and (state.defines_tenancy or source.rel in self.enqueuing))):
                self._parse_early(source, state)
            elif self.pool is not None:
                self.pool.poll()
            surveyed.append(source)
        self.cache.forget_missing({f.rel for f in files})

    def _parse_early(self, source: SourceFile, state: FileState) -> None:
        """A file whose content the cache does not know (so neither its facts: asking
        would read the facts file, which a run whose result is reused never does)."""
        self.early.append(self._job(source, state.size))
        self.early_bytes += state.size
        if self.early_bytes > IN_PROCESS_BYTES:
            pool = self.get_pool()
            for job in self.early:
                pool.submit(job)
                self.submitted.add(job.key)
            self.early = []
            pool.poll()

    def needed(self, files: list[SourceFile], depth: int) -> list[SourceFile]:
        """The files the tenant analysis will read, to be parsed with the rest in one
        parallel batch rather than one by one: the files that define tenancy, define tasks
        or enqueue them (TEN005/TEN006), and the project modules they import, `depth`
        levels deep (the models and the helpers tasks call)."""
        if not self.tenant_analysis:
            return []
        start = [f for f in files if f.rel in self.tenancy_files or f.rel in self.enqueuing
                 or (f.rel in self.states and self.states[f.rel].kind == PARSE)]
        return start + self.import_closure(files, start, depth)

    def import_closure(self, files: list[SourceFile], start: list[SourceFile], depth: int) -> list[SourceFile]:
        """The project files that `start` imports, and those they import, `depth` levels
        deep (from the prefilter's byte-level import scan: nothing is parsed)."""
        by_module: dict[str, SourceFile] = {}
        for source in files:
            by_module.setdefault(source.module, source)
        seen = {s.rel for s in start}
        level = list(start)
        found: list[SourceFile] = []
        for _ in range(depth):
            following = []
            for source in level:
                state = self.states.get(source.rel)
                for name in state.imports if state is not None else ():
                    target = by_module.get(name)
                    if target is not None and target.rel not in seen:
                        seen.add(target.rel)
                        following.append(target)
            found.extend(following)
            level = following
        return found

    def load(self, files: list[SourceFile], also: list[SourceFile] = ()) -> dict[str, FileFacts | None]:
        """Facts of the files the prefilter selects, and of `also` (files the project
        layer is known to need), from the cache or parsed now in one batch; the others
        are None until the index asks for them (see parse_now)."""
        facts: dict[str, FileFacts | None] = dict(self.unreadable)
        wanted = {s.rel for s in also}
        todo = []
        for source in files:
            state = self.states.get(source.rel)
            if state is None:
                continue
            if state.kind == PARSE or source.rel in wanted:
                cached = self.cache.facts(source.rel, state)
                if cached is not None:
                    self.stats["cached"] += 1
                elif source.rel not in self.submitted:
                    todo.append(self._job(source, state.size))
                facts[source.rel] = cached
            else:
                self.stats["skipped"] += 1
                facts[source.rel] = None
        if todo or self.submitted:
            parsed = self.parse(todo)
            parsed.update((rel, self.parsed_early.pop(rel)) for rel in self.submitted if rel in self.parsed_early)
            self.submitted = set()
            self.stats["parsed"] += len(parsed)
            for rel, result in parsed.items():
                facts[rel] = result
                self._remember(rel, result)
        return facts

    def parse(self, jobs: list[ParseJob]) -> dict[str, FileFacts]:
        """rel -> facts. A small batch is parsed here with `ast` (no worker processes to
        start, no libcst to import: what a pre-commit run on a few files needs); the
        rest, and files `ast` cannot parse, in the worker pool."""
        results: dict[str, FileFacts] = {}
        if self.pool is None and sum(job.size for job in jobs) <= IN_PROCESS_BYTES:
            options = ExtractOptions.from_settings(self.settings)
            remaining = []
            for job in jobs:
                facts = None
                try:
                    data = job.data if job.data is not None else self._read_path(job.path)
                except OSError:
                    data = None
                if data is not None and not too_deep(data):
                    facts = extract_ast(data, job.module, job.is_package, options)
                if facts is None:
                    remaining.append(job)
                else:
                    results[job.key] = facts
                    self.parsed_here.add(job.key)
            jobs = remaining
        if jobs or self.pool is not None:
            asked = {job.key for job in jobs}
            for key, facts in self.get_pool().parse(jobs).items():  # with those submitted early
                if key in self.submitted:
                    self.parsed_early[key] = facts
                if key in asked:
                    results[key] = facts
        return results

    def parse_now(self, sources: list[SourceFile]) -> dict[str, FileFacts]:
        """Facts of files the prefilter skipped, for the index: from the cache when an
        earlier run loaded them, else parsed now (in parallel)."""
        results: dict[str, FileFacts] = {}
        jobs = []
        for source in sources:
            state = self.states.get(source.rel)
            if state is None:
                continue
            cached = self.cache.facts(source.rel, state)
            if cached is not None:
                results[source.rel] = cached
            else:
                jobs.append(self._job(source, state.size))
        self.stats["loaded"] += len(results)
        self.stats["rounds"] += bool(jobs)
        parsed = self.parse(jobs) if jobs else {}
        self.stats["demand"] += len(parsed)
        for rel, facts in parsed.items():
            self._remember(rel, facts)
        results.update(parsed)
        return results

    def facts_unchanged(self, files: list[SourceFile], limit: int = 20) -> bool:
        """Whether the files whose content changed since the cache still have the facts
        they had (a comment, a docstring, formatting): they are parsed now to find out.
        False when any is new, was not parsed before, or more than `limit` changed. When
        they do, each new content takes the stored facts of the old (nothing is rewritten)."""
        changed = [s for s in files if s.rel in self.previous]
        if not changed or len(changed) > limit:
            return False
        jobs, before = [], {}
        for source in changed:
            old, new = self.previous[source.rel], self.states.get(source.rel)
            if old is None or new is None or old.kind != new.kind:
                return False
            old_facts = self.cache.facts(source.rel, old)
            if old_facts is None:
                return False
            before[source.rel] = old_facts
            jobs.append(self._job(source, new.size))
        parsed = self.parse(jobs)
        if all(parsed.get(rel) == facts for rel, facts in before.items()):
            for rel in before:
                self.states[rel] = self.cache.carry_facts(rel, self.states[rel], self.previous[rel])
            return True
        for rel, facts in parsed.items():
            self._remember(rel, facts)
        return False

    def read(self, source: SourceFile) -> bytes:
        """The file's content, from the overlay when it has one (OSError if unreadable)."""
        if source.path in self.overlay:
            return self.overlay[source.path]
        return self._read_path(source.path)

    @staticmethod
    def _read_path(path: str) -> bytes:
        with open(path, "rb") as fh:
            return fh.read()

    def _job(self, source: SourceFile, size: int) -> ParseJob:
        data = self.overlay.get(source.path)
        return ParseJob(source.rel, source.path, source.module, source.is_package,
                        size if data is None else len(data), data)

    def _remember(self, rel: str, facts: FileFacts) -> None:
        state = self.states.get(rel)
        if not _transient(facts) and state is not None:
            self.cache.store_facts(rel, state, facts, is_shared=rel not in self.parsed_here)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def _transient(facts: FileFacts) -> bool:
    """Results not worth caching: the file could not be read, or the parser died."""
    return facts.error is not None and facts.error.message.startswith(("could not read", "the parser"))
