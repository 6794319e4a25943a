"""The facts cache: one pickle file under `<root>/.celerylint_cache/`, keyed by the
celerylint version, the facts format and the configuration fingerprint (a change of
any starts a fresh cache). An entry is reused when the file's mtime, size and inode are unchanged,
or failing that when its content hash is."""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from typing import Any, NamedTuple

from celerylint.facts.model import ValueBase

CACHE_DIR = ".celerylint_cache"
# What the prefilter decided for a content: parse it, skip it, or skip it but remember
# that it enqueues tasks (the tenant rules may load it).
PARSE = "parse"
SKIPPED = "skipped"
SKIPPED_ENQUEUES = "skipped-enqueues"


class Decision(NamedTuple):
    """What is known of one file content: the prefilter's decision, the facts (None
    until parsed: skipped files get them once the index loads them), and whether it may
    define a tenant-scoped model."""

    kind: str  # PARSE, SKIPPED or SKIPPED_ENQUEUES
    facts: Any  # FileFacts or None
    defines_tenancy: bool


class CacheEntry(NamedTuple):
    mtime_ns: int
    size: int
    inode: int
    digest: bytes
    decision: Decision

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
        self.path = os.path.join(self.dir, f"facts-{key}.pickle")
        self.writable = enabled and not read_only  # read_only: entries are used, nothing is stored
        self.entries: dict[str, CacheEntry] = {}  # by root-relative path
        # Results of byte searches over the skipped files (needles -> files that matched),
        # valid while no skipped file changes; see `searches_valid`.
        self.searches: dict[tuple, list] = {}
        # The walk's ignore decisions and the ignore files they were made with (discover.py).
        self.ignore_memo: dict = {}
        self._shared: dict = {}  # value -> the one object stored for it (see `shared`)
        self.dirty = False
        if enabled:
            self._load()

    def _load(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                entries, searches, ignore_memo = pickle.load(fh)
        except Exception:  # missing, truncated, or written by another version
            return
        if isinstance(entries, dict) and isinstance(searches, dict) and isinstance(ignore_memo, dict):
            self.entries = entries
            self.searches = searches
            self.ignore_memo = ignore_memo

    def by_stat(self, rel: str, st: os.stat_result) -> CacheEntry | None:
        """The cached entry when the file's stat is unchanged, else None."""
        entry = self.entries.get(rel)
        if entry is not None and entry.mtime_ns == st.st_mtime_ns and entry.size == st.st_size \
                and entry.inode == st.st_ino:
            return entry
        return None

    def by_digest(self, rel: str, st: os.stat_result, content_digest: bytes) -> Decision | None:
        entry = self.entries.get(rel)
        if entry is not None and entry.digest == content_digest:
            self.store(rel, st, content_digest, entry.decision)
            return entry.decision
        return None

    def remember_ignores(self, memo: dict) -> None:
        if self.writable and memo != self.ignore_memo:
            self.ignore_memo = memo
            self.dirty = True

    def remember_search(self, key: tuple, found: list) -> None:
        if self.writable:
            self.searches[key] = found
            self.dirty = True

    def store(self, rel: str, st: os.stat_result, content_digest: bytes, decision: Decision) -> None:
        if not self.writable:
            return
        self.entries[rel] = CacheEntry(st.st_mtime_ns, st.st_size, st.st_ino, content_digest, decision)
        self.dirty = True

    def store_new(self, rel: str, st: os.stat_result, content_digest: bytes, decision: Decision) -> None:
        """`store` for facts just extracted: their equal strings, tuples, frozensets and
        values become shared objects first (see `shared`)."""
        if self.writable:
            self.store(rel, st, content_digest, shared(decision, self._shared))

    def forget_missing(self, present: set[str]) -> None:
        stale = [rel for rel in self.entries if rel not in present]
        for rel in stale:
            del self.entries[rel]
        if stale:
            self.dirty = True
            self.searches.clear()

    def forget_searches(self) -> None:
        """A skipped file changed: earlier search results no longer hold."""
        if self.searches:
            self.searches.clear()
            self.dirty = True

    def save(self) -> str | None:
        """Write the cache if it changed; returns a warning instead of raising."""
        if not (self.writable and self.dirty):
            return None
        try:
            os.makedirs(self.dir, exist_ok=True)
            ignore = os.path.join(self.dir, ".gitignore")
            if not os.path.exists(ignore):
                with open(ignore, "w") as fh:
                    fh.write("# Automatically created by celerylint.\n*\n")
                with open(os.path.join(self.dir, "CACHEDIR.TAG"), "w") as fh:
                    fh.write(_TAG)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".facts-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                pickle.dump((self.entries, self.searches, self.ignore_memo), fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.path)
            for name in os.listdir(self.dir):
                if name.startswith("facts-") and name.endswith(".pickle") and os.path.join(self.dir, name) != self.path:
                    os.unlink(os.path.join(self.dir, name))
        except OSError as exc:
            return f"could not write the cache in {self.dir}: {exc.strerror or exc}"
        self.dirty = False
        return None


def shared(value: Any, seen: dict) -> Any:
    """`value` with equal strings, tuples and frozensets replaced by one object each
    (across everything passed with the same `seen`). Pickle writes a shared object
    once and reads it back once: facts are mostly the same few names (`objects`,
    `("logger", "info")`) over and over, so a cache of them is a third of the size and
    loads several times faster."""
    kind = type(value)
    if kind is str:
        return seen.setdefault(value, value)
    if kind is tuple or kind is frozenset:
        value = kind(shared(item, seen) for item in value)
    elif isinstance(value, ValueBase):  # equal only to values of its own type: shareable
        value = kind(*[shared(item, seen) for item in value])
    elif isinstance(value, tuple):  # a NamedTuple of facts (equal to any tuple of its fields: not shared)
        return kind(*[shared(item, seen) for item in value])
    elif kind is dict:
        return {shared(k, seen): shared(v, seen) for k, v in value.items()}
    else:
        return value
    try:
        return seen.setdefault(value, value)
    except TypeError:  # holds something unhashable (a dict)
        return value

