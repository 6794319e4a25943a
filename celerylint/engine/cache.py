"""The cache under `<root>/.celerylint_cache/`, in two pickle files keyed by the
celerylint version, the facts format and the configuration fingerprint (a change of
any starts a fresh cache):

- `index-<key>.pickle`, small: each file's stat, content digest and prefilter
  decision; the results of byte searches over skipped files; the walk's ignore
  decisions; and the results of the last runs by the state of the whole project;
- `facts-<key>.pickle`: each file's facts by content digest, read only when a run
  needs facts (a run whose project state is unchanged reuses its result instead);
  facts added since it was written go to a small `facts-<key>.delta.pickle`, folded in
  when it grows, so a run that parsed a few files does not rewrite them all.

A file's entry is reused when its mtime, size and inode are unchanged, or failing that
when its content digest is.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from typing import Any, NamedTuple

from celerylint.facts.model import FileFacts, ValueBase

CACHE_DIR = ".celerylint_cache"
# What the prefilter decided for a content: parse it, skip it, or skip it but remember
# that it enqueues tasks (the tenant rules may load it).
PARSE = "parse"
SKIPPED = "skipped"
SKIPPED_ENQUEUES = "skipped-enqueues"
MAX_RESULTS = 8  # runs remembered (different selections and scopes: a hook and a full check)
MAX_MEMO = 1000  # project-layer answers remembered


class FileState(NamedTuple):
    """What is known of one file without parsing it."""

    mtime_ns: int
    size: int
    inode: int
    digest: bytes
    kind: str  # PARSE, SKIPPED or SKIPPED_ENQUEUES
    defines_tenancy: bool  # may define a tenant-scoped model (prefilter.tenancy_probe)
    imports: tuple  # the modules it may import (prefilter.imported_modules)


_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by celerylint.\n"


def digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def facts_format() -> str:
    """A digest of the code that produces and defines FileFacts (the facts package): a
    cache written by any other extraction code (even under the same version number) is
    never read back."""
    from celerylint import facts

    hasher = hashlib.blake2b(digest_size=6)
    folder = os.path.dirname(facts.__file__)
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as fh:
                hasher.update(name.encode() + b"\0" + fh.read())
    return hasher.hexdigest()


class FactsCache:
    def __init__(self, root: str, key: str, enabled: bool = True, read_only: bool = False):
        self.dir = os.path.join(root, CACHE_DIR)
        self.index_path = os.path.join(self.dir, f"index-{key}.pickle")
        self.facts_path = os.path.join(self.dir, f"facts-{key}.pickle")
        self.delta_path = os.path.join(self.dir, f"facts-{key}.delta.pickle")
        self.enabled = enabled
        self.writable = enabled and not read_only  # read_only: entries are used, nothing is stored
        self.files: dict[str, FileState] = {}  # by root-relative path
        # Results of byte searches over the skipped files (needles -> files that matched),
        # valid while no skipped file changes.
        self.searches: dict[tuple, list] = {}
        # The walk's ignore decisions and the ignore files they were made with (discover.py).
        self.ignore_memo: dict = {}
        self.results: dict[bytes, Any] = {}  # project state -> the result of a run (engine/run.py)
        # Answers the project layer keeps across runs (Project.memo): key -> value.
        self.memo: dict[tuple, Any] = {}
        self._facts: dict[str, tuple[bytes, FileFacts]] | None = None  # rel -> (digest, facts), read lazily
        self._delta: dict[str, tuple[bytes, FileFacts]] = {}  # the entries not in the main facts file
        self._main_read = False  # the main facts file was read whole (else it is rewritten)
        self._shared: dict = {}  # value -> the one object stored for it (see `shared`)
        self.index_dirty = self.facts_dirty = False
        if enabled:
            self._load_index()

    def _load_index(self) -> None:
        try:
            with open(self.index_path, "rb") as fh:
                files, searches, ignore_memo, results, memo = pickle.load(fh)
        except Exception:  # missing, truncated, or written by another version
            return
        if all(isinstance(x, dict) for x in (files, searches, ignore_memo, results, memo)):
            self.files, self.searches, self.ignore_memo, self.results = files, searches, ignore_memo, results
            self.memo = memo

    def _stored_facts(self) -> dict[str, tuple[bytes, FileFacts]]:
        if self._facts is None:
            self._facts = {}
            if self.enabled:
                stored, delta = _read(self.facts_path), _read(self.delta_path)
                if isinstance(stored, dict):
                    self._facts = stored
                    self._main_read = True
                    if isinstance(delta, dict):
                        self._delta = delta
                        self._facts.update(delta)
        return self._facts

    # -- files
    def by_stat(self, rel: str, st: os.stat_result) -> FileState | None:
        """The file's state when its stat is unchanged, else None."""
        state = self.files.get(rel)
        if state is not None and state.mtime_ns == st.st_mtime_ns and state.size == st.st_size \
                and state.inode == st.st_ino:
            return state
        return None

    def by_digest(self, rel: str, st: os.stat_result, content_digest: bytes) -> FileState | None:
        """The file's state when its content is unchanged (its stat is refreshed)."""
        state = self.files.get(rel)
        if state is not None and state.digest == content_digest:
            return self.store(rel, st, content_digest, state.kind, state.defines_tenancy, state.imports)
        return None

    def store(self, rel: str, st: os.stat_result, content_digest: bytes, kind: str,
              defines_tenancy: bool, imports: tuple) -> FileState:
        state = FileState(st.st_mtime_ns, st.st_size, st.st_ino, content_digest, kind, defines_tenancy,
                          shared(imports, self._shared))
        if self.writable:
            self.files[rel] = state
            self.index_dirty = True
        return state

    def forget_missing(self, present: set[str]) -> None:
        stale = [rel for rel in self.files if rel not in present]
        for rel in stale:
            del self.files[rel]
        if stale and self.writable:
            self.index_dirty = True
            self.searches.clear()

    # -- facts
    def facts(self, rel: str, content_digest: bytes) -> FileFacts | None:
        """The facts extracted from this content of the file, if stored."""
        stored = self._stored_facts().get(rel)
        return stored[1] if stored is not None and stored[0] == content_digest else None

    def store_facts(self, rel: str, content_digest: bytes, facts: FileFacts, is_shared: bool = False) -> None:
        """Facts just extracted: their equal strings, tuples, frozensets and values
        become shared objects first (see `shared`), unless the worker that extracted
        them did that already (`is_shared`; see pool.ParsePool)."""
        if self.writable:
            entry = (content_digest, facts if is_shared else shared(facts, self._shared))
            self._stored_facts()[rel] = entry
            self._delta[rel] = entry
            self.facts_dirty = True

    # -- searches, ignores, results
    def remember_ignores(self, memo: dict) -> None:
        if self.writable and memo != self.ignore_memo:
            self.ignore_memo = memo
            self.index_dirty = True

    def remember_search(self, key: tuple, found: list) -> None:
        if self.writable:
            self.searches[key] = found
            self.index_dirty = True

    def forget_searches(self) -> None:
        """A skipped file changed: earlier search results no longer hold."""
        if self.searches and self.writable:
            self.searches.clear()
            self.index_dirty = True

    def recall(self, key: tuple, default: Any) -> Any:
        return self.memo.get(key, default)

    def remember(self, key: tuple, value: Any) -> None:
        """Keep an answer of the project layer for later runs (see Project.memo)."""
        if self.writable and self.memo.get(key) != value:
            self.memo.pop(key, None)
            self.memo[key] = value
            self.index_dirty = True

    def remember_result(self, state: bytes, result: Any) -> None:
        if self.writable:
            self.results.pop(state, None)
            self.results[state] = result
            while len(self.results) > MAX_RESULTS:
                del self.results[next(iter(self.results))]
            self.index_dirty = True

    def save(self) -> str | None:
        """Write what changed; returns a warning instead of raising."""
        if not (self.writable and (self.index_dirty or self.facts_dirty)):
            return None
        try:
            os.makedirs(self.dir, exist_ok=True)
            ignore = os.path.join(self.dir, ".gitignore")
            if not os.path.exists(ignore):
                with open(ignore, "w") as fh:
                    fh.write("# Automatically created by celerylint.\n*\n")
                with open(os.path.join(self.dir, "CACHEDIR.TAG"), "w") as fh:
                    fh.write(_TAG)
            if self.facts_dirty:
                stored = self._stored_facts()
                if self._main_read and len(self._delta) <= max(64, len(stored) // 10):
                    self._write(self.delta_path, self._delta)
                else:  # fold the delta in
                    present = self.files.keys()
                    self._write(self.facts_path, {rel: v for rel, v in stored.items() if rel in present})
                    self._delta = {}
                    self._main_read = True
                    if os.path.exists(self.delta_path):
                        os.unlink(self.delta_path)
            if len(self.memo) > MAX_MEMO:
                self.memo = dict(list(self.memo.items())[-MAX_MEMO:])
            self._write(self.index_path, (self.files, self.searches, self.ignore_memo, self.results, self.memo))
            keep = {self.index_path, self.facts_path, self.delta_path}
            for name in os.listdir(self.dir):
                path = os.path.join(self.dir, name)
                if name.endswith(".pickle") and path not in keep:
                    os.unlink(path)
        except OSError as exc:
            return f"could not write the cache in {self.dir}: {exc.strerror or exc}"
        self.index_dirty = self.facts_dirty = False
        return None

    def _write(self, path: str, value: Any) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".cache-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)


def _read(path: str) -> Any:
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, truncated, or written by another version
        return None


_ATOMS = frozenset({int, bool, float, bytes, type(None)})


def shared(value: Any, seen: dict) -> Any:
    """`value` with equal strings, tuples and frozensets replaced by one object each
    (across everything passed with the same `seen`). Pickle writes a shared object
    once and reads it back once: facts are mostly the same few names (`objects`,
    `("logger", "info")`) over and over, so a cache of them is a third of the size and
    loads up to three times faster. A container met twice in `value` (a function's
    `unguarded_refs` is often its `refs`) is walked once."""
    done: dict[int, tuple[Any, Any]] = {}  # id -> (the container, kept alive; its replacement)

    def walk(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return seen.setdefault(value, value)
        if kind in _ATOMS:
            return value
        met = done.get(id(value))
        if met is not None:
            return met[1]
        shareable = True
        if kind is tuple:
            new = tuple([walk(item) for item in value])
        elif kind is frozenset:
            new = frozenset([walk(item) for item in value])
        elif isinstance(value, ValueBase):  # equal only to values of its own type: shareable
            new = kind(*[walk(item) for item in value])
        elif kind is dict:
            new, shareable = {walk(k): walk(v) for k, v in value.items()}, False
        elif isinstance(value, tuple):  # a NamedTuple of facts (equal to any tuple of its fields: not shared)
            new, shareable = kind(*[walk(item) for item in value]), False
        else:
            return value
        if shareable:
            try:
                new = seen.setdefault(new, new)
            except TypeError:  # holds something unhashable (a dict)
                pass
        done[id(value)] = (value, new)
        return new

    return walk(value)
