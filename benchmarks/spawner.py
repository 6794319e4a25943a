"""Benchmark of celerylint_runtime's spawner on real services: N tenants (default
100,000) in PostgreSQL, messages published to Redis.

    python benchmarks/spawner.py                      # 100,000 tenants
    python benchmarks/spawner.py --tenants 1000 10000 100000 --json spawner.json

It starts the services with scripts/services (honouring CELERYLINT_SERVICES_DIR,
CELERYLINT_PGPORT, CELERYLINT_REDIS_PORT), creates the database
`celerylint_spawner_bench` with a `tenants` table of N active tenants (UUID keys; the
model is tests/runtime_app's `Tenant`), and runs each measurement in a fresh process:

- `load every tenant`: what the spawner did before: `[str(t.id) for t in queryset]`;
- `spawn, 10 per 60 s`: the defaults; with Redis' default visibility timeout (1 h) the
  call sends the first 30 min of batches (300 tasks) and one continuation;
- `one continuation hop`: that continuation, run as a worker would when it is due;
- `spawn, all at once`: CELERY_TENANT_BATCH_SIZE=0, every task published by the call.

Each is timed once without tracemalloc (also the growth of the process's maximum RSS
during the call) and measured once with it (peak of the Python allocations made during
the call). Before the call the database and broker connections are open, as in a worker
that has run tasks before. The app has no result backend: the spawner runs in
a worker task (a beat wrapper), where Celery never subscribes to results; a caller
outside a worker with the Redis result backend would also pay Celery's per-task result
subscription. Message sizes are the JSON bodies of the continuation messages.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATABASE = "celerylint_spawner_bench"
REDIS_DB = 5
MEASUREMENTS = ["load every tenant", "spawn, 10 per 60 s", "one continuation hop", "spawn, all at once"]


def services() -> dict:
    proc = subprocess.run([str(REPO / "scripts" / "services"), "start"], capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in proc.stdout.split() if "=" in line)


def prepare_database(env: dict, tenants: int) -> None:
    import psycopg

    dsn = dict(host=env["CELERYLINT_PG_HOST"], port=env["CELERYLINT_PG_PORT"], user="postgres", autocommit=True)
    with psycopg.connect(dbname="postgres", **dsn) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'app'").fetchone():
            admin.execute("CREATE ROLE app LOGIN NOSUPERUSER NOBYPASSRLS")
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            admin.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(dbname=DATABASE, **dsn) as owner:
        owner.execute("CREATE TABLE IF NOT EXISTS tenants (id uuid PRIMARY KEY, name text NOT NULL, "
                      "active boolean NOT NULL)")
        owner.execute("GRANT SELECT ON tenants TO app")
        if owner.execute("SELECT count(*) FROM tenants").fetchone()[0] != tenants:
            owner.execute("TRUNCATE tenants")
            owner.execute("INSERT INTO tenants SELECT gen_random_uuid(), 'tenant ' || n, true "
                          "FROM generate_series(1, %s) AS n", [tenants])
            owner.execute("VACUUM ANALYZE tenants")


def run_measurement(name: str, traced: bool) -> dict:
    """In a fresh process: one measurement, returned as a dict."""
    import tracemalloc

    import django

    django.setup()
    from celery import Celery
    from celery.signals import before_task_publish
    from kombu.utils.json import dumps

    from celerylint_runtime import install, spawn_tenant_tasks_with_rate_limiting
    from celerylint_runtime.spawner import CONTINUATION_TASK
    from tests.runtime_app.models import Tenant

    app = Celery("spawner-bench", broker=f"{os.environ['CELERYLINT_REDIS_URL']}/{REDIS_DB}", set_as_current=False)
    app.conf.update(task_serializer="json", accept_content=["json"], task_default_queue="spawner-bench")
    install(app)

    @app.task(name="bench.per_tenant", shared=False)
    def per_tenant(**kwargs):
        pass

    app.finalize()
    continuations, published = [], [0]

    def record(sender=None, body=None, **kwargs):
        published[0] += 1
        if sender == CONTINUATION_TASK:
            continuations.append((len(dumps(body)), body[1]))

    before_task_publish.connect(record, weak=False)
    tenants = Tenant.objects.filter(active=True)
    os.environ["CELERY_TENANT_BATCH_SIZE"], os.environ["CELERY_TENANT_BATCH_DELAY"] = (
        ("0", "0") if name == "spawn, all at once" else ("10", "60"))

    def call():
        if name == "load every tenant":
            return {"ids": len([str(tenant.id) for tenant in tenants])}
        if name == "one continuation hop":
            kwargs = dict(continuations[0][1])
            kwargs["start"] -= 1800  # run when due: the first batches' 30 minutes have passed
            published[0] = 0
            continuations.clear()
            return app.tasks[CONTINUATION_TASK].apply(kwargs=kwargs).get()
        return spawn_tenant_tasks_with_rate_limiting(tenants, per_tenant, "per_tenant")

    # As in a worker that has run tasks before: the database and broker connections are
    # open, so their one-time costs are not the spawner's.
    tenants.exists()
    with app.producer_or_acquire() as producer:
        producer.connection.ensure_connection()
    if name == "one continuation hop":
        spawn_tenant_tasks_with_rate_limiting(tenants, per_tenant, "per_tenant")  # the hop to run
    if traced:
        tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) * 1024
    peak = tracemalloc.get_traced_memory()[1] if traced else None
    return {"seconds": seconds, "peak_bytes": peak, "rss_growth_bytes": rss_growth, "published": published[0],
            "continuation_bytes": [size for size, _ in continuations], "result": result}


def measure(env: dict, name: str, traced: bool) -> dict:
    import redis

    redis.Redis.from_url(f"{env['CELERYLINT_REDIS_URL']}/{REDIS_DB}").flushdb()
    proc = subprocess.run([sys.executable, __file__, "--run", name] + (["--traced"] if traced else []),
                          capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[100_000])
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_measurement(args.run, args.traced), default=str))
        return
    values = services()
    results = []
    print("| tenants | measurement | call time | peak memory (traced) | max RSS growth | messages published "
          "| continuation message |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for count in args.tenants:
        env = {**os.environ, **values, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "runtime")]),
               "DJANGO_SETTINGS_MODULE": "tests.runtime_app.settings", "CELERYLINT_PG_DB": DATABASE}
        prepare_database(env, count)
        for name in MEASUREMENTS:
            timed, traced = measure(env, name, traced=False), measure(env, name, traced=True)
            sizes = sorted(set(timed["continuation_bytes"]))
            row = {"tenants": count, "measurement": name, "seconds": timed["seconds"],
                   "peak_mib": traced["peak_bytes"] / 2**20, "rss_growth_mib": timed["rss_growth_bytes"] / 2**20,
                   "published": timed["published"],
                   "continuation_bytes": sizes, "summary": timed["result"]}
            results.append(row)
            print(f"| {count:,} | {name} | {row['seconds']:.2f} s | {row['peak_mib']:.1f} MiB | "
                  f"{row['rss_growth_mib']:.1f} MiB | {row['published']:,} | {', '.join(f'{s:,} B' for s in sizes) or '-'} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    main()
