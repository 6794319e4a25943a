#!/usr/bin/env python3
"""Generate a synthetic but realistic Django + Celery project for benchmarking celerylint.

    python benchmarks/generate.py OUTDIR --modules N [--seed S] [--orphans K]
    python benchmarks/generate.py --self-test

The project looks like a saleor/readthedocs-style monolith: one project package
(`<pkg>/settings.py` with a large `CELERY_BEAT_SCHEDULE`, `<pkg>/celery.py` with
`app = Celery(...)`), a `core` app (abstract tenant-scoped base model), a `tenants` app,
and many Django apps with models, views, serializers, admin, urls, services, utils,
forms, signals, management commands, migrations, tests and -- in some of them --
`tasks.py` (or a `tasks/` package) with `@shared_task` functions: tenant tasks
(`tenant_id=None` + `restore_tenant_context(tenant_id)`), global tasks and wrapper
tasks that fan out to every tenant through `spawn_tenant_tasks_with_rate_limiting`.
Views, services, signals, commands and tests enqueue them with `.delay`/`.apply_async`.

Every beat entry names a task that exists, except `--orphans` deliberate ones (default
2), recorded in `benchmark_manifest.json` at the root of OUTDIR together with the
counts. The output is a pure function of (modules, seed, orphans, GENERATOR_VERSION):
app `i` is generated from its own random stream, so a larger project begins with the
same apps as a smaller one of the same seed.

The code is meant to be clean under celerylint's rules: the expected findings are
the BEAT001 orphans listed in the manifest (and nothing else).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import random
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field

GENERATOR_VERSION = 1
MANIFEST = "benchmark_manifest.json"
PKG = "acme"  # the project package

# Needles whose frequency the generator reports (and which the README discusses).
NEEDLES = (b"shared_task", b".task", b"delay(", b"apply_async", b"BEAT_SCHEDULE", b"celery")

# ----------------------------------------------------------------------------- vocabulary

APP_WORDS = [
    "accounts", "billing", "orders", "catalog", "inventory", "shipping", "payments",
    "notifications", "reports", "crm", "support", "marketing", "documents", "analytics",
    "integrations", "webhooks", "search", "checkout", "pricing", "warehouse", "payroll",
    "expenses", "assets", "licensing", "audit", "comments", "attachments", "calendar",
    "scheduling", "projects", "timesheets", "contracts", "suppliers", "procurement",
    "returns", "loyalty", "reviews", "subscriptions", "invoicing", "tax", "ledger",
    "banking", "onboarding", "identity", "permissions", "messaging", "emails", "sms",
    "feeds", "media", "exports", "imports", "sync", "geo", "dashboards", "metrics",
    "alerts", "compliance", "kyc", "fraud", "risk", "quotes", "leads", "partners",
    "affiliates", "campaigns", "surveys", "workflows", "approvals", "tickets",
    "knowledge", "chat", "vendors", "fleet", "maintenance", "bookings", "rentals",
    "events", "venues", "courses", "enrollments", "grading", "giftcards", "discounts",
    "warranties", "fulfillment", "channels", "menus", "pages", "translations", "plugins",
    "apps_store", "stock", "tracking", "forecasting", "budgets", "treasury", "claims",
]
APP_QUALIFIERS = ["core", "api", "legacy", "ops", "internal", "partner", "retail", "b2b", "public", "admin_tools"]

NOUNS = [
    "Invoice", "Payment", "Order", "Customer", "Product", "Shipment", "Refund", "Subscription",
    "Coupon", "Report", "Notification", "Message", "Document", "Ticket", "Campaign", "Lead",
    "Contract", "Warehouse", "Supplier", "Employee", "Timesheet", "Expense", "Budget", "Asset",
    "License", "Webhook", "ExportJob", "ImportJob", "AuditEntry", "Comment", "Attachment",
    "Category", "Tag", "PriceList", "Discount", "Voucher", "Cart", "Address", "Profile", "Team",
    "Project", "Milestone", "Booking", "Venue", "Course", "Enrollment", "Review", "Survey",
    "Answer", "Approval", "Workflow", "Vendor", "Vehicle", "Route", "Claim", "Forecast",
    "Channel", "Menu", "Page", "Translation", "StockRecord", "Allocation", "Fulfillment",
    "GiftCard", "Warranty", "Partner", "Affiliate", "Commission", "Payout", "Statement",
    "LedgerEntry", "BankAccount", "Transfer", "Quote", "Deal", "Contact", "Segment",
    "Template", "Dashboard", "Widget", "Metric", "Alert", "Rule", "Check", "Incident",
]
GLOBAL_NOUNS = ["ExchangeRate", "Country", "Currency", "FeatureFlag", "SystemSetting",
                "HolidayCalendar", "TaxRate", "Timezone", "Region", "Carrier"]

VERBS_OBJ = ["recalculate", "refresh", "sync", "reindex", "render", "archive", "validate",
             "notify_owner_of", "export", "process", "enrich", "snapshot"]
VERBS_TENANT = ["sync", "rebuild", "recalculate", "expire", "reconcile", "digest", "cleanup",
                "aggregate", "refresh", "backfill"]
VERBS_GLOBAL = ["purge_stale", "refresh", "import", "rotate", "prune", "collect", "warm_cache_for",
                "publish", "send_daily_summary_of", "check_health_of"]

FIELD_POOL = [
    ("slug", 'models.SlugField(max_length=120, blank=True)'),
    ("description", 'models.TextField(blank=True)'),
    ("amount", 'models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))'),
    ("quantity", 'models.PositiveIntegerField(default=0)'),
    ("external_id", 'models.CharField(max_length=64, blank=True, db_index=True)'),
    ("metadata", 'models.JSONField(default=dict, blank=True)'),
    ("email", 'models.EmailField(blank=True)'),
    ("due_date", 'models.DateField(null=True, blank=True)'),
    ("priority", 'models.SmallIntegerField(default=0)'),
    ("currency", 'models.CharField(max_length=3, default="EUR")'),
    ("notes", 'models.TextField(blank=True, default="")'),
    ("reference", 'models.CharField(max_length=40, unique=True, null=True, blank=True)'),
    ("position", 'models.PositiveIntegerField(default=0, db_index=True)'),
    ("url", 'models.URLField(blank=True)'),
    ("weight", 'models.FloatField(null=True, blank=True)'),
    ("owner", 'models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, '
              'on_delete=models.SET_NULL, related_name="+")'),
    ("retries", 'models.PositiveSmallIntegerField(default=0)'),
    ("checksum", 'models.CharField(max_length=64, blank=True)'),
]

WORDS = ("the of and to in is for on that with by this be are from as at it not or an "
         "record value state tenant user request order item batch queue window limit "
         "cache report total update sync export import range period schedule").split()


def snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def plural(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey", "oy")):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def camel(word: str) -> str:
    return "".join(p.capitalize() for p in word.split("_"))


# ----------------------------------------------------------------------------- data model

@dataclass
class Model:
    name: str
    fields: list  # [(name, decl)]
    tenant: bool  # tenant-scoped
    via_base: bool  # tenant field inherited from core.models.TenantScopedModel
    parent: str | None = None  # FK to another model of the same app

    @property
    def snake(self) -> str:
        return snake(self.name)

    @property
    def plural(self) -> str:
        return plural(snake(self.name))


@dataclass
class Task:
    func: str
    name: str  # registered task name
    kind: str  # "object" (tenant, per object), "tenant" (tenant, whole tenant), "global", "wrapper"
    module: str  # dotted module
    rel: str  # file path relative to the project root
    model: Model | None = None
    target: "Task | None" = None  # a wrapper's tenant task
    bind: bool = False
    params: tuple = ()  # extra keyword params of global tasks: ((name, default), ...)


@dataclass
class App:
    index: int
    label: str
    models: list
    tenant_app: bool
    tasks: list = field(default_factory=list)
    task_modules: list = field(default_factory=list)  # (dotted, rel)
    funcs: set = field(default_factory=set)  # task function names, unique per app

    @property
    def dotted(self) -> str:
        return f"{PKG}.{self.label}"

    @property
    def path(self) -> str:
        return f"{PKG}/{self.label}"


class Project:
    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.tasks: list[Task] = []
        self.used_models: set = set()
        self.used_task_names: set = set()

    def add(self, rel: str, text: str) -> None:
        assert rel not in self.files, rel
        if not text.endswith("\n"):
            text += "\n"
        self.files[rel] = text

    @property
    def modules(self) -> int:
        return sum(1 for r in self.files if r.endswith(".py"))


# ----------------------------------------------------------------------------- small helpers

def sentence(rng: random.Random, lo: int = 5, hi: int = 12) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def comment_block(rng: random.Random, indent: str = "") -> list[str]:
    return [f"{indent}# {sentence(rng)}" for _ in range(rng.randint(1, 3))]


def units(rng: random.Random, lo: int, hi: int, big_p: float = 0.0, big: tuple = (0, 0)) -> int:
    """How many units (classes, functions, tests) a module gets: mostly lo..hi (skewed
    low), sometimes a large module."""
    if big_p and rng.random() < big_p:
        return rng.randint(*big)
    return lo + int((hi - lo) * rng.random() ** 1.6)


def header(rng: random.Random, doc: str) -> list[str]:
    lines = [f'"""{doc}"""', ""]
    if rng.random() < 0.5:
        lines += ["from __future__ import annotations", ""]
    return lines


# ----------------------------------------------------------------------------- models

STATUS = '[("draft", "Draft"), ("active", "Active"), ("done", "Done"), ("failed", "Failed")]'


def make_models(rng: random.Random, app_label: str, project: Project, tenant_app: bool, count: int) -> list[Model]:
    models = []
    nouns = rng.sample(NOUNS, k=min(len(NOUNS), count))
    for i in range(count):
        base = nouns[i % len(nouns)]
        if not tenant_app or rng.random() < 0.25:
            if rng.random() < 0.4:
                base = rng.choice(GLOBAL_NOUNS)
        name = base
        if name in project.used_models:
            name = camel(app_label) + base
        n = 2
        while name in project.used_models:
            name = f"{camel(app_label)}{base}{n}"
            n += 1
        project.used_models.add(name)
        tenant = tenant_app and base not in GLOBAL_NOUNS and rng.random() < 0.8
        fields = rng.sample(FIELD_POOL, k=rng.randint(3, 9))
        m = Model(name=name, fields=fields, tenant=tenant, via_base=tenant and rng.random() < 0.4)
        if models and rng.random() < 0.35:
            m.parent = rng.choice(models).name
        models.append(m)
    return models


def model_class(rng: random.Random, m: Model, all_models: dict) -> list[str]:
    base = "TenantScopedModel" if m.via_base else "TimeStampedModel" if rng.random() < 0.3 else "models.Model"
    lines = [f"class {m.name}QuerySet(models.QuerySet):",
             "    def active(self):",
             '        return self.filter(is_active=True)',
             "",
             "    def pending(self):",
             '        return self.filter(status="draft", processed_at__isnull=True)',
             "", "",
             f"class {m.name}({base}):"]
    if rng.random() < 0.6:
        lines += [f'    """{sentence(rng)}"""', ""]
    if m.tenant and not m.via_base:
        lines.append(f'    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, '
                     f'related_name="{m.plural}")')
    lines.append("    name = models.CharField(max_length=255)")
    lines.append('    status = models.CharField(max_length=16, choices=STATUS_CHOICES, default="draft")')
    lines.append("    is_active = models.BooleanField(default=True)")
    for fname, decl in m.fields:
        lines.append(f"    {fname} = {decl}")
    if m.parent:
        lines.append(f'    parent = models.ForeignKey({m.parent}, null=True, blank=True, on_delete=models.CASCADE, '
                     f'related_name="children_{m.plural}")')
    lines.append("    processed_at = models.DateTimeField(null=True, blank=True)")
    if base == "models.Model":
        lines.append("    created_at = models.DateTimeField(auto_now_add=True)")
        lines.append("    updated_at = models.DateTimeField(auto_now=True)")
    lines += ["", f"    objects = {m.name}QuerySet.as_manager()", "", "    class Meta:"]
    if m.via_base:
        lines.append("        abstract = False")
    lines.append('        ordering = ["-created_at"]')
    if m.tenant:
        lines.append('        indexes = [models.Index(fields=["tenant", "status"])]')
    lines += ["", "    def __str__(self):", "        return self.name", ""]
    lines += ["    def mark_processed(self, *, commit=True):",
              "        self.processed_at = timezone.now()",
              '        self.status = "done"',
              "        if commit:",
              '            self.save(update_fields=["processed_at", "status", "updated_at"])',
              ""]
    for meth in rng.sample(["is_overdue", "is_stale", "needs_review", "can_be_archived", "is_recent"],
                           k=rng.randint(0, 3)):
        lines += ["    @property", f"    def {meth}(self):"]
        lines += comment_block(rng, "        ")[:1]
        lines += ["        if not self.is_active:", "            return None",
                  "        delta = timezone.now() - self.created_at",
                  f"        return delta.days > {rng.randint(1, 90)}", ""]
    return lines


def models_module(rng: random.Random, app: App, all_models: dict, extra: int = 0) -> str:
    lines = header(rng, f"Models of the {app.label} app.")
    lines += ["from decimal import Decimal", "", "from django.conf import settings",
              "from django.db import models", "from django.utils import timezone", "",
              f"from {PKG}.core.models import TenantScopedModel, TimeStampedModel", "", "",
              f"STATUS_CHOICES = {STATUS}", "", ""]
    for m in app.models:
        lines += model_class(rng, m, all_models) + ["", ""]
    for i in range(extra):  # historical/reporting tables nobody touches from tasks
        m = Model(f"{camel(app.label)}History{i}", rng.sample(FIELD_POOL, k=rng.randint(4, 10)), False, False)
        lines += model_class(rng, m, all_models) + ["", ""]
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- tasks

def make_tasks(rng: random.Random, app: App, project: Project, dotted: str, rel: str, models: list,
               style: str) -> list[Task]:
    """Decide the tasks of one task module."""
    tasks: list[Task] = []
    funcs = app.funcs

    def reg_name(func: str, explicit: bool) -> str:
        # explicit: name="<label>.<func>" (or f"{TASK_PREFIX}.<func>"); else as Celery derives it
        return f"{app.label}.{func}" if explicit else f"{dotted}.{func}"

    def add(func: str, kind: str, model=None, target=None, params=()) -> Task | None:
        if func in funcs:
            return None
        explicit = rng.random() < (0.5 if style == "prefix" else 0.3)
        name = reg_name(func, explicit)
        if name in project.used_task_names:
            return None
        funcs.add(func)
        project.used_task_names.add(name)
        t = Task(func=func, name=name, kind=kind, module=dotted, rel=rel, model=model, target=target,
                 bind=rng.random() < 0.35, params=params)
        t.explicit = explicit  # type: ignore[attr-defined]
        tasks.append(t)
        return t

    tenant_models = [m for m in models if m.tenant]
    global_models = [m for m in models if not m.tenant]
    for m in tenant_models:
        if rng.random() < 0.8:
            for verb in rng.sample(VERBS_OBJ, k=rng.randint(1, 2)):
                add(f"{verb}_{m.snake}", "object", m)
        if rng.random() < 0.7:
            t = add(f"{rng.choice(VERBS_TENANT)}_{m.plural}", "tenant", m)
            if t is not None and rng.random() < 0.75:
                add(f"{t.func}_for_all_tenants", "wrapper", m, target=t)
    for m in global_models:
        if rng.random() < 0.8:
            add(f"{rng.choice(VERBS_GLOBAL)}_{m.plural}", "global", m,
                params=(("days", rng.choice([7, 14, 30, 90])),) if rng.random() < 0.5 else ())
    for _ in range(100):
        if len(tasks) >= 2 and rng.random() < 0.6:
            break
        add(f"{rng.choice(VERBS_GLOBAL)}_{app.label}_{rng.choice(['stats', 'caches', 'tokens', 'logs', 'sessions'])}",
            "global", None, params=(("batch_size", 500),))
    return tasks


def decorator(t: Task, style: str, rng: random.Random) -> str:
    args = []
    if getattr(t, "explicit", False):
        if style == "prefix":
            args.append(f'name=f"{{TASK_PREFIX}}.{t.func}"')
        else:
            args.append(f'name="{t.name}"')
    if t.bind:
        args.append("bind=True")
    extra = rng.random()
    if extra < 0.2:
        args.append("autoretry_for=(ConnectionError, TimeoutError)")
        args.append("retry_backoff=True")
    elif extra < 0.35:
        args.append("acks_late=True")
    elif extra < 0.45:
        args.append('rate_limit="30/m"')
    elif extra < 0.55:
        args.append(f"soft_time_limit={rng.choice([60, 300, 900])}")
    if t.kind == "wrapper" and rng.random() < 0.5:
        args.append('queue="periodic"')
    if t.kind == "global" and rng.random() < 0.3:
        args.append("ignore_result=True")
    deco = "app.task" if style == "app" else "shared_task"
    if not args and rng.random() < 0.5:
        return f"@{deco}"
    return f"@{deco}({', '.join(args)})"


def task_function(t: Task, style: str, rng: random.Random, has_utils: bool) -> list[str]:
    m = t.model
    self_ = ["self"] if t.bind else []
    lines = [decorator(t, style, rng)]
    if t.kind == "object":
        arg = f"{m.snake}_id"
        lines.append(f"def {t.func}({', '.join(self_ + [arg])}, *, tenant_id=None):")
        lines.append(f'    """{sentence(rng)}"""')
        lines.append("    restore_tenant_context(tenant_id)")
        lines += [
            "    try:",
            f"        obj = {m.name}.objects.get(pk={arg})",
            f"    except {m.name}.DoesNotExist:",
            f'        logger.warning("{m.snake} %s vanished before {t.func}", {arg})',
            "        return None",
        ]
        shape = rng.randint(0, 3)
        if shape == 0:
            lines += ["    if obj.status == \"done\":", "        return obj.pk",
                      "    result = {\"id\": obj.pk, \"name\": obj.name, \"status\": obj.status}",
                      "    obj.mark_processed()",
                      f'    logger.info("{t.func} done for %s", obj.pk)', "    return result"]
        elif shape == 1:
            lines += ["    with transaction.atomic():",
                      f"        locked = {m.name}.objects.select_for_update().get(pk=obj.pk)",
                      "        locked.metadata = dict(getattr(locked, \"metadata\", None) or {}, touched=True)" if
                      any(f == "metadata" for f, _ in m.fields) else "        locked.is_active = True",
                      "        locked.mark_processed(commit=False)",
                      "        locked.save()",
                      "    return locked.pk"]
        elif shape == 2 and t.bind:
            lines += ["    try:",
                      "        payload = services.build_payload(obj)",
                      "    except ConnectionError as exc:",
                      "        raise self.retry(exc=exc, countdown=30)",
                      "    obj.mark_processed()",
                      "    return payload"]
        else:
            lines += [f"    siblings = {m.name}.objects.filter(status=obj.status).exclude(pk=obj.pk)",
                      "    count = 0",
                      "    for sibling in siblings.iterator(chunk_size=200):",
                      "        if sibling.processed_at is None:",
                      "            sibling.mark_processed()",
                      "            count += 1",
                      f'    logger.info("{t.func}: %d siblings of %s processed", count, obj.pk)',
                      "    return count"]
    elif t.kind == "tenant":
        lines.append(f"def {t.func}({', '.join(self_ + ['*', 'tenant_id=None'])}):")
        if rng.random() < 0.5:
            lines.append(f'    """{sentence(rng)}"""')
        if rng.random() < 0.2:
            lines.append("    with tenant_context(tenant_id):")
            ind = "        "
        else:
            lines.append("    restore_tenant_context(tenant_id)")
            ind = "    "
        cutoff = rng.choice([1, 7, 30])
        lines += [f"{ind}cutoff = timezone.now() - timedelta(days={cutoff})",
                  f"{ind}qs = {m.name}.objects.filter(is_active=True, updated_at__lt=cutoff)",
                  f"{ind}total = 0",
                  f"{ind}for batch in chunked(qs.values_list(\"pk\", flat=True), 500):",
                  f"{ind}    updated = {m.name}.objects.filter(pk__in=batch).update(status=\"active\")",
                  f"{ind}    total += updated",
                  f'{ind}logger.info("{t.func}: %d rows for tenant %s", total, tenant_id)',
                  f"{ind}return total"]
    elif t.kind == "wrapper":
        target = t.target
        lines.append(f"def {t.func}({', '.join(self_)}):")
        lines.append(f'    """Fan out {target.func} to every active tenant."""')
        lines += ['    tenants = Tenant.objects.filter(is_active=True).only("id")',
                  "    spawn_tenant_tasks_with_rate_limiting(",
                  "        tenants,",
                  f"        {target.func},",
                  f'        "{target.name}",',
                  "    )"]
    else:  # global
        params = [f"{n}={d!r}" for n, d in t.params]
        lines.append(f"def {t.func}({', '.join(self_ + params)}):")
        if rng.random() < 0.5:
            lines.append(f'    """{sentence(rng)}"""')
        if m is not None:
            days = "days" if any(n == "days" for n, _ in t.params) else str(rng.choice([7, 30]))
            lines += [f"    cutoff = timezone.now() - timedelta(days={days})",
                      f"    deleted, _ = {m.name}.objects.filter(updated_at__lt=cutoff, is_active=False).delete()",
                      f'    logger.info("{t.func}: deleted %d rows", deleted)',
                      "    return deleted"]
        else:
            lines += ["    started = time.monotonic()",
                      "    stats = utils.collect_stats()" if has_utils and rng.random() < 0.5 else "    stats = {}",
                      '    cache.set(f"{__name__}.last_run", timezone.now().isoformat(), timeout=None)',
                      '    logger.info("%s finished in %.2fs: %s", __name__, time.monotonic() - started, stats)',
                      "    return stats"]
    return lines


def tasks_module(rng: random.Random, app: App, tasks: list[Task], style: str, has_utils: bool) -> str:
    models = sorted({t.model.name for t in tasks if t.model is not None})
    lines = header(rng, f"Celery tasks of the {app.label} app.")
    lines += ["import logging", "import time", "from datetime import timedelta", "",
              "from django.core.cache import cache", "from django.db import transaction",
              "from django.utils import timezone"]
    if style == "app":
        lines += [f"from {PKG}.celery import app"]
    else:
        lines += ["from celery import shared_task"]
    body: list[str] = []
    for t in tasks:  # a wrapper's target is always defined before the wrapper
        body += task_function(t, style, rng, has_utils) + ["", ""]
    text = "\n".join(body)
    runtime = [n for n in ("restore_tenant_context", "spawn_tenant_tasks_with_rate_limiting", "tenant_context")
               if n + "(" in text]
    if runtime:
        lines.append(f"from celerylint_runtime import {', '.join(runtime)}")
    lines.append("")
    if "chunked(" in text:
        lines.append(f"from {PKG}.core.utils import chunked")
    if "Tenant.objects" in text:
        lines.append(f"from {PKG}.tenants.models import Tenant")
    if "services." in text:
        lines.append(f"from {app.dotted} import services")
    if has_utils and "utils." in text:
        lines.append(f"from {app.dotted} import utils")
    if models:
        lines.append(f"from {app.dotted}.models import {', '.join(models)}")
    lines += ["", "logger = logging.getLogger(__name__)", ""]
    if style == "prefix":
        lines += [f'TASK_PREFIX = "{app.label}"', ""]
    lines.append("")
    lines += body
    # helper functions that are not tasks (realistic noise, module size)
    for i in range(units(rng, 0, 6, 0.02, (30, 80))):
        lines += [f"def _chunk_{i}(items, size=100):",
                  f'    """{sentence(rng)}"""',
                  "    bucket = []",
                  "    for item in items:",
                  "        bucket.append(item)",
                  "        if len(bucket) >= size:",
                  "            yield bucket",
                  "            bucket = []",
                  "    if bucket:",
                  "        yield bucket", "", ""]
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- call sites

def enqueue(t: Task, rng: random.Random, ind: str, obj: str, tenant_expr: str) -> list[str]:
    """One realistic enqueue of task `t` (already imported under its function name)."""
    if t.kind == "object":
        if rng.random() < 0.6:
            return [f"{ind}{t.func}.delay({obj}.pk, tenant_id=str({tenant_expr}))"]
        return [f"{ind}{t.func}.apply_async(",
                f"{ind}    args=[{obj}.pk],",
                f'{ind}    kwargs={{"tenant_id": str({tenant_expr})}},',
                f"{ind}    countdown={rng.choice([5, 10, 30, 60])},",
                f"{ind})"]
    if t.kind == "tenant":
        return [f"{ind}{t.func}.delay(tenant_id=str({tenant_expr}))"]
    if t.kind == "wrapper":
        return [f"{ind}{t.func}.delay()"]
    if rng.random() < 0.5:
        return [f"{ind}{t.func}.delay()"]
    return [f'{ind}{t.func}.apply_async(queue="low", countdown={rng.choice([0, 60, 300])})']


def pick_callable(rng: random.Random, tasks: list[Task], n: int) -> list[Task]:
    if not tasks:
        return []
    return rng.sample(tasks, k=min(n, len(tasks)))


def import_tasks(app: App, called: list[Task], rng: random.Random) -> list[str]:
    by_mod: dict[str, list[str]] = {}
    for t in called:
        by_mod.setdefault(t.module, [])
        if t.func not in by_mod[t.module]:
            by_mod[t.module].append(t.func)
    lines = []
    for mod, funcs in sorted(by_mod.items()):
        if mod.startswith(app.dotted + ".") and rng.random() < 0.6:
            rel = "." + mod[len(app.dotted) + 1:]
            lines.append(f"from {rel} import {', '.join(sorted(funcs))}")
        else:
            lines.append(f"from {mod} import {', '.join(sorted(funcs))}")
    return lines


# ----------------------------------------------------------------------------- other modules

def views_module(rng: random.Random, app: App, called: list[Task], n: int) -> str:
    lines = header(rng, f"HTTP views of the {app.label} app.")
    names = [m.name for m in app.models]
    lines += ["import logging", "",
              "from django.contrib.auth.decorators import login_required",
              "from django.db import transaction",
              "from django.http import JsonResponse",
              "from django.shortcuts import get_object_or_404",
              "from rest_framework import permissions, status, viewsets",
              "from rest_framework.decorators import action",
              "from rest_framework.response import Response", "",
              f"from .models import {', '.join(names)}",
              f"from .serializers import {', '.join(m.name + 'Serializer' for m in app.models)}"]
    lines += import_tasks(app, called, rng)
    lines += ["", "logger = logging.getLogger(__name__)", "", ""]
    calls = list(called)
    for i in range(n):
        m = app.models[i % len(app.models)]
        suffix = "" if i < len(app.models) else str(i)
        lines += [f"class {m.name}ViewSet{suffix}(viewsets.ModelViewSet):",
                  f"    serializer_class = {m.name}Serializer",
                  "    permission_classes = [permissions.IsAuthenticated]",
                  '    filterset_fields = ["status", "is_active"]',
                  '    ordering_fields = ["created_at", "name"]', "",
                  "    def get_queryset(self):",
                  f"        qs = {m.name}.objects.all()"]
        if m.tenant:
            lines.append("        qs = qs.filter(tenant=self.request.tenant)")
        lines += ['        if self.request.query_params.get("active") == "1":',
                  "            qs = qs.active()",
                  '        return qs.order_by("-created_at")', ""]
        t = calls.pop() if calls else None
        lines += ["    def perform_create(self, serializer):"]
        if m.tenant:
            lines.append("        instance = serializer.save(tenant=self.request.tenant)")
        else:
            lines.append("        instance = serializer.save()")
        lines.append('        logger.info("created %s %s", type(instance).__name__, instance.pk)')
        if t is not None:
            lines += enqueue(t, rng, "        ", "instance", "self.request.tenant.id")
        lines += ["",
                  '    @action(detail=True, methods=["post"])',
                  "    def archive(self, request, pk=None):",
                  "        obj = self.get_object()",
                  "        with transaction.atomic():",
                  "            obj.is_active = False",
                  '            obj.save(update_fields=["is_active", "updated_at"])',
                  "        return Response(self.get_serializer(obj).data, status=status.HTTP_200_OK)",
                  "", ""]
    for j in range(rng.randint(0, 3)):
        m = rng.choice(app.models)
        lines += ["@login_required",
                  f"def {m.snake}_summary_{j}(request, pk):",
                  f"    obj = get_object_or_404({m.name}, pk=pk)",
                  "    data = {",
                  '        "id": obj.pk,',
                  '        "name": obj.name,',
                  '        "status": obj.status,',
                  '        "active": obj.is_active,',
                  "    }",
                  "    return JsonResponse(data)", "", ""]
    return "\n".join(lines).rstrip() + "\n"


def serializers_module(rng: random.Random, app: App, n_extra: int) -> str:
    lines = header(rng, f"REST serializers of the {app.label} app.")
    lines += ["from rest_framework import serializers", "",
              f"from .models import {', '.join(m.name for m in app.models)}", "", ""]
    for m in app.models:
        fields = ["id", "name", "status", "is_active"] + [f for f, _ in m.fields if f != "owner"][:5]
        lines += [f"class {m.name}Serializer(serializers.ModelSerializer):"]
        if rng.random() < 0.5:
            lines += ["    display = serializers.SerializerMethodField()", ""]
        lines += ["    class Meta:", f"        model = {m.name}",
                  f"        fields = {fields!r}",
                  '        read_only_fields = ["id"]', "",
                  "    def validate_name(self, value):",
                  "        value = value.strip()",
                  "        if not value:",
                  '            raise serializers.ValidationError("name must not be blank")',
                  "        return value", ""]
        if "display" in lines[-14] or rng.random() < 0.3:
            lines += ["    def get_display(self, obj):",
                      '        return f"{obj.name} ({obj.status})"', ""]
        lines += [""]
    for i in range(n_extra):
        lines += [f"class Bulk{app.models[i % len(app.models)].name}Serializer{i}(serializers.Serializer):",
                  "    ids = serializers.ListField(child=serializers.IntegerField(), max_length=500)",
                  "    reason = serializers.CharField(required=False, allow_blank=True)", "",
                  "    def validate_ids(self, value):",
                  "        if len(set(value)) != len(value):",
                  '            raise serializers.ValidationError("duplicate ids")',
                  "        return value", "", ""]
    return "\n".join(lines).rstrip() + "\n"


def admin_module(rng: random.Random, app: App) -> str:
    lines = ["from django.contrib import admin", "",
             f"from .models import {', '.join(m.name for m in app.models)}", "", ""]
    for m in app.models:
        lines += [f"@admin.register({m.name})", f"class {m.name}Admin(admin.ModelAdmin):",
                  '    list_display = ("name", "status", "is_active", "created_at")',
                  '    list_filter = ("status", "is_active")',
                  '    search_fields = ("name",)']
        if m.tenant:
            lines.append('    raw_id_fields = ("tenant",)')
        if rng.random() < 0.4:
            lines += ["    actions = [\"mark_inactive\"]", "",
                      '    @admin.action(description="Mark selected as inactive")',
                      "    def mark_inactive(self, request, queryset):",
                      "        updated = queryset.update(is_active=False)",
                      '        self.message_user(request, f"{updated} rows updated")']
        lines += ["", ""]
    return "\n".join(lines).rstrip() + "\n"


def urls_module(rng: random.Random, app: App, api: bool = False) -> str:
    lines = ["from django.urls import include, path", "from rest_framework.routers import DefaultRouter", "",
             "from . import views", "", f'app_name = "{app.label}"', "", "router = DefaultRouter()"]
    for m in app.models:
        lines.append(f'router.register(r"{m.plural}", views.{m.name}ViewSet, basename="{m.snake}")')
    lines += ["", "urlpatterns = [", '    path("", include(router.urls)),', "]"]
    return "\n".join(lines) + "\n"


def services_module(rng: random.Random, app: App, called: list[Task], n: int, name: str) -> str:
    lines = header(rng, f"Business logic of the {app.label} app ({name}).")
    lines += ["import logging", "from dataclasses import dataclass", "from decimal import Decimal", "",
              "from django.db import transaction", "from django.utils import timezone", "",
              f"from .models import {', '.join(m.name for m in app.models)}"]
    lines += import_tasks(app, called, rng)
    lines += ["", "logger = logging.getLogger(__name__)", "", ""]
    if name == "services":
        lines += ["def build_payload(obj):",
                  '    """The JSON payload pushed to integrations."""',
                  '    return {"id": obj.pk, "name": obj.name, "status": obj.status,',
                  '            "updated": obj.updated_at.isoformat() if obj.updated_at else None}', "", ""]
    lines += ["@dataclass(frozen=True)", "class Outcome:", "    ok: bool", "    count: int = 0",
              '    detail: str = ""', "", ""]
    calls = list(called)
    for i in range(n):
        m = app.models[i % len(app.models)]
        fn = f"{rng.choice(['approve', 'close', 'reopen', 'assign', 'merge', 'split', 'price', 'apply'])}_{m.snake}_{i}"
        tenant_arg = ", tenant" if m.tenant else ""
        lines += [f"def {fn}({m.snake}_id{tenant_arg}, *, user=None, dry_run=False):",
                  f'    """{sentence(rng)}"""']
        lines += comment_block(rng, "    ")[:rng.randint(0, 2)]
        if m.tenant:
            lines.append(f"    qs = {m.name}.objects.filter(tenant=tenant)")
        else:
            lines.append(f"    qs = {m.name}.objects.all()")
        lines += [f"    obj = qs.filter(pk={m.snake}_id).first()",
                  "    if obj is None:",
                  '        return Outcome(ok=False, detail="not found")',
                  "    if dry_run:",
                  "        return Outcome(ok=True)",
                  "    with transaction.atomic():",
                  '        obj.status = "active"',
                  "        obj.save()"]
        t = calls.pop() if calls else None
        if t is not None:
            tenant_expr = "tenant.id" if m.tenant else "obj.tenant_id" if t.model and t.model.tenant else "obj.pk"
            if t.kind in ("object", "tenant") and not m.tenant:
                tenant_expr = "user.tenant_id"
            if t.kind == "object" and rng.random() < 0.5:
                lines += enqueue(t, rng, "    ", "obj", tenant_expr)
            else:
                call = enqueue(t, rng, "", "obj", tenant_expr)
                if len(call) == 1:
                    lines += ["    transaction.on_commit(", "        lambda: " + call[0], "    )"]
                else:
                    lines += ["    " + c for c in call]
        lines += [f'    logger.info("{fn}: %s by %s", obj.pk, user)',
                  "    return Outcome(ok=True, count=1)", "", ""]
    return "\n".join(lines).rstrip() + "\n"


def utils_module(rng: random.Random, app: App, n: int) -> str:
    lines = header(rng, f"Helpers of the {app.label} app.")
    lines += ["import hashlib", "import re", "from datetime import datetime, timedelta", "", ""]
    lines += ["def collect_stats():", '    """Cheap counters for the periodic health log."""',
              '    return {"generated_at": datetime.utcnow().isoformat()}', "", ""]
    for i in range(n):
        kind = rng.randint(0, 3)
        if kind == 0:
            lines += [f"def normalise_{rng.choice(WORDS)}_{i}(value: str) -> str:",
                      f'    """{sentence(rng)}"""',
                      "    value = value.strip().lower()",
                      '    value = re.sub(r"[^a-z0-9]+", "-", value)',
                      '    return value.strip("-")', "", ""]
        elif kind == 1:
            lines += [f"def digest_{i}(*parts) -> str:",
                      "    h = hashlib.sha256()",
                      "    for part in parts:",
                      '        h.update(str(part).encode("utf-8"))',
                      '        h.update(b"\\x00")',
                      "    return h.hexdigest()", "", ""]
        elif kind == 2:
            lines += [f"def business_days_{i}(start: datetime, days: int) -> datetime:",
                      "    current = start",
                      "    while days > 0:",
                      "        current += timedelta(days=1)",
                      "        if current.weekday() < 5:",
                      "            days -= 1",
                      "    return current", "", ""]
        else:
            lines += [f"class Cache{i}:",
                      f'    """{sentence(rng)}"""', "",
                      "    def __init__(self, size=128):",
                      "        self.size = size",
                      "        self._data = {}", "",
                      "    def get(self, key, default=None):",
                      "        return self._data.get(key, default)", "",
                      "    def put(self, key, value):",
                      "        if len(self._data) >= self.size:",
                      "            self._data.pop(next(iter(self._data)))",
                      "        self._data[key] = value", "", ""]
    return "\n".join(lines).rstrip() + "\n"


def forms_module(rng: random.Random, app: App) -> str:
    lines = ["from django import forms", "", f"from .models import {', '.join(m.name for m in app.models)}", "", ""]
    for m in app.models:
        lines += [f"class {m.name}Form(forms.ModelForm):", "    class Meta:", f"        model = {m.name}",
                  '        fields = ["name", "status", "is_active"]', "",
                  "    def clean_name(self):",
                  '        name = self.cleaned_data["name"]',
                  "        if len(name) < 3:",
                  '            raise forms.ValidationError("too short")',
                  "        return name", "", ""]
    return "\n".join(lines).rstrip() + "\n"


def signals_module(rng: random.Random, app: App, called: list[Task]) -> str:
    lines = ["import logging", "", "from django.db import transaction",
             "from django.db.models.signals import post_delete, post_save",
             "from django.dispatch import receiver", "",
             f"from .models import {', '.join(m.name for m in app.models)}"]
    lines += import_tasks(app, called, rng)
    lines += ["", "logger = logging.getLogger(__name__)", "", ""]
    calls = list(called)
    for m in app.models:
        t = calls.pop() if calls and (m.tenant or calls[-1].kind in ("global", "wrapper")) else None
        lines += [f"@receiver(post_save, sender={m.name})",
                  f"def on_{m.snake}_saved(sender, instance, created, **kwargs):",
                  "    if not created:",
                  "        return"]
        if t is not None and (m.tenant or t.kind in ("global", "wrapper")):
            call = enqueue(t, rng, "", "instance", "instance.tenant_id")
            if len(call) == 1:
                lines += ["    transaction.on_commit(", "        lambda: " + call[0], "    )"]
            else:
                lines += ["    " + c for c in call]
        else:
            lines.append(f'    logger.debug("{m.snake} created: %s", instance.pk)')
        lines += ["", "", f"@receiver(post_delete, sender={m.name})",
                  f"def on_{m.snake}_deleted(sender, instance, **kwargs):",
                  f'    logger.info("{m.snake} %s deleted", instance.pk)', "", ""]
    return "\n".join(lines).rstrip() + "\n"


def command_module(rng: random.Random, app: App, called: list[Task], name: str) -> str:
    lines = ["from django.core.management.base import BaseCommand, CommandError", "",
             f"from {PKG}.tenants.models import Tenant"]
    lines += import_tasks(app, called, rng)
    lines += ["", "",
              "class Command(BaseCommand):",
              f'    help = "{sentence(rng)}"', "",
              "    def add_arguments(self, parser):",
              '        parser.add_argument("--tenant", help="slug of one tenant")',
              '        parser.add_argument("--dry-run", action="store_true")', "",
              "    def handle(self, *args, **options):",
              "        tenants = Tenant.objects.filter(is_active=True)",
              '        if options["tenant"]:',
              '            tenants = tenants.filter(slug=options["tenant"])',
              "            if not tenants.exists():",
              '                raise CommandError("no such tenant")']
    for t in called:
        if t.kind == "tenant":
            lines += ["        for tenant in tenants:",
                      '            if options["dry_run"]:',
                      '                self.stdout.write(f"would run for {tenant.slug}")',
                      "                continue"]
            lines += enqueue(t, rng, "            ", "tenant", "tenant.id")
        elif t.kind in ("global", "wrapper"):
            lines += enqueue(t, rng, "        ", "tenant", "tenant.id")
    lines += ['        self.stdout.write(self.style.SUCCESS("done"))']
    return "\n".join(lines) + "\n"


def tests_module(rng: random.Random, app: App, n: int, topic: str) -> str:
    lines = ["import pytest", "",
             f"from {app.dotted}.models import {', '.join(m.name for m in app.models)}",
             "", "pytestmark = pytest.mark.django_db", "", ""]
    if rng.random() < 0.4:
        lines += ["@pytest.fixture", "def payload():",
                  f'    return {{"name": "{rng.choice(WORDS)}", "status": "draft", "is_active": True}}', "", ""]
    for i in range(n):
        m = app.models[i % len(app.models)]
        lines += [f"def test_{m.snake}_{topic}_{i}({'tenant' if m.tenant else 'db'}):"]
        if m.tenant:
            lines.append(f'    obj = {m.name}.objects.create(name="item-{i}", tenant=tenant)')
        else:
            lines.append(f'    obj = {m.name}.objects.create(name="item-{i}")')
        lines += ["    assert str(obj) == obj.name",
                  "    assert obj.is_active"]
        if rng.random() < 0.5:
            lines += ['    obj.status = "failed"',
                      "    obj.save()",
                      f'    assert {m.name}.objects.filter(status="failed").count() == 1']
        else:
            lines += ["    obj.mark_processed()",
                      "    obj.refresh_from_db()",
                      '    assert obj.status == "done"',
                      "    assert obj.processed_at is not None"]
        lines += ["", ""]
    return "\n".join(lines).rstrip() + "\n"


def migration_initial(rng: random.Random, app: App) -> str:
    lines = ["from decimal import Decimal", "", "import django.db.models.deletion",
             "from django.conf import settings", "from django.db import migrations, models", "", "",
             "class Migration(migrations.Migration):", "", "    initial = True", "",
             "    dependencies = [",
             '        ("tenants", "0001_initial"),',
             "        migrations.swappable_dependency(settings.AUTH_USER_MODEL),",
             "    ]", "", "    operations = ["]
    for m in app.models:
        lines += ["        migrations.CreateModel(",
                  f'            name="{m.name}",',
                  "            fields=[",
                  '                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),',
                  '                ("name", models.CharField(max_length=255)),',
                  '                ("status", models.CharField(default="draft", max_length=16)),',
                  '                ("is_active", models.BooleanField(default=True)),']
        for f, decl in m.fields:
            if f == "owner":
                decl = ('models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, '
                        'related_name="+", to=settings.AUTH_USER_MODEL)')
            lines.append(f'                ("{f}", {decl}),')
        lines += ['                ("processed_at", models.DateTimeField(blank=True, null=True)),',
                  '                ("created_at", models.DateTimeField(auto_now_add=True)),',
                  '                ("updated_at", models.DateTimeField(auto_now=True)),']
        if m.tenant:
            lines.append('                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, '
                         f'related_name="{m.plural}", to="tenants.tenant")),')
        lines += ["            ],", '            options={"ordering": ["-created_at"]},', "        ),"]
    lines += ["    ]"]
    return "\n".join(lines) + "\n"


def migration_step(rng: random.Random, app: App, number: int) -> str:
    prev = "0001_initial" if number == 2 else f"{number - 1:04d}_auto"
    lines = ["from django.db import migrations, models", ""]
    data = rng.random() < 0.2
    if data:
        m = rng.choice(app.models)
        lines += ["", "def forwards(apps, schema_editor):",
                  f'    Model = apps.get_model("{app.label}", "{m.name}")',
                  '    for obj in Model.objects.filter(status="").iterator():',
                  '        obj.status = "draft"',
                  '        obj.save(update_fields=["status"])', "", "",
                  "def backwards(apps, schema_editor):", "    pass"]
    lines += ["", "", "class Migration(migrations.Migration):", "",
              f'    dependencies = [("{app.label}", "{prev}")]', "", "    operations = ["]
    for _ in range(rng.randint(1, 5)):
        m = rng.choice(app.models)
        op = rng.randint(0, 2)
        if op == 0:
            lines += ["        migrations.AddField(", f'            model_name="{m.name.lower()}",',
                      f'            name="extra_{rng.randint(1, 999)}",',
                      '            field=models.CharField(blank=True, default="", max_length=64),', "        ),"]
        elif op == 1:
            lines += ["        migrations.AlterField(", f'            model_name="{m.name.lower()}",',
                      '            name="name",', "            field=models.CharField(max_length=255, db_index=True),",
                      "        ),"]
        else:
            lines += ["        migrations.AddIndex(", f'            model_name="{m.name.lower()}",',
                      f'            index=models.Index(fields=["status", "created_at"], name="{m.name.lower()[:10]}_st_{rng.randint(100, 999)}"),',
                      "        ),"]
    if data:
        lines.append("        migrations.RunPython(forwards, backwards),")
    lines.append("    ]")
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- one app

def generate_app(seed: int, index: int, label: str, project: Project, budget: int) -> App:
    rng = random.Random(f"{seed}:{index}:{label}")
    tenant_app = rng.random() < 0.6
    size = rng.random()
    # app size class: most apps are small-to-medium, a few are huge
    if size < 0.55:
        n_models = rng.randint(2, 4)
        n_tests, n_migr, extra_pkgs = rng.randint(1, 4), rng.randint(1, 6), 0
    elif size < 0.9:
        n_models = rng.randint(3, 7)
        n_tests, n_migr, extra_pkgs = rng.randint(3, 9), rng.randint(3, 15), rng.randint(0, 2)
    else:
        n_models = rng.randint(6, 12)
        n_tests, n_migr, extra_pkgs = rng.randint(8, 25), rng.randint(10, 40), rng.randint(2, 6)
    if budget < 60:  # the last app of a project: keep within the module budget
        n_tests, n_migr, extra_pkgs = min(n_tests, 2), min(n_migr, 2), 0
    models = make_models(rng, label, project, tenant_app, n_models)
    app = App(index=index, label=label, models=models, tenant_app=tenant_app)
    p = app.path
    add = project.add

    has_utils = rng.random() < 0.6
    if rng.random() < 0.25 and extra_pkgs == 0:
        extra_pkgs = 1
    subpkgs = ["api", "integrations", "reporting", "importers", "exporters", "graphql"][:extra_pkgs]
    # tasks: most apps have a tasks module; the biggest ones a tasks/ package; some
    # subpackages (integrations, importers, ...) their own tasks.py
    has_tasks = rng.random() < (0.6 if size < 0.9 else 0.9)
    task_list: list[Task] = []
    style = "app" if rng.random() < 0.12 else "prefix" if rng.random() < 0.12 else "shared"
    for sub in subpkgs:
        if rng.random() < 0.4:
            dotted, rel = f"{app.dotted}.{sub}.tasks", f"{p}/{sub}/tasks.py"
            ts = make_tasks(rng, app, project, dotted, rel, rng.sample(models, k=rng.randint(1, len(models))), style)
            add(rel, tasks_module(rng, app, ts, style, has_utils))
            task_list += ts
            app.task_modules.append((dotted, rel))
    if has_tasks:
        if size >= 0.9 and rng.random() < 0.6:
            parts = rng.randint(2, 4)
            groups = [models[i::parts] for i in range(parts)]
            add(f"{p}/tasks/__init__.py", "")
            for gi, group in enumerate(groups):
                if not group:
                    continue
                sub = ["periodic", "sync", "notifications", "maintenance"][gi]
                dotted, rel = f"{app.dotted}.tasks.{sub}", f"{p}/tasks/{sub}.py"
                ts = make_tasks(rng, app, project, dotted, rel, group, style)
                add(rel, tasks_module(rng, app, ts, style, has_utils))
                task_list += ts
                app.task_modules.append((dotted, rel))
        else:
            dotted, rel = f"{app.dotted}.tasks", f"{p}/tasks.py"
            ts = make_tasks(rng, app, project, dotted, rel, models, style)
            add(rel, tasks_module(rng, app, ts, style, has_utils))
            task_list += ts
            app.task_modules.append((dotted, rel))
    app.tasks = task_list
    project.tasks += task_list

    # the plumbing every app has
    add(f"{p}/__init__.py", "")
    add(f"{p}/apps.py", "from django.apps import AppConfig\n\n\n"
        f"class {camel(label)}Config(AppConfig):\n"
        f'    default_auto_field = "django.db.models.BigAutoField"\n'
        f'    name = "{app.dotted}"\n'
        f'    label = "{label}"\n'
        + ("\n    def ready(self):\n        from . import signals  # noqa: F401\n" if rng.random() < 0.3 else ""))
    all_models = {m.name: m for m in models}
    add(f"{p}/models.py", models_module(rng, app, all_models,
                                        extra=rng.randint(15, 45) if rng.random() < 0.03 else 0))

    # call sites: which tasks get enqueued where
    callable_here = [t for t in task_list]
    add(f"{p}/views.py", views_module(rng, app, pick_callable(rng, callable_here, rng.randint(0, 3))
                                      if rng.random() < 0.5 else [],
                                      units(rng, len(models), len(models) * 4, 0.02, (40, 90))))
    add(f"{p}/serializers.py", serializers_module(rng, app, units(rng, 0, 6, 0.01, (60, 140))))
    add(f"{p}/admin.py", admin_module(rng, app))
    add(f"{p}/urls.py", urls_module(rng, app))
    svc_calls = pick_callable(rng, callable_here, rng.randint(0, 2)) if rng.random() < 0.6 else []
    svc_calls = [t for t in svc_calls if t.kind != "object" or t.model.tenant]
    add(f"{p}/services.py", services_module(rng, app, svc_calls, units(rng, 3, 22, 0.03, (45, 110)), "services"))
    if has_utils:
        add(f"{p}/utils.py", utils_module(rng, app, units(rng, 3, 24, 0.02, (60, 150))))
    if rng.random() < 0.5:
        add(f"{p}/forms.py", forms_module(rng, app))
    if rng.random() < 0.35:
        sig_calls = pick_callable(rng, callable_here, 1) if rng.random() < 0.4 else []
        add(f"{p}/signals.py", signals_module(rng, app, sig_calls))
    if rng.random() < 0.3:
        add(f"{p}/constants.py", "\n".join(f'{w.upper()}_{i} = "{label}.{w}.{i}"'
                                           for i, w in enumerate(rng.sample(WORDS, 8))) + "\n")
    for sub in subpkgs:
        add(f"{p}/{sub}/__init__.py", "")
        for k in range(rng.randint(2, 8)):
            name = ["handlers", "clients", "mutations", "queries", "schema", "mapping", "builders", "helpers"][k]
            calls = pick_callable(rng, callable_here, 1) if rng.random() < 0.12 else []
            calls = [t for t in calls if t.kind != "object" or t.model.tenant]
            add(f"{p}/{sub}/{name}.py", services_module(rng, app, calls, units(rng, 2, 20, 0.03, (45, 120)), name))
    if rng.random() < 0.3:
        add(f"{p}/management/__init__.py", "")
        add(f"{p}/management/commands/__init__.py", "")
        for k in range(rng.randint(1, 3)):
            calls = pick_callable(rng, [t for t in callable_here if t.kind != "object"], 1) \
                if rng.random() < 0.5 else []
            add(f"{p}/management/commands/{label}_{['sync', 'repair', 'report'][k]}.py",
                command_module(rng, app, calls, label))
    # migrations
    add(f"{p}/migrations/__init__.py", "")
    add(f"{p}/migrations/0001_initial.py", migration_initial(rng, app))
    for k in range(2, n_migr + 1):
        name = "0002_auto" if k == 2 else f"{k:04d}_auto"
        add(f"{p}/migrations/{name}.py", migration_step(rng, app, k))
    # tests
    add(f"{p}/tests/__init__.py", "")
    topics = ["models", "views", "api", "services", "serializers", "admin", "forms", "permissions",
              "filters", "utils", "signals", "integration", "regressions", "queries", "exports"]
    for k in range(n_tests):
        topic = topics[k % len(topics)] + ("" if k < len(topics) else f"_{k}")
        add(f"{p}/tests/test_{topic}.py",
            tests_module(rng, app, units(rng, 4, 36, 0.015, (120, 260)), topic))
    if task_list:
        obj_tasks = [t for t in task_list if t.kind == "object" and t.model.name in all_models]
        other = [t for t in task_list if t.kind != "object"]
        tested = obj_tasks[:3] + other[:3]
        add(f"{p}/tests/test_tasks.py", tests_module_tasks(rng, app, tested))
    return app


def tests_module_tasks(rng: random.Random, app: App, tested: list[Task]) -> str:
    lines = ["from unittest import mock", "", "import pytest", "",
             f"from {app.dotted}.models import {', '.join(sorted({m.name for m in app.models}))}"]
    lines += import_tasks(app, tested, rng)
    lines += ["", "pytestmark = pytest.mark.django_db", "", ""]
    for i, t in enumerate(tested):
        if t.kind == "object":
            lines += [f"def test_{t.func}_runs_in_tenant(tenant):",
                      f'    obj = {t.model.name}.objects.create(name="x", tenant=tenant)',
                      f"    {t.func}(obj.pk, tenant_id=str(tenant.id))" if not t.bind else
                      f"    {t.func}.apply(args=[obj.pk], kwargs={{\"tenant_id\": str(tenant.id)}})",
                      "    obj.refresh_from_db()",
                      "    assert obj.processed_at is not None or obj.is_active", "", ""]
        elif t.kind == "wrapper":
            lines += [f'@mock.patch("{t.module}.spawn_tenant_tasks_with_rate_limiting")',
                      f"def test_{t.func}_fans_out(spawn, tenant):",
                      f"    {t.func}()" if not t.bind else f"    {t.func}.apply()",
                      "    spawn.assert_called_once()", "", ""]
        elif t.kind == "tenant":
            lines += [f"def test_{t.func}(tenant):",
                      f"    result = {t.func}.apply(kwargs={{\"tenant_id\": str(tenant.id)}}).get()",
                      "    assert result >= 0", "", ""]
        else:
            lines += [f"def test_{t.func}():",
                      f"    result = {t.func}.apply().get()",
                      "    assert result is not None", "", ""]
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- project level

def app_labels(count: int) -> list[str]:
    labels = list(APP_WORDS)
    q = 0
    while len(labels) < count:
        for w in APP_WORDS:
            labels.append(f"{w}_{APP_QUALIFIERS[q % len(APP_QUALIFIERS)]}" if q < len(APP_QUALIFIERS)
                          else f"{w}_{q}")
            if len(labels) >= count:
                break
        q += 1
    return labels[:count]


def minutes_of_week(minute: int, hour: int, dows: tuple | None) -> list[int]:
    days = dows if dows is not None else tuple(range(7))
    return [d * 1440 + hour * 60 + minute for d in days]


def build_beat(rng: random.Random, tasks: list[Task], per_tasks: int, orphans: int,
               used_names: set) -> tuple[list[dict], list[dict]]:
    """Beat entries (dicts with key, task, schedule source, ...) and the orphans."""
    eligible = [t for t in tasks if t.kind in ("global", "wrapper")]
    count = min(len(eligible), max(5, round(len(tasks) / per_tasks)))
    chosen = rng.sample(eligible, k=count)
    # crontab occupancy: never more than 3 entries in one minute of the week (no BEAT005)
    occupancy: dict[int, int] = {}
    entries = []
    for t in chosen:
        key = t.name.replace(f"{PKG}.", "").replace(".tasks.", "-").replace(".", "-").replace("_", "-")
        entry = {"key": key, "task": t.name, "orphan": False}
        if rng.random() < 0.4:
            entry["schedule"] = rng.choice(["timedelta(minutes=5)", "timedelta(minutes=15)",
                                            "timedelta(hours=1)", "timedelta(hours=6)",
                                            "timedelta(seconds=90)", "timedelta(days=1)"])
        else:
            for _ in range(200):
                minute = rng.choice([0, 0, 0, 15, 30, 45, rng.randint(0, 59), rng.randint(0, 59)])
                hour = rng.randint(0, 23)
                dows = None if rng.random() < 0.75 else (rng.randint(0, 6),)
                slots = minutes_of_week(minute, hour, dows)
                if all(occupancy.get(s, 0) < 3 for s in slots):
                    break
            for s in slots:
                occupancy[s] = occupancy.get(s, 0) + 1
            parts = [f"minute={minute}", f"hour={hour}"]
            if dows is not None:
                parts.append(f"day_of_week={dows[0]}")
            entry["schedule"] = f"crontab({', '.join(parts)})"
        if t.params and rng.random() < 0.5:
            name, default = t.params[0]
            entry["kwargs"] = {name: default * 2}
        if rng.random() < 0.5:
            entry["options"] = {"expires": rng.choice([60, 300, 900, 3600]), **(
                {"queue": "periodic"} if rng.random() < 0.3 else {})}
        entries.append(entry)
    orphan_entries = []
    for i in range(orphans):
        base = rng.choice(chosen) if chosen else None
        if i % 2 == 0 and base is not None:
            # a typo: two letters of the function part swapped / dropped
            head, _, func = base.name.rpartition(".")
            pos = rng.randint(1, max(1, len(func) - 2))
            bad = head + "." + func[:pos] + func[pos + 1:]
        else:
            label = base.module.split(".")[1] if base is not None else "legacy"
            bad = f"{PKG}.{label}.tasks.legacy_{rng.choice(VERBS_GLOBAL)}_{i}"
        while bad in used_names:
            bad += "_old"
        key = bad.replace(f"{PKG}.", "").replace(".tasks.", "-").replace(".", "-").replace("_", "-")
        if i % 2 == 0:
            key += "-nightly"  # the typo'd entry sits next to the good one under another key
        e = {"key": key, "task": bad, "orphan": True,
             "schedule": f"crontab(minute={7 + i * 13}, hour={3 + i})"}
        orphan_entries.append(e)
    return entries, orphan_entries


def beat_entry_lines(e: dict, ind: str) -> list[str]:
    lines = [f'{ind}"{e["key"]}": {{', f'{ind}    "task": "{e["task"]}",', f'{ind}    "schedule": {e["schedule"]},']
    if "kwargs" in e:
        lines.append(f'{ind}    "kwargs": {json.dumps(e["kwargs"])},')
    if "options" in e:
        lines.append(f'{ind}    "options": {json.dumps(e["options"])},')
    lines.append(f"{ind}}},")
    return lines


def settings_module(rng: random.Random, apps: list[App], entries: list[dict]) -> str:
    installed = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                 "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
                 "rest_framework", "django_filters", "django_celery_results", "celerylint_runtime.django",
                 f"{PKG}.core", f"{PKG}.tenants"] + [a.dotted for a in apps]
    lines = ['"""Django settings for the acme project."""', "",
             "import os", "from datetime import timedelta", "from pathlib import Path", "",
             "from celery.schedules import crontab", "",
             "BASE_DIR = Path(__file__).resolve().parent.parent",
             'SECRET_KEY = os.environ.get("SECRET_KEY", "insecure-benchmark-key")',
             'DEBUG = os.environ.get("DEBUG", "0") == "1"',
             'ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")', "",
             "INSTALLED_APPS = ["] + [f'    "{a}",' for a in installed] + ["]", "",
             "MIDDLEWARE = [",
             '    "django.middleware.security.SecurityMiddleware",',
             '    "django.contrib.sessions.middleware.SessionMiddleware",',
             '    "django.middleware.common.CommonMiddleware",',
             '    "django.middleware.csrf.CsrfViewMiddleware",',
             '    "django.contrib.auth.middleware.AuthenticationMiddleware",',
             f'    "{PKG}.tenants.middleware.TenantMiddleware",',
             '    "django.contrib.messages.middleware.MessageMiddleware",',
             "]", "",
             f'ROOT_URLCONF = "{PKG}.urls"',
             f'WSGI_APPLICATION = "{PKG}.wsgi.application"', "",
             "DATABASES = {",
             '    "default": {',
             '        "ENGINE": "django.db.backends.postgresql",',
             '        "NAME": os.environ.get("DB_NAME", "acme"),',
             '        "HOST": os.environ.get("DB_HOST", "localhost"),',
             '        "PORT": int(os.environ.get("DB_PORT", "5432")),',
             "    }", "}", "",
             'DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"',
             'LANGUAGE_CODE = "en-us"', 'TIME_ZONE = "UTC"', "USE_TZ = True", "",
             "LOGGING = {",
             '    "version": 1,',
             '    "disable_existing_loggers": False,',
             '    "handlers": {"console": {"class": "logging.StreamHandler"}},',
             '    "root": {"handlers": ["console"], "level": "INFO"},',
             '    "loggers": {',
             '        "celery": {"level": "INFO"},',
             f'        "{PKG}": {{"level": os.environ.get("LOG_LEVEL", "INFO")}},',
             "    },", "}", "",
             "# Celery",
             'CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://localhost:6379/0")',
             'CELERY_RESULT_BACKEND = "django-db"',
             'CELERY_TASK_SERIALIZER = "json"',
             'CELERY_ACCEPT_CONTENT = ["json"]',
             "CELERY_TASK_ACKS_LATE = True",
             "CELERY_WORKER_PREFETCH_MULTIPLIER = 1",
             'CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}',
             "CELERY_TASK_ROUTES = {",
             f'    "{PKG}.*.tasks.*_for_all_tenants": {{"queue": "periodic"}},',
             "}", "",
             "CELERY_BEAT_SCHEDULE = {"]
    main = [e for e in entries if not e.get("late")]
    late = [e for e in entries if e.get("late")]
    for e in main:
        lines += beat_entry_lines(e, "    ")
    lines += ["}", ""]
    if late:
        lines += ["# Entries that only exist in some deployments."]
        for e in late:
            body = beat_entry_lines(e, "")
            lines.append(f'CELERY_BEAT_SCHEDULE["{e["key"]}"] = {{')
            lines += body[1:-1]
            lines.append("}")
        lines.append("")
    return "\n".join(lines) + "\n"


def celery_module() -> str:
    return f'''"""The Celery application of the acme project."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{PKG}.settings")

