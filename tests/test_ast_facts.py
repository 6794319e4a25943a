"""The ast extractor (facts/ast_extract.py) must give facts EQUAL to the libcst
extractor's (facts/extract.py): same facts, same values (with their types), same
positions (span indexes resolved, so their numbering may differ).

This test protects both from drifting apart: a change to either extractor (a new fact,
a different value, another position) fails here until the other one does the same.
It runs both on the repository's own sources, examples and fixtures, on every rule's
documented examples, and on tricky snippets (line endings, tabs, unicode, form feeds,
continuations, decorators, parentheses, f-strings, string concatenation, nested and
async definitions, match, walrus, star-args, encodings...). The same comparison runs
on any corpus with `python -m celerylint.facts.oracle DIR...`.
"""

import textwrap
from pathlib import Path

import pytest

from celerylint.facts.ast_extract import extract_ast
from celerylint.facts.extract import extract, extract_libcst
from celerylint.facts.oracle import compare, differences, normalized
from celerylint.rules import all_rules

REPO = Path(__file__).resolve().parent.parent

TASKS = '''\
from celery import shared_task
from .celery import app
from . import tasks as t

PREFIX = "proj"
SCHEDULE = {
    "every-minute": {"task": "proj.tasks.add", "schedule": 60.0, "args": (1, 2)},
    'nightly': {'task': f"{PREFIX}.nightly", "schedule": crontab(minute=0, hour="*/3")},
    **OTHER,
}
app.conf.beat_schedule = SCHEDULE
app.conf.update(timezone="UTC", beat_schedule={"x": {"task": ("a" "b")}})


@app.task(name="proj.add", bind=True)
def add(self, x, y=2, *args, key=None, **kwargs):
    """Add."""
    with tenant_context(self.tenant):
        return x + y


@shared_task
def fan_out(ids):
    for tenant_id in ids:
        add.delay(1, tenant_id=tenant_id)
    send.apply_async((1,), {"tenant_id": 3})
    send.apply_async(kwargs=dict(tenant_id=4, **extra))
    restore_tenant_context(ids[0])


@app.on_after_configure.connect
def setup(sender, **kwargs):
    sender.add_periodic_task(10.0, add.s(1, 2), name="add every 10")
    sender.add_periodic_task(crontab(), signature("proj.add", (1,), {"a": 1}), expires=10)
'''

