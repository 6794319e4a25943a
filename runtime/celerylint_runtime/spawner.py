"""`spawn_tenant_tasks_with_rate_limiting`: enqueue one task per tenant in batches,
without ever sleeping in the caller and without loading every tenant.

Batch k (of `CELERY_TENANT_BATCH_SIZE` tenants) is due `k × CELERY_TENANT_BATCH_DELAY`
seconds after the call: it is sent at once with that countdown, and the broker holds it.
A broker only holds a delivered message for so long (its *horizon*: the visibility
timeout of Redis and SQS, after which they deliver it again, RabbitMQ's
`consumer_timeout`, after which it closes the channel), so countdowns stay within half
of it: the batches due later are sent by a continuation task, due when the last batch
sent is, that carries a cursor (the last tenant id sent), never the remaining ids. It is
routed like the task (same queue), and sends the next batches the same way.

Tenants are a QuerySet (or Manager) of the tenant model, iterated in id order without
loading the objects, and queried again by the continuations from their cursor (the
query travels pickled and signed with Django's SECRET_KEY), or any other iterable of
tenants or ids, which must then fit within the horizon.

Each task gets a deterministic id from (run, task, arguments, tenant), and the
message a `celerylint_spawn` header: a worker skips a second message with an id that
already started (claimed in the result backend), so a rerun of the same run after a
failure (the wrapper task retried, or the same `run_id`) sends what was missing and
starts nothing twice.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
import logging
import math
import pickle
import time
import uuid
from contextlib import closing
from datetime import datetime
from typing import Any, Iterable, Iterator, Optional

from celery import Task, shared_task
from celery.canvas import Signature
from celery.exceptions import Ignore
from kombu.exceptions import OperationalError

from celerylint_runtime.context import normalise_tenant_id
from celerylint_runtime.settings import checked_number, number_setting, setting
from celerylint_runtime.task import header_value, message_header

logger = logging.getLogger("celerylint_runtime.spawner")

DEFAULT_BATCH_SIZE = 10
DEFAULT_BATCH_DELAY = 60.0
CONTINUATION_TASK = "celerylint_runtime.spawn_continuation"
SPAWN_HEADER = "celerylint_spawn"
CLAIM_SECONDS = 7 * 24 * 3600
QUERY_CHUNK = 2000
_QUERY_SALT = "celerylint_runtime.spawner.query"
_ID_NAMESPACE = uuid.UUID("3f1c2a8e-5b7d-4c61-9e0a-2d4b6f8a1c3e")
# How long a broker holds a delivered, unacknowledged message, by URL scheme: Kombu's
# default visibility timeout (Redis, SQS; broker_transport_options may set another) and
# RabbitMQ's default consumer_timeout (30 min; CELERYLINT_BROKER_HORIZON overrides all).
DEFAULT_HORIZON = {"redis": 3600.0, "rediss": 3600.0, "sentinel": 3600.0, "sqs": 1800.0,
                   "amqp": 1800.0, "amqps": 1800.0, "pyamqp": 1800.0, "librabbitmq": 1800.0}
VISIBILITY_TIMEOUT_BROKERS = ("redis", "rediss", "sentinel", "sqs")


def batch_settings() -> tuple[int, float]:
    """(CELERY_TENANT_BATCH_SIZE, CELERY_TENANT_BATCH_DELAY)."""
    return (number_setting("CELERY_TENANT_BATCH_SIZE", DEFAULT_BATCH_SIZE, int),
            number_setting("CELERY_TENANT_BATCH_DELAY", DEFAULT_BATCH_DELAY, float))


def broker_horizon(app) -> Optional[float]:
    """Seconds the app's broker holds a delivered message, or None when there is no
    limit (eager mode, in-memory and file brokers)."""
    if app.conf.task_always_eager:
        return None
    override = setting("CELERYLINT_BROKER_HORIZON")
    if override is not None:
        value = number_setting("CELERYLINT_BROKER_HORIZON", 0.0)
        if value <= 0:
            raise ValueError(f"CELERYLINT_BROKER_HORIZON must be a number of seconds > 0, got {override!r}")
        return value
    url = app.conf.broker_url or "amqp://"
    if isinstance(url, (list, tuple)):
        url = url[0] if url else "amqp://"
    url = str(url).split(";", 1)[0].strip()
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else url.lower()
    if scheme not in DEFAULT_HORIZON:
        return None
    if scheme in VISIBILITY_TIMEOUT_BROKERS:
        timeout = (app.conf.broker_transport_options or {}).get("visibility_timeout")
        if timeout is not None:
            return float(checked_number("broker_transport_options['visibility_timeout']", timeout))
    return DEFAULT_HORIZON[scheme]


def max_countdown(app) -> Optional[float]:
    """The longest countdown the spawner gives a message: half the broker's horizon."""
    horizon = broker_horizon(app)
    return None if horizon is None else horizon / 2


