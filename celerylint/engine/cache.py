"""The cache under `<root>/.celerylint_cache/`, in pickle files keyed by the
celerylint version, the facts format and the configuration fingerprint (a change of
any starts a fresh cache):

- `index-<key>.pickle`, small: each file's stat, content digest and prefilter
  decision; the results of byte searches over skipped files; the walk's ignore
  decisions; and the results of the last runs by the state of the whole project;
- `facts-<key>-<NN>.pickle`, 16 shards by path: each file's facts, under the digest
  of the content they were extracted from (or of an earlier content with equal facts).
  A shard is read only when a run needs the facts of a file in it (a run whose project
  state is unchanged reuses its result instead; a pre-commit run that changed a few
  files compares their facts with those of a few shards), and only the shards holding
  facts that changed are written again.

A file's entry is reused when its mtime, size and inode are unchanged, or failing that
when its content digest is.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import zlib
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
FACT_SHARDS = 16


class FileState(NamedTuple):
    """What is known of one file without parsing it."""

    mtime_ns: int
    size: int
    inode: int
    digest: bytes
    kind: str  # PARSE, SKIPPED or SKIPPED_ENQUEUES
    defines_tenancy: bool  # may define a tenant-scoped model (prefilter.tenancy_probe)
    imports: tuple  # the modules it may import (prefilter.imported_modules)
    # Its facts are stored under this digest: its own, or that of an earlier content with
    # the same facts (a comment changed: see `carry_facts`), so they need no rewriting.
    facts_digest: bytes


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
        self.facts_paths = [os.path.join(self.dir, f"facts-{key}-{shard:02d}.pickle") for shard in range(FACT_SHARDS)]
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
        # shard -> {rel -> (digest, facts)}, each read when first asked for
        self._shards: dict[int, dict[str, tuple[bytes, FileFacts]]] = {}
        self._dirty_shards: set[int] = set()  # to be written
        self._shared: dict = {}  # value -> the one object stored for it (see `shared`)
        self.index_dirty = False
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

    def _stored_facts(self, shard: int) -> dict[str, tuple[bytes, FileFacts]]:
        stored = self._shards.get(shard)
        if stored is None:
            stored = _read(self.facts_paths[shard]) if self.enabled else None
            self._shards[shard] = stored = stored if isinstance(stored, dict) else {}
        return stored

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
            return self._keep(rel, state._replace(mtime_ns=st.st_mtime_ns, size=st.st_size, inode=st.st_ino))
        return None

    def store(self, rel: str, st: os.stat_result, content_digest: bytes, kind: str,
              defines_tenancy: bool, imports: tuple) -> FileState:
        return self._keep(rel, FileState(st.st_mtime_ns, st.st_size, st.st_ino, content_digest, kind, defines_tenancy,
                                         shared(imports, self._shared), content_digest))

    def carry_facts(self, rel: str, state: FileState, earlier: FileState) -> FileState:
        """`state`, a new content of the file whose facts were found equal to those of
        `earlier`: it takes their stored facts as its own."""
        return self._keep(rel, state._replace(facts_digest=earlier.facts_digest))

    def _keep(self, rel: str, state: FileState) -> FileState:
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
            self._dirty_shards.update(_shard(rel) for rel in stale)  # their facts go too

    # -- facts
    def facts(self, rel: str, state: FileState) -> FileFacts | None:
        """The facts of the file in this state, if stored."""
        stored = self._stored_facts(_shard(rel)).get(rel)
        return stored[1] if stored is not None and stored[0] == state.facts_digest else None

    def store_facts(self, rel: str, state: FileState, facts: FileFacts, is_shared: bool = False) -> None:
        """Facts just extracted from the file in this state: their equal strings, tuples,
        frozensets and values become shared objects first (see `shared`), unless the
        worker that extracted them did that already (`is_shared`; see pool.ParsePool)."""
        if self.writable:
            shard = _shard(rel)
            self._stored_facts(shard)[rel] = (state.facts_digest, facts if is_shared else shared(facts, self._shared))
            self._dirty_shards.add(shard)

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
        if not (self.writable and (self.index_dirty or self._dirty_shards)):
            return None
        try:
            os.makedirs(self.dir, exist_ok=True)
            ignore = os.path.join(self.dir, ".gitignore")
            if not os.path.exists(ignore):
                with open(ignore, "w") as fh:
                    fh.write("# Automatically created by celerylint.\n*\n")
                with open(os.path.join(self.dir, "CACHEDIR.TAG"), "w") as fh:
                    fh.write(_TAG)
            present = self.files.keys()
            for shard in sorted(self._dirty_shards):
                kept = {rel: v for rel, v in self._stored_facts(shard).items() if rel in present}
                if kept:
                    self._write(self.facts_paths[shard], kept)
                elif os.path.exists(self.facts_paths[shard]):
                    os.unlink(self.facts_paths[shard])
            if len(self.memo) > MAX_MEMO:
                self.memo = dict(list(self.memo.items())[-MAX_MEMO:])
            self._write(self.index_path, (self.files, self.searches, self.ignore_memo, self.results, self.memo))
            keep = {self.index_path, *self.facts_paths}
            for name in os.listdir(self.dir):
                path = os.path.join(self.dir, name)
                if name.endswith(".pickle") and path not in keep:
                    os.unlink(path)
        except OSError as exc:
            return f"could not write the cache in {self.dir}: {exc.strerror or exc}"
        self.index_dirty = False
        self._dirty_shards.clear()
        return None

    def _write(self, path: str, value: Any) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".cache-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)


def _shard(rel: str) -> int:
    """The facts shard of the file at `rel` (the same in every process)."""
    return zlib.crc32(rel.encode("utf-8", "surrogatepass")) % FACT_SHARDS


def _read(path: str) -> Any:
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, truncated, or written by another version
        return None


_ATOMS = frozenset({int, bytes, type(None)})
# Numbers equal to numbers of other types (True == 1 == 1.0): a value holding one is never
# shared, else Num(True) or Num(1.0) could come back as an equal Num(1).
_LOOSE_NUMBERS = frozenset({bool, float, complex})


def shared(value: Any, seen: dict) -> Any:
    """`value` with equal strings, tuples and frozensets replaced by one object each
    (across everything passed with the same `seen`). Pickle writes a shared object
    once and reads it back once: facts are mostly the same few names (`objects`,
    `("logger", "info")`) over and over, so a cache of them is a third of the size and
    loads up to three times faster. A container met twice in `value` (a function's
    `unguarded_refs` is often its `refs`) is walked once."""
    # id -> (the container, kept alive; its replacement; whether it holds a loose number)
    done: dict[int, tuple[Any, Any, bool]] = {}
    loose = [False]  # whether the container being rebuilt holds a loose number

    def walk(value: Any) -> Any:
        kind = type(value)
        if kind is str:
            return seen.setdefault(value, value)
        if kind in _ATOMS:
            return value
        if kind in _LOOSE_NUMBERS:
            loose[0] = True
            return value
        if not value and (kind is tuple or kind is frozenset):  # () and frozenset() are one object each
            return value
        met = done.get(id(value))
        if met is not None:
            if met[2]:
                loose[0] = True
            return met[1]
        outer = loose[0]
        loose[0] = False
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
            loose[0] = outer
            return value
        holds_loose = loose[0]
        if shareable and not holds_loose:
            try:
                new = seen.setdefault(new, new)
            except TypeError:  # holds something unhashable (a dict)
                pass
        done[id(value)] = (value, new, holds_loose)
        loose[0] = outer or holds_loose
        return new

    return walk(value)