app = Celery("{PKG}")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(bind=True, ignore_result=True)
def debug_task(self):
    print(f"Request: {{self.request!r}}")


@app.task(name="{PKG}.heartbeat", ignore_result=True)
def heartbeat():
    """Liveness probe for the workers."""
    return "ok"


@app.on_after_configure.connect
def setup_periodic_tasks(sender, **kwargs):
    sender.add_periodic_task(60.0, heartbeat.s(), name="heartbeat every minute")
'''


def core_app(project: Project) -> None:
    p = f"{PKG}/core"
    project.add(f"{p}/__init__.py", "")
    project.add(f"{p}/apps.py", "from django.apps import AppConfig\n\n\nclass CoreConfig(AppConfig):\n"
                f'    name = "{PKG}.core"\n')
    project.add(f"{p}/models.py", '''"""Abstract bases shared by every app."""

from django.db import models


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TenantScopedModel(TimeStampedModel):
    """Rows that belong to exactly one tenant."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True
''')
    project.add(f"{p}/utils.py", '''"""Small helpers used everywhere."""

from itertools import islice


def chunked(iterable, size):
    """Yield lists of at most `size` items."""
    iterator = iter(iterable)
    while True:
        batch = list(islice(iterator, size))
        if not batch:
            return
        yield batch
''')
    project.add(f"{p}/migrations/__init__.py", "")


def tenants_app(project: Project) -> None:
    p = f"{PKG}/tenants"
    project.add(f"{p}/__init__.py", "")
    project.add(f"{p}/apps.py", "from django.apps import AppConfig\n\n\nclass TenantsConfig(AppConfig):\n"
                f'    name = "{PKG}.tenants"\n    label = "tenants"\n')
    project.add(f"{p}/models.py", '''from django.db import models


class Tenant(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.slug
''')
    project.add(f"{p}/middleware.py", '''from celerylint_runtime import set_current_tenant_id

from .models import Tenant


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        slug = request.headers.get("X-Tenant", "")
        request.tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
        set_current_tenant_id(str(request.tenant.id) if request.tenant else None)
        try:
            return self.get_response(request)
        finally:
            set_current_tenant_id(None)
''')
    project.add(f"{p}/migrations/__init__.py", "")
    project.add(f"{p}/migrations/0001_initial.py", '''from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Tenant",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=200)),
                ("slug", models.SlugField(unique=True)),
                ("is_active", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
    ]
''')


def project_skeleton(project: Project) -> None:
    """What every shape has: manage.py, the project package (celery.py, wsgi, asgi),
    conftest.py, and the `core` and `tenants` apps."""
    project.add("manage.py", f'''#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{PKG}.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
''')
    project.add(f"{PKG}/__init__.py", "from .celery import app as celery_app\n\n__all__ = (\"celery_app\",)\n")
    project.add(f"{PKG}/celery.py", celery_module())
    project.add(f"{PKG}/wsgi.py", "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
                f'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{PKG}.settings")\n'
                "application = get_wsgi_application()\n")
    project.add(f"{PKG}/asgi.py", "import os\n\nfrom django.core.asgi import get_asgi_application\n\n"
                f'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{PKG}.settings")\n'
                "application = get_asgi_application()\n")
    project.add("conftest.py", '''import pytest


@pytest.fixture
def tenant(db):
    from acme.tenants.models import Tenant

    return Tenant.objects.create(name="Test", slug="test")
''')
    core_app(project)
    tenants_app(project)


def write_project(outdir: str, project: Project) -> str:
    """Write the files into `outdir` (which must be empty, absent, or a previous output
    of this script); returns the sha256 of the paths and contents."""
    if os.path.exists(outdir):
        if os.listdir(outdir) and not os.path.isfile(os.path.join(outdir, MANIFEST)):
            raise SystemExit(f"{outdir} exists, is not empty and was not made by this script; refusing to touch it")
        shutil.rmtree(outdir)
    digest = hashlib.sha256()
    for rel in sorted(project.files):
        text = project.files[rel]
        path = os.path.join(outdir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        digest.update(rel.encode() + b"\0" + text.encode() + b"\0")
    return digest.hexdigest()


def write_manifest(outdir: str, manifest: dict) -> None:
    with open(os.path.join(outdir, MANIFEST), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")


def generate(outdir: str, modules: int, seed: int = 0, orphans: int = 2, beat_per_tasks: int = 8,
             shape: str = "default", huge_kb: int = 1024) -> dict:
    """Write the project into `outdir` (which must be empty, absent, or a previous
    output of this script) and return the manifest."""
    if shape == "tenant-heavy":
        return generate_tenant_heavy(outdir, modules, seed, orphans, beat_per_tasks)
    if shape == "huge-module":
        return generate_huge_module(outdir, huge_kb, seed)
    if shape != "default":
        raise ValueError(f"unknown shape {shape!r}")
    project = Project()
    project_skeleton(project)
    project.used_task_names.update({f"{PKG}.celery.debug_task", f"{PKG}.heartbeat"})
    reserved = 3  # settings.py, urls.py and a little slack
    apps: list[App] = []
    labels = app_labels(2000)
    i = 0
    while project.modules + reserved < modules and i < len(labels):
        app = generate_app(seed, i, labels[i], project, modules - project.modules - reserved)
        apps.append(app)
        i += 1
    rng = random.Random(f"{seed}:project")
    entries, orphan_entries = build_beat(rng, project.tasks, beat_per_tasks, orphans, project.used_task_names)
    # a few entries are added by item assignment after the dict (a real pattern)
    for e in entries:
        if rng.random() < 0.05:
            e["late"] = True
    all_entries = list(entries)
    for e in orphan_entries:
        all_entries.insert(rng.randint(0, len(all_entries)), e)
    project.add(f"{PKG}/settings.py", settings_module(rng, apps, all_entries))
    urls = ["from django.contrib import admin", "from django.urls import include, path", "",
            "urlpatterns = [", '    path("admin/", admin.site.urls),']
    urls += [f'    path("api/{a.label}/", include("{a.dotted}.urls")),' for a in apps]
    urls += ["]"]
    project.add(f"{PKG}/urls.py", "\n".join(urls) + "\n")
    project.add("pyproject.toml", '[project]\nname = "acme"\nversion = "0"\nrequires-python = ">=3.11"\n')
    project.add(".gitignore", "__pycache__/\n*.pyc\n.celerylint_cache/\n")

    content_sha256 = write_project(outdir, project)
    task_modules = sorted({t.rel for t in project.tasks})
    sizes = {rel: project.files[rel].count("\n") for rel in task_modules}
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "modules_requested": modules,
        "seed": seed,
        "orphans_requested": orphans,
        "beat_per_tasks": beat_per_tasks,
        "modules": project.modules,
        "lines": sum(t.count("\n") for r, t in project.files.items() if r.endswith(".py")),
        "apps": len(apps),
        "tasks": len(project.tasks) + 2,
        "tasks_by_kind": {k: sum(1 for t in project.tasks if t.kind == k)
                          for k in ("object", "tenant", "wrapper", "global")},
        "task_modules": task_modules,
        "task_module_lines": sizes,
        "beat_entries": len(all_entries) + 1,  # + the add_periodic_task in celery.py
        "orphans": [{"key": e["key"], "task": e["task"]} for e in orphan_entries],
        "expected_findings": {"BEAT001": len(orphan_entries)},
        "content_sha256": content_sha256,
    }
    write_manifest(outdir, manifest)
    return manifest


# ============================================================================= shape "tenant-heavy"
#
# The shape that is slow today: tenant-scoped models in most apps, and tasks whose
# tenancy is only visible two to four calls away (task -> services.x -> selectors.y ->
# Model.objects..., sometimes through a domain module, a service class or another app's
# services). The modules between the task and the model mention neither "task" nor
# "celery", so the byte prefilter skips them and the analyzer must load them on demand;
# many more modules only enqueue tasks (views, signals, webhooks, event handlers, api
# mutations, commands) and must be read for TEN005/TEN006. Deliberate findings (TEN003
# tasks that call a service before restoring the context, TEN005 enqueues without
# tenant_id in modules that do not mention tenant_id, and the BEAT001 orphans) are
# recorded in the manifest with their paths: an analyzer that stops following the
# chains, or stops reading enqueue-only modules, misses them.

TENANT_HEAVY_VERSION = 1
SHAPES = ("default", "tenant-heavy", "huge-module")
TEN003_EVERY, TEN003_AT = 11, 4  # app index % EVERY == AT: one task restores too late
TEN005_EVERY, TEN005_AT = 13, 7  # ... one enqueue without tenant_id (hooks/legacy.py)
SERVICE_GROUPS = ["sync", "maintenance", "lifecycle", "reconciliation"]
HANDLER_MODULES = ["order_events", "payment_events", "user_events", "sync_events", "imports", "exports",
                   "lifecycle", "billing_events"]


@dataclass
class Helper:
    """A project function between a task and a model: a selector (uses the model
    itself), a domain function or a service (calls one of those)."""

    module: str  # dotted module defining it
    name: str  # function name ("run" for a service class)
    tenant: bool  # reaches a tenant-scoped model
    hops: int  # calls from here down to the model use (0: uses the model itself)
    model: Model | None
    sig: str  # "id" (takes an object id), "batch" (batch_size=), "days" (days=), "none"
    export: str = ""  # the module it is imported from (a re-exporting package), default `module`
    owner: str | None = None  # a service class: tasks call Owner(obj_id).run()

    @property
    def home(self) -> str:
        return self.export or self.module


class Imports:
    """`from X import a, b as c` lines of one module, deduplicated and sorted."""

    def __init__(self, module: str, is_package: bool = False):
        self.module = module
        self.is_package = is_package
        self.names: dict[str, set] = {}
        self.bound: dict[str, str] = {}  # local name -> "module:name"
        self.spelling: dict[str, str] = {}  # target module -> how it is written here

    def add(self, source: str, name: str, alias: str | None = None) -> str:
        local = alias or name
        key = f"{source}:{name}"
        if self.bound.get(local, key) != key:  # the name is taken by another import
            local = re.sub(r"\W", "_", source.strip(".")) + "_" + name
        self.bound[local] = key
        self.names.setdefault(source, set()).add(name if local == name else f"{name} as {local}")
        return local

    def lines(self) -> list[str]:
        out = []
        for source, names in sorted(self.names.items()):
            out.append(f"from {source} import {', '.join(sorted(names))}")
        return out


def relative(cur: str, is_package: bool, target: str) -> str | None:
    """`target` as a relative import from module `cur`, if both are in the same app."""
    cur_pkg = cur.split(".") if is_package else cur.split(".")[:-1]
    t = target.split(".")
    if len(cur_pkg) < 2 or t[:2] != cur_pkg[:2]:
        return None
    common = 0
    while common < min(len(cur_pkg), len(t)) and cur_pkg[common] == t[common]:
        common += 1
    return "." * (len(cur_pkg) - common + 1) + ".".join(t[common:])


def import_from(imp: Imports, rng: random.Random, target_module: str, name: str, alias: str | None = None) -> str:
    """Import `name` from `target_module` (relative when in the same app, sometimes) and
    return the local name."""
    source = imp.spelling.get(target_module)
    if source is None:  # one spelling per target module and importing module
        source = target_module
        rel = relative(imp.module, imp.is_package, target_module)
        if rel is not None and rng.random() < 0.5:
            source = rel
        imp.spelling[target_module] = source
    return imp.add(source, name, alias)


def import_module_ref(imp: Imports, rng: random.Random, target_module: str, alias: str | None = None) -> str:
    """`from parent import last [as alias]`; returns the local name of the module."""
    parent, last = target_module.rsplit(".", 1)
    if alias is None and target_module.split(".")[:2] != imp.module.split(".")[:2]:
        alias = f"{target_module.split('.')[1]}_{last}"
    return import_from(imp, rng, parent, last, alias)


def call_helper(h: Helper, imp: Imports, rng: random.Random, args: str, prefer_module: bool = False) -> str:
    """The expression calling helper `h` from the module of `imp`, importing what it needs."""
    target = h.owner or h.name
    if prefer_module or rng.random() < 0.35:
        mod = import_module_ref(imp, rng, h.home)
        ref = f"{mod}.{target}"
    else:
        ref = import_from(imp, rng, h.home, target)
    if h.owner:
        return f"{ref}({args}).run()"
    return f"{ref}({args})"


def helper_args(h: Helper, obj_id: str) -> str:
    return {"id": obj_id, "batch": "batch_size=500", "days": "days=30", "none": ""}[h.sig]


def module_text(doc: str, rng: random.Random, stdlib: list[str], imp: Imports, body: list[str],
                extra_head: list[str] = ()) -> str:
    lines = header(rng, doc) + stdlib
    if stdlib:
        lines.append("")
    lines += imp.lines()
    lines += ["", "logger = logging.getLogger(__name__)", ""] if "logging" in " ".join(stdlib) else []
    lines += list(extra_head)
    lines += ["", ""] + body
    return "\n".join(lines).rstrip() + "\n"


class THContext:
    """What apps generated earlier offer to later ones (cross-app calls and enqueues)."""

    def __init__(self) -> None:
        self.tenant_services: list[Helper] = []  # batch services that reach a tenant model
        self.global_services: list[Helper] = []  # services that reach no tenant model
        self.tasks: list[Task] = []
        self.audit: Helper | None = None
        self.deliberate: list[dict] = []  # {"code", "path", "function"/"detail"}
        self.hops: dict[int, int] = {}  # calls between a tenant task and its model -> tasks


# ----------------------------------------------------------------------------- models, selectors, domain

def th_models(rng: random.Random, app: App, project: Project, package: bool) -> None:
    p, models = app.path, app.models
    all_models = {m.name: m for m in models}
    if not package:
        project.add(f"{p}/models.py", models_module(rng, app, all_models,
                                                    extra=rng.randint(15, 45) if rng.random() < 0.03 else 0))
        return
    k = min(len(models) // 2, rng.randint(2, 4))
    groups = [models[i::k] for i in range(k)]
    init = [f'"""Models of the {app.label} app."""', ""]
    exported = []
    for group in groups:
        name = group[0].plural
        here = {m.name for m in group}
        lines = header(rng, f"{camel(group[0].snake)} models of the {app.label} app.")
        lines += ["from decimal import Decimal", "", "from django.conf import settings",
                  "from django.db import models", "from django.utils import timezone", "",
                  f"from {PKG}.core.models import TenantScopedModel, TimeStampedModel", "", "",
                  f"STATUS_CHOICES = {STATUS}", "", ""]
        for m in group:
            parent = m.parent
            if parent is not None and parent not in here:
                m.parent = f'"{app.label}.{parent}"'
            lines += model_class(rng, m, all_models) + ["", ""]
            m.parent = parent
        project.add(f"{p}/models/{name}.py", "\n".join(lines).rstrip() + "\n")
        names = sorted(n for m in group for n in (m.name, m.name + "QuerySet"))
        init.append(f"from .{name} import {', '.join(names)}")
        exported += names
    init += ["", "__all__ = ["] + [f'    "{n}",' for n in sorted(exported)] + ["]"]
    project.add(f"{p}/models/__init__.py", "\n".join(init) + "\n")


def selector_functions(rng: random.Random, m: Model, model_ref: str) -> tuple[list[str], dict]:
    """get_<x>(id), pending_<xs>(limit=), stale_<xs>(days=) on one model."""
    lines = [f"def get_{m.snake}({m.snake}_id):",
             f'    """{sentence(rng)}"""',
             f"    return {model_ref}.objects.filter(pk={m.snake}_id).first()", "", "",
             f"def pending_{m.plural}(*, limit=500):",
             f"    qs = {model_ref}.objects.pending().order_by(\"created_at\")",
             "    return list(qs[:limit])", "", "",
             f"def stale_{m.plural}(days=30):",
             "    cutoff = timezone.now() - timedelta(days=days)",
             f"    return {model_ref}.objects.filter(updated_at__lt=cutoff, is_active=True)", "", ""]
    if rng.random() < 0.5:
        lines += [f"def count_{m.plural}_by_status():",
                  f'    rows = {model_ref}.objects.values_list("status").annotate(n=Count("id"))',
                  "    return {status: n for status, n in rows}", "", ""]
    return lines, {"get": "id", "pending": "batch", "stale": "days"}


def selector_noise(rng: random.Random, i: int) -> list[str]:
    kind = rng.randint(0, 2)
    if kind == 0:
        return [f"def _status_filter_{i}(statuses=None):",
                f'    """{sentence(rng)}"""',
                '    return {"status__in": list(statuses or ("draft", "active"))}', "", ""]
    if kind == 1:
        return [f"def window_{i}(days, *, now=None):",
                "    now = now or timezone.now()",
                "    return now - timedelta(days=days), now", "", ""]
    return [f"def ordering_{i}(fields):",
            '    return [f if f.startswith("-") else f"-{f}" for f in fields]', "", ""]


def th_selectors(rng: random.Random, app: App, project: Project, name: str, package: bool) -> dict:
    """Writes the selectors module(s); returns model name -> {"get"/"pending"/"stale": Helper}."""
    p, d, models = app.path, app.dotted, app.models
    out: dict = {}
    k = min(len(models), rng.randint(2, 3)) if package else 1
    groups = [models[i::k] for i in range(k)]
    init = [f'"""Read-only queries of the {app.label} app."""', ""]
    star = package and rng.random() < 0.25
    for group in groups:
        module = f"{d}.{name}.{group[0].plural}" if package else f"{d}.{name}"
        rel = f"{p}/{name}/{group[0].plural}.py" if package else f"{p}/{name}.py"
        imp = Imports(module)
        body: list[str] = []
        for m in group:
            ref = import_from(imp, rng, f"{d}.models", m.name)
            lines, sigs = selector_functions(rng, m, ref)
            body += lines
            out[m.name] = {kind: Helper(module, f"{kind}_{m.snake if kind == 'get' else m.plural}", m.tenant, 0,
                                        m, sig, export=f"{d}.{name}" if package else "")
                           for kind, sig in sigs.items()}
        for i in range(units(rng, 0, 8, 0.03, (30, 90))):
            body += selector_noise(rng, i)
        imp.add("django.db.models", "Count")
        imp.add("django.utils", "timezone")
        project.add(rel, module_text(f"Queries on {', '.join(m.name for m in group)}.", rng,
                                     ["from datetime import timedelta"], imp, body))
        if package:
            fns = sorted(h.name for m in group for h in out[m.name].values())
            init.append(f"from .{group[0].plural} import *  # noqa: F401,F403" if star else
                        f"from .{group[0].plural} import {', '.join(fns)}")
    if package:
        project.add(f"{p}/{name}/__init__.py", "\n".join(init) + "\n")
    return out


def th_domain(rng: random.Random, app: App, project: Project, selectors: dict) -> dict:
    """domain.py: a layer between services and selectors for some tenant models."""
    module, rel = f"{app.dotted}.domain", f"{app.path}/domain.py"
    imp = Imports(module)
    body: list[str] = []
    out = {}
    for m in app.models:
        if not m.tenant or rng.random() < 0.3:
            continue
        get = selectors[m.name]["get"]
        call = call_helper(get, imp, rng, f"{m.snake}_id")
        body += [f"def load_{m.snake}_for_update({m.snake}_id):",
                 f'    """{sentence(rng)}"""',
                 f"    obj = {call}",
                 "    if obj is None or not obj.is_active:",
                 "        return None",
                 "    return obj", "", ""]
        out[m.name] = Helper(module, f"load_{m.snake}_for_update", m.tenant, 1, m, "id")
    if not out:
        return out
    for i in range(rng.randint(1, 4)):
        body += [f"def rule_{i}(value, *, strict=False):",
                 f'    """{sentence(rng)}"""',
                 "    if strict and not value:",
                 '        raise ValueError("empty")',
                 "    return bool(value)", "", ""]
    project.add(rel, module_text(f"Domain rules of the {app.label} app.", rng, [], imp, body))
    return out


# ----------------------------------------------------------------------------- services

def th_services(rng: random.Random, app: App, project: Project, ctx: THContext, selectors: dict, domain: dict,
                package: bool, has_utils: bool) -> dict:
    """Writes services.py or a services/ package. Returns {"object": [(model, verb, Helper)],
    "batch": [(model, verb, Helper)], "global": [(model or None, Helper)]}."""
    p, d = app.path, app.dotted
    plan: dict = {"object": [], "batch": [], "global": []}
    n_groups = rng.randint(2, 4) if package else 1
    reexport = package and rng.random() < 0.5
    modules: list[dict] = []
    for g in range(n_groups):
        sub = SERVICE_GROUPS[g]
        module = f"{d}.services.{sub}" if package else f"{d}.services"
        rel = f"{p}/services/{sub}.py" if package else f"{p}/services.py"
        modules.append({"module": module, "rel": rel, "imp": Imports(module), "body": [], "names": []})
    export = f"{d}.services" if reexport else ""
    gi = 0

    def pick() -> dict:
        nonlocal gi
        gi += 1
        return modules[gi % len(modules)]

    for m in app.models:
        sel = selectors[m.name]
        if m.tenant:
            for verb in rng.sample(VERBS_OBJ, k=rng.randint(1, 2)):
                mod = pick()
                imp, body = mod["imp"], mod["body"]
                source = domain.get(m.name) if domain and rng.random() < 0.6 else None
                direct = source is None and rng.random() < 0.15
                if direct:
                    model_ref = import_from(imp, rng, f"{d}.models", m.name)
                    load = f"{model_ref}.objects.filter(pk={m.snake}_id).first()"
                    hops = 0
                else:
                    source = source or sel["get"]
                    load = call_helper(source, imp, rng, f"{m.snake}_id")
                    hops = source.hops + 1
                tail = []
                if ctx.audit is not None and rng.random() < 0.3:
                    tail.append("    " + call_helper(ctx.audit, imp, rng, f'"{app.label}.{verb}", obj.pk'))
                elif ctx.tenant_services and rng.random() < 0.25:
                    other = rng.choice(ctx.tenant_services)
                    tail.append("    " + call_helper(other, imp, rng, "batch_size=50", prefer_module=True))
                if rng.random() < 0.2:  # a service class
                    cls = f"{m.name}{camel(verb)}Service"
                    own_load = load.replace(f"({m.snake}_id)", f"(self.{m.snake}_id)").replace(
                        f"pk={m.snake}_id", f"pk=self.{m.snake}_id")
                    body += [f"class {cls}:",
                             f'    """{sentence(rng)}"""', "",
                             f"    def __init__(self, {m.snake}_id, *, force=False):",
                             f"        self.{m.snake}_id = {m.snake}_id",
                             "        self.force = force", "",
                             "    def _load(self):",
                             f"        return {own_load}", "",
                             "    def run(self):",
                             "        obj = self._load()",
                             "        if obj is None:",
                             "            return None",
                             '        if obj.status == "done" and not self.force:',
                             "            return obj.pk",
                             "        with transaction.atomic():",
                             "            obj.mark_processed()"]
                    body += ["    " + t for t in tail]
                    body += ["        return obj.pk", "", ""]
                    h = Helper(mod["module"], "run", True, hops + 1, m, "id", owner=cls,
                               export=export if reexport else "")
                    mod["names"].append(cls)
                else:
                    name = f"{verb}_{m.snake}"
                    body += [f"def {name}({m.snake}_id, *, force=False):",
                             f'    """{sentence(rng)}"""']
                    body += comment_block(rng, "    ")[:rng.randint(0, 2)]
                    body += [f"    obj = {load}",
                             "    if obj is None:",
                             f'        logger.warning("{m.snake} %s vanished before {name}", {m.snake}_id)',
                             "        return None",
                             '    if obj.status == "done" and not force:',
                             "        return obj.pk",
                             "    with transaction.atomic():",
                             "        obj.mark_processed()"]
                    body += tail
                    body += ["    return obj.pk", "", ""]
                    h = Helper(mod["module"], name, True, hops, m, "id", export=export if reexport else "")
                    mod["names"].append(name)
                plan["object"].append((m, verb, h))
            mod = pick()
            imp, body = mod["imp"], mod["body"]
            verb = rng.choice(VERBS_TENANT)
            name = f"{verb}_{m.plural}"
            pending = call_helper(sel["pending"], imp, rng, "limit=batch_size")
            body += [f"def {name}(*, batch_size=500):",
                     f'    """{sentence(rng)}"""',
                     "    total = 0",
                     f"    for obj in {pending}:",
                     '        obj.status = "active"',
                     "        obj.mark_processed(commit=False)",
                     '        obj.save(update_fields=["status", "processed_at"])',
                     "        total += 1",
                     f'    logger.info("{name}: %d rows", total)',
                     "    return total", "", ""]
            h = Helper(mod["module"], name, True, 1, m, "batch", export=export if reexport else "")
            mod["names"].append(name)
            plan["batch"].append((m, verb, h))
        else:
            mod = pick()
            imp, body = mod["imp"], mod["body"]
            verb = rng.choice(["purge", "prune", "expire", "archive_old"])
            name = f"{verb}_{m.plural}"
            stale = call_helper(sel["stale"], imp, rng, "days=days")
            body += [f"def {name}(days=30):",
                     f'    """{sentence(rng)}"""',
                     "    deleted = 0",
                     f"    for row in {stale}.iterator():",
                     "        row.delete()",
                     "        deleted += 1",
                     "    return deleted", "", ""]
            h = Helper(mod["module"], name, False, 1, m, "days", export=export if reexport else "")
            mod["names"].append(name)
            plan["global"].append((m, h))
    # one service that touches no model at all (health, caches)
    mod = pick()
    imp, body = mod["imp"], mod["body"]
    name = f"collect_{app.label}_stats"
    body += [f"def {name}():",
             '    """Cheap counters for the periodic health log."""',
             "    started = time.monotonic()"]
    if has_utils:
        body.append("    stats = " + call_helper(Helper(f"{d}.utils", "collect_stats", False, 0, None, "none"),
                                                 imp, rng, ""))
    else:
        body.append("    stats = {}")
    if ctx.global_services and rng.random() < 0.4:
        other = rng.choice(ctx.global_services)
        body.append("    stats[\"upstream\"] = " + call_helper(other, imp, rng, "", prefer_module=True))
    body += ['    cache.set(f"{__name__}.stats", stats, timeout=300)',
             '    logger.info("%s: %.2fs", __name__, time.monotonic() - started)',
             "    return stats", "", ""]
    h = Helper(mod["module"], name, False, 1 if has_utils else 0, None, "none", export=export if reexport else "")
    mod["names"].append(name)
    plan["global"].append((None, h))
    # enqueues from services (of earlier apps' tasks; never in a loop)
    if ctx.tasks and rng.random() < 0.3:
        mod = pick()
        imp, body = mod["imp"], mod["body"]
        t = rng.choice(ctx.tasks)
        fn = f"notify_{app.label}_change"
        body += [f"def {fn}(obj):", f'    """{sentence(rng)}"""']
        tenant_expr = "obj.tenant_id"
        ref = import_from(imp, rng, t.module, t.func)
        call = th_enqueue(t, ref, rng, "", "obj", tenant_expr)
        if len(call) == 1:
            body += ["    transaction.on_commit(lambda: " + call[0] + ")"]
        else:
            body += ["    " + c for c in call]
        body += ["    return True", "", ""]
        mod["names"].append(fn)
    # noise: functions nobody's task calls
    for mod in modules:
        imp, body = mod["imp"], mod["body"]
        for i in range(units(rng, 1, 14, 0.04, (40, 110))):
            m = rng.choice(app.models)
            body += [f"def preview_{m.snake}_{i}(payload, *, strict=False):",
                     f'    """{sentence(rng)}"""',
                     "    errors = []",
                     '    for key in ("name", "status"):',
                     "        if key not in payload:",
                     '            errors.append(f"{key} is required")',
                     "    if strict and errors:",
                     '        raise ValueError("; ".join(errors))',
                     '    return {"ok": not errors, "errors": errors}', "", ""]
        imp.add("django.core.cache", "cache")
        imp.add("django.db", "transaction")
        project.add(mod["rel"], module_text(f"Business logic of the {app.label} app.", rng,
                                            ["import logging", "import time"], imp, body))
    if package:
        init = [f'"""Services of the {app.label} app."""', ""]
        if reexport:
            for mod in modules:
                init.append(f"from .{mod['module'].rsplit('.', 1)[1]} import {', '.join(sorted(mod['names']))}")
        project.add(f"{p}/services/__init__.py", "\n".join(init) + "\n")
    ctx.tenant_services += [h for _, _, h in plan["batch"]]
    ctx.global_services += [h for m, h in plan["global"] if h.sig == "none"]
    return plan


# ----------------------------------------------------------------------------- tasks and enqueues

def th_enqueue(t: Task, ref: str, rng: random.Random, ind: str, obj: str, tenant_expr: str,
               tenant: bool = True) -> list[str]:
    """One enqueue of task `t` referred to as `ref`; `tenant=False` leaves tenant_id out."""
    tid = f"tenant_id=str({tenant_expr})"
    if t.kind == "object":
        if not tenant:
            return [f"{ind}{ref}.delay({obj}.pk)"]
        r = rng.random()
        if r < 0.55:
            return [f"{ind}{ref}.delay({obj}.pk, {tid})"]
        if r < 0.85:
            return [f"{ind}{ref}.apply_async(",
                    f"{ind}    args=[{obj}.pk],",
                    f'{ind}    kwargs={{"tenant_id": str({tenant_expr})}},',
                    f"{ind}    countdown={rng.choice([5, 10, 30, 60])},",
                    f"{ind})"]
        return [f"{ind}{ref}.s({obj}.pk, {tid}).apply_async(countdown=5)"]
    if t.kind == "tenant":
        if rng.random() < 0.7:
            return [f"{ind}{ref}.delay({tid})"]
        return [f'{ind}{ref}.apply_async(kwargs={{"tenant_id": str({tenant_expr})}}, queue="low")']
    if rng.random() < 0.5:
        return [f"{ind}{ref}.delay()"]
    return [f'{ind}{ref}.apply_async(queue="low", countdown={rng.choice([0, 60, 300])})']


def task_ref(imp: Imports, rng: random.Random, t: Task) -> str:
    if rng.random() < 0.4:
        alias = f"{t.module.split('.')[1]}_{t.module.rsplit('.', 1)[1]}"
        return f"{import_module_ref(imp, rng, t.module, alias)}.{t.func}"
    return import_from(imp, rng, t.module, t.func)


def th_task_body(t: Task, rng: random.Random, call: str, late_restore: bool) -> list[str]:
    """The body of a tenant-heavy task: restore the context, call the service."""
    lines = []
    if rng.random() < 0.6:
        lines.append(f'    """{sentence(rng)}"""')
    if t.kind in ("object", "tenant"):
        if late_restore:  # deliberate TEN003: the service runs before the restore
            return lines + [f"    preview = {call}",
                            "    restore_tenant_context(tenant_id)",
                            f'    logger.info("{t.func}: %s for tenant %s", preview, tenant_id)',
                            "    return preview"]
        r = rng.random()
        if r < 0.2:
            return lines + ["    with tenant_context(tenant_id):", f"        return {call}"]
        if r < 0.45 and t.bind:
            return lines + ["    restore_tenant_context(tenant_id)",
                            "    try:",
                            f"        return {call}",
                            "    except ConnectionError as exc:",
                            "        raise self.retry(exc=exc, countdown=30)"]
        return lines + ["    restore_tenant_context(tenant_id)",
                        f"    result = {call}",
                        f'    logger.info("{t.func}: %s for tenant %s", result, tenant_id)',
                        "    return result"]
    if t.kind == "wrapper":
        target = t.target
        return lines + ['    tenants = Tenant.objects.filter(is_active=True).only("id")',
                        "    spawn_tenant_tasks_with_rate_limiting(",
                        "        tenants,",
                        f"        {target.func},",
                        f'        "{target.name}",',
                        "    )"]
    return lines + [f"    result = {call}",
                    f'    logger.info("{t.func}: %s", result)',
                    "    return result"]


def th_tasks(rng: random.Random, app: App, project: Project, ctx: THContext, plan: dict, style: str,
             suffix: bool) -> list[Task]:
    p, d = app.path, app.dotted
    big = len(app.models) >= 7 and rng.random() < 0.6
    groups = ["periodic", "sync", "maintenance"][:rng.randint(2, 3)] if big else [None]
    mods = []
    for g in groups:
        module = f"{d}.tasks.{g}" if g else f"{d}.tasks"
        rel = f"{p}/tasks/{g}.py" if g else f"{p}/tasks.py"
        mods.append({"module": module, "rel": rel, "imp": Imports(module), "body": [], "tasks": []})
    late = app.index % TEN003_EVERY == TEN003_AT
    funcs = app.funcs

    def new_task(func: str, kind: str, h: Helper | None, mod: dict, model=None, target=None, params=()) -> Task | None:
        if func in funcs:
            return None
        explicit = rng.random() < (0.5 if style == "prefix" else 0.3)
        name = f"{app.label}.{func}" if explicit else f"{mod['module']}.{func}"
        if name in project.used_task_names:
            return None
        funcs.add(func)
        project.used_task_names.add(name)
        t = Task(func=func, name=name, kind=kind, module=mod["module"], rel=mod["rel"], model=model, target=target,
                 bind=rng.random() < 0.3, params=params)
        t.explicit = explicit  # type: ignore[attr-defined]
        t.helper = h  # type: ignore[attr-defined]
        mod["tasks"].append(t)
        return t

    def fname(base: str) -> str:  # with `suffix`, services are imported by name: no clash
        return f"{base}_task" if suffix else base

    for i, (m, verb, h) in enumerate(plan["object"]):
        mod = mods[i % len(mods)]
        new_task(fname(f"{verb}_{m.snake}"), "object", h, mod, model=m)
    for i, (m, verb, h) in enumerate(plan["batch"]):
        if rng.random() < 0.3:
            continue
        mod = mods[(i + 1) % len(mods)]
        t = new_task(fname(h.name), "tenant", h, mod, model=m)
        if t is not None and rng.random() < 0.75:
            new_task(f"{h.name}_for_all_tenants", "wrapper", None, mod, model=m, target=t)
    for i, (m, h) in enumerate(plan["global"]):
        if m is not None and rng.random() < 0.2:
            continue
        mod = mods[(i + 2) % len(mods)]
        new_task(fname(h.name), "global", h, mod, model=m,
                 params=(("days", rng.choice([7, 14, 30, 90])),) if h.sig == "days" else ())
    tasks: list[Task] = []
    late_done = not late
    for mod in mods:
        imp, body = mod["imp"], mod["body"]
        for t in mod["tasks"]:
            h = t.helper
            call = ""
            if h is not None:
                if t.kind == "global" and t.params:
                    args = "days=days"
                else:
                    args = helper_args(h, f"{t.model.snake}_id" if t.kind == "object" else "")
                call = call_helper(h, imp, rng, args, prefer_module=not suffix)
            this_late = not late_done and t.kind == "tenant" and h is not None and h.hops >= 1
            if this_late:
                late_done = True
                ctx.deliberate.append({"code": "TEN003", "path": t.rel, "function": t.func})
            body.append(decorator(t, style, rng))
            if t.kind == "object":
                sig = (["self"] if t.bind else []) + [f"{t.model.snake}_id", "*", "tenant_id=None"]
            elif t.kind == "tenant":
                sig = (["self"] if t.bind else []) + ["*", "tenant_id=None"]
            else:
                sig = (["self"] if t.bind else []) + [f"{n}={v!r}" for n, v in t.params]
            body.append(f"def {t.func}({', '.join(sig)}):")
            body += th_task_body(t, rng, call, this_late)
            body += ["", ""]
            if t.kind in ("object", "tenant") and h is not None:
                ctx.hops[h.hops + 1] = ctx.hops.get(h.hops + 1, 0) + 1
            tasks.append(t)
        for i in range(units(rng, 0, 4, 0.02, (20, 50))):
            body += [f"def _batches_{i}(items, size=100):",
                     f'    """{sentence(rng)}"""',
                     "    bucket = []",
                     "    for item in items:",
                     "        bucket.append(item)",
                     "        if len(bucket) >= size:",
                     "            yield bucket",
                     "            bucket = []",
                     "    if bucket:",
                     "        yield bucket", "", ""]
        text = "\n".join(body)
        if style == "app":
            imp.add(f"{PKG}.celery", "app")
        else:
            imp.add("celery", "shared_task")
        runtime = [n for n in ("restore_tenant_context", "spawn_tenant_tasks_with_rate_limiting", "tenant_context")
                   if n + "(" in text]
        for n in runtime:
            imp.add("celerylint_runtime", n)
        if "Tenant.objects" in text:
            imp.add(f"{PKG}.tenants.models", "Tenant")
        head = [f'TASK_PREFIX = "{app.label}"', ""] if style == "prefix" else []
        if mod["tasks"] or body:
            project.add(mod["rel"], module_text(f"Celery tasks of the {app.label} app.", rng, ["import logging"],
                                                imp, body, head))
        app.task_modules.append((mod["module"], mod["rel"]))
    if len(mods) > 1:
        project.add(f"{p}/tasks/__init__.py", "")
    return tasks


def th_events_module(rng: random.Random, app: App, module: str, rel: str, project: Project, calls: list[Task],
                     n: int, doc: str, is_package: bool = False, broken: Task | None = None) -> None:
    """An enqueue-only module: event handlers / webhooks / mutations that enqueue tasks.
    `broken`: one enqueue of this tenant task without tenant_id, in a module that never
    mentions tenant_id (deliberate TEN005)."""
    imp = Imports(module, is_package)
    body: list[str] = []
    calls = list(calls)
    for i in range(n):
        m = app.models[i % len(app.models)]
        fn = f"on_{m.snake}_{rng.choice(['created', 'updated', 'paid', 'closed', 'imported', 'synced'])}_{i}"
        body += [f"def {fn}(payload, *, source=\"webhook\"):", f'    """{sentence(rng)}"""']
        body += ['    obj_id = int(payload["object"]["id"])',
                 f"    obj = {import_from(imp, rng, f'{app.dotted}.models', m.name)}.objects.filter(pk=obj_id).first()",
                 "    if obj is None:",
                 f'        logger.info("{fn}: %s not found (%s)", obj_id, source)',
                 "        return False"]
        if broken is not None and i == 0:
            ref = import_from(imp, rng, broken.module, broken.func)
            body += th_enqueue(broken, ref, rng, "    ", "obj", "", tenant=False)
        elif calls:
            t = calls.pop()
            ref = task_ref(imp, rng, t)
            if broken is not None:
                if t.kind in ("object", "tenant"):
                    calls.insert(0, t)
                    body += ['    logger.debug("no follow-up")']
                else:
                    body += th_enqueue(t, ref, rng, "    ", "obj", "")
            else:
                tenant_expr = "obj.tenant_id" if m.tenant else 'payload["tenant"]'
                call = th_enqueue(t, ref, rng, "", "obj", tenant_expr)
                if len(call) == 1 and rng.random() < 0.4:
                    imp.add("django.db", "transaction")
                    body += ["    transaction.on_commit(", "        lambda: " + call[0], "    )"]
                else:
                    body += ["    " + c for c in call]
        body += ["    return True", "", ""]
    project.add(rel, module_text(doc, rng, ["import logging"], imp, body))


def th_views(rng: random.Random, app: App, project: Project, calls: list[Task], n: int) -> None:
    """views.py: DRF viewsets that enqueue in perform_create / perform_update."""
    module = f"{app.dotted}.views"
    imp = Imports(module)
    for name in ("permissions", "status", "viewsets"):
        imp.add("rest_framework", name)
    imp.add("rest_framework.decorators", "action")
    imp.add("rest_framework.response", "Response")
    imp.add("django.db", "transaction")
    body: list[str] = []
    calls = list(calls)
    for i in range(n):
        m = app.models[i % len(app.models)]
        suffix = "" if i < len(app.models) else str(i)
        model = import_from(imp, rng, f"{app.dotted}.models", m.name)
        ser = import_from(imp, rng, f"{app.dotted}.serializers", f"{m.name}Serializer")
        body += [f"class {m.name}ViewSet{suffix}(viewsets.ModelViewSet):",
                 f"    serializer_class = {ser}",
                 "    permission_classes = [permissions.IsAuthenticated]",
                 '    filterset_fields = ["status", "is_active"]', "",
                 "    def get_queryset(self):",
                 f"        qs = {model}.objects.all()"]
        if m.tenant:
            body.append("        qs = qs.filter(tenant=self.request.tenant)")
        body += ['        return qs.order_by("-created_at")', "",
                 "    def perform_create(self, serializer):"]
        body.append("        instance = serializer.save(tenant=self.request.tenant)" if m.tenant else
                    "        instance = serializer.save()")
        for _ in range(2 if rng.random() < 0.3 else 1):
            if calls:
                t = calls.pop()
                body += th_enqueue(t, task_ref(imp, rng, t), rng, "        ", "instance", "self.request.tenant.id")
        body += ["",
                 '    @action(detail=True, methods=["post"])',
                 "    def archive(self, request, pk=None):",
                 "        obj = self.get_object()",
                 "        with transaction.atomic():",
                 "            obj.is_active = False",
                 '            obj.save(update_fields=["is_active", "updated_at"])',
                 "        return Response(self.get_serializer(obj).data, status=status.HTTP_200_OK)", "", ""]
    project.add(f"{app.path}/views.py", module_text(f"HTTP views of the {app.label} app.", rng, ["import logging"],
                                                    imp, body))


def th_filters(rng: random.Random, app: App) -> str:
    lines = ["import django_filters", "", f"from .models import {', '.join(m.name for m in app.models)}", "", ""]
    for m in app.models:
        lines += [f"class {m.name}Filter(django_filters.FilterSet):",
                  '    name = django_filters.CharFilter(lookup_expr="icontains")',
                  '    created = django_filters.DateFromToRangeFilter(field_name="created_at")', "",
                  "    class Meta:", f"        model = {m.name}", '        fields = ["status", "is_active"]', "", ""]
    return "\n".join(lines).rstrip() + "\n"


def th_permissions(rng: random.Random, app: App) -> str:
    lines = ["from rest_framework import permissions", "", ""]
    for i in range(rng.randint(1, 4)):
        lines += [f"class Can{camel(rng.choice(WORDS))}{i}(permissions.BasePermission):",
                  f'    message = "{sentence(rng)}"', "",
                  "    def has_permission(self, request, view):",
                  "        return bool(request.user and request.user.is_authenticated)", "",
                  "    def has_object_permission(self, request, view, obj):",
                  '        tenant = getattr(request, "tenant", None)',
                  '        return tenant is not None and getattr(obj, "tenant_id", None) == tenant.id', "", ""]
    return "\n".join(lines).rstrip() + "\n"


# ----------------------------------------------------------------------------- one app

def th_generate_app(seed: int, index: int, label: str, project: Project, budget: int, ctx: THContext) -> App:
    rng = random.Random(f"tenant-heavy:{seed}:{index}:{label}")
    tenant_app = rng.random() < 0.85
    size = rng.random()
    if size < 0.5:
        n_models, n_tests, n_migr, n_handlers = rng.randint(2, 4), rng.randint(2, 6), rng.randint(1, 8), rng.randint(0, 2)
    elif size < 0.88:
        n_models, n_tests, n_migr, n_handlers = rng.randint(4, 8), rng.randint(5, 12), rng.randint(4, 18), rng.randint(1, 4)
    else:
        n_models, n_tests, n_migr, n_handlers = rng.randint(8, 13), rng.randint(10, 22), rng.randint(12, 35), rng.randint(3, 7)
    if budget < 80:  # the last app of a project: keep within the module budget
        n_tests, n_migr, n_handlers = min(n_tests, 2), min(n_migr, 2), 0
    models = make_models(rng, label, project, tenant_app, n_models)
    app = App(index=index, label=label, models=models, tenant_app=tenant_app)
    p, d = app.path, app.dotted
    add = project.add
    has_utils = rng.random() < 0.6
    style = "app" if rng.random() < 0.12 else "prefix" if rng.random() < 0.12 else "shared"
    suffix = rng.random() < 0.5
    sel_name = "selectors" if rng.random() < 0.7 else "queries"

    add(f"{p}/__init__.py", "")
    add(f"{p}/apps.py", "from django.apps import AppConfig\n\n\n"
        f"class {camel(label)}Config(AppConfig):\n"
        f'    default_auto_field = "django.db.models.BigAutoField"\n'
        f'    name = "{d}"\n'
        f'    label = "{label}"\n')
    th_models(rng, app, project, package=n_models >= 4 and rng.random() < 0.35)
    selectors = th_selectors(rng, app, project, sel_name, package=n_models >= 3 and rng.random() < 0.35)
    domain = th_domain(rng, app, project, selectors) if tenant_app and rng.random() < 0.4 else {}
    if has_utils:
        add(f"{p}/utils.py", utils_module(rng, app, units(rng, 3, 20, 0.02, (50, 120))))
    plan = th_services(rng, app, project, ctx, selectors, domain, package=n_models >= 3 and rng.random() < 0.45,
                       has_utils=has_utils)
    tasks = th_tasks(rng, app, project, ctx, plan, style, suffix)
    app.tasks = tasks
    project.tasks += tasks

    # enqueue-only modules: this app's tasks and some of earlier apps'
    def calls(k: int, kinds=("object", "tenant", "wrapper", "global")) -> list[Task]:
        pool = [t for t in tasks if t.kind in kinds]
        others = [t for t in ctx.tasks if t.kind in kinds]
        out = []
        for _ in range(k):
            src = pool if pool and (not others or rng.random() < 0.75) else others
            if src:
                out.append(rng.choice(src))
        return out

    th_views(rng, app, project, calls(rng.randint(1, 4)), units(rng, len(models), len(models) * 3, 0.02, (30, 70)))
    add(f"{p}/serializers.py", serializers_module(rng, app, units(rng, 0, 6, 0.01, (60, 140))))
    add(f"{p}/admin.py", admin_module(rng, app))
    add(f"{p}/urls.py", urls_module(rng, app))
    add(f"{p}/filters.py", th_filters(rng, app))
    if rng.random() < 0.4:
        add(f"{p}/permissions.py", th_permissions(rng, app))
    if rng.random() < 0.5:
        add(f"{p}/forms.py", forms_module(rng, app))
    if rng.random() < 0.6:
        sig_calls = [t for t in calls(rng.randint(1, 3)) if t.kind != "object" or t.model in models]
        add(f"{p}/signals.py", signals_module(rng, app, sig_calls))
    if rng.random() < 0.45:
        th_events_module(rng, app, f"{d}.webhooks", f"{p}/webhooks.py", project, calls(rng.randint(1, 3)),
                         units(rng, 2, 14, 0.03, (40, 90)), f"Incoming webhooks of the {app.label} app.")
    if n_handlers:
        add(f"{p}/handlers/__init__.py", "")
        for k in range(n_handlers):
            name = HANDLER_MODULES[k]
            th_events_module(rng, app, f"{d}.handlers.{name}", f"{p}/handlers/{name}.py", project,
                             calls(rng.randint(1, 3)), units(rng, 2, 14, 0.03, (40, 90)), f"Event handlers ({name}).")
    if rng.random() < 0.5:
        add(f"{p}/api/__init__.py", "")
        th_events_module(rng, app, f"{d}.api.mutations", f"{p}/api/mutations.py", project, calls(rng.randint(1, 4)),
                         units(rng, 2, 16, 0.03, (40, 100)), f"GraphQL mutations of the {app.label} app.")
        add(f"{p}/api/serializers.py", serializers_module(rng, app, units(rng, 0, 8, 0.02, (40, 100))).replace(
            "from .models import", f"from {d}.models import"))
    if app.index % TEN005_EVERY == TEN005_AT:
        victims = [t for t in tasks if t.kind == "object"]
        if victims:
            victim = victims[0]
            add(f"{p}/hooks/__init__.py", "")
            th_events_module(rng, app, f"{d}.hooks.legacy", f"{p}/hooks/legacy.py", project,
                             calls(2, ("global", "wrapper")), rng.randint(2, 5),
                             "Receivers of the legacy integration (kept for old clients).", broken=victim)
            ctx.deliberate.append({"code": "TEN005", "path": f"{p}/hooks/legacy.py", "function": victim.func})
    if rng.random() < 0.3:
        add(f"{p}/management/__init__.py", "")
        add(f"{p}/management/commands/__init__.py", "")
        for k in range(rng.randint(1, 3)):
            cmd_calls = calls(1, ("tenant", "global", "wrapper")) if rng.random() < 0.7 else []
            add(f"{p}/management/commands/{label}_{['sync', 'repair', 'report'][k]}.py",
                command_module(rng, app, cmd_calls, label))
    if rng.random() < 0.3:
        add(f"{p}/constants.py", "\n".join(f'{w.upper()}_{i} = "{label}.{w}.{i}"'
                                           for i, w in enumerate(rng.sample(WORDS, 8))) + "\n")
    add(f"{p}/migrations/__init__.py", "")
    add(f"{p}/migrations/0001_initial.py", migration_initial(rng, app))
    for k in range(2, n_migr + 1):
        add(f"{p}/migrations/{'0002_auto' if k == 2 else f'{k:04d}_auto'}.py", migration_step(rng, app, k))
    add(f"{p}/tests/__init__.py", "")
    topics = ["models", "views", "api", "services", "selectors", "serializers", "admin", "permissions",
              "filters", "webhooks", "handlers", "signals", "integration", "regressions", "queries", "exports"]
    for k in range(n_tests):
        topic = topics[k % len(topics)] + ("" if k < len(topics) else f"_{k}")
        add(f"{p}/tests/test_{topic}.py", tests_module(rng, app, units(rng, 4, 36, 0.015, (120, 260)), topic))
    if tasks:
        obj_tasks = [t for t in tasks if t.kind == "object"]
        other = [t for t in tasks if t.kind != "object"]
        add(f"{p}/tests/test_tasks.py", tests_module_tasks(rng, app, obj_tasks[:3] + other[:3]))
    ctx.tasks += tasks
    return app


def th_common(project: Project, ctx: THContext) -> App:
    """acme/common: a tenant-scoped audit log every app's services may write to."""
    p = f"{PKG}/common"
    project.add(f"{p}/__init__.py", "")
    project.add(f"{p}/apps.py", "from django.apps import AppConfig\n\n\nclass CommonConfig(AppConfig):\n"
                f'    name = "{PKG}.common"\n    label = "common"\n')
    project.add(f"{p}/models.py", f'''"""Cross-app tables."""

from django.db import models

from {PKG}.core.models import TenantScopedModel


class AuditEvent(TenantScopedModel):
    kind = models.CharField(max_length=64, db_index=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
''')
    project.add(f"{p}/audit.py", f'''"""The audit log: one row per business event, in the current tenant."""

import logging

from {PKG}.common.models import AuditEvent

logger = logging.getLogger(__name__)


def record_event(kind, object_id=None, **data):
    """Store an event; never raises."""
    try:
        return AuditEvent.objects.create(kind=kind, object_id=object_id, data=data)
    except Exception:  # noqa: BLE001 - auditing must not break the caller
        logger.exception("could not record %s", kind)
        return None
''')
    project.add(f"{p}/migrations/__init__.py", "")
    ctx.audit = Helper(f"{PKG}.common.audit", "record_event", True, 0, None, "none")
    return App(index=-1, label="common", models=[], tenant_app=True)


