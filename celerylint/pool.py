"""Parsing in worker processes: biggest files first, one file per message, garbage
collection off in workers, small picklable facts back.

libcst's native parser can overflow its stack (killing the process) or take
super-linear time on pathological input, so parsing never happens in the main
process: a worker that dies or overruns its time budget is replaced, and its file is
reported as SYN001 instead of taking the run down.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from multiprocessing.connection import wait
from typing import Iterable

from celerylint.facts import ExtractOptions, FileFacts, extract, syntax_error_facts

# Seconds allowed per file: a base plus a generous allowance per byte (normal speed is
# about 1.6 s per MB; pathological input is orders of magnitude slower).
BASE_TIMEOUT = float(os.environ.get("CELERYLINT_PARSE_TIMEOUT", "20"))
TIMEOUT_PER_BYTE = 100 / 1_000_000

Job = tuple  # (key, path, module, is_package, size)


def parse_file(path: str, module: str, is_package: bool, options: ExtractOptions) -> FileFacts:
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


def _worker(conn, options: ExtractOptions) -> None:  # pragma: no cover - runs in the child
    gc.disable()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        _, path, module, is_package, _ = job
        conn.send(parse_file(path, module, is_package, options))


class _Worker:
    def __init__(self, ctx, options: ExtractOptions):
        parent, child = ctx.Pipe()
        self.conn = parent
        self.process = ctx.Process(target=_worker, args=(child, options), daemon=True)
        self.process.start()
        child.close()
        self.job: Job | None = None
        self.deadline = 0.0

    def give(self, job: Job) -> None:
        self.job = job
        self.deadline = time.monotonic() + BASE_TIMEOUT + job[4] * TIMEOUT_PER_BYTE
        self.conn.send(job)

    def stop(self, kill: bool = False) -> None:
        try:
            if kill:
                self.process.kill()
            else:
                self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.conn.close()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class ParsePool:
    def __init__(self, jobs: int, options: ExtractOptions = ExtractOptions()):
        self.jobs = max(1, jobs)
        self.options = options
        methods = multiprocessing.get_all_start_methods()
        self.ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        self.workers: list[_Worker] = []
        self.failures = 0

    def __enter__(self) -> "ParsePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def parse(self, jobs: Iterable[Job]) -> dict:
        """key -> FileFacts for every job."""
        queue = sorted(jobs, key=lambda j: -j[4])
        results: dict = {}
        if not queue:
            return results
        wanted = min(self.jobs, len(queue))
        while len(self.workers) < wanted:
            self.workers.append(_Worker(self.ctx, self.options))
        queue.reverse()  # pop() from the end gives the biggest first
        busy: list[_Worker] = []
        idle = list(self.workers)
        while queue or busy:
            while queue and idle:
                worker = idle.pop()
                worker.give(queue.pop())
                busy.append(worker)
            now = time.monotonic()
            timeout = max(0.0, min(w.deadline for w in busy) - now)
            ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=timeout)
            for worker in list(busy):
                job = worker.job
                assert job is not None
                if worker.conn in ready:
                    try:
                        results[job[0]] = worker.conn.recv()
                        worker.job = None
                        busy.remove(worker)
                        idle.append(worker)
                        continue
                    except (EOFError, OSError):
                        pass
                died = worker.process.sentinel in ready and not worker.process.is_alive()
                timed_out = time.monotonic() > worker.deadline
                if died or timed_out or worker.conn in ready:
                    reason = ("the parser took too long on this file (pathologically nested or repetitive code?)"
                              if timed_out and not died else
                              "the parser crashed on this file (it is probably nested too deeply)")
                    results[job[0]] = syntax_error_facts(job[2], job[3], reason)
                    self.failures += 1
                    busy.remove(worker)
                    self.workers.remove(worker)
                    worker.stop(kill=True)
                    replacement = _Worker(self.ctx, self.options)
                    self.workers.append(replacement)
                    idle.append(replacement)
        return results
