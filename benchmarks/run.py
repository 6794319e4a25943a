#!/usr/bin/env python3
"""Time celerylint against the parse floor, in one run, on generated and real projects.

    python benchmarks/run.py                           # generated projects of 1000 and 5000 modules
    python benchmarks/run.py --modules 1000 --real /tmp/real/saleor
    python benchmarks/run.py --real /tmp/real/saleor   # only the real checkout
    python benchmarks/run.py --json results.json

For every project, each measurement repeated --repeat times (median reported):

  floor      one process walks the project, reads every .py file and ast.parse()s it
  cold       python -m celerylint check PROJECT --no-cache --format json
  populate   the same without --no-cache, after deleting PROJECT/.celerylint_cache
  warm       the same again, cache populated
  pre-commit 5 task modules changed (a comment appended), then
             python -m celerylint check F1..F5 --format json, cache warm

plus the peak RSS of each analyzer run (os.wait4's ru_maxrss: the largest single
process of the run's process tree, workers included), and the verdicts against the
targets: cold <= 3x floor, warm <= 0.3x floor, pre-commit < 1.5 s.

Exit status 0, also when a target is missed and when the analyzer reports findings
(its exit status 1). 1 when something crashed: the analyzer exited with anything but
0/1 (2 = usage/config/internal error), printed no JSON, timed out, or the harness
itself failed. Analyzer errors are printed loudly on stderr as they happen.
"""

from __future__ import annotations

import argparse
import ast
import base64
import datetime as _dt
import json
import os
import platform
import re
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
GENERATED = os.path.join(HERE, "generated")
JOURNAL = os.path.join(GENERATED, "_pending_restore.json")
CACHE_DIR = ".celerylint_cache"
EDIT_MARKER = "# celerylint benchmark edit"

TARGET_COLD = 3.0  # x floor
TARGET_WARM = 0.3  # x floor
TARGET_PRECOMMIT = 1.5  # seconds
# The tenant-heavy generated project has stricter targets (architecture issue, points 5/6).
TARGETS = {
    "default": {"cold": TARGET_COLD, "warm": TARGET_WARM, "precommit": TARGET_PRECOMMIT},
    "tenant-heavy": {"cold": 1.5, "warm": 0.1, "precommit": 0.5},
}
TARGET_WORKER_RSS_MB = 300  # peak RSS of any one parse worker, on any file
RSS_PROBE_INTERVAL = 0.01  # seconds between two looks at /proc during the memory probe