def generate_tenant_heavy(outdir: str, modules: int, seed: int = 0, orphans: int = 2, beat_per_tasks: int = 8) -> dict:
    project = Project()
    project_skeleton(project)
    project.used_task_names.update({f"{PKG}.celery.debug_task", f"{PKG}.heartbeat"})
    ctx = THContext()
    common = th_common(project, ctx)
    reserved = 3
    apps: list[App] = []
    labels = app_labels(2000)
    i = 0
    while project.modules + reserved < modules and i < len(labels):
        apps.append(th_generate_app(seed, i, labels[i], project, modules - project.modules - reserved, ctx))
        i += 1
    rng = random.Random(f"tenant-heavy:{seed}:project")
    entries, orphan_entries = build_beat(rng, project.tasks, beat_per_tasks, orphans, project.used_task_names)
    for e in entries:
        if rng.random() < 0.05:
            e["late"] = True
    all_entries = list(entries)
    for e in orphan_entries:
        all_entries.insert(rng.randint(0, len(all_entries)), e)
    project.add(f"{PKG}/settings.py", settings_module(rng, [common] + apps, all_entries))
    urls = ["from django.contrib import admin", "from django.urls import include, path", "",
            "urlpatterns = [", '    path("admin/", admin.site.urls),']
    urls += [f'    path("api/{a.label}/", include("{a.dotted}.urls")),' for a in apps]
    urls += ["]"]
    project.add(f"{PKG}/urls.py", "\n".join(urls) + "\n")
    project.add("pyproject.toml", '[project]\nname = "acme"\nversion = "0"\nrequires-python = ">=3.11"\n')
    project.add(".gitignore", "__pycache__/\n*.pyc\n.celerylint_cache/\n")
    content_sha256 = write_project(outdir, project)
    deliberate = sorted(ctx.deliberate, key=lambda x: (x["code"], x["path"]))
    findings = [{"code": "BEAT001", "path": f"{PKG}/settings.py", "task": e["task"]} for e in orphan_entries]
    findings += deliberate
    expected: dict[str, int] = {}
    for f in findings:
        expected[f["code"]] = expected.get(f["code"], 0) + 1
    task_modules = sorted({t.rel for t in project.tasks})
    py = {r: t for r, t in project.files.items() if r.endswith(".py")}
    enqueue_only = sum(1 for r, t in py.items() if any(n in t for n in (".delay(", ".apply_async(", ".s(", ".si("))
                       and "shared_task" not in t and "@app.task" not in t)
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "shape": "tenant-heavy",
        "shape_version": TENANT_HEAVY_VERSION,
        "modules_requested": modules,
        "seed": seed,
        "orphans_requested": orphans,
        "beat_per_tasks": beat_per_tasks,
        "modules": project.modules,
        "lines": sum(t.count("\n") for t in py.values()),
        "apps": len(apps),
        "tenant_apps": sum(1 for a in apps if a.tenant_app),
        "tenant_models": sum(1 for a in apps for m in a.models if m.tenant),
        "models": sum(len(a.models) for a in apps),
        "tasks": len(project.tasks) + 2,
        "tasks_by_kind": {k: sum(1 for t in project.tasks if t.kind == k)
                          for k in ("object", "tenant", "wrapper", "global")},
        "tenant_task_call_depth": {str(k): v for k, v in sorted(ctx.hops.items())},
        "enqueue_only_modules": enqueue_only,
        "task_modules": task_modules,
        "beat_entries": len(all_entries) + 1,
        "orphans": [{"key": e["key"], "task": e["task"]} for e in orphan_entries],
        "expected_findings": dict(sorted(expected.items())),
        "expected_finding_paths": findings,
        "content_sha256": content_sha256,
    }
    write_manifest(outdir, manifest)
    return manifest


