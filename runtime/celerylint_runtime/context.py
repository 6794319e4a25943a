"""The current tenant: a context variable, so threads, asyncio tasks and Celery tasks
never share it. How it reaches the database is the context applier's job
(`celerylint_runtime.appliers`): by default every query sets the PostgreSQL session
variable the row-level security policies read, from the context of that query.

Tenant ids are `str`, `uuid.UUID` or `int`; a string that spells a UUID becomes a
`uuid.UUID`. Anything else (a float, a bool, a model instance, an empty string) raises
`InvalidTenantId`.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, TypeVar, Union

logger = logging.getLogger("celerylint_runtime")

TenantId = Union[str, uuid.UUID, int]

_current: contextvars.ContextVar = contextvars.ContextVar("celerylint_current_tenant_id", default=None)
# Inside a task run by the runtime: a 1-tuple holding the tenant the task was delivered
# with (None outside tasks), so that restore_tenant_context(None) can keep it.
_delivered: contextvars.ContextVar = contextvars.ContextVar("celerylint_delivered_tenant_id", default=None)

T = TypeVar("T")


class TenantError(Exception):
    """A task cannot run as the tenant it was sent for."""


class InvalidTenantId(TenantError, TypeError):
    """A tenant id that is not a non-empty str, a uuid.UUID or an int."""


def normalise_tenant_id(tenant_id: object) -> Optional[TenantId]:
    """None, a uuid.UUID (also from a string that spells one), another non-empty
    string, or an int. Anything else raises InvalidTenantId."""
    if tenant_id is None or isinstance(tenant_id, uuid.UUID):
        return tenant_id
    if isinstance(tenant_id, bool):
        raise InvalidTenantId(f"tenant_id must be a str, a uuid.UUID or an int, not a bool ({tenant_id!r})")
    if isinstance(tenant_id, int):
        return tenant_id
    if isinstance(tenant_id, str):
        if not tenant_id.strip():
            raise InvalidTenantId("tenant_id must not be an empty string")
        try:
            return uuid.UUID(tenant_id)
        except ValueError:
            return tenant_id
    raise InvalidTenantId(
        f"tenant_id must be a str, a uuid.UUID or an int, not {type(tenant_id).__name__} ({tenant_id!r})")


def get_current_tenant_id() -> Optional[TenantId]:
    """The tenant of the current context (thread, asyncio task, Celery task), or None."""
    return _current.get()


def set_current_tenant_id(tenant_id: object) -> Optional[TenantId]:
    """Set (or with None clear) the current context's tenant. Prefer `tenant_context`,
    which also puts the previous tenant back."""
    value = normalise_tenant_id(tenant_id)
    _current.set(value)
    _activate(value)
    return value


def restore_tenant_context(tenant_id: object) -> Optional[TenantId]:
    """Restore the tenant a task was sent for; call it first in a tenant task with the
    task's own `tenant_id` keyword.

    A non-None value switches to that tenant. None inside a task keeps the tenant the
    task was delivered with (by the `apply_async(..., tenant_id=)` option, the header,
    or the eager caller's context), and warns when there is none. None outside a task
    clears the context (and warns): there is nothing to restore."""
    if tenant_id is not None:
        return set_current_tenant_id(tenant_id)
    delivered = _delivered.get()
    if delivered is not None:
        if delivered[0] is None:
            logger.warning("restore_tenant_context(None): this task was sent without a tenant and runs without one")
        return set_current_tenant_id(delivered[0])
    logger.warning("restore_tenant_context(None) outside a task: running without a tenant; the context is cleared")
    return set_current_tenant_id(None)


@contextmanager
def tenant_context(tenant_id: object) -> Iterator[Optional[TenantId]]:
    """Run a block as `tenant_id` (None: as no tenant), then put back exactly what was
    current before, also when the block raises."""
    value = normalise_tenant_id(tenant_id)
    token = _current.set(value)
    _activate(value)
    try:
        yield value
    finally:
        _reset(_current, token)
        _activate(_current.get())


def carry_tenant(function: Callable[..., T]) -> Callable[..., T]:
    """Wrap `function` so that it runs with the current context's tenant wherever it is
    called: a new thread starts with an empty context (no tenant), so pass the wrapped
    function to `threading.Thread`, an executor or a callback API instead.

        with ThreadPoolExecutor() as pool:
            list(pool.map(carry_tenant(resize), images))

    Each call runs in its own copy of the context captured here
    (`contextvars.copy_context()`), as that tenant, and leaves the calling thread's
    context untouched."""
    captured = contextvars.copy_context()

    @functools.wraps(function)
    def run(*args, **kwargs):
        return captured.copy().run(_run_as_current, function, args, kwargs)

    return run


def _run_as_current(function, args, kwargs):
    with tenant_context(_current.get()):  # applies the tenant to this thread's connections
        return function(*args, **kwargs)


# --------------------------------------------------------------------------- tasks


def enter_task(tenant_id: Optional[TenantId]) -> tuple:
    """Run the current task as `tenant_id` (already normalised); returns what
    `leave_task` needs to put back the context exactly as it was."""
    tokens = (_current.set(tenant_id), _delivered.set((tenant_id,)))
    _activate(tenant_id)
    return tokens


def leave_task(tokens: tuple) -> None:
    current_token, delivered_token = tokens
    _reset(_delivered, delivered_token)
    _reset(_current, current_token)
    _activate(_current.get())


def _reset(variable: contextvars.ContextVar, token: contextvars.Token) -> None:
    try:
        variable.reset(token)
    except ValueError:
        # The token was made in another context (a pool that runs a task's signals in
        # different contexts): put the old value back by hand.
        variable.set(None if token.old_value is contextvars.Token.MISSING else token.old_value)


def _activate(tenant_id: Optional[TenantId]) -> None:
    from celerylint_runtime.appliers import current_applier

    current_applier().activate(tenant_id)
