"""The RLS applier behind pgbouncer in transaction pooling mode (scripts/services starts
it with ONE server connection for all clients): consecutive transactions of a client may
run on a server connection another client's tenant was set on, so session-level state
cannot be trusted. With CELERYLINT_RLS_TRANSACTION_POOLING every transaction sets the
tenant with set_config(.., true) and autocommit queries run in a transaction of their
own: three clients (tenant A, tenant B, no tenant) taking turns each see only their
rows. Without the setting the same run leaks, which shows that the pooler really shares
the server connection."""

from runtime_support import A, B, databases, pgbouncer_port, scenario, services  # noqa: F401

EXPECTED = {A: [A, A], B: [B], "None": []}


def run(databases, **env):  # noqa: F811
    return scenario(databases, "pgbouncer", A, B, CELERYLINT_PG_PORT=str(pgbouncer_port(databases)), **env)


def test_transaction_pooling_setting_keeps_each_client_to_its_tenant(databases):  # noqa: F811
    seen = run(databases, CELERYLINT_RLS_TRANSACTION_POOLING="1")
    assert {tenant: len(rows) for tenant, rows in seen.items()} == {A: 9, B: 9, "None": 9}
    assert {tenant: [r for r in rows if r != EXPECTED[tenant]] for tenant, rows in seen.items()} == {
        A: [], B: [], "None": []}


def test_without_the_setting_pgbouncer_mixes_tenants(databases):  # noqa: F811
    seen = run(databases, CELERYLINT_RLS_TRANSACTION_POOLING="0")
    wrong = [(tenant, r) for tenant, rows in seen.items() for r in rows if r != EXPECTED[tenant]]
    assert wrong, "session-level settings survived transaction pooling: the test no longer shares connections"