# ============================================================================= shape "huge-module"
#
# A tiny project whose cost is one ~1 MB test module, like a real project's huge
# API test file: hundreds of test classes and functions with black-formatted JSON:API
# payloads, parametrize tables and mocks. It defines no task and no schedule, but it
# mentions `.task` (a model field: `scan.task.status`), `shared_task`-free
# `mock.patch("...perform_scan_task.delay")` strings and a few real `.delay(` /
# `.apply_async(` enqueues (with tenant_id, so the project stays clean): the byte
# prefilter lets it through, as it lets the real one through.

HUGE_MODULE_VERSION = 1
HUGE_MODULE = f"{PKG}/scans/tests/test_views.py"
RESOURCES = ["scans", "providers", "findings", "resources", "roles", "memberships", "invitations", "integrations",
             "compliance", "overviews", "schedules", "users", "tenants", "provider_groups", "secrets", "processors",
             "api_keys", "tasks", "reports", "exports"]


def _payload(rng: random.Random, kind: str, ind: str, depth: int = 0) -> list[str]:
    """A black-formatted JSON:API body."""
    attrs = rng.sample(["name", "alias", "uid", "state", "trigger", "region", "service", "severity", "status",
                        "check_id", "delta", "muted", "scanner_args", "unique_resource_count", "email"],
                       k=rng.randint(2, 6))
    lines = [f"{ind}data={{",
             f'{ind}    "data": {{',
             f'{ind}        "type": "{kind}",',
             f'{ind}        "attributes": {{']
    for a in attrs:
        value = rng.choice(['"value"', "True", "None", str(rng.randint(0, 999)), f'"{rng.choice(WORDS)}-{rng.randint(1, 99)}"',
                            '["a", "b"]', '{"checks": {"aws": ["check1", "check2"]}}'])
        lines.append(f'{ind}            "{a}": {value},')
    lines.append(f"{ind}        }},")
    if rng.random() < 0.6:
        rel = rng.choice(["provider", "scan", "role", "provider_group"])
        lines += [f'{ind}        "relationships": {{',
                  f'{ind}            "{rel}": {{',
                  f'{ind}                "data": {{"type": "{rel}s", "id": str({rel}.id)}}',
                  f"{ind}            }}",
                  f"{ind}        }},"]
    lines += [f"{ind}    }}", f"{ind}}},"]
    return lines


