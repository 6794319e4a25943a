"""Bad input gets a clear finding or a message, never a traceback, and the rest of
the project is still checked (RULES.md: SYN001)."""

import os

import pytest

from conftest import codes_at, findings, run_cli, write_project

TASK = "from celery import shared_task\n\n@shared_task\ndef ping(): pass\n"
ORPHAN = 'CELERY_BEAT_SCHEDULE = {"x": {"task": "ops.tasks.pingg", "schedule": 1}}\n'


def project_with(tmp_path, name, content):
    return write_project(tmp_path / "p", {"ops/tasks.py": TASK, "proj/settings.py": ORPHAN, name: content})


def assert_rest_checked(results):
    assert ("proj/settings.py", 1, "BEAT001") in codes_at(results)


@pytest.mark.parametrize("content, line", [
    (b"from celery import shared_task\n\n@shared_task\ndef broken(:\n    pass\n", 4),
    (b"from celery import shared_task\nx = (\n", 2),
    (b"from celery import shared_task\n\nx = 1\x00\n", 3),
])
def test_syntax_errors_are_syn001_at_the_error(tmp_path, content, line):
    root = project_with(tmp_path, "bad/tasks.py", content)
    results = findings(root)
    assert ("bad/tasks.py", line, "SYN001") in codes_at(results)
    assert_rest_checked(results)


def test_newer_syntax_parses(tmp_path):
    # Python 3.14's unparenthesised except (PEP 758) and 3.12's type parameters: 3.11's
    # own parser rejects both, libcst reads them.
    source = (b"from celery import shared_task\n\n@shared_task\ndef t():\n    try:\n        pass\n"
              b"    except ValueError, TypeError:\n        pass\n\ndef first[T](xs: list[T]) -> T:\n    return xs[0]\n")
    root = project_with(tmp_path, "new/tasks.py", source)
    results = findings(root)
    assert not any(code == "SYN001" for *_, code, _ in results)
    assert_rest_checked(results)


@pytest.mark.parametrize("content", [
    b"",  # empty
    b"\xef\xbb\xbf" + TASK.encode(),  # UTF-8 BOM
    b"# -*- coding: latin-1 -*-\n" + TASK.encode() + b"X = '\xe9'\n",  # declared legacy encoding
])
def test_valid_odd_files(tmp_path, content):
    root = project_with(tmp_path, "odd/tasks.py", content)
    results = findings(root)
    assert not any(code == "SYN001" for *_, code, _ in results)
    assert_rest_checked(results)


def test_undecodable_file(tmp_path):
    root = project_with(tmp_path, "odd/tasks.py", TASK.encode() + b"X = '\xe9\xff'\n")
    results = findings(root)
    assert any(path == "odd/tasks.py" and code == "SYN001" and "decode" in msg for path, _, _, code, msg in results)
    assert_rest_checked(results)


def test_brackets_nested_beyond_pythons_limit(tmp_path):
    deep = b"from celery import shared_task\nx = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n"
    root = project_with(tmp_path, "deep/tasks.py", deep)
    results = findings(root)
    assert ("deep/tasks.py", 2, "SYN001") in codes_at(results)
    assert_rest_checked(results)


def test_brackets_in_strings_do_not_count_as_nesting(tmp_path):
    source = TASK.encode() + b"S = '" + b"(" * 300 + b"'\n"
    root = project_with(tmp_path, "deep/tasks.py", source)
    assert not any(code == "SYN001" for *_, code, _ in findings(root))


def test_parser_crash_is_contained(tmp_path):
    # 20,000 chained `not` crash libcst's native parser (a stack overflow in the
    # worker process); the run reports SYN001 for that file and checks the rest.
    crash = b"from celery import shared_task\nx = " + b"not " * 20000 + b"1\n"
    root = project_with(tmp_path, "crash/tasks.py", crash)
    results = findings(root)
    assert any(path == "crash/tasks.py" and code == "SYN001" for path, _, _, code, _ in results)
    assert_rest_checked(results)


def test_a_crash_loses_no_other_file_given_to_that_worker():
    # Each worker is given several files ahead; when one crashes, its file is SYN001
    # and the files given after it are parsed by a new worker.
    from celerylint.engine.pool import ParseJob, ParsePool

    crash = b"x = " + b"not " * 20000 + b"1\n"
    good = [ParseJob(f"ok{i}.py", f"ok{i}.py", f"ok{i}", False, 100, TASK.encode() + b"N = %d\n" % i)
            for i in range(16)]
    bad = [ParseJob(f"crash{i}.py", f"crash{i}.py", f"crash{i}", False, 100, crash) for i in range(3)]
    with ParsePool(2) as pool:
        for job in good[:8] + bad + good[8:]:
            pool.submit(job)
        results = pool.collect()
        assert len(pool.workers) == 2
        again = pool.parse(good[:2])  # the replacements go on working
    assert set(results) == {job.key for job in good + bad}
    for job in bad:
        assert results[job.key].error is not None and "crashed" in results[job.key].error.message
    for job in good:
        assert results[job.key].error is None and results[job.key].module == job.module
    assert set(again) == {"ok0.py", "ok1.py"} and again["ok0.py"] == results["ok0.py"]


