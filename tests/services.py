"""Real services for the runtime tests: PostgreSQL and Redis on loopback ports, started
by `scripts/services` (installed by `scripts/bootstrap` on CI) and stopped at the end of
the session when this session started them. Without them a test is skipped locally and
fails under CI=true."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import REPO

SCRIPT = REPO / "scripts" / "services"


def _unavailable(reason: str):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"test services unavailable under CI: {reason}")
    pytest.skip(f"test services unavailable: {reason}")


@pytest.fixture(scope="session")
def services():
    """{"pg_host", "pg_port", "redis_url"} of running services."""
    proc = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        _unavailable(proc.stderr.strip() or "scripts/services start failed")
    values = dict(line.split("=", 1) for line in proc.stdout.split() if "=" in line)
    yield {"pg_host": values["CELERYLINT_PG_HOST"], "pg_port": int(values["CELERYLINT_PG_PORT"]),
           "redis_url": values["CELERYLINT_REDIS_URL"]}
    if not os.environ.get("CELERYLINT_KEEP_SERVICES"):
        subprocess.run([str(SCRIPT), "stop"], capture_output=True, timeout=120)