def _huge_test(rng: random.Random, resource: str, i: int) -> list[str]:
    single = resource.removesuffix("s")
    kind = rng.randint(0, 7)
    name = f"test_{resource}_{rng.choice(['list', 'retrieve', 'create', 'update', 'delete', 'filter', 'sort', 'invalid'])}_{i}"
    fixtures = ["self", "authenticated_client", f"{resource}_fixture"] + rng.sample(
        ["tenants_fixture", "providers_fixture", "scans_fixture", "roles_fixture", "django_capture_on_commit_callbacks"],
        k=rng.randint(0, 2))
    out: list[str] = []
    if kind == 0:  # parametrized filters
        out += ["    @pytest.mark.parametrize(",
                '        "filter_name, filter_value, expected_count",',
                "        (",
                "            [",]
        for _ in range(rng.randint(4, 24)):
            out.append(f'                ("{rng.choice(["name", "state", "inserted_at", "provider", "uid", "region", "severity"])}'
                       f'{rng.choice(["", ".gte", ".lte", ".icontains", "__in"])}", '
                       f'"{rng.choice(WORDS)}-{rng.randint(1, 99)}", {rng.randint(0, 9)}),')
        out += ["            ]", "        ),", "    )",
                f"    def {name}(",
                "        " + ",\n        ".join(fixtures + ["filter_name", "filter_value", "expected_count"]) + ",",
                "    ):",
                "        response = authenticated_client.get(",
                f'            reverse("{single}-list"),',
                '            {f"filter[{filter_name}]": filter_value},',
                "        )",
                "        assert response.status_code == status.HTTP_200_OK",
                '        assert len(response.json()["data"]) == expected_count']
    elif kind == 1:  # create with payload and a queued task (the `.task` mentions)
        out += [f'    @patch("{PKG}.scans.tasks.perform_scan_task.apply_async")',
                f"    def {name}(",
                "        " + ",\n        ".join(fixtures[:1] + ["mock_perform_scan_task"] + fixtures[1:]) + ",",
                "    ):",
                "        tenant, *_ = tenants_fixture" if "tenants_fixture" in fixtures else
                "        tenant = Tenant.objects.first()",
                "        provider = Provider.objects.filter(tenant=tenant).first()",
                "        response = authenticated_client.post(",
                f'            reverse("{single}-list"),']
        out += _payload(rng, resource, "            ")
        out += ["            content_type=API_JSON_CONTENT_TYPE,",
                "        )",
                "        assert response.status_code == status.HTTP_202_ACCEPTED",
                "        queued_scan = Scan.objects.filter(tenant=tenant).latest(\"inserted_at\")",
                '        assert queued_scan.task.task_runner_task.status == "QUEUED"',
                "        mock_perform_scan_task.assert_called_once()"]
    elif kind == 2:  # retrieve + compare many attributes
        out += [f"    def {name}(" + ", ".join(fixtures) + "):",
                f"        obj, *_ = {resource}_fixture",
                "        response = authenticated_client.get(",
                f'            reverse("{single}-detail", kwargs={{"pk": obj.id}})',
                "        )",
                "        assert response.status_code == status.HTTP_200_OK",
                '        data = response.json()["data"]',
                '        assert data["id"] == str(obj.id)']
        for a in rng.sample(["name", "state", "trigger", "uid", "alias", "inserted_at", "updated_at", "region",
                             "connected", "severity", "status", "delta"], k=rng.randint(3, 9)):
            out.append(f'        assert data["attributes"]["{a}"] == getattr(obj, "{a}", None) or True')
    elif kind == 3:  # invalid payloads, a big parametrize table of dicts
        out += ["    @pytest.mark.parametrize(",
                '        "payload, error_code, error_pointer",',
                "        [",]
        for _ in range(rng.randint(2, 8)):
            out += ["            (",
                    "                {",
                    (f'                    "{rng.choice(["name", "uid", "alias", "scanner_args"])}": '
                     f'"{rng.choice(WORDS) * rng.randint(1, 3)}",'),
                    f'                    "provider": {rng.choice(["None", "123", repr("x")])},',
                    "                },",
                    f'                "{rng.choice(["invalid", "required", "max_length", "does_not_exist"])}",',
                    f'                "/data/attributes/{rng.choice(["name", "uid", "alias"])}",',
                    "            ),"]
        out += ["        ],", "    )",
                f"    def {name}(",
                "        " + ",\n        ".join(fixtures + ["payload", "error_code", "error_pointer"]) + ",",
                "    ):",
                "        response = authenticated_client.post(",
                f'            reverse("{single}-list"),',
                '            data={"data": {"type": "' + resource + '", "attributes": payload}},',
                "            content_type=API_JSON_CONTENT_TYPE,",
                "        )",
                "        assert response.status_code == status.HTTP_400_BAD_REQUEST",
                '        assert response.json()["errors"][0]["code"] == error_code',
                '        assert response.json()["errors"][0]["source"]["pointer"] == error_pointer']
    elif kind == 4:  # a real enqueue, with tenant_id (clean)
        out += [f"    def {name}(" + ", ".join(fixtures) + "):",
                "        scan = Scan.objects.first()",
                "        with patch.object(perform_scan_task, \"apply_async\") as mock_apply_async:",
                "            perform_scan_task.apply_async(",
                '                kwargs={"scan_id": str(scan.id), "tenant_id": str(scan.tenant_id)},',
                "            )",
                "        mock_apply_async.assert_called_once_with(",
                '            kwargs={"scan_id": str(scan.id), "tenant_id": str(scan.tenant_id)},',
                "        )",
                "        result = perform_scan_task.delay(scan.id, tenant_id=str(scan.tenant_id))",
                "        assert result is not None"]
    elif kind == 5:  # sorting over many fields
        fields = rng.sample(["name", "inserted_at", "updated_at", "state", "trigger", "uid", "alias", "severity",
                             "status", "region", "service", "delta"], k=rng.randint(3, 10))
        out += ["    @pytest.mark.parametrize(",
                '        "sort_field",',
                "        [",]
        out += [f'            "{f}",' for f in fields]
        out += [f'            "-{f}",' for f in fields[: len(fields) // 2]]
        out += ["        ],", "    )",
                f"    def {name}(" + ", ".join(fixtures + ["sort_field"]) + "):",
                "        response = authenticated_client.get(",
                f'            reverse("{single}-list"), {{"sort": sort_field}}',
                "        )",
                "        assert response.status_code == status.HTTP_200_OK"]
    elif kind == 6:  # update with a payload, then many asserts
        out += [f"    def {name}(" + ", ".join(fixtures) + "):",
                f"        obj, *_ = {resource}_fixture",
                "        provider = scan = role = provider_group = obj",
                "        response = authenticated_client.patch(",
                f'            reverse("{single}-detail", kwargs={{"pk": obj.id}}),']
        out += _payload(rng, resource, "            ")
        out += ["            content_type=API_JSON_CONTENT_TYPE,",
                "        )",
                "        assert response.status_code == status.HTTP_200_OK",
                "        obj.refresh_from_db()"]
        for _ in range(rng.randint(2, 6)):
            out.append(f"        assert obj.{rng.choice(['name', 'state', 'alias', 'uid'])} is not None")
    else:  # a mock-heavy test of a task's side effects (`.task`, `.delay` mentions)
        out += [f'    @patch("{PKG}.scans.views.perform_scan_task.delay")',
                f'    @patch("{PKG}.scans.views.Task.objects.get")',
                f"    def {name}(",
                "        " + ",\n        ".join(fixtures[:1] + ["mock_task_get", "mock_delay"] + fixtures[1:]) + ",",
                "    ):",
                '        prowler_task = Task.objects.create(id=uuid4(), tenant_id=uuid4())',
                "        mock_task_get.return_value = prowler_task",
                "        mock_delay.return_value = MagicMock(id=prowler_task.id)",
                "        scan = Scan.objects.first()",
                "        scan.task = prowler_task",
                "        assert scan.task.id == prowler_task.id",
                "        mock_delay.assert_not_called()"]
    return out + [""]


def huge_test_module(rng: random.Random, target_bytes: int) -> str:
    lines = ['"""Tests of the scans API: every endpoint, filter, sort and error."""',
             "import json", "from datetime import datetime, timedelta, timezone",
             "from unittest.mock import ANY, MagicMock, Mock, patch", "from uuid import uuid4", "",
             "import pytest", "from django.urls import reverse", "from rest_framework import status", "",
             f"from {PKG}.scans.models import Provider, Scan, Task",
             f"from {PKG}.scans.tasks import perform_scan_task",
             f"from {PKG}.tenants.models import Tenant", "",
             'API_JSON_CONTENT_TYPE = "application/vnd.api+json"',
             "TODAY = str(datetime.today().date())", "", ""]
    size = sum(len(x) + 1 for x in lines)
    c = 0
    while size < target_bytes:
        resource = RESOURCES[c % len(RESOURCES)]
        cls = ["@pytest.mark.django_db", f"class Test{camel(resource)}ViewSet{c}:"]
        for i in range(rng.randint(6, 18)):
            cls += _huge_test(rng, resource, i)
        cls += [""]
        lines += cls
        size += sum(len(x) + 1 for x in cls)
        c += 1
    return "\n".join(lines).rstrip() + "\n"


def generate_huge_module(outdir: str, kb: int = 1024, seed: int = 0) -> dict:
    rng = random.Random(f"huge-module:{seed}:{kb}")
    project = Project()
    project_skeleton(project)
    p = f"{PKG}/scans"
    project.add(f"{p}/__init__.py", "")
    project.add(f"{p}/apps.py", "from django.apps import AppConfig\n\n\nclass ScansConfig(AppConfig):\n"
                f'    name = "{PKG}.scans"\n    label = "scans"\n')
    project.add(f"{p}/models.py", f'''"""Providers, scans and the Celery task rows that track them."""

from django.db import models

from {PKG}.core.models import TenantScopedModel


class Provider(TenantScopedModel):
    uid = models.CharField(max_length=250)
    alias = models.CharField(max_length=100, blank=True)
    connected = models.BooleanField(null=True)


class Task(TenantScopedModel):
    """The Celery task behind a scan (its result row)."""

    task_runner_task = models.OneToOneField("django_celery_results.TaskResult", null=True,
                                            on_delete=models.SET_NULL)


class Scan(TenantScopedModel):
    name = models.CharField(max_length=100, blank=True)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="scans")
    state = models.CharField(max_length=20, default="available")
    trigger = models.CharField(max_length=20, default="manual")
    task = models.ForeignKey(Task, null=True, on_delete=models.SET_NULL, related_name="scans")
    inserted_at = models.DateTimeField(auto_now_add=True)
''')
    project.add(f"{p}/tasks.py", f'''"""Scan tasks."""

from celery import shared_task
from celerylint_runtime import restore_tenant_context

from {PKG}.scans.models import Scan


@shared_task(bind=True, acks_late=True)
def perform_scan_task(self, scan_id, *, tenant_id=None):
    """Run one scan."""
    restore_tenant_context(tenant_id)
    scan = Scan.objects.get(pk=scan_id)
    scan.state = "executing"
    scan.save(update_fields=["state"])
    return str(scan.pk)
''')
    project.add(f"{p}/views.py", f'''"""Scan endpoints."""

from rest_framework import viewsets

from {PKG}.scans.models import Scan
from {PKG}.scans.tasks import perform_scan_task


class ScanViewSet(viewsets.ModelViewSet):
    def get_queryset(self):
        return Scan.objects.filter(tenant=self.request.tenant)

    def perform_create(self, serializer):
        scan = serializer.save(tenant=self.request.tenant)
        perform_scan_task.delay(scan.pk, tenant_id=str(self.request.tenant.id))
''')
    project.add(f"{p}/tests/__init__.py", "")
    project.add(HUGE_MODULE, huge_test_module(rng, kb * 1024))
    project.add(f"{PKG}/settings.py", '"""Settings of the huge-module benchmark project."""\n\n'
                f'INSTALLED_APPS = ["django_celery_results", "{PKG}.core", "{PKG}.tenants", "{PKG}.scans"]\n'
                'CELERY_BROKER_URL = "redis://localhost:6379/0"\n')
    project.add("pyproject.toml", '[project]\nname = "acme"\nversion = "0"\nrequires-python = ">=3.11"\n')
    project.add(".gitignore", "__pycache__/\n*.pyc\n.celerylint_cache/\n")
    content_sha256 = write_project(outdir, project)
    text = project.files[HUGE_MODULE]
    manifest = {
        "generator_version": GENERATOR_VERSION,
        "shape": "huge-module",
        "shape_version": HUGE_MODULE_VERSION,
        "modules_requested": 0,
        "huge_kb_requested": kb,
        "seed": seed,
        "modules": project.modules,
        "lines": sum(t.count("\n") for r, t in project.files.items() if r.endswith(".py")),
        "apps": 1,
        "tasks": 3,
        "huge_module": {"path": HUGE_MODULE, "bytes": len(text.encode()), "lines": text.count("\n"),
                        "tests": text.count("\n    def test_"), "classes": text.count("\nclass ")},
        "expected_findings": {},
        "expected_finding_paths": [],
        "content_sha256": content_sha256,
    }
    write_manifest(outdir, manifest)
    return manifest


# ----------------------------------------------------------------------------- validation

def py_files(root: str) -> list[str]:
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in ("__pycache__", ".celerylint_cache", ".git"))
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith(".py")]
    return out


