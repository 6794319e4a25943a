"""The per-file pass: positions equal libcst's own PositionProvider, values fold as
documented, noqa comments and the byte prefilter behave."""

import pickle
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from libcst.metadata import MetadataWrapper, PositionProvider

from celerylint.facts.extract import extract
from celerylint.facts.model import UNKNOWN, BinOp, CallExpr, Join, Keyword, Num, Ref, Str
from celerylint.facts.prefilter import needs_parse, noqa_lines
from celerylint.facts.spans import compute_spans

REPO = Path(__file__).resolve().parent.parent

TRICKY = [
    "x = 1\r\ny = 'é'  # ünïcode\r\n@app.task(name='a')\r\ndef f():\r\n    pass\r\n",
    "def f(a,\n      b):\n\tif a:\n\t\treturn '''multi\nline''' + \\\n\t\t\t'x'\n",
    "@d1\n@d2.x(\n    1,\n)\nclass C(B):\n    name = f'{A}.b'\n",
    "s = {\n    'k': {'task': 'a' 'b', 'schedule': crontab(minute='*/5')},\n    **OTHER,\n}\n",
    "x = '😀😀'; y = \"z\"\n",
    # a loop whose block starts with a parenthesized import (its end is a RightParen)
    "for v in x:\n    from a import (\n        b,\n    )\n    c = 1\n",
]


def corpus():
    files = sorted((REPO / "celerylint").rglob("*.py")) + sorted((REPO / "examples").rglob("*.py"))
    return [text for text in (p.read_text() for p in files) if "=" in text] + TRICKY


@pytest.mark.parametrize("source", corpus(), ids=lambda s: str(hash(s)))
def test_positions_match_libcst_position_provider(source):
    tree = cst.parse_module(source)
    wrapper = MetadataWrapper(tree, unsafe_skip_copy=True)
    expected = wrapper.resolve(PositionProvider)
    wanted = {}

    class Collect(cst.CSTVisitor):
        def on_visit(self, node):
            if isinstance(node, (cst.Name, cst.SimpleString, cst.Decorator, cst.Call, cst.Dict, cst.Assign,
                                 cst.FormattedString, cst.ConcatenatedString, cst.Attribute, cst.For)):
                wanted[id(node)] = node
            return True

    tree.visit(Collect())
    got = compute_spans(tree, wanted)
    assert wanted
    for key, node in wanted.items():
        pos = expected[node]
        assert got[key] == (pos.start.line, pos.start.column + 1, pos.end.line, pos.end.column + 1), node


def test_values_fold_constants_and_keep_references():
    facts = extract(b"""
from .names import PREFIX
A = "x" + "y"
B = f"{PREFIX}.{A}"
C = 60 * 60 * 24
D = -5
E = {"k": {"task": "t", "schedule": C}}
F = __name__
""", "pkg.mod", False)
    assigns = facts.assigns
    assert assigns["A"] == BinOp("+", Str("x"), Str("y"))
    assert assigns["B"] == Join((Ref(("PREFIX",)), Str("."), Ref(("A",))))
    assert assigns["C"] == BinOp("*", BinOp("*", Num(60), Num(60)), Num(24))
    assert assigns["D"] == Num(-5)
    assert assigns["F"] == Str("pkg.mod")
    assert facts.imports["PREFIX"] == ("pkg", "names", "PREFIX")
    (item,) = assigns["E"].items
    assert item.key == Str("k") and facts.spans[item.key_span] == (7, 6, 7, 9)
    assert item.value.items[1].value == Ref(("C",))


def test_values_are_equal_only_to_values_of_their_type_and_unknown_is_one_object():
    assert Str("a") != Ref(("a",)) and Num(1) != Str(1) and Str("a") != ("a",)
    assert Str("a") == Str("a") and hash(Str("a")) == hash(Str("a"))
    assert not UNKNOWN and pickle.loads(pickle.dumps(UNKNOWN)) is UNKNOWN
    value = CallExpr(("crontab",), (Num(0),), (Keyword("hour", Str("*/2")),))
    again = pickle.loads(pickle.dumps(value))
    assert again == value and type(again) is CallExpr and type(again.kwargs[0].value) is Str


