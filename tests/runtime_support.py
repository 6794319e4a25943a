"""What the runtime tests share: PostgreSQL databases with row-level security as the
non-superuser role `app` (tables owned by `postgres`, with ENABLE and FORCE ROW LEVEL
SECURITY), real `celery worker` processes on Redis, and scenario processes that run a
function of tests/runtime_app/scenarios.py under Django."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO
from services import services  # noqa: F401  (fixture)

A = "0b8a5f1e-1c3f-4f57-9d0e-6f1b2a3c4d5e"
B = "7d2c9e4a-8b1f-4e3d-a6c5-2f9e8d7c6b5a"
INACTIVE = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
UNKNOWN = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"  # in no table: CELERYLINT_TENANT_LOOKUP says no
# Tenant ids of the spawner tests: 40 active rows, in id order.
SPAWNED = [str(uuid.UUID(int=0x1000 + i)) for i in range(40)]

_RLS_POLICY = "USING ({column} = NULLIF(current_setting('app.current_tenant', true), ''))"


def _admin(services, dbname="postgres"):  # noqa: F811
    import psycopg

    return psycopg.connect(dbname=dbname, autocommit=True, host=services["pg_host"], port=services["pg_port"],
                           user="postgres")


def _protect(owner, table: str, column: str) -> None:
    owner.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    owner.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    owner.execute(f"CREATE POLICY tenant_isolation ON {table} " + _RLS_POLICY.format(column=column))


@pytest.fixture(scope="session")
def databases(services):  # noqa: F811
    """`celerylint_rls`: `notes` (A: 2 rows, B: 1), `accounts` (integer tenants 1: 2
    rows, 2: 1), both behind RLS, and `tenants` (A, B, the 40 SPAWNED ids active,
    INACTIVE not); `celerylint_schemas`: django-tenants clients t_acme and t_globex,
    each schema (and public) with a table `items`; `celerylint_alias_{default,t1,t2}`:
    a table `items` each."""
    with _admin(services) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'app'").fetchone():
            admin.execute("CREATE ROLE app LOGIN NOSUPERUSER NOBYPASSRLS")
        for name in ("celerylint_rls", "celerylint_schemas", "celerylint_alias_default", "celerylint_alias_t1",
                     "celerylint_alias_t2"):
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {name}")
    with _admin(services, "celerylint_rls") as owner:
        owner.execute("CREATE TABLE notes (id serial PRIMARY KEY, tenant_id text NOT NULL, body text)")
        _protect(owner, "notes", "tenant_id")
        owner.execute("INSERT INTO notes (tenant_id, body) VALUES (%s, 'a1'), (%s, 'a2'), (%s, 'b1')", [A, A, B])
        owner.execute("CREATE TABLE accounts (id serial PRIMARY KEY, tenant_id integer NOT NULL, name text)")
        _protect(owner, "accounts", "tenant_id::text")
        owner.execute("INSERT INTO accounts (tenant_id, name) VALUES (1, 'one'), (1, 'uno'), (2, 'two')")
        owner.execute("CREATE TABLE tenants (id uuid PRIMARY KEY, name text NOT NULL, active boolean NOT NULL)")
        rows = [(A, "a", True), (B, "b", True), (INACTIVE, "inactive", False)] + [(t, t, True) for t in SPAWNED]
        with owner.cursor() as cursor:
            cursor.executemany("INSERT INTO tenants VALUES (%s, %s, %s)", rows)
        owner.execute("GRANT SELECT ON notes, accounts, tenants TO app")
    with _admin(services, "celerylint_schemas") as owner:
        owner.execute("CREATE TABLE schema_tenants_client (id serial PRIMARY KEY, schema_name varchar(63) UNIQUE "
                      "NOT NULL, name text NOT NULL)")
        owner.execute("CREATE TABLE schema_tenants_domain (id serial PRIMARY KEY, domain varchar(253) UNIQUE "
                      "NOT NULL, tenant_id integer NOT NULL, is_primary boolean NOT NULL)")
        owner.execute("INSERT INTO schema_tenants_client (schema_name, name) VALUES ('public', 'public'), "
                      "('t_acme', 'Acme'), ('t_globex', 'Globex')")
        owner.execute("GRANT SELECT ON schema_tenants_client, schema_tenants_domain TO app")
        for schema, names in (("public", ["public-1"]), ("t_acme", ["acme-1", "acme-2"]), ("t_globex", ["globex-1"])):
            owner.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            owner.execute(f"GRANT USAGE ON SCHEMA {schema} TO app")
            owner.execute(f"CREATE TABLE {schema}.items (id serial PRIMARY KEY, name text NOT NULL)")
            owner.execute(f"GRANT SELECT ON {schema}.items TO app")
            for name in names:
                owner.execute(f"INSERT INTO {schema}.items (name) VALUES (%s)", [name])
    for alias in ("default", "t1", "t2"):
        with _admin(services, f"celerylint_alias_{alias}") as owner:
            owner.execute("CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL)")
            owner.execute("INSERT INTO items (name) VALUES (%s)", [f"{alias}-item"])
            owner.execute("GRANT SELECT ON items TO app")
    return services


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_env(services, **env) -> dict:  # noqa: F811
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "runtime")]),
            "CELERYLINT_PG_HOST": services["pg_host"], "CELERYLINT_PG_PORT": str(services["pg_port"]),
            "CELERYLINT_REDIS_URL": services["redis_url"], **env}


@contextlib.contextmanager
def worker(services, queues="celery", pool="solo", redis_url=None, flush=True, **env):  # noqa: F811
    """A `celery worker` process on the test app (solo pool by default: every task on
    the same thread and database connection), and the tasks module to send it tasks.
    The test process's app is bound to services["redis_url"]; with another `redis_url`
    only the worker uses it."""
    import redis

    url = redis_url or services["redis_url"]
    os.environ["CELERYLINT_REDIS_URL"] = services["redis_url"]
    if flush:
        for db in (0, 1, 2):
            redis.Redis.from_url(f"{url}/{db}").flushdb()
    environment = service_env(services, **env)
    environment["CELERYLINT_REDIS_URL"] = url
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"celerylint-worker-{os.getpid()}-{time.monotonic_ns()}.log"
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.runtime_app.celeryapp", "worker", f"--pool={pool}",
         "--concurrency=4", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
         "-Q", queues, "-n", f"runtime-{os.getpid()}-{time.monotonic_ns()}@localhost"],
        cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT)
    sys.path.insert(0, str(REPO))
    try:
        module = importlib.import_module("tests.runtime_app.celeryapp")
        module.worker_log = log_path
        if redis_url is None:
            deadline = time.monotonic() + 60
            while not module.app.control.ping(timeout=0.5):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    raise RuntimeError("the worker did not start:\n" + log_path.read_text()[-3000:])
        else:
            _wait_for_log(log_path, "ready.", process)
        yield module
    finally:
        stop(process)
        log.close()
        if str(REPO) in sys.path:
            sys.path.remove(str(REPO))


def stop(process: subprocess.Popen) -> None:
    """End a worker: terminate, then kill if it has not exited within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def _wait_for_log(path: Path, text: str, process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the worker did not start:\n" + path.read_text()[-3000:])
        time.sleep(0.1)


def starts(redis_url: str, expected: int, timeout: float = 30, settle: float = 0.0) -> list:
    """[(time, tenant_id keyword, context, task id)] recorded by record_start, once
    `expected` are in (and `settle` more seconds, to catch extra ones)."""
    import redis

    client = redis.Redis.from_url(f"{redis_url}/2")
    deadline = time.monotonic() + timeout
    while client.llen("starts") < expected and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(settle)
    return [json.loads(item) for item in client.lrange("starts", 0, -1)]


def scenario(services, name: str, *arguments: str, settings: str = "tests.runtime_app.settings",  # noqa: F811
             timeout: float = 120, **env) -> dict:
    """Run tests/runtime_app/scenarios.py NAME in its own process (Django can be set up
    once per process) and return the JSON it prints."""
    environment = service_env(services, DJANGO_SETTINGS_MODULE=settings, **env)
    proc = subprocess.run([sys.executable, "-m", "tests.runtime_app.scenarios", name, *arguments], cwd=REPO,
                          env=environment, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"scenario {name} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def pgbouncer_port(services) -> int:  # noqa: F811
    """The port of scripts/services' pgbouncer (transaction pooling, one server
    connection); skips (fails under CI) when pgbouncer is not installed."""
    proc = subprocess.run([str(REPO / "scripts" / "services"), "env"], capture_output=True, text=True, timeout=30)
    values = dict(line.split("=", 1) for line in proc.stdout.split() if "=" in line)
    if "CELERYLINT_PGBOUNCER_PORT" not in values:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("pgbouncer is not running under CI (scripts/services install)")
        pytest.skip("pgbouncer is not installed (scripts/services install)")
    return int(values["CELERYLINT_PGBOUNCER_PORT"])