def test_parser_crash_prints_one_line_not_a_crash_dump(tmp_path):
    # With faulthandler on (-X faulthandler, PYTHONFAULTHANDLER, pytest), a crashing
    # worker used to dump "Fatal Python error: Segmentation fault" and its stack into
    # the user's terminal.
    crash = b"from celery import shared_task\nx = " + b"not " * 20000 + b"1\n"
    root = project_with(tmp_path, "crash/tasks.py", crash)
    proc = run_cli("check", "--no-cache", cwd=root, env={"PYTHONFAULTHANDLER": "1"})
    assert proc.returncode == 1
    assert "Fatal Python error" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("crash/tasks.py"))
    assert "SYN001 the parser crashed on this file (SIGSEGV)" in line, line


def test_parser_hang_times_out(tmp_path, monkeypatch):
    from celerylint.engine import pool

    monkeypatch.setattr(pool, "BASE_TIMEOUT", 2.0)
    slow = b"from celery import shared_task\nx = " + b"+".join([b"1"] * 6000) + b"\n"
    root = project_with(tmp_path, "slow/tasks.py", slow)
    results = findings(root)
    assert any(path == "slow/tasks.py" and code == "SYN001" and "too long" in msg
               for path, _, _, code, msg in results)
    assert_rest_checked(results)


def test_symlink_loops_and_dangling_links(tmp_path, capsys):
    root = write_project(tmp_path / "p", {"ops/tasks.py": TASK, "proj/settings.py": ORPHAN})
    os.symlink(root, root / "ops" / "loop")  # directory loop back to the root
    os.symlink("missing.py", root / "ops" / "dangling.py")  # link to nothing
    os.symlink("self.py", root / "ops" / "self.py")  # a link to itself
    proc = run_cli("check", "--no-cache", cwd=root)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "symlink loop" in proc.stderr
    assert "ops/dangling.py:1:1: SYN001 could not read file" in proc.stdout
    assert "ops/self.py:1:1: SYN001 could not read file" in proc.stdout
    assert "proj/settings.py:1:39: BEAT001" in proc.stdout


def test_unreadable_directory_is_skipped_with_a_message(tmp_path, monkeypatch):
    # CI runs as root, which reads every directory, so the refusal is simulated at
    # os.scandir: this tests our handling, the rest of the run is real.
    from celerylint import engine
    from celerylint.config import Settings

    root = write_project(tmp_path / "p", {"ops/tasks.py": TASK, "proj/settings.py": ORPHAN, "locked/x.py": TASK})
    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = engine.check([], Settings(), str(root), use_cache=False, jobs=1)
    assert any("unreadable directory locked" in w for w in result.warnings)
    assert [d.code for d in result.diagnostics] == ["BEAT001"]


def test_gitignore_cannot_exclude_the_root(tmp_path):
    root = write_project(tmp_path / ".hidden", {"ops/tasks.py": TASK, "proj/settings.py": ORPHAN})
    (root / ".gitignore").write_text(".*\n")
    proc = run_cli("check", "--no-cache", cwd=root)
    assert "checked 4 files" in proc.stdout and "BEAT001" in proc.stdout


def test_gitignore_and_exclude_are_honoured(tmp_path):
    root = write_project(tmp_path / "p", {
        "ops/tasks.py": TASK, "proj/settings.py": ORPHAN,
        "generated/settings.py": ORPHAN, "legacy/settings.py": ORPHAN, "ops/sub/old_settings.py": ORPHAN,
    }, config='exclude = ["legacy/"]\n')
    (root / ".gitignore").write_text("generated/\n")
    (root / "ops" / ".gitignore").write_text("sub/old_*.py\n")
    proc = run_cli("check", "--no-cache", cwd=root)
    assert "proj/settings.py" in proc.stdout
    for ignored in ("generated/", "legacy/", "old_settings"):
        assert ignored not in proc.stdout