# --------------------------------------------------------------------------- tenants


def _queryset_of(tenants: Any):
    try:
        from django.db.models import Manager, QuerySet
    except ImportError:
        return None
    if isinstance(tenants, Manager):
        return tenants.all()
    return tenants if isinstance(tenants, QuerySet) else None


class QuerySetTenants:
    """Tenant ids from a QuerySet, in `field` order, `QUERY_CHUNK` at a time; resumable
    from a cursor (the last id sent) in another process."""

    resumable = True

    def __init__(self, queryset, field: str, description: Optional[dict] = None):
        if queryset.query.is_sliced or queryset.query.combinator:
            raise ValueError("the spawner needs a QuerySet it can filter and order by id: not a slice, union, "
                             "intersection or difference")
        if field != "pk" and not queryset.model._meta.get_field(field).unique:
            raise ValueError(f"{queryset.model._meta.label}.{field} identifies tenants, so it must be unique")
        self.queryset, self.field, self._description = queryset, field, description

    def _after(self, cursor):
        return self.queryset if cursor is None else self.queryset.filter(**{f"{self.field}__gt": cursor})

    def count_after(self, cursor) -> int:
        return self._after(cursor).count()

    def ids_after(self, cursor) -> Iterator[tuple[Any, Any]]:
        """(tenant id, cursor after it)."""
        ids = self._after(cursor).order_by(self.field).values_list(self.field, flat=True).iterator(QUERY_CHUNK)
        with closing(ids):
            for value in ids:
                yield normalise_tenant_id(value), str(value) if isinstance(value, uuid.UUID) else value

    def describe(self) -> dict:
        """The QuerySet for a continuation: its model, id field and query (pickled and
        signed); a continuation passes on the description it received."""
        if self._description is None:
            from django.core.signing import Signer

            query = base64.b64encode(pickle.dumps(self.queryset.query)).decode()
            self._description = {"model": self.queryset.model._meta.label, "field": self.field,
                                 "query": Signer(salt=_QUERY_SALT).sign(query)}
        return self._description

    @classmethod
    def from_description(cls, description: dict) -> "QuerySetTenants":
        from django.apps import apps
        from django.core.signing import Signer

        query = Signer(salt=_QUERY_SALT).unsign(description["query"])  # BadSignature: not ours
        queryset = apps.get_model(description["model"])._default_manager.all()
        queryset.query = pickle.loads(base64.b64decode(query))
        return cls(queryset, description["field"], description)


class ListedTenants:
    """Tenant ids from any other iterable, taken once, in the order given. Not
    resumable in another process: they must fit within the broker's horizon."""

    resumable = False

    def __init__(self, tenants: Iterable[Any], field: str):
        self.ids = [_tenant_id(tenant, field) for tenant in tenants]

    def count_after(self, cursor) -> int:
        return len(self.ids) - (cursor or 0)

    def ids_after(self, cursor) -> Iterator[tuple[Any, Any]]:
        start = cursor or 0
        for position, tenant_id in enumerate(itertools.islice(self.ids, start, None), start + 1):
            yield tenant_id, position