def proportions(root: str) -> dict:
    files = py_files(root)
    counts = {n.decode(): 0 for n in NEEDLES}
    any_hit = 0
    lines = []
    try:  # the analyzer's own prefilter, when importable (informational only)
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        from celerylint.facts import needs_parse  # type: ignore
    except Exception:  # noqa: BLE001 - any import problem just means "not available"
        needs_parse = None
    kept = 0
    for p in files:
        with open(p, "rb") as fh:
            data = fh.read()
        lines.append(data.count(b"\n"))
        hit = False
        for n in NEEDLES:
            if n in data:
                counts[n.decode()] += 1
                hit = True
        any_hit += hit
        if needs_parse is not None and needs_parse(data):
            kept += 1
    n = len(files)
    lines.sort()
    q = lambda f: lines[min(n - 1, int(f * (n - 1)))]  # noqa: E731
    return {
        "files": n,
        "lines": sum(lines),
        "fraction": {k: v / n for k, v in counts.items()},
        "any_needle": any_hit / n,
        "celerylint_prefilter_keeps": (kept / n) if needs_parse is not None else None,
        "lines_p50_p90_p99_max": [q(0.5), q(0.9), q(0.99), lines[-1]],
        "share_50_400_lines": sum(50 <= x <= 400 for x in lines) / n,
        "modules_over_1000_lines": sum(x >= 1000 for x in lines),
    }