TRICKY = [
    # line endings, unicode before positions, tabs, form feeds
    TASKS.replace("\n", "\r\n"),
    TASKS.replace("\n", "\r"),
    "x = 1\r\ny = 'é'  # ünïcode\r\n@app.task(name='a')\r\ndef f():\r\n    pass\r\n",
    "π = 'ü😀'; S = {'ü😀': {'task': '日本', 'schedule': 1}}\n@app.task(name='é😀' + 'x')\ndef f(a='😀', *, b=ü):\n"
    "    return g('😀', tenant_id=ä)\n",
    "@app.task\ndef f(a,\n\tb):\n\tif a:\n\t\treturn '''multi\nline''' + \\\n\t\t\t'x'\n\tfor x in y:\n\t\tt.delay(x)\n",
    "\x0c\n@app.task\n\x0cdef f():\n\x0c    for i in x: t.delay(tenant_id=i)\n    \x0c\n    return g(1)  \x0c\n",
    "S = {}\x0c\nS['a'] = {'task': 'x'}\n",
    # form feeds in indentation: libcst regenerates such lines' indentation from the block's
    "\x0c@app.task\n \x0cdef f(): pass\n\x0cS = {'a': {'task': 'b'}}\n@app.task\n\x0c@other\ndef g(): pass\n",
    "@app.task\ndef g(ids):\n\x0c    x = t.delay(tenant_id=1)\n    y = 2\n    return h(1)\n"
    "@app.task\ndef k(ids):\n    x = 1\n\x0c    for i in ids:\n        t.delay(tenant_id=i)\n    return m(2)\n",
    # BOM, coding cookies
    b"\xef\xbb\xbf@app.task(name='bom')\ndef f(): pass\nS = {'x': {'task': 'y'}}\n",
    "# -*- coding: latin-1 -*-\n@app.task(name='caf\xe9')\ndef f(s='\xe9\xe8'):\n    return g(s)\n".encode("latin-1"),
    "#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\nX = '\u20ac'\n@app.task(name=X)\ndef f(): pass\n".encode("cp1252"),
    # continuations, semicolons
    "@app.task(\\\n  name='x')\ndef \\\n f(a, \\\n b): pass\nx = 1; \\\n y = 2\nif x:\n  @app.task\n  def g(): pass\n",
    "a = 1; b = {'k': {'task': 't'}}; c = 3\nif a:\n    @app.task\n    def f(): pass\nelse:\n    @app.task\n    def f(): pass\n",
    "@app.task\ndef f():\n    'doc'; g(1)\n@app.task\ndef h(): 'doc'; g(2)\n@app.task\ndef k(): g(3); h()\n",
    "@app.task\ndef f(ids):\n    for i in ids:\n        t.delay(tenant_id=i);\n    for i in ids: t.delay(tenant_id=i)\n"
    "    for i in ids:\n        t.delay(tenant_id=i); log.info(i)\n",
    "class A:\n    def name(self): return 'x'\n    def other(self):\n        'doc'\n        return 'y'\n"
    "    def both(self): 'doc'; return 'z'\nclass B: name = 'b'; run = 1\n",
    # decorators
    "@ app.task\ndef a(): pass\n@app . task ( name = 'b' )\ndef b(): pass\n@(app.task)\ndef c(): pass\n"
    "@ (\n    app.task  # comment\n)\ndef d(): pass\n@app.task(  # comment\n    name='e',  # more\n)\n# between\ndef e(): pass\n",
    "class T(app.Task):\n    @property\n    # comment\n    @cached\n    def run(self, a, /, b, *, c=lambda x=1: x, **kw): pass\n",
    # parentheses
    "S = {('k'): ({'task': ('t')}), 'j': {'task': ((1, 2)), 'x': (1, 2,)}, 'g': {'task': (1,  # c\n 2,  # d\n)}}\n"
    "@app.task(name=('n'))\ndef f(x):\n    return g((x for x in y))\n@app.task\ndef h(x):\n    return g(x for x in y)\n"
    "@app.task\ndef k(x):\n    return g(( 1, 2 , ))\n@app.task\ndef m(x):\n    return g(((1), (2)))\n",
    "@app.task\ndef f():\n    (t.delay(tenant_id=(x)))\n    t.apply_async(kwargs=({'tenant_id': (y)}))\n    with (tenant_context(z)):\n        pass\n",
    "S = {}\nS['a', 'b'] = {}\nS[('a', 'b')] = {}\nS['c',] = {}\nS[()] = {}\nS[1:2] = {}\nS[x] = 1\n(S)['y'] = {'task': 1}\n",
    "x = (1), 2\ny = (a, b) = c\n[p, *q] = r\n(S) = {'a': {}}\nT: dict = {'b': {}}\nU.v = 1\n",
    # f-strings and concatenation
    'A = f"{P}.x"\nB = f"{P!r}"\nC = f"{P:>10}"\nD = f"{P=}"\nE = f"{P:}"\nF = f"a{{b}}c{P}d"\nG = f"\\n{P}\\t"\n'
    'H = rf"\\n{P}"\nI = f"\\N{EM DASH}{P}"\nJ = f"{P[\'x\'] if 0 else {1: 2}[1]}"\nK = f"{P!r:{w}}"\nL = f""\n'
    "M = f'{P}' 'x' f\"{Q}\"\nN = 'a' 'b' 'c'\nO = ('a'  # c\n     'b'\n     f'{P}')\nQ = b'a' b'b'\nR = u'x' 'y'\n"
    "T = f'''{\nP\n}'''\nU = f'{P:%Y-%m}'\nV = f'{P!s}' 'x'\nW = f'{a!=b}'\nX = f'{ P }'\nY = 'é' f'ü{P}'\n",
    "@app.task(name=f'{__name__}.x' 'y')\ndef f(): pass\n@app.task(name='a' f'{B}' 'c')\ndef g(): 'a' f'doc'\n"
    "@app.task\ndef h():\n    f'not a docstring'\n    g()\n@app.task\ndef k():\n    b'bytes doc'\n    g()\n",
    "X = '\\x41\\u00e9\\N{EM DASH}'\nY = r'\\d'\nZ = '\\d'\nW = 'a\\\nb'\nV = '''a\n\"\"\"b'''\n",
    # strings inside f-string fields, calls inside f-strings (3.11 positions of their nodes)
    "A = f\"{'a'}\"\nB = f\"{'a' 'b'}\"\nC = f'{\"x\"}{\"y\"}' f\"{'z'}\"\nD = f'''\n{'a'}\n  {\"b\" f\"{'c'}\"}'''\n"
    "E = f'é{\"ü\"}'\nS = {'a': {'task': f'{\"x\"}'}}\n",
    "@app.task\ndef f():\n    return g(f'''\n{t.delay(tenant_id=\"x\")} {t.delay(tenant_id=\"x\")}''')\n"
    "@app.task\ndef h():\n    x = f'é{t.delay(tenant_id=\"ü\")}'\n    restore_tenant_context(f'{a}'); restore_tenant_context(f'é{\"x\"}')\n",
    # values
    "A = -5\nB = -5.5\nC = -True\nD = -x\nE = +5\nF = 2 ** 3\nG = 1j\nH = ...\nI = None\nJ = True\nK = __name__\n"
    "L = a.b.c\nM = a().b\nN = [1, *x]\nO = {1, 2}\nP = (1,)\nQ = not x\nR = x if y else z\nS = 0x1F + 1_000\n"
    "T = {**a, 'b': 1}\nU = f(*a, b=1, **c)\nV = f().g(1)\nW = 10 // 3 % 2 - 1 / 2 << 1\nX = 'a' * 3\nY = True.real\n",
    # nested functions and classes, async, methods
    "class Outer:\n    class Inner(Base, *mixins, metaclass=M, **kw):\n        name = 'inner'\n"
    "        def run(self, x): return x\n    @app.task\n    def method(self): pass\n    async def arun(self):\n"
    "        async for x in y:\n            t.delay(x)\n        async with tenant_context(1):\n            pass\n",
    "@app.task\nasync def f(a):\n    async with tenant_context(a) as c, other() as d:\n        await t.delay(tenant_id=c)\n"
    "    def inner():\n        @app.task\n        def deeper(): g.delay()\n        class K:\n            def run(self): pass\n",
    "def outer():\n    @shared_task(name='n')\n    def inner(x): return x\n    inner.delay(tenant_id=1)\n"
    "    class C(Task):\n        def run(self, *a): h.s(1)\n",
    # match, walrus, comprehensions, lambdas, try
    "match x:\n    case 1:\n        @app.task\n        def f(): pass\n    case [a, *_] if (y := g()):\n        @app.task\n        def f(): pass\n"
    "    case {'k': v, **rest}:\n        S = {'a': {'task': 'b'}}\n    case Point(x=0, y=True) | None:\n        pass\n    case _:\n        pass\n",
    "@app.task\ndef f(items):\n    match items:\n        case [first, *others]:\n            t.delay(tenant_id=first)\n"
    "        case {'k': v, **rest} if v.delay(tenant_id=v):\n            pass\n        case Point(x=0, y=None) as p:\n            pass\n"
    "        case str() | bytes():\n            pass\n    if (n := len(items)) > 1:\n        [t.delay(i) for i in items if i]\n"
    "    g = lambda x, *y, z=t.s(1), **w: x\n    {k: t.si(v) for k, v in items}\n",
    "try:\n    import a\nexcept ImportError as e:\n    @app.task\n    def f(): pass\nelse:\n    @app.task\n    def f(): pass\nfinally:\n"
    "    S = {'x': {'task': 'y'}}\nif a:\n    pass\nelif b:\n    @app.task\n    def g(): pass\nelse:\n    if c:\n        @app.task\n"
    "        def g(): pass\nfor i in x:\n    @app.task\n    def h(): pass\nelse:\n    B = 1\nwhile y:\n    Z = {'a': {}}\n",
    "@app.task\ndef f(ids):\n    global G\n    nonlocal_ = 1\n    try:\n        x = t.delay(tenant_id=1)\n    except (A, B) as e:\n"
    "        raise C from e\n    finally:\n        del x\n    for i in ids:\n        pass\n    else:\n        t.s()\n"
    "    q = ids\n    for j in q:\n        u.apply_async(args=(j,), kwargs={'tenant_id': j, **o})\n    assert x, y\n    yield from z\n",
    "@app.task\ndef f(a):\n    x = g(a=1, *b)\n    restore_tenant_context(tenant=a)\n    restore_tenant_context(*a)\n"
    "    spawn_tenant_tasks_with_rate_limiting(t)\n    Service(a).run()\n    x.y().z()\n    t.apply_async((1, 2), dict(**k, tenant_id=2))\n",
    "from ... import a\nfrom .b import *\nfrom .. c import d as e\nimport x.y.z, w as v\ndef f():\n    from q import *\n    import r.s as u\n",
    "app = Celery('x')\napp.config_from_object('django.conf:settings', namespace='CELERY')\napp.autodiscover_tasks()\n"
    "app.on_after_finalize.connect(setup)\napp.conf.beat_schedule['x'] = {'task': 'y', 'schedule': 1}\n"
    "CELERY_BEAT_SCHEDULE = {}\nCELERY_BEAT_SCHEDULE.update({'a': {'task': 'b'}})\n",
    "@app.task\ndef f(ids):\n    for i in ids:\n        from a import (\n            b,\n        )\n        t.delay(tenant_id=i)\n",
    "@app.task(name='a', name='b')\ndef f(): return g(a=1, a=2)\n",
    "# noqa\nimport x  # noqa: TSK001\n@app.task  # noqa:TSK002,BEAT001\ndef f(): pass\n",
    "",
    "\n\n",
    "x = 1",
    "@app.task\ndef f():\n    return t.delay(tenant_id=1)",
]