def _tenant_id(tenant: Any, field: str) -> Any:
    """A tenant's id: the tenant itself when it is an id (str, UUID, int), else its
    `field` attribute ("pk": its pk, else its id)."""
    if isinstance(tenant, (str, uuid.UUID, int)) and not isinstance(tenant, bool):
        return normalise_tenant_id(tenant)
    value = getattr(tenant, field, None)
    if value is None and field == "pk":
        value = getattr(tenant, "id", None)
    if value is None:
        raise TypeError(f"cannot tell the id of tenant {tenant!r} (no {field!r} attribute)")
    return normalise_tenant_id(value)


# --------------------------------------------------------------------------- tasks


def _task_of(task_callable: Any) -> Optional[Task]:
    """The Celery task behind a task, or its bound `.delay` / `.apply_async`."""
    if isinstance(task_callable, Task):
        return task_callable
    owner = getattr(task_callable, "__self__", None)
    return owner if isinstance(owner, Task) else None


def _signature_of(task_callable: Any) -> Signature:
    if isinstance(task_callable, Signature):
        if type(task_callable) is not Signature:
            raise TypeError(f"task_callable must be a single task's signature, not a {type(task_callable).__name__}")
        return task_callable
    task = _task_of(task_callable)
    if task is None:
        raise TypeError(f"task_callable must be a Celery task, its .delay or .apply_async, or a signature "
                        f"(task.s(...)), not {task_callable!r}: the spawner sends tasks, it never calls them")
    return task.signature()


def _current_task_id() -> Optional[str]:
    from celery import current_task

    if not current_task or current_task.request.called_directly:  # a proxy: falsy outside tasks
        return None
    return current_task.request.id


def _claim(backend, key: str) -> bool:
    """True when this is the first claim of `key` (or claims are not available: the
    result backend is not a key-value store, or unreachable)."""
    try:
        count = int(backend.incr(key))
    except (AttributeError, NotImplementedError):
        return True
    except Exception as exc:  # noqa: BLE001 - at least once rather than never
        logger.warning("Cannot claim %s in the result backend (%r): running the task", key, exc)
        return True
    if count == 1:
        try:
            backend.expire(key, CLAIM_SECONDS)
        except Exception:  # noqa: BLE001 - the claim stands without its expiry
            logger.warning("Cannot set the expiry of claim %s", key)
    return count == 1


def claims_supported(app) -> bool:
    from celery.backends.base import KeyValueStoreBackend

    backend = app.backend
    return isinstance(backend, KeyValueStoreBackend) and type(backend).incr is not KeyValueStoreBackend.incr


def skip_if_duplicate(task) -> None:
    """Ignore a spawned task whose id already started once (its rerun copy); a message
    the broker delivers again (a worker lost it) runs again."""
    request = task.request
    if request.is_eager or message_header(request, SPAWN_HEADER) is None:
        return
    if _claim(task.backend, f"celerylint-spawned-{request.id}-{request.retries or 0}"):
        return
    if (request.delivery_info or {}).get("redelivered") or message_header(request, "redelivered"):
        logger.warning("Task %s[%s] was delivered again by the broker: running it again", task.name, request.id)
        return
    logger.info("Task %s[%s] already started from another copy of this message: skipped", task.name, request.id)
    raise Ignore()


# --------------------------------------------------------------------------- spawning