def test_relative_imports_in_packages_and_modules():
    init = extract(b"from .celery import app as celery_app\nfrom .. import up\n", "proj.sub", True)
    assert init.imports == {"celery_app": ("proj", "sub", "celery", "app"), "up": ("proj", "up")}
    mod = extract(b"from .celery import app\nimport a.b.c\nimport x.y as z\n", "proj.sub.mod", False)
    assert mod.imports == {"app": ("proj", "sub", "celery", "app"), "a": ("a",), "z": ("x", "y")}


def test_noqa_lines():
    marks = noqa_lines(b"a = 1  # noqa\nb = 2  # NOQA: beat001, TSK002\nc = 3\nd = 4  # noqa:BEAT005\n")
    assert marks == {1: None, 2: frozenset({"BEAT001", "TSK002"}), 4: frozenset({"BEAT005"})}
    assert noqa_lines(b"x = 1\r# noqa\r\n") == {2: None}  # old-Mac and Windows line ends


@pytest.mark.parametrize("source, relevant", [
    (b"from celery import shared_task\n", True),
    (b"@app.task\ndef f(): pass\n", True),
    (b"CELERY_BEAT_SCHEDULE = {}\n", True),
    (b"app = Celery('x')\n", True),
    (b"class Sync(BaseTask):\n    name = 'x'\n", True),
    (b"send_email.delay(1)\n", False),  # enqueue sites alone are parsed on demand
    (b"register = app.task(name='x')\nregister(f)\n", True),
    (b"retrying = app.task  # an alias\n", True),
    (b"scan.task = prowler_task\nassert scan.task.id == 1\n", False),  # a model field named task
    (b"class V(ViewSet[PaperlessTask]):\n    pass\n", False),
    (b"class Consumer(\n    Mixin,\n    ConsumeTaskMixin,\n):\n    pass\n", False),
    (b"def index(request):\n    return render(request, 'tasks.html')\n", False),
    (b"# celery is mentioned only in a comment\nx = 1\n", False),
    # crontabs (BEAT008) and django-celery-beat rows, by a name that neither "task" nor
    # "celery" finds: a re-exported crontab, a model fetched by its name alone
    (b"from proj.cron import crontab\nNIGHTLY = crontab(hour=5)\n", True),
    (b"CrontabSchedule = get('CrontabSchedule')\nCrontabSchedule.objects.create(hour=5)\n", True),
    (b"def crontab_help():\n    return 'man 5 crontab'\n", False),
])
def test_prefilter(source, relevant):
    assert needs_parse(source) is relevant


TENANCY_NAMES = ("TenantModel", "TenantAwareModel", "TenantManager")


def tenancy_regex(names: tuple[str, ...], tenant_model: str = "Tenant") -> "re.Pattern[bytes]":
    """What the tenancy probe decides, as one regex (the probe searches faster)."""
    import re

    from celerylint.facts.prefilter import TENANCY_LIBRARY_NEEDLES

    alternatives = [rb"^[ \t]+tenant(?:_id)?[ \t]*(?::[^=\n]*)?=[ \t]*[\w.]*(?:Field|Key)\("]
    alternatives += [rb"[(,=][ \t]*(?:\w+\.)*" + re.escape(n.encode()) + rb"\b" for n in names]
    alternatives += [rb"^class[ \t]+" + re.escape(tenant_model.encode()) + rb"\b"]
    alternatives += [re.escape(n) for n in TENANCY_LIBRARY_NEEDLES]
    return re.compile(b"|".join(alternatives), re.MULTILINE)