def _literal_task_names(root: str) -> tuple[set, list, list, list]:
    """An independent (ast-based) reading of the project: the registered task names,
    the beat entries' task references, the beat keys and any duplicate task names."""
    defined: set = set()
    duplicates: list = []
    beat: list = []
    keys: list = []
    for path in py_files(root):
        rel = os.path.relpath(path, root)
        module = rel[:-3].replace(os.sep, ".")
        if module.endswith(".__init__"):
            module = module[: -len(".__init__")]
        with open(path, "rb") as fh:
            tree = ast.parse(fh.read(), path)
        consts = {}
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                consts[node.targets[0].id] = node.value.value
            if isinstance(node, ast.FunctionDef):
                for deco in node.decorator_list:
                    target = deco.func if isinstance(deco, ast.Call) else deco
                    text = ast.unparse(target)
                    if text not in ("shared_task", "app.task"):
                        continue
                    name = f"{module}.{node.name}"
                    for kw in deco.keywords if isinstance(deco, ast.Call) else []:
                        if kw.arg == "name":
                            if isinstance(kw.value, ast.Constant):
                                name = kw.value.value
                            elif isinstance(kw.value, ast.JoinedStr):
                                name = "".join(v.value if isinstance(v, ast.Constant) else consts[v.value.id]
                                               for v in kw.value.values)
                    if name in defined:
                        duplicates.append(name)
                    defined.add(name)
        if rel.endswith("settings.py"):
            for node in ast.walk(tree):
                if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
                    target = node.targets[0]
                    if isinstance(target, ast.Name) and target.id == "CELERY_BEAT_SCHEDULE":
                        keys += [k.value for k in node.value.keys]
                    elif isinstance(target, ast.Subscript):
                        keys.append(target.slice.value)
                if isinstance(node, ast.Dict):
                    for k, v in zip(node.keys, node.values):
                        if isinstance(k, ast.Constant) and k.value == "task" and isinstance(v, ast.Constant):
                            beat.append(v.value)
    return defined, beat, keys, duplicates