class Spawn:
    """One spawning run: the task's signature, the spawner's options and settings."""

    def __init__(self, signature: Signature, task_name: str, options: dict, size: int, delay: float, run_id: str):
        self.signature, self.task_name, self.options = signature, task_name, options
        self.size, self.delay, self.run_id = size, delay, run_id
        arguments = json.dumps([signature.task, list(signature.args), signature.kwargs], sort_keys=True, default=str)
        self.digest = hashlib.sha256(arguments.encode()).hexdigest()[:16]
        self.app = signature.app

    def describe(self) -> dict:
        return {"signature": dict(self.signature), "task_name": self.task_name, "options": self.options,
                "size": self.size, "delay": self.delay, "run_id": self.run_id}

    @classmethod
    def from_description(cls, app, description: dict) -> "Spawn":
        return cls(app.signature(description["signature"]), description["task_name"], description["options"],
                   description["size"], description["delay"], description["run_id"])

    def task_id(self, tenant_id) -> str:
        return str(uuid.uuid5(_ID_NAMESPACE, f"{self.run_id}\x1f{self.digest}\x1f{type(tenant_id).__name__}"
                                             f"\x1f{tenant_id}"))

    def send(self, tenants, cursor, index: int, start: float, hop: int) -> dict:
        """Send batches `index`, `index + 1`… (batch k due at `start + k × delay`, epoch
        seconds) from the tenants after `cursor`, as far as the broker's horizon allows,
        and a continuation for the rest. Returns a summary."""
        limit = max_countdown(self.app)
        remaining = tenants.count_after(cursor)
        batches = math.ceil(remaining / self.size) if self.size else min(remaining, 1)
        spread = max(0.0, start + (index + batches - 1) * self.delay - time.time()) if batches else 0.0
        if limit is not None and spread > limit and not tenants.resumable:
            raise ValueError(
                f"{remaining} tenants in batches of {self.size} every {self.delay:g}s take {spread:g}s, longer than "
                f"half the broker's horizon ({limit:g}s): pass a QuerySet of tenants, which continuations can query "
                "again from a cursor, or raise CELERY_TENANT_BATCH_SIZE")
        publish = self._publisher()
        sent = in_batch = 0
        batch, countdown, last_countdown = index, 0.0, None
        batch_cursor = cursor
        with self.app.producer_or_acquire() as producer, closing(tenants.ids_after(cursor)) as ids:
            for tenant_id, after in ids:
                if in_batch == 0:
                    countdown = max(0.0, start + batch * self.delay - time.time())
                    if limit is not None and countdown > limit:
                        due = last_countdown if last_countdown is not None else min(limit, countdown - limit)
                        self._continue(tenants, batch_cursor, batch, start, hop + 1, due)
                        break
                publish(self.signature.args, {**self.signature.kwargs, "tenant_id": header_value(tenant_id)},
                        producer=producer, **self._task_options(tenant_id, countdown))
                sent += 1
                in_batch += 1
                if self.size and in_batch == self.size:
                    self._log_batch(batch, index + batches, in_batch, countdown)
                    batch, in_batch, last_countdown, batch_cursor = batch + 1, 0, countdown, after
            else:
                if in_batch:
                    self._log_batch(batch, index + batches, in_batch, countdown)
        return {"task": self.task_name, "run_id": self.run_id, "tenants": remaining, "batches": batches,
                "spread": round(spread, 1), "sent": sent, "continued": remaining - sent}

    def _log_batch(self, batch: int, batches: int, tenants: int, countdown: float) -> None:
        logger.info("Spawning %s: batch %d/%d, %d tenants, countdown %.0fs", self.task_name, batch + 1, batches,
                    tenants, countdown)

    def _publisher(self):
        signature = self.signature
        try:
            return signature.type.apply_async
        except KeyError:  # a task this process knows only by name
            return functools.partial(self.app.send_task, signature.task)

    def _task_options(self, tenant_id, countdown: float) -> dict:
        options = {**self.signature.options, "task_id": self.task_id(tenant_id), "countdown": countdown or None,
                   "headers": {**(self.signature.options.get("headers") or {}), SPAWN_HEADER: self.run_id}}
        for name in ("queue", "priority"):
            if self.options.get(name) is not None:
                options[name] = self.options[name]
        expires = self.options.get("expires")
        if expires is not None:
            # seconds after the task is due (Celery counts them from the publish)
            options["expires"] = countdown + expires if isinstance(expires, (int, float)) else expires
        return options

    def _route(self) -> dict:
        """Where the continuation goes: the explicit queue, else the task's route."""
        queue = self.options.get("queue") or self.signature.options.get("queue")
        if queue:
            return {"queue": queue}
        route = self.app.amqp.router.route({}, self.signature.task, self.signature.args, self.signature.kwargs,
                                           self.app.tasks.get(self.signature.task))
        if route.get("queue") is not None:
            return {"queue": getattr(route["queue"], "name", route["queue"])}
        return {name: route[name] for name in ("exchange", "routing_key") if route.get(name)}

    def _continue(self, tenants, cursor, index: int, start: float, hop: int, due: float) -> None:
        task_id = str(uuid.uuid5(_ID_NAMESPACE, f"{self.run_id}\x1f{self.digest}\x1fcontinuation\x1f{hop}"))
        options = {**self._route(), "task_id": task_id, "countdown": due or None,
                   "headers": {SPAWN_HEADER: self.run_id}}
        if self.options.get("priority") is not None:
            options["priority"] = self.options["priority"]
        self.app.tasks[CONTINUATION_TASK].apply_async(
            kwargs={"spawn": self.describe(), "tenants": tenants.describe(), "cursor": cursor, "index": index,
                    "start": start, "hop": hop}, **options)
        logger.info("Spawning %s: the batches from %d on go to a continuation due in %.0fs", self.task_name,
                    index + 1, due)


