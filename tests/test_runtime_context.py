"""celerylint_runtime's tenant context without services: normalisation, isolation
between threads and asyncio tasks, restoring on exit and on exceptions, carrying the
tenant into threads, and that the runtime never imports libcst."""

import asyncio
import logging
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from celerylint_runtime import (
    InvalidTenantId,
    carry_tenant,
    get_current_tenant_id,
    restore_tenant_context,
    set_current_tenant_id,
    tenant_context,
)

A = "8f14e45f-ceea-467f-a9d2-9b7a3c2a4f10"


@pytest.fixture(autouse=True)
def clean_context():
    set_current_tenant_id(None)
    yield
    set_current_tenant_id(None)


def test_uuid_strings_become_uuids_other_strings_and_ints_stay():
    assert restore_tenant_context(A) == uuid.UUID(A)
    assert get_current_tenant_id() == uuid.UUID(A)
    assert restore_tenant_context("acme") == "acme"
    assert restore_tenant_context(uuid.UUID(A)) == uuid.UUID(A)
    assert restore_tenant_context(42) == 42 and type(get_current_tenant_id()) is int  # Django's default key


@pytest.mark.parametrize("bad", [1.5, float("nan"), True, "", "  ", b"acme", object(), ["a"]])
def test_other_tenant_ids_are_refused_and_leave_the_context_alone(bad):
    set_current_tenant_id("acme")
    for call in (set_current_tenant_id, restore_tenant_context):
        with pytest.raises(InvalidTenantId) as error:
            call(bad)
        assert isinstance(error.value, TypeError)  # as before for a wrong type
    with pytest.raises(InvalidTenantId):
        with tenant_context(bad):
            pass
    assert get_current_tenant_id() == "acme"


def test_restoring_none_outside_a_task_clears_and_warns(caplog):
    restore_tenant_context("acme")
    with caplog.at_level(logging.WARNING, logger="celerylint_runtime"):
        assert restore_tenant_context(None) is None
    assert get_current_tenant_id() is None
    assert "restore_tenant_context(None)" in caplog.text


def test_tenant_context_restores_the_previous_tenant_also_on_errors():
    set_current_tenant_id("outer")
    with tenant_context("inner") as value:
        assert value == "inner" and get_current_tenant_id() == "inner"
        with tenant_context(None):
            assert get_current_tenant_id() is None
        assert get_current_tenant_id() == "inner"
    assert get_current_tenant_id() == "outer"
    with pytest.raises(RuntimeError):
        with tenant_context("failing"):
            raise RuntimeError("boom")
    assert get_current_tenant_id() == "outer"


def test_threads_do_not_share_the_tenant():
    set_current_tenant_id("main")
    seen = {}

    def worker(name):
        seen[name + "-before"] = get_current_tenant_id()
        set_current_tenant_id(name)
        seen[name + "-after"] = get_current_tenant_id()

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("t1", "t2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"t1-before": None, "t1-after": "t1", "t2-before": None, "t2-after": "t2"}
    assert get_current_tenant_id() == "main"


def test_asyncio_tasks_do_not_share_the_tenant():
    async def job(name, results):
        with tenant_context(name):
            await asyncio.sleep(0.01)
            results.append((name, get_current_tenant_id()))

    async def main():
        results = []
        await asyncio.gather(job("a", results), job("b", results), job("c", results))
        return results

    assert sorted(asyncio.run(main())) == [("a", "a"), ("b", "b"), ("c", "c")]


def test_carry_tenant_takes_the_tenant_into_threads_and_back_out():
    def report(_=None):
        return get_current_tenant_id()

    with tenant_context("acme"):
        carried = carry_tenant(report)
        with ThreadPoolExecutor(4) as pool:
            plain = list(pool.map(report, range(8)))
            inherited = list(pool.map(carried, range(8)))  # concurrent calls: each in its own copy
        thread_results = []
        thread = threading.Thread(target=lambda: thread_results.append(carried()))
        thread.start()
        thread.join()
    assert plain == [None] * 8  # a new thread starts without a tenant
    assert inherited == ["acme"] * 8 and thread_results == ["acme"]
    assert get_current_tenant_id() is None
    # The tenant is the one current when the function was wrapped, and a switch inside
    # the wrapped function does not leak into the thread that calls it.
    with tenant_context("other"):
        assert carried() == "acme"

        def switch():
            set_current_tenant_id("switched")

        carry_tenant(switch)()
        assert get_current_tenant_id() == "other"


def test_runtime_does_not_import_libcst():
    code = ("import sys, celerylint_runtime, celerylint_runtime.spawner, celerylint_runtime.task,"
            " celerylint_runtime.appliers, celerylint_runtime.settings;"
            "print('libcst' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