def _syntax_errors(files: list[str]) -> int:
    bad = 0
    for p in files:
        with open(p, "rb") as fh:
            try:
                ast.parse(fh.read(), p)
            except SyntaxError as exc:
                print(f"  SYNTAX ERROR {p}: {exc}")
                bad += 1
    return bad


def analyzer_findings(root: str, timeout: float = 900) -> list[tuple[str, str]] | None:
    """(code, path) of every finding of this repository's celerylint on `root` (cold,
    no cache), or None when it cannot run."""
    import subprocess

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=repo + (os.pathsep + os.environ["PYTHONPATH"]
                                              if os.environ.get("PYTHONPATH") else ""))
    try:
        out = subprocess.run([sys.executable, "-m", "celerylint", "check", root, "--no-cache", "--format", "json"],
                             cwd=root, env=env, capture_output=True, timeout=timeout, check=False)
        data = json.loads(out.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    return sorted((d["code"], d["path"]) for d in data.get("diagnostics", []))


def expected_pairs(m: dict) -> list[tuple[str, str]]:
    """(code, path) of every finding the manifest expects."""
    if "expected_finding_paths" in m:
        return sorted((f["code"], f["path"]) for f in m["expected_finding_paths"])
    return sorted((code, f"{PKG}/settings.py") for code, n in m["expected_findings"].items() for _ in range(n))


def _deliberate_ok(root: str, m: dict) -> bool:
    """An ast check of the deliberate tenant findings: each TEN003 task calls something
    before restore_tenant_context; each TEN005 module enqueues its task with .delay(pk)
    and never mentions tenant_id."""
    ok = True
    for f in m.get("expected_finding_paths", []):
        path = os.path.join(root, f["path"])
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if f["code"] == "TEN003":
            fn = next((n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == f["function"]),
                      None)
            body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))] \
                if fn else []
            first = ast.unparse(body[0]) if body else ""
            ok = ok and bool(body) and "restore_tenant_context" not in first and \
                any("restore_tenant_context(tenant_id)" in ast.unparse(s) for s in body[1:])
        elif f["code"] == "TEN005":
            ok = ok and "tenant_id" not in text and f"{f['function']}.delay(" in text
    return ok


def self_test(analyzer: bool = True) -> int:
    """Generate projects of every shape in a temporary directory and validate them."""
    failures = 0
    cases = [("default", 300, 0), ("default", 1000, 1), ("default", 2500, 7),
             ("tenant-heavy", 1200, 3), ("tenant-heavy", 3000, 0), ("huge-module", 0, 0)]
    with tempfile.TemporaryDirectory() as tmp:
        for shape, modules, seed in cases:
            out = os.path.join(tmp, f"{shape}-{modules}")
            m = generate(out, modules, seed, shape=shape)
            files = py_files(out)
            bad = _syntax_errors(files)
            defined, beat, keys, duplicates = _literal_task_names(out)
            orphans = sorted(b for b in beat if b not in defined)
            expected = sorted(o["task"] for o in m.get("orphans", []))
            stats = proportions(out)
            unique = not duplicates and len(set(keys)) == len(keys) == len(beat)
            ok = bad == 0 and orphans == expected and unique and len(files) == m["modules"]
            checks = ""
            if shape == "huge-module":
                size = m["huge_module"]["bytes"]
                ok = ok and 1000 * 1024 <= size <= 1100 * 1024 and not defined - {f"{PKG}.heartbeat",
                                                                                   f"{PKG}.celery.debug_task",
                                                                                   f"{PKG}.scans.tasks.perform_scan_task"}
                checks = f" huge_module={size / 1024:.0f}KB"
            else:
                ok = ok and len(expected) == 2 and abs(m["modules"] - modules) <= max(40, modules // 20)
            if shape == "tenant-heavy":
                deep = sum(v for k, v in m["tenant_task_call_depth"].items() if int(k) >= 2)
                deliberate = _deliberate_ok(out, m)
                ok = ok and deliberate and deep >= m["tasks_by_kind"]["object"] // 2 \
                    and m["expected_findings"].get("TEN003", 0) >= 1 and m["expected_findings"].get("TEN005", 0) >= 1
                if modules >= 3000:
                    ok = ok and m["modules"] >= 3000 and m["apps"] >= 30
                checks = (f" apps={m['apps']} deep_chains={deep} enqueue_only={m['enqueue_only_modules']}"
                          f" deliberate_findings_in_code={deliberate}")
            m2 = generate(os.path.join(tmp, "again"), modules, seed, shape=shape)
            deterministic = m2["content_sha256"] == m["content_sha256"]
            shutil.rmtree(os.path.join(tmp, "again"))
            ok = ok and deterministic
            if analyzer:
                found = analyzer_findings(out)
                matches = found == expected_pairs(m)
                ok = ok and matches
                checks += f" analyzer_findings_match_manifest={matches}"
                if not matches:
                    print(f"     analyzer: {found}\n     manifest: {expected_pairs(m)}")
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {shape} modules={m['modules']} (asked {modules}) seed={seed} "
                  f"syntax_errors={bad} tasks={len(defined)} beat={len(beat)} orphans={orphans == expected} "
                  f"unique_names_and_keys={unique} "
                  f"deterministic={deterministic}{checks}")
            print("     " + json.dumps(stats))
    print("self-test", "passed" if not failures else f"FAILED ({failures})")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--shape", choices=SHAPES, default="default",
                    help="default (saleor-like), tenant-heavy (tenancy behind service/selector chains, many "
                         "enqueue-only modules) or huge-module (a tiny project with one ~1 MB test module)")
    ap.add_argument("--modules", type=int, default=1000, help="about how many .py modules (default 1000)")
    ap.add_argument("--kb", type=int, default=1024, help="size of the huge module, --shape huge-module (default 1024)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--orphans", type=int, default=2, help="deliberately orphaned beat entries (default 2)")
    ap.add_argument("--beat-per-tasks", type=int, default=8, help="one beat entry per this many tasks (default 8)")
    ap.add_argument("--self-test", action="store_true", help="generate a few projects in a temp dir and validate them")
    ap.add_argument("--no-analyzer", action="store_true",
                    help="--self-test without running celerylint on the generated projects")
    ap.add_argument("--stats", action="store_true", help="print needle proportions of the generated project")
    args = ap.parse_args(argv)
    if args.self_test:
        return self_test(analyzer=not args.no_analyzer)
    if not args.outdir:
        ap.error("OUTDIR is required")
    m = generate(args.outdir, args.modules, args.seed, args.orphans, args.beat_per_tasks, shape=args.shape,
                 huge_kb=args.kb)
    if args.shape == "huge-module":
        h = m["huge_module"]
        print(f"wrote {args.outdir}: {m['modules']} modules; {h['path']}: {h['bytes']:,} bytes, {h['lines']:,} lines, "
              f"{h['tests']} tests in {h['classes']} classes")
    else:
        print(f"wrote {args.outdir}: {m['modules']} modules, {m['lines']} lines, {m['apps']} apps, "
              f"{m['tasks']} tasks in {len(m['task_modules'])} modules, {m['beat_entries']} beat entries, "
              f"{len(m['orphans'])} orphans; expected findings {m['expected_findings']}")
    if args.stats:
        print(json.dumps(proportions(args.outdir), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