# Directories the floor does not walk: the analyzer's default excludes (as ruff's).
EXCLUDED_DIRS = frozenset({
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".mypy_cache", ".nox",
    ".pants.d", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", ".celerylint_cache",
    "__pypackages__", "__pycache__", "_build", "buck-out", "build", "dist",
    "node_modules", "site-packages", "venv",
})


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def loud(msg: str) -> None:
    bar = "!" * 78
    print(f"\n{bar}\n!! {msg}\n{bar}\n", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- file walk and floor

def walk_py(root: str) -> list[str]:
    """Every .py file under root, skipping the excluded directories; sorted."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in EXCLUDED_DIRS)
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".py")]
    return out


def floor_child(root: str) -> None:
    """The floor itself (run in a fresh interpreter): walk, read, ast.parse; print JSON."""
    t0 = time.perf_counter()
    files = walk_py(root)
    bad = 0
    for path in files:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
            ast.parse(data, path)
        except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
            bad += 1
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "files": len(files), "unparsable": bad}))


def cache_dirs(root: str) -> set[str]:
    """Every analyzer cache directory in the tree (a run whose first path lies under a
    nested root marker, e.g. paperless-ngx's src/manage.py, keeps its cache there)."""
    found = set()
    for d, dirs, _ in os.walk(root):
        if CACHE_DIR in dirs:
            found.add(os.path.join(d, CACHE_DIR))
        dirs[:] = [x for x in dirs if x not in EXCLUDED_DIRS]
    return found


def project_stats(root: str) -> dict:
    """Untimed: counts, and it pulls every file into the page cache before timing."""
    files = walk_py(root)
    lines = size = 0
    for path in files:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        lines += data.count(b"\n")
        size += len(data)
    return {"files": len(files), "lines": lines, "bytes": size}


# ----------------------------------------------------------------------------- child processes

class Run:
    def __init__(self, wall: float, exit: int, rss_kb: int, cpu: float, stdout: bytes, stderr: bytes,
                 timed_out: bool):
        self.wall, self.exit, self.rss_kb, self.cpu = wall, exit, rss_kb, cpu
        self.stdout, self.stderr, self.timed_out = stdout, stderr, timed_out
        self.tree: dict | None = None  # TreeSampler.stop() of a memory probe
        # The harness's own peak RSS when it spawned the child. Linux carries the spawning
        # process's high-water mark into the child's ru_maxrss (exec records the old mm's
        # peak, and after fork/vfork that is the parent's), so a child's ru_maxrss is never
        # below this: a figure at this level may be the harness's, not the analyzer's.
        self.harness_kb = 0


class TreeSampler(threading.Thread):
    """The peak RSS of every process of a process tree, for the memory probe.

    Every `interval` seconds it lists the descendants of `root` (from /proc/*/stat's
    parent pids) and reads each one's VmHWM from /proc/<pid>/status: the kernel's own
    high-water mark of the process's resident set, so one look at a process after its
    peak gives the exact peak, however briefly it lasted. A process is keyed by pid and
    start time (pids are reused). What it can miss: a process whose peak falls in the
    last `interval` of its life (it exits before the next look) or that lives less than
    `interval`. Pool workers live for the whole run, so their peaks are exact; the
    harness cross-checks the largest peak seen against os.wait4's ru_maxrss."""

    def __init__(self, root: int, interval: float = RSS_PROBE_INTERVAL):
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.done = threading.Event()
        self.peaks: dict[tuple, dict] = {}  # (pid, start time) -> {"pid", "ppid", "depth", "kb", "name"}
        self.samples = 0

    @staticmethod
    def _stat(pid: str) -> tuple[int, int, str] | None:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            return None
        close = data.rfind(b")")
        fields = data[close + 2:].split()
        return int(fields[1]), int(fields[19]), data[data.find(b"(") + 1:close].decode("utf-8", "replace")

    @staticmethod
    def _hwm_kb(pid: int) -> int | None:
        try:
            with open(f"/proc/{pid}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return None  # a zombie: no memory any more

    def sample(self) -> None:
        info = {}
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = self._stat(name)
                if st is not None:
                    info[int(name)] = st
                    children.setdefault(st[0], []).append(int(name))
        if self.root not in info:
            return
        stack = [(self.root, 0)]
        while stack:
            pid, depth = stack.pop()
            kb = self._hwm_kb(pid)
            ppid, start, comm = info[pid]
            if kb is not None:
                entry = self.peaks.setdefault((pid, start), {"pid": pid, "ppid": ppid, "depth": depth, "kb": 0,
                                                             "name": comm})
                entry["kb"] = max(entry["kb"], kb)
            stack += [(c, depth + 1) for c in children.get(pid, ())]
        self.samples += 1

    def run(self) -> None:
        while not self.done.is_set():
            self.sample()
            self.done.wait(self.interval)

    def stop(self) -> dict:
        self.done.set()
        self.join()
        procs = sorted(self.peaks.values(), key=lambda e: (e["depth"], e["pid"]))
        main = [e["kb"] for e in procs if e["depth"] == 0]
        workers = [e["kb"] for e in procs if e["depth"] > 0]
        return {"main_kb": max(main) if main else None, "worker_kbs": workers,
                "max_worker_kb": max(workers) if workers else None, "processes": procs,
                "samples": self.samples, "interval": self.interval}


def run_child(cmd: list[str], cwd: str, env: dict, timeout: float, probe: bool = False) -> Run:
    """Run cmd; wall time around fork..reap, peak RSS and CPU from os.wait4 (which on
    Linux covers the child and every descendant it reaped, e.g. pool workers). With
    `probe`, a TreeSampler also records the peak RSS of each process of the tree
    (Run.tree)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        harness_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        sampler = TreeSampler(proc.pid) if probe else None
        if sampler is not None:
            sampler.start()
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # our child's own process group only
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            while True:
                try:
                    _, status, usage = os.wait4(proc.pid, 0)
                    break
                except InterruptedError:
                    continue
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        tree = sampler.stop() if sampler is not None else None
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(wall, proc.returncode, usage.ru_maxrss, usage.ru_utime + usage.ru_stime,
                  out.read(), err.read(), timed_out.is_set())
        run.tree = tree
        run.harness_kb = harness_kb
        return run


# ----------------------------------------------------------------------------- edits for the pre-commit run

def pick_precommit_files(root: str, count: int = 5) -> list[str]:
    """The files a pre-commit run gets: the largest files that define tasks
    (`shared_task`, `@<x>.task`), then files mentioning `.task`, then any .py file."""
    define = re.compile(rb"shared_task|^[ \t]*@[\w.]*\.task\b", re.MULTILINE)
    tiers: list[list[tuple[int, str]]] = [[], [], []]
    for path in walk_py(root):
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        tier = 0 if define.search(data) else 1 if b".task" in data else 2
        tiers[tier].append((-len(data), os.path.relpath(path, root)))
    picked: list[str] = []
    for tier in tiers:
        for _, rel in sorted(tier):
            if len(picked) < count:
                picked.append(rel)
    return picked


class Edits:
    """Append a comment to some files and put them back exactly (bytes and mtime)
    afterwards; a journal under benchmarks/generated/ survives a killed run."""

    def __init__(self, root: str, rels: list[str]):
        self.root, self.rels = root, rels
        self.originals: dict[str, tuple[bytes, int, int]] = {}

    def __enter__(self) -> "Edits":
        journal = []
        for rel in self.rels:
            path = os.path.join(self.root, rel)
            st = os.stat(path)
            with open(path, "rb") as fh:
                data = fh.read()
            self.originals[path] = (data, st.st_atime_ns, st.st_mtime_ns)
            journal.append({"path": path, "data": base64.b64encode(data).decode(),
                            "atime_ns": st.st_atime_ns, "mtime_ns": st.st_mtime_ns})
        os.makedirs(GENERATED, exist_ok=True)
        with open(JOURNAL, "w") as fh:
            json.dump(journal, fh)
        return self

    def apply(self, i: int) -> None:
        for path, (data, _, _) in self.originals.items():
            sep = b"" if data.endswith(b"\n") or not data else b"\n"
            with open(path, "wb") as fh:  # in place: same inode
                fh.write(data + sep + f"{EDIT_MARKER} {i}\n".encode())

    def __exit__(self, *exc) -> None:
        for path, (data, atime, mtime) in self.originals.items():
            with open(path, "wb") as fh:
                fh.write(data)
            os.utime(path, ns=(atime, mtime))
        try:
            os.remove(JOURNAL)
        except FileNotFoundError:
            pass


def recover_journal() -> None:
    """Undo the edits of a run that was killed before it could restore them."""
    if not os.path.exists(JOURNAL):
        return
    with open(JOURNAL) as fh:
        journal = json.load(fh)
    for item in journal:
        path = item["path"]
        original = base64.b64decode(item["data"])
        try:
            with open(path, "rb") as fh:
                current = fh.read()
        except OSError:
            continue
        tail = current[len(original):]
        if current.startswith(original) and tail.lstrip(b"\n").startswith(EDIT_MARKER.encode()):
            with open(path, "wb") as fh:
                fh.write(original)
            os.utime(path, ns=(item["atime_ns"], item["mtime_ns"]))
            log(f"restored {path} (left modified by an interrupted benchmark run)")
        elif current != original:
            log(f"warning: {path} differs from the journal and was not restored")
    os.remove(JOURNAL)


# ----------------------------------------------------------------------------- one project

def analyzer_env() -> dict:
    env = dict(os.environ)
    # Use the working tree's celerylint whatever the current directory is.
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    # Byte-compiled modules as users have them, without writing __pycache__ into the
    # repository or site-packages: every .pyc goes under benchmarks/generated/.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(GENERATED, "pycache")
    return env


def parse_report(run: Run) -> dict | None:
    try:
        data = json.loads(run.stdout.decode("utf-8", "replace"))
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    codes: dict[str, int] = {}
    for d in data.get("diagnostics", []):
        codes[d.get("code", "?")] = codes.get(d.get("code", "?"), 0) + 1
    summary = data.get("summary", {})
    return {"files": summary.get("files"), "diagnostics": summary.get("diagnostics", len(data.get("diagnostics", []))),
            "codes": dict(sorted(codes.items())), "seconds": summary.get("seconds"), "version": data.get("version"),
            "findings": sorted([d.get("code", "?"), d.get("path", "?")] for d in data.get("diagnostics", []))}


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.cmd = shlex.split(args.analyzer_cmd) if args.analyzer_cmd else [sys.executable, "-m", "celerylint",
                                                                               "check"]
        self.env = analyzer_env()
        self.errors: list[str] = []

    def analyzer(self, name: str, kind: str, root: str, paths: list[str], cache: bool, probe: bool = False) -> dict:
        extra = [] if cache else ["--no-cache"]
        if self.args.jobs:
            extra += ["--jobs", str(self.args.jobs)]
        cmd = self.cmd + paths + extra + ["--format", "json"]
        run = run_child(cmd, root, self.env, self.args.timeout, probe=probe)
        report = parse_report(run)
        result = {"wall": run.wall, "rss_kb": run.rss_kb, "cpu": run.cpu, "exit": run.exit, "report": report,
                  "harness_kb": run.harness_kb}
        if run.tree is not None:
            result["tree"] = run.tree
        problem = None
        if run.timed_out:
            problem = f"timed out after {self.args.timeout:.0f} s"
        elif run.exit not in (0, 1):
            problem = f"exit status {run.exit}"
        elif report is None:
            problem = "no JSON on stdout"
        if problem:
            result["error"] = problem
            msg = (f"ANALYZER ERROR [{name} / {kind}]: {problem}\n!! command: {shlex.join(cmd)} (cwd {root})\n"
                   f"!! stderr: {run.stderr.decode('utf-8', 'replace').strip()[-2000:] or '(empty)'}")
            if report is None and run.stdout:
                msg += f"\n!! stdout: {run.stdout.decode('utf-8', 'replace').strip()[:500]}"
            loud(msg)
            self.errors.append(f"{name} / {kind}: {problem}")
        elif run.stderr.strip() and self.args.verbose:
            log(f"  [{kind}] stderr: {run.stderr.decode('utf-8', 'replace').strip()[-500:]}")
        return result

    @staticmethod
    def summarise(runs: list[dict]) -> dict:
        ok = [r for r in runs if "error" not in r]
        return {
            "runs": runs,
            "median": statistics.median(r["wall"] for r in ok) if ok else None,
            "median_rss_mb": statistics.median(r["rss_kb"] for r in ok) / 1024 if ok else None,
            "max_rss_mb": max(r["rss_kb"] for r in ok) / 1024 if ok else None,
            # the largest figure is no more than the harness's own peak: it may be the harness's
            "rss_masked": bool(ok) and max(r["rss_kb"] for r in ok) <= max(r["harness_kb"] for r in ok) + 1024,
            "median_cpu": statistics.median(r["cpu"] for r in ok) if ok else None,
            "error": next((r["error"] for r in runs if "error" in r), None),
            "report": ok[-1]["report"] if ok else None,
        }

    def floor(self, root: str) -> dict:
        run = run_child([sys.executable, os.path.abspath(__file__), "--floor-child", root], root,
                        dict(os.environ), self.args.timeout)
        if run.exit != 0:
            raise RuntimeError(f"floor child failed: {run.stderr.decode('utf-8', 'replace')}")
        data = json.loads(run.stdout)
        data["rss_kb"] = run.rss_kb
        return data

    def project(self, name: str, root: str, kind: str, manifest: dict | None) -> dict:
        """Measure one project. The repeats are interleaved (floor, cold, populate, warm,
        pre-commit; again ...) so that a noisy neighbour slows all of them alike."""
        root = os.path.abspath(root)
        log(f"\n== {name}: {root}")
        shape = (manifest or {}).get("shape", "default")
        targets = TARGETS.get(shape, TARGETS["default"])
        res: dict = {"name": name, "path": root, "kind": kind, "shape": shape, "targets": targets}
        if manifest:
            res["manifest"] = {k: manifest[k] for k in ("modules", "lines", "apps", "tasks", "beat_entries",
                                                        "orphans", "expected_findings", "expected_finding_paths",
                                                        "seed", "shape", "huge_module", "tenant_task_call_depth",
                                                        "enqueue_only_modules") if k in manifest}
        res["stats"] = project_stats(root)
        log(f"  {res['stats']['files']} .py files, {res['stats']['lines']:,} lines, "
            f"{res['stats']['bytes'] / 1e6:.1f} MB; load average {os.getloadavg()[0]:.2f}")
        cache_dir = os.path.join(root, CACHE_DIR)
        caches_before = cache_dirs(root)
        picked = pick_precommit_files(root)
        res["precommit_files"] = picked
        log(f"  pre-commit files: {', '.join(picked)}")
        kinds = ("cold", "populate", "warm", "precommit")
        runs: dict[str, list] = {k: [] for k in kinds}
        floors: list[dict] = []
        try:
            self.floor(root)  # warm-up: page cache, interpreter
            if not self.args.no_warmup:
                # from a defined state: a cache left by another celerylint build may not load
                shutil.rmtree(cache_dir, ignore_errors=True)
                warm_up = self.analyzer(name, "warm-up", root, [root], cache=True)
                log(f"  warm-up    {warm_up['wall']:.3f} s (untimed)")
                if "error" in warm_up:
                    res["error"] = warm_up["error"]
                    res["floor"] = {"median": None}
                    return res
            if not self.args.no_rss_probe:
                # Untimed: a cold run with /proc sampled every RSS_PROBE_INTERVAL s, for
                # the peak RSS of each process (the sampling costs CPU, so no timed run
                # is sampled).
                probe = self.analyzer(name, "memory probe", root, [root], cache=False, probe=True)
                res["probe"] = {k: probe.get(k) for k in ("wall", "rss_kb", "harness_kb", "tree", "error")}
                tree = probe.get("tree") or {}
                if tree.get("main_kb") is not None:
                    log(f"  memory probe {probe['wall']:.3f} s (untimed): main process {tree['main_kb'] / 1024:.0f} MB, "
                        f"{len(tree['worker_kbs'])} worker(s), largest {(tree['max_worker_kb'] or 0) / 1024:.0f} MB; "
                        f"wait4 max RSS {probe['rss_kb'] / 1024:.0f} MB; {tree['samples']} samples")
            # A pre-commit hook has run before: warm the cache *it* uses, which is not
            # PROJECT/.celerylint_cache when the files sit under a nested project root.
            seen = cache_dirs(root)
            warm_up = self.analyzer(name, "warm-up", root, picked, cache=True)
            log(f"  pre-commit warm-up {warm_up['wall']:.3f} s (untimed)")
            other = sorted(cache_dirs(root) - seen)
            if other:
                res["precommit_cache"] = other
                log(f"  note: the pre-commit run resolves another project root and keeps its cache in "
                    f"{', '.join(other)}")
            with Edits(root, picked) as edits:
                for i in range(self.args.repeat):
                    n = f"{i + 1}/{self.args.repeat}"
                    f = self.floor(root)
                    floors.append(f)
                    log(f"  floor      run {n}: {f['seconds']:.3f} s ({f['files']} files, "
                        f"{f['unparsable']} unparsable)")
                    for k in kinds:
                        if runs[k] and "error" in runs[k][-1]:
                            continue  # the remaining repeats would measure the same failure
                        if k == "populate":
                            shutil.rmtree(cache_dir, ignore_errors=True)
                        if k == "precommit":
                            edits.apply(i)
                        r = self.analyzer(name, k, root, picked if k == "precommit" else [root],
                                          cache=k != "cold")
                        runs[k].append(r)
                        rep = r["report"]
                        log(f"  {k:10} run {n}: {r['wall']:.3f} s, max RSS {r['rss_kb'] / 1024:.0f} MB, "
                            f"exit {r['exit']}"
                            + (f", {rep['files']} files, {rep['diagnostics']} findings" if rep else ""))
        finally:
            if kind == "real":  # leave a checkout as we found it
                for d in cache_dirs(root) - caches_before:
                    shutil.rmtree(d, ignore_errors=True)

        res["floor"] = {"runs": floors, "median": statistics.median(f["seconds"] for f in floors),
                        "files": floors[0]["files"], "unparsable": floors[0]["unparsable"]}
        for k in kinds:
            res[k] = self.summarise(runs[k])
        floor = res["floor"]["median"]
        ratios, verdict = {}, {}
        for key, target in (("cold", targets["cold"]), ("populate", targets["cold"]), ("warm", targets["warm"])):
            m = res[key]["median"]
            ratios[key] = m / floor if m is not None and floor else None
            verdict[key] = ratios[key] is not None and ratios[key] <= target
        m = res["precommit"]["median"]
        verdict["precommit"] = m is not None and m <= targets["precommit"]
        tree = (res.get("probe") or {}).get("tree") or {}
        if tree.get("max_worker_kb") is not None:
            verdict["worker_rss"] = tree["max_worker_kb"] / 1024 <= TARGET_WORKER_RSS_MB
            # Every process's peak is in the tree unless one was missed between two samples:
            # then wait4's figure (the largest process of the tree) is above all of them.
            seen = max([tree["main_kb"] or 0] + tree["worker_kbs"])
            if res["probe"]["rss_kb"] > max(seen * 1.03 + 1024, res["probe"]["harness_kb"] + 1024):
                loud(f"{name}: the memory probe saw at most {seen / 1024:.0f} MB per process but wait4 reports "
                     f"{res['probe']['rss_kb'] / 1024:.0f} MB: a short-lived peak was missed")
                res["probe"]["missed_peak"] = True
        res["ratios"], res["pass"] = ratios, verdict

        # consistency: the cache must not change the findings
        sigs = {k: res[k]["report"]["codes"] for k in ("cold", "populate", "warm") if res[k]["report"]}
        if len({json.dumps(v, sort_keys=True) for v in sigs.values()}) > 1:
            loud(f"{name}: findings differ between cold / populate / warm runs: {sigs}")
            res["inconsistent"] = sigs
        return res


# ----------------------------------------------------------------------------- reporting

def fmt_s(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.2f} s" if x >= 0.1 else f"{x * 1000:.0f} ms"


def mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def table(results: list[dict], meta: dict) -> str:
    cols = [r["name"] for r in results]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, fn) -> None:
        cells = []
        for r in results:
            try:
                cells.append(fn(r))
            except (KeyError, TypeError):
                cells.append("—")
        rows.append((label, cells))

    def timed(key: str, target_key: str):
        def cell(r: dict) -> str:
            s = r[key]
            if s["median"] is None:
                return f"ERROR: {s['error']}"
            target = r["targets"][target_key]
            ratio = r["ratios"][key]
            digits = 3 if abs(ratio - target) < 0.005 else 2  # never "0.30× ❌" for 0.302
            own = f" (≤ {target:g}×)" if target != TARGETS["default"][target_key] else ""
            return f"{fmt_s(s['median'])} = {ratio:.{digits}f}× {mark(ratio <= target)}{own}"
        return cell

    strict = {k: v for k, v in TARGETS["tenant-heavy"].items()}

    row(".py files: floor / analyzer", lambda r: f"{r['floor']['files']:,} / "
        + (f"{r['cold']['report']['files']:,}" if r.get("cold", {}).get("report") else "—"))
    row("lines", lambda r: f"{r['stats']['lines']:,}")
    row("floor: read + `ast.parse`, 1 process", lambda r: fmt_s(r["floor"]["median"])
        + (f" ({r['floor']['unparsable']} unparsable)" if r["floor"]["unparsable"] else ""))
    row(f"cold, `--no-cache` (≤ {TARGET_COLD:g}× floor; tenant-heavy ≤ {strict['cold']:g}×)", timed("cold", "cold"))
    row(f"cold, writing the cache (≤ {TARGET_COLD:g}×; tenant-heavy ≤ {strict['cold']:g}×)", timed("populate", "cold"))
    row(f"warm (≤ {TARGET_WARM:g}× floor; tenant-heavy ≤ {strict['warm']:g}×)", timed("warm", "warm"))
    def precommit(r: dict) -> str:
        if r["precommit"]["median"] is None:
            return f"ERROR: {r['precommit']['error']}"
        target = r["targets"]["precommit"]
        cell = f"{fmt_s(r['precommit']['median'])} {mark(r['pass']['precommit'])}"
        if target != TARGETS["default"]["precommit"]:
            cell += f" (≤ {target:g} s)"
        for d in r.get("precommit_cache", []):
            cell += f" (project root: {os.path.relpath(os.path.dirname(d), r['path'])}/)"
        return cell

    row(f"pre-commit, 5 changed files (≤ {TARGET_PRECOMMIT:g} s; tenant-heavy ≤ {strict['precommit']:g} s)",
        precommit)
    row("max RSS: cold / warm / pre-commit", lambda r: " / ".join(
        (f"{r[k]['max_rss_mb']:.0f}" + ("*" if r[k]["rss_masked"] else "")) if r[k]["max_rss_mb"] is not None else "—"
        for k in ("cold", "warm", "precommit")) + " MB")

    def worker_rss(r: dict) -> str:
        probe = r.get("probe")
        if not probe:
            return "—"
        tree = probe.get("tree") or {}
        if probe.get("error") or tree.get("main_kb") is None:
            return f"ERROR: {probe.get('error') or 'no sample'}"
        main = f"main {tree['main_kb'] / 1024:.0f} MB"
        if tree["max_worker_kb"] is None:
            return f"no worker; {main}"
        n = len(tree["worker_kbs"])
        return (f"{tree['max_worker_kb'] / 1024:.0f} MB {mark(r['pass']['worker_rss'])} "
                f"({n} worker{'s' if n != 1 else ''}; {main})" + (" ⚠ peak missed" if probe.get("missed_peak") else ""))

    row(f"peak RSS per parse worker, cold (≤ {TARGET_WORKER_RSS_MB} MB)", worker_rss)
    row("CPU time of the cold run", lambda r: fmt_s(r["cold"]["median_cpu"]))

    def findings(r: dict) -> str:
        rep = r["cold"]["report"] or r["populate"]["report"] or r["warm"]["report"]
        if rep is None:
            return "—"
        codes = ", ".join(f"{c} ×{n}" for c, n in rep["codes"].items()) or "none"
        manifest = r.get("manifest") or {}
        exp = manifest.get("expected_findings")
        if exp is not None:
            ok = all(rep["codes"].get(c, 0) == n for c, n in exp.items()) and \
                sum(rep["codes"].values()) == sum(exp.values())
            if "expected_finding_paths" in manifest:  # the same codes in the same files
                ok = ok and rep["findings"] == sorted([f["code"], f["path"]] for f in manifest["expected_finding_paths"])
            codes += f" (expected {', '.join(f'{c} ×{n}' for c, n in exp.items()) or 'none'} {mark(ok)})"
        return codes

    row("findings (cold run)", findings)
    head = "| | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols) + "\n"
    body = "".join(f"| {label} | " + " | ".join(cells) + " |\n" for label, cells in rows)
    foot = (f"\nMedian of {meta['repeat']} runs each; {meta['analyzer']} {meta['analyzer_version'] or ''}; "
            f"Python {meta['python']}; {meta['cpus']} CPUs; {meta['jobs']}; {meta['date']}; "
            f"load average {meta['load_average_at_end']} at the end. "
            "Analyzer times are wall times of the whole command (interpreter start-up included); "
            "max RSS is the largest single process of the run (workers included); peak RSS per parse worker "
            "comes from an extra untimed cold run with /proc sampled (VmHWM of each process)"
            + ("; * = not above the harness's own peak RSS, which Linux carries into a child's ru_maxrss: the "
               "analyzer's may be lower" if any(r[k].get("rss_masked") for r in results
                                                for k in ("cold", "warm", "precommit")) else "") + ".\n")
    return head + body + foot


# ----------------------------------------------------------------------------- main

def generated_project(modules: int, seed: int, orphans: int, shape: str = "default",
                      kb: int = 1024) -> tuple[str, dict]:
    # Not imported: compiling generate.py would add ~12 MB to the harness's peak RSS,
    # which every child's ru_maxrss then inherits (see Run.harness_kb).
    with open(os.path.join(HERE, "generate.py"), encoding="utf-8") as fh:
        source = fh.read()
    versions = {name: int(m.group(1)) for name in ("GENERATOR_VERSION", "TENANT_HEAVY_VERSION", "HUGE_MODULE_VERSION")
                for m in [re.search(rf"^{name} = (\d+)$", source, re.MULTILINE)] if m}
    if shape == "default":
        path = os.path.join(GENERATED, f"proj-{modules}-s{seed}")
    elif shape == "tenant-heavy":
        path = os.path.join(GENERATED, f"tenant-heavy-{modules}-s{seed}")
    else:
        path = os.path.join(GENERATED, f"huge-module-{kb}kb-s{seed}")
    manifest_path = os.path.join(path, "benchmark_manifest.json")
    try:
        with open(manifest_path) as fh:
            manifest = json.load(fh)
        if shape == "huge-module":
            same = manifest.get("huge_kb_requested") == kb
        else:
            same = manifest.get("modules_requested") == modules and manifest.get("orphans_requested") == orphans
        reuse = (manifest.get("generator_version") == versions["GENERATOR_VERSION"]
                 and manifest.get("shape", "default") == shape
                 and manifest.get("shape_version") == {"tenant-heavy": versions["TENANT_HEAVY_VERSION"],
                                                       "huge-module": versions["HUGE_MODULE_VERSION"]}.get(shape)
                 and manifest.get("seed") == seed and same)
    except (OSError, ValueError):
        reuse = False
    if reuse:
        log(f"reusing {path}")
        return path, manifest
    log(f"generating {path} ...")
    # In a child process: generating in the harness would make its RSS, which Linux
    # carries into every child's ru_maxrss (see Run.harness_kb), that of a whole project.
    subprocess.run([sys.executable, os.path.join(HERE, "generate.py"), path, "--shape", shape, "--modules",
                    str(modules), "--seed", str(seed), "--orphans", str(orphans), "--kb", str(kb)],
                   check=True, stdout=subprocess.DEVNULL)
    with open(manifest_path) as fh:
        manifest = json.load(fh)
    log(f"  {manifest['modules']} modules, {manifest['tasks']} tasks, {manifest.get('beat_entries', 1)} beat entries; "
        f"expected findings {manifest['expected_findings'] or 'none'}")
    return path, manifest


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modules", type=int, nargs="*", default=None,
                    help="sizes of the generated projects (default 1000 5000; none when --real, --tenant-heavy "
                         "or --huge-module is given)")
    ap.add_argument("--tenant-heavy", type=int, nargs="*", default=None, metavar="N",
                    help="sizes of generated tenant-heavy projects (tenancy behind service/selector chains, many "
                         "enqueue-only modules); with no value: 3000")
    ap.add_argument("--huge-module", type=int, nargs="?", const=1024, default=None, metavar="KB",
                    help="also a tiny generated project with one test module of KB kilobytes (default 1024)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--orphans", type=int, default=2, help="orphaned beat entries in generated projects")
    ap.add_argument("--real", nargs="*", default=[], metavar="PATH", help="existing checkouts to measure too")
    ap.add_argument("--jobs", type=int, default=None, help="pass --jobs N to the analyzer (default: its own)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per analyzer run")
    ap.add_argument("--analyzer-cmd", default=None,
                    help='the command before PATHS (default: "<this python> -m celerylint check")')
    ap.add_argument("--no-warmup", action="store_true", help="skip the untimed analyzer run before timing")
    ap.add_argument("--no-rss-probe", action="store_true",
                    help="skip the untimed cold run that samples each process's peak RSS")
    ap.add_argument("--json", metavar="FILE", help="also write all results as JSON ('-' for stdout)")
    ap.add_argument("--verbose", action="store_true", help="show the analyzer's stderr")
    ap.add_argument("--floor-child", metavar="ROOT", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.floor_child:
        floor_child(args.floor_child)
        return 0
    if args.tenant_heavy is not None and not args.tenant_heavy:
        args.tenant_heavy = [3000]  # --tenant-heavy without a size
    args.tenant_heavy = args.tenant_heavy or []
    if args.modules is None:
        args.modules = [] if (args.real or args.tenant_heavy or args.huge_module) else [1000, 5000]
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    # SIGTERM -> exception, so that edits are restored and caches cleaned up
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    recover_journal()
    bench = Bench(args)
    results: list[dict] = []
    crashed = False
    try:
        projects = []
        for n in args.modules:
            path, manifest = generated_project(n, args.seed, args.orphans)
            projects.append((f"generated {manifest['modules']:,} modules", path, "generated", manifest))
        for n in args.tenant_heavy:
            path, manifest = generated_project(n, args.seed, args.orphans, "tenant-heavy")
            projects.append((f"tenant-heavy {manifest['modules']:,} modules", path, "generated", manifest))
        if args.huge_module:
            path, manifest = generated_project(0, args.seed, args.orphans, "huge-module", args.huge_module)
            projects.append((f"huge module {manifest['huge_module']['bytes'] / 1024:,.0f} KB", path, "generated",
                             manifest))
        for path in args.real:
            if not os.path.isdir(path):
                raise SystemExit(f"--real {path}: not a directory")
            projects.append((os.path.basename(os.path.normpath(path)), path, "real", None))
        for name, path, kind, manifest in projects:
            results.append(bench.project(name, path, kind, manifest))
    except KeyboardInterrupt:
        loud("interrupted; partial results follow")
        crashed = True
    except Exception as exc:  # noqa: BLE001 - report it, then the partial results
        import traceback

        traceback.print_exc()
        loud(f"benchmark harness crashed: {exc!r}")
        crashed = True

    version = None
    for r in results:
        rep = r.get("cold", {}).get("report") if isinstance(r.get("cold"), dict) else None
        if rep and rep.get("version"):
            version = rep["version"]
            break
    meta = {
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "jobs": f"--jobs {args.jobs}" if args.jobs else "analyzer's default --jobs",
        "repeat": args.repeat,
        "analyzer": shlex.join(bench.cmd) if args.analyzer_cmd else "celerylint",
        "analyzer_version": version,
        "load_average_at_end": round(os.getloadavg()[0], 2),
        "targets": {"cold_x_floor": TARGET_COLD, "warm_x_floor": TARGET_WARM, "precommit_s": TARGET_PRECOMMIT},
    }
    complete = [r for r in results if "cold" in r and "precommit" in r]
    if complete:
        print(table(complete, meta))
    for r in results:
        if r not in complete:
            print(f"{r['name']}: no analyzer numbers ({r.get('error', 'incomplete')}); "
                  f"floor {fmt_s(r.get('floor', {}).get('median'))}")
    if args.json:
        payload = json.dumps({"meta": meta, "results": results, "errors": bench.errors}, indent=2,
                             default=str)
        if args.json == "-":
            print(payload)
        else:
            with open(args.json, "w") as fh:
                fh.write(payload + "\n")
    if bench.errors:
        loud("analyzer errors:\n!! " + "\n!! ".join(bench.errors))
    return 1 if crashed or bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
