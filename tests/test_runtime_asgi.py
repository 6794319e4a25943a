"""Async Django under a real ASGI server (uvicorn): concurrent requests for different
tenants, and several tenants at once in one request, querying through the async ORM,
through sync_to_async's shared thread pool and through the request's own thread, on
PostgreSQL with row-level security. Database connections belong to threads, not to
contexts, so the same connection serves several tenants' contexts in turn: every query
must still see only its own context's rows."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import REPO
from runtime_support import A, B, databases, free_port, service_env, services  # noqa: F401

pytest.importorskip("uvicorn")

EXPECTED = {A: [A, A], B: [B], None: []}


@pytest.fixture(scope="module")
def server(databases):  # noqa: F811
    port = free_port()
    log = open(REPO / ".pytest_cache" / f"uvicorn-{port}.log", "w") if (REPO / ".pytest_cache").is_dir() else None
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "tests.runtime_app.asgi:application", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=service_env(databases, DJANGO_SETTINGS_MODULE="tests.runtime_app.settings"),
        stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/notes?rounds=0", timeout=5).read()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.1)
    yield base
    process.terminate()
    process.wait(timeout=20)
    if log:
        log.close()


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def test_concurrent_async_requests_for_different_tenants(server):
    urls = [f"{server}/notes?tenant={A}&rounds=8", f"{server}/notes?tenant={B}&rounds=8",
            f"{server}/notes?rounds=8", f"{server}/dashboard?tenants={A},{B}&rounds=8"] * 2
    with ThreadPoolExecutor(len(urls)) as pool:
        responses = list(pool.map(get, urls))
    observations = []  # (tenant, observation)
    for response in responses:
        if "seen" in response:
            observations += [(response["tenant"], seen) for seen in response["seen"]]
        else:
            observations += [(tenant, seen) for tenant, found in response["tenants"].items() for seen in found]
    assert len(observations) == 8 * 3 * (3 + 2) * 2
    wrong = [(tenant, seen) for tenant, seen in observations if seen["rows"] != EXPECTED[tenant]]
    assert wrong == []
    # The test means something only if contexts of different tenants did share
    # connections: in one request, the gathered tenants' queries run on the request's
    # single thread, so on one database connection.
    for response in responses:
        if "tenants" in response:
            pids = {tenant: {s["pid"] for s in found if s["via"] == "request-thread"}
                    for tenant, found in response["tenants"].items()}
            assert len(pids[A]) == 1 and pids[A] == pids[B], pids
    by_pid = {}
    for tenant, seen in observations:
        if "pid" in seen:
            by_pid.setdefault(seen["pid"], set()).add(tenant)
    assert any(len(tenants) > 1 for tenants in by_pid.values())
