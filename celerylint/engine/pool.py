"""Parsing in worker processes: biggest files first, one file per message, garbage
collection off in workers, small picklable facts back.

libcst's native parser can overflow its stack (killing the process) or take
super-linear time on pathological input, so parsing never happens in the main
process: a worker that dies or overruns its time budget is replaced, and its file is
reported as SYN001 instead of taking the run down.

Workers are plain `os.fork()` children talking over pipes (length-prefixed pickles)
and leaving with `os._exit`: no multiprocessing bootstrap, so no after-fork hooks or
exit handlers of whatever else the parent process has loaded (an application
embedding us, a test run holding a Celery app) run in them. Where there is no fork
(Windows), the same protocol runs over the pipes of a `python -m celerylint.pool`
subprocess.
"""

from __future__ import annotations

import gc
import io
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import time
import warnings
from collections import deque
from typing import BinaryIO, Iterable, NamedTuple

from celerylint.engine.cache import shared
from celerylint.facts.extract import ExtractOptions, extract, syntax_error_facts
from celerylint.facts.model import FileFacts

# Seconds allowed per file: a base plus a generous allowance per byte (normal speed is
# about 1.6 s per MB; pathological input is orders of magnitude slower).
BASE_TIMEOUT = float(os.environ.get("CELERYLINT_PARSE_TIMEOUT", "20"))
TIMEOUT_PER_BYTE = 100 / 1_000_000

class ParseJob(NamedTuple):
    key: str  # what the result is filed under (the root-relative path)
    path: str
    module: str
    is_package: bool
    size: int  # bytes: the biggest files go first, and get more time
    data: bytes | None  # the content, or None to read the file
_HEADER = struct.Struct("!Q")


def parse_file(path: str, module: str, is_package: bool, options: ExtractOptions,
               data: bytes | None = None) -> FileFacts:
    if data is None:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            return syntax_error_facts(module, is_package, f"could not read file: {exc.strerror or exc}")
    try:
        return extract(data, module, is_package, options)
    except RecursionError:
        return syntax_error_facts(module, is_package, "too deeply nested to analyse", data=data)
    except Exception as exc:  # a bug of ours must not lose the rest of the run
        return syntax_error_facts(module, is_package, f"internal error while analysing this file: "
                                  f"{type(exc).__name__}: {exc}", data=data)


def _write(stream: BinaryIO, obj: object) -> None:
    _send(stream, pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))


def _read(stream: BinaryIO) -> object:
    return pickle.loads(_receive(stream))


def _send(stream: BinaryIO, payload: bytes) -> None:
    """One message: its length, then its bytes."""
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def _receive(stream: BinaryIO) -> bytes:
    (size,) = _HEADER.unpack(_read_exactly(stream, _HEADER.size))
    return _read_exactly(stream, size)


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """`size` bytes (an unbuffered stream may return fewer per read); EOFError if the
    stream ends first."""
    data = stream.read(size)
    if data is None or len(data) < size:
        parts = [data or b""]
        got = len(parts[0])
        while got < size:
            more = stream.read(size - got)
            if not more:
                raise EOFError
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


class _ResultWriter:
    """A worker's results, each a length-prefixed pickle, all pickled with one memo: a
    value sent with an earlier result is sent again as a reference to it. With `share`,
    equal values of all the worker's files are made one object first (cache.shared), so
    the facts arrive with their common names shared, ready for the cache, and cost
    less to send and to load."""

    def __init__(self, stream: BinaryIO, share: bool):
        self.stream = stream
        self.seen: dict | None = {} if share else None
        self.buffer = io.BytesIO()
        self.pickler = pickle.Pickler(self.buffer, protocol=pickle.HIGHEST_PROTOCOL)

    def send(self, facts: FileFacts) -> None:
        if self.seen is not None:
            facts = shared(facts, self.seen)
        self.buffer.seek(0)
        self.buffer.truncate()
        self.pickler.dump(facts)
        _send(self.stream, self.buffer.getvalue())