SYNTAX = [  # ast and libcst both reject these: the libcst path's SYN001 is kept
    b"def f(:\n    pass\n",
    b"x = (\n",
    b"x = 1\0\n",
    b"\xff\xfe = 1\n",
    b"# -*- coding: nope -*-\nx = 1\n",
    b"x = " + b"(" * 300 + b")" * 300 + b"\n",
]


def _sources():
    files = sorted((REPO / "celerylint").rglob("*.py")) + sorted((REPO / "examples").rglob("*.py"))
    files += sorted((REPO / "tests" / "fixtures").rglob("*.py"))
    return [pytest.param(p.read_bytes(), id=str(p.relative_to(REPO))) for p in files]


def _rule_examples():
    out = []
    for rule in all_rules():
        bad, good = rule.examples()
        for kind, examples in (("bad", bad), ("good", good)):
            for i, example in enumerate(examples):
                for path, source in example.files.items():
                    out.append(pytest.param(source.encode(), id=f"{rule.code}-{kind}-{i}-{path}"))
        for j, pair in enumerate(rule.fix_examples):
            for k, project in enumerate(pair):
                for path, source in _fix_files(project).items():
                    out.append(pytest.param(source.encode(), id=f"{rule.code}-fix-{j}-{k}-{path}"))
    return out


