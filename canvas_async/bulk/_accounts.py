"""Bulk runs over managed accounts, each through its own account view."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypedDict, Unpack

from canvas_async._validate import as_uuid

if TYPE_CHECKING:
    from canvas_async._client import AccountView, Canvas
    from canvas_async.models import Account

from ._engine import BulkReport, BulkRun, I, K, Progress, T, collect


def each_account(
    canvas: Canvas,
    accounts: Iterable[Account | uuid.UUID | str],
    fn: Callable[[AccountView], Awaitable[T]],
    *,
    concurrency: int | None = None,
    fail_fast: bool = False,
    on_progress: Callable[[Progress], object] | None = None,
) -> BulkRun[uuid.UUID, uuid.UUID, T]:
    """Return a :class:`BulkRun` of ``fn`` over ``accounts``' views, to iterate as they end.

    Args:
        canvas: The client; every view shares its session and limits.
        accounts: Accounts, account ids or their text; checked before anything
            runs.
        fn: Called with ``canvas.for_account(id)`` once per account.
        concurrency: Most accounts in progress at once; the client's
            ``max_concurrency`` when omitted.
        fail_fast: Stop at the first account that does not end ``DONE``.
        on_progress: Called with a :class:`Progress` after every account.
    """
    ids = [as_uuid(a, "account id") for a in accounts]

    async def call(account_id: uuid.UUID) -> T:
        return await fn(canvas.for_account(account_id))

    return client_run(
        canvas,
        ids,
        call,
        _identity,
        concurrency=concurrency,
        fail_fast=fail_fast,
        on_progress=on_progress,
    )


def _identity(value: uuid.UUID) -> uuid.UUID:
    return value


class _Flow(TypedDict, total=False):
    """The options :class:`BulkRun` takes as they are."""

    fail_fast: bool
    on_progress: Callable[[Progress], object] | None


class RunOptions(_Flow, total=False):
    """The keyword arguments of :func:`each_account`, passed on as they are."""

    concurrency: int | None


def client_run(
    canvas: Canvas,
    items: list[I],
    fn: Callable[[I], Awaitable[T]],
    key: Callable[[I], K],
    *,
    concurrency: int | None = None,
    **options: Unpack[_Flow],
) -> BulkRun[I, K, T]:
    """Return a :class:`BulkRun` of ``fn`` over ``items`` (named by ``key``) through ``canvas``.

    The options are :func:`each_account`'s.
    """
    limit = canvas.max_concurrency if concurrency is None else concurrency
    return BulkRun(items, fn, key, concurrency=limit, **options)


async def for_each_account(
    canvas: Canvas,
    accounts: Iterable[Account | uuid.UUID | str],
    fn: Callable[[AccountView], Awaitable[T]],
    **options: Unpack[RunOptions],
) -> BulkReport[uuid.UUID, T]:
    """Run ``fn`` once per account, concurrently; return every account's result.

    See :func:`each_account` for the arguments. Nothing ``fn`` raises escapes:
    read it from the report (:meth:`BulkReport.failures`).
    """
    return await collect(each_account(canvas, accounts, fn, **options))