class _ResultReader:
    """The other end of a `_ResultWriter`: one unpickler, whose memo holds what earlier
    results sent, for every result of one worker."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream
        self.buffer = io.BytesIO()
        self.unpickler = pickle.Unpickler(self.buffer)

    def receive(self) -> FileFacts:
        payload = _receive(self.stream)
        self.buffer.seek(0)
        self.buffer.truncate()
        self.buffer.write(payload)
        self.buffer.seek(0)
        return self.unpickler.load()


def _serve(jobs: BinaryIO, results: BinaryIO, options: ExtractOptions, share: bool) -> None:
    """A worker's loop: a job in, its facts out, until None or the end of the pipe."""
    gc.disable()
    writer = _ResultWriter(results, share)
    while True:
        try:
            job = _read(jobs)
        except EOFError:
            return
        if job is None:
            return
        writer.send(parse_file(job.path, job.module, job.is_package, options, job.data))


def preload() -> None:
    """Import, before forking, everything a worker may need, when this process has other
    threads: one of them may hold an import lock at the moment of the fork, and a child
    that then imported a module would wait for that lock forever. With everything
    imported, it imports nothing. A process with one thread (the command line) leaves
    libcst to the workers that fall back to it (newer syntax, files `ast` rejects):
    importing it costs more than a tenth of a second that most runs never need."""
    import contextlib  # noqa: F401
    import dataclasses  # noqa: F401
    import io  # noqa: F401
    import threading
    import tokenize  # noqa: F401

    if threading.active_count() == 1:
        return
    import libcst
    import libcst._nodes.internal  # noqa: F401

    libcst.parse_module("x = 1\n")  # the native parser's lazy initialisation, too


def _quiet_crashes() -> None:
    """In a worker: a crash of the native parser ends the worker and its file becomes
    SYN001 with a one-line reason; it must not also print Python's "Fatal Python error"
    dump (faulthandler, on under `-X faulthandler`, PYTHONFAULTHANDLER or pytest) into
    the user's terminal. The worker writes nothing else to stderr."""
    import faulthandler

    faulthandler.disable()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


class _Worker:
    def __init__(self, options: ExtractOptions, share: bool, inherited: list["_Worker"]):
        self.jobs_given: deque[ParseJob] = deque()  # in the order the worker does them
        self.deadline = 0.0  # for the first of them
        self.pid: int | None = None
        self.process: subprocess.Popen | None = None
        if hasattr(os, "fork"):
            job_read, job_write = os.pipe()
            result_read, result_write = os.pipe()
            with warnings.catch_warnings():
                # Python 3.12+ warns about forking a process that has threads (an
                # embedding application's): the child imports nothing (see preload)
                # and leaves with os._exit, which is what makes that safe.
                warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
                pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                try:
                    _quiet_crashes()
                    for other in inherited:  # pipes of the workers forked before this one
                        other.close_files()
                    os.close(job_write)
                    os.close(result_read)
                    _serve(os.fdopen(job_read, "rb"), os.fdopen(result_write, "wb"), options, share)
                finally:
                    os._exit(0)
            os.close(job_read)
            os.close(result_write)
            self.pid = pid
            self.jobs = os.fdopen(job_write, "wb")
            # Unbuffered: a buffer could hold the next result while select() waits on the pipe.
            self.results = os.fdopen(result_read, "rb", buffering=0)
        else:  # pragma: no cover - platforms without fork
            self.process = subprocess.Popen([sys.executable, "-m", "celerylint.engine.pool"],
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
            self.jobs, self.results = self.process.stdin, self.process.stdout
            _write(self.jobs, (options, share))
        self.reader = _ResultReader(self.results)

    def death(self) -> str:
        """" (SIGSEGV)": how the worker ended, once its pipe closed; "" if unknown."""
        if self.pid is None:
            return ""
        deadline = time.monotonic() + 1
        while time.monotonic() < deadline:
            try:
                done, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return ""
            if done:
                self.pid = None  # reaped
                if os.WIFSIGNALED(status):
                    try:
                        return f" ({signal.Signals(os.WTERMSIG(status)).name})"
                    except ValueError:
                        return f" (signal {os.WTERMSIG(status)})"
                return f" (exit status {os.WEXITSTATUS(status)})" if os.WIFEXITED(status) else ""
            time.sleep(0.005)
        return ""

    def fileno(self) -> int:
        return self.results.fileno()

    def give(self, job: ParseJob) -> None:
        if not self.jobs_given:
            self.deadline = _deadline(job)
        self.jobs_given.append(job)
        try:
            _write(self.jobs, job)
        except OSError:  # it died: its results pipe tells, and the job goes to another worker
            pass

    def receive(self) -> tuple[ParseJob, FileFacts]:
        """The first given job and its facts (the next job's time starts now)."""
        facts = self.reader.receive()
        job = self.jobs_given.popleft()
        if self.jobs_given:
            self.deadline = _deadline(self.jobs_given[0])
        return job, facts  # type: ignore[return-value]

    def close_files(self) -> None:
        for stream in (self.jobs, self.results):
            try:
                stream.close()
            except OSError:
                pass

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                _write(self.jobs, None)
            except OSError:
                kill = True
        if kill:
            self._signal()
        self.close_files()
        self._reap()

    def _signal(self) -> None:
        try:
            if self.pid is not None:
                os.kill(self.pid, signal.SIGKILL)
            elif self.process is not None:
                self.process.kill()
        except OSError:
            pass

    def _reap(self) -> None:
        if self.process is not None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            return
        if self.pid is None:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                done, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.005)
        self._signal()
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _deadline(job: ParseJob) -> float:
    return time.monotonic() + BASE_TIMEOUT + job.size * TIMEOUT_PER_BYTE