def _options(queue, expires, priority) -> dict:
    if queue is not None and (not isinstance(queue, str) or not queue):
        raise ValueError(f"queue must be a queue name, got {queue!r}")
    if expires is not None and not isinstance(expires, datetime):
        checked_number("expires", expires)
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int) or
                                 not 0 <= priority <= 255):
        raise ValueError(f"priority must be an int from 0 to 255, got {priority!r}")
    return {"queue": queue, "expires": expires, "priority": priority}


def spawn_tenant_tasks_with_rate_limiting(tenants: Iterable[Any], task_callable: Any, task_name: str, *,
                                          queue: Optional[str] = None, expires: Any = None,
                                          priority: Optional[int] = None, run_id: Optional[str] = None,
                                          **task_kwargs: Any) -> dict:
    """Enqueue `task_callable` (a task, its `.delay` / `.apply_async`, or a signature)
    once per tenant with `tenant_id=<the tenant's id>` plus `task_kwargs`,
    `CELERY_TENANT_BATCH_SIZE` tenants per batch (0 or 1: all at once), batch k due
    k × `CELERY_TENANT_BATCH_DELAY` seconds from now.

    `queue` and `priority` apply to every task and to the continuations (which otherwise
    follow the task's route); `expires` (seconds, counted from when each task is due, or
    a datetime) to the tasks. `run_id` names the run for deterministic task ids (default:
    the id of the task calling the spawner, so its retries are the same run). Returns a
    summary: tenants, batches, spread (seconds until the last batch is due), sent now,
    continued."""
    signature = _signature_of(task_callable)
    if "tenant_id" in task_kwargs or "tenant_id" in signature.kwargs:
        raise TypeError("the spawner passes tenant_id itself: leave it out of the task's arguments")
    signature = signature.clone(kwargs=task_kwargs) if task_kwargs else signature
    size, delay = batch_settings()
    if size <= 1:
        size, delay = 0, 0.0
    spawn = Spawn(signature, task_name, _options(queue, expires, priority), size, delay,
                  run_id or _current_task_id() or uuid.uuid4().hex)
    from celerylint_runtime.appliers import current_applier

    field = current_applier().id_field
    queryset = _queryset_of(tenants)
    source = QuerySetTenants(queryset, field) if queryset is not None else ListedTenants(tenants, field)
    if not claims_supported(spawn.app):
        logger.warning("Spawning %s: the result backend (%s) cannot record which tasks started, so a rerun after "
                       "a failure may start some tenants' tasks twice", task_name, type(spawn.app.backend).__name__)
    return spawn.send(source, None, 0, time.time(), 0)


@shared_task(name=CONTINUATION_TASK, bind=True, acks_late=True, autoretry_for=(OperationalError,),
             retry_backoff=True, max_retries=8)
def spawn_continuation(self, spawn: dict, tenants: dict, cursor: Any, index: int, start: float, hop: int) -> dict:
    """Send the batches a spawner could not send within the broker's horizon."""
    run = Spawn.from_description(self.app, spawn)
    return run.send(QuerySetTenants.from_description(tenants), cursor, index, start, hop)
