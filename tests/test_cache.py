"""The facts cache: a warm run parses nothing, a changed file is re-parsed, and a new
configuration or version starts afresh; findings are identical either way."""

import os
import pickle
import shutil
import time

import pytest

from celerylint.config import Settings, load_settings, settings_from_mapping
from celerylint.engine import cache as cache_mod
from celerylint.engine import check

from conftest import REPO, write_project

FILES = {
    "ops/tasks.py": "from celery import shared_task\n\n@shared_task\ndef ping(): pass\n",
    "ops/views.py": "def index(request):\n    return None\n",
    "proj/settings.py": 'CELERY_BEAT_SCHEDULE = {"x": {"task": "ops.tasks.pingg", "schedule": 1}}\n',
}


def run(root, settings=None, use_cache=True):
    result = check([], settings or Settings(), str(root), use_cache=use_cache, jobs=1)
    return result, [(d.path, d.line, d.code) for d in result.diagnostics]


def parsed_count(result):
    note = next(n for n in result.notes if n.startswith("files:"))
    return int(note.split("parsed ")[1].split(",")[0])


def test_warm_run_parses_nothing_and_gives_the_same_findings(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    cold, cold_findings = run(root)
    assert parsed_count(cold) == 2  # tasks and settings; views.py is skipped by the prefilter
    cache_dir = root / cache_mod.CACHE_DIR
    assert (cache_dir / ".gitignore").read_text().strip().endswith("*")
    assert (cache_dir / "CACHEDIR.TAG").exists()
    warm, warm_findings = run(root)
    assert parsed_count(warm) == 0
    assert warm_findings == cold_findings == [("proj/settings.py", 1, "BEAT001")]


def test_a_run_whose_result_is_reused_never_reads_the_facts_file(tmp_path, monkeypatch):
    """The facts file is the large one: a run of an unchanged project reuses its result
    from the index alone (the survey, which gives new files to the parse workers while
    it goes on, must not ask the cache for facts of files it already knows)."""
    root = write_project(tmp_path / "p", FILES)

    def reusing_run():
        return [(d.path, d.line, d.code) for d in check([], Settings(), str(root), jobs=1, reuse=True).diagnostics]

    reusing_run()
    read = []
    real_read = cache_mod._read
    monkeypatch.setattr(cache_mod, "_read", lambda path: read.append(os.path.basename(path)) or real_read(path))
    assert reusing_run() == [("proj/settings.py", 1, "BEAT001")]
    assert not [name for name in read if name.startswith("facts-")], read
    (root / "ops" / "more.py").write_text("from celery import shared_task\n\n@shared_task\ndef more(): pass\n")
    read.clear()
    assert reusing_run() == [("proj/settings.py", 1, "BEAT001")]  # a new file: facts are read now
    assert [name for name in read if name.startswith("facts-")]


def test_changed_file_is_reparsed(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    run(root)
    settings_py = root / "proj" / "settings.py"
    settings_py.write_text('CELERY_BEAT_SCHEDULE = {"x": {"task": "ops.tasks.ping", "schedule": 1}}\n')
    later = time.time() + 5
    os.utime(settings_py, (later, later))
    result, found = run(root)
    assert parsed_count(result) == 1 and found == []


def test_touched_but_unchanged_file_is_reused_by_content_hash(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    run(root)
    later = time.time() + 5
    os.utime(root / "proj" / "settings.py", (later, later))
    result, found = run(root)
    assert parsed_count(result) == 0 and found == [("proj/settings.py", 1, "BEAT001")]


def test_configuration_or_version_change_starts_a_new_cache(tmp_path, monkeypatch):
    root = write_project(tmp_path / "p", FILES)
    run(root)
    other = settings_from_mapping({"app-names": ["worker"]})
    result, _ = run(root, other)
    assert parsed_count(result) == 2
    shards = list((root / cache_mod.CACHE_DIR).glob("facts-*.pickle"))
    assert shards and len({p.name.rsplit("-", 1)[0] for p in shards}) == 1  # the stale ones are removed
    monkeypatch.setattr("celerylint.engine.load.__version__", "999.0.0")
    result, _ = run(root, other)
    assert parsed_count(result) == 2


def test_no_cache_writes_nothing(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    run(root, use_cache=False)
    assert not (root / cache_mod.CACHE_DIR).exists()


@pytest.mark.parametrize("corrupt", ["index-*.pickle", "facts-*.pickle", "*.pickle"])
def test_corrupt_cache_is_ignored(tmp_path, corrupt):
    root = write_project(tmp_path / "p", FILES)
    run(root)
    for path in (root / cache_mod.CACHE_DIR).glob(corrupt):
        path.write_bytes(b"not a pickle")
    result, found = run(root)
    # Facts are kept by content digest: with the index lost, they are still good.
    assert parsed_count(result) == (0 if corrupt == "index-*.pickle" else 2)
    assert found == [("proj/settings.py", 1, "BEAT001")]
    (index,) = (root / cache_mod.CACHE_DIR).glob("index-*.pickle")
    files, searches, ignore_memo, results, memo = pickle.loads(index.read_bytes())
    assert set(files) == {"ops/tasks.py", "ops/views.py", "proj/settings.py", "ops/__init__.py", "proj/__init__.py"}
    assert all(isinstance(x, dict) for x in (searches, ignore_memo, results, memo))
    stored = [rel for p in (root / cache_mod.CACHE_DIR).glob("facts-*.pickle") for rel in pickle.loads(p.read_bytes())]
    assert sorted(stored) == ["ops/tasks.py", "proj/settings.py"]


def test_an_unchanged_project_reuses_the_last_result(tmp_path):
    root = write_project(tmp_path / "p", FILES)

    def reusing(**options):
        result = check([], Settings(), str(root), use_cache=True, jobs=1, reuse=True, **options)
        return result, [(d.path, d.line, d.code) for d in result.diagnostics]

    first, found = reusing()
    assert first.project is not None and found == [("proj/settings.py", 1, "BEAT001")]
    again, found_again = reusing()
    assert again.project is None and found_again == found  # nothing was analysed
    assert reusing(select=("TSK",))[0].project is not None  # another selection is another run
    assert reusing(select=("TSK",))[0].project is None
    views = root / "ops" / "views.py"
    views.write_text(views.read_text() + "# a comment changes the content\n")
    changed, found_changed = reusing()
    assert changed.project is not None and found_changed == found  # a skipped file changed: analysed again
    tasks = root / "ops" / "tasks.py"
    tasks.write_text(tasks.read_text() + "# a comment only: the same facts\n")
    same_facts, found_same = reusing()
    assert same_facts.project is None and found_same == found
    scoped = check([str(root / "ops" / "tasks.py")], Settings(), str(root), use_cache=True, jobs=1, reuse=True)
    assert scoped.project is None and scoped.diagnostics == []  # the finding is in settings, out of scope
    settings_file = root / "proj" / "settings.py"
    scoped = check([str(settings_file)], Settings(), str(root), use_cache=True, jobs=1, reuse=True)
    assert scoped.project is None and [(d.path, d.code) for d in scoped.diagnostics] == [("proj/settings.py", "BEAT001")]
    (root / "ops" / "tasks.py").write_text("from celery import shared_task\n\n@shared_task\ndef ping():\n    pass\n"
                                         "\n@shared_task\ndef pingg():\n    pass\n")
    fixed, found_fixed = reusing()
    assert fixed.project is not None and found_fixed == []
    assert reusing()[0].project is None and reusing()[1] == []
    assert run(root)[0].project is not None  # callers that need the project never get a reused result


def test_facts_are_stored_in_shards_and_a_run_writes_only_those_that_changed(tmp_path, monkeypatch):
    files = {f"app{i}/tasks.py": f"from celery import shared_task\n\n@shared_task\ndef t{i}(): pass\n"
             for i in range(80)}
    root = write_project(tmp_path / "p", files)
    run(root)
    cache_dir = root / cache_mod.CACHE_DIR

    def shards():
        return {p.name: (p.stat().st_mtime_ns, set(pickle.loads(p.read_bytes()))) for p in cache_dir.glob("facts-*.pickle")}

    before = shards()
    assert len(before) == cache_mod.FACT_SHARDS  # 80 files fill all 16
    assert sorted(rel for _, rels in before.values() for rel in rels) == sorted(files)
    (home,) = [name for name, (_, rels) in before.items() if "app1/tasks.py" in rels]
    (root / "app1" / "tasks.py").write_text(files["app1/tasks.py"] + "\n@shared_task\ndef more(): pass\n")
    result, _ = run(root)
    assert parsed_count(result) == 1
    after = shards()
    assert [name for name in after if after[name][0] != before[name][0]] == [home]  # only its shard is rewritten
    check([], Settings(), str(root), jobs=1, reuse=True)  # a result to reuse
    read = []
    real_read = cache_mod._read
    monkeypatch.setattr(cache_mod, "_read", lambda path: read.append(os.path.basename(path)) or real_read(path))
    (root / "app1" / "tasks.py").write_text(files["app1/tasks.py"] + "\n@shared_task\ndef more(): pass\n# a comment\n")
    reused = check([], Settings(), str(root), jobs=1, reuse=True)
    assert reused.project is None and read == [home]  # the same facts: told by the one shard
    monkeypatch.undo()
    assert shards() == after  # and the new content takes them as they are stored: nothing rewritten
    assert run(root)[0].project is not None and parsed_count(run(root)[0]) == 0
    (root / "app1" / "tasks.py").write_text(files["app1/tasks.py"] + "\n@shared_task\ndef more(): pass\n# another\n")
    read.clear()
    monkeypatch.setattr(cache_mod, "_read", lambda path: read.append(os.path.basename(path)) or real_read(path))
    reused = check([], Settings(), str(root), jobs=1, reuse=True)
    assert reused.project is None and read == [home] and shards() == after  # again, from the facts carried
    monkeypatch.undo()
    (root / "app2" / "tasks.py").unlink()
    warm, _ = run(root)
    assert parsed_count(warm) == 0
    assert "app2/tasks.py" not in {rel for _, rels in shards().values() for rel in rels}  # a removed file's facts go
    for i in range(3, 80):
        (root / f"app{i}" / "tasks.py").write_text(files[f"app{i}/tasks.py"] + "# changed\n")
    result, _ = run(root)
    assert parsed_count(result) == 77 and parsed_count(run(root)[0]) == 0


def test_read_only_project_still_checks(tmp_path):
    root = write_project(tmp_path / "p", FILES)
    (root / cache_mod.CACHE_DIR).write_text("a file where the cache directory should be")
    result, found = run(root)
    assert found == [("proj/settings.py", 1, "BEAT001")]
    assert any("could not write the cache" in w for w in result.warnings)


def test_skipped_files_loaded_on_demand_are_reused_not_reparsed(tmp_path):
    # models.py and helpers.py are skipped by the prefilter, but the tenant rules reach
    # them (the task imports them): they are parsed with the task in one batch, and a
    # warm run takes all three from the cache (the same files are looked at in cold and
    # warm runs, so the findings cannot differ).
    root = write_project(tmp_path / "p", {
        "shop/models.py": "from django.db import models\n\nclass Order(models.Model):\n"
                          "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n",
        "shop/helpers.py": "from shop.models import Order\n\ndef total():\n    return Order.objects.count()\n",
        "shop/tasks.py": "from celery import shared_task\nfrom shop.helpers import total\n\n"
                         "@shared_task\ndef report():\n    return total()\n",
    })
    runs = [run(root) for _ in range(3)]
    assert [parsed_count(r) for r, _ in runs] == [3, 0, 0]
    assert all(found == runs[0][1] == [("shop/tasks.py", 5, "TEN001"), ("shop/tasks.py", 5, "TEN003")]
               for _, found in runs)
    notes = [next(n for n in r.notes if n.startswith("files:")) for r, _ in runs]
    assert all("loaded on demand 0" in note for note in notes)
    assert "from cache 3" in notes[1] and "from cache 3" in notes[2]


def test_projects_that_never_mention_tenancy_skip_the_tenant_analysis(tmp_path):
    root = write_project(tmp_path / "p", {
        "shop/models.py": "from django.db import models\n\nclass Order(models.Model):\n    total = models.IntegerField()\n",
        "shop/tasks.py": "from celery import shared_task\nfrom shop.models import Order\n\n"
                         "@shared_task\ndef report():\n    return Order.objects.count()\n",
    })
    result, found = run(root)
    assert found == [] and "loaded on demand 0" in next(n for n in result.notes if n.startswith("files:"))


def test_orphan_searches_are_remembered_until_a_skipped_file_changes(tmp_path, monkeypatch):
    from celerylint.engine import load

    root = write_project(tmp_path / "p", FILES)
    reads = []
    real = load.DemandLoader.contains

    def counting(self, source, groups):
        reads.append(source.rel)
        return real(self, source, groups)

    monkeypatch.setattr(load.DemandLoader, "contains", counting)
    run(root)
    first = len(reads)
    assert first > 0  # the orphan "ops.tasks.pingg" made it search the skipped files
    run(root)
    assert len(reads) == first  # remembered
    views = root / "ops" / "views.py"
    views.write_text("def index(request):\n    return 'changed'\n")
    later = time.time() + 5
    os.utime(views, (later, later))
    _, found = run(root)
    assert len(reads) > first and found == [("proj/settings.py", 1, "BEAT001")]


def test_warm_run_loads_neither_libcst_nor_pathspec(tmp_path):
    # A warm run is all cache: libcst (parsing, fixes) and pathspec (compiling the
    # ignore files) would cost it a third of its time on a large project.
    import subprocess
    import sys

    root = write_project(tmp_path / "p", dict(FILES, **{"ops/more.py": FILES["ops/tasks.py"].replace("ping", "pong")}))
    (root / ".gitignore").write_text("build/\n*.log\n!keep.log\n")
    run(root)
    probe = ("import sys\nfrom celerylint.cli import main\nstatus = main(['check', '.', '--format', 'json'])\n"
             "print(status, 'libcst' in sys.modules, 'pathspec' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.stdout.splitlines()[-1] == "1 False False", proc.stdout + proc.stderr


def test_remembered_ignore_decisions_follow_every_ignore_file_change(tmp_path):
    # The walk reuses the cached ignore decisions only below directories whose ignore
    # files are unchanged: after each edit the cached run must see exactly the files a
    # run without the cache sees.
    root = write_project(tmp_path / "p", dict(FILES, **{
        "ops/sub/old_a.py": "x = 1\n", "ops/sub/new_b.py": "x = 1\n", "gen/g.py": "x = 1\n",
        "web/keep.py": "x = 1\n",
    }))
    (root / ".git" / "info").mkdir(parents=True)

    def files_seen(use_cache):
        return check([], Settings(), str(root), use_cache=use_cache, jobs=1).scope

    def assert_agrees():
        cached = files_seen(True)
        assert cached == files_seen(False)
        return cached

    assert "gen/g.py" in assert_agrees()
    steps = [
        (root / ".gitignore", "gen/\n", lambda seen: "gen/g.py" not in seen),
        (root / "ops" / ".gitignore", "sub/old_*.py\n", lambda seen: "ops/sub/old_a.py" not in seen),
        (root / "ops" / "sub" / "old_c.py", "x = 2\n", lambda seen: "ops/sub/old_c.py" not in seen),  # new file
        (root / "ops" / ".gitignore", "sub/old_*.py\n!sub/old_c.py\n", lambda seen: "ops/sub/old_c.py" in seen),
        (root / ".git" / "info" / "exclude", "web/\n", lambda seen: "web/keep.py" not in seen),
        (root / ".gitignore", "", lambda seen: "gen/g.py" in seen and "web/keep.py" not in seen),
        (root / ".git" / "info" / "exclude", "", lambda seen: "web/keep.py" in seen),
        (root / "ops" / "sub" / ".gitignore", "*.py\n", lambda seen: not any(s.startswith("ops/sub/") for s in seen)),
    ]
    for path, text, expect in steps:
        path.write_text(text)
        assert expect(assert_agrees()), (path, text)
        assert expect(assert_agrees())  # and again, from the memo just written


def test_cached_facts_share_equal_values_and_stay_equal():
    from celerylint.facts.extract import extract, extract_libcst

    body = "".join(f"\n@shared_task\ndef t{i}(tenant_id=None):\n    logger.info('x')\n    Order.objects.filter(pk={i})\n"
                   for i in range(30))
    data = ("from celery import shared_task\n" + body).encode()
    facts = extract(data, "shop.tasks", False)
    seen: dict = {}
    once = cache_mod.shared(facts, seen)
    assert once == facts and type(once) is type(facts)
    calls = [f.calls for f in once.functions]
    assert all(c is calls[0] for c in calls)  # 30 equal frozensets, one object
    assert len(pickle.dumps(once)) < 0.8 * len(pickle.dumps(facts))
    # The libcst extractor's facts share not even their strings (ast interns identifiers).
    unshared = extract_libcst(data, "shop.tasks", False)
    assert len(pickle.dumps(cache_mod.shared(unshared, {}))) < 0.7 * len(pickle.dumps(unshared))
    assert pickle.loads(pickle.dumps(once)) == facts
    assert cache_mod.shared(facts, seen).functions[0].calls is calls[0]  # shared across files too


def test_a_pool_filling_the_cache_sends_facts_shared_and_equal(tmp_path):
    """ParsePool(share=True): each worker shares its files' equal values before sending
    them (the cache stores them as they come) and pickles all its results with one memo;
    the facts are equal to those a pool without sharing and the extractor itself give."""
    from celerylint.engine.pool import ParseJob, ParsePool
    from celerylint.facts.extract import extract

    jobs = []
    for i in range(8):
        body = "".join(f"\n@shared_task\ndef t{j}(tenant_id=None):\n    Order.objects.filter(pk={j}).update(n={i})\n"
                       for j in range(5))
        path = tmp_path / f"m{i}.py"
        path.write_text("from celery import shared_task\n" + body)
        jobs.append(ParseJob(f"m{i}.py", str(path), f"m{i}", False, path.stat().st_size, None))
    expected = {job.key: extract(open(job.path, "rb").read(), job.module, False) for job in jobs}
    with ParsePool(1, share=True) as pool:
        sent = pool.parse(jobs)
        again = pool.parse(jobs[:2])  # later results refer to what earlier ones sent
    with ParsePool(2) as pool:
        plain = pool.parse(jobs)
    assert sent == plain == expected and again == {k: expected[k] for k in ("m0.py", "m1.py")}
    calls = [f.calls for facts in sent.values() for f in facts.functions]
    assert len(calls) == 40 and all(c is calls[0] for c in calls)  # one worker: one object across files
    assert not any(c is plain["m0.py"].functions[0].calls for c in [f.calls for f in plain["m1.py"].functions])


def _typed(value):
    """`value` as nested lists that keep every leaf's type (True, 1 and 1.0 differ) and
    put a set's items in one order."""
    kind = type(value)
    if isinstance(value, (tuple, frozenset)):
        items = [_typed(item) for item in value]
        return [kind.__name__, sorted(items, key=repr) if kind is frozenset else items]
    if kind is dict:
        return ["dict", sorted(([_typed(k), _typed(v)] for k, v in value.items()), key=repr)]
    return [kind.__name__, value]


def test_sharing_never_swaps_equal_numbers_of_other_types():
    """True == 1 == 1.0 (and their tuples are equal): a value holding True or 1.0 must
    not come back as the equal one holding 1 that was shared before it."""
    from celerylint.facts.extract import extract

    seen: dict = {}
    first = cache_mod.shared(extract(b"A = 1\nB = (1, 2)\nC = {'x': 0}\nD = 1\n", "a", False), seen)
    source = b"A = True\nB = (1.0, 2)\nC = {'x': False}\nD = 1\nE = (True, (1, 2))\n"
    facts = extract(source, "b", False)
    again = cache_mod.shared(facts, seen)
    assert again == facts and _typed(again) == _typed(facts)
    assert type(again.assigns["A"].value) is bool and type(again.assigns["B"].items[0].value) is float
    assert type(again.assigns["C"].items[0].value.value) is bool and type(again.assigns["E"].items[0].value) is bool
    assert _typed(pickle.loads(pickle.dumps((first, again)))[1]) == _typed(facts)


def test_a_run_on_cached_facts_reads_bind_true_as_true(tmp_path):
    """The false TEN005 the swap gave: `max_retries=1` shared first, `bind=True` came back
    from the cache as bind=1, so the bound task's `self` was taken for the positional
    tenant_id and `run_one.delay(tenant_id)` was said to pass none."""
    root = write_project(tmp_path / "p", {
        "shop/models.py": "from django.db import models\n\n\nclass Order(models.Model):\n"
                          "    tenant = models.ForeignKey('t.T', on_delete=models.CASCADE)\n",
        "shop/tasks.py": "from celery import shared_task\nfrom celerylint_runtime import restore_tenant_context\n\n"
                         "from shop.models import Order\n\n\n@shared_task(max_retries=1)\ndef ping(*, tenant_id=None):\n"
                         "    restore_tenant_context(tenant_id)\n    Order.objects.count()\n\n\n"
                         "@shared_task(bind=True)\ndef run_one(self, tenant_id):\n"
                         "    restore_tenant_context(tenant_id)\n    Order.objects.count()\n",
        "shop/views.py": "from shop.tasks import run_one\n\n\ndef start(request):\n    run_one.delay(request.tenant_id)\n",
    })
    expected = [("shop/tasks.py", 14, "TEN002")]
    assert run(root, use_cache=False)[1] == expected
    assert run(root)[1] == expected  # fills the cache
    (root / "shop" / "other.py").write_text("from celery import shared_task\n\n\n@shared_task\ndef other():\n    pass\n")
    result, found = run(root)  # the tasks module's facts come from the cache
    assert parsed_count(result) == 1 and found == expected


PROJECTS = ["examples", "tests/fixtures/djproject", "tests/fixtures/tenant_project"] + sorted(
    f"tests/fixtures/mechanisms/{p.name}" for p in (REPO / "tests" / "fixtures" / "mechanisms").iterdir() if p.is_dir())


@pytest.mark.parametrize("project", PROJECTS)
def test_an_analysis_on_cached_facts_finds_what_a_cold_run_finds(tmp_path, project):
    """Every fixture project, analysed again on the facts a first run cached (a new file
    makes the result not reusable), against a run without the cache."""
    root = tmp_path / "p"
    shutil.copytree(REPO / project, root, ignore=shutil.ignore_patterns(cache_mod.CACHE_DIR, "__pycache__"))
    settings = load_settings(str(root))

    def findings(use_cache):
        result = check([], settings, str(root), use_cache=use_cache, jobs=2)
        return result, [(d.path, d.line, d.column, d.code, d.message, d.fix) for d in result.diagnostics]

    first = findings(True)[1]
    (root / "celerylint_new_module.py").write_text("X = 1\n")
    cached, found = findings(True)
    assert parsed_count(cached) == 0  # every fact from the cache (the new file needs none)
    assert found == findings(False)[1] and found == first and found