class ParsePool:
    """Workers parsing the submitted jobs, each given up to `WINDOW` jobs ahead so that it
    never waits for this process to take a result and send the next job. Jobs may be
    submitted while this process does other work (the survey streams the files it
    selects), as long as it calls `poll` now and then; `collect` waits for the rest."""

    WINDOW = 3

    def __init__(self, jobs: int, options: ExtractOptions = ExtractOptions(), share: bool = False):
        self.jobs = max(1, jobs)
        self.options = options
        self.share = share  # facts for the cache: see _ResultWriter
        preload()
        self.workers: list[_Worker] = []
        self.queue: list[ParseJob] = []  # not given yet; pop() takes the last
        self.results: dict = {}

    def __enter__(self) -> "ParsePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def _new_worker(self) -> _Worker:
        worker = _Worker(self.options, self.share, list(self.workers))
        self.workers.append(worker)
        return worker

    def parse(self, jobs: Iterable[ParseJob]) -> dict:
        """key -> FileFacts for every job (and for jobs submitted before)."""
        for job in jobs:
            self.submit(job)
        return self.collect()

    def submit(self, job: ParseJob) -> None:
        self.queue.append(job)
        while len(self.workers) < self.jobs:
            self._new_worker()
        self._give()

    def poll(self) -> None:
        """Take the results that are ready, and give the workers more jobs; never waits."""
        if any(w.jobs_given for w in self.workers):
            self._take(0.0)
            self._give()

    def collect(self) -> dict:
        """key -> FileFacts of every job submitted since the last collect, biggest files
        first among those not given yet (the long ones must not come last)."""
        self.queue.sort(key=lambda j: j.size)
        self._give()
        while self.queue or any(w.jobs_given for w in self.workers):
            busy = [w for w in self.workers if w.jobs_given]
            self._take(max(0.0, min(w.deadline for w in busy) - time.monotonic()))
            self._give()
        results, self.results = self.results, {}
        return results

    def _give(self) -> None:
        for depth in range(1, self.WINDOW + 1):
            for worker in self.workers:
                if not self.queue:
                    return
                if len(worker.jobs_given) < depth:
                    worker.give(self.queue.pop())

    def _take(self, timeout: float) -> None:
        busy = [w for w in self.workers if w.jobs_given]
        ready, _, _ = select.select(busy, [], [], timeout)
        for worker in busy:
            failure = None
            if worker in ready:
                try:
                    job, facts = worker.receive()
                    self.results[job.key] = facts
                    continue
                except (EOFError, OSError, pickle.UnpicklingError):
                    failure = f"the parser crashed on this file{worker.death()} (it is probably nested too deeply)"
            elif time.monotonic() > worker.deadline:
                failure = "the parser took too long on this file (pathologically nested or repetitive code?)"
            else:
                continue
            job = worker.jobs_given.popleft()
            self.results[job.key] = syntax_error_facts(job.module, job.is_package, failure)
            self.queue.extend(reversed(worker.jobs_given))  # given after it: to another worker, next
            worker.jobs_given.clear()
            self.workers.remove(worker)
            worker.stop(kill=True)
            self._new_worker()


if __name__ == "__main__":  # pragma: no cover - the worker of platforms without fork
    _stdin, _stdout = sys.stdin.buffer, sys.stdout.buffer
    _options, _share = _read(_stdin)  # type: ignore[misc]
    _serve(_stdin, _stdout, _options, _share)