def _fix_files(project) -> dict:
    from celerylint.rules.base import parse_example

    if isinstance(project, dict):
        return project
    return parse_example(textwrap.dedent(project)).files


def _assert_equal(data: bytes, module: str = "proj.app.tasks", is_package: bool = False):
    status, notes = compare(data, module, is_package)
    if status in ("neither", "libcst-only"):  # SYN001's examples: newer syntax, or none
        assert extract(data, module, is_package) == extract_libcst(data, module, is_package)
        return
    assert status == "equal", "\n".join(notes)


@pytest.mark.parametrize("data", _sources())
def test_repository_sources(data):
    _assert_equal(data)


@pytest.mark.parametrize("data", _rule_examples())
def test_rule_examples(data):
    _assert_equal(data)


@pytest.mark.parametrize("source", TRICKY, ids=range(len(TRICKY)))
@pytest.mark.parametrize("module, is_package", [("proj.app.tasks", False), ("proj", True)])
def test_tricky_snippets(source, module, is_package):
    data = source if isinstance(source, bytes) else source.encode()
    assert extract_ast(data, module, is_package, strict=True) is not None
    _assert_equal(data, module, is_package)


@pytest.mark.parametrize("data", SYNTAX, ids=range(len(SYNTAX)))
def test_files_neither_parses_keep_the_libcst_syn001(data):
    assert extract_ast(data, "m", False) is None
    assert extract(data, "m", False) == extract_libcst(data, "m", False)
    assert extract(data, "m", False).error is not None