def test_ignore_files_of_comments_only_ignore_nothing(tmp_path):
    # `git init` writes .git/info/exclude with comments only; a project without its own
    # .gitignore patterns must still be checked whole (this once checked 0 files).
    import subprocess

    root = write_project(tmp_path / "p", {"ops/tasks.py": TASK, "proj/settings.py": ORPHAN})
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert (root / ".git" / "info" / "exclude").read_text().lstrip().startswith("#")
    for gitignore in (None, "# nothing to ignore yet\n\n"):
        if gitignore is not None:
            (root / ".gitignore").write_text(gitignore)
        for cache in ("--no-cache", None, None):  # and from the remembered decisions
            proc = run_cli("check", *([cache] if cache else []), cwd=root)
            assert "checked 4 files" in proc.stdout and "BEAT001" in proc.stdout, proc.stdout


def test_combined_gitignore_matcher_agrees_with_pathspec():
    import pathspec

    from celerylint.engine.discover import _fast

    lines = ["*.pyc", "build/", "/dist", "docs/**/*.py", "**/migrations/00*.py", "settings_local.py", "a?c.py",
             "[ab]x.py", "deep/*/x/", "# comment", "", "trailing\\ "]
    paths = ["x.pyc", "a/b.pyc", "build/", "build/x.py", "src/build/x.py", "dist", "dist/x.py", "src/dist/x.py",
             "docs/a/b/c.py", "docs/c.py", "app/migrations/0001_initial.py", "app/migrations/x.py",
             "settings_local.py", "a/settings_local.py", "abc.py", "ax.py", "bx.py", "cx.py", "deep/q/x/",
             "deep/q/x/y.py", "trailing ", "ok.py"]
    spec = pathspec.GitIgnoreSpec.from_lines(lines)
    fast = _fast(spec)
    assert fast is not spec  # no negation: the combined matcher is used
    assert [fast.match_file(p) for p in paths] == [spec.match_file(p) for p in paths]
    negated = pathspec.GitIgnoreSpec.from_lines(lines + ["!keep.pyc"])
    assert _fast(negated) is negated  # negations keep pathspec's own ordered matching


def test_parsing_works_in_a_process_with_other_threads(tmp_path, monkeypatch):
    # An embedding application (or a test run holding a Celery app) has threads; one of
    # them holding an import lock while we fork must not hang the parse workers (which
    # may import libcst for a file `ast` rejects: the last one here).
    import threading

    from celerylint.engine.load import IN_PROCESS_BYTES
    from celerylint.engine.pool import ParsePool

    pooled = []
    real_submit = ParsePool.submit
    monkeypatch.setattr(ParsePool, "submit", lambda self, job: pooled.append(job) or real_submit(self, job))

    release = threading.Event()
    holding = threading.Event()

    def hold_import_lock():
        import importlib._bootstrap as bootstrap

        with bootstrap._ModuleLockManager("celerylint_test_held_module"):
            holding.set()
            release.wait()

    thread = threading.Thread(target=hold_import_lock, daemon=True)
    thread.start()
    holding.wait()
    try:
        big = TASK.encode() + b"\n" + b"".join(b"VALUE_%d = %d\n" % (i, i) for i in range(IN_PROCESS_BYTES // 12))
        root = project_with(tmp_path, "ok/tasks.py", big)
        (root / "ok" / "broken.py").write_bytes(b"from celery import shared_task\nx = (\n")
        done: list = []
        worker = threading.Thread(target=lambda: done.append(findings(root)), daemon=True)
        worker.start()
        worker.join(120)
        assert done, "the check hung"
        results = done[0]
        assert [code for path, _, _, code, _ in results if path.startswith("ok/")] == ["SYN001"]
        assert_rest_checked(results)
        assert {job.key for job in pooled} >= {"ok/tasks.py", "ok/broken.py"}
    finally:
        release.set()
        thread.join()


def test_each_ignore_file_is_compiled_once(tmp_path, monkeypatch):
    # Compiling every directory's patterns again after each new .gitignore made the
    # walk quadratic in the number of ignore files (24 in one real project).
    from celerylint.engine import discover as discover_mod
    from celerylint.config import Settings

    files = {f"app{i}/tasks.py": TASK for i in range(12)}
    root = write_project(tmp_path / "p", files)
    for i in range(12):
        (root / f"app{i}" / ".gitignore").write_text("*.tmp\nold_*.py\n")
    (root / ".gitignore").write_text("build/\n")
    compiled = []
    real = discover_mod._compile
    monkeypatch.setattr(discover_mod, "_compile", lambda lines: compiled.append(lines) or real(lines))
    found = discover_mod.discover(str(root), Settings())
    assert len([f for f in found.files if f.rel.endswith("/tasks.py")]) == 12
    assert len(compiled) == 13