@pytest.mark.parametrize("source, expected", [
    (b"class Order(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n", True),
    (b"class Order(Model):\n    tenant_id: UUID = models.UUIDField()\n", True),
    (b"tenant = models.ForeignKey(Tenant)\n", False),  # not indented: not a field
    (b"class Order(Model):\n    self.tenant = models.ForeignKey(Tenant)\n", False),
    (b"class Order(TenantAwareModel):\n    pass\n", True),
    (b"class Order(base.TenantAwareModel, Mixin):\n    pass\n", True),
    (b"class Order(MyTenantAwareModel):\n    pass\n", False),
    (b"class Order(TenantAwareModels):\n    pass\n", False),
    (b"objects = TenantManager()\n", True),
    (b"TenantManager = None\n", False),  # a variable of that name
    (b"class Tenant(models.Model):\n    pass\n", True),
    (b"class TenantX(models.Model):\n    pass\n", False),
    (b"INSTALLED_APPS = ['django_tenants']\n", True),
    (b"def f(tenant):\n    return tenant\n", False),
    (b"x = 1\n", False),
    (b"# Tenant is the tenant model\n", False),
])
def test_the_tenancy_probe(source, expected):
    from celerylint.facts.prefilter import tenancy_probe

    assert tenancy_probe(TENANCY_NAMES)(source) is expected
    assert bool(tenancy_regex(TENANCY_NAMES).search(source)) is expected


_PROBE_PIECES = ["tenant", "tenant_id", "Tenant", "TenantModel", "TenantManager", "TenantAwareModel", "TenantModels",
                 "class", "models.", "x.", "Field(", "ForeignKey(", "UUIDField(", "Key(", ": UUID", ":", "=", "(", ",",
                 ")", " ", "\t", "\n", "\r\n", "    ", "_", "a", "1", "#", "django_tenants", "TENANT_APPS", "é",
                 "tenant = ", "tenant_id: int = ", "models.ForeignKey(", "\n    tenant", "class Tenant", "(TenantModel",
                 "= TenantManager(", "\nclass "]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PROBE_PIECES), max_size=24),
       st.sampled_from(["Tenant", "Organization", "Tenant_"]))
def test_the_tenancy_probe_decides_as_its_regex(pieces, tenant_model):
    from celerylint.facts.prefilter import tenancy_probe

    source = "".join(pieces).encode()
    assert tenancy_probe(TENANCY_NAMES, tenant_model)(source) == bool(
        tenancy_regex(TENANCY_NAMES, tenant_model).search(source)), source


@pytest.mark.parametrize("source, module, is_package, expected", [
    # aliases come along (a superset is harmless)
    (b"import os, shop.models as m\n", "shop.tasks", False, ("os", "shop.models", "m")),
    (b"from .models import (\n    Order,\n    Invoice as I,\n)\n", "shop.tasks", False,
     ("shop.models", "shop.models.Order", "shop.models.Invoice", "shop.models.I")),
    (b"from . import helpers\n", "shop", True, ("shop", "shop.helpers")),
    (b"from .. import x\n", "shop.tasks", False, ()),  # above the project's top package
    (b"def f():\n    from shop.services import run  # late import\n", "shop.tasks", False,
     ("shop.services", "shop.services.run")),
    (b"x = 'import os'\nimportant = 1\n", "shop.tasks", False, ()),
    (b"import a; import b\n", "m", False, ("a",)),  # the statement after `;` is not read (a subset is harmless too)
])
def test_imported_modules(source, module, is_package, expected):
    from celerylint.facts.prefilter import imported_modules

    assert imported_modules(source, module, is_package) == expected


_IMPORT_PIECES = ["import", "from", " ", "\t", "\n", "    ", ".", "..", "os", "a.b", "(", ")", ",", "as", "#", ";", "x",
                  "from .m import (", "import a\n", "imports", "'", "\\\n"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_IMPORT_PIECES), max_size=30))
def test_import_statements_are_found_as_a_line_anchored_regex_finds_them(pieces):
    import re

    from celerylint.facts.prefilter import _IMPORT, _import_statements

    source = "".join(pieces).encode()
    anchored = re.compile(rb"^" + _IMPORT.pattern, re.MULTILINE)
    assert [m.span() for m in _import_statements(source)] == [m.span() for m in anchored.finditer(source)], source