def test_newer_syntax_falls_back_to_libcst():
    """Python 3.14's unparenthesized `except A, B:` (and 3.12's `type X = ...`): ast on
    this interpreter rejects them, libcst parses them, and the facts come from libcst."""
    data = b"@app.task(name='n')\ndef f():\n    try:\n        g()\n    except A, B:\n        pass\n"
    reference = extract_libcst(data, "m", False)
    if reference.error is not None:  # pragma: no cover - a libcst without 3.14 syntax
        pytest.skip("this libcst does not parse 3.14 syntax")
    try:
        compile(data, "<t>", "exec", 0x400)
    except SyntaxError:
        assert extract_ast(data, "m", False) is None
    facts = extract(data, "m", False)
    assert facts.error is None and facts.functions[0].decorators[0].kwargs[0].name == "name"
    assert normalized(facts) == normalized(reference)


def test_identifiers_that_nfkc_changes_are_left_to_libcst():
    data = "ﬁx = 1\n@app.task\ndef ﬁ(): pass\n".encode()
    assert extract_ast(data, "m", False) is None
    assert extract(data, "m", False).functions[0].name == "ﬁ"
    # ... but such characters in strings and comments are fine
    data = "X = '𝓐'  # 𝓐\n@app.task(name=X)\ndef f(): pass\n".encode()
    assert extract_ast(data, "m", False) is not None
    _assert_equal(data)


def test_the_oracle_sees_positions_and_value_types():
    a = extract_ast(b"X = {'a': {'task': 1}}\n", "m", False)
    b = extract_ast(b"X = {'a': {'task': True}}\n", "m", False)
    c = extract_ast(b"X = {'a':  {'task': 1}}\n", "m", False)
    assert differences(normalized(a), normalized(b))  # Num(1) is not Num(True)
    assert differences(normalized(a), normalized(c))  # the same values elsewhere


def test_extract_uses_ast_first():
    data = TASKS.encode()
    facts = extract(data, "proj.app.tasks", False)
    assert normalized(facts) == normalized(extract_ast(data, "proj.app.tasks", False))


def test_files_only_ast_parses_get_facts():
    """A form feed before a block's first statement: Python accepts the file, libcst's
    tokenizer does not (SYN001 before ast came first); the ast facts are the file's."""
    data = b"@app.task\ndef g(ids):\n\x0c    x = 1\n    for i in ids:\n        t.delay(tenant_id=i)\n"
    compile(data, "<t>", "exec")
    assert extract_libcst(data, "m", False).error is not None
    facts = extract(data, "m", False)
    assert facts.error is None and [f.name for f in facts.functions] == ["g"]
    assert facts.enqueues[0].tenant == "given" and facts.span(facts.functions[0].loops[0].span)[::2] == (4, 5)
