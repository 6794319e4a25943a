"""The default applier, PostgreSQL row-level security, in a Django process (the worker
side is in test_runtime_worker.py): eager tasks and the caller's tenant, several
contexts sharing one connection, and transactions (a tenant switch inside one, rollbacks
to a savepoint and in full, statements that change the variable behind its back)."""

from runtime_support import A, B, databases, scenario, services  # noqa: F401

ROWS = {A: [A, A], B: [B], None: []}


def test_eager_tasks_run_as_their_tenant_and_give_the_caller_its_own_back(databases):  # noqa: F811
    seen = scenario(databases, "eager_rls", A, B)

    def tenant_of(result):
        result = result[-1] if isinstance(result, list) else result  # seed-style tasks return a list
        assert result["rows"] == ROWS[result["context"]] and result["setting"] == (result["context"] or "")
        return result["context"]

    assert tenant_of(seen["before"]) == A
    assert tenant_of(seen["keyword"]) == B
    assert tenant_of(seen["inherited"]) == A  # the caller's context
    assert tenant_of(seen["option"]) == B
    assert tenant_of(seen["header"]) == B
    assert tenant_of(seen["seed_style_inherited"]) == A  # restore_tenant_context(None) kept it
    assert seen["failing"] == "FAILURE"
    assert tenant_of(seen["always_eager_option"]) == B
    assert tenant_of(seen["always_eager_delay"]) == A
    for after in ("after_keyword", "after_failing", "after_all"):
        assert tenant_of(seen[after]) == A, after  # the caller still sees its 2 rows
    assert tenant_of(seen["outside"]) is None


def test_contexts_sharing_one_connection_each_see_their_own_rows(databases):  # noqa: F811
    seen = scenario(databases, "shared_connection_rls", A, B)
    assert [s["rows"] for s in seen["a"]] == [ROWS[A]] * 6
    assert [s["rows"] for s in seen["b"]] == [ROWS[B]] * 6
    assert len({s["pid"] for s in seen["a"] + seen["b"]}) == 1  # one connection, used alternately
    assert len({s["thread"] for s in seen["a"] + seen["b"]}) == 1


def test_transactions_savepoints_and_rollbacks(databases):  # noqa: F811
    seen = scenario(databases, "transactions", A, B)
    assert seen == {
        "txn_a": ROWS[A], "txn_switch_b": ROWS[B], "txn_back_a": ROWS[A],
        "outer_b": ROWS[B], "savepoint_a": ROWS[A], "after_savepoint_rollback_a": ROWS[A], "outer_b_again": ROWS[B],
        "rolled_back_a": ROWS[A], "after_rollback_a": ROWS[A], "after_foreign_set_a": ROWS[A],
        "after_discard_a": ROWS[A], "none": ROWS[None],
    }
